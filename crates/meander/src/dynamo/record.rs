//! The DynamoDB Streams Lambda event: `{"Records": [...]}`, one record per
//! item change, decoded into [`StreamRecord`]s.
//!
//! Records are decoded in order; the first one that cannot be decoded stops
//! the batch there ([`DecodedStream::failure`]): Lambda retries from the
//! failed record's `SequenceNumber`, so what comes after it must not be
//! committed before it.
//!
//! Decoding is tolerant where sources differ: `ApproximateCreationDateTime`
//! is epoch seconds, whole (AWS) or fractional (moto), as a JSON number or
//! a numeric string; `eventSourceARN`, `eventID`, `StreamViewType`,
//! `SizeBytes` and `userIdentity` may be missing.

use std::cmp::Ordering;

use serde_json::Value;

use super::attr::{decode_item, Item, Number};

/// Width of a zero-padded sequence number (`_seq`): DynamoDB's are 21 to 40
/// digits, and padding makes string order numeric order.
pub const SEQUENCE_WIDTH: usize = 40;

/// What happened to the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventName {
    Insert,
    Modify,
    Remove,
}

impl EventName {
    pub fn as_str(self) -> &'static str {
        match self {
            EventName::Insert => "INSERT",
            EventName::Modify => "MODIFY",
            EventName::Remove => "REMOVE",
        }
    }
}

/// The stream's `StreamViewType`: which images records carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewType {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

impl ViewType {
    pub fn parse(s: &str) -> Option<ViewType> {
        match s {
            "KEYS_ONLY" => Some(ViewType::KeysOnly),
            "NEW_IMAGE" => Some(ViewType::NewImage),
            "OLD_IMAGE" => Some(ViewType::OldImage),
            "NEW_AND_OLD_IMAGES" => Some(ViewType::NewAndOldImages),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ViewType::KeysOnly => "KEYS_ONLY",
            ViewType::NewImage => "NEW_IMAGE",
            ViewType::OldImage => "OLD_IMAGE",
            ViewType::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }

    /// Whether INSERT and MODIFY records carry the item after the change.
    pub fn has_new_image(self) -> bool {
        matches!(self, ViewType::NewImage | ViewType::NewAndOldImages)
    }
}

/// A stream record's `SequenceNumber`: a decimal string of up to 40 digits,
/// ordered numerically.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SequenceNumber {
    /// As received (what a batch item failure must name).
    raw: String,
    /// Zero-padded to [`SEQUENCE_WIDTH`] digits.
    padded: String,
}

impl SequenceNumber {
    pub fn parse(raw: &str) -> Result<SequenceNumber, String> {
        let significant = raw.trim_start_matches('0');
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "SequenceNumber {:?} is not a decimal number",
                short(raw)
            ));
        }
        if significant.len() > SEQUENCE_WIDTH {
            return Err(format!(
                "SequenceNumber {:?} has more than {SEQUENCE_WIDTH} digits",
                short(raw)
            ));
        }
        Ok(SequenceNumber {
            raw: raw.to_string(),
            padded: format!("{significant:0>SEQUENCE_WIDTH$}"),
        })
    }

    /// The sequence number as received.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Zero-padded to 40 digits: string order is numeric order.
    pub fn padded(&self) -> &str {
        &self.padded
    }
}

impl Ord for SequenceNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        self.padded.cmp(&other.padded)
    }
}

impl PartialOrd for SequenceNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One decoded stream record.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    /// Position in the event's `Records`.
    pub index: usize,
    pub event_id: Option<String>,
    pub event_name: EventName,
    pub sequence_number: SequenceNumber,
    /// `ApproximateCreationDateTime` in microseconds since the epoch.
    pub created_micros: Option<i64>,
    pub keys: Item,
    pub new_image: Option<Item>,
    pub old_image: Option<Item>,
    pub view_type: Option<ViewType>,
    pub source_arn: Option<String>,
}

impl StreamRecord {
    /// The image a changelog row holds: `NewImage` (INSERT, MODIFY), or
    /// `OldImage` for REMOVE; `Keys` when the stream view has no such image
    /// (KEYS_ONLY, or NEW_IMAGE for a REMOVE, OLD_IMAGE for INSERT/MODIFY).
    /// The keys are always part of it.
    pub fn changelog_image(&self) -> Item {
        let image = match self.event_name {
            EventName::Insert | EventName::Modify => self.new_image.as_ref(),
            EventName::Remove => self.old_image.as_ref(),
        };
        with_keys(image, &self.keys)
    }

