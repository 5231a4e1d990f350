//! Parquet footer -> Delta schema and `add.stats`, without reading any data.
//!
//! `oxbow` appends Parquet files that other systems wrote (RDS/Aurora exports,
//! DMS, Spark, pyarrow, ...) to Delta tables. It reads only the file's footer:
//!
//! 1. [`read_metadata`] fetches the footer with ranged reads (usually one GET of
//!    the last 64 KiB; a second one when the footer is larger), [`decode_metadata`]
//!    does the same for a whole file in memory.
//! 2. [`file_schema`] gives the file's Arrow schema, [`delta_schema`] the Delta
//!    schema a table needs to hold it (to be merged with [`crate::schema::merge`]).
//! 3. [`stats`] builds the `add.stats` JSON from the footer's column-chunk
//!    statistics.
//!
//! Every error names the file and says what to do; corrupt, truncated, empty or
//! odd files give an error or "no statistics", never a panic.
//!
//! # Type mapping (Parquet/Arrow -> Delta)
//!
//! | file | Delta |
//! | --- | --- |
//! | int8/16/32/64, float, double, boolean, string, binary, date, decimal(p<=38) | same |
//! | `UINT_8` / `UINT_16` / `UINT_32` | `short` / `integer` / `long` (widened, lossless; Spark reads them the same way) |
//! | `UINT_64` | `decimal(20,0)`: lossless, as Spark maps it; read back by Python `deltalake` (both the pyarrow and the DataFusion path) |
//! | timestamp in any unit, with any time zone or none, and `INT96` | `timestamp` (microseconds, UTC) |
//! | fixed-size binary, UUID | `binary` |
//! | null-typed columns (pyarrow's all-`None` columns) | left out of the table schema, as Delta/Spark do |
//! | float16, time, duration, interval, decimal(p>38), unions | [`ParquetMetaError::UnsupportedType`] naming the column |
//!
//! ## Timestamps without time zone
//!
//! A Parquet `TIMESTAMP(isAdjustedToUTC=false)` (Arrow timestamp without
//! time zone) becomes Delta `timestamp`, **not** `timestamp_ntz`; its wall-clock
//! values are read as UTC instants. Why:
//!
//! - `timestamp_ntz` needs reader version 3 / writer version 7 with the
//!   `timestampNtz` table feature. Athena/Glue and older Spark/Delta readers
//!   cannot read such tables; every reader can read `timestamp`.
//! - `INT96` timestamps (Spark, Hive, Impala) carry no UTC flag although they
//!   are UTC instants by convention; Arrow sees them as "no time zone".
//! - One mapping for all timestamps keeps a table's type stable when writers
//!   differ (a table would otherwise fail to evolve between `timestamp` and
//!   `timestamp_ntz` files).
//! - Readers accept it: Python `deltalake` casts naive values to UTC (checked
//!   with deltalake 1.6 / pyarrow 26), and Spark reads non-adjusted Parquet
//!   timestamps into `timestamp` columns (it refuses only the reverse).
//!
//! Sub-microsecond precision is not representable in Delta: a table column is
//! always microseconds. Files with nanosecond timestamps are still added (oxbow
//! never rewrites data), but Spark 3 cannot read `TIMESTAMP(NANOS)` and
//! pyarrow refuses to truncate values with non-zero nanoseconds;
//! [`timestamp_nanos_columns`] lists such columns so a caller can warn or reject.
//!
//! Field metadata of the file (e.g. `PARQUET:field_id`) is not copied into the
//! Delta schema: it describes the file, not the table, and field ids would
//! make id-based readers ignore files written without them.
//!
//! # Statistics
//!
//! `{"numRecords":N,"minValues":{..},"maxValues":{..},"nullCount":{..}}`, with
//! nested struct fields as nested objects and the **table's** column names.
//! Column selection follows the Delta protocol (and delta-kernel):
//!
//! - partition columns are not in data files and get no statistics, and do not
//!   count against the limit;
//! - `delta.dataSkippingStatsColumns` (see [`StatsConfig`]) selects columns by
//!   name (a struct name selects all its fields) and overrides
//! - `delta.dataSkippingNumIndexedCols`: the first N leaf columns of the table
//!   schema in order, struct fields counted one by one, an array or a map
//!   counting as one leaf; -1 = all, default 32.
//!
//! Values, aggregated over all row groups:
//!
//! - `numRecords` is the footer's row count (checked against the row groups).
//! - `nullCount` for every selected column whose chunks all carry a null count;
//!   for a column the file does not have at all, it is `numRecords` (readers
//!   see nulls). Not for arrays and maps (Parquet counts element nulls, not
//!   row nulls) unless the file has no rows.
//! - `minValues`/`maxValues` only when every row group has trustworthy
//!   statistics for the column (row groups holding only nulls are skipped):
//!   written with the type-defined sort order (or legacy signed statistics of
//!   signed numeric types), not deprecated binary statistics, not `INT96`.
//!   Only for skipping-eligible types: byte/short/integer/long (ints as JSON
//!   numbers), decimals (exact JSON numbers with the column's scale, from
//!   INT32/INT64/FIXED_LEN_BYTE_ARRAY/BINARY), dates (`"YYYY-MM-DD"`),
//!   timestamps (`"2024-01-02T03:04:05.123456Z"`, ms/ns converted; nanosecond
//!   minimums rounded down and maximums up), strings. Never for booleans,
//!   binary, arrays, maps, or `timestamp_ntz` table columns.
//! - Strings: the minimum is cut to its first 32 characters (a prefix is never
//!   larger). A maximum longer than 32 characters is cut to 32 and its last
//!   character incremented (`"abc…"` -> `"abd"`), which is larger than every
//!   string starting with that prefix; when no character can be incremented,
//!   the maximum is left out. Writer-truncated Parquet bounds (`is_exact` false)
//!   are bounds all the same and are used.
//! - Floats and doubles: `minValues` only. Parquet writers leave NaN out of
//!   min/max, and the footer cannot tell whether a NaN is present; Spark and
//!   DataFusion order NaN above every number, so the footer's max is not an
//!   upper bound, while its min is still a lower bound. A min of 0 is written
//!   as -0.0 (the file may hold -0.0).
//! - A column whose spelling in the file differs from the table's only by case
//!   gets no statistics (readers disagree on whether it is the same column;
//!   [`crate::schema::merge`] rejects such files anyway).
//!
//! Column mapping (`delta.columnMapping.mode` name/id) is not handled: the
//! table's logical names are used and matched against the file.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use arrow_schema::{DataType as ArrowType, Field, Fields, Schema, SchemaRef, TimeUnit};
use deltalake::kernel::engine::arrow_conversion::TryFromArrow;
use deltalake::kernel::{DataType, PrimitiveType, StructType};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::basic::{
    ColumnOrder, ConvertedType, LogicalType, SortOrder, TimeUnit as ParquetTimeUnit,
    Type as PhysicalType,
};
use parquet::file::metadata::{KeyValue, ParquetMetaData, ParquetMetaDataReader};
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnDescriptor;

/// Default of `delta.dataSkippingNumIndexedCols`.
pub const DEFAULT_NUM_INDEXED_COLS: i32 = 32;
/// Table property: number of leaf columns that get statistics.
pub const NUM_INDEXED_COLS_KEY: &str = "delta.dataSkippingNumIndexedCols";
/// Table property: comma-separated columns that get statistics.
pub const STATS_COLUMNS_KEY: &str = "delta.dataSkippingStatsColumns";
/// Characters kept of string min/max values, as Delta/Spark do.
pub const STRING_PREFIX_LENGTH: usize = 32;
/// Largest footer accepted (bytes): bigger ones are refused rather than
/// loaded into a Lambda's memory.
pub const MAX_FOOTER_LEN: usize = 64 * 1024 * 1024;

/// Bytes read from the end of the object in the first request: enough for the
/// footer of most files, so that one GET does.
const FOOTER_PREFETCH: u64 = 64 * 1024;
/// Parquet's trailer: 4-byte footer length + magic.
const TAIL_LEN: usize = 8;
/// Leading magic + trailer: the smallest possible Parquet file.
const MIN_FILE_LEN: u64 = 12;
const MAGIC: &[u8; 4] = b"PAR1";
const MAGIC_ENCRYPTED: &[u8; 4] = b"PARE";
const ARROW_SCHEMA_KEY: &str = "ARROW:schema";

/// Errors reading a Parquet footer or deriving schema and statistics from it.
#[derive(Debug, thiserror::Error)]
pub enum ParquetMetaError {
    /// The object could not be read.
    #[error(
        "cannot read {path}: {source}; check that the object still exists and that this function \
         may read it (s3:GetObject), then retry"
    )]
    Io {
        path: String,
        #[source]
        source: object_store::Error,
    },
    /// Not a Parquet file, or a truncated or damaged one.
    #[error(
        "{path} is not a readable Parquet file: {reason}; it may be incomplete or not Parquet at \
         all: re-upload a complete file or remove it"
    )]
    CorruptFooter { path: String, reason: String },
    /// Footer encryption (Parquet modular encryption) is not supported.
    #[error(
        "{path} has an encrypted footer (Parquet modular encryption), which is not supported: \
         write it without footer encryption (S3 server-side encryption is fine)"
    )]
    Encrypted { path: String },
    /// The footer is larger than [`MAX_FOOTER_LEN`].
    #[error(
        "{path} has a {len}-byte footer, more than the {limit} bytes accepted; write the file \
         with fewer row groups or columns"
    )]
    FooterTooLarge {
        path: String,
        len: usize,
        limit: usize,
    },
    /// A column has a type Delta Lake cannot store.
    #[error(
        "{path}: column `{column}` has type {file_type}, which Delta Lake cannot store; cast or \
         drop that column in the writer and upload the file again"
    )]
    UnsupportedType {
        path: String,
        /// Dotted path (`payload.amount`; `element`, `key`, `value` inside lists and maps).
        column: String,
        /// The column's type as read from the file (Arrow notation).
        file_type: String,
    },
    /// The file's schema cannot become a Delta schema (e.g. two columns whose
    /// names differ only by case).
    #[error("{path}: its schema cannot be used for a Delta table: {reason}; fix the writer and upload the file again")]
    UnsupportedSchema { path: String, reason: String },
    /// A statistics table property has a value that cannot be used.
    #[error("table property {key} = {value:?} is invalid: {reason}; fix the table property")]
    InvalidStatsConfig {
        key: &'static str,
        value: String,
        reason: String,
    },
}

fn corrupt(path: &str, reason: impl Into<String>) -> ParquetMetaError {
    ParquetMetaError::CorruptFooter {
        path: path.to_string(),
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------
// Reading the footer
// ---------------------------------------------------------------------------

/// Read the footer of the Parquet object `path` of `size` bytes (the size in
/// the S3 event) with ranged GETs only: one for files whose footer fits in the
/// last 64 KiB, two otherwise. `name` names the file in errors (e.g. its
/// full `s3://` URL; the store path may be relative to a table root).
pub async fn read_metadata(
    store: &dyn ObjectStore,
    path: &Path,
    size: u64,
    name: &str,
) -> Result<Arc<ParquetMetaData>, ParquetMetaError> {
    let name = name.to_string();
    if size < MIN_FILE_LEN {
        return Err(corrupt(
            &name,
            format!("it is {size} bytes long, shorter than the smallest Parquet file ({MIN_FILE_LEN} bytes)"),
        ));
    }
    let start = size.saturating_sub(FOOTER_PREFETCH);
    let suffix = fetch(store, path, &name, start, size).await?;
    let metadata_len = parse_tail(&name, &suffix, size)?;
    let footer_len = (metadata_len + TAIL_LEN) as u64;
    let metadata = if footer_len <= size - start {
        let from = suffix.len() - metadata_len - TAIL_LEN;
        suffix.slice(from..from + metadata_len)
    } else {
        let from = size - footer_len;
        fetch(store, path, &name, from, from + metadata_len as u64).await?
    };
    decode_footer(&name, &metadata)
}

/// A footer read without knowing the object's size.
#[derive(Debug, Clone)]
pub struct Footer {
    pub metadata: Arc<ParquetMetaData>,
    /// The object's size, as the store reported it with the read.
    pub size: u64,
    /// The object's last modification, in ms since the epoch.
    pub last_modified_ms: i64,
}

/// Read the footer of the Parquet object `path` with one suffix GET (a
/// second one only when the footer exceeds 64 KiB), taking the object's size
/// from the response. Unlike [`read_metadata`] it does not trust a size from
/// an event, which is stale when a key was overwritten (a re-upload fixing a
/// broken file, then a replayed event).
pub async fn read_footer(
    store: &dyn ObjectStore,
    path: &Path,
    name: &str,
) -> Result<Footer, ParquetMetaError> {
    let io = |source| ParquetMetaError::Io {
        path: name.to_string(),
        source,
    };
    let result = store
        .get_opts(
            path,
            object_store::GetOptions {
                range: Some(object_store::GetRange::Suffix(FOOTER_PREFETCH)),
                ..Default::default()
            },
        )
        .await
        .map_err(io)?;
    let size = result.meta.size;
    let last_modified_ms = result.meta.last_modified.timestamp_millis();
    let suffix = result.bytes().await.map_err(io)?;
    if size < MIN_FILE_LEN {
        return Err(corrupt(
            name,
            format!("it is {size} bytes long, shorter than the smallest Parquet file ({MIN_FILE_LEN} bytes)"),
        ));
    }
    let metadata_len = parse_tail(name, &suffix, size)?;
    let footer_len = metadata_len + TAIL_LEN;
    let metadata = if footer_len <= suffix.len() {
        let from = suffix.len() - footer_len;
        suffix.slice(from..from + metadata_len)
    } else {
        let from = size - footer_len as u64;
        fetch(store, path, name, from, from + metadata_len as u64).await?
    };
    Ok(Footer {
        metadata: decode_footer(name, &metadata)?,
        size,
        last_modified_ms,
    })
}

/// Ranged reads of one object of known size, for the Parquet async reader
/// (`ParquetRecordBatchStreamBuilder`): footer through [`read_metadata`],
/// column chunks through ranged GETs. Used to read a few columns of a
/// table's files without downloading them whole.
pub struct StoreReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

impl StoreReader {
    pub fn new(store: Arc<dyn ObjectStore>, path: Path, size: u64) -> Self {
        StoreReader { store, path, size }
    }
}

impl parquet::arrow::async_reader::AsyncFileReader for StoreReader {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> futures::future::BoxFuture<'_, parquet::errors::Result<bytes::Bytes>> {
        Box::pin(async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
        })
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a parquet::arrow::arrow_reader::ArrowReaderOptions>,
    ) -> futures::future::BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        Box::pin(async move {
            let name = self.path.to_string();
            read_metadata(self.store.as_ref(), &self.path, self.size, &name)
                .await
                .map_err(|e| parquet::errors::ParquetError::General(e.to_string()))
        })
    }
}

