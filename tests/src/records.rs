//! Sample records shared by the end-to-end tests and the benchmarks: a
//! DynamoDB item with every attribute type, and a JSON message for
//! sqs-ingest.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue as A;
use serde_json::json;

/// Item `i`: every attribute type DynamoDB has (S, N incl. 38 digits, BOOL,
/// NULL every third item, B, SS, NS, BS, nested M, L).
pub fn dynamo_item(i: usize) -> HashMap<String, A> {
    let mut m: HashMap<String, A> = HashMap::new();
    m.insert("pk".into(), A::S(format!("user#{}", i % 10)));
    m.insert("sk".into(), A::N(i.to_string()));
    m.insert("name".into(), A::S(format!("name {i} é")));
    m.insert("qty".into(), A::N((i * 3).to_string()));
    m.insert("price".into(), A::N(format!("{}.{:02}", i, i % 97 + 1)));
    m.insert(
        "big".into(),
        A::N(format!(
            "{}{:02}",
            "123456789012345678901234567890123456",
            i % 100
        )),
    );
    m.insert("active".into(), A::Bool(i.is_multiple_of(2)));
    if i.is_multiple_of(3) {
        m.insert("nothing".into(), A::Null(true));
    }
    m.insert("blob".into(), A::B(Blob::new(vec![i as u8, 0, 255])));
    m.insert("tags".into(), A::Ss(vec![format!("t{i}"), "common".into()]));
    m.insert("scores".into(), A::Ns(vec![i.to_string(), "2.5".into()]));
    m.insert(
        "bins".into(),
        A::Bs(vec![Blob::new(vec![1, 2]), Blob::new(vec![i as u8])]),
    );
    m.insert(
        "profile".into(),
        A::M(HashMap::from([
            ("city".to_string(), A::S(format!("city {}", i % 4))),
            ("zip".to_string(), A::N(format!("{}", 10_000 + i))),
            (
                "deep".to_string(),
                A::M(HashMap::from([(
                    "level".to_string(),
                    A::M(HashMap::from([("leaf".to_string(), A::Bool(true))])),
                )])),
            ),
        ])),
    );
    m.insert(
        "history".into(),
        A::L(vec![
            A::S("created".into()),
            A::N(i.to_string()),
            A::Null(true),
        ]),
    );
    m
}

/// The key (`pk`, `sk`) of [`dynamo_item`] `i`.
pub fn dynamo_key(i: usize) -> HashMap<String, A> {
    HashMap::from([
        ("pk".to_string(), A::S(format!("user#{}", i % 10))),
        ("sk".to_string(), A::N(i.to_string())),
    ])
}

/// JSON message `i` for sqs-ingest: a long id, strings, an ISO timestamp
/// and a nested object with an array.
pub fn json_message(i: i64) -> String {
    json!({
        "id": i,
        "name": format!("user-{i}"),
        "ts": format!("2026-11-{:02}T10:00:00Z", 1 + i % 28),
        "payload": {"score": i as f64 / 2.0, "tags": ["a", "b"]}
    })
    .to_string()
}
