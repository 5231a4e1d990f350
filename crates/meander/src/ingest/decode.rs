//! Records -> Arrow, one message at a time as far as failures go.
//!
//! Records are normalised ([`super::infer::prepare`]) and decoded with
//! arrow-json against the target schema. Messages are decoded in chunks for
//! speed; a chunk that fails is decoded again message by message, so a
//! record that does not fit fails only its own message. Numbers and booleans
//! sent to a `string` column are kept as their JSON text; numeric strings
//! sent to number columns are parsed; anything else that does not fit (a
//! non-numeric string for a `long`, an object for a `string`, a missing
//! value of a non-nullable column, a malformed timestamp) fails the message
//! with arrow-json's reason.

use std::sync::Arc;

use arrow::array::{BooleanArray, RecordBatch};
use arrow::compute::{concat_batches, filter_record_batch};
use arrow::json::reader::{Decoder, ReaderBuilder};
use arrow_schema::{ArrowError, SchemaRef};
use deltalake::kernel::engine::arrow_conversion::TryIntoArrow;
use deltalake::kernel::StructType;
use serde_json::Value;

use super::body::Record;
use super::infer::prepare;

/// Messages per decoding chunk.
const CHUNK_MESSAGES: usize = 512;
/// Records per decoding chunk.
const CHUNK_RECORDS: usize = 8192;

/// Where one message's rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rows {
    /// Index into [`Decoded::batches`] (meaningless when `len` is 0).
    pub batch: usize,
    pub offset: usize,
    pub len: usize,
}

/// The outcome of decoding messages against one schema.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The target schema, in Arrow.
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// Per input message: its rows, or why it cannot be decoded.
    pub results: Vec<Result<Rows, String>>,
}

/// The Arrow schema of a Delta schema (`timestamp` is microseconds, UTC).
pub fn arrow_schema(schema: &StructType) -> Result<SchemaRef, ArrowError> {
    let arrow: arrow_schema::Schema = schema
        .try_into_arrow()
        .map_err(|e| ArrowError::SchemaError(e.to_string()))?;
    Ok(Arc::new(arrow))
}

fn decoder(schema: &SchemaRef) -> Result<Decoder, ArrowError> {
    ReaderBuilder::new(schema.clone())
        .with_coerce_primitive(true)
        .build_decoder()
}

/// Decode each message's records against `schema`.
pub fn decode(schema: &StructType, messages: &[&[Record]]) -> Result<Decoded, ArrowError> {
    let arrow = arrow_schema(schema)?;
    let mut out = Decoded {
        schema: arrow.clone(),
        batches: Vec::new(),
        results: Vec::with_capacity(messages.len()),
    };
    let mut start = 0;
    while start < messages.len() {
        let mut end = start;
        let mut records = 0;
        while let Some(next) = messages.get(end) {
            let full = end - start >= CHUNK_MESSAGES
                || (end > start && records + next.len() > CHUNK_RECORDS);
            if full {
                break;
            }
            records += next.len();
            end += 1;
        }
        let chunk = messages.get(start..end).unwrap_or_default();
        decode_chunk(schema, &arrow, chunk, &mut out)?;
        start = end;
    }
    Ok(out)
}

fn prepared(record: &Record, schema: &StructType) -> Result<Value, String> {
    let mut r = record.clone();
    prepare(&mut r, schema)?;
    Ok(Value::Object(r))
}

