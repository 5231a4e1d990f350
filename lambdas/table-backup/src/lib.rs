//! table-backup: point-in-time, Delta-aware backups of tables to another
//! bucket (or prefix, or account) by server-side copy.
//!
//! The backup itself lives in [`meander::backup`]; this crate reads the
//! configuration, decides which tables are due, keeps table state warm and
//! answers the invocation. [`s3::S3Objects`] is the S3 side (AWS SDK
//! `CopyObject`), which the `meander backup` / `meander restore` commands
//! use too. See README.md for triggers, env and IAM.

pub mod s3;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deltalake::DeltaTable;
use meander::backup::{
    self, backup_versions, pick_version, should_back_up, BackupLayout, BackupOptions, BackupReport,
    Loc, Scheme, Storage,
};
use meander::events::{decode_payload, ObjectEventKind, PayloadKind};
use meander::table::{classify, KeyClass, TablePrefixes, TableRoot};
use meander::tables::Locator;
use meander_lambda::{ConfigError, Env, Error};
use serde::Serialize;
use serde_json::{json, Value};
use tracing::{error, info, warn};

/// Comma-separated `s3://bucket/prefix` table roots backed up on every
/// scheduled invocation. When set, commit events of other tables are
/// ignored. Default: unset (commit events of any table are followed; a
/// scheduled invocation has nothing to do).
pub const SOURCE_TABLE_URIS: &str = "SOURCE_TABLE_URIS";
/// Required. The backup root, `s3://bucket/prefix`: table
/// `s3://lake/tables/orders` is backed up to `<root>/lake/tables/orders/`.
pub const BACKUP_URI: &str = "BACKUP_URI";
/// Back up a table when its version is a multiple of N, or at least N
/// versions past its latest backup (or it has none). Default 1: every new
/// version.
pub const BACKUP_EVERY_VERSIONS: &str = "BACKUP_EVERY_VERSIONS";
/// Copies in flight at once per table (1 to 512). Default 32.
pub const COPY_CONCURRENCY: &str = "COPY_CONCURRENCY";
/// Storage class of the backup copies: STANDARD, STANDARD_IA, ONEZONE_IA,
/// INTELLIGENT_TIERING or GLACIER_IR. Default: the bucket's (STANDARD).
pub const BACKUP_STORAGE_CLASS: &str = "BACKUP_STORAGE_CLASS";

/// Storage classes a restore can copy from without a prior S3 restore.
pub const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
];

const MAX_CONCURRENCY: usize = 512;
/// Never start a copy in the last part of the invocation's time.
const MAX_SAFETY_MARGIN: Duration = Duration::from_secs(30);

/// The configuration read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub backup_root: Loc,
    pub tables: Vec<TableRoot>,
    pub every: u64,
    pub concurrency: usize,
    pub storage_class: Option<String>,
    /// S3, or local folders for `meander invoke` (`MEANDER_LOCAL_STORAGE_DIR`).
    pub locator: Locator,
}

impl Config {
    /// Read and check every key; a bad one is an error naming it.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let locator = meander_lambda::config::locator(env);
        let uri = env.required(
            BACKUP_URI,
            "the backup root, s3://bucket/prefix (another bucket than the tables')",
        )?;
        let backup_root =
            Loc::parse(uri).map_err(|e| ConfigError::invalid(BACKUP_URI, uri, e.reason))?;
        if backup_root.scheme != Scheme::S3 && locator.local_root.is_none() {
            return Err(ConfigError::invalid(
                BACKUP_URI,
                uri,
                "expected s3://bucket/prefix",
            ));
        }
        let mut tables = Vec::new();
        for t in env.list(SOURCE_TABLE_URIS) {
            let invalid = |reason: &str| {
                ConfigError::invalid(
                    SOURCE_TABLE_URIS,
                    &t,
                    format!("{reason} (expected s3://bucket/prefix)"),
                )
            };
            let l = Loc::parse(&t).map_err(|e| invalid(&e.reason))?;
            if l.scheme != Scheme::S3 {
                return Err(invalid("not an s3:// URI"));
            }
            if backup_root.scheme == Scheme::S3
                && l.bucket == backup_root.bucket
                && (inside(&backup_root.key, &l.key) || inside(&l.key, &backup_root.key))
            {
                return Err(ConfigError::invalid(
                    SOURCE_TABLE_URIS,
                    &t,
                    format!("the table and BACKUP_URI {backup_root} contain one another"),
                ));
            }
            tables.push(TableRoot {
                bucket: l.bucket,
                prefix: l.key,
            });
        }
        let every: u64 = env.parse_or(BACKUP_EVERY_VERSIONS, 1)?;
        if every == 0 {
            return Err(ConfigError::invalid(
                BACKUP_EVERY_VERSIONS,
                "0",
                "must be at least 1",
            ));
        }
        let concurrency: usize = env.parse_or(COPY_CONCURRENCY, backup::DEFAULT_CONCURRENCY)?;
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            return Err(ConfigError::invalid(
                COPY_CONCURRENCY,
                &concurrency.to_string(),
                format!("must be from 1 to {MAX_CONCURRENCY}"),
            ));
        }
        let storage_class = match env.optional(BACKUP_STORAGE_CLASS) {
            None => None,
            Some(c) => {
                let upper = c.to_ascii_uppercase();
                if !STORAGE_CLASSES.contains(&upper.as_str()) {
                    return Err(ConfigError::invalid(
                        BACKUP_STORAGE_CLASS,
                        c,
                        format!(
                            "expected one of {} (classes a restore can copy from directly)",
                            STORAGE_CLASSES.join(", ")
                        ),
                    ));
                }
                Some(upper)
            }
        };
        Ok(Config {
            backup_root,
            tables,
            every,
            concurrency,
            storage_class,
            locator,
        })
    }
}

