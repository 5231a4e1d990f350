//! sqs-ingest: JSON records from SQS become rows of a Delta table.
//!
//! The logic lives in [`meander::ingest`]; this crate reads the
//! configuration, pulls extra messages (buffer-more), answers the invocation
//! with partial batch failures and deletes the extra messages that landed.
//! See README.md for trigger, env, IAM and guarantees.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use futures::stream::{FuturesUnordered, StreamExt};
use meander::commit::RetryPolicy;
use meander::ingest::body::queue_from_url;
use meander::ingest::{decode_sqs_event, Ingest, IngestConfig, SqsMessage};
use meander_lambda::{BatchResponse, ConfigError, Env, Error};
use serde_json::Value;
use tracing::{info, warn};
use url::Url;

/// The Delta table: `s3://bucket/path` (or `file:///path` for local runs).
/// Required.
pub const DELTA_TABLE_URI: &str = "DELTA_TABLE_URI";
/// Add new fields to the table schema (`true`/`false`). Default `true`.
pub const SCHEMA_EVOLUTION: &str = "SCHEMA_EVOLUTION";
/// Comma-separated partition columns, used when this function creates the
/// table. Default: unpartitioned.
pub const PARTITION_BY: &str = "PARTITION_BY";
/// Comma-separated field paths (`ts`, `payload.at`) holding ISO-8601
/// strings or epoch numbers, stored as timestamps. Default: none.
pub const TIMESTAMP_COLUMNS: &str = "TIMESTAMP_COLUMNS";
/// The queue to pull more messages from (normally the trigger's own).
/// Default: unset (no buffer-more).
pub const BUFFER_MORE_QUEUE_URL: &str = "BUFFER_MORE_QUEUE_URL";
/// How many more messages to pull per invocation. Required with
/// `BUFFER_MORE_QUEUE_URL`.
pub const BUFFER_MORE_MESSAGES: &str = "BUFFER_MORE_MESSAGES";
/// Stop pulling once the bodies of the batch reach this many bytes.
/// Default [`DEFAULT_BUFFER_MORE_MAX_BYTES`].
pub const BUFFER_MORE_MAX_BYTES: &str = "BUFFER_MORE_MAX_BYTES";
/// 32 MiB of message bodies.
pub const DEFAULT_BUFFER_MORE_MAX_BYTES: usize = 32 * 1024 * 1024;

/// Time for pulling when the invocation has no deadline (local runs).
const NO_DEADLINE_BUDGET: Duration = Duration::from_secs(10);
/// ReceiveMessage calls in flight at once.
const RECEIVE_CONCURRENCY: usize = 8;
/// DeleteMessageBatch calls in flight at once.
const DELETE_CONCURRENCY: usize = 8;

pub use meander::ingest::IngestOutcome;

/// Buffer-more settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferMore {
    pub queue_url: String,
    pub messages: usize,
    pub max_bytes: usize,
}

/// The function's configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    pub ingest: IngestConfig,
    pub buffer_more: Option<BufferMore>,
}

impl Config {
    /// Read the configuration; a missing or bad key fails the cold start.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let uri = env.required(
            DELTA_TABLE_URI,
            "the Delta table to write, e.g. s3://my-bucket/tables/events",
        )?;
        let mut ingest = IngestConfig::new(table_url(env, uri)?);
        ingest.schema_evolution = env.flag(SCHEMA_EVOLUTION, true)?;
        ingest.partition_by = env.list(PARTITION_BY);
        ingest.timestamp_columns = env.list(TIMESTAMP_COLUMNS);
        ingest.retry = meander_lambda::config::retry_policy(env, RetryPolicy::default())?;
        for (key, names) in [
            (PARTITION_BY, &ingest.partition_by),
            (TIMESTAMP_COLUMNS, &ingest.timestamp_columns),
        ] {
            if let Some(bad) = names.iter().find(|n| n.split('.').any(str::is_empty)) {
                return Err(ConfigError::invalid(
                    key,
                    &names.join(","),
                    format!("{bad:?} is not a field name"),
                ));
            }
        }
        let buffer_more = match (
            env.optional(BUFFER_MORE_QUEUE_URL),
            env.parse_optional::<usize>(BUFFER_MORE_MESSAGES)?,
        ) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Missing {
                    key: BUFFER_MORE_MESSAGES.into(),
                    help: format!("how many more messages to pull; {BUFFER_MORE_QUEUE_URL} is set"),
                })
            }
            (None, Some(_)) => {
                return Err(ConfigError::Missing {
                    key: BUFFER_MORE_QUEUE_URL.into(),
                    help: format!("the queue to pull from; {BUFFER_MORE_MESSAGES} is set"),
                })
            }
            (Some(url), Some(messages)) => {
                let max_bytes =
                    env.parse_or(BUFFER_MORE_MAX_BYTES, DEFAULT_BUFFER_MORE_MAX_BYTES)?;
                if max_bytes == 0 {
                    return Err(ConfigError::invalid(
                        BUFFER_MORE_MAX_BYTES,
                        "0",
                        "must be at least 1",
                    ));
                }
                if queue_from_url(url).is_none() {
                    return Err(ConfigError::invalid(
                        BUFFER_MORE_QUEUE_URL,
                        url,
                        "expected a queue URL, https://sqs.<region>.amazonaws.com/<account>/<name>",
                    ));
                }
                (messages > 0).then(|| BufferMore {
                    queue_url: url.to_string(),
                    messages,
                    max_bytes,
                })
            }
        };
        Ok(Config {
            ingest,
            buffer_more,
        })
    }
}

