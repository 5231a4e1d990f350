//! group-events: S3 object events regrouped per table onto an SQS FIFO
//! queue, one message group per table, so one oxbow at a time commits to a
//! table.
//!
//! The logic (grouping, hashing, chunking, retries) lives in
//! [`meander::group`]; this crate reads the configuration, checks the queue
//! once per container and answers the invocation. See README.md for trigger,
//! env and IAM.

use std::time::Instant;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use meander::commit::RetryPolicy;
use meander::events::{decode_payload, PayloadKind};
use meander::group::{
    self, BatchEntry, BatchReply, EntryFailure, GroupConfig, DEFAULT_MAX_MESSAGE_BYTES,
    MAX_DISTRIBUTION, MIN_MESSAGE_BYTES, SQS_MAX_MESSAGE_BYTES,
};
use meander::table::TablePrefixes;
use meander_lambda::{BatchResponse, ConfigError, Env, Error};
use serde_json::Value;
use tracing::{error, info, warn};

/// The URL of the FIFO queue to send to. Required; checked at cold start
/// (`GetQueueAttributes`), which fails when the queue is missing or not FIFO.
pub const QUEUE_URL: &str = "QUEUE_URL";
/// Spread each table over N message groups (1 to 1000), by a hash of the
/// object key. Default 1: one group per table.
pub const GROUP_DISTRIBUTION: &str = "GROUP_DISTRIBUTION";
/// Comma-separated `s3://bucket/prefix` table roots, as oxbow's; objects
/// outside all of them are not sent. Default: unset (root inferred from the
/// path).
pub const TABLE_PREFIXES: &str = "TABLE_PREFIXES";
/// Largest message body in bytes (1,024 to 1,048,576). Default: the queue's
/// `MaximumMessageSize`; when set, the smaller of the two.
pub const MAX_MESSAGE_BYTES: &str = "MAX_MESSAGE_BYTES";

/// The configuration read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub queue_url: String,
    pub table_prefixes: TablePrefixes,
    pub distribution: u32,
    pub max_message_bytes: Option<usize>,
    pub retry: RetryPolicy,
}

impl Config {
    /// Read and check every key; a bad one is an error naming it.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let queue_url = env
            .required(
                QUEUE_URL,
                "the URL of the SQS FIFO queue to send the grouped events to",
            )?
            .to_string();
        let prefixes = env.list(TABLE_PREFIXES);
        let table_prefixes = TablePrefixes::parse(&prefixes).map_err(|e| {
            ConfigError::invalid(TABLE_PREFIXES, &prefixes.join(","), e.to_string())
        })?;
        let distribution: u32 = env.parse_or(GROUP_DISTRIBUTION, 1)?;
        if !(1..=MAX_DISTRIBUTION).contains(&distribution) {
            return Err(ConfigError::invalid(
                GROUP_DISTRIBUTION,
                &distribution.to_string(),
                format!("must be from 1 to {MAX_DISTRIBUTION}"),
            ));
        }
        let max_message_bytes: Option<usize> = env.parse_optional(MAX_MESSAGE_BYTES)?;
        if let Some(m) = max_message_bytes {
            if !(MIN_MESSAGE_BYTES..=SQS_MAX_MESSAGE_BYTES).contains(&m) {
                return Err(ConfigError::invalid(
                    MAX_MESSAGE_BYTES,
                    &m.to_string(),
                    format!(
                        "must be from {MIN_MESSAGE_BYTES} to {SQS_MAX_MESSAGE_BYTES} (SQS's limits)"
                    ),
                ));
            }
        }
        Ok(Config {
            queue_url,
            table_prefixes,
            distribution,
            max_message_bytes,
            retry: group::default_send_retry(),
        })
    }
}

/// The size limits `(message, batch)`: messages within the queue's
/// `MaximumMessageSize` ([`DEFAULT_MAX_MESSAGE_BYTES`] when unknown) or the
/// smaller override; a batch call's bodies within the queue's size (or the
/// override, when larger and the queue's size is unknown).
pub fn size_limits(queue_max: Option<usize>, override_bytes: Option<usize>) -> (usize, usize) {
    match (queue_max, override_bytes) {
        (Some(q), Some(o)) => (q.min(o), q),
        (Some(q), None) => (q, q),
        (None, Some(o)) => (o, o.max(DEFAULT_MAX_MESSAGE_BYTES)),
        (None, None) => (DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_MESSAGE_BYTES),
    }
}

