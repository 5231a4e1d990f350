//! Upsert mode: the table mirrors the DynamoDB table, one row per item.
//!
//! Per batch, the latest change per key wins (by `SequenceNumber`), and one
//! deltalake (DataFusion) MERGE applies them on the key attributes:
//!
//! - matched and the source is newer than the row's `_seq`: REMOVE deletes
//!   the row, INSERT/MODIFY replaces every column (attributes the new image
//!   lacks become null);
//! - not matched: INSERT/MODIFY inserts, REMOVE does nothing;
//! - a change not newer than the stored `_seq` is ignored, so retries and
//!   replays change nothing (and commit nothing).
//!
//! New attributes first evolve the schema in a commit of their own, then the
//! MERGE runs against that schema. Commit conflicts are retried with the
//! function's backoff on the newer table state (delta-rs's own immediate
//! retries are off).
//!
//! Limitation: a row is gone once deleted, so a replay of an INSERT older
//! than the REMOVE that deleted it re-inserts the row until the REMOVE is
//! replayed too. Records of an item are in order in the stream and Lambda
//! only moves forward, so the REMOVE always follows and the table converges;
//! within one batch the REMOVE wins outright.

use deltalake::arrow::array::{Array, BooleanArray, RecordBatch};
use deltalake::kernel::{Action, MetadataExt, StructField, StructType};
use deltalake::protocol::DeltaOperation;
use deltalake::{DeltaTable, DeltaTableError};
use meander::commit::{
    columns_of, commit_with_retry, ensure_loaded, is_conflict, CommitError, Plan, RetryPolicy,
};
use meander::dynamo::changes::{
    mirror_columns, mirror_input, mirror_rows, DELETED_COLUMN, SEQ_COLUMN,
};
use meander::dynamo::record::{RecordError, StreamRecord};
use meander::dynamo::typing::{convert, ConvertError, TypingOptions};
use meander::merge::{merge_rows, MergeSpec};
use meander::schema;
use std::collections::BTreeMap;

/// How upsert mode writes.
#[derive(Debug, Clone, Default)]
pub struct UpsertConfig {
    pub typing: TypingOptions,
    /// Partition columns of a new table.
    pub partition_by: Vec<String>,
    pub retry: RetryPolicy,
}

