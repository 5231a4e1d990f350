//! Trigger decoding: every way an S3 object event reaches a function.
//!
//! A function is invoked with one JSON payload. It may be
//!
//! - an **SQS batch** (`Records[].eventSource == "aws:sqs"`), whose message
//!   bodies hold an S3 notification, an SNS notification wrapping one, an
//!   EventBridge event, or `s3:TestEvent`;
//! - a **direct S3 notification** (`Records[].eventSource == "aws:s3"`);
//! - an **SNS notification** delivered to Lambda (`Records[].EventSource ==
//!   "aws:sns"`);
//! - an **EventBridge** event (`source == "aws.s3"`, `detail-type` "Object
//!   Created" / "Object Deleted").
//!
//! [`decode_payload`] flattens any of them into [`ObjectEvent`]s tagged with
//! the SQS message they came from. A message that cannot be decoded is a
//! [`MessageFailure`] for that message only: the rest of the batch goes on.
//!
//! Decoding is tolerant: only bucket, key and event name are required.
//! `userIdentity`, `requestParameters`, `sequencer`, `size` and `eventTime`
//! are optional, as S3-compatible stores and emulators leave them out. Keys
//! are form-URL-decoded (`+` is a space, `%2F` a slash), in S3 notifications
//! and EventBridge events alike, and must then be valid UTF-8 S3 keys without
//! `.`/`..` segments or control characters.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// S3's limit on a key's length, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// How deep envelopes may nest (SQS -> SNS -> S3 is two).
const MAX_ENVELOPE_DEPTH: usize = 4;

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectEventKind {
    /// `ObjectCreated:*`, EventBridge "Object Created".
    Created,
    /// `ObjectRemoved:*`, `LifecycleExpiration:*`, EventBridge "Object Deleted".
    Removed,
}

/// One object event, flattened out of whatever envelope carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEvent {
    pub bucket: String,
    /// The decoded object key.
    pub key: String,
    /// Object size in bytes when the event carries it (created events).
    pub size: Option<u64>,
    pub kind: ObjectEventKind,
    /// The event name as sent, e.g. `ObjectCreated:Put` or `Object Created`.
    pub event_name: String,
    pub event_time: Option<DateTime<Utc>>,
    /// S3's per-key ordering token, when present.
    pub sequencer: Option<String>,
    /// The SQS message this event came from (`None` for direct invocations).
    pub message_id: Option<String>,
}

impl ObjectEvent {
    /// `s3://bucket/key`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// Why one message (or a direct payload) could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty message body")]
    Empty,
    #[error("body is not JSON ({0}); expected an S3, SNS or EventBridge notification")]
    NotJson(String),
    #[error("unrecognised notification: {0}")]
    UnknownShape(String),
    #[error("field `{field}` is invalid: {reason}")]
    InvalidField { field: String, reason: String },
    #[error("object key {key:?} is rejected: {reason}")]
    InvalidKey { key: String, reason: String },
    #[error("envelopes nested deeper than {MAX_ENVELOPE_DEPTH} levels")]
    TooDeep,
}

fn invalid(field: &str, reason: impl Into<String>) -> DecodeError {
    DecodeError::InvalidField {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// What one notification body decoded to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notification {
    pub events: Vec<ObjectEvent>,
    /// `s3:TestEvent`s seen (acknowledged, never an error).
    pub test_events: usize,
    /// Records of other kinds (tagging, ACL, restore, replication...), skipped.
    pub skipped: usize,
}

impl Notification {
    fn absorb(&mut self, other: Notification) {
        self.events.extend(other.events);
        self.test_events += other.test_events;
        self.skipped += other.skipped;
    }
}

/// How the function was invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    Sqs,
    S3,
    Sns,
    EventBridge,
}

/// A message of an SQS batch that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFailure {
    pub message_id: String,
    pub error: DecodeError,
}

/// A decoded invocation payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedBatch {
    pub kind: PayloadKind,
    /// Every object event, in payload order, tagged with its message id.
    pub events: Vec<ObjectEvent>,
    /// Every SQS message id in the batch, in order (empty otherwise).
    pub message_ids: Vec<String>,
    /// SQS messages that could not be decoded.
    pub failures: Vec<MessageFailure>,
    pub test_events: usize,
    pub skipped: usize,
}