    /// The item after the change for INSERT/MODIFY (keys included), or an
    /// error saying which stream view is needed; the keys for REMOVE.
    pub fn mirror_image(&self) -> Result<Item, RecordError> {
        match self.event_name {
            EventName::Remove => Ok(self.keys.clone()),
            EventName::Insert | EventName::Modify => match &self.new_image {
                Some(image) => Ok(with_keys(Some(image), &self.keys)),
                None => Err(RecordError::ViewNeeded {
                    event: self.event_name.as_str(),
                    got: self.view_type.map(ViewType::as_str),
                }),
            },
        }
    }

    /// The DynamoDB table name from `eventSourceARN`.
    pub fn table_name(&self) -> Result<String, RecordError> {
        let arn = self.source_arn.as_deref().ok_or(RecordError::NoSourceArn)?;
        table_name_from_arn(arn).map_err(RecordError::Arn)
    }
}

fn with_keys(image: Option<&Item>, keys: &Item) -> Item {
    let mut item = image.cloned().unwrap_or_default();
    for (k, v) in keys {
        item.entry(k.clone()).or_insert_with(|| v.clone());
    }
    item
}

/// Why one record cannot be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("field `{field}`: {reason}")]
    Field { field: String, reason: String },
    #[error(transparent)]
    Attr(#[from] super::attr::AttrError),
    #[error(
        "{event} record without NewImage: upsert mode needs the stream view NEW_IMAGE or \
         NEW_AND_OLD_IMAGES, the stream sends {}; change the table's StreamViewType \
         or use MODE=append",
        got.unwrap_or("no StreamViewType")
    )]
    ViewNeeded {
        event: &'static str,
        got: Option<&'static str>,
    },
    #[error("record has no eventSourceARN, needed for `{{table}}` in DELTA_TABLE_URI")]
    NoSourceArn,
    #[error("eventSourceARN: {0}")]
    Arn(String),
}

fn field(field: &str, reason: impl Into<String>) -> RecordError {
    RecordError::Field {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// The first record that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFailure {
    pub index: usize,
    /// Its `SequenceNumber` as received, when it has one.
    pub sequence_number: Option<String>,
    pub error: RecordError,
}

/// The decoded event: every record before the first failure.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedStream {
    pub records: Vec<StreamRecord>,
    pub failure: Option<RecordFailure>,
    /// Records in the event, decoded or not.
    pub total: usize,
}

/// Why the payload is not a DynamoDB stream event at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a DynamoDB Streams event: {0}")]
pub struct EventError(pub String);

/// Decode a Lambda DynamoDB Streams event up to its first bad record.
pub fn decode_stream_event(payload: &Value) -> Result<DecodedStream, EventError> {
    let records = payload
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| EventError("expected an object with a `Records` array".into()))?;
    let mut out = DecodedStream {
        records: Vec::with_capacity(records.len()),
        failure: None,
        total: records.len(),
    };
    for (index, r) in records.iter().enumerate() {
        match decode_record(index, r) {
            Ok(record) => out.records.push(record),
            Err(error) => {
                out.failure = Some(RecordFailure {
                    index,
                    sequence_number: r
                        .get("dynamodb")
                        .and_then(|d| d.get("SequenceNumber"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    error,
                });
                break;
            }
        }
    }
    Ok(out)
}

/// Decode one record of the event.
pub fn decode_record(index: usize, r: &Value) -> Result<StreamRecord, RecordError> {
    if !r.is_object() {
        return Err(field("Records[]", "expected an object"));
    }
    if let Some(source) = r.get("eventSource").and_then(Value::as_str) {
        if source != "aws:dynamodb" {
            return Err(field(
                "eventSource",
                format!("{source:?} is not aws:dynamodb"),
            ));
        }
    }
    let event_name = match r.get("eventName").and_then(Value::as_str) {
        Some("INSERT") => EventName::Insert,
        Some("MODIFY") => EventName::Modify,
        Some("REMOVE") => EventName::Remove,
        Some(other) => {
            return Err(field(
                "eventName",
                format!("{:?} is not INSERT, MODIFY or REMOVE", short(other)),
            ))
        }
        None => return Err(field("eventName", "missing")),
    };
    let d = r
        .get("dynamodb")
        .filter(|d| d.is_object())
        .ok_or_else(|| field("dynamodb", "missing"))?;
    let sequence_number = SequenceNumber::parse(
        d.get("SequenceNumber")
            .and_then(Value::as_str)
            .ok_or_else(|| field("dynamodb.SequenceNumber", "missing"))?,
    )
    .map_err(|reason| field("dynamodb.SequenceNumber", reason))?;
    let created_micros = match d.get("ApproximateCreationDateTime") {
        None | Some(Value::Null) => None,
        Some(v) => Some(epoch_micros(v).ok_or_else(|| {
            field(
                "dynamodb.ApproximateCreationDateTime",
                format!("{v} is not epoch seconds"),
            )
        })?),
    };
    let keys = decode_item(
        d.get("Keys")
            .ok_or_else(|| field("dynamodb.Keys", "missing"))?,
        "",
    )?;
    if keys.is_empty() {
        return Err(field("dynamodb.Keys", "empty"));
    }
    let image = |name: &str| -> Result<Option<Item>, RecordError> {
        match d.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => Ok(Some(decode_item(v, "")?)),
        }
    };
    let view_type = match d.get("StreamViewType").and_then(Value::as_str) {
        None => None,
        Some(v) => Some(ViewType::parse(v).ok_or_else(|| {
            field(
                "dynamodb.StreamViewType",
                format!("{:?} is not a stream view type", short(v)),
            )
        })?),
    };
    Ok(StreamRecord {
        index,
        event_id: r
            .get("eventID")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        event_name,
        sequence_number,
        created_micros,
        keys,
        new_image: image("NewImage")?,
        old_image: image("OldImage")?,
        view_type,
        source_arn: r
            .get("eventSourceARN")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    })
}

