//! SQS events in, JSON records out.
//!
//! [`decode_sqs_event`] turns a Lambda SQS event into [`SqsMessage`]s (id,
//! body, FIFO group and sequence number, source queue); [`parse_body`] turns
//! one message body into records. A body is
//!
//! - one JSON object: one record;
//! - a JSON array of objects: one record per element (`[]` is no record);
//! - newline-delimited JSON objects (any whitespace between them will do);
//! - any of these wrapped in an SNS notification (raw message delivery off):
//!   an object with `"Type": "Notification"`, a `TopicArn` and a string
//!   `Message`, which is unwrapped once.
//!
//! Anything else is a [`BodyError`] for that message only: an empty body,
//! text that is not JSON, a scalar, or an array holding anything but objects.

use serde_json::{Map, Value};

/// "a number", "an array", ... for messages.
pub use crate::events::kind_of;

/// One JSON record: the fields of one object.
pub type Record = Map<String, Value>;

/// One SQS message, as much of it as ingestion needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsMessage {
    pub message_id: String,
    pub body: String,
    /// `attributes.MessageGroupId` (FIFO queues).
    pub group_id: Option<String>,
    /// `attributes.SequenceNumber` (FIFO queues), when it is a number.
    pub sequence_number: Option<u128>,
    /// The queue, as `<account>/<name>` (from `eventSourceARN` or the queue
    /// URL); FIFO transaction ids are scoped to it.
    pub queue: Option<String>,
    /// Where the message came from, for deletes after the commit.
    pub receipt_handle: Option<String>,
}

impl SqsMessage {
    /// A message of a standard queue (tests, tools).
    pub fn new(message_id: impl Into<String>, body: impl Into<String>) -> Self {
        SqsMessage {
            message_id: message_id.into(),
            body: body.into(),
            group_id: None,
            sequence_number: None,
            queue: None,
            receipt_handle: None,
        }
    }

    /// The FIFO position of the message: group and sequence number, when it
    /// has both.
    pub fn fifo_position(&self) -> Option<(&str, u128)> {
        match (&self.group_id, self.sequence_number) {
            (Some(g), Some(s)) => Some((g.as_str(), s)),
            _ => None,
        }
    }
}

/// Why an invocation payload is not an SQS event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the payload is not an SQS event: {0}; sqs-ingest is triggered by an SQS queue")]
    NotSqs(String),
}

