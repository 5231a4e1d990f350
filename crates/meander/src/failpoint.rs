//! Test-only failpoints: deterministic crash windows for the reliability
//! tests.
//!
//! `MEANDER_FAILPOINT=before-commit` makes a function that writes data files
//! (sqs-ingest, dynamo-cdc's changelog) log one line, `failpoint
//! before-commit reached`, with the files it wrote, and then block for good
//! instead of committing; the test SIGKILLs the process there, redelivers
//! the batch to a fresh process, and checks that the table is exact and the
//! killed run's files are orphans (`meander vacuum --dry-run` lists them).
//!
//! The variable is read once per process, on the first failpoint reached;
//! unset (as in production) a failpoint costs one atomic load.

use std::sync::OnceLock;

/// The environment variable naming the armed failpoint.
pub const MEANDER_FAILPOINT: &str = "MEANDER_FAILPOINT";

/// After the data files of a commit are stored, before the commit.
pub const BEFORE_COMMIT: &str = "before-commit";

static ARMED: OnceLock<Option<String>> = OnceLock::new();

/// True when `name` is the armed failpoint.
pub fn armed(name: &str) -> bool {
    ARMED
        .get_or_init(|| std::env::var(MEANDER_FAILPOINT).ok())
        .as_deref()
        == Some(name)
}

/// The [`BEFORE_COMMIT`] failpoint: when armed, log and never return.
pub async fn before_commit(table: &str, files: &[&str]) {
    if armed(BEFORE_COMMIT) {
        tracing::warn!(table, files = ?files, "failpoint before-commit reached: data files written, blocking before the commit");
        std::future::pending::<()>().await;
    }
}
