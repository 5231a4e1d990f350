//! `meander dlq`: see why messages failed, and move them back safely.
//!
//! # Inspect
//!
//! Lists the messages of a dead-letter queue without deleting them (they
//! are hidden for `--hide` seconds while being read, as any receive does),
//! grouped by reason. The reason is what the function logged for the
//! message id when a log export is given (`--logs FILE`, e.g. the output of
//! `aws logs filter-log-events`); otherwise what decoding the body says: an
//! undecodable body names its error, a decodable one names the tables it
//! was for (the failure then happened while processing them).
//!
//! # Replay
//!
//! Moves messages back to the source queue: the one named by `--to`, or the
//! only source in the DLQ's redrive allow policy (or, without one, the only
//! queue `ListDeadLetterSourceQueues` names). Without `--max` or
//! `--filter`, SQS's own `StartMessageMoveTask` does it where the endpoint
//! supports it. Otherwise (and as a fallback) messages are received, sent to
//! the source in batches, and deleted from the DLQ **only after** the send
//! succeeded: a crash in between leaves the message in both queues, so a
//! replay duplicates at most and never loses. Duplicates are harmless: every
//! function is idempotent, so a message that had in fact succeeded, or is
//! delivered twice, changes no table. FIFO messages keep their message
//! group id and get a fresh deduplication id.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use serde_json::{json, Value};

use crate::CliError;

/// A test-only failpoint: `MEANDER_FAILPOINT=dlq-after-send` makes a replay
/// abort right after its first batch was sent and before it was deleted
/// from the DLQ, the worst place for a crash.
pub const FAILPOINT: &str = "MEANDER_FAILPOINT";

/// One DLQ message as `inspect` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspected {
    pub id: String,
    pub sent: Option<String>,
    pub receive_count: Option<u64>,
    pub size: usize,
    pub tables: Vec<String>,
    pub reason: String,
}

/// What a message body says about itself: tables it was for, or why it
/// cannot be decoded.
pub fn describe_body(body: &str) -> (Vec<String>, Option<String>) {
    match meander::events::decode_body(body) {
        Ok(n) => {
            let mut tables: Vec<String> = n
                .events
                .iter()
                .filter_map(|e| {
                    match meander::table::classify(
                        &e.bucket,
                        &e.key,
                        &meander::table::TablePrefixes::default(),
                    ) {
                        meander::table::KeyClass::Data(d) => Some(d.table.uri()),
                        meander::table::KeyClass::Commit { table, .. } => Some(table.uri()),
                        meander::table::KeyClass::Ignored(_) => None,
                    }
                })
                .collect();
            tables.sort();
            tables.dedup();
            (tables, None)
        }
        Err(e) => (Vec::new(), Some(format!("undecodable: {e}"))),
    }
}

/// The reason logged for `message_id`: the last log line naming it, with
/// the id itself and the level word trimmed.
pub fn reason_from_logs(logs: &str, message_id: &str) -> Option<String> {
    logs.lines()
        .rfind(|l| l.contains(message_id))
        .map(|l| l.trim().to_string())
}

/// Group messages by reason, largest group first.
pub fn group_by_reason(messages: &[Inspected]) -> Vec<(String, Vec<&Inspected>)> {
    let mut groups: BTreeMap<&str, Vec<&Inspected>> = BTreeMap::new();
    for m in messages {
        groups.entry(m.reason.as_str()).or_default().push(m);
    }
    let mut out: Vec<(String, Vec<&Inspected>)> = groups
        .into_iter()
        .map(|(r, v)| (r.to_string(), v))
        .collect();
    out.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    out
}

/// The source queue ARNs of a redrive allow policy.
pub fn sources_of_allow_policy(policy: &str) -> Vec<String> {
    serde_json::from_str::<Value>(policy)
        .ok()
        .and_then(|v| v.get("sourceQueueArns").cloned())
        .and_then(|a| serde_json::from_value::<Vec<String>>(a).ok())
        .unwrap_or_default()
}

/// `arn:aws:sqs:region:account:name` -> (account, name).
pub fn parse_queue_arn(arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", _, account, name] if !name.is_empty() => {
            Some((account.to_string(), name.to_string()))
        }
        _ => None,
    }
}

async fn client() -> aws_sdk_sqs::Client {
    meander_lambda::clients::sqs(&meander_lambda::clients::sdk_config().await)
}

async fn receive(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    max: i32,
    hide_secs: i32,
) -> Result<Vec<aws_sdk_sqs::types::Message>, CliError> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max.clamp(1, 10))
        .visibility_timeout(hide_secs)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot receive from {url}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?;
    Ok(out.messages.unwrap_or_default())
}

fn attr(m: &aws_sdk_sqs::types::Message, name: MessageSystemAttributeName) -> Option<String> {
    m.attributes().and_then(|a| a.get(&name)).cloned()
}

