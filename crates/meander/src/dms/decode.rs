//! DMS files (CSV or Parquet) to Arrow: the data columns, and the `Op` of
//! every row.
//!
//! # CSV
//!
//! As DMS writes it by default: no header (`AddColumnName=false`), `,`
//! between fields, `"` quoting, and an empty field for NULL
//! (`CsvNullValue` unset). [`CsvOptions`] follows the endpoint's settings.
//! Column names come from the header (`AddColumnName=true`) or, without
//! one, from a DMS table-definition document; headerless files are laid out
//! `[Op,] [<TimestampColumnName>,] <the definition's columns>`, and `Op` is
//! recognised by the field count (full-load files have it only with
//! `IncludeOpForFullLoad=true`). Columns are read as text and cast to the
//! definition's types; without a definition every column is text.
//!
//! Limitation: the CSV reader does not see quotes, so with the default
//! null value a quoted empty string (`""`) is NULL too.
//!
//! # Parquet
//!
//! Columns keep the file's types, except those Delta cannot hold: non-micro
//! timestamps become microseconds, unsigned integers widen, times become
//! text.

use std::io::Cursor;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions};
use arrow::compute::{cast_with_options, concat_batches, CastOptions};
use arrow::csv::reader::Format;
use arrow::csv::ReaderBuilder;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::config::TableDefinition;
use super::names::{DmsFile, FileFormat};

/// The column DMS writes the operation in.
pub const OP_COLUMN: &str = "Op";

/// How DMS writes CSV (the S3 endpoint's settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// `AddColumnName`: the first line holds the column names.
    pub header: bool,
    /// `CsvDelimiter` (one byte).
    pub delimiter: u8,
    /// `CsvNullValue`: the field text that means NULL ("" = empty field).
    pub null_value: String,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: false,
            delimiter: b',',
            null_value: String::new(),
        }
    }
}

/// A row's operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        match s.trim() {
            "I" | "i" => Some(Op::Insert),
            "U" | "u" => Some(Op::Update),
            "D" | "d" => Some(Op::Delete),
            _ => None,
        }
    }
}

/// One decoded DMS file.
#[derive(Debug, Clone)]
pub struct DecodedFile {
    /// The data columns (the timestamp column included, `Op` not).
    pub batch: RecordBatch,
    /// One per row (`Insert` when the file has no `Op` column).
    pub ops: Vec<Op>,
    /// Whether the file had an `Op` column.
    pub has_op: bool,
}

/// Why a file could not be decoded. The text says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{file}: {reason}")]
    Invalid { file: String, reason: String },
}

fn invalid(file: &DmsFile, reason: impl Into<String>) -> DecodeError {
    DecodeError::Invalid {
        file: file.uri(),
        reason: reason.into(),
    }
}

/// Everything needed to read one table's files.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    pub csv: &'a CsvOptions,
    pub definition: Option<&'a TableDefinition>,
    pub timestamp_column: Option<&'a str>,
}

/// Decode a DMS file's bytes.
pub fn decode(
    file: &DmsFile,
    bytes: Bytes,
    layout: Layout<'_>,
) -> Result<DecodedFile, DecodeError> {
    let batch = match file.format {
        FileFormat::Csv => read_csv(file, &bytes, layout)?,
        FileFormat::Parquet => read_parquet(file, bytes)?,
    };
    split_op(file, batch)
}

/// The line on which a quoted field opens that is never closed, if any.
/// The CSV reader takes such a field to run to the end of the file (the
/// rows after it would vanish into one value); DMS always closes its
/// quotes, so this is a truncated or damaged file.
fn unclosed_quote(bytes: &[u8], delimiter: u8) -> Option<usize> {
    let mut line = 1;
    let mut opened = 0;
    let mut in_quotes = false;
    let mut field_start = true;
    let mut iter = bytes.iter().peekable();
    while let Some(&b) = iter.next() {
        if in_quotes {
            if b == b'"' {
                if iter.peek() == Some(&&b'"') {
                    iter.next();
                } else {
                    in_quotes = false;
                }
            } else if b == b'\n' {
                line += 1;
            }
        } else {
            if b == b'"' && field_start {
                in_quotes = true;
                opened = line;
            }
            field_start = b == delimiter || b == b'\n' || b == b'\r';
            if b == b'\n' {
                line += 1;
            }
        }
    }
    in_quotes.then_some(opened)
}

