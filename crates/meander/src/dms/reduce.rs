//! Files of one table to one batch: full-load rows as they are, CDC changes
//! reduced to the last change per key.
//!
//! Changes are ordered by the timestamp column (when configured), then by
//! file (DMS order), then by row; the last change of each key wins. Its row
//! goes into the MERGE source with a delete flag when its `Op` is `D`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, RecordBatch, RecordBatchOptions,
    UInt32Array,
};
use arrow::compute::{cast, concat_batches, take_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::row::{RowConverter, SortField};
use chrono::NaiveDateTime;

use super::decode::{DecodedFile, Op};
use super::names::DmsFile;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReduceError {
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    #[error("{0}")]
    Schema(String),
}

fn file_error(file: &DmsFile, reason: impl Into<String>) -> ReduceError {
    ReduceError::File {
        file: file.uri(),
        reason: reason.into(),
    }
}

/// The union of the files' schemas, in order of first appearance. A column
/// whose type differs between files is an error.
pub fn union_schema(files: &[(&DmsFile, &DecodedFile)]) -> Result<SchemaRef, ReduceError> {
    let mut fields: Vec<Field> = Vec::new();
    for (file, d) in files {
        for f in d.batch.schema_ref().fields() {
            match fields.iter().find(|g| g.name() == f.name()) {
                Some(g) if g.data_type() != f.data_type() => {
                    return Err(file_error(
                        file,
                        format!(
                            "column {:?} is {} here but {} in an earlier file of the batch",
                            f.name(),
                            f.data_type(),
                            g.data_type()
                        ),
                    ))
                }
                Some(_) => {}
                None => fields.push(Field::new(f.name(), f.data_type().clone(), true)),
            }
        }
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// `batch` with `schema`'s columns (missing ones null).
pub fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ReduceError> {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => c.clone(),
            None => new_null_array(f.data_type(), batch.num_rows()),
        })
        .collect();
    RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(|e| ReduceError::Schema(e.to_string()))
}

/// The batches as one (also without columns, e.g. from empty files).
fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<RecordBatch, ReduceError> {
    if schema.fields().is_empty() {
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        return RecordBatch::try_new_with_options(
            schema.clone(),
            Vec::new(),
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| ReduceError::Schema(e.to_string()));
    }
    concat_batches(schema, batches).map_err(|e| ReduceError::Schema(e.to_string()))
}

/// Full-load files: their rows, one batch, every key column present.
pub fn load_rows(
    files: &[(&DmsFile, &DecodedFile)],
    keys: &[String],
) -> Result<RecordBatch, ReduceError> {
    for (file, d) in files {
        check_keys(file, &d.batch, keys)?;
    }
    let schema = union_schema(files)?;
    let batches = files
        .iter()
        .map(|(_, d)| conform(&d.batch, &schema))
        .collect::<Result<Vec<_>, _>>()?;
    concat(&schema, &batches)
}

fn check_keys(file: &DmsFile, batch: &RecordBatch, keys: &[String]) -> Result<(), ReduceError> {
    if batch.num_rows() == 0 {
        return Ok(());
    }
    for k in keys {
        let Some(c) = batch.column_by_name(k) else {
            return Err(file_error(
                file,
                format!(
                    "has no key column {k:?} (KEY_COLUMNS for {}); columns: {}",
                    file.table.qualified(),
                    batch
                        .schema_ref()
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ));
        };
        if let Some(row) = (0..c.len()).find(|&i| c.is_null(i)) {
            return Err(file_error(
                file,
                format!("row {}: key column {k:?} is NULL", row + 1),
            ));
        }
    }
    Ok(())
}

/// The MERGE source: the last change per key, and which are deletions.
#[derive(Debug, Clone)]
pub struct Reduced {
    pub batch: RecordBatch,
    pub deleted: BooleanArray,
    /// Changes read.
    pub changes: usize,
}

/// A timestamp column's values as microseconds since 1970.
fn timestamps(file: &DmsFile, column: &ArrayRef, name: &str) -> Result<Vec<i64>, ReduceError> {
    let micros = |row: usize| -> Result<i64, ReduceError> {
        Err(file_error(
            file,
            format!(
                "row {}: the timestamp column {name:?} is NULL or not yyyy-MM-dd HH:mm:ss.SSSSSS",
                row + 1
            ),
        ))
    };
    match column.data_type() {
        DataType::Utf8 => {
            let s = column.as_string::<i32>();
            (0..s.len())
                .map(|i| {
                    if s.is_null(i) {
                        return micros(i);
                    }
                    NaiveDateTime::parse_from_str(s.value(i).trim(), "%Y-%m-%d %H:%M:%S%.f")
                        .map(|t| t.and_utc().timestamp_micros())
                        .or_else(|_| micros(i))
                })
                .collect()
        }
        DataType::Timestamp(_, _) => {
            let c = cast(column, &DataType::Timestamp(TimeUnit::Microsecond, None))
                .and_then(|c| cast(&c, &DataType::Int64))
                .map_err(|e| file_error(file, e.to_string()))?;
            let c = c.as_primitive::<arrow::datatypes::Int64Type>();
            (0..c.len())
                .map(|i| {
                    if c.is_null(i) {
                        micros(i)
                    } else {
                        Ok(c.value(i))
                    }
                })
                .collect()
        }
        other => Err(file_error(
            file,
            format!("the timestamp column {name:?} is {other}, expected text or a timestamp"),
        )),
    }
}

/// Reduce CDC files (in DMS order) to the last change per key.
pub fn latest_per_key(
    files: &[(&DmsFile, &DecodedFile)],
    keys: &[String],
    timestamp_column: Option<&str>,
) -> Result<Reduced, ReduceError> {
    // (timestamp, file, row) of every change, and the global row index.
    let mut order: Vec<(i64, usize, usize)> = Vec::new();
    let mut ops: Vec<Op> = Vec::new();
    for (fi, (file, d)) in files.iter().enumerate() {
        check_keys(file, &d.batch, keys)?;
        let rows = d.batch.num_rows();
        let ts = match timestamp_column {
            Some(name) if rows > 0 => match d.batch.column_by_name(name) {
                Some(c) => timestamps(file, c, name)?,
                None => {
                    return Err(file_error(
                        file,
                        format!("has no timestamp column {name:?} (TIMESTAMP_COLUMN)"),
                    ))
                }
            },
            _ => vec![0; rows],
        };
        for (row, t) in ts.into_iter().enumerate() {
            order.push((t, fi, row));
        }
        ops.extend_from_slice(&d.ops);
    }
    let schema = union_schema(files)?;
    let batches = files
        .iter()
        .map(|(_, d)| conform(&d.batch, &schema))
        .collect::<Result<Vec<_>, _>>()?;
    let all = concat(&schema, &batches)?;
    let changes = all.num_rows();
    if changes == 0 {
        return Ok(Reduced {
            batch: all,
            deleted: BooleanArray::from(Vec::<bool>::new()),
            changes,
        });
    }
    // Global index of (file, row).
    let mut starts = Vec::with_capacity(files.len());
    let mut at = 0usize;
    for (_, d) in files {
        starts.push(at);
        at += d.batch.num_rows();
    }
    let key_columns: Vec<ArrayRef> = keys
        .iter()
        .map(|k| {
            all.column_by_name(k)
                .cloned()
                .ok_or_else(|| ReduceError::Schema(format!("no key column {k:?}")))
        })
        .collect::<Result<_, _>>()?;
    let converter = RowConverter::new(
        key_columns
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect(),
    )
    .map_err(|e| ReduceError::Schema(e.to_string()))?;
    let rows = converter
        .convert_columns(&key_columns)
        .map_err(|e| ReduceError::Schema(e.to_string()))?;

    order.sort_unstable();
    let mut latest: HashMap<&[u8], usize> = HashMap::with_capacity(changes);
    for (_, fi, row) in &order {
        let index = starts.get(*fi).copied().unwrap_or(0) + row;
        latest.insert(rows.row(index).data(), index);
    }
    let mut winners: Vec<u32> = latest.into_values().map(|i| i as u32).collect();
    winners.sort_unstable();
    let deleted: BooleanArray = winners
        .iter()
        .map(|&i| Some(ops.get(i as usize) == Some(&Op::Delete)))
        .collect();
    let batch = take_record_batch(&all, &UInt32Array::from(winners))
        .map_err(|e| ReduceError::Schema(e.to_string()))?;
    Ok(Reduced {
        batch,
        deleted,
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dms::decode::{decode, CsvOptions, Layout};
    use crate::dms::names::{classify, KeyClass};
    use bytes::Bytes;

    fn decoded(name: &str, body: &str) -> (DmsFile, DecodedFile) {
        let f = match classify("b", &format!("dms/public/t/{name}")) {
            KeyClass::Data(f) => f,
            other => panic!("{other:?}"),
        };
        let csv = CsvOptions {
            header: true,
            ..Default::default()
        };
        let layout = Layout {
            csv: &csv,
            definition: None,
            timestamp_column: Some("ts"),
        };
        let d = decode(&f, Bytes::from(body.to_string()), layout).unwrap();
        (f, d)
    }

    fn rows(r: &Reduced) -> Vec<String> {
        let b = &r.batch;
        (0..b.num_rows())
            .map(|i| {
                let mut s: Vec<String> = b
                    .columns()
                    .iter()
                    .map(|c| {
                        let c = cast(c, &DataType::Utf8).unwrap();
                        let c = c.as_string::<i32>();
                        if c.is_null(i) {
                            "-".into()
                        } else {
                            c.value(i).to_string()
                        }
                    })
                    .collect();
                if r.deleted.value(i) {
                    s.push("DEL".into());
                }
                s.join("|")
            })
            .collect()
    }

    #[test]
    fn last_change_per_key_by_timestamp_then_file_then_row() {
        let a = decoded(
            "20261121-100000000.csv",
            "Op,ts,id,v\n\
             I,2026-11-21 10:00:00.000001,1,a1\n\
             U,2026-11-21 10:00:00.000003,1,a2\n\
             I,2026-11-21 10:00:00.000001,2,b1\n\
             I,2026-11-21 10:00:00.000005,3,c1\n",
        );
        // A later file; its id=1 change has an earlier timestamp than the
        // first file's last one and loses; id=2 shares its timestamp with
        // the first file's row and wins on file order; id=3 is deleted then
        // inserted again at one timestamp: row order decides.
        let b = decoded(
            "20261121-100100000.csv",
            "Op,ts,id,v\n\
             U,2026-11-21 10:00:00.000002,1,a-late\n\
             U,2026-11-21 10:00:00.000001,2,b2\n\
             D,2026-11-21 10:00:00.000006,3,c1\n\
             I,2026-11-21 10:00:00.000006,3,c2\n\
             D,2026-11-21 10:00:00.000007,4,x\n",
        );
        let files = [(&a.0, &a.1), (&b.0, &b.1)];
        let r = latest_per_key(&files, &["id".to_string()], Some("ts")).unwrap();
        assert_eq!(r.changes, 9);
        let mut got = rows(&r);
        got.sort();
        assert_eq!(
            got,
            [
                "2026-11-21 10:00:00.000001|2|b2",
                "2026-11-21 10:00:00.000003|1|a2",
                "2026-11-21 10:00:00.000006|3|c2",
                "2026-11-21 10:00:00.000007|4|x|DEL",
            ]
        );
        // Without the timestamp column: file order, then row order.
        let r = latest_per_key(&files, &["id".to_string()], None).unwrap();
        let mut got = rows(&r);
        got.sort();
        assert_eq!(got[0], "2026-11-21 10:00:00.000001|2|b2");
        assert_eq!(got[1], "2026-11-21 10:00:00.000002|1|a-late");
    }

    #[test]
    fn composite_keys_and_new_columns() {
        let a = decoded(
            "20261121-100000000.csv",
            "Op,ts,k1,k2\nI,2026-11-21 10:00:00,1,1\n",
        );
        let b = decoded(
            "20261121-100100000.csv",
            "Op,ts,k1,k2,extra\nU,2026-11-21 10:00:01,1,1,e\nI,2026-11-21 10:00:01,1,2,f\n",
        );
        let files = [(&a.0, &a.1), (&b.0, &b.1)];
        let keys = ["k1".to_string(), "k2".to_string()];
        let r = latest_per_key(&files, &keys, Some("ts")).unwrap();
        assert_eq!(
            rows(&r),
            ["2026-11-21 10:00:01|1|1|e", "2026-11-21 10:00:01|1|2|f"]
        );
    }

    #[test]
    fn bad_keys_and_timestamps_name_the_file() {
        let a = decoded(
            "20261121-100000000.csv",
            "Op,ts,id\nI,2026-11-21 10:00:00,\n",
        );
        let err = latest_per_key(&[(&a.0, &a.1)], &["id".to_string()], Some("ts"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("20261121-100000000.csv")
                && err.contains("row 1: key column \"id\" is NULL"),
            "{err}"
        );
        let err = latest_per_key(&[(&a.0, &a.1)], &["nope".to_string()], None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no key column \"nope\"") && err.contains("public.t"),
            "{err}"
        );
        let b = decoded("20261121-100000000.csv", "Op,ts,id\nI,yesterday,1\n");
        let err = latest_per_key(&[(&b.0, &b.1)], &["id".to_string()], Some("ts"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("timestamp column \"ts\""), "{err}");
        let c = decoded(
            "20261121-100000000.csv",
            "Op,ts,id\nI,2026-11-21 10:00:00,1\n",
        );
        let d = decoded(
            "20261121-100100000.csv",
            "Op,ts,id\nI,2026-11-21 10:00:00,x\n",
        );
        let ok = latest_per_key(
            &[(&c.0, &c.1), (&d.0, &d.1)],
            &["id".to_string()],
            Some("ts"),
        );
        assert!(ok.is_ok(), "text columns on both sides");
    }
}