/// Read every visible DLQ message (hiding each for `hide_secs`).
pub async fn inspect(
    url: &str,
    logs: Option<&str>,
    hide_secs: i32,
) -> Result<Vec<Inspected>, CliError> {
    let sqs = client().await;
    let mut out = Vec::new();
    loop {
        let batch = receive(&sqs, url, 10, hide_secs.max(1)).await?;
        if batch.is_empty() {
            break;
        }
        for m in batch {
            let id = m.message_id().unwrap_or_default().to_string();
            let body = m.body().unwrap_or_default();
            let (tables, undecodable) = describe_body(body);
            let logged = logs.and_then(|l| reason_from_logs(l, &id));
            let reason = logged.or(undecodable).unwrap_or_else(|| {
                "decodes fine: failed while processing (see the function's log lines for this message id)"
                    .to_string()
            });
            out.push(Inspected {
                sent: attr(&m, MessageSystemAttributeName::SentTimestamp)
                    .and_then(|ms| ms.parse::<i64>().ok())
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.to_rfc3339()),
                receive_count: attr(&m, MessageSystemAttributeName::ApproximateReceiveCount)
                    .and_then(|c| c.parse().ok()),
                size: body.len(),
                tables,
                reason,
                id,
            });
        }
    }
    Ok(out)
}

