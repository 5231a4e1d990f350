//! Regrouping S3 object events per table for an SQS FIFO queue
//! (the `group-events` function).
//!
//! Hundreds of Lambdas committing to one Delta table fight over its log. So
//! the events are regrouped first: every event is assigned to its table root
//! (as oxbow would, with [`classify`] and the same `TABLE_PREFIXES`), and each
//! table's events travel on the FIFO queue in **one message group**, which
//! SQS hands to one consumer at a time.
//!
//! # What is sent
//!
//! Each message body is an S3 notification, `{"Records":[...]}`, holding
//! records of one table only, so oxbow consumes it unchanged. The records are
//! **rebuilt** from the decoded events, not copied: a minimal S3 record
//! (`eventVersion`, `eventSource`, `eventTime`, `eventName`, bucket name and
//! ARN, the key form-URL-encoded as S3 encodes it, `size`, `sequencer`). This
//! accepts every envelope the decoder does (SNS, EventBridge, S3-compatible
//! stores) and sends one shape; it drops what oxbow never reads
//! (`userIdentity`, `requestParameters`, `eTag`...), which keeps messages
//! small; and identical events give identical bytes, which content-based
//! deduplication needs. EventBridge's "Object Created"/"Object Deleted"
//! become `ObjectCreated:Put`/`ObjectRemoved:Delete`. Identical records of
//! one invocation (S3's duplicate deliveries) are sent once.
//!
//! # Groups and deduplication
//!
//! - `MessageGroupId` = the first 32 hex digits of SHA-256 of the table URI,
//!   plus `-<i>` when a table is spread over N groups (`GROUP_DISTRIBUTION`),
//!   where `i` = SHA-256 of `bucket/key` modulo N: a redelivered event lands
//!   in the same group. SHA-256 does not change between Rust versions, as
//!   std's `DefaultHasher` may.
//! - `MessageDeduplicationId` = SHA-256 of group id and body: a redelivered
//!   source batch that regroups to the same messages is dropped by SQS
//!   within its 5-minute window. A redelivery that regroups differently is
//!   sent again and made harmless by oxbow, which never adds a file twice.
//!
//! # Size limits
//!
//! A message's body stays within the maximum message size (the queue's, or
//! a smaller one configured); a table with more records is split across
//! messages of its group. Messages are packed into `SendMessageBatch` calls
//! of at most [`MAX_BATCH_ENTRIES`] whose bodies add up to at most the
//! queue's maximum message size (SQS caps a batch's payload too). A single record too large for any message (only
//! possible with a very small limit) fails its source messages.
//!
//! # Sending
//!
//! [`send_batches`] sends the batches one after another through a caller's
//! send function, checks every entry of every reply (an entry in neither
//! `Successful` nor `Failed` counts as failed), and retries failed entries —
//! or the whole call, when it errs — with exponential backoff and full
//! jitter. What still failed is returned with the source messages it
//! carried.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use chrono::SecondsFormat;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::commit::RetryPolicy;
use crate::events::{ObjectEvent, ObjectEventKind};
use crate::table::{classify, KeyClass, TablePrefixes, TableRoot};

/// A queue's maximum message size when it cannot be read: 256 KiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// The smallest maximum message size SQS allows (1 KiB).
pub const MIN_MESSAGE_BYTES: usize = 1024;
/// The largest maximum message size SQS allows (1 MiB).
pub const SQS_MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Entries in one `SendMessageBatch` call.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// The largest `GROUP_DISTRIBUTION` accepted.
pub const MAX_DISTRIBUTION: u32 = 1000;

/// `{"Records":[` and `]}`.
const BODY_OVERHEAD: usize = r#"{"Records":[]}"#.len();

/// How events are grouped and messages sized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// As oxbow's `TABLE_PREFIXES`; empty: the root is inferred from the path.
    pub table_prefixes: TablePrefixes,
    /// Message groups per table (1: one group per table).
    pub distribution: u32,
    /// Largest message body.
    pub max_message_bytes: usize,
    /// Largest sum of the bodies of one `SendMessageBatch` call: the queue's
    /// maximum message size (never below `max_message_bytes`).
    pub max_batch_bytes: usize,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            table_prefixes: TablePrefixes::default(),
            distribution: 1,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_batch_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

/// The retry policy of `SendMessageBatch`: 5 attempts, backoff ceilings of
/// 50 ms doubling to 1 s (on top of the SDK's own retries of failed calls).
pub fn default_send_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(1),
    }
}

/// One message group: a table, and the distribution bucket when the table
/// is spread over several groups.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    pub table: TableRoot,
    pub bucket: Option<u32>,
}

impl GroupKey {
    /// The `MessageGroupId`: 32 hex digits of SHA-256 of the table URI,
    /// then `-<bucket>` for a distributed table.
    pub fn group_id(&self) -> String {
        let mut id = hex(&Sha256::digest(self.table.uri().as_bytes())[..16]);
        if let Some(b) = self.bucket {
            id.push('-');
            id.push_str(&b.to_string());
        }
        id
    }
}

