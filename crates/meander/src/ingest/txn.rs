//! Idempotency through Delta `txn` actions, and an index of them kept warm.
//!
//! A `txn` action `{appId, version, lastUpdated}` is written in the same
//! commit as the data it stands for; the log keeps the latest `version` per
//! `appId`. sqs-ingest uses two kinds:
//!
//! - **Batch** ([`batch_app_id`]): `meander-sqs-ingest/batch/<sha256>` of the
//!   sorted ids of the standard-queue messages a commit holds, version 1:
//!   "this exact set of messages is in the table".
//! - **FIFO group** ([`fifo_app_ids`]): per queue and `MessageGroupId`, the
//!   highest `SequenceNumber` committed. SQS sequence numbers are 128-bit
//!   while `txn.version` is a signed 64-bit long, so the number is kept in
//!   two `txn`s of the same commit: `…#seq-hi` holds bits 63 and up,
//!   `…#seq-lo` the low 63 bits ([`split_sequence`]).
//!
//! # The index
//!
//! delta-rs answers "latest version of app id X" by replaying the log
//! (checkpoint plus every later commit) for each id. [`TxnIndex`] instead
//! reads every `txn` once — the `txn` column of the last checkpoint, then
//! the commits after it — and afterwards only the commits it has not seen,
//! so a warm container answers from memory. When the log has a layout it
//! does not read (v2 checkpoints, commits already cleaned up), it falls back
//! to delta-rs's lookups for the ids asked about, caching the answers.
//! Expired transactions (`delta.setTransactionRetentionDuration`) that are
//! still in the commits it reads are kept: more duplicates are caught, never
//! fewer.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType as ArrowType, Int64Type};
use deltalake::kernel::Transaction;
use deltalake::{DeltaTable, DeltaTableError, ObjectStore, Path};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::arrow::ProjectionMask;
use sha2::{Digest, Sha256};

/// The prefix of every app id sqs-ingest writes.
pub const APP_ID_PREFIX: &str = "meander-sqs-ingest";

/// Commits read at once when catching up.
const READ_CONCURRENCY: usize = 16;
/// A longer gap is closed from the checkpoint instead, commit by commit.
const MAX_TAIL: u64 = 500;

/// The app id of a batch of standard-queue messages: the SHA-256 of their
/// sorted, de-duplicated ids.
pub fn batch_app_id<S: AsRef<str>>(message_ids: &[S]) -> String {
    let mut ids: Vec<&str> = message_ids.iter().map(AsRef::as_ref).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut hash = Sha256::new();
    for id in ids {
        hash.update(id.as_bytes());
        hash.update(b"\n");
    }
    let digest = hash.finalize();
    let mut hex = String::with_capacity(64);
    for b in digest.iter() {
        hex.push_str(&format!("{b:02x}"));
    }
    format!("{APP_ID_PREFIX}/batch/{hex}")
}

/// The app ids holding the high and low part of a FIFO group's committed
/// sequence number; `queue` is `<account>/<name>`.
pub fn fifo_app_ids(queue: &str, group: &str) -> (String, String) {
    let base = format!("{APP_ID_PREFIX}/fifo/{queue}/{group}");
    (format!("{base}#seq-hi"), format!("{base}#seq-lo"))
}

const LOW_BITS: u32 = 63;
const LOW_MASK: u128 = (1u128 << LOW_BITS) - 1;

/// A sequence number as two non-negative longs (bits 63+, bits 0-62);
/// `None` when it does not fit (beyond 126 bits).
pub fn split_sequence(seq: u128) -> Option<(i64, i64)> {
    let hi = i64::try_from(seq >> LOW_BITS).ok()?;
    let lo = i64::try_from(seq & LOW_MASK).ok()?;
    Some((hi, lo))
}

/// The inverse of [`split_sequence`].
pub fn join_sequence(hi: i64, lo: i64) -> Option<u128> {
    let hi = u128::try_from(hi).ok()?;
    let lo = u128::try_from(lo).ok()?;
    (lo <= LOW_MASK).then_some((hi << LOW_BITS) | lo)
}