fn read_csv(file: &DmsFile, bytes: &[u8], layout: Layout<'_>) -> Result<RecordBatch, DecodeError> {
    let opts = layout.csv;
    if let Some(line) = unclosed_quote(bytes, opts.delimiter) {
        return Err(invalid(
            file,
            format!("bad CSV: line {line}: a quoted field is never closed (a truncated or damaged file?)"),
        ));
    }
    let format = Format::default()
        .with_header(opts.header)
        .with_delimiter(opts.delimiter)
        .with_quote(b'"');
    let (first, _) = format
        .infer_schema(Cursor::new(bytes), Some(0))
        .map_err(|e| invalid(file, format!("not CSV: {e}")))?;
    let width = first.fields().len();
    if width == 0 {
        // An empty file: no columns, no rows.
        return RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            Vec::new(),
            &RecordBatchOptions::new().with_row_count(Some(0)),
        )
        .map_err(|e| invalid(file, e.to_string()));
    }
    // The names of the fields, in file order.
    let names: Vec<String> = if opts.header {
        first.fields().iter().map(|f| f.name().clone()).collect()
    } else {
        let Some(def) = layout.definition else {
            return Err(invalid(
                file,
                format!(
                    "a CSV file without a header needs column names: set CSV_HEADER=true (and the endpoint's AddColumnName=true) or give {}.{} in TABLE_DEFINITION",
                    file.table.schema, file.table.table
                ),
            ));
        };
        let mut columns: Vec<String> = def
            .table_columns
            .iter()
            .map(|c| c.column_name.clone())
            .collect();
        if let Some(ts) = layout.timestamp_column {
            if !columns.iter().any(|c| c == ts) {
                columns.insert(0, ts.to_string());
            }
        }
        if width == columns.len() + 1 {
            columns.insert(0, OP_COLUMN.to_string());
        } else if width != columns.len() {
            return Err(invalid(
                file,
                format!(
                    "{width} fields per line, but the layout is [Op,] {} (TIMESTAMP_COLUMN and TABLE_DEFINITION must match the endpoint's settings)",
                    columns.join(",")
                ),
            ));
        }
        columns
    };
    let mut seen = names.clone();
    seen.sort();
    seen.dedup();
    if seen.len() != names.len() {
        return Err(invalid(file, "the header names a column twice"));
    }
    let text_schema: SchemaRef = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let null_regex = regex::Regex::new(&format!("^{}$", regex::escape(&opts.null_value)))
        .map_err(|e| invalid(file, format!("CSV_NULL_VALUE: {e}")))?;
    let reader = ReaderBuilder::new(text_schema.clone())
        .with_header(opts.header)
        .with_delimiter(opts.delimiter)
        .with_quote(b'"')
        .with_null_regex(null_regex)
        .build(Cursor::new(bytes))
        .map_err(|e| invalid(file, format!("not CSV: {e}")))?;
    let mut batches = Vec::new();
    for b in reader {
        batches.push(b.map_err(|e| invalid(file, format!("bad CSV: {e}")))?);
    }
    let text = concat_batches(&text_schema, &batches).map_err(|e| invalid(file, e.to_string()))?;
    // Cast to the definition's types.
    let Some(def) = layout.definition else {
        return Ok(text);
    };
    let mut fields = Vec::with_capacity(names.len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(names.len());
    let cast_options = CastOptions {
        safe: false,
        ..Default::default()
    };
    for (name, column) in names.iter().zip(text.columns()) {
        let target = def
            .table_columns
            .iter()
            .find(|c| &c.column_name == name)
            .map(super::config::arrow_type)
            .unwrap_or(DataType::Utf8);
        let typed = cast_with_options(column, &target, &cast_options).map_err(|e| {
            invalid(
                file,
                format!("column {name:?} is not {target} as TABLE_DEFINITION says: {e}"),
            )
        })?;
        fields.push(Field::new(name, target, true));
        columns.push(typed);
    }
    RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(text.num_rows())),
    )
    .map_err(|e| invalid(file, e.to_string()))
}

