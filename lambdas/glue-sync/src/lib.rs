//! glue-sync: the Glue Data Catalog follows every Delta table's schema.
//!
//! Triggered by S3 notifications for commit files
//! (`<root>/_delta_log/<20 digits>.json`). For each table of a batch, only
//! its newest commit counts ([`meander::glue::latest_commits`]):
//!
//! 1. `GetTable`. When Glue's `delta.lastUpdateVersion` is at or past the
//!    commit's version, nothing else happens (S3 events arrive out of order).
//! 2. The table's protocol, metadata and schema are read **at the committed
//!    version**, without its file list ([`Snapshot::try_new`]).
//! 3. A missing table is created (and its database, when missing); an
//!    existing one is updated with `UpdateTable` carrying the `VersionId`
//!    read in step 1, so AWS rejects the update when another invocation
//!    changed the table meanwhile; then we start again from step 1.
//! 4. `GetTable` again: if an older sync overwrote ours (possible only where
//!    `VersionId` is not enforced, e.g. moto), start again from step 1.
//!
//! Every table succeeds or fails on its own; a failed table fails every
//! message that carried one of its commit events. The type mapping,
//! naming and decisions are in [`meander::glue`]. See README.md for
//! trigger, environment, IAM and failure behaviour.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_glue::error::DisplayErrorContext;
use aws_sdk_glue::types::{Column, DatabaseInput, SerDeInfo, StorageDescriptor, Table, TableInput};
use deltalake::kernel::Snapshot;
use deltalake::logstore::LogStoreRef;
use deltalake::{DeltaTableBuilder, DeltaTableError};
use futures::StreamExt;
use meander::commit::RetryPolicy;
use meander::events::{decode_payload, DecodedBatch, PayloadKind};
use meander::glue::{
    freshness, latest_commits, ExistingTable, Freshness, GlueColumn, GlueError, GlueTableSpec,
    GlueTarget, NamingError, TableCommit, TableNaming, EXTERNAL_TABLE, PARQUET_INPUT_FORMAT,
    PARQUET_OUTPUT_FORMAT, PARQUET_SERDE,
};
use meander::tables::Locator;
use meander_lambda::{BatchResponse, ConfigError, Env, Error};
use serde_json::Value;
use tracing::{info, warn};
use url::Url;

/// The Glue database of every table, named after the last segment of its
/// root. Lowercase letters, digits and `_`. Required unless
/// `GLUE_PATH_REGEX` has a `database` group; with such a regex, the
/// database of keys the regex gives none.
pub const GLUE_DATABASE: &str = "GLUE_DATABASE";
/// Optional, Oxbow-compatible: a regular expression matched (unanchored)
/// against the commit file's key; its named groups `database` and `table`
/// name the Glue table. Keys it does not match are ignored.
pub const GLUE_PATH_REGEX: &str = "GLUE_PATH_REGEX";
/// Optional: the Glue catalog (AWS account id) to write to. Default: the
/// caller's account.
pub const GLUE_CATALOG_ID: &str = "GLUE_CATALOG_ID";

/// Tables synced at once per invocation.
const CONCURRENCY: usize = 8;

/// How the function behaves; read once per container.
#[derive(Debug, Clone)]
pub struct GlueSyncConfig {
    pub naming: TableNaming,
    pub catalog_id: Option<String>,
    /// Where the Delta tables are read (S3, or local folders for `meander invoke`).
    pub locator: Locator,
    /// Rounds of read-decide-write per table when concurrent syncs race.
    pub retry: RetryPolicy,
}