/// The two `txn` actions recording `seq` as committed for a FIFO group.
pub fn fifo_transactions(queue: &str, group: &str, seq: u128, now_ms: i64) -> Vec<Transaction> {
    let (hi_id, lo_id) = fifo_app_ids(queue, group);
    match split_sequence(seq) {
        Some((hi, lo)) => vec![
            Transaction::new_with_last_update(hi_id, hi, Some(now_ms)),
            Transaction::new_with_last_update(lo_id, lo, Some(now_ms)),
        ],
        None => Vec::new(),
    }
}

/// Every `txn` of a table, as of one version (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct TxnIndex {
    /// The table version the index reflects; `None`: no table (yet).
    version: Option<u64>,
    /// Whether `known` holds every app id of the table; otherwise it is a
    /// cache of lookups (`None` = known to be absent).
    partial: bool,
    known: HashMap<String, Option<i64>>,
}

/// `_delta_log/_last_checkpoint`.
#[derive(Debug, serde::Deserialize)]
struct LastCheckpoint {
    version: u64,
    parts: Option<u64>,
    #[serde(rename = "v2Checkpoint")]
    v2_checkpoint: Option<serde_json::Value>,
}

impl TxnIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// An index at `version` that knows nothing yet and looks every id up
    /// (what a log it cannot read gives).
    #[cfg(test)]
    pub(crate) fn partial_at(version: u64) -> Self {
        TxnIndex {
            version: Some(version),
            partial: true,
            known: HashMap::new(),
        }
    }

    /// The table version the index reflects.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// Whether every app id is in memory (no log replay needed for lookups).
    pub fn is_complete(&self) -> bool {
        !self.partial
    }

    /// The latest version of `app_id`, if the index knows it. In partial
    /// mode call [`TxnIndex::ensure`] first.
    pub fn get(&self, app_id: &str) -> Option<i64> {
        self.known.get(app_id).copied().flatten()
    }

    /// The highest sequence number committed for a FIFO group.
    pub fn fifo_committed(&self, queue: &str, group: &str) -> Option<u128> {
        let (hi, lo) = fifo_app_ids(queue, group);
        join_sequence(self.get(&hi)?, self.get(&lo)?)
    }

    /// Bring the index to `table`'s version (reading only the new commits
    /// when it can).
    pub async fn catch_up(&mut self, table: &DeltaTable) -> Result<(), DeltaTableError> {
        let Some(want) = table.version() else {
            *self = Self::default();
            return Ok(());
        };
        match self.version {
            Some(have) if have == want => Ok(()),
            Some(have) if have < want && want - have <= MAX_TAIL => {
                let store = table.log_store();
                match read_txns(store.as_ref(), have + 1, want).await? {
                    Some(txns) => {
                        self.apply(txns);
                        self.version = Some(want);
                        Ok(())
                    }
                    None => self.rebuild(table, want).await,
                }
            }
            _ => self.rebuild(table, want).await,
        }
    }

    async fn rebuild(&mut self, table: &DeltaTable, want: u64) -> Result<(), DeltaTableError> {
        self.known.clear();
        self.partial = true;
        self.version = Some(want);
        let store = table.object_store();
        let checkpoint = match read_last_checkpoint(store.as_ref()).await {
            Ok(c) => c,
            Err(reason) => {
                tracing::info!(table = %table.table_url(), reason, "txn index: checkpoint hint unreadable; using log replay lookups");
                return Ok(());
            }
        };
        let first_commit = match &checkpoint {
            Some(c) if c.version > want || c.v2_checkpoint.is_some() => {
                tracing::info!(table = %table.table_url(), "txn index: checkpoint layout not read here; using log replay lookups");
                return Ok(());
            }
            Some(c) => match checkpoint_txns(store, c).await {
                Ok(txns) => {
                    self.apply(txns);
                    c.version + 1
                }
                Err(reason) => {
                    tracing::info!(table = %table.table_url(), reason, "txn index: checkpoint unreadable; using log replay lookups");
                    self.known.clear();
                    return Ok(());
                }
            },
            None => 0,
        };
        if first_commit <= want {
            match read_txns(table.log_store().as_ref(), first_commit, want).await? {
                Some(txns) => self.apply(txns),
                None => {
                    tracing::info!(table = %table.table_url(), "txn index: commits missing; using log replay lookups");
                    self.known.clear();
                    return Ok(());
                }
            }
        }
        self.partial = false;
        Ok(())
    }

    fn apply(&mut self, txns: impl IntoIterator<Item = (String, i64)>) {
        for (app_id, version) in txns {
            self.known.insert(app_id, Some(version));
        }
    }

    /// In partial mode, look up the app ids not known yet (log replay by
    /// delta-rs, once per id). The table must be at the index's version.
    pub async fn ensure(
        &mut self,
        table: &DeltaTable,
        app_ids: &[String],
    ) -> Result<(), DeltaTableError> {
        if !self.partial || table.version() != self.version {
            return Ok(());
        }
        let Some(state) = table.state.as_ref() else {
            return Ok(());
        };
        let log_store = table.log_store();
        for id in app_ids {
            if !self.known.contains_key(id) {
                let version = state.transaction_version(log_store.as_ref(), id).await?;
                self.known.insert(id.clone(), version);
            }
        }
        Ok(())
    }

    /// Record a commit made by this process at `version` with `txns`. When
    /// the index was not at the version before it, it is left for
    /// [`TxnIndex::catch_up`].
    pub fn record_commit(&mut self, version: u64, txns: &[Transaction]) {
        let follows = match self.version {
            Some(v) => v + 1 == version,
            None => version == 0,
        };
        if follows {
            self.apply(txns.iter().map(|t| (t.app_id.clone(), t.version)));
            self.version = Some(version);
        }
    }
}