/// `s3://bucket/prefix` (through `MEANDER_LOCAL_STORAGE_DIR` when set),
/// `file:///dir`, or an absolute local path, as a table URL
/// ([`meander::tables::table_url`] checks it).
fn table_url(env: &Env, uri: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::invalid(DELTA_TABLE_URI, uri, reason);
    let file_url;
    let uri_or_file = if uri.starts_with('/') {
        file_url = Url::from_directory_path(uri).map_err(|_| invalid("not a usable path"))?;
        file_url.as_str().trim_end_matches('/')
    } else {
        uri
    };
    meander::tables::table_url(uri_or_file, &meander_lambda::config::locator(env))
        .map_err(|e| invalid(&e))
}

/// The function's state: the engine (and its warm table), the SQS client.
pub struct SqsIngest {
    pub engine: Ingest,
    buffer_more: Option<(BufferMore, aws_sdk_sqs::Client)>,
}

impl SqsIngest {
    /// Build the engine and, with buffer-more, the SQS client.
    pub async fn new(config: Config) -> Self {
        let buffer_more = match config.buffer_more {
            Some(b) => {
                let sdk = meander_lambda::clients::sdk_config().await;
                Some((b, meander_lambda::clients::sqs(&sdk)))
            }
            None => None,
        };
        SqsIngest {
            engine: Ingest::new(config.ingest),
            buffer_more,
        }
    }
}

/// Handle one SQS batch: pull more messages if configured, ingest them all
/// in one commit, delete the extra messages that landed, and report the
/// event's failed messages. `deadline` is the invocation's (Lambda context);
/// buffer-more uses at most half the time left.
pub async fn handle(
    state: &SqsIngest,
    payload: Value,
    deadline: Option<SystemTime>,
) -> Result<BatchResponse, Error> {
    let started = Instant::now();
    let mut messages = decode_sqs_event(&payload)?;
    let event_count = messages.len();
    if let Some((config, sqs)) = &state.buffer_more {
        let budget = match deadline {
            Some(d) => d.duration_since(SystemTime::now()).unwrap_or_default() / 2,
            None => NO_DEADLINE_BUDGET,
        };
        let bytes = messages.iter().map(|m| m.body.len()).sum();
        let extra = receive_more(sqs, config, started + budget, bytes).await;
        info!(
            pulled = extra.len(),
            ms = started.elapsed().as_millis() as u64,
            "buffer-more"
        );
        messages.extend(extra);
    }
    let outcome = state.engine.process(&messages).await;
    let failed: HashSet<&str> = outcome
        .failed
        .iter()
        .map(|f| f.message_id.as_str())
        .collect();
    if let Some((config, sqs)) = &state.buffer_more {
        // Extra messages are ours to delete, and only once they are in the
        // table (or were already). Failed ones stay: they come back after
        // the visibility timeout and reach the DLQ through its redrive.
        let done: Vec<&SqsMessage> = messages
            .get(event_count..)
            .unwrap_or_default()
            .iter()
            .filter(|m| !failed.contains(m.message_id.as_str()))
            .collect();
        delete_messages(sqs, &config.queue_url, &done).await;
    }
    let event_failed: Vec<String> = messages
        .iter()
        .take(event_count)
        .filter(|m| failed.contains(m.message_id.as_str()))
        .map(|m| m.message_id.clone())
        .collect();
    Ok(BatchResponse::failed(event_failed))
}