impl GlueSyncConfig {
    /// Read and validate the configuration; errors name the key.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let database = env.optional(GLUE_DATABASE);
        let regex = env.optional(GLUE_PATH_REGEX);
        let naming = TableNaming::new(database, regex).map_err(|e| match e {
            NamingError::Unconfigured => ConfigError::Missing {
                key: GLUE_DATABASE.to_string(),
                help: format!(
                    "the Glue database to create tables in (or set {GLUE_PATH_REGEX} with named groups `database` and `table`)"
                ),
            },
            NamingError::InvalidDatabase { .. } => {
                ConfigError::invalid(GLUE_DATABASE, database.unwrap_or_default(), e.to_string())
            }
            NamingError::MissingDatabaseGroup => ConfigError::invalid(
                GLUE_PATH_REGEX,
                regex.unwrap_or_default(),
                format!("{e}: add (?P<database>...) or set {GLUE_DATABASE}"),
            ),
            NamingError::InvalidRegex(_) | NamingError::MissingTableGroup => {
                ConfigError::invalid(GLUE_PATH_REGEX, regex.unwrap_or_default(), e.to_string())
            }
        })?;
        Ok(GlueSyncConfig {
            naming,
            catalog_id: env.optional(GLUE_CATALOG_ID).map(str::to_string),
            locator: meander_lambda::config::locator(env),
            retry: RetryPolicy {
                max_attempts: 6,
                base_delay: Duration::from_millis(50),
                max_delay: Duration::from_secs(1),
            },
        })
    }
}

/// What was done to one Glue table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncAction {
    /// Created (with its database when that was missing).
    Created,
    /// Updated to the commit's version; `schema_changed` when columns or
    /// partition keys changed (otherwise only `delta.lastUpdateVersion`).
    Updated { schema_changed: bool },
    /// Glue was already at `glue_version`, at or past the commit.
    UpToDate { glue_version: u64 },
}

impl SyncAction {
    fn as_str(&self) -> &'static str {
        match self {
            SyncAction::Created => "created",
            SyncAction::Updated {
                schema_changed: true,
            } => "schema_updated",
            SyncAction::Updated {
                schema_changed: false,
            } => "version_updated",
            SyncAction::UpToDate { .. } => "up_to_date",
        }
    }
}

/// Why one table could not be synced.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("cannot read the Delta log of {table} at version {version}: {source}")]
    Delta {
        table: String,
        version: u64,
        #[source]
        source: Box<DeltaTableError>,
    },
    #[error("{table}: {source}")]
    Spec {
        table: String,
        #[source]
        source: GlueError,
    },
    #[error("Glue {operation} {target} failed: {message}")]
    Glue {
        operation: &'static str,
        target: String,
        message: String,
    },
    #[error("Glue table {target} has location {existing}, not {location}; not overwriting another table (give them different names with GLUE_PATH_REGEX)")]
    OtherLocation {
        target: String,
        existing: String,
        location: String,
    },
    #[error("Glue table {target} kept changing under concurrent updates; gave up after {attempts} attempts")]
    Contended { target: String, attempts: u32 },
}

/// What happened to one Delta table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    /// The Delta table root, `s3://bucket/prefix`.
    pub table: String,
    /// `database.table` in Glue.
    pub glue_table: String,
    pub version: u64,
    pub action: Option<SyncAction>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// The outcome of one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub tables: Vec<TableReport>,
    /// SQS message ids to report as batch item failures.
    pub failed_messages: Vec<String>,
    /// Events that are not commit files, or commits `GLUE_PATH_REGEX` does not match.
    pub ignored: usize,
    /// Whether anything failed (direct invocations fail as a whole).
    pub any_failure: bool,
}

/// The function's state: configuration, the Glue client, and what stays
/// warm (log stores per table, databases known to exist).
pub struct GlueSync {
    pub config: GlueSyncConfig,
    glue: aws_sdk_glue::Client,
    log_stores: Mutex<HashMap<Url, LogStoreRef>>,
    databases: Mutex<HashSet<String>>,
}

/// What `GetTable` returned.
struct Current {
    table: ExistingTable,
    raw: Table,
}

