//! Append mode: every stream record becomes one changelog row, exactly once.
//!
//! # Idempotency
//!
//! A row is identified by its record's `(SequenceNumber, eventID)`
//! ([`changes::row_id`]). Before writing, the rows already in the table are
//! found and dropped, so replaying any part of a stream — Lambda retrying a
//! batch after a partial failure, a timeout after the commit landed,
//! bisected batches, a whole-stream replay — adds nothing twice:
//!
//! 1. Data files whose `_seq` statistics (written exactly, all 40 digits)
//!    overlap the batch's sequence numbers, or that have no such statistics,
//!    are read (only their `_seq` and `_event_id` columns). In the usual
//!    case — a batch newer than everything committed — no file is read.
//! 2. Rows not found are written as new data files.
//! 3. At commit time, on the table as it then stands, any file added since
//!    step 1 that overlaps the batch sends us back to step 1 (the files just
//!    written are left unreferenced; VACUUM removes them). So a concurrent
//!    writer committing the same records first is seen too.
//!
//! Sequence numbers (up to 40 digits) do not fit a `txn` version (a signed
//! 64-bit integer), and Lambda records carry no shard id, so a `txn`
//! high-water mark per shard is not possible; the lookup above is exact
//! instead.
//!
//! # Table
//!
//! A new table gets `_op`, `_seq`, `_ts`, `_event_id`, then the key
//! attributes, then the other attributes by name (see [`super::typing`]);
//! `PARTITION_BY` applies when the table is created. Schema evolution lands
//! in the same commit as the rows.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType as ArrowType;
use deltalake::kernel::{Action, MetadataExt, StructType};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableError, ObjectStore};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::arrow::ProjectionMask;
use tracing::{debug, info};

use super::changes::{
    changelog_columns, changelog_input, changelog_rows, row_id, ChangelogRow, EVENT_ID_COLUMN,
    SEQ_COLUMN,
};
use super::record::StreamRecord;
use super::typing::{convert, ConvertError, TypingOptions};
use super::write::{write_data_files, WriteError};
use crate::commit::{columns_of, commit_with_retry, ensure_loaded, CommitError, Plan, RetryPolicy};
use crate::parquet_meta::StatsConfig;
use crate::schema;

/// Data files read at once when looking for rows already committed.
const SCAN_CONCURRENCY: usize = 8;

/// How append mode writes.
#[derive(Debug, Clone, Default)]
pub struct AppendConfig {
    pub typing: TypingOptions,
    /// Partition columns of a new table.
    pub partition_by: Vec<String>,
    pub retry: RetryPolicy,
}

/// What one batch did to the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendReport {
    pub version: Option<u64>,
    pub created: bool,
    pub schema_evolved: bool,
    /// Rows committed.
    pub rows: usize,
    /// Records already in the table, or repeated within the batch.
    pub duplicates: usize,
    pub files: usize,
    /// Data files read to find duplicates.
    pub files_scanned: usize,
    pub retries: u32,
    /// Rescued values per attribute.
    pub rescued: BTreeMap<String, usize>,
}

