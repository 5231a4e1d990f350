//! Point-in-time, Delta-aware backups of a table, and restore.
//!
//! # What a backup holds
//!
//! A backup of version `N` copies exactly what reading the table at `N`
//! needs, and nothing after it:
//!
//! - the log: the newest complete classic checkpoint at or below `N` and
//!   the commits from its version up to `N` (every commit from 0 when there
//!   is no checkpoint). `_last_checkpoint` is not copied: it may point past
//!   `N`, and readers find the checkpoint by listing;
//! - every data file live at `N`, and the deletion-vector files they use.
//!
//! Objects are copied server-side where the store can (S3 `CopyObject`,
//! across buckets and accounts), never downloaded, with bounded
//! concurrency. A backup is **incremental**: objects already in the backup
//! location with the same size are not copied again (Delta files are
//! immutable and uniquely named, so path + size identifies them).
//!
//! # Layout
//!
//! Under a backup root (`BACKUP_URI`), each table has its own location,
//! named after the table: `s3://lake/tables/orders` backs up to
//! `<root>/lake/tables/orders/` (local tables to `<root>/local/<path>/`):
//!
//! ```text
//! <table backup>/files/<path as in the table>        data, deletion vectors, _delta_log/...
//! <table backup>/manifests/<version, 20 digits>.json one per backup
//! ```
//!
//! Paths are preserved, so a restore is a plain copy back. The manifest is
//! written last, once every object it names is in place: a manifest is the
//! promise that its version can be restored, also after the source's files
//! were vacuumed or the whole table was deleted. Interrupted backups leave
//! only objects that the next run reuses.
//!
//! # Manifest
//!
//! `{format, table, version, created, checkpoint, log, files,
//! deletion_vectors, num_files, total_bytes, num_records, copied}`; every
//! file entry is `{path, size, checksum}` (see [`objects`] for checksums:
//! S3's ETag when it is an MD5 of the content, SHA-256 for local copies).
//! `num_records` is the sum of `numRecords` from the file statistics (the
//! Parquet footers for files without them), less the rows deletion vectors
//! remove.
//!
//! # Restore
//!
//! [`restore`] copies a manifest's data files, then its log (the last commit
//! last) into an empty target location, and verifies the result: every
//! object present with the manifest's size (and checksum, when both sides
//! have one of the same kind), the table loads at exactly the backup's
//! version, its live files and sizes are the manifest's, and the row count
//! read from the Parquet footers equals the manifest's `num_records`.
//! Only the backed-up version can be read from the restored table (no
//! time travel to earlier versions).
//!
//! # Limits
//!
//! V2 (UUID-named) checkpoints are not used: the newest classic checkpoint
//! and the commits after it are taken instead, which fails with
//! [`LogError::Gap`] if log cleanup removed those commits. Data files
//! outside the table root (absolute paths of shallow clones) are refused.

pub mod objects;
pub mod plan;

use std::collections::{BTreeSet, HashMap};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use deltalake::kernel::StorageType;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError, ObjectStore, Path};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tracing::info;

pub use objects::{
    Listed, Loc, LocError, LocalObjects, ObjectInfo, Objects, ObjectsError, Put, Scheme, Storage,
};
pub use plan::{
    dv_relative_path, pick_version, plan_copies, select_log, should_back_up, CopyPlan, LogError,
    LogSelection, Needed,
};

/// The manifest format written by this version.
pub const MANIFEST_FORMAT: u32 = 1;
/// Copies in flight at once, by default.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// One file of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Relative to the table root, as the object key has it (not URL-encoded).
    pub path: String,
    pub size: u64,
    /// `md5:<hex>` or `sha256:<hex>`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// What one backup copied (the rest was already in the backup location).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyCounts {
    /// Data and deletion-vector files copied.
    pub files: usize,
    /// Log files (commits, checkpoint parts) copied.
    pub log_files: usize,
    pub bytes: u64,
}

/// The record of one backup: `<table backup>/manifests/<version>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The source table, as a URI.
    pub table: String,
    pub version: u64,
    pub created: DateTime<Utc>,
    /// The checkpoint version the log starts from, if any.
    pub checkpoint: Option<u64>,
    /// `_delta_log/...` files, in load order (checkpoint parts, then commits).
    pub log: Vec<ManifestFile>,
    /// Data files live at `version`.
    pub files: Vec<ManifestFile>,
    #[serde(default)]
    pub deletion_vectors: Vec<ManifestFile>,
    pub num_files: usize,
    /// Bytes of the data files.
    pub total_bytes: u64,
    /// Rows of the table at `version`; `None` when unknown.
    pub num_records: Option<u64>,
    pub copied: CopyCounts,
}