/// Decode a Lambda invocation payload.
///
/// For an SQS batch every message is decoded on its own and a bad one lands
/// in [`DecodedBatch::failures`]. For a direct invocation (S3, SNS,
/// EventBridge) a malformed payload is an error of the whole invocation, as
/// there is nothing to retry one part of.
pub fn decode_payload(payload: &Value) -> Result<DecodedBatch, DecodeError> {
    let obj = payload
        .as_object()
        .ok_or_else(|| DecodeError::UnknownShape(format!("payload is {}", kind_of(payload))))?;
    if let Some(records) = obj.get("Records") {
        let records = records
            .as_array()
            .ok_or_else(|| invalid("Records", "expected an array"))?;
        let source = records.first().map(record_source).unwrap_or_default();
        if source == "aws:sqs" {
            return Ok(decode_sqs(records));
        }
        if source == "aws:sns" {
            let mut n = Notification::default();
            for (i, r) in records.iter().enumerate() {
                let message = r
                    .get("Sns")
                    .and_then(|s| s.get("Message"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(&format!("Records[{i}].Sns.Message"), "missing"))?;
                n.absorb(decode_body_at(message, 1)?);
            }
            return Ok(batch_of(PayloadKind::Sns, n));
        }
    }
    let n = decode_value(payload, 0)?;
    let kind = if obj.contains_key("detail-type") {
        PayloadKind::EventBridge
    } else {
        PayloadKind::S3
    };
    Ok(batch_of(kind, n))
}

fn batch_of(kind: PayloadKind, n: Notification) -> DecodedBatch {
    DecodedBatch {
        kind,
        events: n.events,
        message_ids: Vec::new(),
        failures: Vec::new(),
        test_events: n.test_events,
        skipped: n.skipped,
    }
}

fn record_source(r: &Value) -> String {
    r.get("eventSource")
        .or_else(|| r.get("EventSource"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn decode_sqs(records: &[Value]) -> DecodedBatch {
    let mut batch = batch_of(PayloadKind::Sqs, Notification::default());
    for (i, r) in records.iter().enumerate() {
        // Lambda always sends a messageId; a record without one cannot be
        // reported, so it gets a positional name that shows in the logs.
        let message_id = r
            .get("messageId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("<record {i} without messageId>"));
        batch.message_ids.push(message_id.clone());
        let body = r.get("body").and_then(Value::as_str).unwrap_or_default();
        match decode_body(body) {
            Ok(mut n) => {
                for e in &mut n.events {
                    e.message_id = Some(message_id.clone());
                }
                batch.events.extend(n.events);
                batch.test_events += n.test_events;
                batch.skipped += n.skipped;
            }
            Err(error) => batch.failures.push(MessageFailure { message_id, error }),
        }
    }
    batch
}

/// Decode one message body: an S3 notification, an SNS envelope around one,
/// an EventBridge S3 event, or `s3:TestEvent`.
pub fn decode_body(body: &str) -> Result<Notification, DecodeError> {
    decode_body_at(body, 0)
}

fn decode_body_at(body: &str, depth: usize) -> Result<Notification, DecodeError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(DecodeError::Empty);
    }
    let value: Value = serde_json::from_str(body).map_err(|e| {
        let mut msg = e.to_string();
        msg.truncate(200);
        DecodeError::NotJson(msg)
    })?;
    decode_value(&value, depth)
}

fn decode_value(value: &Value, depth: usize) -> Result<Notification, DecodeError> {
    if depth > MAX_ENVELOPE_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    let Some(obj) = value.as_object() else {
        return Err(DecodeError::UnknownShape(format!(
            "body is {}, expected a JSON object",
            kind_of(value)
        )));
    };
    // s3:TestEvent, sent when a notification configuration is saved.
    if obj.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Notification {
            test_events: 1,
            ..Default::default()
        });
    }
    // SNS envelope (raw message delivery off).
    if obj.get("Type").and_then(Value::as_str) == Some("Notification") {
        let message = obj
            .get("Message")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("Message", "SNS notification without a Message string"))?;
        return decode_body_at(message, depth + 1);
    }
    // EventBridge.
    if let Some(detail_type) = obj.get("detail-type") {
        return decode_eventbridge(obj, detail_type);
    }
    if let Some(records) = obj.get("Records") {
        let records = records
            .as_array()
            .ok_or_else(|| invalid("Records", "expected an array"))?;
        let mut n = Notification::default();
        for (i, r) in records.iter().enumerate() {
            match decode_s3_record(r).map_err(|e| in_record(i, e))? {
                Some(e) => n.events.push(e),
                None => n.skipped += 1,
            }
        }
        return Ok(n);
    }
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).take(5).collect();
    keys.sort_unstable();
    Err(DecodeError::UnknownShape(format!(
        "a JSON object with keys {keys:?}; expected Records, an SNS Notification, an EventBridge event or s3:TestEvent"
    )))
}

