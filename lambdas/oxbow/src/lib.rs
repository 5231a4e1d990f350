//! oxbow: S3 object events for Parquet files become Delta commits.
//!
//! The logic lives in [`meander::oxbow`]; this crate reads the configuration
//! and answers the invocation. See README.md for trigger, env and IAM.

use meander::commit::RetryPolicy;
use meander::events::{decode_payload, PayloadKind};
use meander::oxbow::{Oxbow as Engine, OxbowConfig};
use meander::table::TablePrefixes;
use meander_lambda::{BatchResponse, ConfigError, Env, Error};
use serde_json::Value;

/// Comma-separated `s3://bucket/prefix` URIs; when set, an object belongs to
/// the longest prefix containing it and objects outside all are ignored.
/// Default: unset (table root inferred from the path).
pub const TABLE_PREFIXES: &str = "TABLE_PREFIXES";
/// Add new columns to the table schema (`true`/`false`). Default `true`.
pub const SCHEMA_EVOLUTION: &str = "SCHEMA_EVOLUTION";

pub use meander::oxbow::BatchOutcome;

/// The function's state: configuration and warm tables.
pub struct Oxbow {
    pub engine: Engine,
}

impl Oxbow {
    /// Read the configuration once; a bad key fails the cold start.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let prefixes = env.list(TABLE_PREFIXES);
        let table_prefixes = TablePrefixes::parse(&prefixes).map_err(|e| {
            ConfigError::invalid(TABLE_PREFIXES, &prefixes.join(","), e.to_string())
        })?;
        let config = OxbowConfig {
            table_prefixes,
            schema_evolution: env.flag(SCHEMA_EVOLUTION, true)?,
            retry: meander_lambda::config::retry_policy(env, RetryPolicy::default())?,
            locator: meander_lambda::config::locator(env),
            ..OxbowConfig::default()
        };
        Ok(Oxbow {
            engine: Engine::new(config),
        })
    }
}

/// Handle one invocation: an SQS batch (partial failures reported), or a
/// direct S3 / SNS / EventBridge event (any failure fails the invocation).
pub async fn handle(oxbow: &Oxbow, payload: Value) -> Result<BatchResponse, Error> {
    let batch = decode_payload(&payload)?;
    if batch.test_events > 0 {
        tracing::info!(count = batch.test_events, "s3:TestEvent acknowledged");
    }
    let outcome = oxbow.engine.process(&batch).await;
    meander_lambda::batch_response(
        batch.kind == PayloadKind::Sqs,
        outcome.failed_messages,
        outcome.any_failure,
        || {
            outcome
                .tables
                .iter()
                .flat_map(|t| t.errors.iter().cloned())
                .collect::<Vec<_>>()
                .join("; ")
        },
    )
}
