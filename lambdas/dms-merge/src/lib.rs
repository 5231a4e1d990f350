//! dms-merge: AWS DMS full-load and CDC files on S3 become live Delta tables.
//!
//! S3 notifications (through SQS) name the files DMS writes under
//! `<folder>/<schema>/<table>/`. For each source table touched, the function
//! catches up: every file of the folder not yet applied, up to the notified
//! one, is applied in DMS order — full-load files appended, CDC files merged
//! on the key columns — with a ledger of the files applied kept in the same
//! Delta commits ([`meander::dms::plan`]). Decoding, ordering and planning
//! are in [`meander::dms`]; the writes are in [`apply`]. See README.md for
//! trigger, environment, IAM and guarantees.

pub mod apply;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use meander::commit::RetryPolicy;
use meander::dms::config::{KeyColumns, TableDefinitions};
use meander::dms::decode::CsvOptions;
use meander::dms::names::{classify, DmsFile, KeyClass, SourceTable};
use meander::dms::plan::Limits;
use meander::events::{decode_payload, ObjectEventKind, PayloadKind};
use meander::tables::{table_url, Locator, TableCache};
use meander_lambda::{BatchResponse, ConfigError, Env, Error};
use serde_json::Value;
use tracing::{info, warn};
use url::Url;

use crate::apply::{apply_table, TableJob};

/// Where each table lives: `s3://bucket/prefix/{schema}/{table}`; `{table}`
/// (and `{schema}`, when given) are replaced by the source table's names.
/// Required.
pub const DELTA_TABLE_URI: &str = "DELTA_TABLE_URI";
/// Primary-key columns per source table:
/// `public.orders=id;public.lines=order_id,line_no`. Required; files of a
/// table not listed fail.
pub const KEY_COLUMNS: &str = "KEY_COLUMNS";
/// The endpoint's `TimestampColumnName`, when set: changes to one key
/// within a batch are ordered by it first. Default: unset.
pub const TIMESTAMP_COLUMN: &str = "TIMESTAMP_COLUMN";
/// The endpoint's `AddColumnName`: CSV files start with a header line.
/// Default `false`.
pub const CSV_HEADER: &str = "CSV_HEADER";
/// The endpoint's `CsvDelimiter`: one character, or `tab`. Default `,`.
pub const CSV_DELIMITER: &str = "CSV_DELIMITER";
/// The endpoint's `CsvNullValue`: the field text read as NULL. Default:
/// an empty field.
pub const CSV_NULL_VALUE: &str = "CSV_NULL_VALUE";
/// A DMS table-definition document (`{"TableCount", "Tables": [...]}`)
/// giving headerless CSV files their column names and types: the JSON
/// itself, or an `s3://` URI of it (read on first use). Default: unset.
pub const TABLE_DEFINITION: &str = "TABLE_DEFINITION";

/// The placeholders in `DELTA_TABLE_URI`.
pub const SCHEMA_PLACEHOLDER: &str = "{schema}";
pub const TABLE_PLACEHOLDER: &str = "{table}";

/// `DELTA_TABLE_URI`: a table location template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableUri {
    template: String,
}

impl TableUri {
    /// `s3://bucket/prefix` with `{table}` (and optionally `{schema}`) in
    /// the prefix, or `file:///absolute/path/...` for local runs.
    pub fn parse(uri: &str) -> Result<TableUri, String> {
        let template = uri.trim().trim_end_matches('/').to_string();
        if !template.contains(TABLE_PLACEHOLDER) {
            return Err(format!(
                "must contain {TABLE_PLACEHOLDER} (and {SCHEMA_PLACEHOLDER} when tables of several schemas share names), e.g. s3://lake/dms/{{schema}}/{{table}}"
            ));
        }
        if let Some((_, rest)) = template.split_once("://") {
            if rest.split('/').next().unwrap_or_default().contains('{') {
                return Err("the placeholders may appear in the path, not in the bucket".into());
            }
        }
        let t = TableUri { template };
        t.resolve("sample_schema", "sample_table", &Locator::s3())?;
        Ok(t)
    }

