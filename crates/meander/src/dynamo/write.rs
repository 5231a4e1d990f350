//! Arrow rows -> Parquet data files of a Delta table, and their `add`
//! actions with statistics.
//!
//! Rows are split by partition values (one file per partition; partition
//! columns are not stored in the files, as Delta wants), each file is
//! written in memory with snappy compression, put under a fresh unique name
//! (`part-00000-<uuid>-c000.snappy.parquet`; never overwritten), and its
//! `add` gets `stats` computed from the written footer by
//! [`parquet_meta::stats`] against the table schema, so `add.stats` follows
//! the same rules as oxbow's (first 32 columns, the table's
//! `delta.dataSkipping*` settings).
//!
//! Partition folders are named `<column>=<value>` with every character
//! outside `[A-Za-z0-9._-]` replaced by `_` (and cut to 64 characters):
//! readers take partition values from `add.partitionValues`, never from
//! paths, and these paths need no escaping anywhere.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow_schema::{DataType as ArrowType, TimeUnit};
use deltalake::kernel::{Add, StructType};
use deltalake::ObjectStore;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::basic::Compression;

use crate::oxbow::object_path;
use crate::parquet_meta::{self, StatsConfig};
use crate::table::HIVE_NULL;
use crate::write::{Partition, SplitError};

/// Why data files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot partition by column `{column}` of type {data_type}: partition by a string, number, boolean or timestamp attribute")]
    PartitionType { column: String, data_type: String },
    #[error("partition column `{0}` is not in the rows")]
    PartitionMissing(String),
    #[error("writing Parquet failed: {0}")]
    Parquet(String),
    #[error("writing {path} failed: {source}")]
    Store {
        path: String,
        #[source]
        source: deltalake::ObjectStoreError,
    },
}

/// One file written.
#[derive(Debug, Clone)]
pub struct WrittenFile {
    pub add: Add,
    pub rows: usize,
}

/// Write `batch` (every column of `schema`, partition columns included) as
/// data files under the table root `store`, one per partition value
/// combination. Returns the `add` actions (not committed).
pub async fn write_data_files(
    store: Arc<dyn ObjectStore>,
    schema: &StructType,
    batch: &RecordBatch,
    partition_columns: &[String],
    stats_config: &StatsConfig,
    exact_stats: &[&str],
    modification_time: i64,
) -> Result<Vec<WrittenFile>, WriteError> {
    if batch.num_rows() == 0 {
        return Ok(Vec::new());
    }
    let partitions = crate::write::split_by_partition(batch, partition_columns, partition_value)
        .map_err(|e| match e {
            SplitError::MissingColumn(c) => WriteError::PartitionMissing(c),
            SplitError::TooManyRows => WriteError::Parquet("batch too large".into()),
            SplitError::Value(e) => e,
            SplitError::Arrow(e) => WriteError::Parquet(e.to_string()),
        })?;

    let mut written = Vec::with_capacity(partitions.len());
    for Partition {
        values,
        batch: part,
    } in partitions
    {
        let mut folder = String::new();
        for (column, value) in partition_columns.iter().zip(&values) {
            folder.push_str(&segment(column));
            folder.push('=');
            folder.push_str(
                &value
                    .as_deref()
                    .map(segment)
                    .unwrap_or_else(|| HIVE_NULL.to_string()),
            );
            folder.push('/');
        }
        let path = format!(
            "{folder}part-00000-{}-c000.snappy.parquet",
            uuid::Uuid::new_v4()
        );
        let bytes = encode_parquet(&part)?;
        let size = bytes.len();
        let meta = parquet_meta::decode_metadata(&path, &bytes)
            .map_err(|e| WriteError::Parquet(e.to_string()))?;
        let stats = match parquet_meta::stats(&path, &meta, schema, stats_config) {
            Ok(s) => Some(exact_string_bounds(s, &part, exact_stats)),
            Err(e) => {
                tracing::warn!(path = %path, error = %e, "data file added without stats");
                None
            }
        };
        store
            .put(&object_path(&path), PutPayload::from(bytes))
            .await
            .map_err(|source| WriteError::Store {
                path: path.clone(),
                source,
            })?;
        written.push(WrittenFile {
            rows: part.num_rows(),
            add: crate::write::data_add(
                path,
                partition_columns.iter().cloned().zip(values),
                size,
                modification_time,
                stats,
            ),
        });
    }
    Ok(written)
}