/// Where one table's backups live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupLayout {
    pub root: Loc,
}

impl BackupLayout {
    /// The table's backup location given its own root.
    pub fn new(root: Loc) -> Self {
        BackupLayout { root }
    }

    /// The backup location of `table` under the backup root `backup_root`.
    pub fn for_table(backup_root: &Loc, table: &Loc) -> Self {
        BackupLayout {
            root: backup_root.join(&table_backup_name(table)),
        }
    }

    /// The copies, paths as in the table.
    pub fn files(&self) -> Loc {
        self.root.join("files")
    }

    pub fn manifests(&self) -> Loc {
        self.root.join("manifests")
    }

    pub fn manifest(&self, version: u64) -> Loc {
        self.manifests().join(&format!("{version:020}.json"))
    }
}

/// The name of a table's backup below a backup root: `bucket/prefix` for
/// S3 tables, `local/<path>` for local ones.
pub fn table_backup_name(table: &Loc) -> String {
    let head = match table.scheme {
        Scheme::S3 => table.bucket.as_str(),
        Scheme::File => "local",
    };
    if table.key.is_empty() {
        head.to_string()
    } else {
        format!("{head}/{}", table.key)
    }
}

/// Why a backup or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Location(#[from] LocError),
    #[error(transparent)]
    Objects(#[from] ObjectsError),
    #[error("table {table}: {source}")]
    Delta {
        table: String,
        #[source]
        source: DeltaTableError,
    },
    #[error("table {table}: {source}")]
    Log {
        table: String,
        #[source]
        source: LogError,
    },
    #[error("table {table}: {reason}")]
    Unsupported { table: String, reason: String },
    #[error(
        "{location}: expected {expected} bytes, found {actual}; the file was changed or damaged"
    )]
    SizeMismatch {
        location: String,
        expected: u64,
        actual: u64,
    },
    #[error("{location}: checksum {actual} differs from the manifest's {expected}")]
    ChecksumMismatch {
        location: String,
        expected: String,
        actual: String,
    },
    #[error("no backups at {0}")]
    NoBackups(String),
    #[error("no backup of version {version} at {location}")]
    NoManifest { location: String, version: u64 },
    #[error("manifest {location} is unreadable: {reason}")]
    BadManifest { location: String, reason: String },
    #[error("{target} already holds a Delta log; restore into an empty location")]
    TargetNotEmpty { target: String },
    #[error("the restored table at {target} does not match its manifest: {reason}")]
    Verify { target: String, reason: String },
    #[error(
        "ran out of time after copying {copied} of {total} objects; run again to continue \
         (what was copied is kept and not copied again)"
    )]
    OutOfTime { copied: usize, total: usize },
    #[error(transparent)]
    Footer(#[from] crate::parquet_meta::ParquetMetaError),
}

fn delta_error(table: &Loc) -> impl Fn(DeltaTableError) -> BackupError + '_ {
    move |source| BackupError::Delta {
        table: table.to_string(),
        source,
    }
}

/// Open the table at `table`, at `version` or the latest. Nothing is
/// created: a missing table is an error.
pub async fn open_table(table: &Loc, version: Option<u64>) -> Result<DeltaTable, BackupError> {
    crate::tables::register_handlers();
    let url = table.dir_url()?;
    let err = delta_error(table);
    let mut builder = DeltaTableBuilder::from_url(url).map_err(&err)?;
    if let Some(v) = version {
        builder = builder.with_version(v);
    }
    builder.load().await.map_err(err)
}

/// How a backup runs.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// Copies in flight at once.
    pub concurrency: usize,
    /// Start no copy after this instant (a Lambda stops before its
    /// timeout); the backup then fails with [`BackupError::OutOfTime`].
    pub deadline: Option<SystemTime>,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            concurrency: DEFAULT_CONCURRENCY,
            deadline: None,
        }
    }
}