async fn fetch(
    store: &dyn ObjectStore,
    path: &Path,
    name: &str,
    start: u64,
    end: u64,
) -> Result<bytes::Bytes, ParquetMetaError> {
    let bytes = store
        .get_range(path, start..end)
        .await
        .map_err(|source| ParquetMetaError::Io {
            path: name.to_string(),
            source,
        })?;
    if bytes.len() as u64 != end - start {
        return Err(corrupt(
            name,
            format!(
                "reading bytes {start}..{end} returned {} bytes: the object is shorter than the \
                 size given ({end} bytes); it may have been replaced since the event",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

/// Check the 8-byte trailer at the end of `suffix` (the last bytes of a file
/// of `file_len` bytes) and return the length of the Thrift footer.
fn parse_tail(path: &str, suffix: &[u8], file_len: u64) -> Result<usize, ParquetMetaError> {
    let Some(tail) = suffix
        .len()
        .checked_sub(TAIL_LEN)
        .and_then(|at| suffix.get(at..))
    else {
        return Err(corrupt(path, "it is shorter than the Parquet trailer"));
    };
    let (len_bytes, magic) = tail.split_at(4);
    if magic == MAGIC_ENCRYPTED {
        return Err(ParquetMetaError::Encrypted {
            path: path.to_string(),
        });
    }
    if magic != MAGIC {
        return Err(corrupt(
            path,
            "it does not end with the Parquet magic bytes \"PAR1\" (truncated, still being \
             written, or another format)",
        ));
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(len_bytes);
    let metadata_len = u32::from_le_bytes(len) as usize;
    if metadata_len > MAX_FOOTER_LEN {
        return Err(ParquetMetaError::FooterTooLarge {
            path: path.to_string(),
            len: metadata_len,
            limit: MAX_FOOTER_LEN,
        });
    }
    if metadata_len as u64 + MIN_FILE_LEN > file_len {
        return Err(corrupt(
            path,
            format!(
                "its trailer announces a {metadata_len}-byte footer, more than the file's \
                 {file_len} bytes can hold"
            ),
        ));
    }
    if metadata_len == 0 {
        return Err(corrupt(path, "its footer is empty"));
    }
    Ok(metadata_len)
}

/// Decode the footer of a whole Parquet file held in memory (tests, CLI).
/// `path` only names the file in errors.
pub fn decode_metadata(path: &str, bytes: &[u8]) -> Result<Arc<ParquetMetaData>, ParquetMetaError> {
    let len = bytes.len() as u64;
    if len < MIN_FILE_LEN {
        return Err(corrupt(
            path,
            format!("it is {len} bytes long, shorter than the smallest Parquet file ({MIN_FILE_LEN} bytes)"),
        ));
    }
    let metadata_len = parse_tail(path, bytes, len)?;
    if bytes.get(..4) != Some(MAGIC.as_slice())
        && bytes.get(..4) != Some(MAGIC_ENCRYPTED.as_slice())
    {
        return Err(corrupt(
            path,
            "it does not start with the Parquet magic bytes \"PAR1\"",
        ));
    }
    let end = bytes.len() - TAIL_LEN;
    let Some(metadata) = bytes.get(end - metadata_len..end) else {
        return Err(corrupt(path, "its footer lies outside the file"));
    };
    decode_footer(path, metadata)
}

fn decode_footer(path: &str, metadata: &[u8]) -> Result<Arc<ParquetMetaData>, ParquetMetaError> {
    let meta = ParquetMetaDataReader::decode_metadata(metadata)
        .map_err(|e| corrupt(path, format!("its footer cannot be decoded: {e}")))?;
    validate(path, &meta)?;
    Ok(Arc::new(meta))
}

/// Reject footers whose numbers do not add up, so that later steps can rely
/// on them (`numRecords` must be exact: engines answer `count(*)` from it).
fn validate(path: &str, meta: &ParquetMetaData) -> Result<(), ParquetMetaError> {
    let file = meta.file_metadata();
    let num_rows = file.num_rows();
    if num_rows < 0 {
        return Err(corrupt(path, format!("its footer gives {num_rows} rows")));
    }
    let num_columns = file.schema_descr().num_columns();
    if let Some(orders) = file.column_orders() {
        if orders.len() != num_columns {
            return Err(corrupt(
                path,
                format!(
                    "its footer has {} column orders for {num_columns} columns",
                    orders.len()
                ),
            ));
        }
    }
    let mut total: i64 = 0;
    for (i, rg) in meta.row_groups().iter().enumerate() {
        if rg.num_rows() < 0 {
            return Err(corrupt(
                path,
                format!("row group {i} has {} rows", rg.num_rows()),
            ));
        }
        if rg.columns().len() != num_columns {
            return Err(corrupt(
                path,
                format!(
                    "row group {i} has {} column chunks for {num_columns} columns",
                    rg.columns().len()
                ),
            ));
        }
        total = total
            .checked_add(rg.num_rows())
            .ok_or_else(|| corrupt(path, "its row groups' row counts overflow"))?;
    }
    if total != num_rows {
        return Err(corrupt(
            path,
            format!("its footer gives {num_rows} rows but its row groups hold {total}"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------

/// The file's Arrow schema (using the embedded `ARROW:schema` hint when there
/// is a usable one), with every timestamp coerced to microseconds at any
/// depth; time zones are kept as the file has them.
pub fn file_schema(path: &str, meta: &ParquetMetaData) -> Result<SchemaRef, ParquetMetaError> {
    let file = meta.file_metadata();
    let all_kv = file.key_value_metadata();
    // arrow-ipc panics on some well-formed but meaningless hints (an Int of
    // 7 bits, a list without a child...): one hostile file must not abort
    // the process, so a hint is used only once checked.
    let checked: Option<Vec<KeyValue>> = all_kv.and_then(|kv| {
        let hint = kv.iter().find(|e| e.key == ARROW_SCHEMA_KEY)?;
        if arrow_hint_is_safe(hint.value.as_deref().unwrap_or_default()) {
            return None;
        }
        tracing::warn!(path, "ignoring malformed ARROW:schema in Parquet footer");
        Some(
            kv.iter()
                .filter(|e| e.key != ARROW_SCHEMA_KEY)
                .cloned()
                .collect(),
        )
    });
    let kv = match &checked {
        Some(without) => Some(without),
        None => all_kv,
    };
    let schema = match parquet::arrow::parquet_to_arrow_schema(file.schema_descr(), kv) {
        Ok(schema) => schema,
        Err(first) => {
            // A damaged Arrow hint must not make the file unusable: the Parquet
            // schema is authoritative anyway.
            let has_hint = kv.is_some_and(|kv| kv.iter().any(|e| e.key == ARROW_SCHEMA_KEY));
            if !has_hint {
                return Err(ParquetMetaError::UnsupportedSchema {
                    path: path.to_string(),
                    reason: first.to_string(),
                });
            }
            tracing::warn!(path, error = %first, "ignoring unusable ARROW:schema in Parquet footer");
            let without: Vec<KeyValue> = kv
                .into_iter()
                .flatten()
                .filter(|e| e.key != ARROW_SCHEMA_KEY)
                .cloned()
                .collect();
            parquet::arrow::parquet_to_arrow_schema(file.schema_descr(), Some(&without)).map_err(
                |e| ParquetMetaError::UnsupportedSchema {
                    path: path.to_string(),
                    reason: e.to_string(),
                },
            )?
        }
    };
    let fields: Vec<Field> = schema.fields().iter().map(|f| micros_field(f)).collect();
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    )))
}

/// Whether parquet can turn the base64 `ARROW:schema` hint into a schema
/// without reaching one of arrow-ipc's panics: every field's type must be
/// one arrow-ipc converts, with the parameters and children it expects.
/// Unions and run-end encoding (never written for Delta tables) and
/// big-endian schemas are refused; a refused hint is ignored, the Parquet
/// schema being authoritative anyway.
pub fn arrow_hint_is_safe(encoded: &str) -> bool {
    let Ok(bytes) = crate::dynamo::attr::base64_decode(encoded) else {
        return false;
    };
    let slice = if bytes.len() > 8 && bytes.get(0..4) == Some(&[255u8; 4][..]) {
        &bytes[8..]
    } else {
        bytes.as_slice()
    };
    let Ok(message) = arrow_ipc::root_as_message(slice) else {
        // parquet reports this as an error, without panicking.
        return true;
    };
    let Some(schema) = message.header_as_schema() else {
        return true;
    };
    if schema.endianness() == arrow_ipc::Endianness::Big {
        return false;
    }
    let Some(fields) = schema.fields() else {
        return false;
    };
    fields.iter().all(|f| ipc_field_is_safe(&f, 0))
}

fn ipc_int_is_safe(int: Option<arrow_ipc::Int<'_>>) -> bool {
    int.is_some_and(|i| matches!(i.bitWidth(), 8 | 16 | 32 | 64))
}

fn ipc_field_is_safe(field: &arrow_ipc::Field<'_>, depth: usize) -> bool {
    use arrow_ipc::{DateUnit, IntervalUnit, Precision, TimeUnit as IpcUnit, Type};
    if depth > 64 {
        return false;
    }
    if let Some(dictionary) = field.dictionary() {
        if !ipc_int_is_safe(dictionary.indexType()) {
            return false;
        }
    }
    let children_ok = |n: Option<usize>| match field.children() {
        Some(c) => {
            n.is_none_or(|n| c.len() == n) && c.iter().all(|f| ipc_field_is_safe(&f, depth + 1))
        }
        None => n.is_none(),
    };
    let units = [
        IpcUnit::SECOND,
        IpcUnit::MILLISECOND,
        IpcUnit::MICROSECOND,
        IpcUnit::NANOSECOND,
    ];
    match field.type_type() {
        Type::Null
        | Type::Bool
        | Type::Utf8
        | Type::Binary
        | Type::LargeUtf8
        | Type::LargeBinary
        | Type::Utf8View
        | Type::BinaryView => true,
        Type::Int => ipc_int_is_safe(field.type_as_int()),
        Type::FixedSizeBinary => field.type_as_fixed_size_binary().is_some(),
        Type::FloatingPoint => field.type_as_floating_point().is_some_and(|f| {
            matches!(
                f.precision(),
                Precision::HALF | Precision::SINGLE | Precision::DOUBLE
            )
        }),
        Type::Date => field
            .type_as_date()
            .is_some_and(|d| matches!(d.unit(), DateUnit::DAY | DateUnit::MILLISECOND)),
        Type::Time => field.type_as_time().is_some_and(|t| {
            matches!(
                (t.bitWidth(), t.unit()),
                (32, IpcUnit::SECOND)
                    | (32, IpcUnit::MILLISECOND)
                    | (64, IpcUnit::MICROSECOND)
                    | (64, IpcUnit::NANOSECOND)
            )
        }),
        Type::Timestamp => field
            .type_as_timestamp()
            .is_some_and(|t| units.contains(&t.unit())),
        Type::Duration => field
            .type_as_duration()
            .is_some_and(|d| units.contains(&d.unit())),
        Type::Interval => field.type_as_interval().is_some_and(|i| {
            matches!(
                i.unit(),
                IntervalUnit::YEAR_MONTH | IntervalUnit::DAY_TIME | IntervalUnit::MONTH_DAY_NANO
            )
        }),
        Type::List | Type::LargeList | Type::ListView | Type::LargeListView => children_ok(Some(1)),
        Type::FixedSizeList => field.type_as_fixed_size_list().is_some() && children_ok(Some(1)),
        Type::Map => field.type_as_map().is_some() && children_ok(Some(1)),
        Type::Struct_ => children_ok(None),
        Type::Decimal => field.type_as_decimal().is_some_and(|d| {
            matches!(d.bitWidth(), 32 | 64 | 128 | 256)
                && u8::try_from(d.precision()).is_ok()
                && i8::try_from(d.scale()).is_ok()
        }),
        _ => false,
    }
}

fn micros_field(field: &Field) -> Field {
    field.clone().with_data_type(micros_type(field.data_type()))
}

fn micros_type(data_type: &ArrowType) -> ArrowType {
    let fields = |fs: &Fields| -> Fields { fs.iter().map(|f| micros_field(f)).collect() };
    match data_type {
        ArrowType::Timestamp(_, tz) => ArrowType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        ArrowType::Struct(fs) => ArrowType::Struct(fields(fs)),
        ArrowType::List(f) => ArrowType::List(Arc::new(micros_field(f))),
        ArrowType::LargeList(f) => ArrowType::LargeList(Arc::new(micros_field(f))),
        ArrowType::ListView(f) => ArrowType::ListView(Arc::new(micros_field(f))),
        ArrowType::LargeListView(f) => ArrowType::LargeListView(Arc::new(micros_field(f))),
        ArrowType::FixedSizeList(f, n) => ArrowType::FixedSizeList(Arc::new(micros_field(f)), *n),
        ArrowType::Map(f, sorted) => ArrowType::Map(Arc::new(micros_field(f)), *sorted),
        ArrowType::Dictionary(k, v) => ArrowType::Dictionary(k.clone(), Box::new(micros_type(v))),
        other => other.clone(),
    }
}

/// Paths (dotted) of the file's columns stored as nanosecond timestamps:
/// readable by delta-rs, but not by Spark 3, and by pyarrow only when no value
/// has sub-microsecond digits. See the module doc.
pub fn timestamp_nanos_columns(meta: &ParquetMetaData) -> Vec<String> {
    meta.file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .filter(|c| {
            matches!(
                c.logical_type_ref(),
                Some(LogicalType::Timestamp(t)) if t.unit == ParquetTimeUnit::NANOS
            )
        })
        .map(|c| c.path().string())
        .collect()
}

/// The Delta schema for an Arrow schema (usually [`file_schema`]'s), by the
/// mapping in the module doc, through delta-kernel's Arrow conversion.
/// `path` only names the file in errors.
pub fn delta_schema(path: &str, schema: &Schema) -> Result<StructType, ParquetMetaError> {
    let mut fields = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        if let Some(f) = delta_field(path, field, field.name())? {
            fields.push(f);
        }
    }
    StructType::try_from_arrow(&Schema::new(fields)).map_err(|e| {
        ParquetMetaError::UnsupportedSchema {
            path: path.to_string(),
            reason: e.to_string(),
        }
    })
}

/// The field with its type mapped for Delta and no metadata; `None` to leave
/// it out (null-typed).
fn delta_field(path: &str, field: &Field, column: &str) -> Result<Option<Field>, ParquetMetaError> {
    Ok(delta_type(path, field.data_type(), column)?
        .map(|t| Field::new(field.name(), t, field.is_nullable())))
}

fn delta_type(
    path: &str,
    data_type: &ArrowType,
    column: &str,
) -> Result<Option<ArrowType>, ParquetMetaError> {
    let unsupported = || ParquetMetaError::UnsupportedType {
        path: path.to_string(),
        column: column.to_string(),
        file_type: data_type.to_string(),
    };
    let list = |element: &Field| -> Result<Option<ArrowType>, ParquetMetaError> {
        let column = format!("{column}.element");
        Ok(delta_type(path, element.data_type(), &column)?
            .map(|t| ArrowType::List(Arc::new(Field::new("element", t, element.is_nullable())))))
    };
    let decimal = |precision: u8, scale: i8| {
        if scale < 0 || precision == 0 || precision > 38 || scale as u8 > precision {
            Err(unsupported())
        } else {
            Ok(Some(ArrowType::Decimal128(precision, scale)))
        }
    };
    use ArrowType as A;
    match data_type {
        A::Null => Ok(None),
        A::Boolean
        | A::Int8
        | A::Int16
        | A::Int32
        | A::Int64
        | A::Float32
        | A::Float64
        | A::Utf8
        | A::LargeUtf8
        | A::Utf8View
        | A::Binary
        | A::LargeBinary
        | A::BinaryView
        | A::FixedSizeBinary(_)
        | A::Date32
        | A::Date64 => Ok(Some(data_type.clone())),
        A::UInt8 => Ok(Some(A::Int16)),
        A::UInt16 => Ok(Some(A::Int32)),
        A::UInt32 => Ok(Some(A::Int64)),
        A::UInt64 => Ok(Some(A::Decimal128(20, 0))),
        A::Decimal32(p, s) | A::Decimal64(p, s) | A::Decimal128(p, s) | A::Decimal256(p, s) => {
            decimal(*p, *s)
        }
        A::Timestamp(_, _) => Ok(Some(A::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into()),
        ))),
        A::Struct(children) => {
            let mut out = Vec::with_capacity(children.len());
            for child in children {
                let column = format!("{column}.{}", child.name());
                if let Some(f) = delta_field(path, child, &column)? {
                    out.push(f);
                }
            }
            // A struct left without fields (all null-typed) is left out too.
            Ok((!out.is_empty()).then(|| A::Struct(out.into())))
        }
        A::List(e) | A::LargeList(e) | A::ListView(e) | A::LargeListView(e) => list(e),
        A::FixedSizeList(e, _) => list(e),
        A::Map(entries, _) => {
            let A::Struct(kv) = entries.data_type() else {
                return Err(unsupported());
            };
            let (Some(k), Some(v), 2) = (kv.first(), kv.get(1), kv.len()) else {
                return Err(unsupported());
            };
            let key = delta_type(path, k.data_type(), &format!("{column}.key"))?;
            let value = delta_type(path, v.data_type(), &format!("{column}.value"))?;
            let (Some(key), Some(value)) = (key, value) else {
                return Ok(None);
            };
            let entries = Field::new(
                "key_value",
                A::Struct(
                    vec![
                        Field::new("key", key, false),
                        Field::new("value", value, v.is_nullable()),
                    ]
                    .into(),
                ),
                false,
            );
            Ok(Some(A::Map(Arc::new(entries), false)))
        }
        A::Dictionary(_, value) => delta_type(path, value, column),
        _ => Err(unsupported()),
    }
}

// ---------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------

/// Which columns get statistics: the table's data-skipping properties and its
/// partition columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsConfig {
    /// `delta.dataSkippingNumIndexedCols`: first N leaf columns, -1 = all.
    pub num_indexed_cols: i32,
    /// `delta.dataSkippingStatsColumns`, one column per entry (`a`, `a.b`,
    /// `` `a.b`.c `` for names containing dots). Overrides `num_indexed_cols`.
    pub stats_columns: Option<Vec<String>>,
    /// The table's partition columns: no statistics, not counted.
    pub partition_columns: Vec<String>,
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self {
            num_indexed_cols: DEFAULT_NUM_INDEXED_COLS,
            stats_columns: None,
            partition_columns: Vec::new(),
        }
    }
}

impl StatsConfig {
    /// From a table's `metaData.configuration` and partition columns.
    pub fn from_table(
        configuration: &HashMap<String, String>,
        partition_columns: &[String],
    ) -> Result<Self, ParquetMetaError> {
        let num_indexed_cols = match configuration.get(NUM_INDEXED_COLS_KEY) {
            None => DEFAULT_NUM_INDEXED_COLS,
            Some(v) => match v.trim().parse::<i32>() {
                Ok(n) if n >= -1 => n,
                _ => {
                    return Err(ParquetMetaError::InvalidStatsConfig {
                        key: NUM_INDEXED_COLS_KEY,
                        value: v.clone(),
                        reason: "expected an integer >= -1".into(),
                    })
                }
            },
        };
        let stats_columns = match configuration.get(STATS_COLUMNS_KEY) {
            None => None,
            Some(v) => {
                let columns = split_column_list(v).map_err(|reason| {
                    ParquetMetaError::InvalidStatsConfig {
                        key: STATS_COLUMNS_KEY,
                        value: v.clone(),
                        reason,
                    }
                })?;
                Some(columns)
            }
        };
        Ok(Self {
            num_indexed_cols,
            stats_columns,
            partition_columns: partition_columns.to_vec(),
        })
    }
}

/// Split a comma-separated column list (backticks quote commas and dots).
fn split_column_list(value: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '`' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => {
                out.push(std::mem::take(&mut current));
            }
            _ => current.push(c),
        }
    }
    if quoted {
        return Err("unbalanced backtick".into());
    }
    out.push(current);
    let out: Vec<String> = out
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    for column in &out {
        parse_column_path(column)?;
    }
    Ok(out)
}

/// `a.b` -> [a, b]; `` `a.b`.c `` -> [a.b, c]; ``` `` ``` inside backticks is a backtick.
fn parse_column_path(name: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = name.trim().chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '`' if quoted && chars.peek() == Some(&'`') => {
                chars.next();
                current.push('`');
            }
            '`' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if quoted {
        return Err(format!("unbalanced backtick in column {name:?}"));
    }
    parts.push(current);
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("empty name part in column {name:?}"));
    }
    Ok(parts)
}