fn decode_chunk(
    schema: &StructType,
    arrow: &SchemaRef,
    messages: &[&[Record]],
    out: &mut Decoded,
) -> Result<(), ArrowError> {
    let values: Vec<Result<Vec<Value>, String>> = messages
        .iter()
        .map(|records| records.iter().map(|r| prepared(r, schema)).collect())
        .collect();

    // Fast path: the whole chunk in one go.
    let mut fast = decoder(arrow)?;
    let serialized = values
        .iter()
        .flatten()
        .try_for_each(|rows| fast.serialize(rows));
    let all_prepared = values.iter().all(Result::is_ok);
    if all_prepared && serialized.is_ok() {
        if let Ok(batch) = fast.flush() {
            let index = out.batches.len();
            let mut offset = 0;
            for v in &values {
                let len = v.as_ref().map_or(0, Vec::len);
                out.results.push(Ok(Rows {
                    batch: index,
                    offset,
                    len,
                }));
                offset += len;
            }
            if let Some(batch) = batch {
                out.batches.push(batch);
            }
            return Ok(());
        }
    }

    // Slow path: message by message, so that only the bad ones fail.
    for v in values {
        let rows = match v {
            Err(reason) => Err(reason),
            Ok(rows) if rows.is_empty() => Ok(Rows {
                batch: 0,
                offset: 0,
                len: 0,
            }),
            Ok(rows) => {
                let mut d = decoder(arrow)?;
                match d.serialize(&rows).and_then(|()| d.flush()) {
                    Ok(Some(batch)) => {
                        let len = batch.num_rows();
                        out.batches.push(batch);
                        Ok(Rows {
                            batch: out.batches.len() - 1,
                            offset: 0,
                            len,
                        })
                    }
                    Ok(None) => Ok(Rows {
                        batch: 0,
                        offset: 0,
                        len: 0,
                    }),
                    Err(e) => Err(reason_of(&e)),
                }
            }
        };
        out.results.push(rows);
    }
    Ok(())
}