/// Replace the (32-character) bounds of the `columns` that have statistics
/// by their exact minimum and maximum: the Delta protocol allows full
/// values, and `_seq` needs all its 40 digits to prune by.
fn exact_string_bounds(stats: String, batch: &RecordBatch, columns: &[&str]) -> String {
    if columns.is_empty() {
        return stats;
    }
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&stats) else {
        return stats;
    };
    for column in columns {
        let Some(strings) = batch
            .column_by_name(column)
            .and_then(|a| a.as_string_opt::<i32>())
        else {
            continue;
        };
        let bounds = [
            ("minValues", arrow::compute::min_string(strings)),
            ("maxValues", arrow::compute::max_string(strings)),
        ];
        for (key, bound) in bounds {
            if let (Some(bound), Some(map)) =
                (bound, value.get_mut(key).and_then(|m| m.as_object_mut()))
            {
                if map.contains_key(*column) {
                    map.insert(
                        column.to_string(),
                        serde_json::Value::String(bound.to_string()),
                    );
                }
            }
        }
    }
    value.to_string()
}

/// One batch as a Parquet file in memory.
pub fn encode_parquet(batch: &RecordBatch) -> Result<Vec<u8>, WriteError> {
    crate::write::encode_parquet(batch, Compression::SNAPPY)
        .map_err(|e| WriteError::Parquet(e.to_string()))
}

/// A path segment safe everywhere: `[A-Za-z0-9._-]`, at most 64 characters.
fn segment(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out == "." || out == ".." {
        out = format!("_{out}");
    }
    out
}

/// A partition value as Delta serialises it (`None` for null); the types
/// a DynamoDB attribute becomes, other than binary and nested ones.
fn partition_value(
    column: &str,
    array: &dyn Array,
    row: usize,
) -> Result<Option<String>, WriteError> {
    if array.is_null(row) {
        return Ok(None);
    }
    let unsupported = || WriteError::PartitionType {
        column: column.to_string(),
        data_type: array.data_type().to_string(),
    };
    let supported = matches!(
        array.data_type(),
        ArrowType::Utf8
            | ArrowType::LargeUtf8
            | ArrowType::Boolean
            | ArrowType::Int64
            | ArrowType::Int32
            | ArrowType::Int16
            | ArrowType::Int8
            | ArrowType::Float64
            | ArrowType::Decimal128(_, _)
            | ArrowType::Timestamp(TimeUnit::Microsecond, _)
    );
    if !supported {
        return Err(unsupported());
    }
    crate::write::partition_value(array, row).map_err(|_| unsupported())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow_schema::{Field, Schema};
    use deltalake::kernel::{DataType, StructField};
    use object_store::memory::InMemory;

    #[test]
    fn segments_are_safe() {
        assert_eq!(segment("EU/west 1"), "EU_west_1");
        assert_eq!(segment(".."), "_..");
        assert_eq!(segment(""), "_");
        assert_eq!(segment(&"x".repeat(100)).len(), 64);
    }

    #[tokio::test]
    async fn partitioned_files_with_stats() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let schema = StructType::try_new(vec![
            StructField::nullable("id", DataType::LONG),
            StructField::nullable("region", DataType::STRING),
        ])
        .unwrap();
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", ArrowType::Int64, true),
                Field::new("region", ArrowType::Utf8, true),
            ])),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("eu/1"), None, Some("eu/1")])),
            ],
        )
        .unwrap();
        let config = StatsConfig {
            partition_columns: vec!["region".into()],
            ..Default::default()
        };
        let files = write_data_files(
            store.clone(),
            &schema,
            &batch,
            &["region".into()],
            &config,
            &[],
            7,
        )
        .await
        .unwrap();
        assert_eq!(files.len(), 2);
        let eu = files.iter().find(|f| f.rows == 2).unwrap();
        assert!(
            eu.add.path.starts_with("region=eu_1/part-00000-"),
            "{}",
            eu.add.path
        );
        assert_eq!(
            eu.add.partition_values.get("region"),
            Some(&Some("eu/1".to_string()))
        );
        let stats: serde_json::Value =
            serde_json::from_str(eu.add.stats.as_deref().unwrap()).unwrap();
        assert_eq!(stats["numRecords"], 2);
        assert_eq!(stats["minValues"]["id"], 1);
        assert_eq!(stats["maxValues"]["id"], 3);
        let null = files.iter().find(|f| f.rows == 1).unwrap();
        assert!(null
            .add
            .path
            .starts_with("region=__HIVE_DEFAULT_PARTITION__/"));
        assert_eq!(null.add.partition_values.get("region"), Some(&None));
        let head = store.head(&object_path(&eu.add.path)).await.unwrap();
        assert_eq!(head.size as i64, eu.add.size);
    }
}