    pub fn as_str(&self) -> &str {
        &self.template
    }

    /// The Delta table URL of source table `schema.table`.
    pub fn resolve(&self, schema: &str, table: &str, locator: &Locator) -> Result<Url, String> {
        for (what, name) in [("schema", schema), ("table", table)] {
            if name.is_empty() || name == "." || name == ".." || name.contains(['/', '{', '}']) {
                return Err(format!("the {what} name {name:?} cannot be a path segment"));
            }
        }
        let uri = self
            .template
            .replace(SCHEMA_PLACEHOLDER, schema)
            .replace(TABLE_PLACEHOLDER, table);
        table_url(&uri, locator)
    }
}

/// Where the table definition comes from.
#[derive(Debug, Clone)]
pub enum DefinitionSource {
    Inline(Arc<TableDefinitions>),
    /// `s3://bucket/key`, read on first use.
    Object {
        bucket: String,
        key: String,
    },
}

/// The function's configuration, read once.
#[derive(Debug, Clone)]
pub struct DmsConfig {
    pub table_uri: TableUri,
    pub keys: KeyColumns,
    pub timestamp_column: Option<String>,
    pub csv: CsvOptions,
    pub definition: Option<DefinitionSource>,
    pub retry: RetryPolicy,
    pub limits: Limits,
    pub locator: Locator,
}

fn delimiter(value: &str) -> Result<u8, String> {
    match value {
        "tab" | "\\t" => Ok(b'\t'),
        v if v.len() == 1 && v.is_ascii() && v != "\"" => Ok(v.as_bytes()[0]),
        _ => Err("expected one ASCII character (other than \") or `tab`".into()),
    }
}

impl DmsConfig {
    /// Read the configuration; a bad key is an error naming it.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let raw = env.required(
            DELTA_TABLE_URI,
            "the Delta table location, e.g. s3://lake/dms/{schema}/{table}",
        )?;
        let table_uri =
            TableUri::parse(raw).map_err(|e| ConfigError::invalid(DELTA_TABLE_URI, raw, e))?;
        let raw = env.required(
            KEY_COLUMNS,
            "the primary key of every source table, e.g. public.orders=id;public.lines=order_id,line_no",
        )?;
        let keys = KeyColumns::parse(raw).map_err(|e| ConfigError::invalid(KEY_COLUMNS, raw, e))?;
        let csv = CsvOptions {
            header: env.flag(CSV_HEADER, false)?,
            delimiter: match env.optional(CSV_DELIMITER) {
                None => b',',
                Some(v) => delimiter(v).map_err(|e| ConfigError::invalid(CSV_DELIMITER, v, e))?,
            },
            null_value: env.optional(CSV_NULL_VALUE).unwrap_or_default().to_string(),
        };
        let definition = match env.optional(TABLE_DEFINITION) {
            None => None,
            Some(v) if v.starts_with('{') => Some(DefinitionSource::Inline(Arc::new(
                TableDefinitions::parse(v)
                    .map_err(|e| ConfigError::invalid(TABLE_DEFINITION, "<json>", e))?,
            ))),
            Some(v) => {
                let (bucket, key) = v
                    .strip_prefix("s3://")
                    .and_then(|r| r.split_once('/'))
                    .filter(|(b, k)| !b.is_empty() && !k.is_empty())
                    .ok_or_else(|| {
                        ConfigError::invalid(
                            TABLE_DEFINITION,
                            v,
                            "expected the JSON document or s3://bucket/key of it",
                        )
                    })?;
                Some(DefinitionSource::Object {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                })
            }
        };
        Ok(DmsConfig {
            table_uri,
            keys,
            timestamp_column: env.optional(TIMESTAMP_COLUMN).map(str::to_string),
            csv,
            definition,
            retry: meander_lambda::config::retry_policy(env, RetryPolicy::default())?,
            limits: Limits::default(),
            locator: meander_lambda::config::locator(env),
        })
    }
}

