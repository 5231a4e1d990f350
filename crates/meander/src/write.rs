//! What every writer of Delta data files shares: partition values as the
//! Delta protocol serialises them, rows split by those values (one batch per
//! partition, without the partition columns), a batch encoded as Parquet in
//! memory, and the `add` action of a stored file.
//!
//! The writers differ in what is theirs to decide, and keep it: which
//! partition column types they accept, how files and partition folders are
//! named, the compression, how statistics are computed
//! ([`crate::ingest::write`], [`crate::dynamo::write`]).

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{
    DataType as ArrowType, Date32Type, Decimal128Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, TimeUnit, TimestampMicrosecondType,
};
use arrow::error::ArrowError;
use deltalake::kernel::Add;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

/// A value [`partition_value`] cannot serialise: a type it does not know,
/// or a date or timestamp out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unserialisable;

/// `array[row]` as the Delta protocol serialises partition values (`None`
/// for null): strings as they are, integers and floats in decimal, decimals
/// with their scale, booleans `true`/`false`, dates `YYYY-MM-DD`, timestamps
/// (microseconds) `YYYY-MM-DD HH:MM:SS.ffffff`.
pub fn partition_value(array: &dyn Array, row: usize) -> Result<Option<String>, Unserialisable> {
    if array.is_null(row) {
        return Ok(None);
    }
    Ok(Some(match array.data_type() {
        ArrowType::Utf8 => array.as_string::<i32>().value(row).to_string(),
        ArrowType::LargeUtf8 => array.as_string::<i64>().value(row).to_string(),
        ArrowType::Utf8View => array.as_string_view().value(row).to_string(),
        ArrowType::Int8 => array.as_primitive::<Int8Type>().value(row).to_string(),
        ArrowType::Int16 => array.as_primitive::<Int16Type>().value(row).to_string(),
        ArrowType::Int32 => array.as_primitive::<Int32Type>().value(row).to_string(),
        ArrowType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
        ArrowType::Float64 => array.as_primitive::<Float64Type>().value(row).to_string(),
        ArrowType::Decimal128(_, _) => array.as_primitive::<Decimal128Type>().value_as_string(row),
        ArrowType::Boolean => array.as_boolean().value(row).to_string(),
        ArrowType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            chrono::DateTime::from_timestamp(i64::from(days) * 86_400, 0)
                .ok_or(Unserialisable)?
                .format("%Y-%m-%d")
                .to_string()
        }
        ArrowType::Timestamp(TimeUnit::Microsecond, _) => {
            let micros = array.as_primitive::<TimestampMicrosecondType>().value(row);
            chrono::DateTime::from_timestamp_micros(micros)
                .ok_or(Unserialisable)?
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string()
        }
        _ => return Err(Unserialisable),
    }))
}

/// The rows of one partition.
#[derive(Debug, Clone)]
pub struct Partition {
    /// The partition values, in the order of the partition columns.
    pub values: Vec<Option<String>>,
    /// The rows, without the partition columns.
    pub batch: RecordBatch,
}

/// Why rows could not be split by partition.
#[derive(Debug)]
pub enum SplitError<E> {
    /// A partition column is not in the batch.
    MissingColumn(String),
    /// More rows than a `u32` counts.
    TooManyRows,
    /// The value function refused a value.
    Value(E),
    Arrow(ArrowError),
}

/// Split `batch` by the values of `partition_columns` (`value(column,
/// array, row)` gives each), in value order; every partition's batch has
/// the columns of `batch` but the partition columns.
pub fn split_by_partition<E>(
    batch: &RecordBatch,
    partition_columns: &[String],
    mut value: impl FnMut(&str, &dyn Array, usize) -> Result<Option<String>, E>,
) -> Result<Vec<Partition>, SplitError<E>> {
    let mut partition_arrays = Vec::with_capacity(partition_columns.len());
    for column in partition_columns {
        let array = batch
            .column_by_name(column)
            .ok_or_else(|| SplitError::MissingColumn(column.clone()))?;
        partition_arrays.push((column.as_str(), array.clone()));
    }
    let mut groups: BTreeMap<Vec<Option<String>>, Vec<u32>> = BTreeMap::new();
    for row in 0..batch.num_rows() {
        let values = partition_arrays
            .iter()
            .map(|(column, array)| value(column, array.as_ref(), row))
            .collect::<Result<Vec<_>, _>>()
            .map_err(SplitError::Value)?;
        let row = u32::try_from(row).map_err(|_| SplitError::TooManyRows)?;
        groups.entry(values).or_default().push(row);
    }
    // The data columns: everything but the partition columns.
    let keep: Vec<usize> = batch
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !partition_columns.contains(f.name()))
        .map(|(i, _)| i)
        .collect();
    let data = batch.project(&keep).map_err(SplitError::Arrow)?;
    let whole = groups.len() == 1;
    groups
        .into_iter()
        .map(|(values, rows)| {
            let batch = if whole {
                data.clone()
            } else {
                take_record_batch(&data, &UInt32Array::from(rows)).map_err(SplitError::Arrow)?
            };
            Ok(Partition { values, batch })
        })
        .collect()
}

/// One Parquet file in memory holding `batch`.
pub fn encode_parquet(
    batch: &RecordBatch,
    compression: Compression,
) -> Result<Vec<u8>, ParquetError> {
    let props = WriterProperties::builder()
        .set_compression(compression)
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.into_inner()
}

/// The `add` action of a data file stored at `path` (relative to the table
/// root, unencoded: delta-rs percent-encodes `add.path` itself).
pub fn data_add(
    path: String,
    partition_values: impl IntoIterator<Item = (String, Option<String>)>,
    size: usize,
    modification_time: i64,
    stats: Option<String>,
) -> Add {
    Add {
        path,
        partition_values: partition_values.into_iter().collect(),
        size: i64::try_from(size).unwrap_or(i64::MAX),
        modification_time,
        data_change: true,
        stats,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow_schema::{Field, Schema};
    use std::convert::Infallible;
    use std::sync::Arc;

    #[test]
    fn split_groups_rows_and_drops_partition_columns() {
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", ArrowType::Int64, true),
                Field::new("p", ArrowType::Utf8, true),
            ])),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("b"), None, Some("b")])),
            ],
        )
        .unwrap();
        let parts = split_by_partition(&batch, &["p".into()], |_, a, r| {
            Ok::<_, Infallible>(partition_value(a, r).unwrap())
        })
        .unwrap();
        let summary: Vec<_> = parts
            .iter()
            .map(|p| (p.values.clone(), p.batch.num_rows(), p.batch.num_columns()))
            .collect();
        assert_eq!(
            summary,
            [(vec![None], 1, 1), (vec![Some("b".into())], 2, 1)]
        );
        assert!(matches!(
            split_by_partition(&batch, &["q".into()], |_, _, _| Ok::<_, Infallible>(None)),
            Err(SplitError::MissingColumn(c)) if c == "q"
        ));
        assert!(matches!(
            split_by_partition(&batch, &["id".into()], |_, _, _| Err::<Option<String>, _>(
                7
            )),
            Err(SplitError::Value(7))
        ));
    }
}
