//! Applying a source table's DMS files to its Delta table.
//!
//! One catch-up ([`apply_table`]): list the table's DMS folder, read the
//! ledger from the Delta log, plan ([`meander::dms::plan`]), and commit the
//! first step — full-load files appended (`WRITE`), CDC files merged on the
//! key columns (`MERGE`, [`meander::merge`]) — with the ledger's `txn`s in
//! the same commit. Then read the ledger again and go on until the notified
//! file is applied. A conflicting commit (another invocation on the same
//! table) is retried with backoff on the new table state, where the ledger
//! says what that other invocation already applied.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use bytes::Bytes;
use deltalake::kernel::transaction::CommitBuilder;
use deltalake::kernel::{Action, Transaction};
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableError, ObjectStore, Path};
use futures::{StreamExt, TryStreamExt};
use meander::commit::{ensure_loaded, is_conflict, is_transient, table_props, RetryPolicy};
use meander::dms::config::TableDefinition;
use meander::dms::decode::{decode, CsvOptions, DecodedFile, Layout};
use meander::dms::names::{classify, DmsFile, KeyClass, SourceTable};
use meander::dms::plan::{app_ids, plan, Ledger, Limits, Listed, Step};
use meander::dms::reduce::{latest_per_key, load_rows};
use meander::merge::{merge_rows, MergeSpec};
use meander::table::TableRoot;
use meander::tables::{open_handle, Locator};
use object_store::ObjectStoreExt;
use tracing::{info, warn};

/// The MERGE source's delete flag (never a table column).
pub const DELETED_FLAG: &str = "__dms_merge_deleted";

/// Files read at once.
const READ_CONCURRENCY: usize = 8;

/// One source table's catch-up.
#[derive(Debug, Clone)]
pub struct TableJob<'a> {
    pub source: &'a SourceTable,
    /// Apply up to and including this file.
    pub upto: &'a DmsFile,
    pub keys: &'a [String],
    pub timestamp_column: Option<&'a str>,
    pub csv: &'a CsvOptions,
    pub definition: Option<&'a TableDefinition>,
    pub retry: &'a RetryPolicy,
    pub limits: Limits,
    pub locator: &'a Locator,
}

/// What a catch-up did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    /// The ledger at the end.
    pub ledger: Ledger,
    pub files_applied: usize,
    pub commits: usize,
    pub retries: u32,
}

/// A catch-up that stopped: what is applied, and why it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError {
    pub ledger: Ledger,
    pub error: String,
}

impl TableError {
    /// Failed before the ledger was read: nothing counts as applied.
    pub fn before_start(error: String) -> Self {
        TableError {
            ledger: Ledger::default(),
            error,
        }
    }
}

fn bucket_store(locator: &Locator, bucket: &str) -> Result<Arc<dyn ObjectStore>, String> {
    let url = locator
        .url(&TableRoot {
            bucket: bucket.to_string(),
            prefix: String::new(),
        })
        .map_err(|e| e.to_string())?;
    Ok(open_handle(&url).map_err(|e| e.to_string())?.object_store())
}

/// Read one object (the table definition).
pub async fn read_object(locator: &Locator, bucket: &str, key: &str) -> Result<Bytes, String> {
    let store = bucket_store(locator, bucket)?;
    let got = store
        .get(&Path::from(key))
        .await
        .map_err(|e| e.to_string())?;
    got.bytes().await.map_err(|e| e.to_string())
}

/// The DMS data files directly in the source table's folder.
async fn list_folder(store: &dyn ObjectStore, source: &SourceTable) -> Result<Vec<Listed>, String> {
    let prefix = Path::from(source.key_prefix().trim_end_matches('/'));
    let listed = store
        .list_with_delimiter(Some(&prefix))
        .await
        .map_err(|e| format!("listing {source}: {e}"))?;
    Ok(listed
        .objects
        .into_iter()
        .filter_map(|o| match classify(&source.bucket, o.location.as_ref()) {
            KeyClass::Data(file) if &file.table == source => Some(Listed { file, size: o.size }),
            _ => None,
        })
        .collect())
}

async fn read_ledger(table: &DeltaTable, source: &SourceTable) -> Result<Ledger, DeltaTableError> {
    let Some(state) = table.state.as_ref() else {
        return Ok(Ledger::default());
    };
    let (applied, loads) = app_ids(&source.uri());
    let log = table.log_store();
    Ok(Ledger {
        applied: state.transaction_version(log.as_ref(), &applied).await?,
        loads: state.transaction_version(log.as_ref(), &loads).await?,
    })
}

