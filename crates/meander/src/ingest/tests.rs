//! The engine on local tables: creation, bad messages, evolution,
//! partitions, idempotency (standard and FIFO), conflicts, checkpoints.

use std::path::Path as FsPath;

use deltalake::kernel::StructField;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value};

use super::*;

fn url_of(dir: &FsPath) -> Url {
    Url::from_directory_path(dir).unwrap()
}

fn engine(dir: &FsPath, configure: impl FnOnce(&mut IngestConfig)) -> Ingest {
    let mut config = IngestConfig::new(url_of(dir));
    configure(&mut config);
    Ingest::new(config)
}

fn msg(id: &str, body: impl ToString) -> SqsMessage {
    SqsMessage::new(id, body.to_string())
}

fn fifo(id: &str, group: &str, seq: u128, body: impl ToString) -> SqsMessage {
    SqsMessage {
        group_id: Some(group.to_string()),
        sequence_number: Some(seq),
        queue: Some("123456789012/in.fifo".to_string()),
        ..msg(id, body)
    }
}

async fn load(dir: &FsPath) -> DeltaTable {
    let mut t = crate::tables::open_handle(&url_of(dir)).unwrap();
    t.load().await.unwrap();
    t
}

/// Every row of the table's data files (partition columns are not in them).
async fn rows(dir: &FsPath) -> Vec<Value> {
    let t = load(dir).await;
    let mut out = Vec::new();
    for uri in t.get_file_uris().unwrap() {
        let path = Url::parse(&uri)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .unwrap_or_else(|| std::path::PathBuf::from(&uri));
        let bytes = bytes::Bytes::from(std::fs::read(path).unwrap());
        for batch in ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap()
        {
            let mut w = arrow::json::ArrayWriter::new(Vec::new());
            w.write(&batch.unwrap()).unwrap();
            w.finish().unwrap();
            let v: Vec<Value> = serde_json::from_slice(&w.into_inner()).unwrap();
            out.extend(v);
        }
    }
    out.sort_by_key(|r| r.to_string());
    out
}

fn ids(rows: &[Value]) -> Vec<i64> {
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r["id"].as_i64()).collect();
    ids.sort();
    ids
}

fn failed(o: &IngestOutcome) -> Vec<&str> {
    o.failed.iter().map(|f| f.message_id.as_str()).collect()
}

#[tokio::test]
async fn creates_the_table_and_fails_only_bad_messages() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = engine(dir.path(), |_| {});
    let batch = vec![
        msg("m1", json!({"id": 1, "name": "a"})),
        msg("bad-json", "not json {"),
        msg("m2", json!([{"id": 2}, {"id": 3, "name": "c"}])),
        msg("bad-array", "[1, 2, 3]"),
        msg("m3", "{\"id\": 4}\n{\"id\": 5}"),
        msg("bad-id", json!({"id": "abc", "name": "x", "junk": 1})),
        msg("empty", "[]"),
    ];
    let o = ingest.process(&batch).await;
    assert_eq!(o.error, None);
    assert_eq!(o.version, Some(0));
    assert!(o.created);
    assert_eq!(o.committed, ["m1", "m2", "m3", "empty"]);
    assert_eq!(failed(&o), ["bad-json", "bad-array", "bad-id"]);
    assert!(o.failed[2].reason.contains("abc"), "{:?}", o.failed);
    assert_eq!((o.rows, o.files), (5, 1));
    assert_eq!(ids(&rows(dir.path()).await), [1, 2, 3, 4, 5]);
    // The bad message did not shape the schema: no `junk` column.
    let t = load(dir.path()).await;
    let names: Vec<String> = t
        .snapshot()
        .unwrap()
        .schema()
        .fields()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["id", "name"]);
    let config = t.snapshot().unwrap().metadata().configuration().clone();
    assert_eq!(
        config.get(TXN_RETENTION_KEY).map(String::as_str),
        Some(DEFAULT_TXN_RETENTION)
    );
}

