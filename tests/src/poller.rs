//! An SQS poller that behaves like Lambda's SQS event source mapping with
//! `ReportBatchItemFailures`: receive a batch, invoke the function with the
//! Lambda SQS event, delete the messages that succeeded, and leave the
//! reported failures to come back after the visibility timeout — and, after
//! `maxReceiveCount` receives, to move to the dead-letter queue (moto does
//! the move on the next receive, as SQS does).
//!
//! A function error, crash or timeout fails the whole batch: nothing is
//! deleted. So does a malformed partial batch response (not a list, an item
//! without `itemIdentifier`, or an identifier not in the batch), as in Lambda.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
};
use serde_json::{json, Map, Value};

use crate::aws::Queue;
use crate::error::{context, Error, Result};
use crate::moto::REGION;
use crate::runtime::{FunctionProcess, InvokeOutcome};
use crate::streams::base64;

/// Polls one queue for one function.
#[derive(Debug, Clone)]
pub struct SqsPoller {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    /// Messages per invocation (Lambda's `BatchSize`); more than 10 takes
    /// several receives.
    pub batch_size: usize,
    /// Long-poll wait of the first receive of a batch, in seconds.
    pub wait_time_secs: i32,
    /// How long one invocation may take before it counts as timed out.
    pub invoke_timeout: Duration,
    /// Lambda's `FunctionResponseTypes: [ReportBatchItemFailures]`; when
    /// false, a response means the whole batch succeeded.
    pub report_batch_item_failures: bool,
}

/// What one receive-invoke-delete round did.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    pub received: usize,
    pub deleted: usize,
    /// Message ids left on the queue (reported failures, or the whole batch
    /// on an invocation failure).
    pub failed: Vec<String>,
    /// `None` when nothing was received (no invocation).
    pub outcome: Option<InvokeOutcome>,
}

/// Totals of a [`SqsPoller::drain`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrainStats {
    pub rounds: usize,
    pub invocations: usize,
    pub messages_received: usize,
    pub messages_deleted: usize,
    /// Items listed in `batchItemFailures`, summed over invocations.
    pub failures_reported: usize,
    /// Invocations answered on `/error` (or with a malformed response).
    pub invocation_errors: usize,
}

/// How long a drain may go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainOptions {
    pub max_rounds: usize,
    /// A guard against a queue that never empties, not a performance check.
    pub max_time: Duration,
}

impl Default for DrainOptions {
    fn default() -> Self {
        DrainOptions {
            max_rounds: 200,
            max_time: Duration::from_secs(180),
        }
    }
}

impl SqsPoller {
    /// A poller for `queue`: batch size 10, 1 s long poll, 120 s invoke
    /// timeout, partial batch responses on.
    pub fn new(sqs: &aws_sdk_sqs::Client, queue: &Queue) -> Self {
        Self::from_parts(sqs, &queue.url, &queue.arn)
    }

    pub fn from_parts(sqs: &aws_sdk_sqs::Client, queue_url: &str, queue_arn: &str) -> Self {
        SqsPoller {
            sqs: sqs.clone(),
            queue_url: queue_url.to_string(),
            queue_arn: queue_arn.to_string(),
            batch_size: 10,
            wait_time_secs: 1,
            invoke_timeout: Duration::from_secs(120),
            report_batch_item_failures: true,
        }
    }

    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Receive up to `batch_size` messages, with every system attribute and
    /// message attribute, as Lambda does.
    pub async fn receive_batch(&self) -> Result<Vec<Message>> {
        let mut batch = Vec::new();
        while batch.len() < self.batch_size {
            let want = (self.batch_size - batch.len()).min(10);
            let wait = if batch.is_empty() {
                self.wait_time_secs
            } else {
                0
            };
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(i32::try_from(want).unwrap_or(10))
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(context(format!("receive from {}", self.queue_url)))?;
            let got = out.messages().to_vec();
            if got.is_empty() {
                break;
            }
            batch.extend(got);
        }
        Ok(batch)
    }

    /// The Lambda SQS event for `messages`.
    pub fn lambda_event(&self, messages: &[Message]) -> Value {
        sqs_event(&self.queue_arn, messages)
    }