/// What a backup did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupReport {
    pub table: String,
    pub version: u64,
    /// The table's backup location (what `meander restore` takes).
    pub location: String,
    pub manifest: String,
    /// The version had been backed up before: nothing was copied.
    pub already_backed_up: bool,
    pub checkpoint: Option<u64>,
    /// Data files of the version, their bytes and rows.
    pub files: usize,
    pub bytes: u64,
    pub num_records: Option<u64>,
    pub deletion_vectors: usize,
    pub log_files: usize,
    /// Data and deletion-vector files copied by this run.
    pub copied_files: usize,
    pub copied_log_files: usize,
    pub copied_bytes: u64,
    /// Objects (data, deletion vectors, log) already in the backup.
    pub already_present: usize,
    pub duration_ms: u64,
}

impl BackupReport {
    fn from_manifest(m: &Manifest, layout: &BackupLayout, already: bool, started: Instant) -> Self {
        let copied = if already {
            CopyCounts::default()
        } else {
            m.copied
        };
        let objects = m.files.len() + m.deletion_vectors.len() + m.log.len();
        BackupReport {
            table: m.table.clone(),
            version: m.version,
            location: layout.root.to_string(),
            manifest: layout.manifest(m.version).to_string(),
            already_backed_up: already,
            checkpoint: m.checkpoint,
            files: m.files.len(),
            bytes: m.total_bytes,
            num_records: m.num_records,
            deletion_vectors: m.deletion_vectors.len(),
            log_files: m.log.len(),
            copied_files: copied.files,
            copied_log_files: copied.log_files,
            copied_bytes: copied.bytes,
            already_present: objects.saturating_sub(copied.files + copied.log_files),
            duration_ms: started.elapsed().as_millis() as u64,
        }
    }
}

/// A data file live at the loaded version.
struct LiveFile {
    needed: Needed,
    store_path: Path,
    num_records: Option<u64>,
}

/// The files a loaded table version reads.
struct LiveFiles {
    data: Vec<LiveFile>,
    /// Deletion-vector files, relative to the table root.
    dvs: BTreeSet<String>,
    /// Rows deletion vectors remove.
    dv_cardinality: u64,
}

/// A path in the log, made relative to the table root; absolute URIs are
/// accepted only inside the table.
fn relative_path(path: &str, table: &Loc) -> Result<String, BackupError> {
    let unsupported = |reason: String| BackupError::Unsupported {
        table: table.to_string(),
        reason,
    };
    if path.contains("://") {
        return Loc::parse(path)
            .ok()
            .and_then(|l| l.relative_to(table))
            .ok_or_else(|| {
                unsupported(format!(
                    "file {path} lies outside the table root (shallow clone?); not supported"
                ))
            });
    }
    crate::events::validate_key(path)
        .map_err(|e| unsupported(format!("file path {path:?} in the log: {e}")))?;
    Ok(path.to_string())
}

fn live_files(table: &DeltaTable, root: &Loc) -> Result<LiveFiles, BackupError> {
    let err = delta_error(root);
    let state = table.snapshot().map_err(&err)?;
    let log_data = state.snapshot().try_log_data().map_err(&err)?;
    let mut out = LiveFiles {
        data: Vec::new(),
        dvs: BTreeSet::new(),
        dv_cardinality: 0,
    };
    for f in log_data.iter() {
        let path = relative_path(&f.path(), root)?;
        let size = u64::try_from(f.size()).map_err(|_| BackupError::Unsupported {
            table: root.to_string(),
            reason: format!("file {path} has a negative size in the log"),
        })?;
        if let Some(dv) = f.deletion_vector_descriptor() {
            out.dv_cardinality += u64::try_from(dv.cardinality).unwrap_or(0);
            let dv_path = match dv.storage_type {
                StorageType::Inline => None,
                StorageType::UuidRelativePath => {
                    Some(dv_relative_path(&dv.path_or_inline_dv).ok_or_else(|| {
                        BackupError::Unsupported {
                            table: root.to_string(),
                            reason: format!(
                                "deletion vector {:?} of {path} is malformed",
                                dv.path_or_inline_dv
                            ),
                        }
                    })?)
                }
                StorageType::AbsolutePath => Some(relative_path(&dv.path_or_inline_dv, root)?),
            };
            out.dvs.extend(dv_path);
        }
        out.data.push(LiveFile {
            needed: Needed { path, size },
            store_path: f.object_store_path(),
            num_records: f.num_records().map(|n| n as u64),
        });
    }
    out.data.sort_by(|a, b| a.needed.path.cmp(&b.needed.path));
    Ok(out)
}

