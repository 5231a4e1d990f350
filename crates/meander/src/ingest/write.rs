//! Rows -> one Parquet file per partition, and the `add` actions for them.
//!
//! Files are named `part-<uuid>.zstd.parquet` (never overwritten), under
//! Hive-style folders for partitioned tables (`day=2024-05-01/`). Partition
//! columns are not stored in the files. Partition values are written as the
//! Delta protocol serialises them: strings as they are (an empty string is
//! null, as in Hive and Spark), integers in decimal, booleans `true`/`false`,
//! dates `YYYY-MM-DD`, timestamps `YYYY-MM-DD HH:MM:SS.ffffff` (UTC); other
//! partition column types are refused. In folder names the characters Hive
//! escapes (`/ = : % ? # "` ... and control characters) are written `%XX`;
//! null is `__HIVE_DEFAULT_PARTITION__`.
//!
//! `add.stats` come from the written file's footer through
//! [`crate::parquet_meta::stats`], so they follow the table's
//! `delta.dataSkippingNumIndexedCols` / `delta.dataSkippingStatsColumns`.

use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType as ArrowType, TimeUnit};
use deltalake::kernel::{Add, StructType};
use deltalake::{ObjectStore, Path};
use object_store::ObjectStoreExt;
use parquet::basic::{Compression, ZstdLevel};

use crate::parquet_meta::{self, StatsConfig};
use crate::table::HIVE_NULL;
use crate::write::SplitError;

/// Why rows could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("partition column `{0}` is not in the data")]
    MissingPartitionColumn(String),
    #[error(
        "partition column `{column}` has type {data_type}; partition columns must be strings, \
         integers, booleans, dates or timestamps"
    )]
    UnsupportedPartitionType { column: String, data_type: String },
    #[error("cannot encode Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("cannot arrange rows: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("cannot write {path}: {source}")]
    Store {
        path: String,
        #[source]
        source: object_store::Error,
    },
}

/// One encoded data file, not yet stored.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// Key relative to the table root.
    pub relative_key: String,
    /// Partition values in table order.
    pub partition_values: Vec<(String, Option<String>)>,
    pub bytes: bytes::Bytes,
    pub rows: usize,
}

/// Check that every partition column has a type whose values can be
/// serialised (see the module doc).
pub fn check_partition_types(
    schema: &arrow_schema::Schema,
    partition_columns: &[String],
) -> Result<(), WriteError> {
    for column in partition_columns {
        let field = schema
            .field_with_name(column)
            .map_err(|_| WriteError::MissingPartitionColumn(column.clone()))?;
        if !partition_type_supported(field.data_type()) {
            return Err(WriteError::UnsupportedPartitionType {
                column: column.clone(),
                data_type: field.data_type().to_string(),
            });
        }
    }
    Ok(())
}

fn partition_type_supported(t: &ArrowType) -> bool {
    matches!(
        t,
        ArrowType::Utf8
            | ArrowType::LargeUtf8
            | ArrowType::Utf8View
            | ArrowType::Int8
            | ArrowType::Int16
            | ArrowType::Int32
            | ArrowType::Int64
            | ArrowType::Boolean
            | ArrowType::Date32
            | ArrowType::Timestamp(TimeUnit::Microsecond, _)
    )
}

/// The serialised partition value of `array[row]` (an empty string is null).
fn partition_value(array: &dyn Array, row: usize) -> Option<String> {
    crate::write::partition_value(array, row)
        .ok()
        .flatten()
        .filter(|text| !text.is_empty())
}