/// The `txn`s of commits `from..=to`, in order; `None` when one is missing.
async fn read_txns(
    store: &dyn deltalake::logstore::LogStore,
    from: u64,
    to: u64,
) -> Result<Option<Vec<(String, i64)>>, DeltaTableError> {
    let commits: Vec<Option<bytes::Bytes>> = futures::stream::iter(from..=to)
        .map(|v| store.read_commit_entry(v))
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    let mut out = Vec::new();
    for commit in commits {
        let Some(bytes) = commit else {
            return Ok(None);
        };
        out.extend(txns_in_commit(&bytes));
    }
    Ok(Some(out))
}

/// The `txn` actions of one commit file (newline-delimited JSON actions).
pub fn txns_in_commit(bytes: &[u8]) -> Vec<(String, i64)> {
    const KEY: &[u8] = b"\"txn\"";
    bytes
        .split(|b| *b == b'\n')
        .filter(|line| line.windows(KEY.len()).any(|w| w == KEY))
        .filter_map(|line| serde_json::from_slice::<serde_json::Value>(line).ok())
        .filter_map(|action| {
            let txn = action.get("txn")?;
            Some((
                txn.get("appId")?.as_str()?.to_string(),
                txn.get("version")?.as_i64()?,
            ))
        })
        .collect()
}