/// The `txn`s recording `after`.
fn ledger_txns(source: &SourceTable, step: &Step, after: Ledger) -> Vec<Transaction> {
    let now = chrono_ms();
    let (applied, loads) = app_ids(&source.uri());
    let mut txns = Vec::new();
    if let Some(a) = after.applied {
        txns.push(Transaction::new_with_last_update(applied, a, Some(now)));
    }
    if let (Step::Append(_), Some(l)) = (step, after.loads) {
        txns.push(Transaction::new_with_last_update(loads, l, Some(now)));
    }
    txns
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

enum StepError {
    Conflict(DeltaTableError),
    /// A transient storage error (5xx, reset, lost answer): the commit may
    /// have landed; the re-plan reads the ledger, which says whether it did.
    Transient(DeltaTableError),
    Failed(String),
}

impl From<DeltaTableError> for StepError {
    fn from(e: DeltaTableError) -> Self {
        if is_conflict(&e) {
            StepError::Conflict(e)
        } else if is_transient(&e) {
            StepError::Transient(e)
        } else {
            StepError::Failed(format!("Delta: {e}"))
        }
    }
}

/// Write `batch` (possibly empty) with schema merging, and `txns`.
async fn write(
    table: &mut DeltaTable,
    batch: RecordBatch,
    txns: Vec<Transaction>,
) -> Result<(), DeltaTableError> {
    let props = table_props(table).with_application_transactions(txns);
    let written = table
        .clone()
        .write(vec![batch])
        .with_save_mode(SaveMode::Append)
        .with_schema_mode(SchemaMode::Merge)
        .with_commit_properties(props)
        .await?;
    *table = written;
    Ok(())
}

/// Commit only the ledger (files without rows): a `txn`-only commit.
async fn commit_ledger(
    table: &mut DeltaTable,
    txns: Vec<Transaction>,
) -> Result<(), DeltaTableError> {
    let state = table
        .state
        .as_ref()
        .ok_or(DeltaTableError::NotInitialized)?;
    let done = CommitBuilder::from(table_props(table))
        .with_actions(txns.into_iter().map(Action::Txn).collect())
        .build(
            Some(state),
            table.log_store(),
            DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: None,
                predicate: None,
            },
        )
        .await?;
    table.state = Some(done.snapshot());
    Ok(())
}

/// Whether the table lacks the table or one of `batch`'s columns.
fn needs_schema(table: &DeltaTable, batch: &RecordBatch) -> bool {
    match table.state.as_ref() {
        None => true,
        Some(s) => {
            let schema = s.schema();
            batch
                .schema_ref()
                .fields()
                .iter()
                .any(|f| schema.field(f.name()).is_none())
        }
    }
}

async fn commit_step(
    table: &mut DeltaTable,
    step: &Step,
    decoded: &[(&DmsFile, &DecodedFile)],
    txns: Vec<Transaction>,
    job: &TableJob<'_>,
) -> Result<String, StepError> {
    match step {
        Step::Append(_) => {
            let rows =
                load_rows(decoded, job.keys).map_err(|e| StepError::Failed(e.to_string()))?;
            if rows.num_columns() == 0 && table.state.is_none() {
                return Err(StepError::Failed(
                    "the first full-load files are empty and have no columns; nothing to create the table from".into(),
                ));
            }
            let n = rows.num_rows();
            if n == 0 && table.state.is_some() {
                commit_ledger(table, txns).await?;
            } else {
                write(table, rows, txns).await?;
            }
            Ok(format!("appended {n} rows"))
        }
        Step::Merge(_) => {
            let reduced = latest_per_key(decoded, job.keys, job.timestamp_column)
                .map_err(|e| StepError::Failed(e.to_string()))?;
            if reduced.batch.num_columns() > 0 && needs_schema(table, &reduced.batch) {
                // Create the table, or add the new columns, first.
                let empty = RecordBatch::new_empty(reduced.batch.schema());
                write(table, empty, Vec::new()).await?;
            }
            if reduced.batch.num_rows() == 0 {
                if table.state.is_none() {
                    return Err(StepError::Failed(
                        "the first CDC files are empty and have no columns; nothing to create the table from".into(),
                    ));
                }
                commit_ledger(table, txns).await?;
                return Ok("no changes".into());
            }
            let keys = reduced.batch.num_rows();
            let spec = MergeSpec {
                keys: job.keys,
                flag_column: DELETED_FLAG,
                newer_than: None,
                properties: table_props(table).with_application_transactions(txns),
            };
            let counts = merge_rows(table, reduced.batch, reduced.deleted, spec).await?;
            Ok(format!(
                "merged {} changes to {keys} keys: {} inserted, {} updated, {} deleted",
                reduced.changes, counts.inserted, counts.updated, counts.deleted
            ))
        }
    }
}