/// The `add.stats` JSON for a file with footer `meta`, for table schema
/// `schema` (after merging the file's schema: statistics use the table's
/// names and types). See the module doc for the rules. `path` only names the
/// file in errors.
pub fn stats(
    path: &str,
    meta: &ParquetMetaData,
    schema: &StructType,
    config: &StatsConfig,
) -> Result<String, ParquetMetaError> {
    if config.num_indexed_cols < -1 {
        return Err(ParquetMetaError::InvalidStatsConfig {
            key: NUM_INDEXED_COLS_KEY,
            value: config.num_indexed_cols.to_string(),
            reason: "expected an integer >= -1".into(),
        });
    }
    let stats_columns = match &config.stats_columns {
        None => None,
        Some(columns) => Some(
            columns
                .iter()
                .map(|c| {
                    parse_column_path(c)
                        .map(|parts| parts.iter().map(|p| p.to_lowercase()).collect::<Vec<_>>())
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|reason| ParquetMetaError::InvalidStatsConfig {
                    key: STATS_COLUMNS_KEY,
                    value: columns.join(","),
                    reason,
                })?,
        ),
    };
    let partitions: HashSet<String> = config
        .partition_columns
        .iter()
        .map(|c| c.to_lowercase())
        .collect();

    // The table's leaf columns, in schema order, that get statistics.
    let mut leaves = Vec::new();
    collect_leaves(schema, &mut Vec::new(), &partitions, &mut leaves);
    let leaves: Vec<(Vec<String>, &DataType)> = match &stats_columns {
        Some(selected) => leaves
            .into_iter()
            .filter(|(leaf, _)| {
                let lower: Vec<String> = leaf.iter().map(|p| p.to_lowercase()).collect();
                selected.iter().any(|s| lower.starts_with(s))
            })
            .collect(),
        None if config.num_indexed_cols < 0 => leaves,
        None => leaves
            .into_iter()
            .take(config.num_indexed_cols as usize)
            .collect(),
    };

    let num_records = meta.file_metadata().num_rows();
    tracing::debug!(
        path,
        columns = leaves.len(),
        num_records,
        "statistics from footer"
    );
    let columns = FileColumns::new(meta);
    let mut min_values = JsonObject::default();
    let mut max_values = JsonObject::default();
    let mut null_count = JsonObject::default();
    for (leaf, data_type) in &leaves {
        if num_records == 0 {
            // Vacuously exact, whatever the footer holds.
            null_count.insert(leaf, "0".into());
            continue;
        }
        match columns.find(leaf) {
            Lookup::Missing => null_count.insert(leaf, num_records.to_string()),
            Lookup::Ambiguous => {}
            Lookup::Found(idx) => {
                let s = column_stats(meta, idx, data_type);
                if let Some(n) = s.null_count {
                    null_count.insert(leaf, n.to_string());
                }
                if let Some(v) = s.min {
                    min_values.insert(leaf, v);
                }
                if let Some(v) = s.max {
                    max_values.insert(leaf, v);
                }
            }
        }
    }
    let mut out = String::with_capacity(256);
    let _ = write!(out, "{{\"numRecords\":{num_records},\"minValues\":");
    min_values.write(&mut out);
    out.push_str(",\"maxValues\":");
    max_values.write(&mut out);
    out.push_str(",\"nullCount\":");
    null_count.write(&mut out);
    out.push('}');
    Ok(out)
}

/// Leaf columns of the table schema: struct fields are descended into, every
/// other type (primitive, array, map, variant) is one leaf.
fn collect_leaves<'a>(
    schema: &'a StructType,
    prefix: &mut Vec<String>,
    partitions: &HashSet<String>,
    out: &mut Vec<(Vec<String>, &'a DataType)>,
) {
    for field in schema.fields() {
        if prefix.is_empty() && partitions.contains(&field.name().to_lowercase()) {
            continue;
        }
        prefix.push(field.name().clone());
        match field.data_type() {
            DataType::Struct(inner) => collect_leaves(inner, prefix, partitions, out),
            other => out.push((prefix.clone(), other)),
        }
        prefix.pop();
    }
}

enum Lookup {
    /// The file's leaf column with exactly this path, outside lists and maps.
    Found(usize),
    /// The file has no column at this path, in any spelling: readers see nulls.
    Missing,
    /// Present only in another spelling, or not as a plain leaf.
    Ambiguous,
}

/// Index of the file's columns by path.
struct FileColumns {
    leaves: HashMap<Vec<String>, usize>,
    prefixes: HashSet<Vec<String>>,
    lower_prefixes: HashSet<Vec<String>>,
}

impl FileColumns {
    fn new(meta: &ParquetMetaData) -> Self {
        let mut leaves = HashMap::new();
        let mut prefixes = HashSet::new();
        let mut lower_prefixes = HashSet::new();
        for (idx, col) in meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .enumerate()
        {
            let parts = col.path().parts();
            if col.max_rep_level() == 0 {
                leaves.insert(parts.to_vec(), idx);
            }
            for n in 1..=parts.len() {
                let prefix = &parts[..n];
                prefixes.insert(prefix.to_vec());
                lower_prefixes.insert(prefix.iter().map(|p| p.to_lowercase()).collect());
            }
        }
        Self {
            leaves,
            prefixes,
            lower_prefixes,
        }
    }

    fn find(&self, leaf: &[String]) -> Lookup {
        if let Some(idx) = self.leaves.get(leaf) {
            return Lookup::Found(*idx);
        }
        // Walk down the path: the first level the file lacks in every
        // spelling means the column is missing; one present only in another
        // spelling, or a leaf that is no plain column, is ambiguous.
        for n in 1..=leaf.len() {
            let prefix = &leaf[..n];
            if self.prefixes.contains(prefix) {
                continue;
            }
            let lower: Vec<String> = prefix.iter().map(|p| p.to_lowercase()).collect();
            return if self.lower_prefixes.contains(&lower) {
                Lookup::Ambiguous
            } else {
                Lookup::Missing
            };
        }
        Lookup::Ambiguous
    }
}

/// Statistics of one leaf column, as JSON values.
#[derive(Debug, Default, PartialEq)]
struct ColumnStats {
    null_count: Option<u64>,
    min: Option<String>,
    max: Option<String>,
}

/// How a column's min/max become Delta statistics values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// byte/short/integer/long from INT32/INT64 (unsigned ones reinterpreted).
    Int {
        unsigned: bool,
        lo: i128,
        hi: i128,
    },
    /// decimal(20,0) from UINT_64.
    UInt64,
    /// decimal(p,s) from INT32/INT64/FIXED_LEN_BYTE_ARRAY/BYTE_ARRAY.
    Decimal {
        precision: u8,
        scale: u8,
    },
    /// float/double: min only (see module doc).
    Float,
    Date,
    Timestamp(ParquetTimeUnit),
    Str,
}