/// Pull up to `config.messages` more messages, until `until` or until the
/// bodies reach `config.max_bytes` (counting `bytes` already held), or the
/// queue answers empty.
async fn receive_more(
    sqs: &aws_sdk_sqs::Client,
    config: &BufferMore,
    until: Instant,
    mut bytes: usize,
) -> Vec<SqsMessage> {
    let queue = queue_from_url(&config.queue_url);
    let mut out: Vec<SqsMessage> = Vec::new();
    let mut inflight = FuturesUnordered::new();
    let mut drained = false;
    loop {
        while !drained
            && inflight.len() < RECEIVE_CONCURRENCY
            && out.len() + inflight.len() * 10 < config.messages
            && bytes < config.max_bytes
            && Instant::now() < until
        {
            let want = (config.messages - out.len() - inflight.len() * 10).min(10);
            inflight.push(
                sqs.receive_message()
                    .queue_url(&config.queue_url)
                    .max_number_of_messages(i32::try_from(want).unwrap_or(10))
                    .wait_time_seconds(0)
                    .message_system_attribute_names(MessageSystemAttributeName::All)
                    .send(),
            );
        }
        let Some(result) = inflight.next().await else {
            break;
        };
        match result {
            Ok(received) => {
                let got = received.messages();
                if got.is_empty() {
                    drained = true;
                }
                for m in got {
                    let body = m.body().unwrap_or_default().to_string();
                    bytes += body.len();
                    let attribute = |name: MessageSystemAttributeName| {
                        m.attributes().and_then(|a| a.get(&name)).cloned()
                    };
                    out.push(SqsMessage {
                        message_id: m.message_id().unwrap_or_default().to_string(),
                        body,
                        group_id: attribute(MessageSystemAttributeName::MessageGroupId),
                        sequence_number: attribute(MessageSystemAttributeName::SequenceNumber)
                            .and_then(|s| s.parse().ok()),
                        queue: queue.clone(),
                        receipt_handle: m.receipt_handle().map(str::to_string),
                    });
                }
            }
            Err(e) => {
                warn!(queue = %config.queue_url, error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "buffer-more receive failed; going on with what we have");
                drained = true;
            }
        }
    }
    // A message without an id or receipt handle could be neither reported
    // nor deleted: leave it to come back.
    out.retain(|m| !m.message_id.is_empty() && m.receipt_handle.is_some());
    out
}

