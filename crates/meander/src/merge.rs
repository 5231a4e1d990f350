//! The one MERGE every mirroring function uses: upsert and delete by key.
//!
//! The source holds at most one row per key (the latest change, reduced by
//! the caller) plus a delete flag. One deltalake (DataFusion) MERGE applies
//! it on the key columns:
//!
//! - matched, flagged deleted: the row is deleted;
//! - matched, not deleted: every source column replaces the row's;
//! - not matched, not deleted: the row is inserted;
//! - not matched, deleted: nothing.
//!
//! With [`MergeSpec::newer_than`] the matched clauses also require the
//! source's value of that column to be greater than the row's (dynamo-cdc's
//! `_seq`), so replays change nothing.
//!
//! The commit carries [`MergeSpec::properties`] (no delta-rs retries, plus
//! any `txn` the caller adds for idempotency); a conflict comes back as an
//! error for which [`crate::commit::is_conflict`] is true, and the caller
//! retries on the newer state. Only built with the `merge` feature, as it
//! pulls in DataFusion.

use std::sync::Arc;

use arrow::array::{BooleanArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use deltalake::datafusion::common::{Column, TableReference};
use deltalake::datafusion::logical_expr::Expr;
use deltalake::datafusion::prelude::SessionContext;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::{DeltaTable, DeltaTableError};

/// How a source is merged.
#[derive(Debug, Clone)]
pub struct MergeSpec<'a> {
    /// The key columns (in table and source alike).
    pub keys: &'a [String],
    /// The name the delete flag gets in the source; must not be a column.
    pub flag_column: &'a str,
    /// Only replace or delete a row when the source's value of this column
    /// is greater than the row's.
    pub newer_than: Option<&'a str>,
    pub properties: CommitProperties,
}

/// Rows the MERGE touched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeCounts {
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
}

fn source(name: &str) -> Expr {
    Expr::Column(Column::new(Some(TableReference::bare("source")), name))
}

fn target(name: &str) -> Expr {
    Expr::Column(Column::new(Some(TableReference::bare("target")), name))
}

/// MERGE `batch` (one row per key) into the existing `table`; `deleted`
/// flags the rows that are deletions. On success `table` is the new version.
pub async fn merge_rows(
    table: &mut DeltaTable,
    batch: RecordBatch,
    deleted: BooleanArray,
    spec: MergeSpec<'_>,
) -> Result<MergeCounts, DeltaTableError> {
    if deleted.len() != batch.num_rows() {
        return Err(DeltaTableError::Generic(format!(
            "{} delete flags for {} rows",
            deleted.len(),
            batch.num_rows()
        )));
    }
    if batch.schema().field_with_name(spec.flag_column).is_ok() {
        return Err(DeltaTableError::Generic(format!(
            "the source has a column named {:?}, the MERGE's own delete flag",
            spec.flag_column
        )));
    }
    let columns: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut fields: Vec<Arc<Field>> = batch.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(
        spec.flag_column,
        DataType::Boolean,
        false,
    )));
    let mut arrays = batch.columns().to_vec();
    arrays.push(Arc::new(deleted));
    let source_batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
    let ctx = SessionContext::new();
    let df = ctx
        .read_batch(source_batch)
        .map_err(|e| DeltaTableError::Generic(e.to_string()))?;

    let predicate = spec
        .keys
        .iter()
        .map(|k| target(k).eq(source(k)))
        .reduce(Expr::and)
        .ok_or_else(|| DeltaTableError::Generic("no key columns".into()))?;
    let is_deleted = source(spec.flag_column);
    let not_deleted = Expr::Not(Box::new(source(spec.flag_column)));
    let (delete_when, update_when) = match spec.newer_than {
        Some(c) => {
            let newer = source(c).gt(target(c));
            (
                is_deleted.clone().and(newer.clone()),
                not_deleted.clone().and(newer),
            )
        }
        None => (is_deleted.clone(), not_deleted.clone()),
    };

    let (new_table, metrics) = table
        .clone()
        .merge(df, predicate)
        .with_source_alias("source")
        .with_target_alias("target")
        .with_commit_properties(spec.properties)
        .when_matched_delete(|d| d.predicate(delete_when))?
        .when_matched_update(|mut u| {
            u = u.predicate(update_when);
            for c in &columns {
                u = u.update(Column::new_unqualified(c.clone()), source(c));
            }
            u
        })?
        .when_not_matched_insert(|mut i| {
            i = i.predicate(not_deleted.clone());
            for c in &columns {
                i = i.set(Column::new_unqualified(c.clone()), source(c));
            }
            i
        })?
        .await?;
    *table = new_table;
    Ok(MergeCounts {
        inserted: metrics.num_target_rows_inserted,
        updated: metrics.num_target_rows_updated,
        deleted: metrics.num_target_rows_deleted,
    })
}