/// The distribution bucket of an object: SHA-256 of `bucket/key`, modulo
/// `n` (0 when `n` is 0 or 1). The same object always gets the same bucket.
pub fn distribution_bucket(bucket: &str, key: &str, n: u32) -> u32 {
    if n <= 1 {
        return 0;
    }
    let digest = Sha256::new()
        .chain_update(bucket.as_bytes())
        .chain_update(b"/")
        .chain_update(key.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    for (dst, src) in first.iter_mut().zip(digest.iter()) {
        *dst = *src;
    }
    (u64::from_be_bytes(first) % u64::from(n)) as u32
}

/// The `MessageDeduplicationId` of a message: 64 hex digits of SHA-256 of
/// the group id and the body.
pub fn deduplication_id(group_id: &str, body: &str) -> String {
    let digest = Sha256::new()
        .chain_update(group_id.as_bytes())
        .chain_update(b"\n")
        .chain_update(body.as_bytes())
        .finalize();
    hex(&digest)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// What S3 leaves as it is in an event key: letters, digits, `-_.*` (form
/// URL encoding) and `/` and `=`, as S3 shows them. A space becomes `+`.
const S3_EVENT_KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'*')
    .remove(b'/')
    .remove(b'=');

/// Encode a decoded key as S3 does in event notifications (form URL
/// encoding: `+` for a space, `%XX` for other special bytes).
/// [`crate::events::decode_key`] turns it back into the same key.
pub fn encode_event_key(key: &str) -> String {
    // '%' itself is encoded as %25, so every %20 here stands for a space.
    utf8_percent_encode(key, S3_EVENT_KEY)
        .to_string()
        .replace("%20", "+")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct S3Record<'a> {
    event_version: &'static str,
    event_source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_time: Option<String>,
    event_name: &'a str,
    s3: S3Entity<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct S3Entity<'a> {
    s3_schema_version: &'static str,
    bucket: S3Bucket<'a>,
    object: S3Object<'a>,
}

#[derive(Serialize)]
struct S3Bucket<'a> {
    name: &'a str,
    arn: String,
}

#[derive(Serialize)]
struct S3Object<'a> {
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequencer: Option<&'a str>,
}

/// Printable ASCII only: what is copied from an event into a body, so
/// every body is ASCII and SQS never refuses a character of it (which
/// would fail the whole call, other tables' messages included).
fn plain_ascii(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

/// The S3 event name a rebuilt record carries: the event's own when it is
/// an S3 one (a `s3:` prefix dropped), else one for its kind.
fn s3_event_name(e: &ObjectEvent) -> &str {
    let bare = e.event_name.strip_prefix("s3:").unwrap_or(&e.event_name);
    let is_s3 = plain_ascii(bare)
        && ["ObjectCreated:", "ObjectRemoved:", "LifecycleExpiration:"]
            .iter()
            .any(|p| bare.starts_with(p));
    match (is_s3, e.kind) {
        (true, _) => bare,
        (false, ObjectEventKind::Created) => "ObjectCreated:Put",
        (false, ObjectEventKind::Removed) => "ObjectRemoved:Delete",
    }
}

/// The S3 notification record (JSON text) standing for `e`; always ASCII.
pub fn s3_record_json(e: &ObjectEvent) -> Result<String, serde_json::Error> {
    let record = S3Record {
        event_version: "2.1",
        event_source: "aws:s3",
        event_time: e
            .event_time
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        event_name: s3_event_name(e),
        s3: S3Entity {
            s3_schema_version: "1.0",
            bucket: S3Bucket {
                name: &e.bucket,
                arn: format!("arn:aws:s3:::{}", e.bucket),
            },
            object: S3Object {
                key: encode_event_key(&e.key),
                size: e.size,
                sequencer: e.sequencer.as_deref().filter(|s| plain_ascii(s)),
            },
        },
    };
    serde_json::to_string(&record)
}

/// One record to send, and the source messages it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupedRecord {
    /// The S3 record, JSON text.
    pub json: String,
    /// SQS message ids (empty for a direct invocation).
    pub sources: Vec<String>,
}

/// Events sorted into message groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grouping {
    /// Records per group, in the order their events came.
    pub groups: BTreeMap<GroupKey, Vec<GroupedRecord>>,
    /// Records grouped (after merging duplicates).
    pub records: usize,
    /// Events identical to an earlier one, merged into it.
    pub duplicates: usize,
    /// Events that are no table's data file (other files, `_delta_log/`,
    /// outside `TABLE_PREFIXES`): oxbow would ignore them, so they are not sent.
    pub ignored: usize,
    /// Source messages of events whose record could not be encoded.
    pub unencodable: Vec<String>,
}