/// Whether key prefix `inner` is `outer` or below it.
fn inside(inner: &str, outer: &str) -> bool {
    outer.is_empty()
        || inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The function's state: configuration, storage clients, warm tables.
pub struct TableBackup {
    pub config: Config,
    pub storage: Storage,
    tables: tokio::sync::Mutex<HashMap<Loc, DeltaTable>>,
}

impl TableBackup {
    /// Build the S3 client (standard AWS configuration) once.
    pub async fn new(config: Config) -> Self {
        let class = config
            .storage_class
            .as_deref()
            .map(aws_sdk_s3::types::StorageClass::from);
        let s3 = s3::S3Objects::new(s3::client_from_env().await).with_storage_class(class);
        Self::with_storage(config, Storage::new(Some(Arc::new(s3))))
    }

    pub fn with_storage(config: Config, storage: Storage) -> Self {
        meander::tables::register_handlers();
        TableBackup {
            config,
            storage,
            tables: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    fn table_loc(&self, root: &TableRoot) -> Result<Loc, String> {
        match &self.config.locator.local_root {
            None => Ok(Loc::s3(&root.bucket, &root.prefix)),
            Some(dir) => {
                let mut path = dir.join(&root.bucket);
                if !root.prefix.is_empty() {
                    path = path.join(&root.prefix);
                }
                let path = path
                    .to_str()
                    .ok_or_else(|| format!("{}: not UTF-8", path.display()))?;
                Loc::parse(path).map_err(|e| e.to_string())
            }
        }
    }
}

/// What happened to one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    BackedUp,
    /// That version had been backed up before.
    AlreadyBackedUp,
    /// Not due under `BACKUP_EVERY_VERSIONS`.
    NotDue,
    Failed,
}

/// One table's outcome, as the scheduled invocation answers it.
#[derive(Debug, Clone, Serialize)]
pub struct TableOutcome {
    pub table: String,
    pub status: Status,
    /// The table version looked at (and backed up, unless not due).
    pub version: Option<u64>,
    /// The latest backed-up version before this invocation.
    pub latest_backup: Option<u64>,
    pub backup: Option<BackupReport>,
    pub error: Option<String>,
}

impl TableOutcome {
    fn failed(table: String, latest_backup: Option<u64>, error: String) -> Self {
        TableOutcome {
            table,
            status: Status::Failed,
            version: None,
            latest_backup,
            backup: None,
            error: Some(error),
        }
    }
}

/// Whether the payload is a scheduled invocation: an EventBridge
/// "Scheduled Event" (rule or Scheduler) or an empty object.
pub fn is_scheduled(payload: &Value) -> bool {
    let Some(obj) = payload.as_object() else {
        return false;
    };
    obj.is_empty()
        || obj.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        || matches!(
            obj.get("source").and_then(Value::as_str),
            Some("aws.events" | "aws.scheduler")
        )
}

/// Stop starting copies this long before the deadline: a tenth of the time
/// left, at most 30 s.
fn copy_deadline(deadline: Option<SystemTime>) -> Option<SystemTime> {
    let d = deadline?;
    let left = d.duration_since(SystemTime::now()).unwrap_or_default();
    Some(d - (left / 10).min(MAX_SAFETY_MARGIN))
}

/// Which version of a table to back up.
enum Want {
    /// The latest, when due.
    LatestIfDue,
    /// The highest of these commit versions that is due.
    Commits(Vec<u64>),
}

async fn back_up_table(
    state: &TableBackup,
    table: &Loc,
    want: Want,
    deadline: Option<SystemTime>,
) -> TableOutcome {
    let name = table.to_string();
    let layout = BackupLayout::for_table(&state.config.backup_root, table);
    let latest = match backup_versions(&state.storage, &layout).await {
        Ok(v) => v.last().copied(),
        Err(e) => return TableOutcome::failed(name, None, e.to_string()),
    };
    let every = state.config.every;
    let pinned = match &want {
        Want::LatestIfDue => None,
        Want::Commits(versions) => match pick_version(versions, latest, every) {
            Some(v) => Some(v),
            None => {
                return TableOutcome {
                    table: name,
                    status: Status::NotDue,
                    version: versions.iter().max().copied(),
                    latest_backup: latest,
                    backup: None,
                    error: None,
                }
            }
        },
    };

    // The warm table handle, brought to the version wanted.
    let cached = state.tables.lock().await.remove(table);
    let loaded = match cached {
        Some(mut t) => {
            let r = match pinned {
                Some(v) => t.load_version(v).await,
                None => t.update_incremental(None).await,
            };
            r.map(|()| t).map_err(|e| format!("table {name}: {e}"))
        }
        None => backup::open_table(table, pinned)
            .await
            .map_err(|e| e.to_string()),
    };
    let delta = match loaded {
        Ok(t) => t,
        Err(e) => return TableOutcome::failed(name, latest, e),
    };
    let version = delta.version();
    let outcome = match version {
        Some(v) if pinned.is_none() && !should_back_up(v, latest, every) => TableOutcome {
            table: name,
            status: Status::NotDue,
            version,
            latest_backup: latest,
            backup: None,
            error: None,
        },
        _ => {
            let options = BackupOptions {
                concurrency: state.config.concurrency,
                deadline: copy_deadline(deadline),
            };
            match backup::backup(&state.storage, &delta, table, &layout, &options).await {
                Ok(report) => TableOutcome {
                    table: name,
                    status: if report.already_backed_up {
                        Status::AlreadyBackedUp
                    } else {
                        Status::BackedUp
                    },
                    version,
                    latest_backup: latest,
                    backup: Some(report),
                    error: None,
                },
                Err(e) => TableOutcome {
                    version,
                    ..TableOutcome::failed(name, latest, e.to_string())
                },
            }
        }
    };
    state.tables.lock().await.insert(table.clone(), delta);
    outcome
}

fn log_outcome(o: &TableOutcome) {
    match (&o.error, &o.backup) {
        (Some(e), _) => error!(table = %o.table, version = ?o.version, error = %e, "backup failed"),
        (None, Some(_)) => {}
        (None, None) => info!(
            table = %o.table,
            version = ?o.version,
            latest_backup = ?o.latest_backup,
            status = ?o.status,
            "no backup"
        ),
    }
}

/// Handle one invocation:
///
/// - scheduled (EventBridge "Scheduled Event", or `{}`): back up every
///   `SOURCE_TABLE_URIS` table that is due; answers
///   `{"tables":[<TableOutcome>...]}`, or fails when any table failed;
/// - SQS batch (or direct S3 / SNS / EventBridge event) of S3 notifications
///   for commit files `<table>/_delta_log/<version>.json`: back up each
///   table at its highest due commit version; SQS answers
///   `{"batchItemFailures":[...]}` listing the messages of failed tables.
pub async fn handle(
    state: &TableBackup,
    payload: Value,
    deadline: Option<SystemTime>,
) -> Result<Value, Error> {
    if is_scheduled(&payload) {
        return handle_schedule(state, deadline).await;
    }
    let batch = decode_payload(&payload)?;
    let mut failed: Vec<String> = Vec::new();
    for f in &batch.failures {
        warn!(message_id = %f.message_id, error = %f.error, "undecodable message");
        failed.push(f.message_id.clone());
    }
    // Commit versions and messages per table.
    let mut by_table: BTreeMap<Loc, (Vec<u64>, BTreeSet<String>)> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut ignored = 0usize;
    for e in &batch.events {
        let KeyClass::Commit { table, version } =
            classify(&e.bucket, &e.key, &TablePrefixes::default())
        else {
            ignored += 1;
            continue;
        };
        if e.kind != ObjectEventKind::Created
            || (!state.config.tables.is_empty() && !state.config.tables.contains(&table))
        {
            ignored += 1;
            continue;
        }
        match state.table_loc(&table) {
            Ok(loc) => {
                let entry = by_table.entry(loc).or_default();
                entry.0.push(version);
                entry.1.extend(e.message_id.clone());
            }
            Err(reason) => {
                errors.push(reason);
                failed.extend(e.message_id.clone());
            }
        }
    }
    if ignored > 0 {
        info!(
            ignored,
            "events that are not new commits of a backed-up table"
        );
    }
    for (table, (versions, messages)) in by_table {
        let o = back_up_table(state, &table, Want::Commits(versions), deadline).await;
        log_outcome(&o);
        if let Some(e) = &o.error {
            errors.push(format!("{}: {e}", o.table));
            failed.extend(messages);
        }
    }
    let any_failure = !failed.is_empty() || !errors.is_empty();
    let response = meander_lambda::batch_response(
        batch.kind == PayloadKind::Sqs,
        failed,
        any_failure,
        || errors.join("; "),
    )?;
    Ok(serde_json::to_value(response)?)
}

async fn handle_schedule(
    state: &TableBackup,
    deadline: Option<SystemTime>,
) -> Result<Value, Error> {
    if state.config.tables.is_empty() {
        warn!("scheduled invocation but {SOURCE_TABLE_URIS} is empty: nothing to back up");
    }
    let mut outcomes = Vec::new();
    for root in &state.config.tables {
        let o = match state.table_loc(root) {
            Ok(loc) => back_up_table(state, &loc, Want::LatestIfDue, deadline).await,
            Err(e) => TableOutcome::failed(root.uri(), None, e),
        };
        log_outcome(&o);
        outcomes.push(o);
    }
    let failures: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.error.as_ref().map(|e| format!("{}: {e}", o.table)))
        .collect();
    if failures.is_empty() {
        Ok(json!({ "tables": outcomes }))
    } else {
        Err(failures.join("; ").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn configuration() {
        let c = Config::from_env(&env(&[
            (BACKUP_URI, "s3://backups/meander"),
            (
                SOURCE_TABLE_URIS,
                "s3://lake/tables/orders, s3://lake/tables/customers/",
            ),
            (BACKUP_EVERY_VERSIONS, "10"),
            (BACKUP_STORAGE_CLASS, "standard_ia"),
        ]))
        .unwrap();
        assert_eq!(c.backup_root, Loc::s3("backups", "meander"));
        assert_eq!(c.tables.len(), 2);
        assert_eq!(c.tables[1].prefix, "tables/customers");
        assert_eq!((c.every, c.concurrency), (10, 32));
        assert_eq!(c.storage_class.as_deref(), Some("STANDARD_IA"));

        let err = |pairs: &[(&str, &str)]| Config::from_env(&env(pairs)).unwrap_err().to_string();
        assert!(err(&[]).contains(BACKUP_URI));
        assert!(err(&[(BACKUP_URI, "/tmp/x")]).contains("expected s3://"));
        assert!(
            err(&[(BACKUP_URI, "s3://b/x"), (BACKUP_EVERY_VERSIONS, "0")])
                .contains(BACKUP_EVERY_VERSIONS)
        );
        assert!(
            err(&[(BACKUP_URI, "s3://b/x"), (COPY_CONCURRENCY, "0")]).contains(COPY_CONCURRENCY)
        );
        assert!(
            err(&[(BACKUP_URI, "s3://b/x"), (BACKUP_STORAGE_CLASS, "GLACIER")])
                .contains("GLACIER_IR")
        );
        assert!(
            err(&[(BACKUP_URI, "s3://b/x"), (SOURCE_TABLE_URIS, "gs://t")])
                .contains(SOURCE_TABLE_URIS)
        );
        // Backups inside a table, or a table inside the backups, are refused.
        assert!(err(&[
            (BACKUP_URI, "s3://lake/t/bk"),
            (SOURCE_TABLE_URIS, "s3://lake/t")
        ])
        .contains("contain one another"));
        assert!(err(&[
            (BACKUP_URI, "s3://lake"),
            (SOURCE_TABLE_URIS, "s3://lake/t")
        ])
        .contains("contain one another"));
        assert!(Config::from_env(&env(&[
            (BACKUP_URI, "s3://lake/backups"),
            (SOURCE_TABLE_URIS, "s3://lake/backups_not/t")
        ]))
        .is_ok());
    }

    #[test]
    fn scheduled_payloads() {
        assert!(is_scheduled(&json!({})));
        assert!(is_scheduled(&json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-02T10:00:00Z",
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/backup"],
            "detail": {}
        })));
        assert!(!is_scheduled(&json!({"Records": []})));
        assert!(!is_scheduled(&json!([])));
        assert!(!is_scheduled(
            &json!({"detail-type": "Object Created", "source": "aws.s3", "detail": {}})
        ));
    }

    /// A local table made of Delta commits written by hand.
    fn local_table(dir: &std::path::Path, versions: u64) {
        let log = dir.join("bkt/t/_delta_log");
        std::fs::create_dir_all(&log).unwrap();
        let protocol = json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}});
        let metadata = json!({"metaData": {
            "id": "9f1a2b3c-0000-4000-8000-000000000001",
            "format": {"provider": "parquet", "options": {}},
            "schemaString": "{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}",
            "partitionColumns": [], "configuration": {}, "createdTime": 1_700_000_000_000i64
        }});
        for v in 0..versions {
            let mut lines = Vec::new();
            if v == 0 {
                lines.push(protocol.to_string());
                lines.push(metadata.to_string());
            }
            lines.push(
                json!({"commitInfo": {"timestamp": 1_700_000_000_000i64 + v as i64, "operation": "WRITE"}})
                    .to_string(),
            );
            std::fs::write(log.join(format!("{v:020}.json")), lines.join("\n")).unwrap();
        }
    }

    fn commit_event(version: u64, message: &str) -> Value {
        json!({
            "messageId": message,
            "eventSource": "aws:sqs",
            "body": json!({"Records": [{
                "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "bkt"},
                       "object": {"key": format!("t/_delta_log/{version:020}.json")}}
            }]}).to_string()
        })
    }

    #[tokio::test]
    async fn commit_events_and_schedules_back_up_what_is_due() {
        let dir = tempfile::tempdir().unwrap();
        local_table(dir.path(), 4);
        let backups = dir.path().join("backups");
        let root = dir.path().to_str().unwrap();
        let config = Config::from_env(&env(&[
            (meander_lambda::config::LOCAL_STORAGE_DIR, root),
            (BACKUP_URI, backups.to_str().unwrap()),
            (BACKUP_EVERY_VERSIONS, "2"),
            (SOURCE_TABLE_URIS, "s3://bkt/t"),
        ]))
        .unwrap();
        let state = TableBackup::with_storage(config, Storage::new(None));
        let layout = BackupLayout::for_table(
            &Loc::parse(backups.to_str().unwrap()).unwrap(),
            &Loc::parse(dir.path().join("bkt/t").to_str().unwrap()).unwrap(),
        );

        // Commits 0 and 1 arrive: no backup yet, so the highest (1) is taken.
        let sqs = json!({"Records": [commit_event(0, "m0"), commit_event(1, "m1")]});
        let r = handle(&state, sqs, None).await.unwrap();
        assert_eq!(r, json!({"batchItemFailures": []}));
        assert_eq!(backup_versions(&state.storage, &layout).await.unwrap(), [1]);
        // Commit 2 is a multiple of 2: backed up; 3 is not due after 2.
        let sqs = json!({"Records": [commit_event(2, "m2")]});
        handle(&state, sqs, None).await.unwrap();
        let sqs = json!({"Records": [commit_event(3, "m3")]});
        handle(&state, sqs, None).await.unwrap();
        assert_eq!(
            backup_versions(&state.storage, &layout).await.unwrap(),
            [1, 2]
        );

        // On schedule, the latest (3) is 1 past 2: not due either.
        let r = handle(&state, json!({}), None).await.unwrap();
        assert_eq!(r["tables"][0]["status"], json!("not_due"), "{r}");
        assert_eq!(r["tables"][0]["version"], json!(3));
        // Commit events of other tables are ignored; a missing table fails its message.
        let other = json!({"Records": [{
            "messageId": "x", "eventSource": "aws:sqs",
            "body": json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "bkt"}, "object": {"key": "u/_delta_log/00000000000000000000.json"}}}]}).to_string()
        }, {"messageId": "bad", "eventSource": "aws:sqs", "body": "not json"}]});
        let r = handle(&state, other, None).await.unwrap();
        assert_eq!(r, json!({"batchItemFailures": [{"itemIdentifier": "bad"}]}));

        local_table(dir.path(), 6);
        let r = handle(&state, json!({}), None).await.unwrap();
        assert_eq!(r["tables"][0]["status"], json!("backed_up"), "{r}");
        assert_eq!(r["tables"][0]["backup"]["version"], json!(5));
        assert_eq!(r["tables"][0]["backup"]["copied_log_files"], json!(3));
    }
}
