//! sqs-ingest: JSON records from SQS messages become rows of one Delta table.
//!
//! One invocation's messages (plus any pulled by buffer-more) become **one
//! Parquet file per partition and one commit**:
//!
//! 1. every body is split into records ([`body`]); a body that is not JSON,
//!    not objects, or empty fails its message;
//! 2. each message's schema is inferred ([`infer`]) and absorbed into the
//!    table's (new fields evolve the schema; a new table takes the schema of
//!    the batch, with `PARTITION_BY` columns);
//! 3. records are decoded with arrow-json against that schema ([`decode`]);
//!    a record that cannot be decoded or coerced fails its message only;
//! 4. messages already in the table are skipped (see *Idempotency* below);
//! 5. the rows are written, one file per partition ([`write`](mod@write)), and committed
//!    with the `txn` actions that make the commit idempotent, retrying
//!    conflicts with backoff and re-planning on the new table state.
//!
//! A failed message is reported with its id and reason and never reaches the
//! table; a bad message also never shapes the schema: the schema is settled
//! from the messages that decode.
//!
//! # New table semantics
//!
//! When the table does not exist, version 0 is created with the batch's
//! inferred schema (every column nullable), `PARTITION_BY` as partition
//! columns (a partition column no record has is added as `string`),
//! `delta.setTransactionRetentionDuration` set to the configured retention,
//! and the batch's files and `txn`s. Two functions creating the table at
//! once: one creates it, the other re-plans as an append.
//!
//! # Existing table semantics
//!
//! The table's schema and partition columns rule: fields never change type,
//! new fields are appended (nullable) when schema evolution is on, and
//! otherwise fail the messages that bring them. Tables with column mapping,
//! CHECK constraints, generated columns or invariants are refused, as this
//! writer does not apply them.
//!
//! # Idempotency
//!
//! See [`txn`]. FIFO messages (with `MessageGroupId` and `SequenceNumber`)
//! are exactly-once per group: a message whose sequence number is at or
//! below the group's committed one is a duplicate, and within a batch the
//! first failing message of a group fails every later one of that group, so
//! the committed number never passes a message that is not in the table.
//! Standard-queue messages are idempotent per batch: the commit carries the
//! `txn` of the exact set of message ids it holds, and a batch with the same
//! set is a duplicate.
//!
//! Data files are written before the commit. If the commit finally fails,
//! they are never referenced (logged as orphans; `VACUUM` removes them).

pub mod body;
pub mod decode;
pub mod infer;
pub mod txn;
pub mod write;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use deltalake::kernel::{Action, DataType, MetadataExt, StructField, StructType, Transaction};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableError};
use tracing::{info, warn};
use url::Url;

use crate::commit::{commit_with_retry, CommitError, Plan, RetryPolicy};
use crate::parquet_meta::StatsConfig;
pub use body::{decode_sqs_event, parse_body, BodyError, Record, SqsMessage};
use decode::Decoded;
use infer::{absorb, empty_struct, infer_record, FieldError, InferOptions};
use txn::TxnIndex;
use write::DataFile;

/// The table property bounding how long `txn`s are kept.
pub const TXN_RETENTION_KEY: &str = "delta.setTransactionRetentionDuration";
/// Its value on tables sqs-ingest creates: SQS's longest message retention.
pub const DEFAULT_TXN_RETENTION: &str = "interval 14 days";

/// How ingestion behaves; built once per container.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// The table (`s3://...` or `file://...`), with a trailing slash.
    pub table_url: Url,
    /// Add new fields to the table schema.
    pub schema_evolution: bool,
    /// Partition columns of a table this function creates.
    pub partition_by: Vec<String>,
    /// Field paths holding timestamps (ISO-8601 strings or epoch numbers).
    pub timestamp_columns: Vec<String>,
    pub retry: RetryPolicy,
    /// `delta.setTransactionRetentionDuration` of created tables (`None`:
    /// not set, `txn`s are kept forever).
    pub txn_retention: Option<String>,
}