impl Grouping {
    /// Distinct tables.
    pub fn tables(&self) -> usize {
        self.groups
            .keys()
            .map(|k| &k.table)
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// Sort `events` into message groups: by table root, then by distribution
/// bucket when `distribution` > 1.
pub fn group_by_table(
    events: &[ObjectEvent],
    prefixes: &TablePrefixes,
    distribution: u32,
) -> Grouping {
    let mut out = Grouping::default();
    // record JSON -> (group, index in the group), to merge duplicates.
    let mut seen: HashMap<String, (GroupKey, usize)> = HashMap::new();
    for e in events {
        let table = match classify(&e.bucket, &e.key, prefixes) {
            KeyClass::Data(file) => file.table,
            KeyClass::Commit { .. } | KeyClass::Ignored(_) => {
                tracing::debug!(object = %e.url(), "not a table data file; not sent");
                out.ignored += 1;
                continue;
            }
        };
        let json = match s3_record_json(e) {
            Ok(j) => j,
            Err(err) => {
                tracing::warn!(object = %e.url(), error = %err, "record could not be encoded");
                out.unencodable.extend(e.message_id.clone());
                continue;
            }
        };
        if let Some((key, i)) = seen.get(&json) {
            if let Some(r) = out.groups.get_mut(key).and_then(|g| g.get_mut(*i)) {
                if let Some(m) = &e.message_id {
                    if !r.sources.contains(m) {
                        r.sources.push(m.clone());
                    }
                }
                out.duplicates += 1;
                continue;
            }
        }
        let bucket =
            (distribution > 1).then(|| distribution_bucket(&e.bucket, &e.key, distribution));
        let key = GroupKey { table, bucket };
        let group = out.groups.entry(key.clone()).or_default();
        seen.insert(json.clone(), (key, group.len()));
        group.push(GroupedRecord {
            json,
            sources: e.message_id.iter().cloned().collect(),
        });
        out.records += 1;
    }
    out
}

/// One message to send to the FIFO queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutMessage {
    pub table: TableRoot,
    pub group_id: String,
    pub deduplication_id: String,
    /// `{"Records":[...]}`.
    pub body: String,
    /// Records in the body.
    pub records: usize,
    /// Source message ids of its records, sorted, each once.
    pub sources: Vec<String>,
}

/// A record larger than any message may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversize {
    pub table: TableRoot,
    /// The smallest body that would hold it.
    pub bytes: usize,
    pub sources: Vec<String>,
}

/// Split one group's records into messages of at most `max_bytes` each, in
/// order. Records that fit no message are returned apart.
pub fn chunk_group(
    key: &GroupKey,
    records: Vec<GroupedRecord>,
    max_bytes: usize,
) -> (Vec<OutMessage>, Vec<Oversize>) {
    let group_id = key.group_id();
    let mut messages = Vec::new();
    let mut oversize = Vec::new();
    let mut current: Vec<GroupedRecord> = Vec::new();
    let mut current_len = BODY_OVERHEAD;
    for r in records {
        let alone = BODY_OVERHEAD + r.json.len();
        if alone > max_bytes {
            oversize.push(Oversize {
                table: key.table.clone(),
                bytes: alone,
                sources: r.sources,
            });
            continue;
        }
        if !current.is_empty() && current_len + 1 + r.json.len() > max_bytes {
            messages.push(message_of(
                key,
                &group_id,
                std::mem::take(&mut current),
                current_len,
            ));
            current_len = BODY_OVERHEAD;
        }
        if !current.is_empty() {
            current_len += 1;
        }
        current_len += r.json.len();
        current.push(r);
    }
    if !current.is_empty() {
        messages.push(message_of(key, &group_id, current, current_len));
    }
    (messages, oversize)
}

fn message_of(
    key: &GroupKey,
    group_id: &str,
    records: Vec<GroupedRecord>,
    len: usize,
) -> OutMessage {
    let mut body = String::with_capacity(len);
    body.push_str(r#"{"Records":["#);
    let mut sources = BTreeSet::new();
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&r.json);
        sources.extend(r.sources.iter().cloned());
    }
    body.push_str("]}");
    OutMessage {
        table: key.table.clone(),
        group_id: group_id.to_string(),
        deduplication_id: deduplication_id(group_id, &body),
        body,
        records: records.len(),
        sources: sources.into_iter().collect(),
    }
}