    /// One round: receive a batch, invoke, delete what succeeded.
    pub async fn poll_once(&self, function: &mut FunctionProcess) -> Result<Round> {
        let messages = self.receive_batch().await?;
        if messages.is_empty() {
            return Ok(Round {
                received: 0,
                deleted: 0,
                failed: Vec::new(),
                outcome: None,
            });
        }
        let ids: Vec<String> = messages
            .iter()
            .map(|m| m.message_id().unwrap_or_default().to_string())
            .collect();
        let outcome = function
            .invoke(self.lambda_event(&messages), self.invoke_timeout)
            .await?;
        let failed: HashSet<String> = match &outcome {
            InvokeOutcome::Response(v) if self.report_batch_item_failures => {
                match batch_item_failures(v) {
                    Ok(f) if f.iter().all(|id| ids.contains(id)) => f.into_iter().collect(),
                    _ => ids.iter().cloned().collect(),
                }
            }
            InvokeOutcome::Response(_) => HashSet::new(),
            _ => ids.iter().cloned().collect(),
        };
        let succeeded: Vec<&Message> = messages
            .iter()
            .filter(|m| !failed.contains(m.message_id().unwrap_or_default()))
            .collect();
        let deleted = self.delete(&succeeded).await?;
        Ok(Round {
            received: messages.len(),
            deleted,
            failed: ids.into_iter().filter(|id| failed.contains(id)).collect(),
            outcome: Some(outcome),
        })
    }

    /// Poll until the queue has no message left, visible or in flight.
    /// Reported failures come back after the visibility timeout until they
    /// move to the DLQ. A crash, init error or timeout of the function stops
    /// the drain with an error (it carries the logs); so does reaching
    /// `max_rounds` or `max_time`.
    pub async fn drain(
        &self,
        function: &mut FunctionProcess,
        options: &DrainOptions,
    ) -> Result<DrainStats> {
        let started = Instant::now();
        let mut stats = DrainStats::default();
        while stats.rounds < options.max_rounds && started.elapsed() < options.max_time {
            stats.rounds += 1;
            let round = self.poll_once(function).await?;
            stats.messages_received += round.received;
            stats.messages_deleted += round.deleted;
            match &round.outcome {
                None => {
                    let (visible, in_flight) = self.depth().await?;
                    if visible == 0 && in_flight == 0 {
                        return Ok(stats);
                    }
                }
                Some(outcome) => {
                    stats.invocations += 1;
                    match outcome {
                        InvokeOutcome::Response(v) => match batch_item_failures(v) {
                            Ok(f) => stats.failures_reported += f.len(),
                            Err(_) => stats.invocation_errors += 1,
                        },
                        InvokeOutcome::Error(_) => stats.invocation_errors += 1,
                        other => {
                            return Err(Error::new(format!(
                                "drain of {} stopped: {} {}",
                                self.queue_url,
                                function.name(),
                                other.describe()
                            )))
                        }
                    }
                }
            }
        }
        let (visible, in_flight) = self.depth().await?;
        Err(Error::new(format!(
            "{} not drained after {} rounds in {:?}: {visible} visible, {in_flight} in flight; {stats:?}",
            self.queue_url,
            stats.rounds,
            started.elapsed()
        )))
    }

    async fn depth(&self) -> Result<(u64, u64)> {
        queue_depth(&self.sqs, &self.queue_url).await
    }

    async fn delete(&self, messages: &[&Message]) -> Result<usize> {
        let mut deleted = 0;
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .build()
                        .map_err(context("build DeleteMessageBatchRequestEntry"))
                })
                .collect::<Result<Vec<_>>>()?;
            let out = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(context(format!("delete from {}", self.queue_url)))?;
            // An expired receipt handle means the visibility timeout ran out
            // while the function worked: the message was (or will be)
            // received again, as on AWS, and processed again idempotently.
            // Any other failure is a bed error.
            let (stale, other): (Vec<_>, Vec<_>) = out
                .failed()
                .iter()
                .partition(|f| f.code() == "ReceiptHandleIsInvalid");
            if !other.is_empty() {
                return Err(Error::new(format!(
                    "delete from {} failed for {:?}",
                    self.queue_url, other
                )));
            }
            if !stale.is_empty() {
                eprintln!(
                    "poller: {} message(s) of {} outlived their visibility timeout and will be redelivered",
                    stale.len(),
                    self.queue_url
                );
            }
            deleted += out.successful().len();
        }
        Ok(deleted)
    }
}

/// The ids listed in a partial batch response. No response, `null`, no
/// `batchItemFailures` or an empty list mean success (`Ok(vec![])`); a
/// malformed response is an `Err` (Lambda then fails the whole batch).
pub fn batch_item_failures(response: &Value) -> std::result::Result<Vec<String>, String> {
    let list = match response {
        Value::Null => return Ok(Vec::new()),
        Value::Object(o) => match o.get("batchItemFailures") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(a)) => a,
            Some(other) => return Err(format!("batchItemFailures is not a list: {other}")),
        },
        // Any other payload is a plain response: everything succeeded.
        _ => return Ok(Vec::new()),
    };
    list.iter()
        .map(|item| match item.get("itemIdentifier") {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(format!("invalid batch item failure {item}")),
        })
        .collect()
}

/// The Lambda SQS event for `messages` received from the queue `queue_arn`.
pub fn sqs_event(queue_arn: &str, messages: &[Message]) -> Value {
    let records: Vec<Value> = messages.iter().map(|m| sqs_record(queue_arn, m)).collect();
    json!({ "Records": records })
}