impl IngestConfig {
    pub fn new(table_url: Url) -> Self {
        IngestConfig {
            table_url,
            schema_evolution: true,
            partition_by: Vec::new(),
            timestamp_columns: Vec::new(),
            retry: RetryPolicy::default(),
            txn_retention: Some(DEFAULT_TXN_RETENTION.to_string()),
        }
    }
}

/// A message that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFailure {
    pub message_id: String,
    pub reason: String,
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// The version committed, if anything was.
    pub version: Option<u64>,
    pub created: bool,
    /// Messages whose records are now in the table (those without records
    /// included), in input order.
    pub committed: Vec<String>,
    /// Messages found already committed (redelivery), in input order.
    pub duplicates: Vec<String>,
    /// Messages that failed, in input order.
    pub failed: Vec<MessageFailure>,
    pub rows: usize,
    pub files: usize,
    pub bytes: u64,
    pub schema_evolved: bool,
    /// Commit attempts (1 without conflicts).
    pub attempts: u32,
    /// Set when the batch failed as a whole (storage or commit): every
    /// message not already committed is in `failed`.
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl IngestOutcome {
    /// The ids of the failed messages.
    pub fn failed_ids(&self) -> Vec<String> {
        self.failed.iter().map(|f| f.message_id.clone()).collect()
    }
}

/// A whole-batch failure.
#[derive(Debug, thiserror::Error)]
enum BatchError {
    #[error("table {table}: {source}")]
    Delta {
        table: String,
        #[source]
        source: DeltaTableError,
    },
    #[error("table {table}: {reason}")]
    Table { table: String, reason: String },
    #[error(transparent)]
    Write(#[from] write::WriteError),
    #[error(transparent)]
    Commit(Box<CommitError<Stale>>),
    #[error("cannot arrange the decoded rows: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

impl From<CommitError<Stale>> for BatchError {
    fn from(e: CommitError<Stale>) -> Self {
        BatchError::Commit(Box::new(e))
    }
}

/// The table moved between planning and committing: plan again.
#[derive(Debug, thiserror::Error)]
#[error("the table changed while the commit was planned")]
struct Stale;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Pending,
    Duplicate,
    Failed(String),
}

/// A message whose body parsed.
struct Candidate<'a> {
    message: &'a SqsMessage,
    records: Vec<Record>,
    /// The schema of its records (all fields new, nullable); `None` when
    /// the body could not be used.
    schema: Option<StructType>,
    /// `(queue, group, sequence number)` of a FIFO message.
    fifo: Option<(String, String, u128)>,
    status: Status,
}

impl Candidate<'_> {
    fn fail(&mut self, reason: impl Into<String>) {
        if self.status == Status::Pending {
            self.status = Status::Failed(reason.into());
        }
    }
}

/// The decoding of a set of candidates against one target schema.
struct DecodeCache {
    target: StructType,
    /// Candidate indices decoded, in order.
    indices: Vec<usize>,
    decoded: Decoded,
}

/// Files written for one set of messages against one schema.
struct Written {
    keep: Vec<bool>,
    target: StructType,
    partitions: Vec<String>,
    files: Vec<DataFile>,
}

struct TableState {
    table: Option<DeltaTable>,
    txns: TxnIndex,
}

/// The ingestion engine: configuration plus the table kept warm.
pub struct Ingest {
    config: IngestConfig,
    infer: InferOptions,
    state: tokio::sync::Mutex<TableState>,
}

impl Ingest {
    pub fn new(config: IngestConfig) -> Self {
        crate::tables::register_handlers();
        Ingest {
            infer: InferOptions::new(&config.timestamp_columns),
            config,
            state: tokio::sync::Mutex::new(TableState {
                table: None,
                txns: TxnIndex::new(),
            }),
        }
    }

    pub fn config(&self) -> &IngestConfig {
        &self.config
    }

    fn table_name(&self) -> String {
        self.config
            .table_url
            .as_str()
            .trim_end_matches('/')
            .to_string()
    }