/// Pack messages, in order, into `SendMessageBatch` calls of at most
/// [`MAX_BATCH_ENTRIES`] whose bodies add up to at most `max_bytes`.
pub fn batch_messages(messages: Vec<OutMessage>, max_bytes: usize) -> Vec<Vec<OutMessage>> {
    let mut batches = Vec::new();
    let mut current: Vec<OutMessage> = Vec::new();
    let mut total = 0usize;
    for m in messages {
        if !current.is_empty()
            && (current.len() >= MAX_BATCH_ENTRIES || total + m.body.len() > max_bytes)
        {
            batches.push(std::mem::take(&mut current));
            total = 0;
        }
        total += m.body.len();
        current.push(m);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// Everything one invocation will send, and what it will not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub batches: Vec<Vec<OutMessage>>,
    /// Records too large for any message.
    pub oversize: Vec<Oversize>,
    /// Source messages of events whose record could not be encoded.
    pub unencodable: Vec<String>,
    pub tables: usize,
    pub groups: usize,
    pub records: usize,
    pub duplicates: usize,
    pub ignored: usize,
}

impl Plan {
    /// Messages to send.
    pub fn messages(&self) -> usize {
        self.batches.iter().map(Vec::len).sum()
    }

    /// Source messages whose records cannot be sent at all.
    pub fn unsendable_sources(&self) -> impl Iterator<Item = &String> {
        self.oversize
            .iter()
            .flat_map(|o| o.sources.iter())
            .chain(self.unencodable.iter())
    }

    /// Whether some record cannot be sent.
    pub fn any_unsendable(&self) -> bool {
        !self.oversize.is_empty() || !self.unencodable.is_empty()
    }
}

/// Group `events` by table and cut the groups into messages and batches.
pub fn plan(events: &[ObjectEvent], config: &GroupConfig) -> Plan {
    let max = config.max_message_bytes;
    let batch_max = config.max_batch_bytes.max(max);
    let grouping = group_by_table(events, &config.table_prefixes, config.distribution);
    let mut plan = Plan {
        tables: grouping.tables(),
        groups: grouping.groups.len(),
        records: grouping.records,
        duplicates: grouping.duplicates,
        ignored: grouping.ignored,
        unencodable: grouping.unencodable,
        ..Plan::default()
    };
    let mut messages = Vec::new();
    for (key, records) in grouping.groups {
        let (m, o) = chunk_group(&key, records, max);
        messages.extend(m);
        plan.oversize.extend(o);
    }
    plan.batches = batch_messages(messages, batch_max);
    plan
}

/// One entry of a `SendMessageBatch` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEntry {
    /// Unique within the call (`0`..`9`).
    pub id: String,
    pub group_id: String,
    pub deduplication_id: String,
    pub body: String,
}

/// A failed entry of a `SendMessageBatch` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFailure {
    pub id: String,
    pub code: String,
    pub message: String,
    pub sender_fault: bool,
}

/// A `SendMessageBatch` reply: the ids of the entries sent, and the failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReply {
    pub successful: Vec<String>,
    pub failed: Vec<EntryFailure>,
}

/// A message that could not be sent after every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedMessage {
    pub table: TableRoot,
    pub group_id: String,
    pub records: usize,
    pub sources: Vec<String>,
    /// The last error.
    pub error: String,
}

/// What [`send_batches`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    pub messages_sent: usize,
    pub records_sent: usize,
    /// `SendMessageBatch` calls made, retries included.
    pub calls: usize,
    /// Entries sent again after a failure.
    pub retried_entries: usize,
    pub failed: Vec<FailedMessage>,
}

impl SendReport {
    /// Source messages with a record in a message that failed.
    pub fn failed_sources(&self) -> impl Iterator<Item = &String> {
        self.failed.iter().flat_map(|f| f.sources.iter())
    }
}