#[tokio::test]
async fn redelivery_adds_nothing_warm_or_cold() {
    let dir = tempfile::tempdir().unwrap();
    let batch = vec![
        msg("m1", json!({"id": 1})),
        msg("m2", json!({"id": 2})),
        msg("bad", "oops"),
    ];
    let warm = engine(dir.path(), |_| {});
    assert_eq!(warm.process(&batch).await.version, Some(0));
    let again = warm.process(&batch).await;
    assert_eq!(again.version, None);
    assert_eq!(again.duplicates, ["m1", "m2"]);
    assert_eq!(failed(&again), ["bad"]);
    // A new container rebuilds the index from the log.
    let cold = engine(dir.path(), |_| {});
    let again = cold.process(&batch).await;
    assert_eq!(again.duplicates, ["m1", "m2"]);
    assert_eq!(load(dir.path()).await.version(), Some(0));
    assert_eq!(ids(&rows(dir.path()).await), [1, 2]);
    // The batch's txn is in the log, readable by any Delta reader.
    let t = load(dir.path()).await;
    let app = txn::batch_app_id(&["m1", "m2"]);
    let v = t
        .snapshot()
        .unwrap()
        .transaction_version(t.log_store().as_ref(), &app)
        .await
        .unwrap();
    assert_eq!(v, Some(1));
    // Only the failed message comes back (Lambda's partial batch response):
    // it was never committed, so it is new data if it now decodes.
    let fixed = cold.process(&[msg("bad", json!({"id": 3}))]).await;
    assert_eq!(fixed.committed, ["bad"]);
    // A different batch holding an already committed message is not a
    // replay: the batch identity guarantee covers the exact set.
    let mixed = cold
        .process(&[msg("m1", json!({"id": 1})), msg("m9", json!({"id": 9}))])
        .await;
    assert_eq!(mixed.committed, ["m1", "m9"]);
    assert_eq!(ids(&rows(dir.path()).await), [1, 1, 2, 3, 9]);
}

#[tokio::test]
async fn new_fields_evolve_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = engine(dir.path(), |c| c.timestamp_columns = vec!["at".into()]);
    ingest
        .process(&[msg("a", json!({"id": 1, "p": {"x": 1}}))])
        .await;
    let o = ingest
        .process(&[
            msg(
                "b",
                json!({"id": 2, "p": {"x": 2, "y": "new"}, "at": 1_700_000_000}),
            ),
            msg("c", json!({"id": 2.5})),
        ])
        .await;
    assert!(o.schema_evolved);
    assert_eq!(failed(&o), ["c"]);
    let t = load(dir.path()).await;
    let schema = t.snapshot().unwrap().schema();
    assert_eq!(
        schema.field("p").unwrap().data_type().to_string(),
        "struct<x: long, y: string>"
    );
    assert_eq!(
        schema.field("at").unwrap().data_type(),
        &DataType::TIMESTAMP
    );
    let r = rows(dir.path()).await;
    assert_eq!(r.len(), 2);
    let b = r.iter().find(|r| r["id"] == 2).unwrap();
    assert_eq!(b["p"], json!({"x": 2, "y": "new"}));
    assert_eq!(b["at"], "2023-11-14T22:13:20Z");
}

#[tokio::test]
async fn evolution_off_fails_messages_with_new_fields() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = engine(dir.path(), |c| c.schema_evolution = false);
    // A new table still takes the batch's schema.
    let o = ingest.process(&[msg("a", json!({"id": 1}))]).await;
    assert_eq!(o.version, Some(0));
    let o = ingest
        .process(&[
            msg("b", json!({"id": 2, "extra": 1})),
            msg("c", json!({"id": 3})),
        ])
        .await;
    assert_eq!(failed(&o), ["b"]);
    assert!(o.failed[0].reason.contains("extra"), "{:?}", o.failed);
    assert_eq!(o.committed, ["c"]);
    assert!(!o.schema_evolved);
}

/// Partition values with spaces and Hive-escaped characters: the log's
/// paths must lead to the files (delta-rs encodes `add.path` once).
#[tokio::test]
async fn partition_values_with_special_characters_resolve_to_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = engine(dir.path(), |c| {
        c.partition_by = vec!["slot".into()];
    });
    let batch: Vec<SqsMessage> = ["2026-11-02 10:00", "a/b%c", "é ü"]
        .iter()
        .enumerate()
        .map(|(i, slot)| msg(&format!("m{i}"), json!({"id": i, "slot": slot})))
        .collect();
    let o = ingest.process(&batch).await;
    assert_eq!((o.files, o.rows), (3, 3), "{o:?}");
    let r = rows(dir.path()).await;
    assert_eq!(ids(&r), [0, 1, 2], "every file found through its log path");
}