fn in_record(i: usize, e: DecodeError) -> DecodeError {
    match e {
        DecodeError::InvalidField { field, reason } => DecodeError::InvalidField {
            field: format!("Records[{i}].{field}"),
            reason,
        },
        other => other,
    }
}

/// One S3 notification record; `None` for event kinds we do not act on.
fn decode_s3_record(r: &Value) -> Result<Option<ObjectEvent>, DecodeError> {
    let name = r
        .get("eventName")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("eventName", "missing"))?;
    // MinIO and others prefix the name with "s3:".
    let bare = name.strip_prefix("s3:").unwrap_or(name);
    let kind = if bare.starts_with("ObjectCreated:") {
        ObjectEventKind::Created
    } else if bare.starts_with("ObjectRemoved:") || bare.starts_with("LifecycleExpiration:") {
        ObjectEventKind::Removed
    } else {
        return Ok(None);
    };
    let s3 = r.get("s3").ok_or_else(|| invalid("s3", "missing"))?;
    let bucket = s3
        .get("bucket")
        .and_then(|b| b.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("s3.bucket.name", "missing"))?;
    let object = s3
        .get("object")
        .ok_or_else(|| invalid("s3.object", "missing"))?;
    let raw_key = object
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("s3.object.key", "missing"))?;
    Ok(Some(ObjectEvent {
        bucket: check_bucket(bucket)?,
        key: decode_key(raw_key)?,
        size: size_of(object.get("size"), "s3.object.size")?,
        kind,
        event_name: name.to_string(),
        event_time: r
            .get("eventTime")
            .and_then(Value::as_str)
            .and_then(parse_time),
        sequencer: object
            .get("sequencer")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        message_id: None,
    }))
}

fn decode_eventbridge(
    obj: &serde_json::Map<String, Value>,
    detail_type: &Value,
) -> Result<Notification, DecodeError> {
    let detail_type = detail_type
        .as_str()
        .ok_or_else(|| invalid("detail-type", "expected a string"))?;
    let source = obj
        .get("source")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if source != "aws.s3" {
        return Err(DecodeError::UnknownShape(format!(
            "EventBridge event from source {source:?}, expected aws.s3"
        )));
    }
    let kind = match detail_type {
        "Object Created" => ObjectEventKind::Created,
        "Object Deleted" => ObjectEventKind::Removed,
        _ => {
            return Ok(Notification {
                skipped: 1,
                ..Default::default()
            })
        }
    };
    let detail = obj
        .get("detail")
        .ok_or_else(|| invalid("detail", "missing"))?;
    let bucket = detail
        .get("bucket")
        .and_then(|b| b.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("detail.bucket.name", "missing"))?;
    let object = detail
        .get("object")
        .ok_or_else(|| invalid("detail.object", "missing"))?;
    let raw_key = object
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("detail.object.key", "missing"))?;
    let event = ObjectEvent {
        bucket: check_bucket(bucket)?,
        key: decode_key(raw_key)?,
        size: size_of(object.get("size"), "detail.object.size")?,
        kind,
        event_name: detail_type.to_string(),
        event_time: obj.get("time").and_then(Value::as_str).and_then(parse_time),
        sequencer: object
            .get("sequencer")
            .and_then(Value::as_str)
            .map(str::to_string),
        message_id: None,
    };
    Ok(Notification {
        events: vec![event],
        ..Default::default()
    })
}