fn reason_of(e: &ArrowError) -> String {
    let text = e.to_string();
    let text = text.strip_prefix("Json error: ").unwrap_or(&text);
    let mut text = text.to_string();
    if text.len() > 300 {
        let mut cut = 300;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

impl Decoded {
    /// The rows of the messages `keep` selects (by input index), in order,
    /// as one batch; `None` when there are none.
    pub fn select(&self, keep: &[bool]) -> Result<Option<RecordBatch>, ArrowError> {
        let mut masks: Vec<Vec<bool>> = self
            .batches
            .iter()
            .map(|b| vec![false; b.num_rows()])
            .collect();
        let mut any = false;
        for (i, result) in self.results.iter().enumerate() {
            let (Ok(rows), Some(true)) = (result, keep.get(i)) else {
                continue;
            };
            if rows.len == 0 {
                continue;
            }
            if let Some(mask) = masks.get_mut(rows.batch) {
                for flag in mask.iter_mut().skip(rows.offset).take(rows.len) {
                    *flag = true;
                    any = true;
                }
            }
        }
        if !any {
            return Ok(None);
        }
        let mut selected = Vec::with_capacity(self.batches.len());
        for (batch, mask) in self.batches.iter().zip(masks) {
            if mask.iter().all(|m| *m) {
                selected.push(batch.clone());
            } else if mask.iter().any(|m| *m) {
                selected.push(filter_record_batch(batch, &BooleanArray::from(mask))?);
            }
        }
        concat_batches(&self.schema, &selected).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::infer::{absorb, empty_struct, infer_record, InferOptions};
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Int64Type, TimestampMicrosecondType};
    use serde_json::json;

    fn records(v: Value) -> Vec<Record> {
        match v {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|i| match i {
                    Value::Object(m) => Some(m),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn schema_of(messages: &[Vec<Record>], opts: &InferOptions) -> StructType {
        let mut target = empty_struct().unwrap();
        for r in messages.iter().flatten() {
            let s = infer_record(r, opts).unwrap();
            if let Some(a) = absorb(&target, &s, None).unwrap() {
                target = a.schema;
            }
        }
        target
    }

    #[test]
    fn bad_records_fail_only_their_message() {
        let table = schema_of(
            &[records(json!([{"id": 1, "name": "a", "n": 1.5}]))],
            &InferOptions::default(),
        );
        let messages = [
            records(json!([{"id": 1, "name": "a"}, {"id": 2, "name": 3}])),
            records(json!([{"id": "abc"}])),
            records(json!([])),
            records(json!([{"id": "42", "n": 2}])),
            records(json!([{"id": 4.5}])),
            records(json!([{"id": 5, "name": {"x": 1}}])),
            records(json!([{"id": 6, "extra": "ignored here"}])),
        ];
        let refs: Vec<&[Record]> = messages.iter().map(Vec::as_slice).collect();
        let d = decode(&table, &refs).unwrap();
        let ok: Vec<bool> = d.results.iter().map(Result::is_ok).collect();
        assert_eq!(ok, [true, false, true, true, false, false, true]);
        let err = d.results[1].as_ref().unwrap_err();
        assert!(err.contains("abc") && err.contains("Int64"), "{err}");
        let err = d.results[4].as_ref().unwrap_err();
        assert!(err.contains("4.5"), "{err}");
        let batch = d.select(&[true; 7]).unwrap().unwrap();
        assert_eq!(batch.num_rows(), 4);
        let ids: Vec<i64> = batch
            .column_by_name("id")
            .unwrap()
            .as_primitive::<Int64Type>()
            .values()
            .to_vec();
        assert_eq!(ids, [1, 2, 42, 6]);
        let names = batch.column_by_name("name").unwrap().as_string::<i32>();
        assert_eq!(names.value(1), "3", "numbers are kept as text in strings");
        // Only some messages.
        let some = d
            .select(&[false, false, true, true, false, false, false])
            .unwrap()
            .unwrap();
        assert_eq!(some.num_rows(), 1);
        assert_eq!(d.select(&[false; 7]).unwrap(), None);
    }

    #[test]
    fn timestamps_from_strings_and_epochs() {
        let opts = InferOptions::new(&["ts"]);
        let messages = [records(json!([
            {"ts": "2024-01-02T03:04:05Z"},
            {"ts": "2024-01-02T05:04:05.5+02:00"},
            {"ts": "2024-01-02 03:04:05"},
            {"ts": "2024-01-02"},
            {"ts": 1_704_164_645},
            {"ts": 1_704_164_645_500i64},
            {"ts": null}
        ]))];
        let schema = schema_of(&messages, &opts);
        let refs: Vec<&[Record]> = messages.iter().map(Vec::as_slice).collect();
        let d = decode(&schema, &refs).unwrap();
        let batch = d.select(&[true]).unwrap().unwrap();
        let ts = batch
            .column_by_name("ts")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        let base = 1_704_164_645_000_000i64;
        assert_eq!(ts.value(0), base);
        assert_eq!(ts.value(1), base + 500_000);
        assert_eq!(ts.value(2), base);
        assert_eq!(ts.value(3), 1_704_153_600_000_000);
        assert_eq!(ts.value(4), base);
        assert_eq!(ts.value(5), base + 500_000);
        assert!(ts.is_null(6));
        let bad = [
            records(json!([{"ts": "yesterday"}])),
            records(json!([{"ts": true}])),
            records(json!([{"ts": 1e300}])),
        ];
        let refs: Vec<&[Record]> = bad.iter().map(Vec::as_slice).collect();
        let d = decode(&schema, &refs).unwrap();
        assert!(d.results.iter().all(Result::is_err), "{:?}", d.results);
        // A boolean first seen in a timestamp field still makes it a timestamp.
        let first = [records(json!([{"ts": false}]))];
        assert_eq!(
            schema_of(&first, &opts).field("ts").unwrap().data_type(),
            &deltalake::kernel::DataType::TIMESTAMP
        );
    }

    #[test]
    fn nested_values_decode() {
        let messages = [records(json!([
            {"p": {"a": 1, "b": ["x", "y"]}, "l": [{"k": 1}, {"k": 2}]},
            {"p": {"a": 2}, "l": []}
        ]))];
        let schema = schema_of(&messages, &InferOptions::default());
        let refs: Vec<&[Record]> = messages.iter().map(Vec::as_slice).collect();
        let d = decode(&schema, &refs).unwrap();
        let batch = d.select(&[true]).unwrap().unwrap();
        assert_eq!(batch.num_rows(), 2);
        let l = batch.column_by_name("l").unwrap().as_list::<i32>();
        assert_eq!(l.value(0).len(), 2);
        assert_eq!(l.value(1).len(), 0);
    }

    #[test]
    fn many_messages_in_chunks() {
        let messages: Vec<Vec<Record>> = (0..3000)
            .map(|i| {
                if i % 1000 == 999 {
                    records(json!([{"id": "bad"}]))
                } else {
                    records(json!([{ "id": i }]))
                }
            })
            .collect();
        let schema = schema_of(&messages[..1], &InferOptions::default());
        let refs: Vec<&[Record]> = messages.iter().map(Vec::as_slice).collect();
        let d = decode(&schema, &refs).unwrap();
        assert_eq!(d.results.iter().filter(|r| r.is_err()).count(), 3);
        let keep = vec![true; 3000];
        assert_eq!(d.select(&keep).unwrap().unwrap().num_rows(), 2997);
    }
}