fn read_parquet(file: &DmsFile, bytes: Bytes) -> Result<RecordBatch, DecodeError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| invalid(file, format!("not Parquet: {e}")))?;
    let schema = builder.schema().clone();
    let reader = builder
        .build()
        .map_err(|e| invalid(file, format!("not Parquet: {e}")))?;
    let mut batches = Vec::new();
    for b in reader {
        batches.push(b.map_err(|e| invalid(file, format!("bad Parquet: {e}")))?);
    }
    let batch = concat_batches(&schema, &batches).map_err(|e| invalid(file, e.to_string()))?;
    delta_types(&batch).map_err(|e| invalid(file, e))
}

/// The Delta-compatible type for a Parquet column's type.
fn delta_type(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Timestamp(u, tz) if *u != TimeUnit::Microsecond => {
            Some(DataType::Timestamp(TimeUnit::Microsecond, tz.clone()))
        }
        DataType::UInt8 => Some(DataType::Int16),
        DataType::UInt16 => Some(DataType::Int32),
        DataType::UInt32 => Some(DataType::Int64),
        DataType::UInt64 => Some(DataType::Decimal128(20, 0)),
        DataType::Time32(_) | DataType::Time64(_) => Some(DataType::Utf8),
        DataType::LargeUtf8 | DataType::Utf8View => Some(DataType::Utf8),
        _ => None,
    }
}

