//! Parquet files for the scenarios: an `orders` export with known rows.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampNanosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;

/// `2026-11-01T00:00:00Z` in nanoseconds.
const BASE_NS: i64 = 1_793_491_200_000_000_000;

/// The value of `customer` for order `id`.
pub fn customer(id: i64) -> String {
    format!("customer-{}", id % 97)
}

/// The value of `amount` for order `id`.
pub fn amount(id: i64) -> f64 {
    (id % 1000) as f64 / 4.0
}

/// An `orders` file with one row per id: `id` (long, not null), `customer`
/// (string), `amount` (double), `created_at` (timestamp in **nanoseconds**,
/// whole microseconds, as Aurora-style exports write them) and, with
/// `note`, an extra string column `note` = `"note-<id>"`.
pub fn orders(ids: Range<i64>, note: bool) -> Vec<u8> {
    let mut fields = vec![
        Field::new("id", DataType::Int64, false),
        Field::new("customer", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            true,
        ),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(ids.clone())),
        Arc::new(StringArray::from_iter_values(ids.clone().map(customer))),
        Arc::new(Float64Array::from_iter_values(ids.clone().map(amount))),
        Arc::new(
            TimestampNanosecondArray::from_iter_values(ids.clone().map(|i| BASE_NS + i * 1_000))
                .with_timezone("UTC"),
        ),
    ];
    if note {
        fields.push(Field::new("note", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from_iter_values(
            ids.clone().map(|i| format!("note-{i}")),
        )));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .expect("orders batch matches its schema");
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), None).expect("parquet writer");
    writer.write(&batch).expect("write orders");
    writer.close().expect("close orders");
    out
}

/// A Parquet file with an `id` column and a `TIME` column (Arrow
/// `Time64(Microsecond)`), a type Delta tables do not have.
pub fn with_time_column(ids: Range<i64>) -> Vec<u8> {
    use arrow::array::Time64MicrosecondArray;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("at", DataType::Time64(TimeUnit::Microsecond), true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(ids.clone())),
        Arc::new(Time64MicrosecondArray::from_iter_values(
            ids.map(|i| i * 1_000_000),
        )),
    ];
    let batch = RecordBatch::try_new(schema, columns).expect("time batch matches its schema");
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), None).expect("parquet writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    out
}
