use super::*;
use crate::dynamo::record::decode_record;
use serde_json::json;

fn record(i: usize, seq: u64, name: &str, extra: serde_json::Value) -> StreamRecord {
    let mut image = json!({"pk": {"S": format!("k{}", i % 7)}, "n": {"N": i.to_string()}});
    if let (Some(image), Some(extra)) = (image.as_object_mut(), extra.as_object()) {
        image.extend(extra.clone());
    }
    let v = json!({
        "eventID": format!("event-{seq}"),
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "ApproximateCreationDateTime": 1795240950.5,
            "Keys": {"pk": image["pk"].clone()},
            "NewImage": image,
            "SequenceNumber": format!("{}", 1_100_000_000_017_454_423_009u128 + u128::from(seq)),
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    });
    decode_record(i, &v).expect("record")
}

fn records(range: std::ops::Range<u64>) -> Vec<StreamRecord> {
    range
        .enumerate()
        .map(|(i, s)| record(i, s, "INSERT", json!({})))
        .collect()
}

fn table_at(dir: &std::path::Path) -> DeltaTable {
    crate::tables::open_handle(&url::Url::from_directory_path(dir).unwrap()).unwrap()
}

fn config() -> AppendConfig {
    AppendConfig {
        retry: RetryPolicy {
            max_attempts: 10,
            base_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(5),
        },
        ..Default::default()
    }
}

fn row_count(table: &DeltaTable) -> usize {
    table
        .state
        .as_ref()
        .map(|s| s.log_data().iter().filter_map(|f| f.num_records()).sum())
        .unwrap_or(0)
}

/// Every `(seq, event id)` in the table, read back from its files.
async fn ids(table: &DeltaTable) -> Vec<String> {
    let mut out = Vec::new();
    let state = table.state.as_ref().unwrap();
    for f in state.log_data().iter() {
        let path = f.path().into_owned();
        out.extend(
            committed_ids(table.object_store(), &path, f.size() as u64)
                .await
                .unwrap(),
        );
    }
    out.sort();
    out
}

#[tokio::test]
async fn appends_once_and_replays_add_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = table_at(dir.path());
    let batch = records(0..20);
    let r = append_changes(&mut table, &batch, &config()).await.unwrap();
    assert_eq!(
        (r.rows, r.duplicates, r.files, r.version),
        (20, 0, 1, Some(0))
    );
    assert!(r.created);
    assert_eq!(r.files_scanned, 0);
    let schema = table.state.as_ref().unwrap().schema();
    let names: Vec<&str> = schema.fields().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["_op", "_seq", "_ts", "_event_id", "pk", "n"]);

    // The same batch again, in a fresh container: nothing committed.
    let mut cold = table_at(dir.path());
    let r = append_changes(&mut cold, &batch, &config()).await.unwrap();
    assert_eq!((r.rows, r.duplicates, r.version), (0, 20, None));
    assert_eq!(r.files_scanned, 1);
    cold.load().await.unwrap();
    assert_eq!(cold.version(), Some(0));

    // An overlapping batch: only the new records land.
    let r = append_changes(&mut table, &records(10..30), &config())
        .await
        .unwrap();
    assert_eq!((r.rows, r.duplicates, r.version), (10, 10, Some(1)));
    assert_eq!(row_count(&table), 30);
    let all = ids(&table).await;
    assert_eq!(all.len(), 30);
    let mut unique = all.clone();
    unique.dedup();
    assert_eq!(unique, all);

    // A newer batch reads no file: `_seq` statistics are exact.
    let r = append_changes(&mut table, &records(30..40), &config())
        .await
        .unwrap();
    assert_eq!((r.rows, r.files_scanned), (10, 0));
    let stats = table
        .state
        .as_ref()
        .unwrap()
        .log_data()
        .iter()
        .filter_map(|f| f.stats())
        .map(|s| seq_bounds(&s).unwrap())
        .collect::<Vec<_>>();
    assert!(
        stats
            .iter()
            .all(|(min, max)| min.len() == 40 && max.len() == 40),
        "{stats:?}"
    );
}

#[tokio::test]
async fn a_repeated_record_within_a_batch_lands_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = table_at(dir.path());
    let mut batch = records(0..3);
    batch.push(batch[1].clone());
    let r = append_changes(&mut table, &batch, &config()).await.unwrap();
    assert_eq!((r.rows, r.duplicates), (3, 1));
    assert_eq!(row_count(&table), 3);
}

#[tokio::test]
async fn a_concurrent_writer_committing_the_same_records_first_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = table_at(dir.path());
    let mut b = table_at(dir.path());
    append_changes(&mut a, &records(0..5), &config())
        .await
        .unwrap();
    b.load().await.unwrap();
    // a commits 5..15; b, still at version 0, then tries 10..20.
    append_changes(&mut a, &records(5..15), &config())
        .await
        .unwrap();
    let r = append_changes(&mut b, &records(10..20), &config())
        .await
        .unwrap();
    assert_eq!((r.rows, r.duplicates), (5, 5), "{r:?}");
    b.update_incremental(None).await.unwrap();
    assert_eq!(row_count(&b), 20);
    assert_eq!(ids(&b).await.len(), 20);
}

#[tokio::test]
async fn partitions_and_evolution_in_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = table_at(dir.path());
    let cfg = AppendConfig {
        partition_by: vec!["region".into()],
        ..config()
    };
    let first: Vec<StreamRecord> = (0..4)
        .map(|i| {
            record(
                i,
                i as u64,
                "INSERT",
                json!({"region": {"S": if i % 2 == 0 { "eu" } else { "us" }}}),
            )
        })
        .collect();
    let r = append_changes(&mut table, &first, &cfg).await.unwrap();
    assert_eq!((r.rows, r.files), (4, 2));
    let state = table.state.as_ref().unwrap();
    assert_eq!(
        state.metadata().partition_columns(),
        &["region".to_string()]
    );

    let second = vec![
        record(
            4,
            4,
            "MODIFY",
            json!({"region": {"S": "eu"}, "price": {"N": "9.99"}}),
        ),
        record(5, 5, "REMOVE", json!({})),
    ];
    let r = append_changes(&mut table, &second, &cfg).await.unwrap();
    assert!(r.schema_evolved);
    assert_eq!(r.version, Some(1), "evolution and rows in one commit");
    let schema = table.state.as_ref().unwrap().schema();
    assert_eq!(
        schema.field("price").map(|f| f.data_type().to_string()),
        Some("decimal(38,18)".to_string())
    );
    let nulls = table
        .state
        .as_ref()
        .unwrap()
        .log_data()
        .iter()
        .filter(|f| f.partition_values_map().get("region") == Some(&None))
        .count();
    assert_eq!(
        nulls, 1,
        "the REMOVE without a region lands in the null partition"
    );
}