    /// Ingest a batch of messages. Never fails as a whole: failures are in
    /// the outcome, per message.
    pub async fn process(&self, messages: &[SqsMessage]) -> IngestOutcome {
        let started = Instant::now();
        let mut outcome = IngestOutcome::default();
        let mut candidates = self.parse(messages);
        if candidates.iter().any(|c| c.status == Status::Pending) {
            let mut state = self.state.lock().await;
            if let Err(e) = self.ingest(&mut state, &mut candidates, &mut outcome).await {
                warn!(table = %self.table_name(), error = %e, "batch failed");
                outcome.error = Some(e.to_string());
                outcome.version = None;
                for c in &mut candidates {
                    c.fail(format!("the batch failed: {e}"));
                }
                // The state may be half-updated: start clean next time.
                state.table = None;
                state.txns = TxnIndex::new();
            }
        }
        for c in &candidates {
            let id = c.message.message_id.clone();
            match &c.status {
                Status::Pending => outcome.committed.push(id),
                Status::Duplicate => outcome.duplicates.push(id),
                Status::Failed(reason) => outcome.failed.push(MessageFailure {
                    message_id: id,
                    reason: reason.clone(),
                }),
            }
        }
        for f in &outcome.failed {
            warn!(message_id = %f.message_id, reason = %f.reason, "message rejected");
        }
        outcome.duration_ms = started.elapsed().as_millis() as u64;
        info!(
            table = %self.table_name(),
            version = outcome.version,
            created = outcome.created,
            messages = messages.len(),
            committed = outcome.committed.len(),
            duplicates = outcome.duplicates.len(),
            failed = outcome.failed.len(),
            rows = outcome.rows,
            files = outcome.files,
            bytes = outcome.bytes,
            schema_evolved = outcome.schema_evolved,
            attempts = outcome.attempts,
            duration_ms = outcome.duration_ms,
            "batch done"
        );
        outcome
    }