/// Catch the table up to `job.upto`, as described in the module docs.
pub async fn apply_table(
    table: &mut DeltaTable,
    job: &TableJob<'_>,
) -> Result<TableReport, TableError> {
    let source = job.source;
    let store = bucket_store(job.locator, &source.bucket).map_err(TableError::before_start)?;
    let listing = list_folder(store.as_ref(), source)
        .await
        .map_err(TableError::before_start)?;
    let layout = Layout {
        csv: job.csv,
        definition: job.definition,
        timestamp_column: job.timestamp_column,
    };
    let mut report = TableReport::default();
    let mut cache: HashMap<String, DecodedFile> = HashMap::new();
    // A step of several files that fails on one of them is planned again
    // one file at a time, so the files before the bad one still go in.
    let mut limits = job.limits;
    let mut transient = 0u32;
    // Conflicts and transient errors since the last commit (logged on it).
    let mut step_retries = 0u32;
    loop {
        let ledger_error = |ledger: Ledger| move |error: String| TableError { ledger, error };
        ensure_loaded(table)
            .await
            .map_err(|e| ledger_error(report.ledger)(format!("{}: {e}", table.table_url())))?;
        let ledger = read_ledger(table, source)
            .await
            .map_err(|e| ledger_error(report.ledger)(format!("reading the ledger: {e}")))?;
        report.ledger = ledger;
        let fail = ledger_error(ledger);
        let steps = plan(&listing, ledger, job.upto, limits).map_err(|e| fail(e.to_string()))?;
        let Some(step) = steps.into_iter().next() else {
            return Ok(report);
        };

        // Read and decode the step's files (kept across conflict retries).
        let missing: Vec<&Listed> = step
            .files()
            .iter()
            .filter(|l| !cache.contains_key(&l.file.name))
            .collect();
        let read: Result<Vec<(String, DecodedFile)>, String> = futures::stream::iter(missing)
            .map(|l| {
                let store = store.clone();
                async move {
                    let got = store
                        .get(&Path::from(l.file.key()))
                        .await
                        .map_err(|e| format!("reading {}: {e}", l.file.uri()))?;
                    let bytes = got
                        .bytes()
                        .await
                        .map_err(|e| format!("reading {}: {e}", l.file.uri()))?;
                    let d = decode(&l.file, bytes, layout).map_err(|e| e.to_string())?;
                    Ok::<_, String>((l.file.name.clone(), d))
                }
            })
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await;
        let read = match read {
            Ok(read) => read,
            Err(e) if step.files().len() > 1 => {
                // Keep what decoded; the bad file fails on its own turn.
                tracing::debug!(error = %e, "a file of the step failed; one file per step from here");
                limits.max_files = 1;
                continue;
            }
            Err(e) => return Err(fail(e)),
        };
        cache.extend(read);
        let decoded: Vec<(&DmsFile, &DecodedFile)> = step
            .files()
            .iter()
            .filter_map(|l| cache.get(&l.file.name).map(|d| (&l.file, d)))
            .collect();

        let after = step.ledger_after(ledger);
        let txns = ledger_txns(source, &step, after);
        let started = std::time::Instant::now();
        match commit_step(table, &step, &decoded, txns, job).await {
            Ok(what) => {
                report.files_applied += step.files().len();
                report.commits += 1;
                info!(
                    source = %source,
                    table = %table.table_url(),
                    version = table.version(),
                    files = step.files().len(),
                    first = %step.files().first().map(|l| l.file.name.as_str()).unwrap_or(""),
                    last = %step.files().last().map(|l| l.file.name.as_str()).unwrap_or(""),
                    duration_ms = started.elapsed().as_millis() as u64,
                    retries = step_retries,
                    "{what}"
                );
                step_retries = 0;
                transient = 0;
                for l in step.files() {
                    cache.remove(&l.file.name);
                }
            }
            Err(StepError::Conflict(e)) => {
                report.retries += 1;
                step_retries += 1;
                if report.retries >= job.retry.max_attempts {
                    return Err(fail(format!(
                        "gave up after {} conflicting commits on {}: {e}; raise COMMIT_MAX_ATTEMPTS or lower the trigger's concurrency",
                        report.retries,
                        table.table_url()
                    )));
                }
                tracing::debug!(error = %e, retry = report.retries, "commit conflict, retrying");
                tokio::time::sleep(job.retry.delay(report.retries)).await;
                if table.state.is_some() {
                    if let Err(e) = table.update_incremental(None).await {
                        warn!(table = %table.table_url(), error = %e, "table refresh failed; reloading");
                        table.state = None;
                    }
                }
            }
            Err(StepError::Transient(e))
                if transient + 1 < job.retry.max_attempts.min(10) =>
            {
                transient += 1;
                step_retries += 1;
                warn!(source = %source, table = %table.table_url(), error = %e, attempt = transient, "commit failed on a transient storage error; re-planning from the ledger");
                tokio::time::sleep(job.retry.delay(transient)).await;
                if table.state.is_some() {
                    if let Err(e) = table.update_incremental(None).await {
                        // Start again from a fresh load.
                        warn!(table = %table.table_url(), error = %e, "table refresh failed; reloading");
                        table.state = None;
                    }
                }
            }
            Err(StepError::Transient(e)) => {
                return Err(fail(format!(
                    "{}: {e} (transient storage errors {transient} times in a row; the message is retried)",
                    table.table_url()
                )))
            }
            Err(StepError::Failed(_)) if step.files().len() > 1 => {
                limits.max_files = 1;
            }
            Err(StepError::Failed(e)) => return Err(fail(e)),
        }
    }
}