pub async fn run_inspect(
    url: &str,
    logs: Option<&std::path::Path>,
    json_out: bool,
    hide: i32,
) -> Result<(), CliError> {
    let logs = match logs {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read log file {}: {e}", p.display()))?,
        ),
        None => None,
    };
    let messages = inspect(url, logs.as_deref(), hide).await?;
    let groups = group_by_reason(&messages);
    if json_out {
        let v: Vec<Value> = groups
            .iter()
            .map(|(reason, ms)| {
                json!({
                    "reason": reason,
                    "count": ms.len(),
                    "messages": ms.iter().map(|m| json!({
                        "id": m.id, "sent": m.sent, "receive_count": m.receive_count,
                        "size": m.size, "tables": m.tables,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("{} message(s) in {url}", messages.len());
    for (reason, ms) in groups {
        println!("\n{} x {reason}", ms.len());
        for m in ms {
            println!(
                "  {}  sent {}  received {}x  {} bytes  {}",
                m.id,
                m.sent.as_deref().unwrap_or("?"),
                m.receive_count
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "?".into()),
                m.size,
                if m.tables.is_empty() {
                    "-".to_string()
                } else {
                    m.tables.join(", ")
                }
            );
        }
    }
    Ok(())
}

/// The source queue URL: `--to`, or the only source of the allow policy.
async fn source_url(
    sqs: &aws_sdk_sqs::Client,
    dlq: &str,
    to: Option<&str>,
) -> Result<String, CliError> {
    if let Some(to) = to {
        return Ok(to.to_string());
    }
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(dlq)
        // `All`: some endpoints (moto) refuse the name RedriveAllowPolicy
        // but return the attribute among all of them.
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read {dlq}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?;
    let policy = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::RedriveAllowPolicy))
        .cloned()
        .unwrap_or_default();
    let sources = sources_of_allow_policy(&policy);
    if sources.is_empty() {
        // No allow policy (or an endpoint that does not keep it): ask SQS
        // which queues redrive into this one.
        let listed = sqs
            .list_dead_letter_source_queues()
            .queue_url(dlq)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "cannot list the source queues of {dlq}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?;
        return match listed.queue_urls() {
            [one] => Ok(one.clone()),
            many => Err(format!(
                "{dlq} has {} source queues; pass --to <source-url>",
                many.len()
            )
            .into()),
        };
    }
    let [arn] = sources.as_slice() else {
        return Err(format!(
            "{dlq}: its redrive allow policy names {} source queues; pass --to <source-url>",
            sources.len()
        )
        .into());
    };
    let (account, name) =
        parse_queue_arn(arn).ok_or_else(|| format!("{arn:?} is not an SQS queue ARN"))?;
    let out = sqs
        .get_queue_url()
        .queue_name(name)
        .queue_owner_aws_account_id(account)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot find the source queue {arn}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?;
    out.queue_url()
        .map(str::to_string)
        .ok_or_else(|| format!("no URL for {arn}").into())
}

/// Totals of a replay.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub moved: usize,
    pub skipped: usize,
    pub via_move_task: bool,
}

pub async fn replay(
    dlq: &str,
    to: Option<&str>,
    max: Option<usize>,
    filter: Option<&str>,
    hide_secs: i32,
) -> Result<Replayed, CliError> {
    let sqs = client().await;
    let target = source_url(&sqs, dlq, to).await?;
    let mut done = Replayed::default();

    // Whole-queue moves without a filter: let SQS do it, where it can.
    if max.is_none() && filter.is_none() && to.is_none() {
        let dlq_arn = queue_arn(&sqs, dlq).await?;
        if sqs
            .start_message_move_task()
            .source_arn(&dlq_arn)
            .send()
            .await
            .is_ok()
        {
            done.via_move_task = true;
            return Ok(done);
        }
    }

    let fifo = target.ends_with(".fifo");
    let crash_after_send = std::env::var(FAILPOINT).is_ok_and(|v| v == "dlq-after-send");
    let limit = max.unwrap_or(usize::MAX);
    while done.moved < limit {
        let want = (limit - done.moved).min(10) as i32;
        let batch = receive(&sqs, dlq, want, hide_secs.max(1)).await?;
        if batch.is_empty() {
            break;
        }
        let (chosen, others): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|m| filter.is_none_or(|f| m.body().unwrap_or_default().contains(f)));
        // Messages the filter leaves out become visible again at once.
        for m in &others {
            if let Some(h) = m.receipt_handle() {
                let _ = sqs
                    .change_message_visibility()
                    .queue_url(dlq)
                    .receipt_handle(h)
                    .visibility_timeout(0)
                    .send()
                    .await;
            }
            done.skipped += 1;
        }
        if chosen.is_empty() {
            if others.is_empty() {
                break;
            }
            continue;
        }
        let entries = chosen
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut e = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(m.body().unwrap_or_default())
                    .set_message_attributes(m.message_attributes().cloned());
                if fifo {
                    let group = attr(m, MessageSystemAttributeName::MessageGroupId)
                        .unwrap_or_else(|| "replay".to_string());
                    e = e.message_group_id(group).message_deduplication_id(format!(
                        "replay-{}-{}",
                        m.message_id().unwrap_or_default(),
                        chrono::Utc::now().timestamp_millis()
                    ));
                }
                e.build().map_err(|e| CliError::from(e.to_string()))
            })
            .collect::<Result<Vec<_>, CliError>>()?;
        let sent = sqs
            .send_message_batch()
            .queue_url(&target)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "cannot send to {target}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?;
        if crash_after_send {
            eprintln!("failpoint dlq-after-send: aborting after the send, before the delete");
            std::process::abort();
        }
        // Delete from the DLQ only what the source queue accepted.
        for ok in sent.successful() {
            let Some(m) = ok.id().parse::<usize>().ok().and_then(|i| chosen.get(i)) else {
                continue;
            };
            if let Some(h) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(dlq)
                    .receipt_handle(h)
                    .send()
                    .await
                    .map_err(|e| format!("sent but could not delete from {dlq} (it will be replayed again, harmlessly): {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            }
            done.moved += 1;
        }
        if let Some(f) = sent.failed().first() {
            return Err(format!(
                "{} message(s) could not be sent to {target}: {} {}",
                sent.failed().len(),
                f.code(),
                f.message().unwrap_or_default()
            )
            .into());
        }
    }
    Ok(done)
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, CliError> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read {url}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?;
    attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| format!("{url} has no QueueArn").into())
}

pub async fn run_replay(
    dlq: &str,
    to: Option<&str>,
    max: Option<usize>,
    filter: Option<&str>,
    hide: i32,
) -> Result<(), CliError> {
    let r = replay(dlq, to, max, filter, hide).await?;
    if r.via_move_task {
        println!("started an SQS message move task from {dlq} to its source queue");
    } else {
        println!(
            "moved {} message(s) back ({} left out by --filter)",
            r.moved, r.skipped
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_name_their_tables_or_their_decode_error() {
        let body = include_str!("../../meander/fixtures/events/s3_put.json");
        let (tables, err) = describe_body(body);
        assert_eq!(tables, ["s3://analytics-exports/exports/orders"]);
        assert_eq!(err, None);
        let (tables, err) = describe_body("not json");
        assert!(tables.is_empty());
        assert!(err.unwrap().starts_with("undecodable: body is not JSON"));
    }

    #[test]
    fn reasons_from_logs_and_grouping() {
        let logs = "INFO ok\nWARN message failed message_id=m1 reason=corrupt\nWARN message failed message_id=m2 reason=schema\n";
        assert_eq!(
            reason_from_logs(logs, "m1").as_deref(),
            Some("WARN message failed message_id=m1 reason=corrupt")
        );
        assert_eq!(reason_from_logs(logs, "m9"), None);
        let m = |id: &str, reason: &str| Inspected {
            id: id.into(),
            sent: None,
            receive_count: None,
            size: 1,
            tables: vec![],
            reason: reason.into(),
        };
        let all = [m("a", "x"), m("b", "y"), m("c", "y")];
        let g = group_by_reason(&all);
        assert_eq!(g[0].0, "y");
        assert_eq!(g[0].1.len(), 2);
        assert_eq!(g[1].0, "x");
    }

    #[test]
    fn allow_policies_and_arns() {
        let p = r#"{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:123456789012:events"]}"#;
        assert_eq!(
            sources_of_allow_policy(p),
            ["arn:aws:sqs:us-east-1:123456789012:events"]
        );
        assert!(sources_of_allow_policy("").is_empty());
        assert!(sources_of_allow_policy(r#"{"redrivePermission":"allowAll"}"#).is_empty());
        assert_eq!(
            parse_queue_arn("arn:aws:sqs:us-east-1:123456789012:events.fifo"),
            Some(("123456789012".into(), "events.fifo".into()))
        );
        assert_eq!(parse_queue_arn("arn:aws:s3:::bucket"), None);
    }
}