    /// Bodies -> records -> per-message schemas. A message whose body or
    /// fields are unusable is a failed candidate (it still holds back the
    /// later messages of its FIFO group). Later copies of a message id (one
    /// message received twice) are dropped.
    fn parse<'a>(&self, messages: &'a [SqsMessage]) -> Vec<Candidate<'a>> {
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(messages.len());
        for m in messages {
            if !seen.insert(m.message_id.as_str()) {
                continue;
            }
            let parsed = parse_body(&m.body)
                .map_err(|e| e.to_string())
                .and_then(|records| {
                    let schema = self.message_schema(&records).map_err(|e| e.to_string())?;
                    Ok((records, schema))
                });
            let (records, schema, status) = match parsed {
                Ok((records, schema)) => (records, Some(schema), Status::Pending),
                Err(reason) => (Vec::new(), None, Status::Failed(reason)),
            };
            out.push(Candidate {
                fifo: fifo_key(m),
                message: m,
                records,
                schema,
                status,
            });
        }
        out
    }

    fn message_schema(&self, records: &[Record]) -> Result<StructType, FieldError> {
        let mut schema = empty_struct()?;
        for r in records {
            let s = infer_record(r, &self.infer)?;
            if let Some(a) = absorb(&schema, &s, None)? {
                schema = a.schema;
            }
        }
        Ok(schema)
    }

    /// Open or bring forward the table and its `txn` index.
    async fn refresh(&self, state: &mut TableState) -> Result<(), BatchError> {
        let name = self.table_name();
        let delta = |source| BatchError::Delta {
            table: name.clone(),
            source,
        };
        let table = match state.table.as_mut() {
            Some(t) => t,
            None => state
                .table
                .insert(crate::tables::open_handle(&self.config.table_url).map_err(delta)?),
        };
        if table.state.is_some() {
            table.update_incremental(None).await.map_err(delta)?;
        } else {
            crate::commit::ensure_loaded(table).await.map_err(delta)?;
        }
        check_writable(table).map_err(|reason| BatchError::Table {
            table: name.clone(),
            reason,
        })?;
        state.txns.catch_up(table).await.map_err(delta)
    }

    async fn ingest(
        &self,
        state: &mut TableState,
        candidates: &mut [Candidate<'_>],
        outcome: &mut IngestOutcome,
    ) -> Result<(), BatchError> {
        self.refresh(state).await?;
        let mut cache: Option<DecodeCache> = None;
        let mut written: Option<Written> = None;
        let mut attempt = 0u32;
        let result = loop {
            attempt += 1;
            outcome.attempts = attempt;
            match self
                .attempt(state, candidates, outcome, &mut cache, &mut written)
                .await
            {
                Ok(()) => break Ok(()),
                Err(AttemptError::Conflict) if attempt < self.config.retry.max_attempts => {
                    tracing::debug!(table = %self.table_name(), attempt, "commit conflict, re-planning");
                    tokio::time::sleep(self.config.retry.delay(attempt)).await;
                    if let Err(e) = self.refresh(state).await {
                        break Err(e);
                    }
                }
                Err(AttemptError::Conflict) => {
                    break Err(CommitError::Exhausted {
                        table: self.table_name(),
                        attempts: attempt,
                    }
                    .into())
                }
                Err(AttemptError::Batch(e)) => break Err(e),
            }
        };
        if result.is_err() {
            if let Some(w) = &written {
                let paths: Vec<&str> = w.files.iter().map(|f| f.relative_key.as_str()).collect();
                warn!(table = %self.table_name(), files = ?paths, "data files written but never committed (orphans; VACUUM removes them)");
            }
        }
        result
    }

    /// One plan-write-commit attempt on the table as it now stands.
    async fn attempt(
        &self,
        state: &mut TableState,
        candidates: &mut [Candidate<'_>],
        outcome: &mut IngestOutcome,
        cache: &mut Option<DecodeCache>,
        written: &mut Option<Written>,
    ) -> Result<(), AttemptError> {
        let name = self.table_name();
        let delta = |source| {
            AttemptError::Batch(BatchError::Delta {
                table: name.clone(),
                source,
            })
        };
        let TableState { table, txns } = state;
        let Some(table) = table.as_mut() else {
            return Err(AttemptError::Batch(BatchError::Table {
                table: name.clone(),
                reason: "no table handle".into(),
            }));
        };
        // Every message is judged afresh on this state.
        for c in candidates.iter_mut() {
            if c.status == Status::Duplicate {
                c.status = Status::Pending;
            }
        }

        // FIFO messages at or below their group's committed number.
        let fifo_ids: Vec<String> = candidates
            .iter()
            .filter_map(|c| c.fifo.as_ref())
            .flat_map(|(q, g, _)| {
                let (hi, lo) = txn::fifo_app_ids(q, g);
                [hi, lo]
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        txns.ensure(table, &fifo_ids).await.map_err(delta)?;
        for c in candidates.iter_mut() {
            if let Some((q, g, seq)) = &c.fifo {
                if txns.fifo_committed(q, g).is_some_and(|done| *seq <= done) {
                    c.status = Status::Duplicate;
                }
            }
        }

        let table_schema: Option<StructType> =
            table.state.as_ref().map(|s| s.schema().as_ref().clone());
        let table_partitions: Option<Vec<String>> = table
            .state
            .as_ref()
            .map(|s| s.metadata().partition_columns().to_vec());

        // Settle the schema and the set of good messages; then drop a
        // standard batch that is already committed, and settle again.
        let (target, partitions) = loop {
            let (target, partitions) = self
                .settle(table_schema.as_ref(), candidates, cache)
                .map_err(AttemptError::Batch)?;
            let standard: Vec<&str> = candidates
                .iter()
                .filter(|c| c.fifo.is_none() && c.status == Status::Pending)
                .map(|c| c.message.message_id.as_str())
                .collect();
            if standard.is_empty() {
                break (target, partitions);
            }
            let app_id = txn::batch_app_id(&standard);
            txns.ensure(table, std::slice::from_ref(&app_id))
                .await
                .map_err(delta)?;
            if txns.get(&app_id).is_none() {
                break (target, partitions);
            }
            for c in candidates.iter_mut() {
                if c.fifo.is_none() && c.status == Status::Pending {
                    c.status = Status::Duplicate;
                }
            }
        };
        let partitions = table_partitions.unwrap_or(partitions);

        // What this commit holds.
        let keep: Vec<bool> = candidates
            .iter()
            .map(|c| c.status == Status::Pending)
            .collect();
        let Some(decoding) = cache.as_ref() else {
            return Ok(());
        };
        let decode_keep: Vec<bool> = decoding
            .indices
            .iter()
            .map(|i| keep.get(*i).copied().unwrap_or(false))
            .collect();
        let rows = decoding
            .decoded
            .select(&decode_keep)
            .map_err(|e| AttemptError::Batch(e.into()))?;
        let Some(rows) = rows else {
            // Nothing to write: duplicates, failures, or messages without records.
            return Ok(());
        };
        let now_ms = chrono::Utc::now().timestamp_millis();
        let transactions = transactions(candidates, now_ms);

        // Files: reuse those of an earlier attempt when nothing changed.
        let reuse = written
            .as_ref()
            .is_some_and(|w| w.keep == keep && w.target == target && w.partitions == partitions);
        if !reuse {
            if let Some(old) = written.take() {
                let paths: Vec<&str> = old.files.iter().map(|f| f.relative_key.as_str()).collect();
                warn!(table = %name, files = ?paths, "re-planned: earlier data files left uncommitted (orphans; VACUUM removes them)");
            }
            let files = write::encode_files(&rows, &partitions)
                .map_err(|e| AttemptError::Batch(e.into()))?;
            write::put_files(table.object_store(), &files)
                .await
                .map_err(|e| AttemptError::Batch(e.into()))?;
            let keys: Vec<&str> = files.iter().map(|f| f.relative_key.as_str()).collect();
            crate::failpoint::before_commit(&name, &keys).await;
            *written = Some(Written {
                keep: keep.clone(),
                target: target.clone(),
                partitions: partitions.clone(),
                files,
            });
        }
        let Some(files) = written.as_ref().map(|w| &w.files) else {
            return Ok(());
        };

        // The plan.
        let stats_config = match table.state.as_ref() {
            Some(s) => StatsConfig::from_table(s.metadata().configuration(), &partitions)
                .unwrap_or_else(|e| {
                    warn!(table = %name, error = %e, "default statistics settings used");
                    StatsConfig {
                        partition_columns: partitions.clone(),
                        ..StatsConfig::default()
                    }
                }),
            None => StatsConfig {
                partition_columns: partitions.clone(),
                ..StatsConfig::default()
            },
        };
        let mut actions: Vec<Action> = files
            .iter()
            .map(|f| Action::Add(write::add_action(f, &target, &stats_config, now_ms)))
            .collect();
        actions.extend(transactions.iter().cloned().map(Action::Txn));
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: (!partitions.is_empty()).then(|| partitions.clone()),
            predicate: None,
        };
        let mut evolved = false;
        let plan = match table.state.as_ref() {
            None => Plan::Create {
                columns: target.fields().cloned().collect(),
                partition_columns: partitions.clone(),
                configuration: self
                    .config
                    .txn_retention
                    .iter()
                    .map(|r| (TXN_RETENTION_KEY.to_string(), r.clone()))
                    .collect(),
                actions,
                operation,
            },
            Some(s) => {
                if table_schema.as_ref() != Some(&target) {
                    let metadata = s
                        .metadata()
                        .clone()
                        .with_schema(&target)
                        .map_err(|e| delta(e.into()))?;
                    actions.insert(0, Action::Metadata(metadata));
                    evolved = true;
                }
                Plan::Commit { actions, operation }
            }
        };

        // Commit once; a conflict re-plans from the top on the new state.
        let planned_at = table.version();
        let mut plan = Some(plan);
        let once = RetryPolicy {
            max_attempts: 1,
            ..self.config.retry.clone()
        };
        let committed = commit_with_retry(table, &once, |t| {
            if t.version() != planned_at {
                return Err(Stale);
            }
            plan.take().ok_or(Stale)
        })
        .await;
        match committed {
            Ok(Some(c)) => {
                txns.record_commit(c.version, &transactions);
                outcome.version = Some(c.version);
                outcome.created = c.created;
                outcome.rows = rows.num_rows();
                outcome.files = files.len();
                outcome.bytes = files.iter().map(|f| f.bytes.len() as u64).sum();
                outcome.schema_evolved = evolved;
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(CommitError::Exhausted { .. }) | Err(CommitError::Plan { .. }) => {
                Err(AttemptError::Conflict)
            }
            // The log entry may or may not have been written: re-plan on the
            // table as it now stands, where the `txn` ids of a commit that
            // did land mark this batch's messages as duplicates.
            Err(CommitError::Delta { source, .. }) if crate::commit::is_transient(&source) => {
                warn!(table = %name, error = %source, "commit failed on a transient storage error; re-planning");
                Err(AttemptError::Conflict)
            }
            Err(e) => Err(AttemptError::Batch(e.into())),
        }
    }

    /// Settle the target schema and the good messages: absorb, decode, fail
    /// FIFO successors of failures, and repeat until no message drops out,
    /// so that the schema comes from good messages only.
    fn settle(
        &self,
        table_schema: Option<&StructType>,
        candidates: &mut [Candidate<'_>],
        cache: &mut Option<DecodeCache>,
    ) -> Result<(StructType, Vec<String>), BatchError> {
        let evolution = self.config.schema_evolution || table_schema.is_none();
        for _round in 0..=candidates.len() + 1 {
            let (target, partitions) = self.target(table_schema, candidates, evolution)?;
            let pending: Vec<usize> = candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| c.status == Status::Pending)
                .map(|(i, _)| i)
                .collect();
            // `indices` and `pending` are sorted.
            let reusable = cache.as_ref().is_some_and(|d| {
                d.target == target && pending.iter().all(|i| d.indices.binary_search(i).is_ok())
            });
            if !reusable {
                let records: Vec<&[Record]> = pending
                    .iter()
                    .filter_map(|i| candidates.get(*i))
                    .map(|c| c.records.as_slice())
                    .collect();
                *cache = Some(DecodeCache {
                    target: target.clone(),
                    decoded: decode::decode(&target, &records)?,
                    indices: pending.clone(),
                });
            }
            let mut dropped = false;
            if let Some(d) = cache.as_ref() {
                for (k, i) in d.indices.iter().enumerate() {
                    if let (Some(Err(reason)), Some(c)) =
                        (d.decoded.results.get(k), candidates.get_mut(*i))
                    {
                        if c.status == Status::Pending {
                            c.fail(reason.clone());
                            dropped = true;
                        }
                    }
                }
            }
            dropped |= fail_fifo_successors(candidates);
            if !dropped {
                return Ok((target, partitions));
            }
        }
        // Unreachable in practice: every round without a break drops a message.
        self.target(table_schema, candidates, evolution)
    }

    /// The table's schema grown by the pending messages' schemas (failing
    /// those whose fields cannot join), and the partition columns.
    fn target(
        &self,
        table_schema: Option<&StructType>,
        candidates: &mut [Candidate<'_>],
        evolution: bool,
    ) -> Result<(StructType, Vec<String>), BatchError> {
        let field_error = |e: FieldError| BatchError::Table {
            table: self.table_name(),
            reason: e.to_string(),
        };
        let mut target = match table_schema {
            Some(s) => s.clone(),
            None => empty_struct().map_err(field_error)?,
        };
        for c in candidates.iter_mut() {
            let Some(schema) = (c.status == Status::Pending)
                .then_some(c.schema.as_ref())
                .flatten()
            else {
                continue;
            };
            match absorb(&target, schema, table_schema) {
                Ok(None) => {}
                Ok(Some(a)) if evolution => target = a.schema,
                Ok(Some(a)) => c.fail(FieldError::EvolutionOff { columns: a.added }.to_string()),
                Err(e) => c.fail(e.to_string()),
            }
        }
        if table_schema.is_some() {
            return Ok((target, Vec::new()));
        }
        // A new table: PARTITION_BY columns, in the records' spelling; a
        // column no record has is a string column.
        let mut partitions = Vec::with_capacity(self.config.partition_by.len());
        let mut fields: Vec<StructField> = target.fields().cloned().collect();
        for p in &self.config.partition_by {
            let lower = p.to_lowercase();
            match fields.iter().find(|f| f.name().to_lowercase() == lower) {
                Some(f) => partitions.push(f.name().clone()),
                None => {
                    fields.push(StructField::nullable(p.clone(), DataType::STRING));
                    partitions.push(p.clone());
                }
            }
        }
        let target = StructType::try_new(fields).map_err(|e| BatchError::Table {
            table: self.table_name(),
            reason: e.to_string(),
        })?;
        Ok((target, partitions))
    }
}

enum AttemptError {
    /// Someone else committed first: re-plan on the new state.
    Conflict,
    Batch(BatchError),
}

/// `(queue, group, sequence)` of a FIFO message whose number fits a `txn`.
fn fifo_key(m: &SqsMessage) -> Option<(String, String, u128)> {
    let (group, seq) = m.fifo_position()?;
    txn::split_sequence(seq)?;
    let queue = m.queue.clone().unwrap_or_else(|| "unknown-queue".into());
    Some((queue, group.to_string(), seq))
}

/// Within each FIFO group, fail every pending message after the group's
/// first failed one. Returns whether any message was failed.
fn fail_fifo_successors(candidates: &mut [Candidate<'_>]) -> bool {
    let mut first_failure: HashMap<(String, String), u128> = HashMap::new();
    for c in candidates.iter() {
        if let (Some((q, g, seq)), Status::Failed(_)) = (&c.fifo, &c.status) {
            let e = first_failure.entry((q.clone(), g.clone())).or_insert(*seq);
            *e = (*e).min(*seq);
        }
    }
    let mut dropped = false;
    for c in candidates.iter_mut() {
        let Some((q, g, seq)) = &c.fifo else {
            continue;
        };
        let key = (q.clone(), g.clone());
        if let Some(first) = first_failure.get(&key) {
            if *seq > *first && c.status == Status::Pending {
                let reason = format!(
                    "an earlier message of FIFO group {g:?} failed; kept back to preserve the group's order"
                );
                c.fail(reason);
                dropped = true;
            }
        }
    }
    dropped
}

/// The `txn`s of a commit holding the pending candidates.
fn transactions(candidates: &[Candidate<'_>], now_ms: i64) -> Vec<Transaction> {
    let mut out = Vec::new();
    let standard: Vec<&str> = candidates
        .iter()
        .filter(|c| c.fifo.is_none() && c.status == Status::Pending)
        .map(|c| c.message.message_id.as_str())
        .collect();
    if !standard.is_empty() {
        out.push(Transaction::new_with_last_update(
            txn::batch_app_id(&standard),
            1,
            Some(now_ms),
        ));
    }
    let mut groups: BTreeMap<(&str, &str), u128> = BTreeMap::new();
    for c in candidates {
        if let (Some((q, g, seq)), Status::Pending) = (&c.fifo, &c.status) {
            let e = groups.entry((q.as_str(), g.as_str())).or_insert(*seq);
            *e = (*e).max(*seq);
        }
    }
    for ((q, g), seq) in groups {
        out.extend(txn::fifo_transactions(q, g, seq, now_ms));
    }
    out
}

/// Refuse tables whose rules this writer does not apply.
fn check_writable(table: &DeltaTable) -> Result<(), String> {
    let Some(state) = table.state.as_ref() else {
        return Ok(());
    };
    let config = state.metadata().configuration();
    if let Some(mode) = config.get("delta.columnMapping.mode") {
        if !mode.eq_ignore_ascii_case("none") {
            return Err(format!(
                "column mapping ({mode}) is not supported by sqs-ingest; write to a table without it"
            ));
        }
    }
    if config.keys().any(|k| k.starts_with("delta.constraints.")) {
        return Err("the table has CHECK constraints, which sqs-ingest does not enforce".into());
    }
    let schema = state.schema();
    let has_rules = schema.fields().any(|f| {
        f.metadata().contains_key("delta.generationExpression")
            || f.metadata().contains_key("delta.invariants")
    });
    if has_rules {
        return Err(
            "the table has generated columns or invariants, which sqs-ingest does not apply".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