/// Decode a Lambda SQS event. Records without a `messageId` get a
/// positional name (Lambda always sends one); a missing body is an empty one.
pub fn decode_sqs_event(payload: &Value) -> Result<Vec<SqsMessage>, EventError> {
    let records = payload
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| EventError::NotSqs("no Records array".into()))?;
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let source = r
            .get("eventSource")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if source != "aws:sqs" {
            return Err(EventError::NotSqs(format!(
                "record {i} has eventSource {source:?}, expected \"aws:sqs\""
            )));
        }
        let attributes = r.get("attributes");
        let attribute = |name: &str| {
            attributes
                .and_then(|a| a.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        out.push(SqsMessage {
            message_id: r
                .get("messageId")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("<record {i} without messageId>")),
            body: r
                .get("body")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            group_id: attribute("MessageGroupId"),
            sequence_number: attribute("SequenceNumber").and_then(|s| s.parse().ok()),
            queue: r
                .get("eventSourceARN")
                .and_then(Value::as_str)
                .and_then(queue_from_arn),
            receipt_handle: r
                .get("receiptHandle")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    Ok(out)
}

/// `arn:aws:sqs:<region>:<account>:<name>` -> `<account>/<name>`.
pub fn queue_from_arn(arn: &str) -> Option<String> {
    let mut parts = arn.split(':');
    let (Some("arn"), _, Some("sqs"), _, Some(account), Some(name), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (!account.is_empty() && !name.is_empty()).then(|| format!("{account}/{name}"))
}

/// `https://sqs.<region>.amazonaws.com/<account>/<name>` (or any endpoint
/// with that path) -> `<account>/<name>`.
pub fn queue_from_url(url: &str) -> Option<String> {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let name = segments.next().filter(|s| !s.is_empty())?;
    let account = segments.next().filter(|s| !s.is_empty())?;
    segments.next()?; // the host
    Some(format!("{account}/{name}"))
}

/// Why a message body holds no usable records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("empty message body")]
    Empty,
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error(
        "body is {0}; expected a JSON object, an array of objects or newline-delimited objects"
    )]
    NotObject(&'static str),
    #[error("element {index} of the body's array is {kind}; expected objects only")]
    ArrayOfNonObjects { index: usize, kind: &'static str },
    #[error("newline-delimited record {index} is {kind}; expected objects only")]
    NdjsonNonObject { index: usize, kind: &'static str },
}

/// The records of one message body; see the module doc.
pub fn parse_body(body: &str) -> Result<Vec<Record>, BodyError> {
    parse_at(body, true)
}

fn parse_at(body: &str, unwrap_sns: bool) -> Result<Vec<Record>, BodyError> {
    let text = body.trim();
    if text.is_empty() {
        return Err(BodyError::Empty);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(obj)) => match sns_message(&obj) {
            Some(message) if unwrap_sns => parse_at(message, false),
            _ => Ok(vec![obj]),
        },
        Ok(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (index, item) in items.into_iter().enumerate() {
                match item {
                    Value::Object(obj) => out.push(obj),
                    other => {
                        return Err(BodyError::ArrayOfNonObjects {
                            index,
                            kind: kind_of(&other),
                        })
                    }
                }
            }
            Ok(out)
        }
        Ok(other) => Err(BodyError::NotObject(kind_of(&other))),
        Err(whole) => parse_ndjson(text).map_err(|e| match e {
            // A first value that does not parse: report the whole-body error.
            NdjsonError::Json { index: 0, .. } => BodyError::NotJson(short(&whole.to_string())),
            NdjsonError::Json { index, message } => {
                BodyError::NotJson(format!("record {index}: {}", short(&message)))
            }
            NdjsonError::NonObject { index, kind } => BodyError::NdjsonNonObject { index, kind },
        }),
    }
}

enum NdjsonError {
    Json { index: usize, message: String },
    NonObject { index: usize, kind: &'static str },
}

fn parse_ndjson(text: &str) -> Result<Vec<Record>, NdjsonError> {
    let mut out = Vec::new();
    for (index, item) in serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .enumerate()
    {
        match item {
            Ok(Value::Object(obj)) => out.push(obj),
            Ok(other) => {
                return Err(NdjsonError::NonObject {
                    index,
                    kind: kind_of(&other),
                })
            }
            Err(e) => {
                return Err(NdjsonError::Json {
                    index,
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(out)
}

/// The `Message` of an SNS notification envelope.
fn sns_message(obj: &Record) -> Option<&str> {
    let is_notification = obj.get("Type").and_then(Value::as_str) == Some("Notification")
        && obj.get("TopicArn").is_some_and(Value::is_string);
    if is_notification {
        obj.get("Message").and_then(Value::as_str)
    } else {
        None
    }
}

fn short(s: &str) -> String {
    let mut out = s.to_string();
    if out.len() > 200 {
        let mut cut = 200;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(records: &[Record]) -> Vec<i64> {
        records
            .iter()
            .filter_map(|r| r.get("id").and_then(Value::as_i64))
            .collect()
    }

    #[test]
    fn object_array_and_ndjson() {
        assert_eq!(ids(&parse_body(r#" {"id": 1} "#).unwrap()), [1]);
        assert_eq!(
            ids(&parse_body(r#"[{"id": 1}, {"id": 2}]"#).unwrap()),
            [1, 2]
        );
        assert!(parse_body("[]").unwrap().is_empty());
        let nd = "{\"id\": 1}\n{\"id\": 2}\r\n\n{\"id\": 3}\n";
        assert_eq!(ids(&parse_body(nd).unwrap()), [1, 2, 3]);
    }

    #[test]
    fn sns_envelope_is_unwrapped_once() {
        let inner = r#"[{"id": 7}, {"id": 8}]"#;
        let env = json!({
            "Type": "Notification",
            "MessageId": "m",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "Message": inner,
        });
        assert_eq!(ids(&parse_body(&env.to_string()).unwrap()), [7, 8]);
        // An envelope inside an envelope is a record, not unwrapped again.
        let twice = json!({
            "Type": "Notification",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "Message": env.to_string(),
        });
        let records = parse_body(&twice.to_string()).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["Type"], "Notification");
        // Without a TopicArn it is an ordinary record.
        let plain = json!({"Type": "Notification", "Message": "{\"id\": 1}"});
        assert_eq!(parse_body(&plain.to_string()).unwrap().len(), 1);
        // An envelope whose message is not JSON is a bad message.
        let bad = json!({"Type": "Notification", "TopicArn": "a", "Message": "nope"});
        assert!(matches!(
            parse_body(&bad.to_string()),
            Err(BodyError::NotJson(_))
        ));
    }

    #[test]
    fn bad_bodies() {
        assert_eq!(parse_body(" \n"), Err(BodyError::Empty));
        assert!(matches!(parse_body("not json"), Err(BodyError::NotJson(_))));
        assert_eq!(parse_body("42"), Err(BodyError::NotObject("a number")));
        assert_eq!(parse_body("\"s\""), Err(BodyError::NotObject("a string")));
        assert_eq!(
            parse_body("[1, 2, 3]"),
            Err(BodyError::ArrayOfNonObjects {
                index: 0,
                kind: "a number"
            })
        );
        assert_eq!(
            parse_body(r#"[{"id": 1}, null]"#),
            Err(BodyError::ArrayOfNonObjects {
                index: 1,
                kind: "null"
            })
        );
        assert_eq!(
            parse_body("{\"id\": 1}\n[1]"),
            Err(BodyError::NdjsonNonObject {
                index: 1,
                kind: "an array"
            })
        );
        let err = parse_body("{\"id\": 1}\n{\"id\": ").unwrap_err();
        assert!(err.to_string().contains("record 1"), "{err}");
        // Deep nesting and huge bodies are errors, never panics.
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_body(&deep).is_err());
        let long = format!("{{\"x\": \"{}", "y".repeat(1 << 20));
        let err = parse_body(&long).unwrap_err().to_string();
        assert!(err.len() < 400, "{}", err.len());
    }

    #[test]
    fn sqs_events() {
        let event = json!({"Records": [
            {"messageId": "a", "receiptHandle": "rh", "body": "{}", "eventSource": "aws:sqs",
             "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q.fifo",
             "attributes": {"MessageGroupId": "g1", "SequenceNumber": "18849496460467696128"}},
            {"eventSource": "aws:sqs"}
        ]});
        let m = decode_sqs_event(&event).unwrap();
        assert_eq!(m[0].message_id, "a");
        assert_eq!(m[0].queue.as_deref(), Some("123456789012/q.fifo"));
        assert_eq!(m[0].fifo_position(), Some(("g1", 18849496460467696128u128)));
        assert_eq!(m[0].receipt_handle.as_deref(), Some("rh"));
        assert_eq!(m[1].message_id, "<record 1 without messageId>");
        assert_eq!(m[1].body, "");
        assert_eq!(m[1].fifo_position(), None);
        assert!(decode_sqs_event(&json!({"Records": [{"eventSource": "aws:s3"}]})).is_err());
        assert!(decode_sqs_event(&json!({"hello": 1})).is_err());
        assert!(decode_sqs_event(&json!({"Records": []}))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn queue_names() {
        assert_eq!(
            queue_from_arn("arn:aws:sqs:eu-west-1:111122223333:in").as_deref(),
            Some("111122223333/in")
        );
        assert_eq!(queue_from_arn("arn:aws:sns:eu-west-1:1:in"), None);
        assert_eq!(queue_from_arn("nonsense"), None);
        assert_eq!(
            queue_from_url("https://sqs.eu-west-1.amazonaws.com/111122223333/in").as_deref(),
            Some("111122223333/in")
        );
        assert_eq!(
            queue_from_url("http://127.0.0.1:5000/123456789012/q.fifo/").as_deref(),
            Some("123456789012/q.fifo")
        );
        assert_eq!(queue_from_url("http://host/q"), None);
    }
}