/// Escape a partition value for a folder name, as Hive does.
pub fn hive_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let escape = c.is_ascii_control()
            || matches!(
                c,
                '"' | '#' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '{' | '[' | ']' | '^'
            );
        if escape {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The folder of a partition: `a=1/b=x/` (empty when unpartitioned).
pub fn partition_folder(values: &[(String, Option<String>)]) -> String {
    values
        .iter()
        .map(|(k, v)| {
            let v = v
                .as_deref()
                .map_or_else(|| HIVE_NULL.to_string(), hive_escape);
            format!("{}={v}/", hive_escape(k))
        })
        .collect()
}

/// Split `batch` by the values of `partition_columns` and encode one file
/// per partition, without the partition columns.
pub fn encode_files(
    batch: &RecordBatch,
    partition_columns: &[String],
) -> Result<Vec<DataFile>, WriteError> {
    check_partition_types(&batch.schema(), partition_columns)?;
    let partitions = crate::write::split_by_partition(batch, partition_columns, |_, a, row| {
        Ok::<_, std::convert::Infallible>(partition_value(a, row))
    })
    .map_err(|e| match e {
        SplitError::MissingColumn(c) => WriteError::MissingPartitionColumn(c),
        SplitError::Arrow(e) => WriteError::Arrow(e),
        SplitError::TooManyRows => WriteError::Arrow(
            arrow::error::ArrowError::InvalidArgumentError("batch too large".into()),
        ),
        SplitError::Value(never) => match never {},
    })?;

    let mut files = Vec::with_capacity(partitions.len());
    for crate::write::Partition {
        values,
        batch: part,
    } in partitions
    {
        let values: Vec<(String, Option<String>)> =
            partition_columns.iter().cloned().zip(values).collect();
        let relative_key = format!(
            "{}part-{}.zstd.parquet",
            partition_folder(&values),
            uuid::Uuid::new_v4()
        );
        files.push(DataFile {
            relative_key,
            partition_values: values,
            rows: part.num_rows(),
            bytes: encode_parquet(&part)?,
        });
    }
    Ok(files)
}

/// One Parquet file (zstd) holding `batch`.
pub fn encode_parquet(batch: &RecordBatch) -> Result<bytes::Bytes, WriteError> {
    let bytes = crate::write::encode_parquet(batch, Compression::ZSTD(ZstdLevel::default()))?;
    Ok(bytes::Bytes::from(bytes))
}

/// Store `files` under the table root, a few at a time.
pub async fn put_files(store: Arc<dyn ObjectStore>, files: &[DataFile]) -> Result<(), WriteError> {
    use futures::{StreamExt, TryStreamExt};
    futures::stream::iter(files)
        .map(|f| {
            let store = store.clone();
            async move {
                let path = Path::parse(&f.relative_key)
                    .unwrap_or_else(|_| Path::from(f.relative_key.as_str()));
                store
                    .put(&path, f.bytes.clone().into())
                    .await
                    .map_err(|source| WriteError::Store {
                        path: f.relative_key.clone(),
                        source,
                    })
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// The `add` action for a stored file, with statistics against the table
/// schema (left out, with a warning, when they cannot be computed).
pub fn add_action(
    file: &DataFile,
    schema: &StructType,
    stats_config: &StatsConfig,
    modification_time: i64,
) -> Add {
    let stats = parquet_meta::decode_metadata(&file.relative_key, &file.bytes)
        .and_then(|meta| parquet_meta::stats(&file.relative_key, &meta, schema, stats_config));
    let stats = match stats {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(file = %file.relative_key, error = %e, "file added without stats");
            None
        }
    };
    // The key as stored: delta-rs percent-encodes `add.path` itself.
    crate::write::data_add(
        file.relative_key.clone(),
        file.partition_values.iter().cloned(),
        file.bytes.len(),
        modification_time,
        stats,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        ArrayRef, BooleanArray, Date32Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use arrow_schema::{Field, Schema};

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("id", ArrowType::Int64, true),
            Field::new("day", ArrowType::Utf8, true),
            Field::new("flag", ArrowType::Boolean, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
                Arc::new(StringArray::from(vec![
                    Some("2024-01-01"),
                    Some("a/b:c"),
                    None,
                    Some("2024-01-01"),
                ])),
                Arc::new(BooleanArray::from(vec![true, false, true, true])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn one_file_per_partition_without_partition_columns() {
        let files = encode_files(&batch(), &["day".to_string()]).unwrap();
        let summary: Vec<(String, usize)> = files
            .iter()
            .map(|f| {
                let folder = f.relative_key.rsplit_once('/').map(|(d, _)| d.to_string());
                (folder.unwrap_or_default(), f.rows)
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("day=__HIVE_DEFAULT_PARTITION__".to_string(), 1),
                ("day=2024-01-01".to_string(), 2),
                ("day=a%2Fb%3Ac".to_string(), 1),
            ]
        );
        assert_eq!(
            files[2].partition_values,
            [("day".into(), Some("a/b:c".into()))]
        );
        assert_eq!(files[0].partition_values, [("day".into(), None)]);
        let meta = parquet_meta::decode_metadata("f", &files[1].bytes).unwrap();
        let names: Vec<String> = meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        assert_eq!(names, ["id", "flag"]);
        assert!(files[1].relative_key.ends_with(".zstd.parquet"));
        assert_ne!(files[0].relative_key, files[1].relative_key);

        let add = add_action(
            &files[2],
            &serde_json::from_value(serde_json::json!({"type": "struct", "fields": [
                {"name": "id", "type": "long", "nullable": true, "metadata": {}},
                {"name": "day", "type": "string", "nullable": true, "metadata": {}},
                {"name": "flag", "type": "boolean", "nullable": true, "metadata": {}}
            ]}))
            .unwrap(),
            &StatsConfig {
                partition_columns: vec!["day".into()],
                ..StatsConfig::default()
            },
            7,
        );
        // `add.path` is the key as stored; delta-rs encodes it in the log.
        assert_eq!(add.path, files[2].relative_key);
        assert!(add.path.starts_with("day=a%2Fb%3Ac/"), "{}", add.path);
        assert_eq!(add.partition_values["day"].as_deref(), Some("a/b:c"));
        let stats: serde_json::Value = serde_json::from_str(add.stats.as_deref().unwrap()).unwrap();
        assert_eq!(stats["numRecords"], 1);
        assert_eq!(stats["minValues"]["id"], 2);
        assert!(stats["minValues"].get("day").is_none());
        assert_eq!(add.size as usize, files[2].bytes.len());
    }

    #[test]
    fn unpartitioned_is_one_file() {
        let files = encode_files(&batch(), &[]).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].rows, 4);
        assert!(files[0].relative_key.starts_with("part-"));
    }

    #[test]
    fn partition_value_formats() {
        let ts: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![1_704_164_645_000_001]).with_timezone("UTC"),
        );
        assert_eq!(
            partition_value(&ts, 0).as_deref(),
            Some("2024-01-02 03:04:05.000001")
        );
        let d: ArrayRef = Arc::new(Date32Array::from(vec![19723]));
        assert_eq!(partition_value(&d, 0).as_deref(), Some("2024-01-01"));
        let e: ArrayRef = Arc::new(StringArray::from(vec![""]));
        assert_eq!(partition_value(&e, 0), None);
        assert_eq!(hive_escape("a b=c%"), "a b%3Dc%25");
        let schema = Schema::new(vec![Field::new("x", ArrowType::Float64, true)]);
        assert!(matches!(
            check_partition_types(&schema, &["x".into()]),
            Err(WriteError::UnsupportedPartitionType { .. })
        ));
        assert!(matches!(
            check_partition_types(&schema, &["y".into()]),
            Err(WriteError::MissingPartitionColumn(_))
        ));
    }
}
