//! oxbow: Parquet files landing in S3 become Delta `add`/`remove` actions.
//!
//! Data files are never read or rewritten: only their footers, for the
//! schema and `add.stats`. For every table touched by a batch of object
//! events:
//!
//! - the last event per key wins (by S3 `sequencer` when every event of the
//!   key has one, otherwise by arrival order);
//! - created files not yet in the table become `add` actions; files already
//!   in it are skipped (redelivery, duplicate notifications, the two events of
//!   a multipart upload), also when another writer added them while we were
//!   retrying a conflict;
//! - removed files that are in the table become `remove` actions; unknown
//!   paths are ignored;
//! - a table that does not exist is created from its first files: schema from
//!   the footers, partition columns from the path (strings, path order);
//! - new columns (top-level or nested) are added as nullable in one metadata
//!   action in the same commit when schema evolution is on;
//! - a file that cannot be read or does not fit the table fails only the
//!   messages that carried it; a table whose commit fails fails every
//!   message that carried one of its files; nothing else is reported.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use deltalake::kernel::{
    Action, Add, DataType, MetadataExt, PrimitiveType, Remove, StructField, StructType,
};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableError, ObjectStore, Path};
use futures::StreamExt;
use tracing::{info, warn};

use crate::commit::{commit_with_retry, CommitError, Plan, RetryPolicy};
use crate::events::{DecodedBatch, ObjectEvent, ObjectEventKind};
use crate::parquet_meta;
use crate::schema;
use crate::table::{classify, DataFile, Ignored, KeyClass, TablePrefixes, TableRoot};
use crate::tables::{Locator, TableCache};

/// How oxbow behaves; built once per container.
#[derive(Debug, Clone)]
pub struct OxbowConfig {
    pub table_prefixes: TablePrefixes,
    pub schema_evolution: bool,
    pub retry: RetryPolicy,
    pub locator: Locator,
    /// Footers read at once per table.
    pub read_concurrency: usize,
}

impl Default for OxbowConfig {
    fn default() -> Self {
        OxbowConfig {
            table_prefixes: TablePrefixes::default(),
            schema_evolution: true,
            retry: RetryPolicy::default(),
            locator: Locator::s3(),
            read_concurrency: 16,
        }
    }
}

/// Why a file or a table failed.
#[derive(Debug, thiserror::Error)]
pub enum OxbowError {
    #[error("{source}")]
    Footer {
        path: String,
        #[source]
        source: parquet_meta::ParquetMetaError,
    },
    #[error("{path}: {source}")]
    Schema {
        path: String,
        #[source]
        source: schema::SchemaError,
    },
    #[error("{path}: column {column:?} is both in the file and a partition segment of its path")]
    PartitionInFile { path: String, column: String },
    #[error("{path}: partition columns {file:?} of the path differ from the table's {table:?}")]
    PartitionMismatch {
        path: String,
        file: Vec<String>,
        table: Vec<String>,
    },
    #[error("{path}: the file has new columns {columns:?} and SCHEMA_EVOLUTION is off")]
    EvolutionOff { path: String, columns: Vec<String> },
    #[error("{path}: cannot read the object: {source}")]
    Object {
        path: String,
        #[source]
        source: deltalake::ObjectStoreError,
    },
    #[error(transparent)]
    Commit(#[from] CommitError<std::convert::Infallible>),
    #[error("table {table}: {source}")]
    Delta {
        table: String,
        #[source]
        source: DeltaTableError,
    },
}

/// What happened to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    pub table: String,
    /// The version committed, if anything was.
    pub version: Option<u64>,
    pub created: bool,
    pub files_added: usize,
    pub files_removed: usize,
    pub bytes_added: u64,
    /// Files skipped because they were already in the table.
    pub already_present: usize,
    pub retries: u32,
    pub schema_evolved: bool,
    pub duration_ms: u64,
    /// Per-file or whole-table errors, as text.
    pub errors: Vec<String>,
}

