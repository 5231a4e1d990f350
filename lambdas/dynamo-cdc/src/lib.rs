//! dynamo-cdc: DynamoDB Streams become a typed Delta table, as a changelog
//! (`MODE=append`) or a live mirror (`MODE=upsert`).
//!
//! Decoding, typing and the append path live in [`meander::dynamo`]; the
//! MERGE of upsert mode is in [`upsert`] (it needs deltalake's `datafusion`
//! feature, which only this function pulls in). See README.md for trigger,
//! environment, IAM, type mapping and guarantees.

pub mod upsert;

use std::ops::Range;

use meander::commit::RetryPolicy;
use meander::dynamo::append::{append_changes, AppendConfig};
use meander::dynamo::record::{decode_stream_event, StreamRecord};
use meander::dynamo::typing::{Nested, TypingOptions};
use meander::tables::{table_url, Locator, TableCache};
use meander_lambda::{BatchResponse, ConfigError, Env, Error};
use serde_json::Value;
use tracing::{info, warn};
use url::Url;

use crate::upsert::{upsert_changes, UpsertConfig};

/// Where the table lives: `s3://bucket/prefix`, with `{table}` replaced by
/// the DynamoDB table name from each record's `eventSourceARN`. Required.
pub const DELTA_TABLE_URI: &str = "DELTA_TABLE_URI";
/// `append` (changelog, default) or `upsert` (live mirror).
pub const MODE: &str = "MODE";
/// Comma-separated attributes to partition a new table by. Default: none.
pub const PARTITION_BY: &str = "PARTITION_BY";
/// Comma-separated attributes holding ISO-8601 strings or epoch numbers to
/// store as timestamps. Default: none.
pub const TIMESTAMP_COLUMNS: &str = "TIMESTAMP_COLUMNS";
/// `json` (maps and lists as JSON strings, default) or `native` (structs and lists).
pub const NESTED: &str = "NESTED";
/// The placeholder in `DELTA_TABLE_URI`.
pub const TABLE_PLACEHOLDER: &str = "{table}";

/// Changelog or mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Append,
    Upsert,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "append" => Ok(Mode::Append),
            "upsert" => Ok(Mode::Upsert),
            _ => Err("expected append or upsert".into()),
        }
    }
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Append => "append",
            Mode::Upsert => "upsert",
        }
    }
}

/// `DELTA_TABLE_URI`: a table location template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableUri {
    template: String,
}

impl TableUri {
    /// `s3://bucket/prefix` (also `s3a://`), or `file:///absolute/path`
    /// for local runs; `{table}` may appear in the path.
    pub fn parse(uri: &str) -> Result<TableUri, String> {
        let template = uri.trim().trim_end_matches('/').to_string();
        let t = TableUri { template };
        // Check the shape with a sample name.
        t.resolve(Some("sample-table"), &Locator::s3())?;
        if let Some(rest) = t.template.split_once("://").map(|(_, r)| r) {
            if rest
                .split('/')
                .next()
                .unwrap_or_default()
                .contains(TABLE_PLACEHOLDER)
            {
                return Err(format!(
                    "{TABLE_PLACEHOLDER} may appear in the path, not in the bucket"
                ));
            }
        }
        Ok(t)
    }

    /// Whether each record's table name is needed.
    pub fn needs_table_name(&self) -> bool {
        self.template.contains(TABLE_PLACEHOLDER)
    }

    pub fn as_str(&self) -> &str {
        &self.template
    }

    /// The table URL for DynamoDB table `name`.
    pub fn resolve(&self, name: Option<&str>, locator: &Locator) -> Result<Url, String> {
        let uri = match name {
            Some(n) => self.template.replace(TABLE_PLACEHOLDER, n),
            None if self.needs_table_name() => {
                return Err(format!("{TABLE_PLACEHOLDER} needs a table name"))
            }
            None => self.template.clone(),
        };
        table_url(&uri, locator)
    }
}

/// The function's configuration, read once.
#[derive(Debug, Clone)]
pub struct CdcConfig {
    pub table_uri: TableUri,
    pub mode: Mode,
    pub partition_by: Vec<String>,
    pub typing: TypingOptions,
    pub retry: RetryPolicy,
    pub locator: Locator,
}

