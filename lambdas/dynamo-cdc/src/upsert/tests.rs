use super::*;
use deltalake::datafusion::prelude::SessionContext;
use meander::dynamo::record::decode_record;
use serde_json::{json, Value};

fn record(index: usize, seq: u64, name: &str, pk: &str, image: Value) -> StreamRecord {
    let keys = json!({"pk": {"S": pk}});
    let mut new_image = image;
    if let Some(m) = new_image.as_object_mut() {
        m.insert("pk".into(), json!({"S": pk}));
    }
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": 1795240950,
        "Keys": keys,
        "NewImage": new_image,
        "SequenceNumber": format!("{}", 1_000_000_000_000_000_000_000u128 + u128::from(seq)),
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    });
    if name == "REMOVE" {
        dynamodb.as_object_mut().unwrap().remove("NewImage");
    }
    decode_record(
        index,
        &json!({"eventID": format!("e{seq}"), "eventName": name, "dynamodb": dynamodb}),
    )
    .expect("record")
}

fn table_at(dir: &std::path::Path) -> DeltaTable {
    meander::tables::open_handle(&url::Url::from_directory_path(dir).unwrap()).unwrap()
}

fn config() -> UpsertConfig {
    UpsertConfig {
        retry: RetryPolicy {
            max_attempts: 10,
            base_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(5),
        },
        ..Default::default()
    }
}

/// The table's rows as JSON objects (nulls left out), by `pk`.
async fn rows(dir: &std::path::Path) -> Vec<Value> {
    let mut table = table_at(dir);
    table.load().await.unwrap();
    let provider = table.table_provider().await.unwrap();
    let ctx = SessionContext::new();
    ctx.register_table("t", provider).unwrap();
    let batches = ctx
        .sql("SELECT * FROM t ORDER BY pk")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::ArrayWriter::new(&mut buf);
        for b in &batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
    }
    if buf.is_empty() {
        return Vec::new();
    }
    serde_json::from_slice(&buf).unwrap()
}

fn pks(rows: &[Value]) -> Vec<&str> {
    rows.iter()
        .map(|r| r["pk"].as_str().unwrap_or("?"))
        .collect()
}

#[tokio::test]
async fn mirror_applies_latest_changes_and_ignores_replays() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = table_at(dir.path());
    let first = vec![
        record(
            0,
            1,
            "INSERT",
            "a",
            json!({"n": {"N": "1"}, "s": {"S": "x"}}),
        ),
        record(1, 2, "INSERT", "b", json!({"n": {"N": "2"}})),
        record(2, 3, "INSERT", "c", json!({"n": {"N": "3"}})),
        record(3, 4, "MODIFY", "a", json!({"n": {"N": "10"}})),
    ];
    let r = upsert_changes(&mut table, &first, &config()).await.unwrap();
    assert!(r.created);
    assert_eq!((r.records, r.keys, r.inserted), (4, 3, 3));
    let got = rows(dir.path()).await;
    assert_eq!(pks(&got), ["a", "b", "c"]);
    assert_eq!(got[0]["n"], 10);
    assert!(got[0].get("s").is_none(), "MODIFY replaced the whole item");
    assert_eq!(got[0]["_seq"].as_str().unwrap().len(), 40);
    let version = table.version();

    // Replay of the same records: nothing changes, nothing is committed.
    let r = upsert_changes(&mut table, &first, &config()).await.unwrap();
    assert_eq!((r.inserted, r.updated, r.deleted), (0, 0, 0));
    assert_eq!(table.version(), version);

    // Next batch: a delete, an update with a new attribute, and an older
    // change that must be ignored.
    let second = vec![
        record(0, 5, "REMOVE", "b", json!({})),
        record(
            1,
            6,
            "MODIFY",
            "c",
            json!({"n": {"N": "30"}, "tags": {"SS": ["t"]}}),
        ),
        record(2, 3, "INSERT", "a", json!({"n": {"N": "1"}})),
    ];
    let r = upsert_changes(&mut table, &second, &config())
        .await
        .unwrap();
    assert_eq!((r.updated, r.deleted, r.inserted), (1, 1, 0), "{r:?}");
    assert!(r.schema_evolved);
    let got = rows(dir.path()).await;
    assert_eq!(pks(&got), ["a", "c"]);
    assert_eq!(got[0]["n"], 10, "the older INSERT of a was ignored");
    assert_eq!(got[1]["tags"], json!(["t"]));

    // A REMOVE and an INSERT of one key in a batch: the later wins.
    let third = vec![
        record(0, 7, "INSERT", "d", json!({})),
        record(1, 8, "REMOVE", "d", json!({})),
        record(2, 9, "REMOVE", "zzz", json!({})),
    ];
    upsert_changes(&mut table, &third, &config()).await.unwrap();
    assert_eq!(pks(&rows(dir.path()).await), ["a", "c"]);
}