impl GlueSync {
    /// Read the configuration and build the Glue client once; a bad key
    /// fails the cold start.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let config = GlueSyncConfig::from_env(env)?;
        let sdk = meander_lambda::clients::sdk_config().await;
        Ok(GlueSync::new(config, meander_lambda::clients::glue(&sdk)))
    }

    pub fn new(config: GlueSyncConfig, glue: aws_sdk_glue::Client) -> Self {
        meander::tables::register_handlers();
        GlueSync {
            config,
            glue,
            log_stores: Mutex::new(HashMap::new()),
            databases: Mutex::new(HashSet::new()),
        }
    }

    /// Sync every table of a decoded batch. Never fails as a whole:
    /// failures are reported per message in the outcome.
    pub async fn process(&self, batch: &DecodedBatch) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        for f in &batch.failures {
            warn!(message_id = %f.message_id, error = %f.error, "undecodable message");
            outcome.failed_messages.push(f.message_id.clone());
            outcome.any_failure = true;
        }
        let selection = latest_commits(&batch.events);
        outcome.ignored = selection.ignored;
        let mut work = Vec::with_capacity(selection.tables.len());
        for commit in selection.tables {
            match self.config.naming.target(&commit.key, &commit.root) {
                Some(target) => work.push((commit, target)),
                None => {
                    info!(table = %commit.root, key = %commit.key, "ignored: GLUE_PATH_REGEX does not match the commit key");
                    outcome.ignored += commit.events;
                }
            }
        }
        let reports: Vec<(TableReport, Vec<String>)> = futures::stream::iter(work)
            .map(|(commit, target)| async move {
                let report = self.sync_and_report(&commit, &target).await;
                (report, commit.message_ids)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (report, messages) in reports {
            if report.error.is_some() {
                outcome.any_failure = true;
                outcome.failed_messages.extend(messages);
            }
            outcome.tables.push(report);
        }
        outcome.tables.sort_by(|a, b| a.table.cmp(&b.table));
        outcome
    }

    async fn sync_and_report(&self, commit: &TableCommit, target: &GlueTarget) -> TableReport {
        let started = Instant::now();
        let result = self.sync_table(commit, target).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let table = commit.root.uri();
        match &result {
            Ok(action) => info!(
                table = %table,
                glue_table = %target,
                version = commit.version,
                action = action.as_str(),
                duration_ms,
                "synced"
            ),
            Err(e) => warn!(
                table = %table,
                glue_table = %target,
                version = commit.version,
                error = %e,
                duration_ms,
                "sync failed"
            ),
        }
        TableReport {
            table,
            glue_table: target.to_string(),
            version: commit.version,
            action: result.as_ref().ok().copied(),
            error: result.err().map(|e| e.to_string()),
            duration_ms,
        }
    }

    /// Bring one Glue table to `commit.version` (see the module docs).
    pub async fn sync_table(
        &self,
        commit: &TableCommit,
        target: &GlueTarget,
    ) -> Result<SyncAction, SyncError> {
        let location = commit.root.uri();
        let mut spec: Option<GlueTableSpec> = None;
        let mut done: Option<SyncAction> = None;
        let attempts = self.config.retry.max_attempts.max(1);
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(self.config.retry.delay(attempt - 1)).await;
            }
            let current = self.get_table(target).await?;
            let glue_version = match freshness(
                current.as_ref().map(|c| &c.table),
                &location,
                commit.version,
            ) {
                Freshness::UpToDate { glue_version } => {
                    return Ok(done.unwrap_or(SyncAction::UpToDate { glue_version }))
                }
                Freshness::OtherLocation { existing } => {
                    return Err(SyncError::OtherLocation {
                        target: target.to_string(),
                        existing,
                        location,
                    })
                }
                Freshness::Missing => None,
                Freshness::Behind { glue_version } => glue_version,
            };
            let mut wanted = match &spec {
                Some(s) => s.clone(),
                None => {
                    let s = self.read_spec(commit, target).await?;
                    spec = Some(s.clone());
                    s
                }
            };
            let action = match &current {
                None => {
                    self.ensure_database(&target.database).await?;
                    if !self.create_table(&wanted).await? {
                        continue; // created meanwhile by someone else
                    }
                    SyncAction::Created
                }
                Some(current) => {
                    wanted.carry_comments(&current.table);
                    let schema_changed = wanted.schema_differs(&current.table);
                    if !self.update_table(&wanted, current, schema_changed).await? {
                        continue; // changed meanwhile: read it again
                    }
                    tracing::debug!(glue_table = %target, from = ?glue_version, to = commit.version, schema_changed, "updated");
                    SyncAction::Updated { schema_changed }
                }
            };
            done = Some(action);
            // Re-check: where VersionId is not enforced, an older sync may
            // have overwritten ours; the next round then writes again.
            let after = self.get_table(target).await?;
            match after.as_ref().and_then(|c| c.table.last_update_version()) {
                Some(v) if v >= commit.version => return Ok(action),
                other => {
                    warn!(glue_table = %target, version = commit.version, found = ?other, "Glue table changed right after our update; syncing again")
                }
            }
        }
        Err(SyncError::Contended {
            target: target.to_string(),
            attempts,
        })
    }

    /// The Glue definition of the table at the commit's version: protocol,
    /// metadata and schema only, never the file list.
    async fn read_spec(
        &self,
        commit: &TableCommit,
        target: &GlueTarget,
    ) -> Result<GlueTableSpec, SyncError> {
        let delta = |source| SyncError::Delta {
            table: commit.root.uri(),
            version: commit.version,
            source: Box::new(source),
        };
        let url = self.config.locator.url(&commit.root).map_err(delta)?;
        let log_store = self.log_store(&url).map_err(delta)?;
        let snapshot = Snapshot::try_new(log_store.as_ref(), Some(commit.version))
            .await
            .map_err(delta)?;
        let metadata = snapshot.metadata();
        GlueTableSpec::new(
            target.clone(),
            commit.root.uri(),
            &snapshot.schema(),
            metadata.partition_columns(),
            metadata.description(),
            commit.version,
        )
        .map_err(|source| SyncError::Spec {
            table: commit.root.uri(),
            source,
        })
    }

    fn log_store(&self, url: &Url) -> Result<LogStoreRef, DeltaTableError> {
        if let Some(store) = self
            .log_stores
            .lock()
            .ok()
            .and_then(|m| m.get(url).cloned())
        {
            return Ok(store);
        }
        let store = DeltaTableBuilder::from_url(url.clone())?.build_storage()?;
        if let Ok(mut m) = self.log_stores.lock() {
            m.insert(url.clone(), store.clone());
        }
        Ok(store)
    }

    async fn get_table(&self, target: &GlueTarget) -> Result<Option<Current>, SyncError> {
        let out = self
            .glue
            .get_table()
            .set_catalog_id(self.config.catalog_id.clone())
            .database_name(&target.database)
            .name(&target.table)
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.table.map(|raw| Current {
                table: existing_of(&raw),
                raw,
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_entity_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(glue_error("GetTable", target, &e)),
        }
    }

    async fn ensure_database(&self, database: &str) -> Result<(), SyncError> {
        if self
            .databases
            .lock()
            .is_ok_and(|known| known.contains(database))
        {
            return Ok(());
        }
        let target = GlueTarget {
            database: database.to_string(),
            table: String::new(),
        };
        let got = self
            .glue
            .get_database()
            .set_catalog_id(self.config.catalog_id.clone())
            .name(database)
            .send()
            .await;
        match got {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_entity_not_found_exception()) =>
            {
                let input = DatabaseInput::builder()
                    .name(database)
                    .description("Delta tables registered by glue-sync")
                    .build()
                    .map_err(|e| glue_error("CreateDatabase", &target, &e))?;
                match self
                    .glue
                    .create_database()
                    .set_catalog_id(self.config.catalog_id.clone())
                    .database_input(input)
                    .send()
                    .await
                {
                    Ok(_) => info!(database, "created Glue database"),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_already_exists_exception()) => {}
                    Err(e) => return Err(glue_error("CreateDatabase", &target, &e)),
                }
            }
            Err(e) => return Err(glue_error("GetDatabase", &target, &e)),
        }
        if let Ok(mut known) = self.databases.lock() {
            known.insert(database.to_string());
        }
        Ok(())
    }

    /// `Ok(false)` when the table exists already (created concurrently).
    async fn create_table(&self, spec: &GlueTableSpec) -> Result<bool, SyncError> {
        let input = table_input(spec, None)?;
        match self
            .glue
            .create_table()
            .set_catalog_id(self.config.catalog_id.clone())
            .database_name(&spec.target.database)
            .table_input(input)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_already_exists_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(glue_error("CreateTable", &spec.target, &e)),
        }
    }

    /// `Ok(false)` when the table changed since it was read (`VersionId`).
    /// A version-only update skips Glue's version archive; a schema change
    /// is archived, so Glue keeps the history of schemas.
    async fn update_table(
        &self,
        spec: &GlueTableSpec,
        current: &Current,
        schema_changed: bool,
    ) -> Result<bool, SyncError> {
        let input = table_input(spec, Some(current))?;
        match self
            .glue
            .update_table()
            .set_catalog_id(self.config.catalog_id.clone())
            .database_name(&spec.target.database)
            .table_input(input)
            .set_version_id(current.raw.version_id().map(str::to_string))
            .skip_archive(!schema_changed)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_concurrent_modification_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(glue_error("UpdateTable", &spec.target, &e)),
        }
    }
}