impl CdcConfig {
    /// Read the configuration; a bad key is an error naming it.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let raw = env.required(
            DELTA_TABLE_URI,
            "the Delta table location, e.g. s3://bucket/cdc/{table}",
        )?;
        let table_uri =
            TableUri::parse(raw).map_err(|e| ConfigError::invalid(DELTA_TABLE_URI, raw, e))?;
        let mode: Mode = env.parse_or(MODE, Mode::Append)?;
        let nested: Nested = env.parse_or(NESTED, Nested::Json)?;
        let partition_by = env.list(PARTITION_BY);
        for p in &partition_by {
            if p.contains(['/', '=']) {
                return Err(ConfigError::invalid(
                    PARTITION_BY,
                    &partition_by.join(","),
                    format!("{p:?} is not an attribute name"),
                ));
            }
        }
        Ok(CdcConfig {
            table_uri,
            mode,
            partition_by,
            typing: TypingOptions {
                nested,
                timestamp_columns: env.list(TIMESTAMP_COLUMNS).into_iter().collect(),
                ..Default::default()
            },
            retry: meander_lambda::config::retry_policy(env, RetryPolicy::default())?,
            locator: meander_lambda::config::locator(env),
        })
    }
}

/// The function's state: configuration and the tables kept warm.
pub struct DynamoCdc {
    pub config: CdcConfig,
    tables: tokio::sync::Mutex<TableCache>,
}

/// The first record that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub index: usize,
    /// Its `SequenceNumber`, what the response names.
    pub sequence_number: Option<String>,
    pub error: String,
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Records in the event.
    pub records: usize,
    /// Committed (or found already committed) records, from the first.
    pub handled: usize,
    /// Tables written, with the version committed (if any).
    pub tables: Vec<(String, Option<u64>)>,
    pub failure: Option<Failure>,
}

impl DynamoCdc {
    pub fn new(config: CdcConfig) -> Self {
        meander::tables::register_handlers();
        DynamoCdc {
            config,
            tables: tokio::sync::Mutex::new(TableCache::default()),
        }
    }

