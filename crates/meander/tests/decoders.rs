//! Property tests of every decoder of outside input: trigger envelopes (S3,
//! SNS, EventBridge, SQS), object keys and their table/partition
//! classification, DynamoDB typed JSON and numbers, sqs-ingest bodies ->
//! Arrow, and Parquet footers. None may panic on any input; valid inputs
//! round-trip.
//!
//! Case counts are bounded so the whole file runs in seconds in CI;
//! `PROPTEST_CASES=N` raises every block's count (soak).

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use meander::dynamo::attr::{decode_attr, decode_item, dynamodb_json, Attr, Number};
use meander::dynamo::record::decode_stream_event;
use meander::events::{decode_body, decode_key, decode_payload, validate_key, ObjectEventKind};
use meander::ingest::body::{decode_sqs_event, parse_body};
use meander::ingest::decode::decode;
use meander::ingest::infer::{infer_record, InferOptions};
use meander::parquet_meta::{decode_metadata, delta_schema, file_schema, stats, StatsConfig};
use meander::table::{classify, KeyClass, TablePrefixes};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Cases per block: `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        // Strings of the shapes the decoders look for.
        prop_oneof![
            Just("ObjectCreated:Put"),
            Just("ObjectRemoved:Delete"),
            Just("aws:s3"),
            Just("aws:sqs"),
            Just("Notification"),
            Just("Object Created"),
            Just("INSERT"),
            Just("MODIFY"),
            Just("REMOVE"),
            Just("../.."),
            Just("a%2Fb+c"),
            Just("%FF%FE"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key_name(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// Field names, biased towards the ones envelopes use.
fn key_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop_oneof![
            Just("Records"), Just("s3"), Just("bucket"), Just("object"), Just("name"),
            Just("key"), Just("size"), Just("eventName"), Just("eventSource"), Just("body"),
            Just("messageId"), Just("Sns"), Just("Message"), Just("Type"), Just("TopicArn"),
            Just("detail"), Just("detail-type"), Just("source"), Just("dynamodb"),
            Just("NewImage"), Just("Keys"), Just("S"), Just("N"), Just("M"), Just("L"),
            Just("B"), Just("SS"), Just("NS"), Just("BS"), Just("BOOL"), Just("NULL"),
            Just("SequenceNumber"), Just("eventSourceARN"), Just("attributes"),
        ].prop_map(str::to_string),
        1 => "[a-zA-Z_]{1,8}",
    ]
}

/// A valid S3 key of 1..=`max` bytes of safe characters.
fn valid_key(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec("[a-zA-Z0-9=_.-]{1,12}", 1..8)
        .prop_map(|segs| {
            segs.into_iter()
                .map(|s| {
                    if s == "." || s == ".." {
                        "x".to_string()
                    } else {
                        s
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        })
        .prop_filter("length", move |k| k.len() <= max)
}

/// Form-URL-encode a key as S3 events do.
fn event_encode(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

proptest! {
    #![proptest_config(cases(256))]

    /// Arbitrary bytes as a message body: an error or a decode, never a panic.
    #[test]
    fn event_bodies_of_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = decode_body(&text);
        let _ = parse_body(&text);
    }

    /// Arbitrary JSON payloads through every payload decoder.
    #[test]
    fn payloads_of_arbitrary_json_never_panic(v in any_json()) {
        let _ = decode_payload(&v);
        let _ = decode_body(&v.to_string());
        let _ = decode_sqs_event(&v);
        let _ = decode_stream_event(&v);
        let _ = parse_body(&v.to_string());
        let _ = decode_item(&v, "item");
        let _ = decode_attr(&v, "a", 0);
        let wrapped = json!({"Records": [{"messageId": "m", "body": v.to_string(), "eventSource": "aws:sqs"}]});
        let _ = decode_payload(&wrapped);
    }

    /// A valid S3 notification round-trips: bucket, decoded key, size, kind.
    #[test]
    fn s3_notifications_round_trip(
        key in valid_key(1024),
        size in any::<u32>(),
        created in any::<bool>(),
        through_sns in any::<bool>(),
    ) {
        let event_name = if created { "ObjectCreated:Put" } else { "ObjectRemoved:Delete" };
        let s3 = json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-21T08:00:00.000Z", "eventName": event_name,
            "s3": {"bucket": {"name": "my-bucket"},
                   "object": {"key": event_encode(&key), "size": size}}
        }]});
        let body = if through_sns {
            json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t",
                   "Message": s3.to_string()}).to_string()
        } else {
            s3.to_string()
        };
        let payload = json!({"Records": [{"messageId": "m-1", "body": body, "eventSource": "aws:sqs"}]});
        let batch = decode_payload(&payload).expect("a valid notification decodes");
        prop_assert!(batch.failures.is_empty(), "{:?}", batch.failures);
        prop_assert_eq!(batch.events.len(), 1);
        let e = &batch.events[0];
        prop_assert_eq!(&e.bucket, "my-bucket");
        prop_assert_eq!(&e.key, &key);
        prop_assert_eq!(e.kind, if created { ObjectEventKind::Created } else { ObjectEventKind::Removed });
        if created {
            prop_assert_eq!(e.size, Some(u64::from(size)));
        }
        prop_assert_eq!(e.message_id.as_deref(), Some("m-1"));
    }

    /// Hostile keys: `..`, control characters, over 1 KiB, bad escapes.
    /// Decoding rejects or returns a key that passes validation; a decoded
    /// key never has a `..` segment or a control character.
    #[test]
    fn hostile_keys_are_rejected_or_safe(
        prefix in valid_key(200),
        junk in prop_oneof![
            Just("..".to_string()), Just(".".to_string()), Just("%2E%2E".to_string()),
            Just("%00".to_string()), Just("%0A".to_string()), Just("\u{7f}".to_string()),
            Just("%FF".to_string()), Just("%".to_string()), Just("%G1".to_string()),
            Just("".to_string()), "[\\x00-\\x1f]{1,3}", "\\PC{0,8}",
        ],
        long in 0usize..1400,
    ) {
        let raw = format!("{prefix}/{junk}/{}", "k".repeat(long));
        match decode_key(&raw) {
            Ok(key) => {
                prop_assert!(validate_key(&key).is_ok());
                prop_assert!(key.len() <= 1024);
                prop_assert!(!key.split('/').any(|s| s == ".." || s == "."));
                prop_assert!(!key.chars().any(char::is_control));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// Classification of any key: never a panic; data files stay inside
    /// their table root; partition values come only from `k=v` folders.
    #[test]
    fn key_classification_is_total_and_consistent(
        segs in prop::collection::vec(prop_oneof![
            "[a-z]{1,6}", "[a-z]{1,4}=[a-z0-9%]{0,6}", Just("_delta_log".to_string()),
            Just("..".to_string()), Just("".to_string()), Just("_tmp".to_string()),
            Just(".hidden".to_string()), "\\PC{0,5}",
        ], 0..7),
        file in prop_oneof![
            "[a-z0-9-]{1,10}\\.parquet", "[a-z0-9-]{1,10}\\.PARQUET", Just("00000000000000000007.json".to_string()),
            Just("_SUCCESS".to_string()), "\\PC{0,12}",
        ],
        configured in any::<bool>(),
    ) {
        let key = segs.iter().cloned().chain([file]).collect::<Vec<_>>().join("/");
        let prefixes = if configured {
            TablePrefixes::parse(&["s3://b/", "s3://b/abc/def"]).expect("prefixes")
        } else {
            TablePrefixes::default()
        };
        // Keys reach classification only once decoded and validated
        // (`decode_key`); anything else must still not panic.
        let class = classify("b", &key, &prefixes);
        if validate_key(&key).is_err() {
            return Ok(());
        }
        match class {
            KeyClass::Data(d) => {
                let root = &d.table.prefix;
                prop_assert!(root.is_empty() || key.starts_with(&format!("{root}/")), "{root} / {key}");
                let expected_relative = if root.is_empty() { key.clone() } else { key[root.len() + 1..].to_string() };
                prop_assert_eq!(&d.relative_key, &expected_relative);
                for (k, _) in &d.partition_values {
                    prop_assert!(!k.is_empty());
                }
            }
            KeyClass::Commit { version, .. } => prop_assert_eq!(version, 7),
            KeyClass::Ignored(_) => {}
        }
    }
}

/// A DynamoDB attribute value in typed JSON, with its expected [`Attr`]
/// built the same way.
fn dynamo_value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        // Integers up to DynamoDB's 38 digits, signed.
        ("-?", "[1-9][0-9]{0,37}").prop_map(|(s, d)| format!("{s}{d}")),
        // Decimals and exponents.
        "-?[0-9]{1,10}\\.[0-9]{1,10}",
        "[1-9]\\.[0-9]{0,10}[eE][+-]?[0-9]{1,3}",
        Just("0".to_string()),
        Just("-0.0".to_string()),
    ];
    let leaf = prop_oneof![
        "\\PC{0,20}".prop_map(|s| json!({"S": s})),
        number.clone().prop_map(|n| json!({"N": n})),
        prop::collection::vec(any::<u8>(), 0..20)
            .prop_map(|b| json!({"B": meander::dynamo::attr::base64_encode(&b)})),
        any::<bool>().prop_map(|b| json!({"BOOL": b})),
        Just(json!({"NULL": true})),
        prop::collection::btree_set("[a-z]{1,5}", 1..4).prop_map(|s| json!({"SS": s})),
        prop::collection::btree_set("[1-9][0-9]{0,5}", 1..4).prop_map(|s| json!({"NS": s})),
    ];
    leaf.prop_recursive(5, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|l| json!({"L": l})),
            prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_.-]{0,8}", inner, 0..5)
                .prop_map(|m| json!({"M": m})),
        ]
    })
}

proptest! {
    #![proptest_config(cases(256))]

    /// Typed JSON decodes and renders back to JSON that decodes the same.
    #[test]
    fn dynamodb_attributes_round_trip(v in dynamo_value()) {
        let attr = decode_attr(&v, "a", 0).expect("valid typed JSON decodes");
        let text = dynamodb_json(&attr);
        let again: Value = serde_json::from_str(&text).expect("rendering is JSON");
        let back = decode_attr(&again, "a", 0).expect("rendering decodes");
        prop_assert_eq!(back, attr);
    }

    /// Integers of up to 38 digits are exact as decimal(38, 0) and as i64
    /// when they fit.
    #[test]
    fn dynamodb_numbers_up_to_38_digits_are_exact(neg in any::<bool>(), digits in "[1-9][0-9]{0,37}") {
        let text = format!("{}{digits}", if neg { "-" } else { "" });
        let n = Number::parse(&text).expect("a 38-digit number parses");
        let expected: i128 = text.parse().expect("fits i128");
        prop_assert_eq!(n.to_decimal(38, 0), Some(expected));
        prop_assert_eq!(n.to_i64(), i64::try_from(expected).ok());
        prop_assert_eq!(&n.to_string(), &text);
        let attr = decode_attr(&json!({"N": text}), "n", 0).expect("decodes");
        prop_assert_eq!(attr, Attr::N(n));
    }

    /// Any number text: a number or an error, never a panic.
    #[test]
    fn number_text_never_panics(text in "[-+0-9.eE]{0,50}|\\PC{0,20}") {
        if let Ok(n) = Number::parse(&text) {
            let _ = (n.to_i64(), n.to_decimal(38, 10), n.to_f64_exact(), n.shifted_trunc_i64(6));
            prop_assert_eq!(Number::parse(&n.to_string()).expect("display parses"), n);
        }
    }

    /// Stream events of arbitrary records: per-record failures, no panic.
    #[test]
    fn stream_events_never_panic(records in prop::collection::vec(any_json(), 0..5), image in dynamo_value()) {
        let mut rs = records;
        rs.push(json!({
            "eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/t/stream/2026",
            "dynamodb": {"Keys": {"pk": {"S": "a"}}, "NewImage": {"pk": {"S": "a"}, "v": image},
                         "SequenceNumber": "100", "StreamViewType": "NEW_AND_OLD_IMAGES"}
        }));
        let _ = decode_stream_event(&json!({"Records": rs}));
    }
}

/// A JSON record of the kinds sqs-ingest takes.
fn record() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
        Just(json!("99999999999999999999999999999999999999")),
        Just(json!(u64::MAX)),
    ];
    let value = scalar.prop_recursive(3, 20, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map("[a-eA-E ]{1,3}", value, 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

proptest! {
    #![proptest_config(cases(128))]

    /// Bodies -> records -> inferred schema -> Arrow: every step an error
    /// or a result, never a panic; a record whose schema was inferred
    /// decodes against it into exactly one row.
    #[test]
    fn ingest_bodies_decode_without_panic(records in prop::collection::vec(record(), 1..6), ndjson in any::<bool>()) {
        let body = if ndjson {
            records.iter().map(Value::to_string).collect::<Vec<_>>().join("\n")
        } else {
            Value::Array(records.clone()).to_string()
        };
        let parsed = parse_body(&body).expect("objects are records");
        prop_assert_eq!(parsed.len(), records.len());
        let options = InferOptions::new(&["a"]);
        for r in &parsed {
            if let Ok(schema) = infer_record(r, &options) {
                let one = [r.clone()];
                let decoded = decode(&schema, &[&one[..]]);
                if let Ok(d) = decoded {
                    let rows: usize = d.batches.iter().map(|b| b.num_rows()).sum();
                    prop_assert!(rows <= 1);
                }
            }
        }
    }
}

/// A valid Parquet file to corrupt.
fn parquet_file() -> Vec<u8> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..50)),
        Arc::new(StringArray::from_iter_values(
            (0..50).map(|i| format!("n{i}")),
        )),
    ];
    let batch = RecordBatch::try_new(schema, columns).expect("batch");
    meander::ingest::write::encode_parquet(&batch)
        .expect("encode")
        .to_vec()
}

proptest! {
    #![proptest_config(cases(256))]

    /// Arbitrary bytes, and a valid file with bytes changed or cut anywhere
    /// (mostly in the footer): a footer error or metadata, never a panic;
    /// whatever decodes goes on through schema and stats mapping.
    #[test]
    fn parquet_footers_of_any_bytes_never_panic(
        noise in prop::collection::vec(any::<u8>(), 0..300),
        edits in prop::collection::vec((0usize..400, any::<u8>()), 0..6),
        cut in 0usize..64,
        mode in 0u8..3,
    ) {
        let bytes = match mode {
            0 => {
                let mut b = noise.clone();
                b.extend_from_slice(&(noise.len() as u32).to_le_bytes());
                b.extend_from_slice(b"PAR1");
                let mut with_head = b"PAR1".to_vec();
                with_head.extend(b);
                with_head
            }
            1 => {
                let mut f = parquet_file();
                let n = f.len();
                for (back, byte) in &edits {
                    let at = n.saturating_sub(1 + back % n.min(400));
                    f[at] = *byte;
                }
                f
            }
            _ => {
                let f = parquet_file();
                let keep = f.len().saturating_sub(cut + 1);
                let mut g = f[..keep].to_vec();
                g.extend_from_slice(&f[f.len() - 8..]);
                g
            }
        };
        if let Ok(meta) = decode_metadata("p.parquet", &bytes) {
            if let Ok(schema) = file_schema("p.parquet", &meta) {
                if let Ok(delta) = delta_schema("p.parquet", &schema) {
                    let _ = stats("p.parquet", &meta, &delta, &StatsConfig::default());
                }
            }
        }
    }
}

#[test]
fn the_uncorrupted_file_decodes() {
    let f = parquet_file();
    let meta = decode_metadata("p.parquet", &f).expect("valid file");
    assert_eq!(meta.file_metadata().num_rows(), 50);
}

/// The footer's `ARROW:schema` hint of a file with many column types.
fn arrow_hint() -> (Vec<u8>, parquet::schema::types::SchemaDescPtr) {
    use arrow::datatypes::TimeUnit;
    let schema = Schema::new(vec![
        Field::new("i", DataType::Int32, true),
        Field::new(
            "t",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            true,
        ),
        Field::new("d", DataType::Decimal128(20, 2), true),
        Field::new_list("l", Field::new_list_field(DataType::Utf8, true), true),
        Field::new_struct("s", vec![Field::new("f", DataType::Float64, true)], true),
        Field::new("dt", DataType::Date32, true),
    ]);
    let encoded = parquet::arrow::encode_arrow_schema(&schema);
    let bytes = meander::dynamo::attr::base64_decode(&encoded).expect("base64");
    let descr = parquet::arrow::ArrowSchemaConverter::new()
        .convert(&schema)
        .expect("parquet schema");
    (bytes, Arc::new(descr))
}

proptest! {
    #![proptest_config(cases(512))]

    /// A damaged `ARROW:schema` hint is either refused by the check or
    /// converted by parquet without a panic (arrow-ipc panics on some).
    #[test]
    fn damaged_arrow_schema_hints_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let (mut bytes, descr) = arrow_hint();
        let n = bytes.len();
        for (at, b) in edits {
            bytes[at % n] = b;
        }
        let encoded = meander::dynamo::attr::base64_encode(&bytes);
        if meander::parquet_meta::arrow_hint_is_safe(&encoded) {
            let kv = vec![parquet::file::metadata::KeyValue::new("ARROW:schema".to_string(), encoded)];
            let _ = parquet::arrow::parquet_to_arrow_schema(&descr, Some(&kv));
        }
    }
}

#[test]
fn the_undamaged_arrow_schema_hint_is_used() {
    let (bytes, _) = arrow_hint();
    assert!(meander::parquet_meta::arrow_hint_is_safe(
        &meander::dynamo::attr::base64_encode(&bytes)
    ));
}