#[tokio::test]
async fn one_file_per_partition_and_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = engine(dir.path(), |c| {
        c.partition_by = vec!["day".into(), "region".into()];
    });
    let batch: Vec<SqsMessage> = (0..20)
        .map(|i| {
            let day = if i % 2 == 0 {
                "2024-01-01"
            } else {
                "2024-01-02"
            };
            msg(&format!("m{i}"), json!({"id": i, "day": day}))
        })
        .collect();
    let o = ingest.process(&batch).await;
    assert_eq!((o.version, o.files, o.rows), (Some(0), 2, 20));
    let t = load(dir.path()).await;
    let state = t.snapshot().unwrap();
    assert_eq!(state.metadata().partition_columns(), &["day", "region"]);
    // `region` is in no record: a string partition column, all null.
    assert_eq!(
        state.schema().field("region").unwrap().data_type(),
        &DataType::STRING
    );
    let mut folders: Vec<String> = t
        .get_file_uris()
        .unwrap()
        .map(|u| {
            let parts: Vec<&str> = u.rsplitn(4, '/').collect();
            format!("{}/{}", parts[2], parts[1])
        })
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        [
            "day=2024-01-01/region=__HIVE_DEFAULT_PARTITION__",
            "day=2024-01-02/region=__HIVE_DEFAULT_PARTITION__"
        ]
    );
    let r = rows(dir.path()).await;
    assert_eq!(r.len(), 20);
    assert!(r.iter().all(|r| r.get("day").is_none()), "not in the files");
}

#[tokio::test]
async fn fifo_groups_are_exactly_once_and_keep_order() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = engine(dir.path(), |_| {});
    let base: u128 = 18_849_496_460_467_696_128;
    let o = ingest
        .process(&[
            fifo("a1", "A", base + 1, json!({"id": 1})),
            fifo("a2", "A", base + 2, "oops"),
            fifo("a3", "A", base + 3, json!({"id": 3})),
            fifo("b1", "B", base + 4, json!({"id": 4})),
        ])
        .await;
    assert_eq!(o.committed, ["a1", "b1"]);
    assert_eq!(failed(&o), ["a2", "a3"]);
    assert!(
        o.failed[1].reason.contains("earlier message"),
        "{:?}",
        o.failed
    );
    // The failed ones come back with later ones; a1 and b1 are redelivered
    // too (say the deletes failed): they are recognised by sequence number,
    // whatever the batch looks like.
    let o = ingest
        .process(&[
            fifo("a1", "A", base + 1, json!({"id": 1})),
            fifo("a2", "A", base + 2, json!({"id": 2})),
            fifo("a3", "A", base + 3, json!({"id": 3})),
            fifo("b1", "B", base + 4, json!({"id": 4})),
            fifo("b2", "B", base + 5, json!({"id": 5})),
        ])
        .await;
    assert_eq!(o.duplicates, ["a1", "b1"]);
    assert_eq!(o.committed, ["a2", "a3", "b2"]);
    assert_eq!(ids(&rows(dir.path()).await), [1, 2, 3, 4, 5]);
    let t = load(dir.path()).await;
    let (hi, lo) = txn::fifo_app_ids("123456789012/in.fifo", "A");
    let state = t.snapshot().unwrap();
    let store = t.log_store();
    let hi = state
        .transaction_version(store.as_ref(), &hi)
        .await
        .unwrap();
    let lo = state
        .transaction_version(store.as_ref(), &lo)
        .await
        .unwrap();
    assert_eq!(txn::join_sequence(hi.unwrap(), lo.unwrap()), Some(base + 3));
    // A cold container knows too.
    let cold = engine(dir.path(), |_| {});
    let o = cold
        .process(&[fifo("a3", "A", base + 3, json!({"id": 3}))])
        .await;
    assert_eq!(o.duplicates, ["a3"]);
}