    /// Read the configuration once; a bad key fails the cold start.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        CdcConfig::from_env(env).map(DynamoCdc::new)
    }

    fn table_url(&self, record: &StreamRecord) -> Result<Url, String> {
        let name = if self.config.table_uri.needs_table_name() {
            Some(record.table_name().map_err(|e| e.to_string())?)
        } else {
            None
        };
        self.config
            .table_uri
            .resolve(name.as_deref(), &self.config.locator)
    }

    /// Apply a stream event: records in order, per table, up to the first
    /// that fails.
    pub async fn process(&self, payload: &Value) -> Result<Outcome, Error> {
        let decoded = decode_stream_event(payload)?;
        let mut outcome = Outcome {
            records: decoded.total,
            ..Default::default()
        };
        let records = decoded.records;
        let mut failure = decoded.failure.map(|f| Failure {
            index: f.index,
            sequence_number: f.sequence_number,
            error: f.error.to_string(),
        });

        // Consecutive records of one table form a segment.
        let mut segments: Vec<(Url, Range<usize>)> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let url = match self.table_url(r) {
                Ok(u) => u,
                Err(error) => {
                    failure = Some(Failure {
                        index: r.index,
                        sequence_number: Some(r.sequence_number.as_str().to_string()),
                        error,
                    });
                    break;
                }
            };
            match segments.last_mut() {
                Some((last, range)) if *last == url => range.end = i + 1,
                _ => segments.push((url, i..i + 1)),
            }
        }

        for (url, range) in segments {
            let Some(batch) = records.get(range.clone()) else {
                continue;
            };
            match self.process_table(&url, batch).await {
                Ok((version, None)) => {
                    outcome.handled += batch.len();
                    outcome.tables.push((url.to_string(), version));
                }
                Ok((version, Some((index, error)))) => {
                    let applied = batch.iter().take_while(|r| r.index < index).count();
                    outcome.handled += applied;
                    outcome.tables.push((url.to_string(), version));
                    failure = Some(Failure {
                        index,
                        sequence_number: batch
                            .iter()
                            .find(|r| r.index == index)
                            .map(|r| r.sequence_number.as_str().to_string()),
                        error,
                    });
                    break;
                }
                Err(error) => {
                    let first = batch.first();
                    failure = Some(Failure {
                        index: first.map(|r| r.index).unwrap_or(0),
                        sequence_number: first.map(|r| r.sequence_number.as_str().to_string()),
                        error,
                    });
                    break;
                }
            }
        }
        if let Some(f) = &failure {
            warn!(
                index = f.index,
                sequence_number = f.sequence_number.as_deref().unwrap_or(""),
                error = %f.error,
                "record failed; Lambda retries from it"
            );
        }
        outcome.failure = failure;
        Ok(outcome)
    }

    /// One table's records. `Ok((version, Some((index, error))))` when a
    /// record could not be applied (those before it were).
    async fn process_table(
        &self,
        url: &Url,
        records: &[StreamRecord],
    ) -> Result<(Option<u64>, Option<(usize, String)>), String> {
        let table_name = url.as_str().trim_end_matches('/').to_string();
        let mut table = self
            .tables
            .lock()
            .await
            .take(url)
            .map_err(|e| format!("{table_name}: {e}"))?;
        let started = std::time::Instant::now();
        let result = match self.config.mode {
            Mode::Append => {
                let config = AppendConfig {
                    typing: self.config.typing.clone(),
                    partition_by: self.config.partition_by.clone(),
                    retry: self.config.retry.clone(),
                };
                append_changes(&mut table, records, &config)
                    .await
                    .map(|r| {
                        info!(
                            table = %table_name,
                            mode = "append",
                            version = r.version,
                            created = r.created,
                            rows = r.rows,
                            duplicates = r.duplicates,
                            files = r.files,
                            files_scanned = r.files_scanned,
                            retries = r.retries,
                            schema_evolved = r.schema_evolved,
                            rescued = ?r.rescued,
                            duration_ms = started.elapsed().as_millis() as u64,
                            "batch applied"
                        );
                        (r.version, None)
                    })
                    .map_err(|e| e.to_string())
            }
            Mode::Upsert => {
                let config = UpsertConfig {
                    typing: self.config.typing.clone(),
                    partition_by: self.config.partition_by.clone(),
                    retry: self.config.retry.clone(),
                };
                upsert_changes(&mut table, records, &config)
                    .await
                    .map(|r| {
                        info!(
                            table = %table_name,
                            mode = "upsert",
                            version = r.version,
                            created = r.created,
                            records = r.records,
                            keys = r.keys,
                            inserted = r.inserted,
                            updated = r.updated,
                            deleted = r.deleted,
                            retries = r.retries,
                            schema_evolved = r.schema_evolved,
                            rescued = ?r.rescued,
                            duration_ms = started.elapsed().as_millis() as u64,
                            "batch applied"
                        );
                        (r.version, r.failed_at)
                    })
                    .map_err(|e| e.to_string())
            }
        };
        let result = result.map_err(|e| format!("{table_name}: {e}"));
        if result.is_err() {
            // The state may be half-updated; the next invocation starts clean.
            table.state = None;
        }
        self.tables.lock().await.put(url.clone(), table);
        result
    }
}

/// Handle one invocation: a DynamoDB Streams event. The response names the
/// first record that failed (Lambda retries from it); records before it are
/// committed. A payload that is not a stream event, or a failed record
/// without a `SequenceNumber`, fails the invocation.
pub async fn handle(cdc: &DynamoCdc, payload: Value) -> Result<BatchResponse, Error> {
    let outcome = cdc.process(&payload).await?;
    match outcome.failure {
        None => Ok(BatchResponse::default()),
        Some(Failure {
            sequence_number: Some(seq),
            ..
        }) => Ok(BatchResponse::failed([seq])),
        Some(Failure { index, error, .. }) => Err(format!(
            "record {index} failed and has no SequenceNumber to report: {error}"
        )
        .into()),
    }
}

#[cfg(test)]
mod tests;