/// Why a batch could not be appended (every record of it fails).
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error(transparent)]
    Convert(#[from] ConvertError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Commit(#[from] CommitError<Stale>),
    #[error("Delta error: {0}")]
    Delta(#[from] DeltaTableError),
    #[error("reading {path} to find rows already committed failed: {reason}")]
    Scan { path: String, reason: String },
    #[error("the table kept changing under the batch ({0} attempts); is another writer replaying the same stream?")]
    Unsettled(u32),
}

/// The table changed in a way that needs the batch planned again.
#[derive(Debug, thiserror::Error)]
#[error("the table changed: {0}")]
pub struct Stale(String);

/// Append the changelog rows of `records` to `table`, skipping those
/// already in it. `table` is left at the state after the commit.
pub async fn append_changes(
    table: &mut DeltaTable,
    records: &[StreamRecord],
    config: &AppendConfig,
) -> Result<AppendReport, AppendError> {
    let mut report = AppendReport::default();
    let rows = changelog_rows(records);
    report.duplicates = records.len() - rows.len();
    let (Some(lo), Some(hi)) = (
        rows.iter()
            .map(|r| r.seq.as_str())
            .min()
            .map(str::to_string),
        rows.iter()
            .map(|r| r.seq.as_str())
            .max()
            .map(str::to_string),
    ) else {
        return Ok(report);
    };
    let key_names: Vec<String> = records
        .first()
        .map(|r| r.keys.keys().cloned().collect())
        .unwrap_or_default();
    let wanted: HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut present: HashSet<String> = HashSet::new();
    let mut scanned: HashSet<String> = HashSet::new();

    ensure_loaded(table).await?;
    let attempts = config.retry.max_attempts.max(1);
    for attempt in 1..=attempts {
        // 1. Rows already committed.
        let candidates = match table.state.as_ref() {
            Some(state) => overlapping_files(state, &lo, &hi, &scanned),
            None => Vec::new(),
        };
        if !candidates.is_empty() {
            let store = table.object_store();
            let found = futures::stream::iter(candidates)
                .map(|(path, size)| {
                    let store = store.clone();
                    async move {
                        let ids = committed_ids(store, &path, size).await;
                        (path, ids)
                    }
                })
                .buffer_unordered(SCAN_CONCURRENCY)
                .collect::<Vec<_>>()
                .await;
            for (path, ids) in found {
                let ids = ids.map_err(|reason| AppendError::Scan {
                    path: path.clone(),
                    reason,
                })?;
                present.extend(ids.into_iter().filter(|id| wanted.contains(id.as_str())));
                scanned.insert(path);
                report.files_scanned += 1;
            }
        }
        let fresh: Vec<ChangelogRow> = rows
            .iter()
            .filter(|r| !present.contains(&r.id))
            .cloned()
            .collect();
        let already = rows.len() - fresh.len();
        if fresh.is_empty() {
            report.duplicates += already;
            return Ok(report);
        }

        // 2. Write the new rows.
        let (base, partition_columns, stats_config) = match table.state.as_ref() {
            Some(state) => {
                let partitions = state.metadata().partition_columns().to_vec();
                let stats = StatsConfig::from_table(state.metadata().configuration(), &partitions)
                    .unwrap_or_else(|_| StatsConfig {
                        partition_columns: partitions.clone(),
                        ..Default::default()
                    });
                (Some(state.schema().as_ref().clone()), partitions, stats)
            }
            None => (
                None,
                config.partition_by.clone(),
                StatsConfig {
                    partition_columns: config.partition_by.clone(),
                    ..Default::default()
                },
            ),
        };
        let typing = TypingOptions {
            required_columns: partition_columns.clone(),
            ..config.typing.clone()
        };
        let input = changelog_input(&fresh);
        let converted = convert(
            base.as_ref(),
            &changelog_columns(),
            &key_names,
            &input,
            &typing,
        )?;
        let now = chrono::Utc::now().timestamp_millis();
        let files = write_data_files(
            table.object_store(),
            &converted.schema,
            &converted.batch,
            &partition_columns,
            &stats_config,
            &[SEQ_COLUMN],
            now,
        )
        .await?;
        let adds: Vec<Action> = files.iter().map(|f| Action::Add(f.add.clone())).collect();
        let paths: HashSet<String> = files.iter().map(|f| f.add.path.clone()).collect();
        let keys: Vec<&str> = files.iter().map(|f| f.add.path.as_str()).collect();
        crate::failpoint::before_commit(table.table_url().as_str(), &keys).await;

        // 3. Commit, re-checking on the table as it stands.
        let plan = |t: &DeltaTable| -> Result<Plan, Stale> {
            plan_append(
                t,
                &converted.schema,
                &partition_columns,
                &adds,
                &paths,
                (&lo, &hi),
                &scanned,
            )
        };
        match commit_with_retry(table, &config.retry, plan).await {
            Ok(committed) => {
                report.duplicates += already;
                report.rows = fresh.len();
                report.files = files.len();
                report.rescued = converted.rescued;
                if let Some(c) = committed {
                    report.version = Some(c.version);
                    report.created = c.created;
                    report.retries += c.retries;
                    report.schema_evolved = converted.evolved && !c.created;
                }
                return Ok(report);
            }
            Err(CommitError::Plan { source, .. }) => {
                info!(attempt, reason = %source, files = files.len(), "planning the batch again; the files just written stay unreferenced");
                report.retries += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppendError::Unsettled(attempts))
}

fn plan_append(
    table: &DeltaTable,
    schema: &StructType,
    partition_columns: &[String],
    adds: &[Action],
    paths: &HashSet<String>,
    (lo, hi): (&str, &str),
    scanned: &HashSet<String>,
) -> Result<Plan, Stale> {
    let Some(state) = table.state.as_ref() else {
        return Ok(Plan::Create {
            columns: columns_of(schema),
            partition_columns: partition_columns.to_vec(),
            configuration: Vec::new(),
            actions: adds.to_vec(),
            operation: DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: (!partition_columns.is_empty()).then(|| partition_columns.to_vec()),
                predicate: None,
            },
        });
    };
    if state.metadata().partition_columns() != partition_columns {
        return Err(Stale(format!(
            "partition columns are {:?}, the files were written for {partition_columns:?}",
            state.metadata().partition_columns()
        )));
    }
    let mut unseen = overlapping_files(state, lo, hi, scanned);
    unseen.retain(|(p, _)| !paths.contains(p));
    if let Some((path, _)) = unseen.first() {
        return Err(Stale(format!(
            "{} new file(s) may hold these records, e.g. {path}",
            unseen.len()
        )));
    }
    let table_schema = state.schema();
    let mut actions = adds.to_vec();
    match schema::merge(table_schema.as_ref(), schema) {
        Ok(None) => {}
        Ok(Some(merged)) => {
            let metadata = state
                .metadata()
                .clone()
                .with_schema(&merged)
                .map_err(|e| Stale(format!("cannot evolve the schema: {e}")))?;
            actions.insert(0, Action::Metadata(metadata));
        }
        Err(e) => return Err(Stale(format!("the schema changed: {e}"))),
    }
    Ok(Plan::Commit {
        actions,
        operation: DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: None,
            predicate: None,
        },
    })
}

/// Data files not yet scanned whose `_seq` range may overlap `[lo, hi]`.
fn overlapping_files(
    state: &deltalake::table::state::DeltaTableState,
    lo: &str,
    hi: &str,
    scanned: &HashSet<String>,
) -> Vec<(String, u64)> {
    state
        .log_data()
        .iter()
        .filter_map(|f| {
            let path = f.path().into_owned();
            if scanned.contains(&path) {
                return None;
            }
            if let Some((min, max)) = f.stats().as_deref().and_then(seq_bounds) {
                if max.as_str() < lo || min.as_str() > hi {
                    return None;
                }
            }
            Some((path, u64::try_from(f.size()).unwrap_or(0)))
        })
        .collect()
}

/// `minValues._seq` and `maxValues._seq` of an `add.stats` JSON.
fn seq_bounds(stats: &str) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(stats).ok()?;
    if v.get("numRecords").and_then(serde_json::Value::as_i64) == Some(0) {
        // No rows: nothing to overlap.
        return Some((String::from("~"), String::new()));
    }
    let min = v.get("minValues")?.get(SEQ_COLUMN)?.as_str()?.to_string();
    let max = v.get("maxValues")?.get(SEQ_COLUMN)?.as_str()?.to_string();
    Some((min, max))
}