/// The outcome of one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub tables: Vec<TableReport>,
    /// SQS message ids to report as batch item failures.
    pub failed_messages: Vec<String>,
    /// Keys ignored (not data files, or outside TABLE_PREFIXES).
    pub ignored: usize,
    /// Whether anything failed (also for direct invocations, which have no
    /// message ids and must fail as a whole).
    pub any_failure: bool,
}

/// A created object that is a candidate `add`.
struct Candidate {
    file: DataFile,
    event: ObjectEvent,
    messages: Vec<String>,
}

/// One footer read.
struct FileInfo {
    candidate: Candidate,
    size: u64,
    modification_time: i64,
    schema: StructType,
    meta: Arc<parquet::file::metadata::ParquetMetaData>,
}

/// The oxbow engine: configuration plus the tables kept warm.
pub struct Oxbow {
    pub config: OxbowConfig,
    tables: tokio::sync::Mutex<TableCache>,
}

impl Oxbow {
    pub fn new(config: OxbowConfig) -> Self {
        crate::tables::register_handlers();
        Oxbow {
            config,
            tables: tokio::sync::Mutex::new(TableCache::default()),
        }
    }

    /// Apply a decoded batch. Never fails as a whole: failures are reported
    /// per message in the outcome.
    pub async fn process(&self, batch: &DecodedBatch) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        for f in &batch.failures {
            warn!(message_id = %f.message_id, reason = %f.error, "message failed");
            outcome.failed_messages.push(f.message_id.clone());
            outcome.any_failure = true;
        }

        // Group the events by table; the last event per key wins.
        let mut by_table: BTreeMap<TableRoot, BTreeMap<String, Vec<(DataFile, ObjectEvent)>>> =
            BTreeMap::new();
        for e in &batch.events {
            match classify(&e.bucket, &e.key, &self.config.table_prefixes) {
                KeyClass::Data(file) => by_table
                    .entry(file.table.clone())
                    .or_default()
                    .entry(file.relative_key.clone())
                    .or_default()
                    .push((file, e.clone())),
                KeyClass::Ignored(Ignored::OutsidePrefixes) => {
                    info!(object = %e.url(), "ignored: outside every TABLE_PREFIXES entry");
                    outcome.ignored += 1;
                }
                KeyClass::Ignored(why) => {
                    tracing::debug!(object = %e.url(), reason = %why, "ignored");
                    outcome.ignored += 1;
                }
                KeyClass::Commit { .. } => outcome.ignored += 1,
            }
        }