/// A bound in a comparable form.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Bound {
    Int(i128),
    Float(f64),
    Bytes(Vec<u8>),
}

fn stat_kind(data_type: &DataType, col: &ColumnDescriptor) -> Option<Kind> {
    let DataType::Primitive(p) = data_type else {
        return None;
    };
    let physical = col.physical_type();
    let logical = col.logical_type_ref();
    let converted = col.converted_type();
    // Some(unsigned) for a plain integer column.
    let integer = || -> Option<bool> {
        match logical {
            Some(LogicalType::Integer(t)) => Some(!t.is_signed),
            Some(_) => None,
            None => match converted {
                ConvertedType::NONE
                | ConvertedType::INT_8
                | ConvertedType::INT_16
                | ConvertedType::INT_32
                | ConvertedType::INT_64 => Some(false),
                ConvertedType::UINT_8
                | ConvertedType::UINT_16
                | ConvertedType::UINT_32
                | ConvertedType::UINT_64 => Some(true),
                _ => None,
            },
        }
    };
    let int_kind = |lo: i128, hi: i128| -> Option<Kind> {
        let unsigned = integer()?;
        match physical {
            PhysicalType::INT32 => Some(Kind::Int { unsigned, lo, hi }),
            PhysicalType::INT64 if !unsigned => Some(Kind::Int { unsigned, lo, hi }),
            _ => None,
        }
    };
    match p {
        PrimitiveType::Byte => int_kind(i8::MIN.into(), i8::MAX.into()),
        PrimitiveType::Short => int_kind(i16::MIN.into(), i16::MAX.into()),
        PrimitiveType::Integer => int_kind(i32::MIN.into(), i32::MAX.into()),
        PrimitiveType::Long => int_kind(i64::MIN.into(), i64::MAX.into()),
        PrimitiveType::Decimal(d) => {
            let file_scale = match (logical, converted) {
                (Some(LogicalType::Decimal(t)), _) => Some(t.scale),
                (None, ConvertedType::DECIMAL) => Some(col.type_scale()),
                _ => None,
            };
            match file_scale {
                Some(scale)
                    if scale == i32::from(d.scale())
                        && matches!(
                            physical,
                            PhysicalType::INT32
                                | PhysicalType::INT64
                                | PhysicalType::FIXED_LEN_BYTE_ARRAY
                                | PhysicalType::BYTE_ARRAY
                        ) =>
                {
                    Some(Kind::Decimal {
                        precision: d.precision(),
                        scale: d.scale(),
                    })
                }
                Some(_) => None,
                None if d.scale() == 0
                    && d.precision() >= 20
                    && physical == PhysicalType::INT64
                    && integer() == Some(true) =>
                {
                    Some(Kind::UInt64)
                }
                None => None,
            }
        }
        PrimitiveType::Float => {
            (physical == PhysicalType::FLOAT && logical.is_none()).then_some(Kind::Float)
        }
        PrimitiveType::Double => (matches!(physical, PhysicalType::FLOAT | PhysicalType::DOUBLE)
            && logical.is_none())
        .then_some(Kind::Float),
        PrimitiveType::Date => (physical == PhysicalType::INT32
            && (matches!(logical, Some(LogicalType::Date))
                || (logical.is_none() && converted == ConvertedType::DATE)))
            .then_some(Kind::Date),
        PrimitiveType::Timestamp => {
            if physical != PhysicalType::INT64 {
                return None;
            }
            match (logical, converted) {
                (Some(LogicalType::Timestamp(t)), _) => Some(Kind::Timestamp(t.unit)),
                (None, ConvertedType::TIMESTAMP_MILLIS) => {
                    Some(Kind::Timestamp(ParquetTimeUnit::MILLIS))
                }
                (None, ConvertedType::TIMESTAMP_MICROS) => {
                    Some(Kind::Timestamp(ParquetTimeUnit::MICROS))
                }
                _ => None,
            }
        }
        PrimitiveType::String => {
            let text = matches!(
                logical,
                None | Some(LogicalType::String | LogicalType::Enum | LogicalType::Json)
            ) && matches!(
                converted,
                ConvertedType::NONE
                    | ConvertedType::UTF8
                    | ConvertedType::ENUM
                    | ConvertedType::JSON
            );
            (physical == PhysicalType::BYTE_ARRAY && text).then_some(Kind::Str)
        }
        // Not eligible for min/max: boolean, binary, timestamp_ntz, ...
        _ => None,
    }
}

/// May the chunk's min/max be used? They must be ordered the way the column's
/// type defines; legacy (deprecated or unordered) statistics only for signed
/// numeric physical types, whose legacy signed order is the right one.
fn min_max_trusted(stats: &Statistics, col: &ColumnDescriptor, order: Option<ColumnOrder>) -> bool {
    let expected = ColumnOrder::sort_order_for_type(
        col.logical_type_ref(),
        col.converted_type(),
        col.physical_type(),
    );
    if expected == SortOrder::UNDEFINED {
        return false;
    }
    let legacy_ok = expected == SortOrder::SIGNED
        && matches!(
            col.physical_type(),
            PhysicalType::INT32 | PhysicalType::INT64 | PhysicalType::FLOAT | PhysicalType::DOUBLE
        );
    if stats.is_min_max_deprecated() {
        return legacy_ok;
    }
    match order {
        Some(ColumnOrder::TYPE_DEFINED_ORDER(_)) => true,
        Some(ColumnOrder::UNDEFINED) | None => legacy_ok,
        Some(ColumnOrder::UNKNOWN) => false,
    }
}