/// Delete messages by receipt handle, 10 per call.
async fn delete_messages(sqs: &aws_sdk_sqs::Client, queue_url: &str, messages: &[&SqsMessage]) {
    let chunks: Vec<Vec<DeleteMessageBatchRequestEntry>> = messages
        .chunks(10)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                        .build()
                        .ok()
                })
                .collect()
        })
        .collect();
    let results: Vec<usize> = futures::stream::iter(chunks)
        .map(|entries| async move {
            let n = entries.len();
            match sqs
                .delete_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => out.failed().len(),
                Err(e) => {
                    warn!(queue = %queue_url, error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "delete failed");
                    n
                }
            }
        })
        .buffer_unordered(DELETE_CONCURRENCY)
        .collect()
        .await;
    let failed: usize = results.iter().sum();
    if failed > 0 {
        warn!(
            queue = %queue_url,
            failed,
            "extra messages committed but not deleted: they will be delivered again (FIFO groups skip them; standard-queue messages may be written twice)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn configuration() {
        let c = Config::from_env(&env(&[(DELTA_TABLE_URI, "s3://b/tables/events")])).unwrap();
        assert_eq!(c.ingest.table_url.as_str(), "s3://b/tables/events/");
        assert!(c.ingest.schema_evolution);
        assert!(c.buffer_more.is_none());
        let c = Config::from_env(&env(&[
            (DELTA_TABLE_URI, "s3://b/t"),
            ("MEANDER_LOCAL_STORAGE_DIR", "/tmp/lake"),
            (SCHEMA_EVOLUTION, "off"),
            (PARTITION_BY, "day, region"),
            (TIMESTAMP_COLUMNS, "ts,payload.at"),
            (
                BUFFER_MORE_QUEUE_URL,
                "https://sqs.us-east-1.amazonaws.com/1/q",
            ),
            (BUFFER_MORE_MESSAGES, "100"),
        ]))
        .unwrap();
        assert_eq!(c.ingest.table_url.as_str(), "file:///tmp/lake/b/t/");
        assert!(!c.ingest.schema_evolution);
        assert_eq!(c.ingest.partition_by, ["day", "region"]);
        assert_eq!(c.ingest.timestamp_columns, ["ts", "payload.at"]);
        assert_eq!(
            c.buffer_more,
            Some(BufferMore {
                queue_url: "https://sqs.us-east-1.amazonaws.com/1/q".into(),
                messages: 100,
                max_bytes: DEFAULT_BUFFER_MORE_MAX_BYTES
            })
        );
        let c = Config::from_env(&env(&[(DELTA_TABLE_URI, "file:///tmp/x")])).unwrap();
        assert_eq!(c.ingest.table_url.as_str(), "file:///tmp/x/");
        let c = Config::from_env(&env(&[(DELTA_TABLE_URI, "/tmp/y/")])).unwrap();
        assert_eq!(c.ingest.table_url.as_str(), "file:///tmp/y/");
    }

    #[test]
    fn bad_configuration_names_the_key() {
        let err = |pairs: &[(&str, &str)]| Config::from_env(&env(pairs)).unwrap_err().to_string();
        assert!(err(&[]).contains(DELTA_TABLE_URI));
        assert!(err(&[(DELTA_TABLE_URI, "bucket/x")]).contains(DELTA_TABLE_URI));
        assert!(err(&[(DELTA_TABLE_URI, "s3://b/t/../u")]).contains(DELTA_TABLE_URI));
        assert!(err(&[(DELTA_TABLE_URI, "s3:///t")]).contains(DELTA_TABLE_URI));
        let t = (DELTA_TABLE_URI, "s3://b/t");
        assert!(err(&[t, (SCHEMA_EVOLUTION, "maybe")]).contains(SCHEMA_EVOLUTION));
        assert!(err(&[t, (BUFFER_MORE_QUEUE_URL, "https://h/1/q")]).contains(BUFFER_MORE_MESSAGES));
        assert!(err(&[t, (BUFFER_MORE_MESSAGES, "5")]).contains(BUFFER_MORE_QUEUE_URL));
        assert!(err(&[
            t,
            (BUFFER_MORE_QUEUE_URL, "https://h/1/q"),
            (BUFFER_MORE_MESSAGES, "x")
        ])
        .contains(BUFFER_MORE_MESSAGES));
        assert!(err(&[
            t,
            (BUFFER_MORE_QUEUE_URL, "https://h/1/q"),
            (BUFFER_MORE_MESSAGES, "5"),
            (BUFFER_MORE_MAX_BYTES, "0")
        ])
        .contains(BUFFER_MORE_MAX_BYTES));
        assert!(
            err(&[t, (BUFFER_MORE_QUEUE_URL, "q"), (BUFFER_MORE_MESSAGES, "5")])
                .contains(BUFFER_MORE_QUEUE_URL)
        );
        assert!(err(&[t, (PARTITION_BY, "a..b")]).contains(PARTITION_BY));
        assert!(err(&[t, ("COMMIT_MAX_ATTEMPTS", "0")]).contains("COMMIT_MAX_ATTEMPTS"));
    }

    #[tokio::test]
    async fn handles_an_sqs_batch_on_a_local_table() {
        let dir = tempfile::tempdir().unwrap();
        let uri = format!("file://{}", dir.path().display());
        let state =
            SqsIngest::new(Config::from_env(&env(&[(DELTA_TABLE_URI, &uri)])).unwrap()).await;
        let event = serde_json::json!({"Records": [
            {"messageId": "a", "body": "{\"id\": 1}", "eventSource": "aws:sqs"},
            {"messageId": "b", "body": "[1]", "eventSource": "aws:sqs"}
        ]});
        let r = handle(&state, event.clone(), None).await.unwrap();
        assert_eq!(r, BatchResponse::failed(["b"]));
        // Replayed: nothing new, the bad one still fails.
        let r = handle(&state, event, None).await.unwrap();
        assert_eq!(r, BatchResponse::failed(["b"]));
        assert!(handle(
            &state,
            serde_json::json!({"Records": [{"eventSource": "aws:s3"}]}),
            None
        )
        .await
        .is_err());
    }
}
