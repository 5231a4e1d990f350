//! Sample records shared by the end-to-end tests and the benchmarks: a
//! DynamoDB item with every attribute type, and a JSON message for
//! sqs-ingest.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue as A;
use serde_json::{json, Value};

use crate::streams::base64;

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

/// An item of the DynamoDB API ([`dynamo_item`]) in DynamoDB JSON, as a
/// stream record's `Keys`/`NewImage`/`OldImage` carry it.
pub fn dynamo_item_json(item: &HashMap<String, A>) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), dynamo_value_json(v)))
            .collect(),
    )
}

/// One attribute value in DynamoDB JSON (the API type's counterpart of
/// [`crate::streams::attribute_json`]).
pub fn dynamo_value_json(v: &A) -> Value {
    match v {
        A::S(s) => json!({ "S": s }),
        A::N(n) => json!({ "N": n }),
        A::B(b) => json!({ "B": base64(b.as_ref()) }),
        A::Ss(v) => json!({ "SS": v }),
        A::Ns(v) => json!({ "NS": v }),
        A::Bs(v) => json!({ "BS": v.iter().map(|b| base64(b.as_ref())).collect::<Vec<_>>() }),
        A::M(m) => json!({ "M": dynamo_item_json(m) }),
        A::L(l) => json!({ "L": l.iter().map(dynamo_value_json).collect::<Vec<_>>() }),
        A::Null(b) => json!({ "NULL": b }),
        A::Bool(b) => json!({ "BOOL": b }),
        other => json!({ "UNKNOWN": format!("{other:?}") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_become_dynamodb_json() {
        let j = dynamo_item_json(&dynamo_item(3));
        assert_eq!(j["pk"], json!({"S": "user#3"}));
        assert_eq!(j["nothing"], json!({"NULL": true}));
        assert_eq!(j["blob"], json!({"B": "AwD/"}));
        assert_eq!(
            j["profile"]["M"]["deep"]["M"]["level"]["M"]["leaf"],
            json!({"BOOL": true})
        );
        assert_eq!(j["history"]["L"][2], json!({"NULL": true}));
    }
}