/// The function's state: configuration, warm tables, the table definition.
pub struct DmsMerge {
    pub config: DmsConfig,
    tables: tokio::sync::Mutex<TableCache>,
    definitions: tokio::sync::Mutex<Option<Arc<TableDefinitions>>>,
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// SQS messages that failed (to report).
    pub failed_messages: Vec<String>,
    /// Whether anything failed (direct invocations have no ids).
    pub any_failure: bool,
    /// The errors, one line each.
    pub errors: Vec<String>,
    /// Whether the payload was an SQS batch.
    pub is_sqs: bool,
    /// Per source table: files applied by this invocation.
    pub applied: BTreeMap<String, usize>,
}

impl DmsMerge {
    pub fn new(config: DmsConfig) -> Self {
        meander::tables::register_handlers();
        let definitions = match &config.definition {
            Some(DefinitionSource::Inline(d)) => Some(d.clone()),
            _ => None,
        };
        DmsMerge {
            config,
            tables: tokio::sync::Mutex::new(TableCache::default()),
            definitions: tokio::sync::Mutex::new(definitions),
        }
    }

    /// Read the configuration once; a bad key fails the cold start.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        DmsConfig::from_env(env).map(DmsMerge::new)
    }

    /// The table definition, read from S3 on first use.
    async fn definitions(&self) -> Result<Option<Arc<TableDefinitions>>, String> {
        let Some(DefinitionSource::Object { bucket, key }) = &self.config.definition else {
            return Ok(self.definitions.lock().await.clone());
        };
        let mut cached = self.definitions.lock().await;
        if let Some(d) = cached.as_ref() {
            return Ok(Some(d.clone()));
        }
        let text = apply::read_object(&self.config.locator, bucket, key)
            .await
            .map_err(|e| format!("{TABLE_DEFINITION} s3://{bucket}/{key}: {e}"))?;
        let text = String::from_utf8(text.to_vec())
            .map_err(|_| format!("{TABLE_DEFINITION} s3://{bucket}/{key} is not UTF-8"))?;
        let defs = Arc::new(
            TableDefinitions::parse(&text)
                .map_err(|e| format!("{TABLE_DEFINITION} s3://{bucket}/{key}: {e}"))?,
        );
        *cached = Some(defs.clone());
        Ok(Some(defs))
    }

    /// Apply an invocation's files; failures are per message.
    pub async fn process(&self, payload: &Value) -> Result<Outcome, Error> {
        let batch = decode_payload(payload)?;
        if batch.test_events > 0 {
            info!(count = batch.test_events, "s3:TestEvent acknowledged");
        }
        let mut outcome = Outcome {
            is_sqs: batch.kind == PayloadKind::Sqs,
            ..Outcome::default()
        };
        let mut failed: BTreeSet<String> = BTreeSet::new();
        let mut fail = |outcome: &mut Outcome, id: Option<&String>, error: String| {
            outcome.any_failure = true;
            outcome.errors.push(error);
            if let Some(id) = id {
                failed.insert(id.clone());
            }
        };
        for f in &batch.failures {
            warn!(message_id = %f.message_id, error = %f.error, "message is not an S3 notification; fix the producer (the message goes to the DLQ)");
            fail(&mut outcome, Some(&f.message_id), f.error.to_string());
        }

        // The notified files per source table.
        let mut groups: BTreeMap<SourceTable, Vec<(DmsFile, Option<String>)>> = BTreeMap::new();
        for e in &batch.events {
            if e.kind == ObjectEventKind::Removed {
                info!(object = %e.url(), "removal ignored; the Delta table keeps what was applied");
                continue;
            }
            match classify(&e.bucket, &e.key) {
                KeyClass::Ignored(why) => {
                    info!(object = %e.url(), reason = %why, "not a DMS data file; ignored");
                }
                KeyClass::Rejected(why) => {
                    warn!(message_id = %e.message_id.as_deref().unwrap_or("-"), object = %e.url(), error = %why, "file rejected");
                    fail(
                        &mut outcome,
                        e.message_id.as_ref(),
                        format!("{}: {why}", e.url()),
                    );
                }
                KeyClass::Data(file) => {
                    if self.config.keys.get(&file.table.qualified()).is_none() {
                        let error = format!(
                            "{}: table {} is not in {KEY_COLUMNS}; add {}=<key columns> and redeploy (the message is retried, then goes to the DLQ)",
                            file.uri(),
                            file.table.qualified(),
                            file.table.qualified()
                        );
                        warn!(message_id = %e.message_id.as_deref().unwrap_or("-"), object = %file.uri(), error = %error, "no key columns");
                        fail(&mut outcome, e.message_id.as_ref(), error);
                        continue;
                    }
                    groups
                        .entry(file.table.clone())
                        .or_default()
                        .push((file, e.message_id.clone()));
                }
            }
        }

        let definitions = if groups.is_empty() {
            None
        } else {
            match self.definitions().await {
                Ok(d) => d,
                Err(error) => {
                    warn!(error = %error, "table definition unreadable");
                    for files in groups.values() {
                        for (_, id) in files {
                            fail(&mut outcome, id.as_ref(), error.clone());
                        }
                    }
                    groups.clear();
                    None
                }
            }
        };

        for (source, files) in groups {
            let result = self
                .process_table(&source, &files, definitions.as_deref())
                .await;
            let (ledger, error) = match result {
                Ok(r) => {
                    outcome.applied.insert(source.uri(), r.files_applied);
                    (r.ledger, None)
                }
                Err(e) => (e.ledger, Some(e.error)),
            };
            // One line per message not applied, naming the file and why
            // (for a file after a bad one: the bad one).
            for (file, id) in &files {
                if !ledger.is_applied(file) {
                    let error = error.clone().unwrap_or_else(|| {
                        format!(
                            "{} was not applied: it is not in the folder (deleted?); DMS files must stay until applied",
                            file.uri()
                        )
                    });
                    warn!(
                        message_id = %id.as_deref().unwrap_or("-"),
                        object = %file.uri(),
                        error = %error,
                        "file not applied; the message is retried"
                    );
                    fail(&mut outcome, id.as_ref(), error);
                }
            }
        }
        outcome.failed_messages = failed.into_iter().collect();
        Ok(outcome)
    }

    async fn process_table(
        &self,
        source: &SourceTable,
        files: &[(DmsFile, Option<String>)],
        definitions: Option<&TableDefinitions>,
    ) -> Result<apply::TableReport, apply::TableError> {
        let keys = self
            .config
            .keys
            .get(&source.qualified())
            .unwrap_or_default();
        let url = self
            .config
            .table_uri
            .resolve(&source.schema, &source.table, &self.config.locator)
            .map_err(|e| apply::TableError::before_start(format!("{DELTA_TABLE_URI}: {e}")))?;
        let upto = files
            .iter()
            .map(|(f, _)| f)
            .max_by_key(|f| f.position())
            .ok_or_else(|| apply::TableError::before_start("no files".into()))?;
        let mut table = self
            .tables
            .lock()
            .await
            .take(&url)
            .map_err(|e| apply::TableError::before_start(format!("{url}: {e}")))?;
        let job = TableJob {
            source,
            upto,
            keys,
            timestamp_column: self.config.timestamp_column.as_deref(),
            csv: &self.config.csv,
            definition: definitions.and_then(|d| d.get(&source.schema, &source.table)),
            retry: &self.config.retry,
            limits: self.config.limits,
            locator: &self.config.locator,
        };
        let result = apply_table(&mut table, &job).await;
        if result.is_err() {
            // The state may be half-updated; the next invocation starts clean.
            table.state = None;
        }
        self.tables.lock().await.put(url, table);
        result
    }
}

/// Handle one invocation: an SQS batch (failed messages reported), or a
/// direct S3 / SNS / EventBridge event (any failure fails the invocation).
pub async fn handle(dms: &DmsMerge, payload: Value) -> Result<BatchResponse, Error> {
    let outcome = dms.process(&payload).await?;
    meander_lambda::batch_response(
        outcome.is_sqs,
        outcome.failed_messages,
        outcome.any_failure,
        || outcome.errors.join("; "),
    )
}

#[cfg(test)]
mod tests;