fn glue_error<E>(operation: &'static str, target: &GlueTarget, e: &E) -> SyncError
where
    E: std::error::Error,
{
    SyncError::Glue {
        operation,
        target: if target.table.is_empty() {
            target.database.clone()
        } else {
            target.to_string()
        },
        message: DisplayErrorContext(e).to_string(),
    }
}

fn column_of(c: &Column) -> GlueColumn {
    GlueColumn {
        name: c.name().to_string(),
        hive_type: c.r#type().unwrap_or_default().to_string(),
        comment: c.comment().map(str::to_string),
    }
}

/// What Glue holds, as [`meander::glue`] compares it.
fn existing_of(t: &Table) -> ExistingTable {
    let sd = t.storage_descriptor();
    ExistingTable {
        location: sd.and_then(|sd| sd.location()).map(str::to_string),
        parameters: t.parameters().cloned().unwrap_or_default(),
        columns: sd
            .map(|sd| sd.columns().iter().map(column_of).collect())
            .unwrap_or_default(),
        partition_keys: t.partition_keys().iter().map(column_of).collect(),
    }
}

fn columns(spec: &GlueTableSpec, columns: &[GlueColumn]) -> Result<Vec<Column>, SyncError> {
    columns
        .iter()
        .map(|c| {
            Column::builder()
                .name(&c.name)
                .r#type(&c.hive_type)
                .set_comment(c.comment.clone())
                .build()
                .map_err(|e| glue_error("Column", &spec.target, &e))
        })
        .collect()
}

/// The `TableInput` for `spec`. Updating keeps the existing table's owner,
/// retention, description (unless the Delta table has one) and parameters
/// others set.
fn table_input(spec: &GlueTableSpec, current: Option<&Current>) -> Result<TableInput, SyncError> {
    let raw = current.map(|c| &c.raw);
    let storage = StorageDescriptor::builder()
        .location(&spec.location)
        .set_columns(Some(columns(spec, &spec.columns)?))
        .input_format(PARQUET_INPUT_FORMAT)
        .output_format(PARQUET_OUTPUT_FORMAT)
        .serde_info(
            SerDeInfo::builder()
                .serialization_library(PARQUET_SERDE)
                .set_parameters(Some(spec.serde_parameters()))
                .build(),
        )
        .compressed(false)
        .stored_as_sub_directories(false)
        .build();
    let description = spec
        .description
        .clone()
        .or_else(|| raw.and_then(|t| t.description()).map(str::to_string));
    TableInput::builder()
        .name(&spec.target.table)
        .table_type(EXTERNAL_TABLE)
        .set_description(description)
        .set_owner(raw.and_then(|t| t.owner()).map(str::to_string))
        .set_retention(raw.map(|t| t.retention()))
        .set_parameters(Some(spec.parameters(raw.and_then(|t| t.parameters()))))
        .set_partition_keys(Some(columns(spec, &spec.partition_keys)?))
        .storage_descriptor(storage)
        .build()
        .map_err(|e| glue_error("TableInput", &spec.target, &e))
}

/// Handle one invocation: an SQS batch (partial failures reported), or a
/// direct S3 / SNS / EventBridge event (any failure fails the invocation).
pub async fn handle(sync: &GlueSync, payload: Value) -> Result<BatchResponse, Error> {
    let batch = decode_payload(&payload)?;
    if batch.test_events > 0 {
        info!(count = batch.test_events, "s3:TestEvent acknowledged");
    }
    let outcome = sync.process(&batch).await;
    meander_lambda::batch_response(
        batch.kind == PayloadKind::Sqs,
        outcome.failed_messages,
        outcome.any_failure,
        || {
            outcome
                .tables
                .iter()
                .filter_map(|t| t.error.clone())
                .collect::<Vec<_>>()
                .join("; ")
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<GlueSyncConfig, ConfigError> {
        GlueSyncConfig::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn configuration_errors_name_the_key() {
        let err = config(&[]).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Missing { key, .. } if key == GLUE_DATABASE),
            "{err}"
        );
        assert!(err.to_string().contains(GLUE_PATH_REGEX), "{err}");

        let err = config(&[(GLUE_DATABASE, "my-db")]).unwrap_err();
        assert!(err.to_string().contains("GLUE_DATABASE=\"my-db\""), "{err}");

        let err = config(&[(GLUE_PATH_REGEX, "(?P<table>")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("environment variable GLUE_PATH_REGEX="),
            "{err}"
        );

        let err = config(&[(GLUE_PATH_REGEX, "(?P<db>[^/]+)/(?P<t>[^/]+)")]).unwrap_err();
        assert!(err.to_string().contains("`table`"), "{err}");

        let err = config(&[(GLUE_PATH_REGEX, "(?P<table>[^/]+)/_delta_log")]).unwrap_err();
        assert!(err.to_string().contains("GLUE_PATH_REGEX"), "{err}");
        assert!(err.to_string().contains("`database`"), "{err}");
    }

    #[test]
    fn valid_configurations() {
        let c = config(&[
            (GLUE_DATABASE, "Analytics"),
            (GLUE_CATALOG_ID, "123456789012"),
        ])
        .unwrap();
        assert!(matches!(&c.naming, TableNaming::Database(d) if d == "analytics"));
        assert_eq!(c.catalog_id.as_deref(), Some("123456789012"));
        let c = config(&[(
            GLUE_PATH_REGEX,
            r"(?P<database>\w+)/(?P<table>\w+)/_delta_log/.*\.json",
        )])
        .unwrap();
        assert!(matches!(c.naming, TableNaming::Regex { .. }));
        assert_eq!(c.catalog_id, None);
        // A regex with only `table` takes its database from GLUE_DATABASE.
        let c = config(&[
            (GLUE_DATABASE, "lake"),
            (GLUE_PATH_REGEX, r"^tables/(?P<table>[^/]+)/"),
        ])
        .unwrap();
        assert!(
            matches!(&c.naming, TableNaming::Regex { default_database: Some(d), .. } if d == "lake")
        );
    }

    #[test]
    fn table_input_is_a_native_delta_table() {
        let schema: deltalake::kernel::StructType = serde_json::from_str(
            r#"{"type":"struct","fields":[
                {"name":"id","type":"long","nullable":false,"metadata":{}},
                {"name":"ds","type":"date","nullable":true,"metadata":{}}]}"#,
        )
        .unwrap();
        let spec = GlueTableSpec::new(
            GlueTarget {
                database: "db".into(),
                table: "orders".into(),
            },
            "s3://b/exports/orders",
            &schema,
            &["ds".to_string()],
            None,
            4,
        )
        .unwrap();
        let input = table_input(&spec, None).unwrap();
        assert_eq!(input.name(), "orders");
        assert_eq!(input.table_type(), Some("EXTERNAL_TABLE"));
        let params = input.parameters().unwrap();
        assert_eq!(params["table_type"], "DELTA");
        assert_eq!(params["spark.sql.sources.provider"], "delta");
        assert_eq!(params["delta.lastUpdateVersion"], "4");
        let sd = input.storage_descriptor().unwrap();
        assert_eq!(sd.location(), Some("s3://b/exports/orders"));
        assert_eq!(sd.columns().len(), 1);
        assert_eq!(sd.columns()[0].r#type(), Some("bigint"));
        assert_eq!(input.partition_keys()[0].name(), "ds");
        assert_eq!(input.partition_keys()[0].r#type(), Some("date"));
        assert_eq!(
            sd.serde_info().and_then(|s| s.serialization_library()),
            Some(PARQUET_SERDE)
        );
    }
}