fn column_stats(meta: &ParquetMetaData, idx: usize, data_type: &DataType) -> ColumnStats {
    let Some(col) = meta.file_metadata().schema_descr().columns().get(idx) else {
        return ColumnStats::default();
    };
    let order = meta
        .file_metadata()
        .column_orders()
        .and_then(|orders| orders.get(idx))
        .copied();
    let kind = stat_kind(data_type, col);

    let mut null_count: Option<u64> = Some(0);
    let mut min: Option<Bound> = None;
    let mut max: Option<Bound> = None;
    let mut min_ok = kind.is_some();
    let mut max_ok = kind.is_some() && kind != Some(Kind::Float);

    for rg in meta.row_groups() {
        let Some(chunk) = rg.columns().get(idx) else {
            return ColumnStats::default();
        };
        let Some(stats) = chunk.statistics() else {
            return ColumnStats::default();
        };
        let chunk_nulls = stats.null_count_opt();
        let num_values = u64::try_from(chunk.num_values()).ok();
        null_count = match (null_count, chunk_nulls, num_values) {
            (Some(total), Some(n), Some(values)) if n <= values => total.checked_add(n),
            _ => None,
        };
        let (Some(kind), true) = (kind, min_ok || max_ok) else {
            continue;
        };
        let has_min = stats.min_bytes_opt().is_some();
        let has_max = stats.max_bytes_opt().is_some();
        if !has_min && !has_max && chunk_nulls.is_some() && chunk_nulls == num_values {
            // Only nulls in this row group: nothing to bound.
            continue;
        }
        if !min_max_trusted(stats, col, order) {
            min_ok = false;
            max_ok = false;
            continue;
        }
        if min_ok {
            match (bound(stats, kind, col.type_length(), Side::Min), &min) {
                (None, _) => min_ok = false,
                (Some(b), None) => min = Some(b),
                (Some(b), Some(m)) => match b.partial_cmp(m) {
                    Some(std::cmp::Ordering::Less) => min = Some(b),
                    Some(_) => {}
                    None => min_ok = false,
                },
            }
        }
        if max_ok {
            match (bound(stats, kind, col.type_length(), Side::Max), &max) {
                (None, _) => max_ok = false,
                (Some(b), None) => max = Some(b),
                (Some(b), Some(m)) => match b.partial_cmp(m) {
                    Some(std::cmp::Ordering::Greater) => max = Some(b),
                    Some(_) => {}
                    None => max_ok = false,
                },
            }
        }
    }
    let kind = match kind {
        Some(kind) => kind,
        None => {
            return ColumnStats {
                null_count,
                ..Default::default()
            }
        }
    };
    ColumnStats {
        null_count,
        min: min
            .filter(|_| min_ok)
            .and_then(|b| to_json(b, kind, Side::Min)),
        max: max
            .filter(|_| max_ok)
            .and_then(|b| to_json(b, kind, Side::Max)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Min,
    Max,
}

/// The chunk's min or max as a comparable bound in the Delta column's terms.
fn bound(stats: &Statistics, kind: Kind, type_length: i32, side: Side) -> Option<Bound> {
    fn pick<T: Clone>(min: Option<&T>, max: Option<&T>, side: Side) -> Option<T> {
        match side {
            Side::Min => min.cloned(),
            Side::Max => max.cloned(),
        }
    }
    match (kind, stats) {
        (Kind::Int { unsigned, .. }, Statistics::Int32(s)) => {
            let v = pick(s.min_opt(), s.max_opt(), side)?;
            Some(Bound::Int(if unsigned {
                i128::from(v as u32)
            } else {
                i128::from(v)
            }))
        }
        (
            Kind::Int {
                unsigned: false, ..
            },
            Statistics::Int64(s),
        ) => Some(Bound::Int(i128::from(pick(
            s.min_opt(),
            s.max_opt(),
            side,
        )?))),
        (Kind::UInt64, Statistics::Int64(s)) => {
            Some(Bound::Int(i128::from(
                pick(s.min_opt(), s.max_opt(), side)? as u64,
            )))
        }
        (Kind::Decimal { .. }, Statistics::Int32(s)) => Some(Bound::Int(i128::from(pick(
            s.min_opt(),
            s.max_opt(),
            side,
        )?))),
        (Kind::Decimal { .. }, Statistics::Int64(s)) => Some(Bound::Int(i128::from(pick(
            s.min_opt(),
            s.max_opt(),
            side,
        )?))),
        (Kind::Decimal { .. }, Statistics::FixedLenByteArray(_) | Statistics::ByteArray(_)) => {
            let bytes = match side {
                Side::Min => stats.min_bytes_opt()?,
                Side::Max => stats.max_bytes_opt()?,
            };
            // A truncated decimal bound would be a different number, not a
            // looser bound. Fixed-size ones must have their full size;
            // variable-size ones are trusted only when flagged exact.
            let whole = match stats {
                Statistics::FixedLenByteArray(_) => {
                    usize::try_from(type_length).is_ok_and(|len| len == bytes.len())
                }
                _ => match side {
                    Side::Min => stats.min_is_exact(),
                    Side::Max => stats.max_is_exact(),
                },
            };
            if !whole {
                return None;
            }
            be_i128(bytes).map(Bound::Int)
        }
        (Kind::Float, Statistics::Float(s)) => {
            let v = f64::from(pick(s.min_opt(), s.max_opt(), side)?);
            (!v.is_nan()).then_some(Bound::Float(v))
        }
        (Kind::Float, Statistics::Double(s)) => {
            let v = pick(s.min_opt(), s.max_opt(), side)?;
            (!v.is_nan()).then_some(Bound::Float(v))
        }
        (Kind::Date, Statistics::Int32(s)) => Some(Bound::Int(i128::from(pick(
            s.min_opt(),
            s.max_opt(),
            side,
        )?))),
        (Kind::Timestamp(unit), Statistics::Int64(s)) => {
            let v = i128::from(pick(s.min_opt(), s.max_opt(), side)?);
            let micros = match unit {
                ParquetTimeUnit::MILLIS => v * 1000,
                ParquetTimeUnit::MICROS => v,
                ParquetTimeUnit::NANOS => match side {
                    Side::Min => v.div_euclid(1000),
                    Side::Max => -((-v).div_euclid(1000)),
                },
            };
            Some(Bound::Int(micros))
        }
        (Kind::Str, Statistics::ByteArray(_)) => {
            let bytes = match side {
                Side::Min => stats.min_bytes_opt()?,
                Side::Max => stats.max_bytes_opt()?,
            };
            Some(Bound::Bytes(bytes.to_vec()))
        }
        _ => None,
    }
}

/// Big-endian two's complement bytes (at most 16 significant) -> i128.
fn be_i128(bytes: &[u8]) -> Option<i128> {
    let first = *bytes.first()?;
    let negative = first & 0x80 != 0;
    let fill = if negative { 0xFF } else { 0x00 };
    // Drop redundant sign-extension bytes beyond 16.
    let mut b = bytes;
    while b.len() > 16 {
        let (head, rest) = b.split_first()?;
        if *head != fill || rest.first().is_none_or(|n| (n & 0x80 != 0) != negative) {
            return None;
        }
        b = rest;
    }
    let mut buf = [fill; 16];
    buf[16 - b.len()..].copy_from_slice(b);
    Some(i128::from_be_bytes(buf))
}

fn to_json(bound: Bound, kind: Kind, side: Side) -> Option<String> {
    match (kind, bound) {
        (Kind::Int { lo, hi, .. }, Bound::Int(v)) => (lo..=hi).contains(&v).then(|| v.to_string()),
        (Kind::UInt64, Bound::Int(v)) => (0..=i128::from(u64::MAX))
            .contains(&v)
            .then(|| v.to_string()),
        (Kind::Decimal { precision, scale }, Bound::Int(v)) => {
            let limit = 10i128.checked_pow(u32::from(precision))?;
            (v.abs() < limit).then(|| format_decimal(v, scale))
        }
        (Kind::Float, Bound::Float(v)) => {
            let v = if v == 0.0 && side == Side::Min {
                -0.0
            } else {
                v
            };
            serde_json::Number::from_f64(v).map(|n| n.to_string())
        }
        (Kind::Date, Bound::Int(days)) => {
            let days = i32::try_from(days).ok()?;
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
            let date = epoch.checked_add_signed(chrono::TimeDelta::try_days(days.into())?)?;
            use chrono::Datelike;
            (1..=9999)
                .contains(&date.year())
                .then(|| format!("\"{}\"", date.format("%Y-%m-%d")))
        }
        (Kind::Timestamp(_), Bound::Int(micros)) => {
            let micros = i64::try_from(micros).ok()?;
            let ts = chrono::DateTime::from_timestamp_micros(micros)?;
            use chrono::Datelike;
            (1..=9999)
                .contains(&ts.year())
                .then(|| format!("\"{}\"", ts.format("%Y-%m-%dT%H:%M:%S%.6fZ")))
        }
        (Kind::Str, Bound::Bytes(bytes)) => {
            let s = match side {
                Side::Min => string_lower_bound(&bytes),
                Side::Max => string_upper_bound(&bytes)?,
            };
            serde_json::to_string(&s).ok()
        }
        _ => None,
    }
}

/// Exact decimal text of `unscaled * 10^-scale`.
fn format_decimal(unscaled: i128, scale: u8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let scale = usize::from(scale);
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let digits = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = digits.split_at(digits.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// The longest valid UTF-8 prefix of `bytes`, cut to [`STRING_PREFIX_LENGTH`]
/// characters: never larger than `bytes`.
fn string_lower_bound(bytes: &[u8]) -> String {
    let valid = match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or_default())
            .unwrap_or_default(),
    };
    valid.chars().take(STRING_PREFIX_LENGTH).collect()
}

/// A string of at most [`STRING_PREFIX_LENGTH`] characters that is >= every
/// string <= `bytes` (byte-wise, which is code point order for UTF-8), or
/// `None` when there is none.
fn string_upper_bound(bytes: &[u8]) -> Option<String> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        if s.chars().nth(STRING_PREFIX_LENGTH).is_none() {
            return Some(s.to_string());
        }
    }
    // Cut (a prefix is <= the value) and increment the last character that can
    // be incremented, dropping what follows: the result is larger than every
    // string starting with the cut prefix, so larger than the value.
    let mut chars: Vec<char> = string_lower_bound(bytes).chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = next_char(last) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn next_char(c: char) -> Option<char> {
    match c {
        '\u{D7FF}' => Some('\u{E000}'),
        char::MAX => None,
        c => char::from_u32(u32::from(c) + 1),
    }
}

/// An ordered JSON object of raw JSON values, built by path.
#[derive(Debug, Default)]
struct JsonObject(Vec<(String, JsonNode)>);

#[derive(Debug)]
enum JsonNode {
    Raw(String),
    Object(JsonObject),
}

impl JsonObject {
    fn insert(&mut self, path: &[String], raw: String) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let pos = self.0.iter().position(|(k, _)| k == first);
        if rest.is_empty() {
            match pos {
                Some(i) => self.0[i].1 = JsonNode::Raw(raw),
                None => self.0.push((first.clone(), JsonNode::Raw(raw))),
            }
            return;
        }
        let i = match pos {
            Some(i) => i,
            None => {
                self.0
                    .push((first.clone(), JsonNode::Object(JsonObject::default())));
                self.0.len() - 1
            }
        };
        if let JsonNode::Raw(_) = self.0[i].1 {
            self.0[i].1 = JsonNode::Object(JsonObject::default());
        }
        if let JsonNode::Object(child) = &mut self.0[i].1 {
            child.insert(rest, raw);
        }
    }

    fn write(&self, out: &mut String) {
        out.push('{');
        for (i, (key, node)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Serializing a str cannot fail.
            out.push_str(&serde_json::to_string(key).unwrap_or_default());
            out.push(':');
            match node {
                JsonNode::Raw(raw) => out.push_str(raw),
                JsonNode::Object(child) => child.write(out),
            }
        }
        out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
        Float64Array, Int32Array, Int32Builder, Int64Array, ListBuilder, MapBuilder, NullArray,
        StringArray, StringBuilder, StructArray, TimestampMicrosecondArray,
        TimestampMillisecondArray, TimestampNanosecondArray, UInt16Array, UInt32Array, UInt64Array,
        UInt8Array,
    };
    use arrow::record_batch::RecordBatch;
    use deltalake::kernel::{ArrayType, MapType, StructField};
    use object_store::memory::InMemory;
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::{FileMetaData, RowGroupMetaData};
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    use serde_json::{json, Value};

    const P: &str = "s3://bucket/t/part-0.parquet";

    fn props() -> WriterProperties {
        WriterProperties::builder().build()
    }

    /// Write one row group per batch.
    fn write(schema: &SchemaRef, batches: &[RecordBatch], props: WriterProperties) -> Vec<u8> {
        let mut writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props)).unwrap();
        for batch in batches {
            writer.write(batch).unwrap();
            writer.flush().unwrap();
        }
        writer.into_inner().unwrap()
    }

    fn batch(schema: &SchemaRef, columns: Vec<ArrayRef>) -> RecordBatch {
        RecordBatch::try_new(schema.clone(), columns).unwrap()
    }

    fn footer(bytes: &[u8]) -> Arc<ParquetMetaData> {
        decode_metadata(P, bytes).unwrap()
    }

    fn table_schema(meta: &ParquetMetaData) -> StructType {
        delta_schema(P, &file_schema(P, meta).unwrap()).unwrap()
    }

    fn stats_value(meta: &ParquetMetaData, schema: &StructType, config: &StatsConfig) -> Value {
        let raw = stats(P, meta, schema, config).unwrap();
        serde_json::from_str(&raw).unwrap()
    }

    fn all_columns() -> StatsConfig {
        StatsConfig {
            num_indexed_cols: -1,
            ..StatsConfig::default()
        }
    }

    fn field(name: &str, t: ArrowType, nullable: bool) -> Field {
        Field::new(name, t, nullable)
    }

    // ----- schema -------------------------------------------------------

    #[test]
    fn schema_of_many_types() {
        let ts = |unit: TimeUnit, tz: Option<&str>| ArrowType::Timestamp(unit, tz.map(Into::into));
        let struct_fields: Fields = vec![
            field("amount", ArrowType::Decimal128(10, 2), true),
            field("at", ts(TimeUnit::Nanosecond, None), true),
        ]
        .into();
        let schema = Arc::new(Schema::new(vec![
            field("i32", ArrowType::Int32, false),
            field("i64", ArrowType::Int64, true),
            field("f32", ArrowType::Float32, true),
            field("f64", ArrowType::Float64, true),
            field("s", ArrowType::Utf8, true),
            field("b", ArrowType::Boolean, true),
            field("d", ArrowType::Date32, true),
            field("ts_ns", ts(TimeUnit::Nanosecond, None), true),
            field("ts_ms_utc", ts(TimeUnit::Millisecond, Some("UTC")), true),
            field(
                "ts_us_paris",
                ts(TimeUnit::Microsecond, Some("Europe/Paris")),
                true,
            ),
            field("dec", ArrowType::Decimal128(38, 9), true),
            field("u8", ArrowType::UInt8, true),
            field("u16", ArrowType::UInt16, true),
            field("u32", ArrowType::UInt32, true),
            field("u64", ArrowType::UInt64, true),
            field("bin", ArrowType::Binary, true),
            field("nothing", ArrowType::Null, true),
            field("payload", ArrowType::Struct(struct_fields.clone()), true),
            field(
                "tags",
                ArrowType::List(Arc::new(field(
                    "item",
                    ArrowType::Struct(struct_fields),
                    true,
                ))),
                true,
            ),
            field(
                "attrs",
                ArrowType::Map(
                    Arc::new(field(
                        "entries",
                        ArrowType::Struct(
                            vec![
                                field("keys", ArrowType::Utf8, false),
                                field("values", ts(TimeUnit::Millisecond, None), true),
                            ]
                            .into(),
                        ),
                        false,
                    )),
                    false,
                ),
                true,
            ),
        ]));
        let bytes = write(&schema, &[RecordBatch::new_empty(schema.clone())], props());
        let meta = footer(&bytes);

        // Arrow: timestamps in microseconds at every depth, time zones kept.
        let arrow = file_schema(P, &meta).unwrap();
        let ty = |name: &str| arrow.field_with_name(name).unwrap().data_type().clone();
        assert_eq!(ty("ts_ns"), ts(TimeUnit::Microsecond, None));
        assert_eq!(ty("ts_ms_utc"), ts(TimeUnit::Microsecond, Some("UTC")));
        assert_eq!(
            ty("ts_us_paris"),
            ts(TimeUnit::Microsecond, Some("Europe/Paris"))
        );
        let ArrowType::Struct(inner) = ty("payload") else {
            panic!("payload is a struct")
        };
        assert_eq!(inner[1].data_type(), &ts(TimeUnit::Microsecond, None));
        let ArrowType::List(item) = ty("tags") else {
            panic!("tags is a list")
        };
        let ArrowType::Struct(inner) = item.data_type() else {
            panic!("tags holds structs")
        };
        assert_eq!(inner[1].data_type(), &ts(TimeUnit::Microsecond, None));
        let ArrowType::Map(entries, _) = ty("attrs") else {
            panic!("attrs is a map")
        };
        let ArrowType::Struct(kv) = entries.data_type() else {
            panic!("map entries")
        };
        assert_eq!(kv[1].data_type(), &ts(TimeUnit::Microsecond, None));

        // Delta.
        let payload = StructType::try_new(vec![
            StructField::nullable("amount", DataType::decimal(10, 2).unwrap()),
            StructField::nullable("at", DataType::TIMESTAMP),
        ])
        .unwrap();
        let expected = StructType::try_new(vec![
            StructField::not_null("i32", DataType::INTEGER),
            StructField::nullable("i64", DataType::LONG),
            StructField::nullable("f32", DataType::FLOAT),
            StructField::nullable("f64", DataType::DOUBLE),
            StructField::nullable("s", DataType::STRING),
            StructField::nullable("b", DataType::BOOLEAN),
            StructField::nullable("d", DataType::DATE),
            StructField::nullable("ts_ns", DataType::TIMESTAMP),
            StructField::nullable("ts_ms_utc", DataType::TIMESTAMP),
            StructField::nullable("ts_us_paris", DataType::TIMESTAMP),
            StructField::nullable("dec", DataType::decimal(38, 9).unwrap()),
            StructField::nullable("u8", DataType::SHORT),
            StructField::nullable("u16", DataType::INTEGER),
            StructField::nullable("u32", DataType::LONG),
            StructField::nullable("u64", DataType::decimal(20, 0).unwrap()),
            StructField::nullable("bin", DataType::BINARY),
            StructField::nullable("payload", DataType::Struct(Box::new(payload.clone()))),
            StructField::nullable(
                "tags",
                DataType::Array(Box::new(ArrayType::new(
                    DataType::Struct(Box::new(payload)),
                    true,
                ))),
            ),
            StructField::nullable(
                "attrs",
                DataType::Map(Box::new(MapType::new(
                    DataType::STRING,
                    DataType::TIMESTAMP,
                    true,
                ))),
            ),
        ])
        .unwrap();
        assert_eq!(table_schema(&meta), expected);
        assert!(table_schema(&meta)
            .fields()
            .all(|f| f.metadata().is_empty()));
        assert_eq!(
            timestamp_nanos_columns(&meta),
            vec![
                "ts_ns".to_string(),
                "payload.at".to_string(),
                "tags.list.item.at".to_string()
            ]
        );
    }

    #[test]
    fn unsupported_types_name_the_column() {
        let cases = [
            (field("h", ArrowType::Float16, true), "h"),
            (
                field("t", ArrowType::Time64(TimeUnit::Microsecond), true),
                "t",
            ),
            (
                field("dur", ArrowType::Duration(TimeUnit::Second), true),
                "dur",
            ),
            (
                field(
                    "p",
                    ArrowType::Struct(
                        vec![field(
                            "iv",
                            ArrowType::Interval(arrow_schema::IntervalUnit::MonthDayNano),
                            true,
                        )]
                        .into(),
                    ),
                    true,
                ),
                "p.iv",
            ),
            (
                field(
                    "l",
                    ArrowType::List(Arc::new(field(
                        "x",
                        ArrowType::Time32(TimeUnit::Second),
                        true,
                    ))),
                    true,
                ),
                "l.element",
            ),
        ];
        for (f, column) in cases {
            let schema = Arc::new(Schema::new(vec![f]));
            let err = delta_schema(P, &schema).unwrap_err();
            match &err {
                ParquetMetaError::UnsupportedType {
                    column: c, path, ..
                } => {
                    assert_eq!(c, column);
                    assert_eq!(path, P);
                }
                other => panic!("unexpected {other:?}"),
            }
            let msg = err.to_string();
            assert!(msg.contains(P) && msg.contains(column), "{msg}");
        }
        // Also through a real file for the types a Parquet file can hold.
        let schema = Arc::new(Schema::new(vec![field("h", ArrowType::Float16, true)]));
        let meta = footer(&write(&schema, &[], props()));
        let err = delta_schema(P, &file_schema(P, &meta).unwrap()).unwrap_err();
        assert!(
            matches!(err, ParquetMetaError::UnsupportedType { ref column, .. } if column == "h")
        );
    }

    #[test]
    fn columns_differing_only_by_case_are_refused() {
        let schema = Schema::new(vec![
            field("Amount", ArrowType::Int64, true),
            field("amount", ArrowType::Int64, true),
        ]);
        let err = delta_schema(P, &schema).unwrap_err();
        assert!(
            matches!(err, ParquetMetaError::UnsupportedSchema { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("amount"), "{err}");
    }

    #[test]
    fn unusable_arrow_hint_falls_back_to_the_parquet_schema() {
        let schema = Arc::new(Schema::new(vec![field("a", ArrowType::Int32, true)]));
        let meta = footer(&write(&schema, &[], props()));
        let file = meta.file_metadata();
        let kv = vec![KeyValue::new(
            ARROW_SCHEMA_KEY.to_string(),
            "!!not base64!!".to_string(),
        )];
        let broken = ParquetMetaData::new(
            FileMetaData::new(
                file.version(),
                file.num_rows(),
                None,
                Some(kv),
                file.schema_descr_ptr(),
                file.column_orders().cloned(),
            ),
            meta.row_groups().to_vec(),
        );
        let arrow = file_schema(P, &broken).unwrap();
        assert_eq!(arrow.field(0).data_type(), &ArrowType::Int32);
    }

    // ----- statistics ---------------------------------------------------

    #[test]
    fn stats_of_flat_columns_over_row_groups() {
        let schema = Arc::new(Schema::new(vec![
            field("id", ArrowType::Int64, false),
            field("i32", ArrowType::Int32, true),
            field("f", ArrowType::Float64, true),
            field("name", ArrowType::Utf8, true),
            field("flag", ArrowType::Boolean, true),
            field("d", ArrowType::Date32, true),
            field("bin", ArrowType::Binary, true),
        ]));
        let rg1 = batch(
            &schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(Int32Array::from(vec![Some(10), None, Some(-5)])),
                Arc::new(Float64Array::from(vec![Some(1.5), Some(2.5), None])),
                Arc::new(StringArray::from(vec![Some("b"), Some("a"), None])),
                Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
                Arc::new(Date32Array::from(vec![Some(0), Some(19000), None])),
                Arc::new(BinaryArray::from(vec![
                    Some(&b"x"[..]),
                    None,
                    Some(&b"y"[..]),
                ])),
            ],
        );
        let rg2 = batch(
            &schema,
            vec![
                Arc::new(Int64Array::from(vec![4, 5])),
                Arc::new(Int32Array::from(vec![None, None])),
                Arc::new(Float64Array::from(vec![Some(-0.5), Some(3.0)])),
                Arc::new(StringArray::from(vec![Some("zz"), Some("c")])),
                Arc::new(BooleanArray::from(vec![Some(true), Some(true)])),
                Arc::new(Date32Array::from(vec![Some(-1), Some(1)])),
                Arc::new(BinaryArray::from(vec![None::<&[u8]>, None])),
            ],
        );
        let meta = footer(&write(&schema, &[rg1, rg2], props()));
        assert_eq!(meta.num_row_groups(), 2);
        let table = table_schema(&meta);
        assert_eq!(
            stats_value(&meta, &table, &StatsConfig::default()),
            json!({
                "numRecords": 5,
                "minValues": {"id": 1, "i32": -5, "f": -0.5, "name": "a", "d": "1969-12-31"},
                "maxValues": {"id": 5, "i32": 10, "name": "zz", "d": "2022-01-08"},
                "nullCount": {"id": 0, "i32": 3, "f": 1, "name": 1, "flag": 1, "d": 1, "bin": 3}
            })
        );
        // Key order follows the schema.
        let raw = stats(P, &meta, &table, &StatsConfig::default()).unwrap();
        assert!(
            raw.starts_with(r#"{"numRecords":5,"minValues":{"id":1,"i32":-5,"f":-0.5,"#),
            "{raw}"
        );
    }

    #[test]
    fn stats_of_nested_columns() {
        let inner: Fields = vec![
            field("b", ArrowType::Int32, true),
            field("c", ArrowType::Utf8, true),
        ]
        .into();
        let schema = Arc::new(Schema::new(vec![
            field("a", ArrowType::Int32, true),
            field("s", ArrowType::Struct(inner.clone()), true),
            field(
                "l",
                ArrowType::List(Arc::new(field("item", ArrowType::Int32, true))),
                true,
            ),
            field(
                "m",
                ArrowType::Map(
                    Arc::new(field(
                        "entries",
                        ArrowType::Struct(
                            vec![
                                field("keys", ArrowType::Utf8, false),
                                field("values", ArrowType::Int32, true),
                            ]
                            .into(),
                        ),
                        false,
                    )),
                    false,
                ),
                true,
            ),
            field("z", ArrowType::Int64, true),
        ]));
        let s = StructArray::try_new(
            inner,
            vec![
                Arc::new(Int32Array::from(vec![Some(7), None, Some(9)])),
                Arc::new(StringArray::from(vec![Some("x"), Some("y"), None])),
            ],
            Some(vec![true, true, false].into()),
        )
        .unwrap();
        let mut l = ListBuilder::new(Int32Builder::new());
        l.append_value([Some(1), None]);
        l.append_null();
        l.append_value([]);
        let mut m = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
        m.keys().append_value("k");
        m.values().append_value(1);
        m.append(true).unwrap();
        m.append(false).unwrap();
        m.append(true).unwrap();
        let rg = batch(
            &schema,
            vec![
                Arc::new(Int32Array::from(vec![1, 2, 3])),
                Arc::new(s),
                Arc::new(l.finish()),
                Arc::new(m.finish()),
                Arc::new(Int64Array::from(vec![Some(100), None, Some(-100)])),
            ],
        );
        let meta = footer(&write(&schema, &[rg], props()));
        let table = table_schema(&meta);
        assert_eq!(
            stats_value(&meta, &table, &all_columns()),
            json!({
                "numRecords": 3,
                "minValues": {"a": 1, "s": {"b": 7, "c": "x"}, "z": -100},
                "maxValues": {"a": 3, "s": {"b": 7, "c": "y"}, "z": 100},
                "nullCount": {"a": 0, "s": {"b": 2, "c": 1}, "z": 1}
            })
        );
        // First 2 leaves: a, s.b (struct fields count one by one).
        let two = StatsConfig {
            num_indexed_cols: 2,
            ..StatsConfig::default()
        };
        assert_eq!(
            stats_value(&meta, &table, &two),
            json!({
                "numRecords": 3,
                "minValues": {"a": 1, "s": {"b": 7}},
                "maxValues": {"a": 3, "s": {"b": 7}},
                "nullCount": {"a": 0, "s": {"b": 2}}
            })
        );
        // Lists and maps count as one leaf each: a, s.b, s.c, l, m -> z is 6th.
        let five = StatsConfig {
            num_indexed_cols: 5,
            ..StatsConfig::default()
        };
        assert!(stats_value(&meta, &table, &five)["nullCount"]
            .get("z")
            .is_none());
        // Explicit columns override the count; a struct selects its fields;
        // names match case-insensitively.
        let columns = StatsConfig {
            num_indexed_cols: 0,
            stats_columns: Some(vec!["z".into(), "S".into()]),
            ..StatsConfig::default()
        };
        assert_eq!(
            stats_value(&meta, &table, &columns),
            json!({
                "numRecords": 3,
                "minValues": {"s": {"b": 7, "c": "x"}, "z": -100},
                "maxValues": {"s": {"b": 7, "c": "y"}, "z": 100},
                "nullCount": {"s": {"b": 2, "c": 1}, "z": 1}
            })
        );
        let nested = StatsConfig {
            stats_columns: Some(vec!["s.C".into()]),
            ..StatsConfig::default()
        };
        assert_eq!(
            stats_value(&meta, &table, &nested),
            json!({
                "numRecords": 3,
                "minValues": {"s": {"c": "x"}},
                "maxValues": {"s": {"c": "y"}},
                "nullCount": {"s": {"c": 1}}
            })
        );
        let none = StatsConfig {
            num_indexed_cols: 0,
            ..StatsConfig::default()
        };
        assert_eq!(
            stats(P, &meta, &table, &none).unwrap(),
            r#"{"numRecords":3,"minValues":{},"maxValues":{},"nullCount":{}}"#
        );
    }

    #[test]
    fn stats_of_timestamps_in_every_unit() {
        let schema = Arc::new(Schema::new(vec![
            field("ns", ArrowType::Timestamp(TimeUnit::Nanosecond, None), true),
            field(
                "ns_utc",
                ArrowType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                true,
            ),
            field(
                "ms",
                ArrowType::Timestamp(TimeUnit::Millisecond, None),
                true,
            ),
            field(
                "us_tz",
                ArrowType::Timestamp(TimeUnit::Microsecond, Some("+02:00".into())),
                true,
            ),
        ]));
        // 2024-01-02T03:04:05.123456789Z and a pre-1970 instant.
        let t = 1_704_164_645_123_456_789_i64;
        let before = -1_500_i64; // 1969-12-31T23:59:59.999998500Z
        let rg = batch(
            &schema,
            vec![
                Arc::new(TimestampNanosecondArray::from(vec![
                    Some(t),
                    Some(before),
                    None,
                ])),
                Arc::new(
                    TimestampNanosecondArray::from(
                        vec![Some(t), Some(t + 1)]
                            .into_iter()
                            .chain([None])
                            .collect::<Vec<_>>(),
                    )
                    .with_timezone("UTC"),
                ),
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(t / 1_000_000),
                    None,
                    Some(0),
                ])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(t / 1000), Some(t / 1000), None])
                        .with_timezone("+02:00"),
                ),
            ],
        );
        let meta = footer(&write(&schema, &[rg], props()));
        let table = table_schema(&meta);
        assert_eq!(
            stats_value(&meta, &table, &StatsConfig::default()),
            json!({
                "numRecords": 3,
                "minValues": {
                    "ns": "1969-12-31T23:59:59.999998Z",
                    "ns_utc": "2024-01-02T03:04:05.123456Z",
                    "ms": "1970-01-01T00:00:00.000000Z",
                    "us_tz": "2024-01-02T03:04:05.123456Z"
                },
                "maxValues": {
                    // Rounded up: the max must stay >= every value.
                    "ns": "2024-01-02T03:04:05.123457Z",
                    "ns_utc": "2024-01-02T03:04:05.123457Z",
                    "ms": "2024-01-02T03:04:05.123000Z",
                    "us_tz": "2024-01-02T03:04:05.123456Z"
                },
                "nullCount": {"ns": 1, "ns_utc": 1, "ms": 1, "us_tz": 1}
            })
        );
    }

    #[test]
    fn stats_of_decimals_are_exact_numbers() {
        let schema = Arc::new(Schema::new(vec![
            field("d5", ArrowType::Decimal128(5, 2), true),
            field("d15", ArrowType::Decimal128(15, 3), true),
            field("d38", ArrowType::Decimal128(38, 10), true),
            field("d0", ArrowType::Decimal128(20, 0), true),
        ]));
        let dec = |values: Vec<Option<i128>>, p: u8, s: i8| -> ArrayRef {
            Arc::new(
                Decimal128Array::from(values)
                    .with_precision_and_scale(p, s)
                    .unwrap(),
            )
        };
        let big = 12_345_678_901_234_567_890_123_456_789_i128;
        let rg1 = batch(
            &schema,
            vec![
                dec(vec![Some(12345), Some(-5)], 5, 2),
                dec(vec![Some(1), None], 15, 3),
                dec(vec![Some(big), Some(-big)], 38, 10),
                dec(vec![Some(99_999_999_999_999_999_999), Some(0)], 20, 0),
            ],
        );
        let rg2 = batch(
            &schema,
            vec![
                dec(vec![Some(-99999), Some(7)], 5, 2),
                dec(vec![Some(-123_456_789_012_345), None], 15, 3),
                dec(vec![None, Some(1)], 38, 10),
                dec(vec![None, None], 20, 0),
            ],
        );
        let meta = footer(&write(&schema, &[rg1, rg2], props()));
        let table = table_schema(&meta);
        let raw = stats(P, &meta, &table, &StatsConfig::default()).unwrap();
        assert_eq!(
            raw,
            concat!(
                r#"{"numRecords":4,"#,
                r#""minValues":{"d5":-999.99,"d15":-123456789012.345,"d38":-1234567890123456789.0123456789,"d0":0},"#,
                r#""maxValues":{"d5":123.45,"d15":0.001,"d38":1234567890123456789.0123456789,"d0":99999999999999999999},"#,
                r#""nullCount":{"d5":0,"d15":2,"d38":1,"d0":2}}"#
            )
        );
        assert!(serde_json::from_str::<Value>(&raw).is_ok());
    }

    #[test]
    fn stats_of_unsigned_integers() {
        let schema = Arc::new(Schema::new(vec![
            field("u8", ArrowType::UInt8, true),
            field("u16", ArrowType::UInt16, true),
            field("u32", ArrowType::UInt32, true),
            field("u64", ArrowType::UInt64, true),
        ]));
        let rg = batch(
            &schema,
            vec![
                Arc::new(UInt8Array::from(vec![0, 255])),
                Arc::new(UInt16Array::from(vec![1, 65535])),
                Arc::new(UInt32Array::from(vec![2, u32::MAX])),
                Arc::new(UInt64Array::from(vec![3, u64::MAX])),
            ],
        );
        let meta = footer(&write(&schema, &[rg], props()));
        let table = table_schema(&meta);
        let raw = stats(P, &meta, &table, &StatsConfig::default()).unwrap();
        assert_eq!(
            raw,
            concat!(
                r#"{"numRecords":2,"#,
                r#""minValues":{"u8":0,"u16":1,"u32":2,"u64":3},"#,
                r#""maxValues":{"u8":255,"u16":65535,"u32":4294967295,"u64":18446744073709551615},"#,
                r#""nullCount":{"u8":0,"u16":0,"u32":0,"u64":0}}"#
            )
        );
    }

    #[test]
    fn float_stats_have_min_only_and_never_nan() {
        let schema = Arc::new(Schema::new(vec![
            field("f32", ArrowType::Float32, true),
            field("zero", ArrowType::Float64, true),
            field("nan", ArrowType::Float64, true),
        ]));
        let rg = batch(
            &schema,
            vec![
                Arc::new(Float32Array::from(vec![1.1, 7.0])),
                Arc::new(Float64Array::from(vec![0.0, 5.0])),
                Arc::new(Float64Array::from(vec![f64::NAN, f64::NAN])),
            ],
        );
        let meta = footer(&write(&schema, &[rg], props()));
        let table = table_schema(&meta);
        let v = stats_value(&meta, &table, &StatsConfig::default());
        // f32 1.1 written as the exact double of the float.
        assert_eq!(v["minValues"]["f32"], json!(f64::from(1.1f32)));
        let raw = stats(P, &meta, &table, &StatsConfig::default()).unwrap();
        assert!(raw.contains(r#""zero":-0.0"#), "{raw}");
        assert!(v["minValues"].get("nan").is_none());
        assert_eq!(v["maxValues"], json!({}));
        assert_eq!(v["nullCount"], json!({"f32": 0, "zero": 0, "nan": 0}));
    }

    #[test]
    fn long_strings_are_truncated_safely() {
        let long_a = format!("{}tail", "a".repeat(40));
        let long_z = format!("{}b{}", "é".repeat(31), "z".repeat(10));
        let max_chars = format!("x{}", char::MAX.to_string().repeat(40));
        let schema = Arc::new(Schema::new(vec![
            field("s", ArrowType::Utf8, true),
            field("m", ArrowType::Utf8, true),
        ]));
        let rg = batch(
            &schema,
            vec![
                Arc::new(StringArray::from(vec![long_a.as_str(), long_z.as_str()])),
                Arc::new(StringArray::from(vec!["a", max_chars.as_str()])),
            ],
        );
        let props = WriterProperties::builder()
            .set_statistics_truncate_length(None)
            .build();
        let meta = footer(&write(&schema, &[rg], props));
        let table = table_schema(&meta);
        let v = stats_value(&meta, &table, &StatsConfig::default());
        assert_eq!(v["minValues"]["s"], json!("a".repeat(32)));
        // 31 x 'é' + 'b' cut at 32 chars, last one incremented.
        assert_eq!(v["maxValues"]["s"], json!(format!("{}c", "é".repeat(31))));
        // "x" + U+10FFFF...: only the 'x' can be incremented.
        assert_eq!(v["maxValues"]["m"], json!("y"));

        // Writer-truncated bounds (parquet-rs default: 64 bytes) are still bounds.
        let meta = footer(&write(
            &schema,
            &[batch(
                &schema,
                vec![
                    Arc::new(StringArray::from(vec![long_a.as_str(), long_z.as_str()])),
                    Arc::new(StringArray::from(vec!["a", max_chars.as_str()])),
                ],
            )],
            WriterProperties::builder()
                .set_statistics_truncate_length(Some(8))
                .build(),
        ));
        let v = stats_value(&meta, &table, &StatsConfig::default());
        assert_eq!(v["minValues"]["s"], json!("a".repeat(8)));
        assert!(v["maxValues"]["s"].as_str().unwrap() >= long_z.as_str());
    }

    #[test]
    fn string_bounds() {
        assert_eq!(string_upper_bound(b"abc"), Some("abc".into()));
        let s = "a".repeat(33);
        assert_eq!(
            string_upper_bound(s.as_bytes()),
            Some(format!("{}b", "a".repeat(31)))
        );
        assert_eq!(
            string_upper_bound(format!("{}\u{D7FF}x", "a".repeat(31)).as_bytes()),
            Some(format!("{}\u{E000}", "a".repeat(31)))
        );
        assert_eq!(
            string_upper_bound(char::MAX.to_string().repeat(40).as_bytes()),
            None
        );
        // Invalid UTF-8 (a writer cut a character): valid prefix, incremented.
        assert_eq!(string_upper_bound(&[b'a', 0xC3]), Some("b".into()));
        assert_eq!(string_upper_bound(&[0xFF]), None);
        assert_eq!(string_lower_bound(&[b'a', 0xC3]), "a");
        assert_eq!(string_lower_bound(&[0xFF, b'a']), "");
        for value in ["", "a", "zz", "é", "a\u{10FFFF}"] {
            let upper = string_upper_bound(value.as_bytes()).unwrap();
            assert!(upper.as_bytes() >= value.as_bytes());
            assert!(string_lower_bound(value.as_bytes()).as_bytes() <= value.as_bytes());
        }
    }

    #[test]
    fn zero_rows_and_no_row_groups() {
        let schema = Arc::new(Schema::new(vec![
            field("a", ArrowType::Int32, true),
            field("s", ArrowType::Utf8, true),
            field(
                "l",
                ArrowType::List(Arc::new(field("item", ArrowType::Int32, true))),
                true,
            ),
        ]));
        let expected = json!({
            "numRecords": 0,
            "minValues": {},
            "maxValues": {},
            "nullCount": {"a": 0, "s": 0, "l": 0}
        });
        // No row group at all.
        let meta = footer(&write(&schema, &[], props()));
        assert_eq!(meta.num_row_groups(), 0);
        let table = table_schema(&meta);
        assert_eq!(
            stats_value(&meta, &table, &StatsConfig::default()),
            expected
        );
        // A row group of zero rows.
        let meta = footer(&write(
            &schema,
            &[RecordBatch::new_empty(schema.clone())],
            props(),
        ));
        assert_eq!(
            stats_value(&meta, &table, &StatsConfig::default()),
            expected
        );
    }

    #[test]
    fn table_columns_missing_from_the_file_and_partitions() {
        let schema = Arc::new(Schema::new(vec![
            field("a", ArrowType::Int32, true),
            field("b", ArrowType::Int32, true),
        ]));
        let rg = batch(
            &schema,
            vec![
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(Int32Array::from(vec![3, 4])),
            ],
        );
        let meta = footer(&write(&schema, &[rg], props()));
        let table = StructType::try_new(vec![
            StructField::nullable("ds", DataType::STRING),
            StructField::nullable("a", DataType::LONG),
            StructField::nullable("B", DataType::INTEGER),
            StructField::nullable("extra", DataType::STRING),
            StructField::nullable(
                "nested",
                DataType::Struct(Box::new(
                    StructType::try_new(vec![StructField::nullable("x", DataType::INTEGER)])
                        .unwrap(),
                )),
            ),
        ])
        .unwrap();
        let config = StatsConfig {
            partition_columns: vec!["ds".into()],
            ..StatsConfig::default()
        };
        // `ds` is a partition column; `B` is spelled `b` in the file (no stats
        // either way); `extra` and `nested.x` are absent: all nulls.
        assert_eq!(
            stats_value(&meta, &table, &config),
            json!({
                "numRecords": 2,
                "minValues": {"a": 1},
                "maxValues": {"a": 2},
                "nullCount": {"a": 0, "extra": 2, "nested": {"x": 2}}
            })
        );
        // Partition columns do not count against the limit.
        let one = StatsConfig {
            num_indexed_cols: 1,
            ..config
        };
        assert_eq!(
            stats_value(&meta, &table, &one)["nullCount"],
            json!({"a": 0})
        );
    }

    #[test]
    fn no_column_statistics_in_the_file() {
        let schema = Arc::new(Schema::new(vec![field("a", ArrowType::Int32, true)]));
        let rg = batch(&schema, vec![Arc::new(Int32Array::from(vec![1, 2]))]);
        let props = WriterProperties::builder()
            .set_statistics_enabled(EnabledStatistics::None)
            .build();
        let meta = footer(&write(&schema, &[rg], props));
        let table = table_schema(&meta);
        assert_eq!(
            stats(P, &meta, &table, &StatsConfig::default()).unwrap(),
            r#"{"numRecords":2,"minValues":{},"maxValues":{},"nullCount":{}}"#
        );
    }

    /// Replace every chunk's statistics of column `idx` and the column orders.
    fn with_stats(
        meta: &ParquetMetaData,
        idx: usize,
        stats: Statistics,
        orders: Option<Vec<ColumnOrder>>,
    ) -> ParquetMetaData {
        let file = meta.file_metadata();
        let row_groups = meta
            .row_groups()
            .iter()
            .map(|rg| {
                let mut columns = rg.columns().to_vec();
                columns[idx] = columns[idx]
                    .clone()
                    .into_builder()
                    .set_statistics(stats.clone())
                    .build()
                    .unwrap();
                RowGroupMetaData::into_builder(rg.clone())
                    .set_column_metadata(columns)
                    .build()
                    .unwrap()
            })
            .collect();
        ParquetMetaData::new(
            FileMetaData::new(
                file.version(),
                file.num_rows(),
                None,
                None,
                file.schema_descr_ptr(),
                orders,
            ),
            row_groups,
        )
    }

    #[test]
    fn legacy_statistics_are_used_only_when_their_order_is_right() {
        let schema = Arc::new(Schema::new(vec![
            field("i", ArrowType::Int32, true),
            field("s", ArrowType::Utf8, true),
            field("u", ArrowType::UInt32, true),
        ]));
        let rg = batch(
            &schema,
            vec![
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec!["a", "b"])),
                Arc::new(UInt32Array::from(vec![1, 2])),
            ],
        );
        let meta = footer(&write(&schema, &[rg], props()));
        let table = table_schema(&meta);
        let orders = meta.file_metadata().column_orders().cloned();
        let config = StatsConfig::default();

        // Deprecated min/max fields: fine for signed ints, not for strings
        // or unsigned ints.
        let legacy_int = Statistics::int32(Some(-3), Some(9), None, Some(0), true);
        let m = with_stats(&meta, 0, legacy_int.clone(), orders.clone());
        assert_eq!(
            stats_value(&m, &table, &config)["minValues"]["i"],
            json!(-3)
        );
        let legacy_str =
            Statistics::byte_array(Some("a".into()), Some("b".into()), None, Some(0), true);
        let m = with_stats(&meta, 1, legacy_str, orders.clone());
        let v = stats_value(&m, &table, &config);
        assert!(v["minValues"].get("s").is_none() && v["maxValues"].get("s").is_none());
        assert_eq!(v["nullCount"]["s"], json!(0));
        let m = with_stats(
            &meta,
            2,
            Statistics::int32(Some(1), Some(-1), None, Some(0), true),
            orders,
        );
        assert!(stats_value(&m, &table, &config)["maxValues"]
            .get("u")
            .is_none());

        // No column orders in the footer (pre-2.4 writers): same rule.
        let modern_str =
            Statistics::byte_array(Some("a".into()), Some("b".into()), None, Some(0), false);
        let m = with_stats(&meta, 1, modern_str, None);
        let v = stats_value(&m, &table, &config);
        assert!(v["minValues"].get("s").is_none());
        assert_eq!(v["minValues"]["i"], json!(1));

        // An unknown column order: nothing from min_value/max_value (the
        // deprecated fields are signed whatever the order says).
        let modern_int = Statistics::int32(Some(-3), Some(9), None, Some(0), false);
        let m = with_stats(&meta, 0, modern_int, Some(vec![ColumnOrder::UNKNOWN; 3]));
        assert!(stats_value(&m, &table, &config)["minValues"]
            .get("i")
            .is_none());

        // A row group without min/max that is not all nulls: no min/max.
        let no_bounds = Statistics::int32(None, None, None, Some(0), false);
        let m = with_stats(
            &meta,
            0,
            no_bounds,
            meta.file_metadata().column_orders().cloned(),
        );
        let v = stats_value(&m, &table, &config);
        assert!(v["minValues"].get("i").is_none());
        assert_eq!(v["nullCount"]["i"], json!(0));
        // ... unknown null count: no nullCount.
        let no_nulls = Statistics::int32(Some(1), Some(2), None, None, false);
        let m = with_stats(
            &meta,
            0,
            no_nulls,
            meta.file_metadata().column_orders().cloned(),
        );
        let v = stats_value(&m, &table, &config);
        assert!(v["nullCount"].get("i").is_none());
        assert_eq!(v["minValues"]["i"], json!(1));
    }

    #[test]
    fn all_null_row_groups_do_not_hide_bounds() {
        let schema = Arc::new(Schema::new(vec![field("s", ArrowType::Utf8, true)]));
        let rg1 = batch(
            &schema,
            vec![Arc::new(StringArray::from(vec![None::<&str>, None]))],
        );
        let rg2 = batch(
            &schema,
            vec![Arc::new(StringArray::from(vec![Some("m"), None]))],
        );
        let rg3 = batch(
            &schema,
            vec![Arc::new(StringArray::from(vec![None::<&str>]))],
        );
        let meta = footer(&write(&schema, &[rg1, rg2, rg3], props()));
        let table = table_schema(&meta);
        assert_eq!(
            stats_value(&meta, &table, &StatsConfig::default()),
            json!({"numRecords": 5, "minValues": {"s": "m"}, "maxValues": {"s": "m"}, "nullCount": {"s": 4}})
        );
        // Only nulls: no bounds at all, null count = rows.
        let meta = footer(&write(
            &schema,
            &[batch(
                &schema,
                vec![Arc::new(StringArray::from(vec![None::<&str>, None]))],
            )],
            props(),
        ));
        assert_eq!(
            stats_value(&meta, &table, &StatsConfig::default()),
            json!({"numRecords": 2, "minValues": {}, "maxValues": {}, "nullCount": {"s": 2}})
        );
    }

    #[test]
    fn null_typed_columns_are_left_out() {
        let schema = Arc::new(Schema::new(vec![
            field("a", ArrowType::Int32, true),
            field("n", ArrowType::Null, true),
        ]));
        let rg = batch(
            &schema,
            vec![
                Arc::new(Int32Array::from(vec![1])),
                Arc::new(NullArray::new(1)),
            ],
        );
        let meta = footer(&write(&schema, &[rg], props()));
        let table = table_schema(&meta);
        assert_eq!(
            table
                .fields()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(
            stats_value(&meta, &table, &StatsConfig::default())["nullCount"],
            json!({"a": 0})
        );
    }

    #[test]
    fn stats_config_from_table_properties() {
        let config = |pairs: &[(&str, &str)]| {
            let map: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            StatsConfig::from_table(&map, &["ds".to_string()])
        };
        assert_eq!(
            config(&[]).unwrap(),
            StatsConfig {
                partition_columns: vec!["ds".into()],
                ..StatsConfig::default()
            }
        );
        assert_eq!(
            config(&[(NUM_INDEXED_COLS_KEY, "-1")])
                .unwrap()
                .num_indexed_cols,
            -1
        );
        assert_eq!(
            config(&[(NUM_INDEXED_COLS_KEY, " 5 ")])
                .unwrap()
                .num_indexed_cols,
            5
        );
        for bad in ["-2", "x", ""] {
            let err = config(&[(NUM_INDEXED_COLS_KEY, bad)]).unwrap_err();
            assert!(err.to_string().contains(NUM_INDEXED_COLS_KEY), "{err}");
        }
        assert_eq!(
            config(&[(STATS_COLUMNS_KEY, "a, b.c ,`x,y`.z")])
                .unwrap()
                .stats_columns,
            Some(vec![
                "a".to_string(),
                "b.c".to_string(),
                "`x,y`.z".to_string()
            ])
        );
        assert!(config(&[(STATS_COLUMNS_KEY, "`a")]).is_err());
        assert_eq!(
            parse_column_path("`a.b`.c").unwrap(),
            vec!["a.b".to_string(), "c".to_string()]
        );
        assert_eq!(
            parse_column_path("`a``b`").unwrap(),
            vec!["a`b".to_string()]
        );
        assert!(parse_column_path("a..b").is_err());
        // Invalid values given directly are refused by stats().
        let schema = Arc::new(Schema::new(vec![field("a", ArrowType::Int32, true)]));
        let meta = footer(&write(&schema, &[], props()));
        let table = table_schema(&meta);
        let bad = StatsConfig {
            num_indexed_cols: -7,
            ..StatsConfig::default()
        };
        assert!(matches!(
            stats(P, &meta, &table, &bad),
            Err(ParquetMetaError::InvalidStatsConfig { .. })
        ));
    }

    #[test]
    fn decimal_bytes() {
        assert_eq!(be_i128(&[0x01, 0x00]), Some(256));
        assert_eq!(be_i128(&[0xFF]), Some(-1));
        assert_eq!(be_i128(&[0xFF, 0x7F]), Some(-129));
        assert_eq!(be_i128(&[]), None);
        let mut wide = vec![0u8; 20];
        wide[19] = 5;
        assert_eq!(be_i128(&wide), Some(5));
        let mut too_wide = vec![0u8; 20];
        too_wide[0] = 1;
        assert_eq!(be_i128(&too_wide), None);
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(12345, 2), "123.45");
        assert_eq!(format_decimal(0, 3), "0.000");
        assert_eq!(
            format_decimal(i128::MIN + 1, 0),
            (i128::MIN + 1).to_string()
        );
    }

    #[test]
    fn int96_timestamps_are_timestamps_without_bounds() {
        use parquet::data_type::{Int96, Int96Type};
        use parquet::file::writer::SerializedFileWriter;
        use parquet::schema::parser::parse_message_type;

        let schema = Arc::new(
            parse_message_type("message spark { optional int96 t; required int32 n; }").unwrap(),
        );
        let mut writer = SerializedFileWriter::new(Vec::new(), schema, Arc::new(props())).unwrap();
        let mut rg = writer.next_row_group().unwrap();
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<Int96Type>()
            .write_batch(&[Int96::from(vec![0, 0, 2_440_588])], Some(&[1, 0]), None)
            .unwrap();
        col.close().unwrap();
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<parquet::data_type::Int32Type>()
            .write_batch(&[4, 5], None, None)
            .unwrap();
        col.close().unwrap();
        rg.close().unwrap();
        let bytes = writer.into_inner().unwrap();
        let meta = footer(&bytes);
        let table = table_schema(&meta);
        assert_eq!(
            table,
            StructType::try_new(vec![
                StructField::nullable("t", DataType::TIMESTAMP),
                StructField::not_null("n", DataType::INTEGER),
            ])
            .unwrap()
        );
        assert_eq!(
            stats_value(&meta, &table, &StatsConfig::default()),
            json!({
                "numRecords": 2,
                "minValues": {"n": 4},
                "maxValues": {"n": 5},
                "nullCount": {"t": 1, "n": 0}
            })
        );
    }

    // ----- corrupt files ------------------------------------------------

    fn small_file() -> Vec<u8> {
        let schema = Arc::new(Schema::new(vec![
            field("a", ArrowType::Int32, true),
            field("s", ArrowType::Utf8, true),
        ]));
        let rg = batch(
            &schema,
            vec![
                Arc::new(Int32Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec!["x", "y", "z"])),
            ],
        );
        write(&schema, &[rg], props())
    }

    fn assert_corrupt(result: Result<Arc<ParquetMetaData>, ParquetMetaError>) {
        match result {
            Err(e @ ParquetMetaError::CorruptFooter { .. }) => {
                assert!(e.to_string().contains(P), "{e}")
            }
            other => panic!("expected CorruptFooter, got {other:?}"),
        }
    }

    #[test]
    fn corrupt_files_are_errors() {
        let good = small_file();
        assert!(decode_metadata(P, &good).is_ok());
        // Nothing, tiny, random.
        assert_corrupt(decode_metadata(P, b""));
        assert_corrupt(decode_metadata(P, b"PAR1PAR1"));
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut random = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let noise: Vec<u8> = (0..4096).map(|_| random() as u8).collect();
        assert_corrupt(decode_metadata(P, &noise));
        // Truncated uploads.
        for cut in [1, 4, 8, 20, good.len() / 2] {
            assert_corrupt(decode_metadata(P, &good[..good.len() - cut]));
        }
        // Valid magic at both ends, garbage in between.
        let mut garbage = b"PAR1".to_vec();
        garbage.extend((0..200).map(|_| random() as u8));
        garbage.extend(100u32.to_le_bytes());
        garbage.extend(b"PAR1");
        assert_corrupt(decode_metadata(P, &garbage));
        // A footer length larger than the file.
        let mut long = good.clone();
        let at = long.len() - 8;
        long[at..at + 4].copy_from_slice(&(good.len() as u32).to_le_bytes());
        assert_corrupt(decode_metadata(P, &long));
        // Larger than the limit.
        long[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_metadata(P, &long),
            Err(ParquetMetaError::FooterTooLarge { .. })
        ));
        // Encrypted footer.
        let mut enc = good.clone();
        let n = enc.len();
        enc[n - 4..].copy_from_slice(b"PARE");
        assert!(matches!(
            decode_metadata(P, &enc),
            Err(ParquetMetaError::Encrypted { .. })
        ));
        // Not starting with the magic.
        let mut head = good.clone();
        head[0] = b'X';
        assert_corrupt(decode_metadata(P, &head));
    }

    #[test]
    fn damaged_footers_never_panic() {
        let good = small_file();
        let footer_len =
            u32::from_le_bytes(good[good.len() - 8..good.len() - 4].try_into().unwrap()) as usize;
        let footer_start = good.len() - 8 - footer_len;
        let schema = table_schema(&footer(&good));
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut random = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut decoded = 0;
        for _ in 0..2000 {
            let mut bytes = good.clone();
            for _ in 0..(1 + random() % 4) {
                let at = footer_start + (random() as usize % footer_len);
                bytes[at] = random() as u8;
            }
            if let Ok(meta) = decode_metadata(P, &bytes) {
                decoded += 1;
                if let Ok(arrow) = file_schema(P, &meta) {
                    let _ = delta_schema(P, &arrow);
                }
                let _ = stats(P, &meta, &schema, &all_columns());
            }
        }
        // Some mutations hit fields that do not matter; most do.
        assert!(decoded < 2000);
    }

    #[test]
    fn inconsistent_row_counts_are_corrupt() {
        let meta = footer(&small_file());
        let file = meta.file_metadata();
        let lying = ParquetMetaData::new(
            FileMetaData::new(
                file.version(),
                file.num_rows() + 1,
                None,
                None,
                file.schema_descr_ptr(),
                file.column_orders().cloned(),
            ),
            meta.row_groups().to_vec(),
        );
        let err = validate(P, &lying).unwrap_err();
        assert!(err.to_string().contains("4 rows"), "{err}");
    }

    // ----- object store -------------------------------------------------

    #[tokio::test]
    async fn reads_the_footer_from_an_object_store() {
        let store = InMemory::new();
        let path = Path::from("t/part-0.parquet");

        // Small file: one request covers it.
        let bytes = small_file();
        store.put(&path, bytes.clone().into()).await.unwrap();
        let meta = read_metadata(&store, &path, bytes.len() as u64, path.as_ref())
            .await
            .unwrap();
        assert_eq!(meta.file_metadata().num_rows(), 3);

        // Footer bigger than the prefetch: a second request.
        let fields: Vec<Field> = (0..3000)
            .map(|i| {
                field(
                    &format!("column_with_a_long_name_{i}"),
                    ArrowType::Int64,
                    true,
                )
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let columns: Vec<ArrayRef> = (0..3000)
            .map(|i| Arc::new(Int64Array::from(vec![i, i + 1])) as ArrayRef)
            .collect();
        let big = write(&schema, &[batch(&schema, columns)], props());
        let footer_len = u32::from_le_bytes(big[big.len() - 8..big.len() - 4].try_into().unwrap());
        assert!(u64::from(footer_len) > FOOTER_PREFETCH);
        store.put(&path, big.clone().into()).await.unwrap();
        let meta = read_metadata(&store, &path, big.len() as u64, path.as_ref())
            .await
            .unwrap();
        assert_eq!(meta.file_metadata().schema_descr().num_columns(), 3000);
        let table = table_schema(&meta);
        let v = stats_value(&meta, &table, &StatsConfig::default());
        assert_eq!(v["maxValues"].as_object().unwrap().len(), 32);
        assert_eq!(v["maxValues"]["column_with_a_long_name_31"], json!(32));

        // The size in the event is wrong (object replaced or truncated).
        let err = read_metadata(&store, &path, big.len() as u64 + 10, path.as_ref())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ParquetMetaError::Io { .. } | ParquetMetaError::CorruptFooter { .. }
            ),
            "{err:?}"
        );
        let err = read_metadata(&store, &path, 5, path.as_ref())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ParquetMetaError::CorruptFooter { .. }),
            "{err:?}"
        );

        // Gone.
        let err = read_metadata(&store, &Path::from("t/nope.parquet"), 100, "t/nope.parquet")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ParquetMetaError::Io {
                    source: object_store::Error::NotFound { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("t/nope.parquet"));
    }
}