/// Send `batches` one after another with `send` (one `SendMessageBatch`
/// call), retrying failed entries and failed calls as `policy` says.
///
/// Every entry of every reply is checked: one listed as failed, or in
/// neither list, is sent again (with the same deduplication id, so an entry
/// SQS did take is not duplicated). A call that errs is retried whole.
pub async fn send_batches<F, Fut>(
    batches: Vec<Vec<OutMessage>>,
    policy: &RetryPolicy,
    mut send: F,
) -> SendReport
where
    F: FnMut(Vec<BatchEntry>) -> Fut,
    Fut: Future<Output = Result<BatchReply, String>>,
{
    let mut report = SendReport::default();
    let attempts = policy.max_attempts.max(1);
    for batch in batches {
        let mut pending: Vec<(OutMessage, String)> =
            batch.into_iter().map(|m| (m, String::new())).collect();
        for attempt in 1..=attempts {
            if pending.is_empty() {
                break;
            }
            if attempt > 1 {
                report.retried_entries += pending.len();
                tokio::time::sleep(policy.delay(attempt - 1)).await;
            }
            let entries = pending
                .iter()
                .enumerate()
                .map(|(i, (m, _))| BatchEntry {
                    id: i.to_string(),
                    group_id: m.group_id.clone(),
                    deduplication_id: m.deduplication_id.clone(),
                    body: m.body.clone(),
                })
                .collect();
            report.calls += 1;
            let reply = match send(entries).await {
                Ok(reply) => reply,
                Err(e) => {
                    tracing::warn!(attempt, entries = pending.len(), error = %e, "SendMessageBatch failed");
                    for (_, error) in &mut pending {
                        error.clone_from(&e);
                    }
                    continue;
                }
            };
            let ok: HashSet<&str> = reply.successful.iter().map(String::as_str).collect();
            let failed: HashMap<&str, &EntryFailure> =
                reply.failed.iter().map(|f| (f.id.as_str(), f)).collect();
            let mut still = Vec::new();
            for (i, (m, _)) in pending.into_iter().enumerate() {
                let id = i.to_string();
                if let Some(f) = failed.get(id.as_str()) {
                    let error = format!(
                        "{}: {}{}",
                        f.code,
                        f.message,
                        if f.sender_fault {
                            " (sender fault)"
                        } else {
                            ""
                        }
                    );
                    tracing::warn!(attempt, group_id = %m.group_id, error = %error, "entry not sent");
                    still.push((m, error));
                } else if ok.contains(id.as_str()) {
                    report.messages_sent += 1;
                    report.records_sent += m.records;
                } else {
                    let error = "entry missing from the SendMessageBatch reply".to_string();
                    tracing::warn!(attempt, group_id = %m.group_id, error = %error, "entry not sent");
                    still.push((m, error));
                }
            }
            pending = still;
        }
        for (m, error) in pending {
            report.failed.push(FailedMessage {
                table: m.table,
                group_id: m.group_id,
                records: m.records,
                sources: m.sources,
                error,
            });
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{decode_body, decode_key};
    use serde_json::Value;

    fn event(bucket: &str, key: &str, message: &str) -> ObjectEvent {
        ObjectEvent {
            bucket: bucket.to_string(),
            key: key.to_string(),
            size: Some(1234),
            kind: ObjectEventKind::Created,
            event_name: "ObjectCreated:Put".to_string(),
            event_time: chrono::DateTime::parse_from_rfc3339("2026-11-02T10:15:30.123Z")
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc)),
            sequencer: Some("0055AED6DCD90281E5".to_string()),
            message_id: Some(message.to_string()),
        }
    }

    fn config(max: usize) -> GroupConfig {
        GroupConfig {
            max_message_bytes: max,
            max_batch_bytes: max,
            ..GroupConfig::default()
        }
    }

    /// Decode every message body of a plan as oxbow would, checking sizes.
    fn decode_plan(plan: &Plan, max: usize) -> Vec<(String, TableRoot, Vec<ObjectEvent>)> {
        let mut out = Vec::new();
        for batch in &plan.batches {
            assert!(!batch.is_empty() && batch.len() <= MAX_BATCH_ENTRIES);
            let total: usize = batch.iter().map(|m| m.body.len()).sum();
            assert!(total <= max, "batch of {total} bytes over {max}");
            for m in batch {
                assert!(m.body.len() <= max, "message of {} bytes", m.body.len());
                let n = decode_body(&m.body).expect("body decodes");
                assert_eq!(n.events.len(), m.records);
                assert_eq!(m.deduplication_id, deduplication_id(&m.group_id, &m.body));
                out.push((m.group_id.clone(), m.table.clone(), n.events));
            }
        }
        out
    }

    #[test]
    fn twelve_tables_in_one_batch_make_one_group_each() {
        let mut events = Vec::new();
        for t in 0..12 {
            for f in 0..3 {
                events.push(event(
                    "lake",
                    &format!("tables/t{t:02}/ds=2026-11-0{f}/part-{f}.parquet"),
                    &format!("m{t}-{f}"),
                ));
            }
        }
        // noise that oxbow would ignore is not sent
        events.push(event("lake", "tables/t00/_SUCCESS", "noise-1"));
        events.push(event(
            "lake",
            "tables/t00/_delta_log/00000000000000000001.json",
            "noise-2",
        ));
        events.push(event("lake", "tables/t00/readme.txt", "noise-3"));

        let plan = plan(&events, &GroupConfig::default());
        assert_eq!(plan.tables, 12);
        assert_eq!(plan.groups, 12);
        assert_eq!(plan.records, 36);
        assert_eq!(plan.ignored, 3);
        assert_eq!(plan.messages(), 12, "one message per table");
        assert_eq!(plan.batches.len(), 2, "10 + 2 entries");
        assert_eq!(plan.batches[0].len(), 10);

        let decoded = decode_plan(&plan, DEFAULT_MAX_MESSAGE_BYTES);
        let mut groups = BTreeSet::new();
        let mut keys = Vec::new();
        for (group_id, table, events) in decoded {
            assert!(groups.insert(group_id.clone()), "one message per group");
            assert_eq!(
                group_id,
                GroupKey {
                    table: table.clone(),
                    bucket: None
                }
                .group_id()
            );
            assert_eq!(events.len(), 3);
            for e in events {
                assert!(e.key.starts_with(&format!("{}/", table.prefix)));
                keys.push(e.key);
            }
        }
        keys.sort();
        let mut expected: Vec<String> = events[..36].iter().map(|e| e.key.clone()).collect();
        expected.sort();
        assert_eq!(keys, expected, "every record exactly once");
        // sources follow their records
        let first = &plan.batches[0][0];
        assert_eq!(first.sources, ["m0-0", "m0-1", "m0-2"]);
    }

    #[test]
    fn rebuilt_records_decode_to_the_same_events() {
        let keys = [
            "exports/orders/ds=2026-11-01/part-00000-3f1c copy(1).snappy.parquet",
            "sales/region=EU/monthly report été+x%.parquet",
            "t/日本/a=b c/f~*!'.parquet",
        ];
        for key in keys {
            let e = event("b", key, "m1");
            let json = s3_record_json(&e).expect("encodes");
            let body = format!(r#"{{"Records":[{json}]}}"#);
            let n = decode_body(&body).expect("decodes");
            let mut back = n.events[0].clone();
            back.message_id = e.message_id.clone();
            assert_eq!(back, e, "{json}");
            assert!(json.is_ascii(), "{json}");
            let encoded = encode_event_key(key);
            assert!(encoded.is_ascii() && !encoded.contains(' '), "{encoded}");
            assert_eq!(decode_key(&encoded).expect("key"), key);
        }
        assert_eq!(
            encode_event_key("a b+c/d=e%f.parquet"),
            "a+b%2Bc/d=e%25f.parquet"
        );
        let json = s3_record_json(&event("b", "t/f.parquet", "m")).expect("encodes");
        let v: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(v["eventSource"], "aws:s3");
        assert_eq!(v["eventTime"], "2026-11-02T10:15:30.123Z");
        assert_eq!(v["s3"]["bucket"]["arn"], "arn:aws:s3:::b");
        assert_eq!(v["s3"]["object"]["size"], 1234);
    }

    #[test]
    fn eventbridge_and_minio_names_become_s3_names() {
        let mut e = event("b", "t/f.parquet", "m");
        e.event_name = "Object Created".into();
        assert_eq!(s3_event_name(&e), "ObjectCreated:Put");
        e.kind = ObjectEventKind::Removed;
        e.event_name = "Object Deleted".into();
        assert_eq!(s3_event_name(&e), "ObjectRemoved:Delete");
        e.event_name = "s3:ObjectRemoved:DeleteMarkerCreated".into();
        assert_eq!(s3_event_name(&e), "ObjectRemoved:DeleteMarkerCreated");
        e.event_name = "LifecycleExpiration:Delete".into();
        assert_eq!(s3_event_name(&e), "LifecycleExpiration:Delete");
        // nothing but printable ASCII is copied into a body
        e.event_name = "ObjectRemoved:\u{fffe}".into();
        assert_eq!(s3_event_name(&e), "ObjectRemoved:Delete");
        e.sequencer = Some("00\u{ffff}".into());
        let json = s3_record_json(&e).expect("json");
        assert!(json.is_ascii() && !json.contains("sequencer"), "{json}");
        // optional fields stay out when absent
        e.size = None;
        e.sequencer = None;
        e.event_time = None;
        let v: Value = serde_json::from_str(&s3_record_json(&e).expect("json")).expect("json");
        assert!(v.get("eventTime").is_none());
        assert!(v["s3"]["object"].get("size").is_none());
        assert!(v["s3"]["object"].get("sequencer").is_none());
    }

    fn big_table(n: usize) -> Vec<ObjectEvent> {
        (0..n)
            .map(|i| {
                event(
                    "lake",
                    &format!(
                        "tables/heavy/ds=2026-11-{:02}/part-{i:05}-{}.snappy.parquet",
                        i % 28 + 1,
                        "x".repeat(40)
                    ),
                    &format!("m{}", i / 10),
                )
            })
            .collect()
    }

    fn check_big_table(max: usize) -> Plan {
        let events = big_table(2000);
        let plan = plan(&events, &config(max));
        assert!(plan.oversize.is_empty());
        assert_eq!(plan.tables, 1);
        assert_eq!(plan.records, 2000);
        let decoded = decode_plan(&plan, max);
        let group_ids: BTreeSet<&String> = decoded.iter().map(|(g, _, _)| g).collect();
        assert_eq!(group_ids.len(), 1, "one table, one group");
        let keys: Vec<String> = decoded
            .iter()
            .flat_map(|(_, _, es)| es.iter().map(|e| e.key.clone()))
            .collect();
        let expected: Vec<String> = events.iter().map(|e| e.key.clone()).collect();
        assert_eq!(keys, expected, "every record once, in order");
        // messages are filled: each but the last would overflow with one more record
        let messages: Vec<&OutMessage> = plan.batches.iter().flatten().collect();
        let record_len = messages[0].body.len() / messages[0].records;
        for m in &messages[..messages.len() - 1] {
            assert!(
                m.body.len() + record_len + 1 > max - 64,
                "{} of {max}",
                m.body.len()
            );
        }
        plan
    }

    #[test]
    fn one_table_with_2000_records_splits_under_256_kib() {
        let plan = check_big_table(256 * 1024);
        // ~340-byte records: 2000 of them need 3 messages of 256 KiB; a
        // call's bodies add up to 256 KiB at most, so each full message is
        // a call of its own, and so is the rest.
        assert_eq!(plan.messages(), 3, "{}", plan.messages());
        assert_eq!(plan.batches.len(), 3);
    }

    #[test]
    fn one_table_with_2000_records_fits_one_message_under_1_mib() {
        let plan = check_big_table(1024 * 1024);
        assert_eq!(plan.messages(), 1);
        assert_eq!(plan.batches.len(), 1);
    }

    #[test]
    fn batches_respect_entries_and_total_bytes() {
        // 30 tables of 1 small record each at 256 KiB: 10 + 10 + 10.
        let events: Vec<ObjectEvent> = (0..30)
            .map(|t| event("b", &format!("t{t}/f.parquet"), "m"))
            .collect();
        let plan = plan(&events, &config(256 * 1024));
        let sizes: Vec<usize> = plan.batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 10]);
        assert_eq!(plan.batches[0][0].sources, ["m"]);

        // A 4 KiB limit: every message and every batch stay under it.
        let events = big_table(200);
        let plan = super::plan(&events, &config(4096));
        assert!(plan.messages() > 10);
        decode_plan(&plan, 4096);
        assert!(plan.batches.iter().all(|b| b.len() < MAX_BATCH_ENTRIES));

        // Small messages on a queue that takes 256 KiB: 10 to a call.
        let small = GroupConfig {
            max_message_bytes: 4096,
            ..GroupConfig::default()
        };
        let plan = super::plan(&events, &small);
        let sizes: Vec<usize> = plan.batches.iter().map(Vec::len).collect();
        assert!(
            sizes.len() > 1 && sizes[..sizes.len() - 1].iter().all(|n| *n == 10),
            "{sizes:?}"
        );
        decode_plan(&plan, DEFAULT_MAX_MESSAGE_BYTES);
        assert!(plan.batches.iter().flatten().all(|m| m.body.len() <= 4096));
    }

    #[test]
    fn a_record_too_large_for_any_message_fails_its_sources() {
        let long = format!("t/{}.parquet", "k".repeat(1000));
        let events = vec![
            event("b", &long, "too-big"),
            event("b", "t/small.parquet", "fine"),
        ];
        let plan = plan(&events, &config(MIN_MESSAGE_BYTES));
        assert_eq!(plan.oversize.len(), 1);
        assert_eq!(plan.oversize[0].sources, ["too-big"]);
        assert!(plan.oversize[0].bytes > MIN_MESSAGE_BYTES);
        assert!(plan.any_unsendable());
        assert_eq!(plan.unsendable_sources().collect::<Vec<_>>(), ["too-big"]);
        assert_eq!(plan.messages(), 1);
        assert_eq!(plan.batches[0][0].sources, ["fine"]);
    }

    #[test]
    fn duplicates_are_sent_once_and_fail_together() {
        let a = event("b", "t/f.parquet", "m1");
        let mut a2 = a.clone();
        a2.message_id = Some("m2".into());
        let mut later = a.clone();
        later.sequencer = Some("0055AED6DCD90281E6".into());
        later.message_id = Some("m3".into());
        let plan = plan(&[a, a2, later], &GroupConfig::default());
        assert_eq!(plan.records, 2);
        assert_eq!(plan.duplicates, 1);
        assert_eq!(plan.messages(), 1);
        assert_eq!(plan.batches[0][0].sources, ["m1", "m2", "m3"]);
        assert_eq!(plan.batches[0][0].records, 2);
    }

    #[test]
    fn hashes_are_stable() {
        // Fixed values: a change here breaks deduplication across deployments.
        let key = GroupKey {
            table: TableRoot {
                bucket: "lake".into(),
                prefix: "tables/orders".into(),
            },
            bucket: None,
        };
        let id = key.group_id();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(id, &hex(&Sha256::digest(b"s3://lake/tables/orders"))[..32]);
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let spread = GroupKey {
            bucket: Some(3),
            ..key.clone()
        };
        assert_eq!(spread.group_id(), format!("{id}-3"));
        assert_eq!(deduplication_id("g", "body").len(), 64);
        assert_ne!(deduplication_id("g", "body"), deduplication_id("h", "body"));
        assert_eq!(distribution_bucket("b", "k", 1), 0);
        assert_eq!(distribution_bucket("b", "k", 0), 0);
        let first = distribution_bucket("b", "t/part-1.parquet", 7);
        assert!(first < 7);
        assert_eq!(distribution_bucket("b", "t/part-1.parquet", 7), first);
    }

    #[test]
    fn distribution_spreads_one_table_over_n_groups_stably() {
        let events = big_table(400);
        let config = GroupConfig {
            distribution: 4,
            ..GroupConfig::default()
        };
        let plan1 = plan(&events, &config);
        assert_eq!(plan1.tables, 1);
        assert_eq!(plan1.groups, 4);
        let mut by_key: HashMap<String, String> = HashMap::new();
        for (g, _, es) in decode_plan(&plan1, DEFAULT_MAX_MESSAGE_BYTES) {
            for e in es {
                assert_eq!(
                    g,
                    GroupKey {
                        table: TableRoot {
                            bucket: "lake".into(),
                            prefix: "tables/heavy".into()
                        },
                        bucket: Some(distribution_bucket(&e.bucket, &e.key, 4)),
                    }
                    .group_id()
                );
                by_key.insert(e.key, g.clone());
            }
        }
        assert_eq!(by_key.len(), 400);
        // A redelivery in another order lands each record in the same group.
        let mut reversed = events.clone();
        reversed.reverse();
        for (g, _, es) in decode_plan(&plan(&reversed, &config), DEFAULT_MAX_MESSAGE_BYTES) {
            for e in es {
                assert_eq!(by_key.get(&e.key), Some(&g));
            }
        }
        // and the same input gives the same messages, byte for byte
        assert_eq!(plan(&events, &config), plan1);
    }

    #[test]
    fn table_prefixes_decide_the_table() {
        let prefixes = TablePrefixes::parse(&["s3://b/tables/orders"]).expect("prefixes");
        let events = vec![
            event("b", "tables/orders/2026/11/part-0.parquet", "m1"),
            event("b", "tables/orders/2026/12/part-1.parquet", "m2"),
            event("b", "tables/other/part-2.parquet", "m3"),
        ];
        let g = group_by_table(&events, &prefixes, 1);
        assert_eq!(g.groups.len(), 1);
        assert_eq!(g.ignored, 1);
        let (key, records) = g.groups.iter().next().expect("group");
        assert_eq!(key.table.uri(), "s3://b/tables/orders");
        assert_eq!(records.len(), 2);
    }

    fn messages(n: usize) -> Vec<Vec<OutMessage>> {
        let events: Vec<ObjectEvent> = (0..n)
            .map(|t| event("b", &format!("t{t}/f.parquet"), &format!("src{t}")))
            .collect();
        plan(&events, &GroupConfig::default()).batches
    }

    fn no_wait() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn failed_entries_are_retried_then_reported() {
        let batches = messages(12);
        let by_group: HashMap<String, String> = batches
            .iter()
            .flatten()
            .map(|m| (m.group_id.clone(), m.sources[0].clone()))
            .collect();
        let mut calls: Vec<Vec<String>> = Vec::new();
        let report = block_on(send_batches(batches, &no_wait(), |entries| {
            let sources: Vec<String> = entries
                .iter()
                .map(|e| by_group[&e.group_id].clone())
                .collect();
            calls.push(sources.clone());
            let call = calls.len();
            async move {
                let mut reply = BatchReply::default();
                for (e, src) in entries.iter().zip(&sources) {
                    let fail = match src.as_str() {
                        // fails once, then goes through
                        "src1" => call == 1,
                        // always fails
                        "src5" => true,
                        // left out of the reply entirely, every time
                        "src7" => continue,
                        _ => false,
                    };
                    if fail {
                        reply.failed.push(EntryFailure {
                            id: e.id.clone(),
                            code: "InternalError".into(),
                            message: "try again".into(),
                            sender_fault: false,
                        });
                    } else {
                        reply.successful.push(e.id.clone());
                    }
                }
                Ok(reply)
            }
        }));
        assert_eq!(calls[0].len(), 10);
        assert_eq!(
            calls[1],
            ["src1", "src5", "src7"],
            "only failed entries again"
        );
        assert_eq!(calls[2], ["src5", "src7"]);
        assert_eq!(calls[3].len(), 2, "second batch");
        assert_eq!(report.calls, 4);
        assert_eq!(report.messages_sent, 10);
        assert_eq!(report.retried_entries, 5);
        let mut failed: Vec<&String> = report.failed_sources().collect();
        failed.sort();
        assert_eq!(failed, ["src5", "src7"]);
        assert!(
            report.failed[0].error.contains("InternalError")
                || report.failed[0].error.contains("missing")
        );
    }

    #[test]
    fn a_failing_call_is_retried_whole() {
        let batches = messages(3);
        let mut calls = 0;
        let report = block_on(send_batches(batches.clone(), &no_wait(), |entries| {
            calls += 1;
            let call = calls;
            async move {
                if call < 3 {
                    Err("throttled".to_string())
                } else {
                    Ok(BatchReply {
                        successful: entries.iter().map(|e| e.id.clone()).collect(),
                        failed: Vec::new(),
                    })
                }
            }
        }));
        assert_eq!(report.calls, 3);
        assert_eq!(report.messages_sent, 3);
        assert!(report.failed.is_empty());

        let report = block_on(send_batches(batches, &no_wait(), |_| async {
            Err::<BatchReply, _>("queue gone".to_string())
        }));
        assert_eq!(report.calls, 3);
        assert_eq!(report.failed.len(), 3);
        assert_eq!(report.failed[0].error, "queue gone");
        let mut failed: Vec<&String> = report.failed_sources().collect();
        failed.sort();
        assert_eq!(failed, ["src0", "src1", "src2"]);
    }
}