#[tokio::test]
async fn keys_only_streams_are_refused_at_the_first_record_needing_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = table_at(dir.path());
    let mut keys_only = record(2, 3, "MODIFY", "a", json!({}));
    keys_only.new_image = None;
    keys_only.view_type = Some(meander::dynamo::ViewType::KeysOnly);
    let batch = vec![
        record(0, 1, "INSERT", "a", json!({"n": {"N": "1"}})),
        record(1, 2, "REMOVE", "zz", json!({})),
        keys_only,
        record(3, 4, "INSERT", "b", json!({})),
    ];
    let r = upsert_changes(&mut table, &batch, &config()).await.unwrap();
    let (index, error) = r.failed_at.clone().unwrap();
    assert_eq!(index, 2);
    assert!(
        error.contains("NEW_IMAGE or NEW_AND_OLD_IMAGES") && error.contains("KEYS_ONLY"),
        "{error}"
    );
    assert_eq!(r.records, 2);
    assert_eq!(pks(&rows(dir.path()).await), ["a"]);
}

#[tokio::test]
async fn a_key_that_does_not_fit_its_column_fails_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = table_at(dir.path());
    let num_key = |index: usize, seq: u64, n: &str| {
        decode_record(
            index,
            &json!({"eventID": format!("e{seq}"), "eventName": "INSERT", "dynamodb": {
                "Keys": {"id": {"N": n}},
                "NewImage": {"id": {"N": n}, "v": {"S": "x"}},
                "SequenceNumber": seq.to_string(),
                "StreamViewType": "NEW_IMAGE"
            }}),
        )
        .unwrap()
    };
    upsert_changes(&mut table, &[num_key(0, 100, "1")], &config())
        .await
        .unwrap();
    let r = upsert_changes(
        &mut table,
        &[
            num_key(0, 101, "2"),
            num_key(1, 102, "2.5"),
            num_key(2, 103, "3"),
        ],
        &config(),
    )
    .await
    .unwrap();
    let (index, error) = r.failed_at.clone().unwrap();
    assert_eq!(index, 1, "{error}");
    assert!(error.contains("dynamodb.Keys.id"), "{error}");
    assert_eq!(r.inserted, 1);
}

#[tokio::test]
async fn odd_column_names_merge_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = table_at(dir.path());
    let batch = vec![record(
        0,
        1,
        "INSERT",
        "a",
        json!({"with-dash": {"S": "1"}, "dotted.name": {"S": "2"}, "Mixed\"Quote": {"S": "3"}, "ünï": {"N": "4"}}),
    )];
    upsert_changes(&mut table, &batch, &config()).await.unwrap();
    let update = vec![record(
        0,
        2,
        "MODIFY",
        "a",
        json!({"with-dash": {"S": "10"}, "dotted.name": {"S": "20"}, "Mixed\"Quote": {"S": "30"}, "ünï": {"N": "40"}}),
    )];
    let r = upsert_changes(&mut table, &update, &config())
        .await
        .unwrap();
    assert_eq!(r.updated, 1);
    let got = rows(dir.path()).await;
    assert_eq!(got[0]["with-dash"], "10");
    assert_eq!(got[0]["dotted.name"], "20");
    assert_eq!(got[0]["Mixed\"Quote"], "30");
    assert_eq!(got[0]["ünï"], 40);
}

#[tokio::test]
async fn partitioned_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = table_at(dir.path());
    let cfg = UpsertConfig {
        partition_by: vec!["region".into()],
        ..config()
    };
    let batch = vec![
        record(0, 1, "INSERT", "a", json!({"region": {"S": "eu"}})),
        record(1, 2, "INSERT", "b", json!({"region": {"S": "us"}})),
    ];
    upsert_changes(&mut table, &batch, &cfg).await.unwrap();
    let moved = vec![record(0, 3, "MODIFY", "a", json!({"region": {"S": "us"}}))];
    upsert_changes(&mut table, &moved, &cfg).await.unwrap();
    let got = rows(dir.path()).await;
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r["region"] == "us"), "{got:?}");
    assert_eq!(
        table.state.as_ref().unwrap().metadata().partition_columns(),
        &["region".to_string()]
    );
}