fn delta_types(batch: &RecordBatch) -> Result<RecordBatch, String> {
    let schema = batch.schema();
    if schema
        .fields()
        .iter()
        .all(|f| delta_type(f.data_type()).is_none())
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        match delta_type(f.data_type()) {
            Some(t) => {
                columns.push(
                    arrow::compute::cast(c, &t)
                        .map_err(|e| format!("column {:?}: {e}", f.name()))?,
                );
                fields.push(Field::new(f.name(), t, true));
            }
            None => {
                columns.push(c.clone());
                fields.push(f.as_ref().clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

/// Take the `Op` column out.
fn split_op(file: &DmsFile, batch: RecordBatch) -> Result<DecodedFile, DecodeError> {
    let schema = batch.schema();
    let Some((index, _)) = schema.column_with_name(OP_COLUMN) else {
        if !file.is_load() && batch.num_rows() > 0 {
            return Err(invalid(
                file,
                "a CDC file without an Op column (with a header, the first column must be named Op)",
            ));
        }
        let rows = batch.num_rows();
        return Ok(DecodedFile {
            batch,
            ops: vec![Op::Insert; rows],
            has_op: false,
        });
    };
    let column = batch.column(index);
    let text = arrow::compute::cast(column, &DataType::Utf8)
        .map_err(|e| invalid(file, format!("the Op column: {e}")))?;
    let text = text.as_string::<i32>();
    let mut ops = Vec::with_capacity(text.len());
    for row in 0..text.len() {
        let op = (!text.is_null(row))
            .then(|| Op::parse(text.value(row)))
            .flatten()
            .ok_or_else(|| {
                invalid(
                    file,
                    format!(
                        "row {}: Op is {:?}, expected I, U or D",
                        row + 1,
                        (!text.is_null(row)).then(|| text.value(row))
                    ),
                )
            })?;
        if file.is_load() && op != Op::Insert {
            return Err(invalid(
                file,
                format!(
                    "row {}: a full-load file holds only inserts (Op I)",
                    row + 1
                ),
            ));
        }
        ops.push(op);
    }
    let mut batch = batch;
    batch.remove_column(index);
    Ok(DecodedFile {
        batch,
        ops,
        has_op: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dms::config::TableDefinitions;
    use crate::dms::names::{classify, KeyClass};
    use arrow::array::{Date32Array, Decimal128Array, Int64Array, StringArray};

    fn file(key: &str) -> DmsFile {
        match classify("bucket", key) {
            KeyClass::Data(f) => f,
            other => panic!("{other:?}"),
        }
    }

    fn defs() -> TableDefinitions {
        TableDefinitions::parse(include_str!("fixtures/table-definition.json")).unwrap()
    }

    fn strings(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
        let c = arrow::compute::cast(b.column_by_name(name).unwrap(), &DataType::Utf8).unwrap();
        c.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    #[test]
    fn headerless_full_load_with_a_definition() {
        let defs = defs();
        let csv = CsvOptions::default();
        let layout = Layout {
            csv: &csv,
            definition: defs.get("public", "orders"),
            timestamp_column: None,
        };
        let f = file("dms/public/orders/LOAD00000001.csv");
        let d = decode(
            &f,
            Bytes::from_static(include_bytes!("fixtures/LOAD00000001.csv")),
            layout,
        )
        .unwrap();
        assert!(!d.has_op);
        assert_eq!(d.ops, vec![Op::Insert; 3]);
        let b = &d.batch;
        assert_eq!(b.num_rows(), 3);
        let ids = b
            .column_by_name("id")
            .unwrap()
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(ids.values(), &[1, 2, 3]);
        let amount = b
            .column_by_name("amount")
            .unwrap()
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .unwrap();
        assert_eq!(amount.value_as_string(0), "12.50");
        // Quoted delimiters and quotes; an empty field is NULL.
        assert_eq!(
            strings(b, "customer"),
            [Some("Smith, Bob".into()), Some("O\"Neil".into()), None]
        );
        let day = b
            .column_by_name("ordered_on")
            .unwrap()
            .as_any()
            .downcast_ref::<Date32Array>()
            .unwrap();
        assert_eq!(day.value_as_date(0).unwrap().to_string(), "2026-11-01");
        assert_eq!(
            strings(b, "paid"),
            [Some("true".into()), Some("false".into()), None]
        );
        assert_eq!(
            strings(b, "updated_at"),
            [
                Some("2026-11-01T10:00:00.123456Z".into()),
                Some("2026-11-01T10:00:01Z".into()),
                None
            ]
        );
    }

    #[test]
    fn headerless_cdc_with_op_and_timestamp() {
        let defs = defs();
        let csv = CsvOptions::default();
        let layout = Layout {
            csv: &csv,
            definition: defs.get("public", "lines"),
            timestamp_column: Some("dms_ts"),
        };
        let f = file("dms/public/lines/20261121-101500123.csv");
        let body = "I,2026-11-21 10:15:00.000001,1,1,A\nU,2026-11-21 10:15:00.000002,1,1,B\nD,2026-11-21 10:15:00.000003,1,2,\n";
        let d = decode(&f, Bytes::from(body), layout).unwrap();
        assert!(d.has_op);
        assert_eq!(d.ops, [Op::Insert, Op::Update, Op::Delete]);
        let names: Vec<&str> = d
            .batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["dms_ts", "order_id", "line_no", "sku"]);
        assert_eq!(
            strings(&d.batch, "sku"),
            [Some("A".into()), Some("B".into()), None]
        );

        // Without TIMESTAMP_COLUMN the field count does not fit.
        let layout = Layout {
            timestamp_column: None,
            ..layout
        };
        let err = decode(&f, Bytes::from(body), layout)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("5 fields per line") && err.contains("20261121-101500123.csv"),
            "{err}"
        );
    }

    #[test]
    fn header_and_custom_options() {
        let csv = CsvOptions {
            header: true,
            delimiter: b'|',
            null_value: "NULL".into(),
        };
        let layout = Layout {
            csv: &csv,
            definition: None,
            timestamp_column: None,
        };
        let f = file("dms/hr/emp/20261121-101500.csv");
        let d = decode(&f, Bytes::from("Op|id|name\nI|1|\nD|2|NULL\n"), layout).unwrap();
        assert_eq!(d.ops, [Op::Insert, Op::Delete]);
        assert_eq!(
            strings(&d.batch, "id"),
            [Some("1".into()), Some("2".into())]
        );
        assert_eq!(strings(&d.batch, "name"), [Some(String::new()), None]);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let csv = CsvOptions::default();
        let none = Layout {
            csv: &csv,
            definition: None,
            timestamp_column: None,
        };
        let f = file("dms/hr/emp/20261121-101500.csv");
        let err = decode(&f, Bytes::from("I,1\n"), none)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CSV_HEADER=true") && err.contains("hr.emp"),
            "{err}"
        );

        let header = CsvOptions {
            header: true,
            ..Default::default()
        };
        let h = Layout {
            csv: &header,
            ..none
        };
        let err = decode(&f, Bytes::from("Op,id\nX,1\n"), h)
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 1: Op is Some(\"X\")"), "{err}");
        let err = decode(&f, Bytes::from("id\n1\n"), h)
            .unwrap_err()
            .to_string();
        assert!(err.contains("without an Op column"), "{err}");
        let load = file("dms/hr/emp/LOAD00000001.csv");
        let err = decode(&load, Bytes::from("Op,id\nD,1\n"), h)
            .unwrap_err()
            .to_string();
        assert!(err.contains("only inserts"), "{err}");
        let err = decode(&f, Bytes::from("Op,id\nI,1,2,3\n"), h)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad CSV"), "{err}");
        // A quote never closed would swallow the rows after it.
        let err = decode(&f, Bytes::from("Op,id\nI,\"1\nI,2\n"), h)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2: a quoted field is never closed"),
            "{err}"
        );
        let d = decode(&f, Bytes::from("Op,id\nI,\"1\"\"\n,x\"\nI,2\"\n"), h).unwrap();
        assert_eq!(d.batch.num_rows(), 2);
        // Types that do not fit the definition.
        let defs = defs();
        let typed = Layout {
            csv: &csv,
            definition: defs.get("public", "lines"),
            timestamp_column: None,
        };
        let err = decode(
            &file("dms/public/lines/LOAD00000001.csv"),
            Bytes::from("x,1,A\n"),
            typed,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("\"order_id\" is not Int64"), "{err}");
        let err = decode(&f, Bytes::from_static(b"PAR1garbage"), Layout { ..none })
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("CSV_HEADER"), "{err}");
        let pq = file("dms/hr/emp/LOAD00000001.parquet");
        let err = decode(&pq, Bytes::from_static(b"not parquet"), none)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not Parquet"), "{err}");
        // Empty files have no rows.
        let d = decode(&f, Bytes::new(), none).unwrap();
        assert_eq!(d.batch.num_rows(), 0);
    }

    #[test]
    fn parquet_files_keep_types_and_lose_op() {
        use arrow::array::{TimestampNanosecondArray, UInt32Array};
        use parquet::arrow::ArrowWriter;
        let schema = Arc::new(Schema::new(vec![
            Field::new("Op", DataType::Utf8, true),
            Field::new("id", DataType::Int64, false),
            Field::new("n", DataType::UInt32, true),
            Field::new("at", DataType::Timestamp(TimeUnit::Nanosecond, None), true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["I", "D"])),
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(UInt32Array::from(vec![7, 8])),
                Arc::new(TimestampNanosecondArray::from(vec![1_000, 2_000])),
            ],
        )
        .unwrap();
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let csv = CsvOptions::default();
        let layout = Layout {
            csv: &csv,
            definition: None,
            timestamp_column: None,
        };
        let d = decode(
            &file("dms/hr/emp/20261121-101500.parquet"),
            Bytes::from(buf),
            layout,
        )
        .unwrap();
        assert_eq!(d.ops, [Op::Insert, Op::Delete]);
        let s = d.batch.schema();
        assert!(s.field_with_name("Op").is_err());
        assert_eq!(
            s.field_with_name("n").unwrap().data_type(),
            &DataType::Int64
        );
        assert_eq!(
            s.field_with_name("at").unwrap().data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, None)
        );
    }
}
