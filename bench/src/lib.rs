//! Workloads shared by the benchmark binaries.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use serde_json::{json, Value};

pub mod cost;
#[cfg(feature = "driver")]
pub mod events;
pub mod stats;

/// Write `files` Parquet files of `rows` rows each under
/// `<dir>/<bucket>/<table>/ds=<day>/part-<i>.parquet` and return the SQS
/// batch of S3 notifications announcing them (one message per file).
pub fn parquet_export(
    dir: &Path,
    bucket: &str,
    table: &str,
    files: usize,
    rows: usize,
) -> std::io::Result<Value> {
    parquet_files(dir, bucket, table, 0..files, rows)
}

/// [`parquet_export`] for the files numbered `range` (so that successive
/// batches announce new files of the same table).
pub fn parquet_files(
    dir: &Path,
    bucket: &str,
    table: &str,
    range: std::ops::Range<usize>,
    rows: usize,
) -> std::io::Result<Value> {
    let files = range.len();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("customer", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]));
    let mut messages = Vec::with_capacity(files);
    for i in range {
        let key = format!("{table}/ds=2026-11-{:02}/part-{i:06}.parquet", i % 28 + 1);
        let path = dir.join(bucket).join(&key);
        let start = (i * rows) as i64;
        let ids = start..start + rows as i64;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(ids.clone())),
            Arc::new(StringArray::from_iter_values(
                ids.clone().map(|i| format!("customer-{}", i % 1000)),
            )),
            Arc::new(Float64Array::from_iter_values(
                ids.clone().map(|i| (i % 10_000) as f64 / 100.0),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    ids.clone().map(|i| 1_793_491_200_000_000 + i),
                )
                .with_timezone("UTC"),
            ),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(std::io::Error::other)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::File::create(&path)?;
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None)
            .map_err(std::io::Error::other)?;
        w.write(&batch).map_err(std::io::Error::other)?;
        w.close().map_err(std::io::Error::other)?;
        let size = std::fs::metadata(&path)?.len();
        messages.push(json!({
            "messageId": format!("m-{i:06}"),
            "eventSource": "aws:sqs",
            "body": json!({"Records": [{
                "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                "eventTime": "2026-11-02T10:00:00.000Z",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": size}}
            }]}).to_string()
        }));
    }
    Ok(json!({ "Records": messages }))
}

/// Peak resident set of this process, in KiB (Linux `VmHWM`).
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}