fn check_bucket(bucket: &str) -> Result<String, DecodeError> {
    // Lenient on purpose: legacy us-east-1 buckets and S3-compatible stores
    // allow names S3's current rules do not; only what would break a URI or
    // a path is rejected.
    let ok = !bucket.is_empty()
        && bucket.len() <= 255
        && bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if ok {
        Ok(bucket.to_string())
    } else {
        Err(invalid(
            "bucket.name",
            format!("{bucket:?} is not an S3 bucket name"),
        ))
    }
}

fn size_of(v: Option<&Value>, field: &str) -> Result<Option<u64>, DecodeError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(field, format!("{n} is not a byte count"))),
        // Some stores send the size as a string.
        Some(Value::String(s)) => s
            .parse::<u64>()
            .map(Some)
            .map_err(|_| invalid(field, format!("{s:?} is not a byte count"))),
        Some(other) => Err(invalid(
            field,
            format!("expected a number, got {}", kind_of(other)),
        )),
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Form-URL-decode an S3 event key (`+` is a space, `%XX` a byte) and check
/// that the result is a key we can safely turn into a table path.
pub fn decode_key(raw: &str) -> Result<String, DecodeError> {
    let spaced = raw.replace('+', " ");
    let key = percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map_err(|_| DecodeError::InvalidKey {
            key: raw.to_string(),
            reason: "not valid UTF-8 once decoded".into(),
        })?
        .into_owned();
    validate_key(&key)?;
    Ok(key)
}

/// Reject keys no table file can have: empty, over S3's 1,024 bytes, with
/// control characters, with `.`/`..` segments, or with empty segments.
pub fn validate_key(key: &str) -> Result<(), DecodeError> {
    let reject = |reason: &str| {
        let mut shown = key.to_string();
        if shown.len() > 120 {
            let mut cut = 120;
            while !shown.is_char_boundary(cut) {
                cut -= 1;
            }
            shown.truncate(cut);
            shown.push('…');
        }
        Err(DecodeError::InvalidKey {
            key: shown,
            reason: reason.to_string(),
        })
    };
    if key.is_empty() {
        return reject("empty key");
    }
    if key.len() > MAX_KEY_BYTES {
        return reject("longer than S3's 1024-byte limit");
    }
    if key.chars().any(char::is_control) {
        return reject("contains control characters");
    }
    if key.split('/').any(|s| s == "." || s == "..") {
        return reject("contains a `.` or `..` path segment");
    }
    if key.starts_with('/') || key.contains("//") {
        return reject("contains an empty path segment");
    }
    Ok(())
}