        let reports = futures::stream::iter(by_table)
            .map(|(root, keys)| self.process_table(root, keys))
            .buffer_unordered(8)
            .collect::<Vec<_>>()
            .await;
        for (report, failed) in reports {
            if !failed.is_empty() || !report.errors.is_empty() {
                outcome.any_failure = true;
            }
            // One line per failed message, keyed by its id, so an operator
            // (or `meander dlq inspect --logs`) can tell why it failed.
            for (id, reason) in failed {
                warn!(message_id = %id, table = %report.table, reason = %reason, "message failed");
                outcome.failed_messages.push(id);
            }
            outcome.tables.push(report);
        }
        outcome.tables.sort_by(|a, b| a.table.cmp(&b.table));
        let mut seen = HashSet::new();
        outcome.failed_messages.retain(|m| seen.insert(m.clone()));
        outcome
    }

    async fn process_table(
        &self,
        root: TableRoot,
        keys: BTreeMap<String, Vec<(DataFile, ObjectEvent)>>,
    ) -> (TableReport, Vec<(String, String)>) {
        let started = Instant::now();
        let mut report = TableReport {
            table: root.uri(),
            version: None,
            created: false,
            files_added: 0,
            files_removed: 0,
            bytes_added: 0,
            already_present: 0,
            retries: 0,
            schema_evolved: false,
            duration_ms: 0,
            errors: Vec::new(),
        };
        let all_messages: Vec<String> = keys
            .values()
            .flatten()
            .filter_map(|(_, e)| e.message_id.clone())
            .collect();

        let all_failed = |reason: &str| -> Vec<(String, String)> {
            all_messages
                .iter()
                .map(|m| (m.clone(), reason.to_string()))
                .collect()
        };
        let url = match self.config.locator.url(&root) {
            Ok(u) => u,
            Err(e) => {
                report.errors.push(e.to_string());
                return (report, all_failed(&e.to_string()));
            }
        };
        report.table = url.to_string().trim_end_matches('/').to_string();
        let mut table = match self.tables.lock().await.take(&url) {
            Ok(t) => t,
            Err(e) => {
                report.errors.push(e.to_string());
                return (report, all_failed(&e.to_string()));
            }
        };

        let (candidates, removals) = last_event_per_key(keys);
        let mut failed: Vec<(String, String)> = Vec::new();

        // Read footers of the created files, a few at a time.
        let store = table.object_store();
        let infos = futures::stream::iter(candidates)
            .map(|c| read_file(store.clone(), c))
            .buffer_unordered(self.config.read_concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        let mut files = Vec::new();
        for r in infos {
            match r {
                Ok(Some(info)) => files.push(info),
                Ok(None) => {}
                Err((messages, err)) => {
                    if messages.is_empty() {
                        warn!(table = %report.table, error = %err, "file rejected");
                    }
                    report.errors.push(err.to_string());
                    failed.extend(messages.into_iter().map(|m| (m, err.to_string())));
                }
            }
        }

        let result = self
            .commit_table(&mut table, files, removals, &mut report, &mut failed)
            .await;
        match result {
            Ok(()) => {}
            Err(e) => {
                warn!(table = %report.table, error = %e, "table failed");
                report.errors.push(e.to_string());
                failed = all_failed(&e.to_string());
                // The state may be half-updated; drop it so the next
                // invocation starts clean.
                table.state = None;
            }
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        if report.version.is_some() {
            info!(
                table = %report.table,
                version = report.version,
                created = report.created,
                files_added = report.files_added,
                files_removed = report.files_removed,
                bytes = report.bytes_added,
                already_present = report.already_present,
                retries = report.retries,
                schema_evolved = report.schema_evolved,
                duration_ms = report.duration_ms,
                "committed"
            );
        } else if report.errors.is_empty() {
            info!(
                table = %report.table,
                already_present = report.already_present,
                "nothing to commit"
            );
        }
        self.tables.lock().await.put(url, table);
        (report, failed)
    }

    async fn commit_table(
        &self,
        table: &mut DeltaTable,
        files: Vec<FileInfo>,
        removals: Vec<(DataFile, ObjectEvent)>,
        report: &mut TableReport,
        failed: &mut Vec<(String, String)>,
    ) -> Result<(), OxbowError> {
        if files.is_empty() && removals.is_empty() {
            return Ok(());
        }
        let exists = crate::commit::ensure_loaded(table)
            .await
            .map_err(|source| OxbowError::Delta {
                table: report.table.clone(),
                source,
            })?;
        // Stats follow the table's data-skipping settings (defaults for a new table).
        let stats_config = match (exists, table.state.as_ref()) {
            (true, Some(state)) => parquet_meta::StatsConfig::from_table(
                state.metadata().configuration(),
                state.metadata().partition_columns(),
            )
            .unwrap_or_else(|e| {
                warn!(table = %report.table, error = %e, "default statistics settings used");
                parquet_meta::StatsConfig::default()
            }),
            _ => parquet_meta::StatsConfig {
                partition_columns: files
                    .first()
                    .map(|f| f.candidate.file.partition_columns())
                    .unwrap_or_default(),
                ..Default::default()
            },
        };
        let adds: Vec<(FileInfo, Add)> = files
            .into_iter()
            .map(|info| {
                let add = Add {
                    path: info.candidate.file.relative_key.clone(),
                    partition_values: info
                        .candidate
                        .file
                        .partition_values
                        .iter()
                        .cloned()
                        .collect(),
                    size: info.size as i64,
                    modification_time: info.modification_time,
                    data_change: true,
                    ..Default::default()
                };
                (info, add)
            })
            .collect();

        let evolution = self.config.schema_evolution;
        let mut file_errors: Vec<(Vec<String>, OxbowError)> = Vec::new();
        let mut last_plan = PlanSummary::default();
        let mut plan = |table: &DeltaTable| {
            let (plan, errors, summary) =
                plan_commit(table, &adds, &removals, evolution, &stats_config);
            file_errors = errors;
            last_plan = summary;
            Ok::<_, std::convert::Infallible>(plan)
        };
        // A transient storage error on the commit (throttling, a reset
        // connection) may hide a commit that landed: plan again on the table
        // as it now stands, where files already added are skipped.
        let mut transient = 0u32;
        let committed = loop {
            match commit_with_retry(table, &self.config.retry, &mut plan).await {
                Err(CommitError::Delta { source, .. })
                    if crate::commit::is_transient(&source)
                        && transient + 1 < self.config.retry.max_attempts.min(10) =>
                {
                    transient += 1;
                    warn!(table = %report.table, error = %source, attempt = transient, "commit failed on a transient storage error; re-planning");
                    tokio::time::sleep(self.config.retry.delay(transient)).await;
                    if table.state.is_some() {
                        if let Err(e) = table.update_incremental(None).await {
                            warn!(table = %report.table, error = %e, "table refresh failed; retrying on the state held");
                        }
                    }
                }
                other => break other?,
            }
        };

        for (messages, err) in file_errors {
            if messages.is_empty() {
                warn!(table = %report.table, error = %err, "file rejected");
            }
            report.errors.push(err.to_string());
            failed.extend(messages.into_iter().map(|m| (m, err.to_string())));
        }
        report.already_present = last_plan.already_present;
        if let Some(c) = committed {
            report.version = Some(c.version);
            report.created = c.created;
            report.retries = c.retries;
            report.files_added = last_plan.added;
            report.files_removed = last_plan.removed;
            report.bytes_added = last_plan.bytes;
            report.schema_evolved = last_plan.evolved;
        }
        Ok(())
    }
}

#[derive(Debug, Default, Clone)]
struct PlanSummary {
    added: usize,
    removed: usize,
    bytes: u64,
    already_present: usize,
    evolved: bool,
}

/// Pick the event that stands for each key.
fn last_event_per_key(
    keys: BTreeMap<String, Vec<(DataFile, ObjectEvent)>>,
) -> (Vec<Candidate>, Vec<(DataFile, ObjectEvent)>) {
    let mut created = Vec::new();
    let mut removed = Vec::new();
    for (_, mut events) in keys {
        let messages: Vec<String> = events
            .iter()
            .filter_map(|(_, e)| e.message_id.clone())
            .collect();
        if events.iter().all(|(_, e)| e.sequencer.is_some()) {
            // Sequencers of one key compare as hex strings of the same
            // length; pad to compare ones of different lengths.
            events.sort_by(|(_, a), (_, b)| {
                let (a, b) = (
                    a.sequencer.as_deref().unwrap_or_default(),
                    b.sequencer.as_deref().unwrap_or_default(),
                );
                a.len().cmp(&b.len()).then_with(|| a.cmp(b))
            });
        }
        let Some((file, event)) = events.pop() else {
            continue;
        };
        match event.kind {
            ObjectEventKind::Created => created.push(Candidate {
                file,
                event,
                messages,
            }),
            ObjectEventKind::Removed => removed.push((file, event)),
        }
    }
    (created, removed)
}

async fn read_file(
    store: Arc<dyn ObjectStore>,
    c: Candidate,
) -> Result<Option<FileInfo>, (Vec<String>, OxbowError)> {
    let path = object_path(&c.file.relative_key);
    let url = c.event.url();
    let fail = |e: OxbowError| (c.messages.clone(), e);
    // One suffix GET gives the footer and the object's current size; the
    // event's size is not trusted (the key may have been overwritten since).
    let footer = match parquet_meta::read_footer(store.as_ref(), &path, &url).await {
        Ok(f) => f,
        Err(parquet_meta::ParquetMetaError::Io {
            source: deltalake::ObjectStoreError::NotFound { .. },
            ..
        }) => {
            warn!(object = %url, "object no longer exists; not added");
            return Ok(None);
        }
        Err(source) => {
            return Err(fail(OxbowError::Footer {
                path: url.clone(),
                source,
            }))
        }
    };
    let meta = footer.metadata;
    let schema = parquet_meta::file_schema(&url, &meta)
        .and_then(|s| parquet_meta::delta_schema(&url, &s))
        .map_err(|source| {
            fail(OxbowError::Footer {
                path: url.clone(),
                source,
            })
        })?;
    for (col, _) in &c.file.partition_values {
        if schema.fields().any(|f| f.name().eq_ignore_ascii_case(col)) {
            return Err(fail(OxbowError::PartitionInFile {
                path: url.clone(),
                column: col.clone(),
            }));
        }
    }
    let modification_time = c
        .event
        .event_time
        .map(|t| t.timestamp_millis())
        .unwrap_or(footer.last_modified_ms);
    Ok(Some(FileInfo {
        candidate: c,
        size: footer.size,
        modification_time,
        schema,
        meta,
    }))
}

/// The object store path of a key relative to the table root, the same way
/// delta-rs resolves `add.path`.
pub fn object_path(relative_key: &str) -> Path {
    Path::parse(relative_key).unwrap_or_else(|_| Path::from(relative_key))
}

type FileErrors = Vec<(Vec<String>, OxbowError)>;

/// Attach `add.stats`, computed against the (merged) table schema. Stats are
/// an optimisation: a file whose stats cannot be built is added without.
fn with_stats(
    mut add: Add,
    info: &FileInfo,
    schema: &StructType,
    config: &parquet_meta::StatsConfig,
) -> Add {
    let url = info.candidate.event.url();
    match parquet_meta::stats(&url, &info.meta, schema, config) {
        Ok(stats) => add.stats = Some(stats),
        Err(e) => warn!(error = %e, "file added without stats"),
    }
    add
}

/// Decide the commit on the table as it now stands.
fn plan_commit(
    table: &DeltaTable,
    adds: &[(FileInfo, Add)],
    removals: &[(DataFile, ObjectEvent)],
    evolution: bool,
    stats_config: &parquet_meta::StatsConfig,
) -> (Plan, FileErrors, PlanSummary) {
    let mut errors: FileErrors = Vec::new();
    let mut summary = PlanSummary::default();

    // Which of our paths are live in the table (one pass over its files).
    let wanted: HashSet<&str> = adds
        .iter()
        .map(|(_, a)| a.path.as_str())
        .chain(removals.iter().map(|(f, _)| f.relative_key.as_str()))
        .collect();
    let mut live: HashMap<String, (i64, HashMap<String, Option<String>>)> = HashMap::new();
    if let Some(state) = table.state.as_ref() {
        for f in state.log_data().iter() {
            let p = f.path();
            if wanted.contains(p.as_ref()) {
                live.insert(p.into_owned(), (f.size(), f.partition_values_map()));
            }
        }
    }

    let Some(state) = table.state.as_ref() else {
        // New table: schema from the first file, evolved by the others.
        let Some((first, _)) = adds.first() else {
            return (Plan::Nothing, errors, summary);
        };
        let partition_columns = first.candidate.file.partition_columns();
        let mut schema = first.schema.clone();
        let mut actions = Vec::new();
        for (info, add) in adds {
            let url = info.candidate.event.url();
            if info.candidate.file.partition_columns() != partition_columns {
                errors.push((
                    info.candidate.messages.clone(),
                    OxbowError::PartitionMismatch {
                        path: url,
                        file: info.candidate.file.partition_columns(),
                        table: partition_columns.clone(),
                    },
                ));
                continue;
            }
            match schema::merge(&schema, &info.schema) {
                Ok(None) => {}
                Ok(Some(merged)) => schema = merged,
                Err(source) => {
                    errors.push((
                        info.candidate.messages.clone(),
                        OxbowError::Schema { path: url, source },
                    ));
                    continue;
                }
            }
            summary.added += 1;
            summary.bytes += info.size;
            actions.push(Action::Add(with_stats(
                add.clone(),
                info,
                &schema,
                stats_config,
            )));
        }
        if actions.is_empty() {
            return (Plan::Nothing, errors, summary);
        }
        let mut columns: Vec<StructField> = schema.fields().cloned().collect();
        for p in &partition_columns {
            columns.push(StructField::nullable(
                p.clone(),
                DataType::Primitive(PrimitiveType::String),
            ));
        }
        let plan = Plan::Create {
            columns,
            partition_columns: partition_columns.clone(),
            configuration: Vec::new(),
            actions,
            operation: DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: Some(partition_columns),
                predicate: None,
            },
        };
        return (plan, errors, summary);
    };

    let table_schema = state.schema();
    let table_partitions: Vec<String> = state.metadata().partition_columns().to_vec();
    let mut schema: StructType = table_schema.as_ref().clone();
    let mut actions = Vec::new();
    for (info, add) in adds {
        if live.contains_key(&add.path) {
            summary.already_present += 1;
            continue;
        }
        let url = info.candidate.event.url();
        let file_partitions = info.candidate.file.partition_columns();
        let same = file_partitions.len() == table_partitions.len()
            && file_partitions
                .iter()
                .zip(&table_partitions)
                .all(|(a, b)| a.eq_ignore_ascii_case(b));
        if !same {
            errors.push((
                info.candidate.messages.clone(),
                OxbowError::PartitionMismatch {
                    path: url,
                    file: file_partitions,
                    table: table_partitions.clone(),
                },
            ));
            continue;
        }
        match schema::merge(&schema, &info.schema) {
            Ok(None) => {}
            Ok(Some(merged)) if evolution => schema = merged,
            Ok(Some(merged)) => {
                let columns = merged
                    .fields()
                    .filter(|f| schema.field(f.name()).is_none())
                    .map(|f| f.name().to_string())
                    .collect::<Vec<_>>();
                errors.push((
                    info.candidate.messages.clone(),
                    OxbowError::EvolutionOff { path: url, columns },
                ));
                continue;
            }
            Err(source) => {
                errors.push((
                    info.candidate.messages.clone(),
                    OxbowError::Schema { path: url, source },
                ));
                continue;
            }
        }
        // Use the table's spelling of partition columns.
        let mut add = add.clone();
        add.partition_values = table_partitions
            .iter()
            .zip(info.candidate.file.partition_values.iter())
            .map(|(t, (_, v))| (t.clone(), v.clone()))
            .collect();
        summary.added += 1;
        summary.bytes += info.size;
        actions.push(Action::Add(with_stats(add, info, &schema, stats_config)));
    }
    for (file, event) in removals {
        let Some((size, partition_values)) = live.get(&file.relative_key) else {
            continue;
        };
        summary.removed += 1;
        actions.push(Action::Remove(Remove {
            path: file.relative_key.clone(),
            data_change: true,
            deletion_timestamp: Some(
                event
                    .event_time
                    .map(|t| t.timestamp_millis())
                    .unwrap_or_else(|| chrono::Utc::now().timestamp_millis()),
            ),
            extended_file_metadata: Some(true),
            partition_values: Some(partition_values.clone()),
            size: Some(*size),
            ..Default::default()
        }));
    }
    if actions.is_empty() {
        return (Plan::Nothing, errors, summary);
    }
    if schema != *table_schema {
        match state.metadata().clone().with_schema(&schema) {
            Ok(metadata) => {
                summary.evolved = true;
                actions.insert(0, Action::Metadata(metadata));
            }
            Err(e) => {
                warn!(error = %e, "could not build the evolved metadata");
                return (Plan::Nothing, errors, summary);
            }
        }
    }
    let operation = if summary.removed > 0 && summary.added == 0 {
        DeltaOperation::Delete { predicate: None }
    } else {
        DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: None,
            predicate: None,
        }
    };
    (Plan::Commit { actions, operation }, errors, summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::decode_payload;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use arrow::record_batch::RecordBatch;
    use serde_json::json;

    fn write_parquet(path: &std::path::Path, columns: Vec<(&str, ArrayRef)>) -> u64 {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let file = std::fs::File::create(path).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        std::fs::metadata(path).unwrap().len()
    }

    fn ids(n: std::ops::Range<i64>) -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(n))
    }

    fn strings(v: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from_iter_values(v.iter().copied()))
    }

    /// An SQS batch, one message per (id, key, event name, sequencer).
    fn batch(records: &[(&str, &str, &str, Option<&str>)]) -> DecodedBatch {
        let messages: Vec<_> = records
            .iter()
            .map(|(id, key, name, seq)| {
                // No size: oxbow asks the store (HEAD), as for emulators.
                let mut object = json!({ "key": key });
                if let Some(s) = seq {
                    object["sequencer"] = json!(s);
                }
                json!({
                    "messageId": id,
                    "eventSource": "aws:sqs",
                    "body": json!({"Records": [{
                        "eventSource": "aws:s3", "eventName": name,
                        "eventTime": "2026-11-02T10:00:00.000Z",
                        "s3": {"bucket": {"name": "bkt"}, "object": object}
                    }]}).to_string()
                })
            })
            .collect();
        decode_payload(&json!({ "Records": messages })).unwrap()
    }

    fn engine(dir: &std::path::Path) -> Oxbow {
        Oxbow::new(OxbowConfig {
            locator: Locator::local(dir),
            ..OxbowConfig::default()
        })
    }

    async fn table_files(dir: &std::path::Path, prefix: &str) -> (u64, Vec<String>) {
        let url = url::Url::from_directory_path(dir.join("bkt").join(prefix)).unwrap();
        let mut t = crate::tables::open_handle(&url).unwrap();
        t.load().await.unwrap();
        let state = t.snapshot().unwrap();
        let mut files: Vec<String> = state
            .log_data()
            .iter()
            .map(|f| f.path().into_owned())
            .collect();
        files.sort();
        (t.version().unwrap(), files)
    }

    #[tokio::test]
    async fn incompatible_type_fails_only_that_file_naming_file_column_and_types() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("bkt");
        write_parquet(&root.join("t/a.parquet"), vec![("id", ids(0..3))]);
        let ox = engine(dir.path());
        let out = ox
            .process(&batch(&[("m1", "t/a.parquet", "ObjectCreated:Put", None)]))
            .await;
        assert!(out.failed_messages.is_empty(), "{out:?}");

        write_parquet(&root.join("t/b.parquet"), vec![("id", strings(&["x"]))]);
        write_parquet(
            &root.join("t/c.parquet"),
            vec![("id", ids(3..5)), ("extra", strings(&["p", "q"]))],
        );
        let out = ox
            .process(&batch(&[
                ("m2", "t/b.parquet", "ObjectCreated:Put", None),
                ("m3", "t/c.parquet", "ObjectCreated:Put", None),
            ]))
            .await;
        assert_eq!(out.failed_messages, ["m2"]);
        let err = out.tables[0].errors.join("\n");
        assert!(err.contains("t/b.parquet") && err.contains("id"), "{err}");
        assert!(err.contains("long") && err.contains("string"), "{err}");
        assert!(out.tables[0].schema_evolved);
        let (version, files) = table_files(dir.path(), "t").await;
        assert_eq!(version, 1);
        assert_eq!(files, ["a.parquet", "c.parquet"]);
    }

    #[tokio::test]
    async fn tables_fail_alone_and_prefixes_guard_the_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("bkt");
        write_parquet(&root.join("in/good/x.parquet"), vec![("id", ids(0..2))]);
        std::fs::create_dir_all(root.join("in/bad")).unwrap();
        std::fs::write(root.join("in/bad/y.parquet"), b"PAR1 not really PAR1").unwrap();
        write_parquet(&root.join("elsewhere/z.parquet"), vec![("id", ids(0..2))]);
        let ox = Oxbow::new(OxbowConfig {
            locator: Locator::local(dir.path()),
            table_prefixes: TablePrefixes::parse(&["s3://bkt/in/good", "s3://bkt/in/bad"]).unwrap(),
            ..OxbowConfig::default()
        });
        let out = ox
            .process(&batch(&[
                ("good", "in/good/x.parquet", "ObjectCreated:Put", None),
                ("bad", "in/bad/y.parquet", "ObjectCreated:Put", None),
                ("outside", "elsewhere/z.parquet", "ObjectCreated:Put", None),
            ]))
            .await;
        assert_eq!(out.failed_messages, ["bad"]);
        assert_eq!(out.ignored, 1);
        assert_eq!(table_files(dir.path(), "in/good").await.1, ["x.parquet"]);
        assert!(!root.join("elsewhere/_delta_log").exists());
    }

    #[tokio::test]
    async fn the_last_event_per_key_wins_and_partitions_must_match() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("bkt");
        write_parquet(&root.join("p/ds=1/a.parquet"), vec![("id", ids(0..2))]);
        write_parquet(&root.join("p/ds=1/b.parquet"), vec![("id", ids(2..4))]);
        let ox = engine(dir.path());
        // b is created then removed (by sequencer, though delivered in
        // reverse): it must not be added.
        let out = ox
            .process(&batch(&[
                ("m1", "p/ds=1/a.parquet", "ObjectCreated:Put", Some("0A")),
                ("m2", "p/ds=1/b.parquet", "ObjectRemoved:Delete", Some("0C")),
                ("m3", "p/ds=1/b.parquet", "ObjectCreated:Put", Some("0B")),
            ]))
            .await;
        assert!(out.failed_messages.is_empty(), "{out:?}");
        assert_eq!(table_files(dir.path(), "p").await.1, ["ds=1/a.parquet"]);

        // A file whose path has other partition columns than the table's.
        write_parquet(&root.join("p/region=eu/c.parquet"), vec![("id", ids(4..5))]);
        let out = ox
            .process(&batch(&[(
                "m4",
                "p/region=eu/c.parquet",
                "ObjectCreated:Put",
                None,
            )]))
            .await;
        assert_eq!(out.failed_messages, ["m4"]);
        assert!(
            out.tables[0].errors[0].contains("region"),
            "{:?}",
            out.tables[0].errors
        );
    }

    #[tokio::test]
    async fn checkpoints_follow_the_table_interval() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("bkt");
        let ox = engine(dir.path());
        write_parquet(&root.join("c/f0.parquet"), vec![("id", ids(0..1))]);
        let out = ox
            .process(&batch(&[("m0", "c/f0.parquet", "ObjectCreated:Put", None)]))
            .await;
        assert!(out.failed_messages.is_empty());
        // Another writer sets a checkpoint interval of 2.
        let url = url::Url::from_directory_path(root.join("c")).unwrap();
        let mut t = crate::tables::open_handle(&url).unwrap();
        t.load().await.unwrap();
        let _ = t
            .set_tbl_properties()
            .with_properties(HashMap::from([(
                "delta.checkpointInterval".to_string(),
                "2".to_string(),
            )]))
            .await
            .unwrap();
        for i in 1..=3 {
            let key = format!("c/f{i}.parquet");
            write_parquet(&root.join(&key), vec![("id", ids(i..i + 1))]);
            let out = ox
                .process(&batch(&[("m", &key, "ObjectCreated:Put", None)]))
                .await;
            assert!(out.failed_messages.is_empty(), "{out:?}");
        }
        let log: Vec<String> = std::fs::read_dir(root.join("c/_delta_log"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        // Versions 0..=4; delta-rs checkpoints after every 2nd commit
        // ((version + 1) % interval == 0): oxbow wrote the one at 3. No
        // commit was cleaned up.
        assert!(
            log.iter()
                .any(|f| f == "00000000000000000003.checkpoint.parquet"),
            "{log:?}"
        );
        assert!(
            log.iter().any(|f| f == "00000000000000000000.json"),
            "{log:?}"
        );
        assert_eq!(table_files(dir.path(), "c").await.1.len(), 4);
    }
}