/// The row ids (`_seq` + `_event_id`) in one data file; a file without a
/// `_seq` column (not written by this function) has none.
async fn committed_ids(
    store: Arc<dyn ObjectStore>,
    path: &str,
    size: u64,
) -> Result<Vec<String>, String> {
    let location = crate::oxbow::object_path(path);
    let size = if size > 0 {
        size
    } else {
        store.head(&location).await.map_err(|e| e.to_string())?.size
    };
    let reader = crate::parquet_meta::StoreReader::new(store, location, size);
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| e.to_string())?;
    let leaves: Vec<usize> = builder
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            let parts = c.path().parts();
            parts.len() == 1
                && matches!(
                    parts.first().map(String::as_str),
                    Some(SEQ_COLUMN | EVENT_ID_COLUMN)
                )
        })
        .map(|(i, _)| i)
        .collect();
    if leaves.is_empty() {
        return Ok(Vec::new());
    }
    let mask = ProjectionMask::leaves(builder.metadata().file_metadata().schema_descr(), leaves);
    let mut stream = builder
        .with_projection(mask)
        .build()
        .map_err(|e| e.to_string())?;
    let mut ids = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| e.to_string())?;
        let column = |name: &str| -> Result<Option<arrow::array::ArrayRef>, String> {
            batch
                .column_by_name(name)
                .map(|c| arrow::compute::cast(c, &ArrowType::Utf8).map_err(|e| e.to_string()))
                .transpose()
        };
        let (Some(seqs), events) = (column(SEQ_COLUMN)?, column(EVENT_ID_COLUMN)?) else {
            continue;
        };
        let Some(seqs) = seqs.as_string_opt::<i32>() else {
            continue;
        };
        let events = events.as_ref().and_then(|e| e.as_string_opt::<i32>());
        for row in 0..seqs.len() {
            if seqs.is_null(row) {
                continue;
            }
            let event = events.filter(|e| e.is_valid(row)).map(|e| e.value(row));
            ids.push(row_id(seqs.value(row), event));
        }
    }
    debug!(path, rows = ids.len(), "scanned for committed records");
    Ok(ids)
}

#[cfg(test)]
mod tests;