/// "a number", "an array", ... for messages.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let text = match name {
            "s3_put" => include_str!("../fixtures/events/s3_put.json"),
            "s3_delete" => include_str!("../fixtures/events/s3_delete.json"),
            "s3_test_event" => include_str!("../fixtures/events/s3_test_event.json"),
            "s3_emulator" => include_str!("../fixtures/events/s3_emulator.json"),
            "minio" => include_str!("../fixtures/events/minio.json"),
            "eventbridge_created" => include_str!("../fixtures/events/eventbridge_created.json"),
            "eventbridge_deleted" => include_str!("../fixtures/events/eventbridge_deleted.json"),
            "sqs_s3" => include_str!("../fixtures/events/sqs_s3.json"),
            "sqs_sns_s3" => include_str!("../fixtures/events/sqs_sns_s3.json"),
            "sqs_eventbridge" => include_str!("../fixtures/events/sqs_eventbridge.json"),
            "sqs_test_event" => include_str!("../fixtures/events/sqs_test_event.json"),
            "sqs_mixed_bad" => include_str!("../fixtures/events/sqs_mixed_bad.json"),
            "sns_s3" => include_str!("../fixtures/events/sns_s3.json"),
            other => panic!("no fixture {other}"),
        };
        serde_json::from_str(text).expect("fixture is JSON")
    }

    fn keys(b: &DecodedBatch) -> Vec<&str> {
        b.events.iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn direct_s3_put_decodes_keys_sizes_times() {
        let b = decode_payload(&fixture("s3_put")).unwrap();
        assert_eq!(b.kind, PayloadKind::S3);
        assert_eq!(
            keys(&b),
            [
                "exports/orders/ds=2026-11-01/part-00000-3f1c copy(1).snappy.parquet",
                "exports/orders/ds=2026-11-01/part-00001.snappy.parquet"
            ]
        );
        let e = &b.events[0];
        assert_eq!(e.bucket, "analytics-exports");
        assert_eq!(e.size, Some(52431));
        assert_eq!(e.kind, ObjectEventKind::Created);
        assert_eq!(e.sequencer.as_deref(), Some("0055AED6DCD90281E5"));
        assert_eq!(
            e.event_time.unwrap().to_rfc3339(),
            "2026-11-02T10:15:30.123+00:00"
        );
        assert_eq!(e.message_id, None);
        assert_eq!(
            b.events[1].event_name,
            "ObjectCreated:CompleteMultipartUpload"
        );
        assert_eq!(b.events[1].size, Some(104857600));
    }

    #[test]
    fn removals_and_lifecycle_expiry_are_removed_other_kinds_skipped() {
        let b = decode_payload(&fixture("s3_delete")).unwrap();
        assert_eq!(b.events.len(), 2);
        assert!(b.events.iter().all(|e| e.kind == ObjectEventKind::Removed));
        assert!(b.events.iter().all(|e| e.size.is_none()));
        assert_eq!(b.skipped, 1, "ObjectTagging:Put is skipped");
    }

    #[test]
    fn test_event_is_acknowledged() {
        let b = decode_payload(&fixture("s3_test_event")).unwrap();
        assert_eq!(b.test_events, 1);
        assert!(b.events.is_empty());
        let b = decode_payload(&fixture("sqs_test_event")).unwrap();
        assert_eq!(b.test_events, 1);
        assert!(b.failures.is_empty());
        assert_eq!(b.message_ids, ["test-0001"]);
    }

    #[test]
    fn emulator_shape_without_optional_fields_and_encoded_slashes() {
        let b = decode_payload(&fixture("s3_emulator")).unwrap();
        let e = &b.events[0];
        assert_eq!(e.key, "sales/region=EU/monthly report été.parquet");
        assert_eq!(e.sequencer, None);
        assert_eq!(e.size, Some(2048));
    }

    #[test]
    fn minio_prefixed_event_names() {
        let b = decode_payload(&fixture("minio")).unwrap();
        assert_eq!(keys(&b), ["events/a.parquet"]);
        assert_eq!(b.events[0].kind, ObjectEventKind::Created);
    }

    #[test]
    fn eventbridge_direct() {
        let b = decode_payload(&fixture("eventbridge_created")).unwrap();
        assert_eq!(b.kind, PayloadKind::EventBridge);
        assert_eq!(keys(&b), ["exports/customers/region=eu/part-0.parquet"]);
        assert_eq!(b.events[0].size, Some(5120));
        assert_eq!(b.events[0].event_name, "Object Created");
        let b = decode_payload(&fixture("eventbridge_deleted")).unwrap();
        assert_eq!(b.events[0].kind, ObjectEventKind::Removed);
        assert_eq!(b.events[0].size, None);
    }

    #[test]
    fn s3_inside_sqs() {
        let b = decode_payload(&fixture("sqs_s3")).unwrap();
        assert_eq!(b.kind, PayloadKind::Sqs);
        assert_eq!(b.events.len(), 2);
        assert!(b
            .events
            .iter()
            .all(|e| e.message_id.as_deref() == Some("059f36b4-87a3-44ab-83d2-661975830a7d")));
        assert_eq!(b.message_ids.len(), 1);
    }

    #[test]
    fn s3_inside_sns_inside_sqs() {
        let b = decode_payload(&fixture("sqs_sns_s3")).unwrap();
        assert_eq!(b.events.len(), 2);
        assert_eq!(
            b.events[0].message_id.as_deref(),
            Some("2e1424d4-f796-459a-8184-9c92662be6da")
        );
        assert_eq!(
            b.events[0].key,
            "exports/orders/ds=2026-11-01/part-00000-3f1c copy(1).snappy.parquet"
        );
    }

    #[test]
    fn eventbridge_inside_sqs() {
        let b = decode_payload(&fixture("sqs_eventbridge")).unwrap();
        assert_eq!(b.events.len(), 2);
        assert_eq!(b.events[0].kind, ObjectEventKind::Created);
        assert_eq!(b.events[1].kind, ObjectEventKind::Removed);
        assert_eq!(
            b.events[1].message_id.as_deref(),
            Some("a1b2c3d4-0000-4000-8000-000000000002")
        );
    }

    #[test]
    fn sns_delivered_to_lambda() {
        let b = decode_payload(&fixture("sns_s3")).unwrap();
        assert_eq!(b.kind, PayloadKind::Sns);
        assert_eq!(b.events.len(), 2);
        assert_eq!(b.skipped, 1);
    }

    #[test]
    fn bad_messages_fail_alone() {
        let b = decode_payload(&fixture("sqs_mixed_bad")).unwrap();
        assert_eq!(keys(&b), ["sales/region=EU/monthly report été.parquet"]);
        assert_eq!(b.events[0].message_id.as_deref(), Some("good-1"));
        let failed: Vec<(&str, &DecodeError)> = b
            .failures
            .iter()
            .map(|f| (f.message_id.as_str(), &f.error))
            .collect();
        assert_eq!(failed.len(), 8, "{failed:#?}");
        assert_eq!(failed[0], ("empty-1", &DecodeError::Empty));
        assert!(matches!(failed[1], ("notjson-1", DecodeError::NotJson(_))));
        assert!(matches!(
            failed[2],
            ("wrongshape-1", DecodeError::UnknownShape(_))
        ));
        assert!(matches!(
            failed[3],
            ("records-not-array", DecodeError::InvalidField { .. })
        ));
        assert!(matches!(
            failed[4],
            ("sns-bad-message", DecodeError::NotJson(_))
        ));
        assert!(
            matches!(failed[5], ("dotdot-key", DecodeError::InvalidKey { .. })),
            "{:?}",
            failed[5]
        );
        let DecodeError::InvalidField { field, .. } = failed[6].1 else {
            panic!("{:?}", failed[6]);
        };
        assert_eq!(field, "Records[0].s3.object.size");
        assert!(matches!(
            failed[7],
            ("bad-utf8", DecodeError::InvalidKey { .. })
        ));
        assert_eq!(b.message_ids.len(), 9);
    }

    #[test]
    fn a_one_mebibyte_body_is_an_error_not_a_panic() {
        let body = "x".repeat(1 << 20);
        assert!(matches!(decode_body(&body), Err(DecodeError::NotJson(_))));
        let body = format!("{{\"Records\":[{{\"junk\":\"{}\"}}]}}", "y".repeat(1 << 20));
        assert!(matches!(
            decode_body(&body),
            Err(DecodeError::InvalidField { .. })
        ));
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(decode_body(&deep).is_err());
    }

    #[test]
    fn payloads_of_the_wrong_shape() {
        assert!(decode_payload(&Value::Null).is_err());
        assert!(decode_payload(&serde_json::json!([1, 2])).is_err());
        assert!(decode_payload(&serde_json::json!({"Records": 3})).is_err());
        let empty = decode_payload(&serde_json::json!({"Records": []})).unwrap();
        assert!(empty.events.is_empty() && empty.failures.is_empty());
        let other_bus =
            serde_json::json!({"detail-type": "Object Created", "source": "aws.ec2", "detail": {}});
        assert!(matches!(
            decode_payload(&other_bus),
            Err(DecodeError::UnknownShape(_))
        ));
    }

    #[test]
    fn key_decoding() {
        assert_eq!(decode_key("a+b%2Bc").unwrap(), "a b+c");
        assert_eq!(
            decode_key("t/x_ds%3D1.parquet").unwrap(),
            "t/x_ds=1.parquet"
        );
        assert_eq!(
            decode_key("t/%E6%97%A5%E6%9C%AC.parquet").unwrap(),
            "t/日本.parquet"
        );
        // a lone % is kept as it is
        assert_eq!(decode_key("t/100%.parquet").unwrap(), "t/100%.parquet");
        assert!(decode_key("t/%0A.parquet").is_err(), "control character");
        assert!(decode_key("t/../x.parquet").is_err());
        assert!(decode_key("t/./x.parquet").is_err());
        assert!(decode_key("t//x.parquet").is_err());
        assert!(decode_key("").is_err());
        assert!(decode_key(&"k".repeat(1025)).is_err());
        assert!(decode_key(&"k".repeat(1024)).is_ok());
        // a multi-byte key cut for display never splits a character
        let err = decode_key(&format!("{}\u{7}", "é".repeat(100))).unwrap_err();
        assert!(err.to_string().contains("control"));
    }
}