#[tokio::test]
async fn concurrent_writers_both_land() {
    let dir = tempfile::tempdir().unwrap();
    // Create the table first, then race two containers.
    engine(dir.path(), |_| {})
        .process(&[msg("seed", json!({"id": 0}))])
        .await;
    let a = engine(dir.path(), |_| {});
    let b = engine(dir.path(), |_| {});
    let batch_a: Vec<SqsMessage> = (1..=50)
        .map(|i| msg(&format!("a{i}"), json!({"id": i, "from_a": true})))
        .collect();
    let batch_b: Vec<SqsMessage> = (51..=100)
        .map(|i| msg(&format!("b{i}"), json!({"id": i, "from_b": "yes"})))
        .collect();
    let mut pending = Vec::new();
    for _ in 0..3 {
        pending.push((a.process(&batch_a), b.process(&batch_b)));
    }
    for (fa, fb) in pending {
        let (oa, ob) = tokio::join!(fa, fb);
        assert!(
            oa.failed.is_empty() && ob.failed.is_empty(),
            "{oa:?} {ob:?}"
        );
    }
    let got = ids(&rows(dir.path()).await);
    assert_eq!(got, (0..=100).collect::<Vec<i64>>(), "each batch once");
    let t = load(dir.path()).await;
    let schema = t.snapshot().unwrap().schema();
    assert!(schema.field("from_a").is_some() && schema.field("from_b").is_some());
}

#[tokio::test]
async fn the_txn_index_reads_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    // A table with a checkpoint every 2 commits.
    let url = url_of(dir.path());
    let handle = crate::tables::open_handle(&url).unwrap();
    let created = deltalake::operations::create::CreateBuilder::new()
        .with_log_store(handle.log_store())
        .with_columns(vec![StructField::nullable("id", DataType::LONG)])
        .with_configuration_property(deltalake::TableProperty::CheckpointInterval, Some("2"))
        .await
        .unwrap();
    assert_eq!(created.version(), Some(0));
    let ingest = engine(dir.path(), |_| {});
    let batches: Vec<Vec<SqsMessage>> = (1..=5)
        .map(|i| vec![msg(&format!("m{i}"), json!({ "id": i }))])
        .collect();
    for b in &batches {
        assert!(ingest.process(b).await.version.is_some());
    }
    let log = dir.path().join("_delta_log");
    assert!(log.join("_last_checkpoint").exists());
    let mut index = TxnIndex::new();
    let t = load(dir.path()).await;
    index.catch_up(&t).await.unwrap();
    assert!(index.is_complete());
    for b in &batches {
        let id = txn::batch_app_id(&[b[0].message_id.as_str()]);
        assert_eq!(index.get(&id), Some(1), "{id}");
    }
    // A cold container sees every earlier batch as done.
    let cold = engine(dir.path(), |_| {});
    for b in &batches {
        assert_eq!(cold.process(b).await.duplicates.len(), 1);
    }
    assert_eq!(ids(&rows(dir.path()).await), [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn tables_with_rules_it_cannot_apply_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let handle = crate::tables::open_handle(&url_of(dir.path())).unwrap();
    deltalake::operations::create::CreateBuilder::new()
        .with_log_store(handle.log_store())
        .with_columns(vec![StructField::nullable("id", DataType::LONG)])
        .with_configuration([("delta.columnMapping.mode", Some("name"))])
        .await
        .unwrap();
    let o = engine(dir.path(), |_| {})
        .process(&[msg("a", json!({"id": 1}))])
        .await;
    assert!(
        o.error
            .as_deref()
            .unwrap_or_default()
            .contains("column mapping"),
        "{:?}",
        o.failed
    );
    assert_eq!(failed(&o), ["a"]);
}

#[tokio::test]
async fn a_partial_txn_index_looks_ids_up_and_follows_new_commits() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = engine(dir.path(), |_| {});
    ingest.process(&[msg("a", json!({"id": 1}))]).await;
    let t = load(dir.path()).await;
    let mut index = TxnIndex::partial_at(0);
    assert!(!index.is_complete());
    let a = txn::batch_app_id(&["a"]);
    let b = txn::batch_app_id(&["b"]);
    assert_eq!(index.get(&a), None, "not looked up yet");
    index.ensure(&t, &[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(index.get(&a), Some(1));
    assert_eq!(index.get(&b), None);
    ingest.process(&[msg("b", json!({"id": 2}))]).await;
    let t = load(dir.path()).await;
    index.catch_up(&t).await.unwrap();
    assert_eq!(index.version(), Some(1));
    assert_eq!(
        index.get(&b),
        Some(1),
        "a known absence is updated from new commits"
    );
}