/// The function's state, built once per container.
pub struct GroupEvents {
    pub config: GroupConfig,
    pub queue_url: String,
    pub retry: RetryPolicy,
    pub sqs: aws_sdk_sqs::Client,
}

impl GroupEvents {
    /// Cold start: read the configuration, build the SQS client, check the
    /// queue.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let config = Config::from_env(env)?;
        let sdk = meander_lambda::clients::sdk_config().await;
        Self::connect(config, meander_lambda::clients::sqs(&sdk)).await
    }

    /// Check the queue once (`GetQueueAttributes`: it exists, it is FIFO,
    /// its maximum message size) and keep the client.
    pub async fn connect(config: Config, sqs: aws_sdk_sqs::Client) -> Result<Self, ConfigError> {
        let url = config.queue_url.as_str();
        let out = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::MaximumMessageSize)
            .attribute_names(QueueAttributeName::FifoQueue)
            .send()
            .await
            .map_err(|e| {
                ConfigError::invalid(
                    QUEUE_URL,
                    url,
                    format!(
                        "GetQueueAttributes failed (does the queue exist, may the function read its attributes?): {}",
                        DisplayErrorContext(&e)
                    ),
                )
            })?;
        let attribute = |name: QueueAttributeName| {
            out.attributes()
                .and_then(|a| a.get(&name))
                .map(|v| v.trim().to_string())
        };
        let fifo = match attribute(QueueAttributeName::FifoQueue) {
            Some(v) => v.eq_ignore_ascii_case("true"),
            None => url.ends_with(".fifo"),
        };
        if !fifo {
            return Err(ConfigError::invalid(
                QUEUE_URL,
                url,
                "not a FIFO queue: message groups need one (its name ends in .fifo)",
            ));
        }
        let queue_max = match attribute(QueueAttributeName::MaximumMessageSize) {
            None => None,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (MIN_MESSAGE_BYTES..=SQS_MAX_MESSAGE_BYTES).contains(&n) => Some(n),
                _ => {
                    warn!(value = %v, "queue's MaximumMessageSize not understood; using the default");
                    None
                }
            },
        };
        let (max_message_bytes, max_batch_bytes) = size_limits(queue_max, config.max_message_bytes);
        info!(
            queue_url = url,
            max_message_bytes,
            max_batch_bytes,
            distribution = config.distribution,
            "group-events ready"
        );
        Ok(GroupEvents {
            config: GroupConfig {
                table_prefixes: config.table_prefixes,
                distribution: config.distribution,
                max_message_bytes,
                max_batch_bytes,
            },
            queue_url: config.queue_url,
            retry: config.retry,
            sqs,
        })
    }
}

/// One `SendMessageBatch` call.
async fn send_batch(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    entries: Vec<BatchEntry>,
) -> Result<BatchReply, String> {
    let mut request = Vec::with_capacity(entries.len());
    for e in entries {
        let entry = SendMessageBatchRequestEntry::builder()
            .id(e.id)
            .message_body(e.body)
            .message_group_id(e.group_id)
            .message_deduplication_id(e.deduplication_id)
            .build()
            .map_err(|e| e.to_string())?;
        request.push(entry);
    }
    let out = sqs
        .send_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(request))
        .send()
        .await
        .map_err(|e| DisplayErrorContext(&e).to_string())?;
    Ok(BatchReply {
        successful: out
            .successful()
            .iter()
            .map(|s| s.id().to_string())
            .collect(),
        failed: out
            .failed()
            .iter()
            .map(|f| EntryFailure {
                id: f.id().to_string(),
                code: f.code().to_string(),
                message: f.message().unwrap_or_default().to_string(),
                sender_fault: f.sender_fault(),
            })
            .collect(),
    })
}

