//! Committing to a Delta table with retries that never lose or duplicate.
//!
//! delta-rs retries a conflicting commit immediately, up to 15 times, against
//! actions planned on the old snapshot. That is wrong for us twice over: a
//! burst of Lambdas on one table exhausts 15 immediate retries, and a file
//! another writer added meanwhile would be added again. So every commit here
//! is made with delta-rs retries off, and on a conflict we
//!
//! 1. wait with exponential backoff and full jitter ([`RetryPolicy`]),
//! 2. bring the table state forward incrementally (new commits only),
//! 3. **plan again** on the new state — where callers drop files already
//!    present, so idempotency holds across concurrent writers —
//! 4. and try the next version, with S3's conditional put deciding.
//!
//! # New table semantics
//!
//! When the table does not exist, the planner may return [`Plan::Create`];
//! the table is created as version 0 with its first files in the same
//! commit. Two writers creating one table at once: one wins version 0, the
//! other sees the conflict, loads the table and appends (evolving the schema
//! if its planner says so). One table, every file.
//!
//! # Existing table semantics
//!
//! [`Plan::Commit`] carries the actions (adds, removes, an evolved metadata
//! action, `txn`s). Checkpoints are written every `delta.checkpointInterval`
//! commits; expired-log cleanup runs only when the table sets
//! `delta.enableExpiredLogCleanup=true` (delta-rs would run it by default).

use std::time::{Duration, Instant};

use deltalake::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake::kernel::{Action, StructField, StructType};
use deltalake::operations::create::CreateBuilder;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableError};
use rand::Rng;

/// How conflicting commits are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff ceiling; doubles per attempt.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 100,
            base_delay: Duration::from_millis(25),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The ceiling of the wait before retry number `retry` (1-based).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// A random wait in `[0, ceiling]` ("full jitter").
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry).as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=ceiling))
    }
}

/// What to commit, decided on the current table state.
#[derive(Debug)]
pub enum Plan {
    /// Nothing to do (e.g. every file is already in the table).
    Nothing,
    /// Create the table with these columns and first actions.
    Create {
        columns: Vec<StructField>,
        partition_columns: Vec<String>,
        configuration: Vec<(String, String)>,
        actions: Vec<Action>,
        operation: DeltaOperation,
    },
    /// Commit these actions to the existing table.
    Commit {
        actions: Vec<Action>,
        operation: DeltaOperation,
    },
}

/// A commit that landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub version: u64,
    /// Conflicts retried before it landed.
    pub retries: u32,
    /// Whether this commit created the table.
    pub created: bool,
    pub duration: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError<E: std::error::Error + 'static> {
    #[error("gave up after {attempts} conflicting commit attempts on {table}; the table is very busy: raise COMMIT_MAX_ATTEMPTS or serialise writers with group-events")]
    Exhausted { table: String, attempts: u32 },
    #[error("planning the commit to {table} failed: {source}")]
    Plan { table: String, source: E },
    #[error("Delta error on {table}: {source}")]
    Delta {
        table: String,
        #[source]
        source: DeltaTableError,
    },
}

/// Whether an error means "someone else committed that version first".
pub fn is_conflict(err: &DeltaTableError) -> bool {
    match err {
        DeltaTableError::VersionAlreadyExists(_) => true,
        DeltaTableError::Transaction { source } => matches!(
            source,
            TransactionError::VersionAlreadyExists(_)
                | TransactionError::MaxCommitAttempts(_)
                | TransactionError::CommitConflict(_)
        ),
        _ => false,
    }
}

/// Whether a commit failed on a transient storage error (throttling, a 5xx,
/// a reset connection) rather than on a conflict or a real refusal. The
/// commit may or may not have landed (the answer can be lost after S3 wrote
/// the log entry), so only a caller whose re-plan recognises its own earlier
/// commit (`txn` ids, paths already added) may retry it as a conflict.
pub fn is_transient(err: &DeltaTableError) -> bool {
    let store = match err {
        DeltaTableError::ObjectStore { source } => source,
        DeltaTableError::Transaction {
            source: TransactionError::ObjectStore { source },
        } => source,
        _ => return false,
    };
    matches!(store, object_store::Error::Generic { .. })
}

/// Whether the error is "there is no Delta table here (yet)".
pub fn is_not_a_table(err: &DeltaTableError) -> bool {
    matches!(
        err,
        DeltaTableError::NotATable(_) | DeltaTableError::InvalidTableLocation(_)
    )
}

/// The table property that turns expired-log cleanup on. delta-rs cleans up
/// by default when it is unset; we only do when it is set to `true`.
pub const EXPIRED_LOG_CLEANUP: &str = "delta.enableExpiredLogCleanup";

/// Commit properties for every Meander commit (and MERGE): no delta-rs
/// retries (conflicts are retried by [`commit_with_retry`] or its callers, on
/// the new state), checkpoints as usual, expired-log cleanup only when the
/// table asks for it.
pub fn table_props(table: &DeltaTable) -> CommitProperties {
    let cleanup = table
        .state
        .as_ref()
        .and_then(|s| {
            s.metadata()
                .configuration()
                .get(EXPIRED_LOG_CLEANUP)
                .cloned()
        })
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    CommitProperties::default()
        .with_max_retries(0)
        .with_create_checkpoint(true)
        .with_cleanup_expired_logs(Some(cleanup))
}