async fn read_last_checkpoint(store: &dyn ObjectStore) -> Result<Option<LastCheckpoint>, String> {
    match store.get(&Path::from("_delta_log/_last_checkpoint")).await {
        Ok(got) => {
            let bytes = got.bytes().await.map_err(|e| e.to_string())?;
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| e.to_string())
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// The `txn` column of a classic (single or multi-part) checkpoint.
async fn checkpoint_txns(
    store: Arc<dyn ObjectStore>,
    checkpoint: &LastCheckpoint,
) -> Result<Vec<(String, i64)>, String> {
    let v = checkpoint.version;
    let paths: Vec<String> = match checkpoint.parts {
        Some(n) if n > 1 => (1..=n)
            .map(|i| format!("_delta_log/{v:020}.checkpoint.{i:010}.{n:010}.parquet"))
            .collect(),
        _ => vec![format!("_delta_log/{v:020}.checkpoint.parquet")],
    };
    let mut out = Vec::new();
    for path in paths {
        let location = Path::from(path.as_str());
        let size = store
            .head(&location)
            .await
            .map_err(|e| format!("{path}: {e}"))?
            .size;
        let reader = crate::parquet_meta::StoreReader::new(store.clone(), location, size);
        let builder = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        let leaves: Vec<usize> = builder
            .metadata()
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                let parts = c.path().parts();
                parts.len() == 2
                    && parts.first().map(String::as_str) == Some("txn")
                    && matches!(parts.get(1).map(String::as_str), Some("appId" | "version"))
            })
            .map(|(i, _)| i)
            .collect();
        if leaves.len() != 2 {
            continue; // no txn column: no transactions in this part
        }
        let mask =
            ProjectionMask::leaves(builder.metadata().file_metadata().schema_descr(), leaves);
        let mut stream = builder
            .with_projection(mask)
            .build()
            .map_err(|e| format!("{path}: {e}"))?;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| format!("{path}: {e}"))?;
            let Some(txn) = batch.column_by_name("txn").and_then(|c| c.as_struct_opt()) else {
                continue;
            };
            let (Some(ids), Some(versions)) =
                (txn.column_by_name("appId"), txn.column_by_name("version"))
            else {
                continue;
            };
            let ids = arrow::compute::cast(ids, &ArrowType::Utf8).map_err(|e| e.to_string())?;
            let versions =
                arrow::compute::cast(versions, &ArrowType::Int64).map_err(|e| e.to_string())?;
            let (Some(ids), Some(versions)) = (
                ids.as_string_opt::<i32>(),
                versions.as_primitive_opt::<Int64Type>(),
            ) else {
                continue;
            };
            for row in 0..txn.len() {
                if txn.is_valid(row) && ids.is_valid(row) && versions.is_valid(row) {
                    out.push((ids.value(row).to_string(), versions.value(row)));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_ids_ignore_order_and_duplicates() {
        let a = batch_app_id(&["m2", "m1", "m3"]);
        assert_eq!(a, batch_app_id(&["m1", "m3", "m2", "m1"]));
        assert_ne!(a, batch_app_id(&["m1", "m2"]));
        // "a\nb" as one id is not the pair a, b... and ids cannot hold newlines
        // in SQS anyway; concatenation without separators would collide:
        assert_ne!(batch_app_id(&["ab", "c"]), batch_app_id(&["a", "bc"]));
        assert!(a.starts_with("meander-sqs-ingest/batch/"));
        assert_eq!(a.len(), "meander-sqs-ingest/batch/".len() + 64);
    }

    #[test]
    fn sequence_numbers_split_exactly() {
        for seq in [
            0u128,
            1,
            (1 << 63) - 1,
            1 << 63,
            18_849_496_460_467_696_128,
            18_878_027_350_649_327_616,
            (1u128 << 126) - 1,
        ] {
            let (hi, lo) = split_sequence(seq).unwrap();
            assert!(hi >= 0 && lo >= 0);
            assert_eq!(join_sequence(hi, lo), Some(seq), "{seq}");
        }
        assert_eq!(split_sequence(1u128 << 126), None);
        assert_eq!(join_sequence(-1, 0), None);
        // Order is kept: (hi, lo) compares as the number does.
        let a = split_sequence(18_849_496_460_467_696_128).unwrap();
        let b = split_sequence(18_849_496_460_467_696_129).unwrap();
        assert!(a < b);
        let txns = fifo_transactions("1/q.fifo", "g", 1 << 64, 5);
        assert_eq!(txns.len(), 2);
        assert_eq!(txns[0].app_id, "meander-sqs-ingest/fifo/1/q.fifo/g#seq-hi");
        assert_eq!((txns[0].version, txns[1].version), (2, 0));
    }

    #[test]
    fn commit_files_yield_their_txns() {
        let commit = concat!(
            "{\"commitInfo\":{\"operation\":\"WRITE\"}}\n",
            "{\"txn\":{\"appId\":\"a\",\"version\":3,\"lastUpdated\":1}}\n",
            "{\"add\":{\"path\":\"x\\\"txn\\\".parquet\",\"size\":1}}\n",
            "{\"txn\":{\"appId\":\"b\",\"version\":1}}\n",
            "not json \"txn\"\n"
        );
        assert_eq!(
            txns_in_commit(commit.as_bytes()),
            vec![("a".to_string(), 3), ("b".to_string(), 1)]
        );
    }

    #[test]
    fn recorded_commits_advance_only_in_order() {
        let mut index = TxnIndex::new();
        index.record_commit(0, &[Transaction::new("a", 1)]);
        assert_eq!(index.version(), Some(0));
        assert_eq!(index.get("a"), Some(1));
        index.record_commit(2, &[Transaction::new("b", 1)]);
        assert_eq!(index.get("b"), None, "a gap is left for catch_up");
        index.record_commit(1, &fifo_transactions("1/q", "g", 42, 0));
        assert_eq!(index.fifo_committed("1/q", "g"), Some(42));
        assert_eq!(index.fifo_committed("1/q", "other"), None);
    }
}