/// What one batch did to the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpsertReport {
    pub version: Option<u64>,
    pub created: bool,
    pub schema_evolved: bool,
    /// Records applied (those before `failed_at`).
    pub records: usize,
    /// Keys in the MERGE source (latest change per key).
    pub keys: usize,
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
    pub retries: u32,
    pub rescued: BTreeMap<String, usize>,
    /// The first record that could not be applied, and why; the records
    /// before it were.
    pub failed_at: Option<(usize, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpsertError {
    #[error(transparent)]
    Convert(#[from] ConvertError),
    #[error(transparent)]
    Commit(#[from] CommitError<Stale>),
    #[error("Delta error: {0}")]
    Delta(#[from] DeltaTableError),
    #[error("MERGE failed: {0}")]
    Merge(String),
    #[error("gave up after {0} conflicting MERGE attempts; the table is very busy")]
    Exhausted(u32),
}

/// The table changed in a way that needs the batch planned again.
#[derive(Debug, thiserror::Error)]
#[error("the table changed: {0}")]
pub struct Stale(String);

/// Apply `records` to the mirror `table`.
pub async fn upsert_changes(
    table: &mut DeltaTable,
    records: &[StreamRecord],
    config: &UpsertConfig,
) -> Result<UpsertReport, UpsertError> {
    let mut report = UpsertReport::default();
    let mut records = records;
    let attempts = config.retry.max_attempts.max(1);
    let mut attempt = 0u32;
    ensure_loaded(table).await?;
    loop {
        attempt += 1;
        if attempt > attempts {
            return Err(UpsertError::Exhausted(attempts));
        }
        let plan = mirror_rows(records);
        if let Some((index, error)) = &plan.failure {
            report.failed_at = Some((*index, error.to_string()));
            records = records.get(..plan.records).unwrap_or_default();
        }
        report.records = plan.records;
        report.keys = plan.rows.len();
        if plan.rows.is_empty() {
            return Ok(report);
        }
        let (base, partition_columns) = match table.state.as_ref() {
            Some(s) => (
                Some(s.schema().as_ref().clone()),
                s.metadata().partition_columns().to_vec(),
            ),
            None => (None, config.partition_by.clone()),
        };
        let mut reserved = config.typing.reserved.clone();
        reserved.push(DELETED_COLUMN.to_string());
        let typing = TypingOptions {
            required_columns: partition_columns.clone(),
            reserved,
            ..config.typing.clone()
        };
        let input = mirror_input(&plan.rows);
        let converted = convert(
            base.as_ref(),
            &mirror_columns(),
            &plan.key_names,
            &input,
            &typing,
        )?;

        // Every key must have landed in its key column.
        if let Some((row, key)) = first_null_key(&converted.batch, &plan.key_names) {
            let index = plan.rows.get(row).map(|r| r.record_index).unwrap_or(0);
            let cut = records.iter().position(|r| r.index >= index).unwrap_or(0);
            let reason = RecordError::Field {
                field: format!("dynamodb.Keys.{key}"),
                reason: "the key's type does not fit the table's key column (or the key is named like a metadata column)".into(),
            };
            report.failed_at = Some((index, reason.to_string()));
            records = records.get(..cut).unwrap_or_default();
            continue;
        }

        if converted.evolved {
            let committed = commit_with_retry(table, &config.retry, |t| {
                plan_schema(t, &converted.schema, &partition_columns)
            })
            .await;
            match committed {
                Ok(Some(c)) => {
                    report.created |= c.created;
                    report.schema_evolved |= !c.created;
                    report.retries += c.retries;
                }
                Ok(None) => {}
                Err(CommitError::Plan { source, .. }) => {
                    tracing::info!(reason = %source, "schema changed meanwhile; planning again");
                }
                Err(e) => return Err(e.into()),
            }
            // Convert again against the table as it now is.
            continue;
        }

        match merge(
            table,
            converted.batch,
            &plan.key_names,
            deleted_flags(&plan),
        )
        .await
        {
            Ok(metrics) => {
                report.inserted = metrics.0;
                report.updated = metrics.1;
                report.deleted = metrics.2;
                report.rescued = converted.rescued;
                report.version = table.version();
                return Ok(report);
            }
            Err(e) if is_conflict(&e) => {
                report.retries += 1;
                tracing::debug!(error = %e, retry = report.retries, "MERGE conflict, retrying");
                tokio::time::sleep(config.retry.delay(report.retries)).await;
                table.update_incremental(None).await?;
            }
            Err(e) => return Err(UpsertError::Merge(e.to_string())),
        }
    }
}

fn deleted_flags(plan: &meander::dynamo::changes::MirrorPlan) -> BooleanArray {
    plan.rows.iter().map(|r| Some(r.deleted)).collect()
}

/// The first row whose key column is null (or missing), with the key.
fn first_null_key(batch: &RecordBatch, key_names: &[String]) -> Option<(usize, String)> {
    let mut first: Option<(usize, String)> = None;
    for key in key_names {
        let row = match batch.column_by_name(key) {
            None => (batch.num_rows() > 0).then_some(0),
            Some(c) => (0..c.len()).find(|&i| c.is_null(i)),
        };
        if let Some(row) = row {
            if first.as_ref().is_none_or(|(r, _)| row < *r) {
                first = Some((row, key.clone()));
            }
        }
    }
    first
}

/// Create the table, or add the batch's new columns, in a commit of its own.
fn plan_schema(
    table: &DeltaTable,
    schema: &StructType,
    partition_columns: &[String],
) -> Result<Plan, Stale> {
    let Some(state) = table.state.as_ref() else {
        return Ok(Plan::Create {
            columns: columns_of(schema),
            partition_columns: partition_columns.to_vec(),
            configuration: Vec::new(),
            actions: Vec::new(),
            operation: DeltaOperation::Write {
                mode: deltalake::protocol::SaveMode::ErrorIfExists,
                partition_by: (!partition_columns.is_empty()).then(|| partition_columns.to_vec()),
                predicate: None,
            },
        });
    };
    let current = state.schema();
    match schema::merge(current.as_ref(), schema) {
        Ok(None) => Ok(Plan::Nothing),
        Ok(Some(merged)) => {
            let fields: Vec<StructField> = merged
                .fields()
                .filter(|f| current.field(f.name()) != Some(*f))
                .cloned()
                .collect();
            let metadata = state
                .metadata()
                .clone()
                .with_schema(&merged)
                .map_err(|e| Stale(format!("cannot evolve the schema: {e}")))?;
            Ok(Plan::Commit {
                actions: vec![Action::Metadata(metadata)],
                operation: DeltaOperation::AddColumn { fields },
            })
        }
        Err(e) => Err(Stale(e.to_string())),
    }
}

/// MERGE `batch` (the table's columns) into `table` with the shared
/// [`meander::merge`]; a row changes only when the source's `_seq` is newer.
/// Returns (inserted, updated, deleted).
async fn merge(
    table: &mut DeltaTable,
    batch: RecordBatch,
    key_names: &[String],
    deleted: BooleanArray,
) -> Result<(usize, usize, usize), DeltaTableError> {
    let spec = MergeSpec {
        keys: key_names,
        flag_column: DELETED_COLUMN,
        newer_than: Some(SEQ_COLUMN),
        properties: meander::commit::table_props(table),
    };
    let counts = merge_rows(table, batch, deleted, spec).await?;
    Ok((counts.inserted, counts.updated, counts.deleted))
}

#[cfg(test)]
mod tests;