fn sqs_record(queue_arn: &str, m: &Message) -> Value {
    let attributes: Map<String, Value> = m
        .attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.as_str().to_string(), Value::String(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let message_attributes: Map<String, Value> = m
        .message_attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.clone(), message_attribute(v)))
                .collect()
        })
        .unwrap_or_default();
    let mut record = json!({
        "messageId": m.message_id(),
        "receiptHandle": m.receipt_handle(),
        "body": m.body().unwrap_or_default(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": m.md5_of_body(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    });
    if let (Some(md5), Some(obj)) = (m.md5_of_message_attributes(), record.as_object_mut()) {
        obj.insert(
            "md5OfMessageAttributes".into(),
            Value::String(md5.to_string()),
        );
    }
    record
}

/// A message attribute as Lambda writes it (camelCase, base64 binaries).
fn message_attribute(v: &MessageAttributeValue) -> Value {
    let mut out = Map::new();
    if let Some(s) = v.string_value() {
        out.insert("stringValue".into(), Value::String(s.to_string()));
    }
    if let Some(b) = v.binary_value() {
        out.insert("binaryValue".into(), Value::String(base64(b.as_ref())));
    }
    out.insert(
        "stringListValues".into(),
        json!(v.string_list_values().to_vec()),
    );
    out.insert(
        "binaryListValues".into(),
        Value::Array(
            v.binary_list_values()
                .iter()
                .map(|b| Value::String(base64(b.as_ref())))
                .collect(),
        ),
    );
    out.insert("dataType".into(), json!(v.data_type()));
    Value::Object(out)
}

/// `(visible, in flight)` message counts of the queue at `queue_url`.
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<(u64, u64)> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(context(format!("get message counts of {queue_url}")))?;
    let get = |name: A| -> u64 {
        out.attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((
        get(A::ApproximateNumberOfMessages),
        get(A::ApproximateNumberOfMessagesNotVisible),
    ))
}

/// Every message now visible on `queue_url` (e.g. a DLQ), without deleting
/// them: each is hidden for `hide_for` so a receive does not return it twice.
/// Stops at the first empty receive after a 1 s long poll.
pub async fn peek_messages(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    hide_for: Duration,
) -> Result<Vec<Message>> {
    let mut all = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(i32::try_from(hide_for.as_secs()).unwrap_or(60).max(1))
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(context(format!("receive from {queue_url}")))?;
        let got = out.messages().to_vec();
        if got.is_empty() {
            return Ok(all);
        }
        all.extend(got);
    }
}

/// The bodies of every message now visible on `queue_url`, sorted (see
/// [`peek_messages`]).
pub async fn message_bodies(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<Vec<String>> {
    let mut bodies: Vec<String> = peek_messages(sqs, queue_url, Duration::from_secs(60))
        .await?
        .iter()
        .map(|m| m.body().unwrap_or_default().to_string())
        .collect();
    bodies.sort();
    Ok(bodies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_batch_responses_parse_like_lambda() {
        assert_eq!(batch_item_failures(&Value::Null), Ok(vec![]));
        assert_eq!(batch_item_failures(&json!({})), Ok(vec![]));
        assert_eq!(
            batch_item_failures(&json!({"batchItemFailures": []})),
            Ok(vec![])
        );
        assert_eq!(
            batch_item_failures(&json!({"batchItemFailures": [{"itemIdentifier": "a"}]})),
            Ok(vec!["a".to_string()])
        );
        assert!(
            batch_item_failures(&json!({"batchItemFailures": [{"itemIdentifier": ""}]})).is_err()
        );
        assert!(batch_item_failures(&json!({"batchItemFailures": [{}]})).is_err());
        assert!(batch_item_failures(&json!({"batchItemFailures": "a"})).is_err());
    }

    #[test]
    fn records_look_like_lambdas() {
        let m = Message::builder()
            .message_id("m1")
            .receipt_handle("rh")
            .body("hello")
            .md5_of_body("5d41402abc4b2a76b9719d911017c592")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "1")
            .message_attributes(
                "k",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("v")
                    .build()
                    .expect("attribute"),
            )
            .build();
        let e = sqs_event("arn:aws:sqs:us-east-1:123456789012:q", &[m]);
        let r = &e["Records"][0];
        assert_eq!(r["messageId"], "m1");
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(r["eventSourceARN"], "arn:aws:sqs:us-east-1:123456789012:q");
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "1");
        assert_eq!(
            r["messageAttributes"]["k"],
            json!({"stringValue": "v", "stringListValues": [], "binaryListValues": [], "dataType": "String"})
        );
        assert!(r.get("md5OfMessageAttributes").is_none());
    }
}