/// Epoch seconds (whole or fractional, number or numeric string) as
/// microseconds; digits below a microsecond are dropped.
fn epoch_micros(v: &Value) -> Option<i64> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    Number::parse(&text).ok()?.shifted_trunc_i64(6)
}

/// `arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>` -> `<name>`.
pub fn table_name_from_arn(arn: &str) -> Result<String, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (Some(&"arn"), Some(&"dynamodb"), Some(resource)) =
        (parts.first(), parts.get(2), parts.get(5))
    else {
        return Err(format!("{:?} is not a DynamoDB ARN", short(arn)));
    };
    let name = resource
        .strip_prefix("table/")
        .and_then(|r| r.split('/').next())
        .unwrap_or_default();
    let valid = !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && name != "."
        && name != "..";
    if valid {
        Ok(name.to_string())
    } else {
        Err(format!(
            "{:?} does not name a DynamoDB table (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>)",
            short(arn)
        ))
    }
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::attr::Attr;
    use serde_json::json;

    const ARN: &str =
        "arn:aws:dynamodb:us-east-1:123456789012:table/Orders.v2/stream/2026-11-21T06:02:30.671371";

    fn record(name: &str, seq: &str) -> Value {
        json!({
            "eventID": format!("id-{seq}"),
            "eventName": name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "eventSourceARN": ARN,
            "dynamodb": {
                "ApproximateCreationDateTime": 1795240950,
                "Keys": {"pk": {"S": "a"}},
                "NewImage": {"pk": {"S": "a"}, "n": {"N": "1"}},
                "OldImage": {"pk": {"S": "a"}, "n": {"N": "0"}},
                "SequenceNumber": seq,
                "SizeBytes": 26,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            }
        })
    }

    #[test]
    fn aws_record_decodes() {
        let decoded = decode_stream_event(&json!({"Records": [record("MODIFY", "111")]})).unwrap();
        assert!(decoded.failure.is_none());
        let r = &decoded.records[0];
        assert_eq!(r.event_name, EventName::Modify);
        assert_eq!(r.event_id.as_deref(), Some("id-111"));
        assert_eq!(r.sequence_number.as_str(), "111");
        assert_eq!(r.sequence_number.padded().len(), SEQUENCE_WIDTH);
        assert_eq!(r.created_micros, Some(1_795_240_950_000_000));
        assert_eq!(r.view_type, Some(ViewType::NewAndOldImages));
        assert_eq!(r.table_name().unwrap(), "Orders.v2");
        let image = r.changelog_image();
        assert_eq!(image["n"], Attr::N(Number::parse("1").unwrap()));
    }

    #[test]
    fn moto_fractional_creation_times_and_missing_fields() {
        let mut r = record("INSERT", "1100000000017454423009");
        r["dynamodb"]["ApproximateCreationDateTime"] = json!(1795240950.678);
        r.as_object_mut().unwrap().remove("eventSourceARN");
        r.as_object_mut().unwrap().remove("eventID");
        let r = decode_record(0, &r).unwrap();
        assert_eq!(r.created_micros, Some(1_795_240_950_678_000));
        assert_eq!(r.event_id, None);
        assert_eq!(r.table_name(), Err(RecordError::NoSourceArn));
        let mut s = record("INSERT", "1");
        s["dynamodb"]["ApproximateCreationDateTime"] = json!("1795240950.1234567");
        assert_eq!(
            decode_record(0, &s).unwrap().created_micros,
            Some(1_795_240_950_123_456)
        );
    }

    #[test]
    fn sequence_numbers_order_numerically() {
        let a = SequenceNumber::parse("99999999999999999999").unwrap();
        let b = SequenceNumber::parse("100000000000000000000").unwrap();
        assert!(a < b);
        assert!(a.padded() < b.padded());
        let max = "9".repeat(40);
        assert!(SequenceNumber::parse(&max).is_ok());
        assert!(SequenceNumber::parse(&"9".repeat(41)).is_err());
        assert!(SequenceNumber::parse("12a").is_err());
        assert!(SequenceNumber::parse("").is_err());
        assert_eq!(
            SequenceNumber::parse("007").unwrap(),
            SequenceNumber::parse("007").unwrap()
        );
        assert_eq!(SequenceNumber::parse("007").unwrap().as_str(), "007");
    }

    #[test]
    fn the_first_bad_record_stops_the_batch() {
        let mut bad = record("INSERT", "222");
        bad["dynamodb"]["NewImage"]["n"] = json!({"N": "twelve"});
        let event = json!({"Records": [record("INSERT", "111"), bad, record("INSERT", "333")]});
        let d = decode_stream_event(&event).unwrap();
        assert_eq!(d.records.len(), 1);
        assert_eq!(d.total, 3);
        let f = d.failure.unwrap();
        assert_eq!(f.index, 1);
        assert_eq!(f.sequence_number.as_deref(), Some("222"));
        assert!(f.error.to_string().contains("attribute `n`"), "{}", f.error);
    }

    #[test]
    fn malformed_records() {
        let cases: Vec<(Value, &str)> = vec![
            (json!(3), "Records[]"),
            (json!({"eventName": "UPSERT", "dynamodb": {}}), "eventName"),
            (json!({"eventName": "INSERT"}), "dynamodb"),
            (
                json!({"eventName": "INSERT", "dynamodb": {"Keys": {"a": {"S": "x"}}}}),
                "dynamodb.SequenceNumber",
            ),
            (
                json!({"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1"}}),
                "dynamodb.Keys",
            ),
            (
                json!({"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "Keys": {}}}),
                "dynamodb.Keys",
            ),
            (
                json!({"eventName": "INSERT", "eventSource": "aws:kinesis", "dynamodb": {}}),
                "eventSource",
            ),
            (
                json!({"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "Keys": {"a": {"S": "x"}}, "ApproximateCreationDateTime": "soon"}}),
                "dynamodb.ApproximateCreationDateTime",
            ),
            (
                json!({"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "Keys": {"a": {"S": "x"}}, "StreamViewType": "ALL"}}),
                "dynamodb.StreamViewType",
            ),
        ];
        for (value, expected) in cases {
            match decode_record(0, &value) {
                Err(RecordError::Field { field, .. }) => assert_eq!(field, expected, "{value}"),
                other => panic!("{value}: {other:?}"),
            }
        }
        assert!(decode_stream_event(&json!({"records": []})).is_err());
        assert!(decode_stream_event(&json!([])).is_err());
    }

    #[test]
    fn images_per_view_type() {
        let keys_only = json!({
            "eventName": "MODIFY",
            "dynamodb": {"SequenceNumber": "5", "Keys": {"pk": {"S": "a"}}, "StreamViewType": "KEYS_ONLY"}
        });
        let r = decode_record(0, &keys_only).unwrap();
        assert_eq!(r.changelog_image().len(), 1);
        let err = r.mirror_image().unwrap_err();
        assert!(
            err.to_string().contains("NEW_IMAGE or NEW_AND_OLD_IMAGES"),
            "{err}"
        );
        assert!(err.to_string().contains("KEYS_ONLY"), "{err}");
        let mut remove = record("REMOVE", "6");
        remove["dynamodb"]
            .as_object_mut()
            .unwrap()
            .remove("NewImage");
        let r = decode_record(0, &remove).unwrap();
        assert_eq!(
            r.changelog_image()["n"],
            Attr::N(Number::parse("0").unwrap())
        );
        assert_eq!(r.mirror_image().unwrap().len(), 1, "keys only");
    }

    #[test]
    fn table_names_from_stream_arns() {
        assert_eq!(table_name_from_arn(ARN).unwrap(), "Orders.v2");
        assert_eq!(
            table_name_from_arn("arn:aws-cn:dynamodb:cn-north-1:1:table/t_1/stream/x").unwrap(),
            "t_1"
        );
        for bad in [
            "",
            "arn:aws:sqs:us-east-1:1:table/t/stream/x",
            "arn:aws:dynamodb:us-east-1:1:index/t",
            "arn:aws:dynamodb:us-east-1:1:table/../stream/x",
            "arn:aws:dynamodb:us-east-1:1:table/a b/stream/x",
            "arn:aws:dynamodb:us-east-1:1:table//stream/x",
        ] {
            assert!(table_name_from_arn(bad).is_err(), "{bad}");
        }
    }
}