/// Make sure `table` has state if the table exists. Returns whether it exists.
pub async fn ensure_loaded(table: &mut DeltaTable) -> Result<bool, DeltaTableError> {
    if table.state.is_some() {
        return Ok(true);
    }
    match table.load().await {
        Ok(()) => Ok(true),
        Err(e) if is_not_a_table(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Plan and commit, retrying conflicts as described in the module docs.
///
/// `plan` is called once per attempt with the table as it now stands (no
/// state when the table does not exist yet).
pub async fn commit_with_retry<E, F>(
    table: &mut DeltaTable,
    policy: &RetryPolicy,
    mut plan: F,
) -> Result<Option<Committed>, CommitError<E>>
where
    E: std::error::Error + 'static,
    F: FnMut(&DeltaTable) -> Result<Plan, E>,
{
    let started = Instant::now();
    let uri = table.table_url().to_string();
    let delta = |source| CommitError::Delta {
        table: uri.clone(),
        source,
    };
    let mut retries = 0u32;
    loop {
        ensure_loaded(table).await.map_err(delta)?;
        let planned = plan(table).map_err(|source| CommitError::Plan {
            table: uri.clone(),
            source,
        })?;
        let err: DeltaTableError = match planned {
            Plan::Nothing => return Ok(None),
            Plan::Create {
                columns,
                partition_columns,
                configuration,
                actions,
                operation: _,
            } => {
                let create = CreateBuilder::new()
                    .with_log_store(table.log_store())
                    .with_columns(columns)
                    .with_partition_columns(partition_columns)
                    .with_configuration(configuration.into_iter().map(|(k, v)| (k, Some(v))))
                    .with_actions(actions)
                    .with_save_mode(SaveMode::ErrorIfExists)
                    .with_commit_properties(table_props(table));
                match create.await {
                    Ok(created) => {
                        *table = created;
                        return Ok(Some(Committed {
                            version: table.version().unwrap_or(0),
                            retries,
                            created: true,
                            duration: started.elapsed(),
                        }));
                    }
                    // Someone else created it first, or the create raced:
                    // whichever, if a table is there now, plan again on it.
                    Err(e) => match table.load().await {
                        Ok(()) => e,
                        Err(_) => return Err(delta(e)),
                    },
                }
            }
            Plan::Commit { actions, operation } => {
                let state = table
                    .state
                    .as_ref()
                    .ok_or_else(|| delta(DeltaTableError::NotInitialized))?;
                let committed = CommitBuilder::from(table_props(table))
                    .with_actions(actions)
                    .build(Some(state), table.log_store(), operation)
                    .await;
                match committed {
                    Ok(done) => {
                        let version = done.version();
                        table.state = Some(done.snapshot());
                        return Ok(Some(Committed {
                            version,
                            retries,
                            created: false,
                            duration: started.elapsed(),
                        }));
                    }
                    Err(e) if is_conflict(&e) => e,
                    Err(e) => return Err(delta(e)),
                }
            }
        };
        // A conflict: back off, catch up, plan again.
        retries += 1;
        if retries >= policy.max_attempts {
            return Err(CommitError::Exhausted {
                table: uri,
                attempts: retries,
            });
        }
        tracing::debug!(table = %uri, retry = retries, error = %err, "commit conflict, retrying");
        tokio::time::sleep(policy.delay(retries)).await;
        if table.state.is_some() {
            table.update_incremental(None).await.map_err(delta)?;
        }
    }
}

/// Columns of a schema, for [`Plan::Create`].
pub fn columns_of(schema: &StructType) -> Vec<StructField> {
    schema.fields().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_storage_errors_are_told_apart() {
        let generic = || object_store::Error::Generic {
            store: "S3",
            source: "error sending request".into(),
        };
        assert!(is_transient(&DeltaTableError::ObjectStore {
            source: generic()
        }));
        assert!(is_transient(&DeltaTableError::Transaction {
            source: TransactionError::ObjectStore { source: generic() }
        }));
        assert!(!is_transient(&DeltaTableError::ObjectStore {
            source: object_store::Error::NotFound {
                path: "x".into(),
                source: "gone".into()
            }
        }));
        assert!(!is_transient(&DeltaTableError::VersionAlreadyExists(3)));
    }

    #[test]
    fn backoff_grows_to_the_cap_with_jitter_below_the_ceiling() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(300),
        };
        assert_eq!(p.ceiling(1), Duration::from_millis(10));
        assert_eq!(p.ceiling(2), Duration::from_millis(20));
        assert_eq!(p.ceiling(5), Duration::from_millis(160));
        assert_eq!(p.ceiling(6), Duration::from_millis(300));
        assert_eq!(p.ceiling(200), Duration::from_millis(300));
        for retry in 1..40 {
            assert!(p.delay(retry) <= p.ceiling(retry));
        }
    }
}