/// Handle one invocation: an SQS batch (partial failures reported), or a
/// direct S3 / SNS / EventBridge event (any failure fails the invocation).
pub async fn handle(state: &GroupEvents, payload: Value) -> Result<BatchResponse, Error> {
    let started = Instant::now();
    let batch = decode_payload(&payload)?;
    if batch.test_events > 0 {
        info!(count = batch.test_events, "s3:TestEvent dropped");
    }
    let mut failed: Vec<String> = Vec::new();
    for f in &batch.failures {
        warn!(message_id = %f.message_id, error = %f.error, "undecodable message");
        failed.push(f.message_id.clone());
    }

    let mut plan = group::plan(&batch.events, &state.config);
    for o in &plan.oversize {
        error!(
            table = %o.table,
            bytes = o.bytes,
            limit = state.config.max_message_bytes,
            "record larger than the maximum message size; its messages fail"
        );
    }
    failed.extend(plan.unsendable_sources().cloned());
    let batches = std::mem::take(&mut plan.batches);
    let messages = batches.iter().map(Vec::len).sum::<usize>();
    let report = group::send_batches(batches, &state.retry, |entries| {
        send_batch(state.sqs.clone(), state.queue_url.clone(), entries)
    })
    .await;
    for f in &report.failed {
        error!(
            table = %f.table,
            group_id = %f.group_id,
            records = f.records,
            error = %f.error,
            "message not sent after retries; its source messages fail"
        );
    }
    failed.extend(report.failed_sources().cloned());

    let any_failure =
        !batch.failures.is_empty() || plan.any_unsendable() || !report.failed.is_empty();
    info!(
        messages_in = batch.message_ids.len(),
        events = batch.events.len(),
        records = plan.records,
        duplicates = plan.duplicates,
        ignored = plan.ignored,
        tables = plan.tables,
        groups = plan.groups,
        messages,
        messages_sent = report.messages_sent,
        calls = report.calls,
        retried_entries = report.retried_entries,
        messages_failed = report.failed.len(),
        duration_ms = started.elapsed().as_millis() as u64,
        "events grouped"
    );
    meander_lambda::batch_response(batch.kind == PayloadKind::Sqs, failed, any_failure, || {
        let mut errors: Vec<String> = batch.failures.iter().map(|f| f.error.to_string()).collect();
        errors.extend(plan.oversize.iter().map(|o| {
            format!(
                "a record of {} needs {} bytes, over the {}-byte message limit",
                o.table, o.bytes, state.config.max_message_bytes
            )
        }));
        if !plan.unencodable.is_empty() {
            errors.push("a record could not be encoded".to_string());
        }
        errors.extend(
            report
                .failed
                .iter()
                .map(|f| format!("{} not sent: {}", f.table, f.error)),
        );
        errors.join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn queue_url_is_required() {
        let err = Config::from_env(&env(&[])).unwrap_err();
        assert!(err.to_string().contains(QUEUE_URL), "{err}");
    }

    #[test]
    fn defaults_and_bounds() {
        let url = "https://sqs.us-east-1.amazonaws.com/123456789012/events.fifo";
        let c = Config::from_env(&env(&[(QUEUE_URL, url)])).unwrap();
        assert_eq!(c.queue_url, url);
        assert_eq!(c.distribution, 1);
        assert_eq!(c.max_message_bytes, None);
        assert!(c.table_prefixes.is_empty());

        let c = Config::from_env(&env(&[
            (QUEUE_URL, url),
            (GROUP_DISTRIBUTION, "8"),
            (MAX_MESSAGE_BYTES, "65536"),
            (TABLE_PREFIXES, "s3://b/t1, s3://b/t2"),
        ]))
        .unwrap();
        assert_eq!(c.distribution, 8);
        assert_eq!(c.max_message_bytes, Some(65536));
        assert!(!c.table_prefixes.is_empty());

        for (key, value) in [
            (GROUP_DISTRIBUTION, "0"),
            (GROUP_DISTRIBUTION, "1001"),
            (GROUP_DISTRIBUTION, "many"),
            (MAX_MESSAGE_BYTES, "1023"),
            (MAX_MESSAGE_BYTES, "1048577"),
            (TABLE_PREFIXES, "b/t1"),
        ] {
            let err = Config::from_env(&env(&[(QUEUE_URL, url), (key, value)])).unwrap_err();
            assert!(err.to_string().contains(key), "{key}={value}: {err}");
        }
    }

    #[test]
    fn size_limits_follow_the_queue_and_the_override() {
        let d = DEFAULT_MAX_MESSAGE_BYTES;
        assert_eq!(size_limits(None, None), (d, d));
        assert_eq!(size_limits(Some(1 << 20), None), (1 << 20, 1 << 20));
        assert_eq!(size_limits(Some(1 << 20), Some(4096)), (4096, 1 << 20));
        assert_eq!(size_limits(Some(4096), Some(1 << 20)), (4096, 4096));
        assert_eq!(size_limits(None, Some(1 << 20)), (1 << 20, 1 << 20));
        assert_eq!(size_limits(None, Some(4096)), (4096, d));
    }
}