/// Rows of `files`: `numRecords` from the statistics, the Parquet footer
/// (ranged GETs through the table's store) for files without it.
async fn count_rows(
    table: &DeltaTable,
    root: &Loc,
    files: &[LiveFile],
    use_stats: bool,
    concurrency: usize,
) -> Result<u64, BackupError> {
    let store = table.object_store();
    let counts: Vec<u64> = futures::stream::iter(files)
        .map(|f| {
            let store = store.clone();
            async move {
                match f.num_records {
                    Some(n) if use_stats => Ok(n),
                    _ => {
                        let name = root.join(&f.needed.path).to_string();
                        let meta = crate::parquet_meta::read_metadata(
                            store.as_ref() as &dyn ObjectStore,
                            &f.store_path,
                            f.needed.size,
                            &name,
                        )
                        .await?;
                        Ok::<u64, BackupError>(
                            u64::try_from(meta.file_metadata().num_rows()).unwrap_or(0),
                        )
                    }
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(counts.iter().sum())
}

/// One copy to make.
struct CopyJob {
    from: Loc,
    to: Loc,
    needed: Needed,
    /// Checksum the copy must have (restore), when of the same kind.
    expect: Option<String>,
}

fn same_kind(a: &str, b: &str) -> bool {
    a.split_once(':').map(|(k, _)| k) == b.split_once(':').map(|(k, _)| k)
}

fn check_checksum(
    location: &Loc,
    expected: Option<&str>,
    actual: Option<&str>,
) -> Result<bool, BackupError> {
    match (expected, actual) {
        (Some(e), Some(a)) if same_kind(e, a) => {
            if e.eq_ignore_ascii_case(a) {
                Ok(true)
            } else {
                Err(BackupError::ChecksumMismatch {
                    location: location.to_string(),
                    expected: e.to_string(),
                    actual: a.to_string(),
                })
            }
        }
        _ => Ok(false),
    }
}

/// Run `jobs` with at most `concurrency` in flight; every copy must have
/// the expected size (and checksum). Returns path -> what was written, and
/// how many checksums were compared.
async fn copy_all(
    objects: &dyn Objects,
    jobs: Vec<CopyJob>,
    concurrency: usize,
    deadline: Option<SystemTime>,
) -> Result<(HashMap<String, ObjectInfo>, usize), BackupError> {
    let total = jobs.len();
    let done: Vec<Option<(String, ObjectInfo, bool)>> = futures::stream::iter(jobs)
        .map(|job| async move {
            if deadline.is_some_and(|d| SystemTime::now() >= d) {
                return Ok(None);
            }
            let info = objects.copy(&job.from, &job.to, job.needed.size).await?;
            if info.size != job.needed.size {
                return Err(BackupError::SizeMismatch {
                    location: job.from.to_string(),
                    expected: job.needed.size,
                    actual: info.size,
                });
            }
            let compared =
                check_checksum(&job.from, job.expect.as_deref(), info.checksum.as_deref())?;
            Ok::<_, BackupError>(Some((job.needed.path, info, compared)))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let copied = done.iter().flatten().count();
    if copied < total {
        return Err(BackupError::OutOfTime { copied, total });
    }
    let compared = done.iter().flatten().filter(|(_, _, c)| *c).count();
    Ok((
        done.into_iter().flatten().map(|(p, i, _)| (p, i)).collect(),
        compared,
    ))
}

/// The versions backed up at `layout`, ascending.
pub async fn backup_versions(
    objects: &dyn Objects,
    layout: &BackupLayout,
) -> Result<Vec<u64>, BackupError> {
    let mut versions: Vec<u64> = objects
        .list(&layout.manifests())
        .await?
        .iter()
        .filter_map(|l| crate::table::commit_version(&l.key))
        .collect();
    versions.sort_unstable();
    Ok(versions)
}

async fn read_manifest_at(
    objects: &dyn Objects,
    at: &Loc,
) -> Result<Option<Manifest>, BackupError> {
    let Some(body) = objects.get(at).await? else {
        return Ok(None);
    };
    let m: Manifest = serde_json::from_slice(&body).map_err(|e| BackupError::BadManifest {
        location: at.to_string(),
        reason: e.to_string(),
    })?;
    if m.format > MANIFEST_FORMAT {
        return Err(BackupError::BadManifest {
            location: at.to_string(),
            reason: format!(
                "format {} is newer than this program's {MANIFEST_FORMAT}; upgrade",
                m.format
            ),
        });
    }
    Ok(Some(m))
}

/// The manifest of `version`, or of the latest backup.
pub async fn read_manifest(
    objects: &dyn Objects,
    layout: &BackupLayout,
    version: Option<u64>,
) -> Result<Manifest, BackupError> {
    let version = match version {
        Some(v) => v,
        None => *backup_versions(objects, layout)
            .await?
            .last()
            .ok_or_else(|| BackupError::NoBackups(layout.root.to_string()))?,
    };
    let at = layout.manifest(version);
    read_manifest_at(objects, &at)
        .await?
        .ok_or_else(|| BackupError::NoManifest {
            location: layout.root.to_string(),
            version,
        })
}

/// Back up `table` (loaded at the version to back up) from `source` to
/// `layout`. A version backed up before is not copied again.
pub async fn backup(
    objects: &dyn Objects,
    table: &DeltaTable,
    source: &Loc,
    layout: &BackupLayout,
    options: &BackupOptions,
) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    let version = table
        .version()
        .ok_or_else(|| delta_error(source)(DeltaTableError::NotInitialized))?;
    if layout.root == *source || layout.root.relative_to(source).is_some() {
        return Err(BackupError::Unsupported {
            table: source.to_string(),
            reason: format!(
                "the backup location {} lies inside the table, where VACUUM would delete it; \
                 back up to another bucket or prefix",
                layout.root
            ),
        });
    }
    let manifest_at = layout.manifest(version);
    if let Some(m) = read_manifest_at(objects, &manifest_at).await? {
        return Ok(BackupReport::from_manifest(&m, layout, true, started));
    }

    // The log files of the version, sized by a listing of the source's log.
    let listed_log = objects.list(&source.join("_delta_log")).await?;
    let names: Vec<&str> = listed_log.iter().map(|l| l.key.as_str()).collect();
    let selection = select_log(&names, version).map_err(|source_err| BackupError::Log {
        table: source.to_string(),
        source: source_err,
    })?;
    let log_sizes: HashMap<&str, u64> = listed_log
        .iter()
        .map(|l| (l.key.as_str(), l.size))
        .collect();
    let log: Vec<Needed> = selection
        .files
        .iter()
        .map(|n| Needed {
            path: format!("_delta_log/{n}"),
            size: log_sizes.get(n.as_str()).copied().unwrap_or(0),
        })
        .collect();

    // The data files, and the deletion vectors (sized by a HEAD each).
    let live = live_files(table, source)?;
    let dvs: Vec<Needed> = futures::stream::iter(&live.dvs)
        .map(|p| async move {
            let at = source.join(p);
            let info = objects
                .head(&at)
                .await?
                .ok_or_else(|| ObjectsError::NotFound(at.to_string()))?;
            Ok::<_, BackupError>(Needed {
                path: p.clone(),
                size: info.size,
            })
        })
        .buffer_unordered(options.concurrency.max(1))
        .try_collect()
        .await?;

    // What the backup location already has.
    let files_root = layout.files();
    let existing: HashMap<String, u64> = objects
        .list(&files_root)
        .await?
        .into_iter()
        .map(|l| (l.key, l.size))
        .collect();
    let mut needed: Vec<Needed> = live.data.iter().map(|f| f.needed.clone()).collect();
    needed.extend(dvs.iter().cloned());
    needed.extend(log.iter().cloned());
    let plan = plan_copies(&needed, &existing);
    let is_log = |p: &str| p.starts_with("_delta_log/");
    info!(
        table = %source,
        version,
        to_copy = plan.copy.len(),
        already_present = plan.present.len(),
        "backup planned"
    );

    let jobs = plan
        .copy
        .iter()
        .map(|n| CopyJob {
            from: source.join(&n.path),
            to: files_root.join(&n.path),
            needed: n.clone(),
            expect: None,
        })
        .collect();
    let (copied, _) = copy_all(objects, jobs, options.concurrency, options.deadline).await?;
    // One listing checks that every object of the version is there with
    // the size the log (or the source listing) gives.
    if !plan.copy.is_empty() {
        let now: HashMap<String, u64> = objects
            .list(&files_root)
            .await?
            .into_iter()
            .map(|l| (l.key, l.size))
            .collect();
        for n in &plan.copy {
            let actual = now.get(&n.path).copied();
            if actual != Some(n.size) {
                return Err(BackupError::SizeMismatch {
                    location: files_root.join(&n.path).to_string(),
                    expected: n.size,
                    actual: actual.unwrap_or(0),
                });
            }
        }
    }

    // Checksums of what was already there: from the previous manifest when
    // it has the file, else asked of the store.
    let mut known: HashMap<String, (u64, Option<String>)> = HashMap::new();
    if let Some(previous) = backup_versions(objects, layout).await?.last() {
        if let Some(m) = read_manifest_at(objects, &layout.manifest(*previous)).await? {
            for f in m.log.into_iter().chain(m.files).chain(m.deletion_vectors) {
                known.insert(f.path, (f.size, f.checksum));
            }
        }
    }
    let present: Vec<(String, Option<String>)> = futures::stream::iter(&plan.present)
        .map(|n| {
            let known = known.get(&n.path).filter(|(size, _)| *size == n.size);
            let files_root = &files_root;
            async move {
                let checksum = match known {
                    Some((_, c)) => c.clone(),
                    None => objects
                        .head(&files_root.join(&n.path))
                        .await?
                        .and_then(|i| i.checksum),
                };
                Ok::<_, BackupError>((n.path.clone(), checksum))
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .try_collect()
        .await?;
    let mut checksums: HashMap<String, Option<String>> = present.into_iter().collect();
    for (p, i) in &copied {
        checksums.insert(p.clone(), i.checksum.clone());
    }
    let entry = |n: &Needed| ManifestFile {
        path: n.path.clone(),
        size: n.size,
        checksum: checksums.get(&n.path).cloned().flatten(),
    };

    let counted = count_rows(table, source, &live.data, true, options.concurrency).await?;
    let mut copied_counts = CopyCounts::default();
    for (p, i) in &copied {
        if is_log(p) {
            copied_counts.log_files += 1;
        } else {
            copied_counts.files += 1;
        }
        copied_counts.bytes += i.size;
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        table: source.to_string(),
        version,
        created: Utc::now(),
        checkpoint: selection.checkpoint,
        log: log.iter().map(entry).collect(),
        files: live.data.iter().map(|f| entry(&f.needed)).collect(),
        deletion_vectors: dvs.iter().map(entry).collect(),
        num_files: live.data.len(),
        total_bytes: live.data.iter().map(|f| f.needed.size).sum(),
        num_records: Some(counted.saturating_sub(live.dv_cardinality)),
        copied: copied_counts,
    };
    let body = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::BadManifest {
        location: manifest_at.to_string(),
        reason: e.to_string(),
    })?;
    // Create-only: a concurrent backup of the same version wrote the same
    // files; either manifest is right.
    objects.put(&manifest_at, Bytes::from(body), true).await?;
    let report = BackupReport::from_manifest(&manifest, layout, false, started);
    info!(
        table = %report.table,
        version = report.version,
        copied_files = report.copied_files,
        copied_log_files = report.copied_log_files,
        copied_bytes = report.copied_bytes,
        already_present = report.already_present,
        duration_ms = report.duration_ms,
        manifest = %report.manifest,
        "backed up"
    );
    Ok(report)
}

/// How a restore runs.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The backed-up version to restore; the latest when `None`.
    pub version: Option<u64>,
    pub concurrency: usize,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            version: None,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// What a restore did and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreReport {
    /// The restored table.
    pub table: String,
    /// The table the backup was taken of.
    pub source: String,
    pub version: u64,
    pub manifest: String,
    pub files: usize,
    pub bytes: u64,
    pub deletion_vectors: usize,
    pub log_files: usize,
    /// Rows counted from the restored files' Parquet footers.
    pub rows: u64,
    /// Objects whose checksum was compared with the manifest's.
    pub checksums_verified: usize,
    pub duration_ms: u64,
}

fn verify_error(target: &Loc, reason: impl Into<String>) -> BackupError {
    BackupError::Verify {
        target: target.to_string(),
        reason: reason.into(),
    }
}

/// Recreate the table backed up at `layout` in the empty location `target`,
/// at `options.version` (the latest backup when `None`), and verify it
/// against the manifest.
pub async fn restore(
    objects: &dyn Objects,
    layout: &BackupLayout,
    target: &Loc,
    options: &RestoreOptions,
) -> Result<RestoreReport, BackupError> {
    let started = Instant::now();
    let manifest = read_manifest(objects, layout, options.version).await?;
    if !objects.list(&target.join("_delta_log")).await?.is_empty() {
        return Err(BackupError::TargetNotEmpty {
            target: target.to_string(),
        });
    }
    let files_root = layout.files();
    let job = |f: &ManifestFile| CopyJob {
        from: files_root.join(&f.path),
        to: target.join(&f.path),
        needed: Needed {
            path: f.path.clone(),
            size: f.size,
        },
        expect: f.checksum.clone(),
    };
    // Data first, then the log, the version's own commit last: nobody sees
    // the table at its version before every file of it is there.
    let data: Vec<CopyJob> = manifest
        .files
        .iter()
        .chain(&manifest.deletion_vectors)
        .map(job)
        .collect();
    let (_, mut compared) = copy_all(objects, data, options.concurrency, None).await?;
    let (last, rest) = match manifest.log.split_last() {
        Some((last, rest)) => (Some(last), rest),
        None => (None, &[][..]),
    };
    let (_, c) = copy_all(
        objects,
        rest.iter().map(job).collect(),
        options.concurrency,
        None,
    )
    .await?;
    compared += c;
    let (_, c) = copy_all(objects, last.into_iter().map(job).collect(), 1, None).await?;
    compared += c;

    // Every object is there, with its size.
    let present: HashMap<String, u64> = objects
        .list(target)
        .await?
        .into_iter()
        .map(|l| (l.key, l.size))
        .collect();
    for f in manifest
        .log
        .iter()
        .chain(&manifest.files)
        .chain(&manifest.deletion_vectors)
    {
        match present.get(&f.path) {
            Some(size) if *size == f.size => {}
            Some(size) => {
                return Err(verify_error(
                    target,
                    format!("{} has {size} bytes, the manifest {}", f.path, f.size),
                ))
            }
            None => return Err(verify_error(target, format!("{} is missing", f.path))),
        }
    }

    // The table loads at exactly the version, with the manifest's files.
    let table = open_table(target, None).await?;
    if table.version() != Some(manifest.version) {
        return Err(verify_error(
            target,
            format!(
                "it loads at version {:?}, the backup is of version {}",
                table.version(),
                manifest.version
            ),
        ));
    }
    let live = live_files(&table, target)?;
    let restored: Vec<(&str, u64)> = live
        .data
        .iter()
        .map(|f| (f.needed.path.as_str(), f.needed.size))
        .collect();
    let mut expected: Vec<(&str, u64)> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.size))
        .collect();
    expected.sort_unstable();
    if restored != expected {
        let got: BTreeSet<_> = restored.iter().collect();
        let want: BTreeSet<_> = expected.iter().collect();
        let missing: Vec<_> = want.difference(&got).take(3).collect();
        let extra: Vec<_> = got.difference(&want).take(3).collect();
        return Err(verify_error(
            target,
            format!(
                "its live files differ from the manifest's (missing {missing:?}, unexpected {extra:?})"
            ),
        ));
    }
    let rows = count_rows(&table, target, &live.data, false, options.concurrency)
        .await?
        .saturating_sub(live.dv_cardinality);
    if let Some(expected) = manifest.num_records {
        if rows != expected {
            return Err(verify_error(
                target,
                format!("its files hold {rows} rows, the manifest {expected}"),
            ));
        }
    }
    let report = RestoreReport {
        table: target.to_string(),
        source: manifest.table.clone(),
        version: manifest.version,
        manifest: layout.manifest(manifest.version).to_string(),
        files: manifest.files.len(),
        bytes: manifest.total_bytes,
        deletion_vectors: manifest.deletion_vectors.len(),
        log_files: manifest.log.len(),
        rows,
        checksums_verified: compared,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    info!(
        table = %report.table,
        version = report.version,
        files = report.files,
        rows = report.rows,
        "restored and verified"
    );
    Ok(report)
}

#[cfg(test)]
mod tests;
