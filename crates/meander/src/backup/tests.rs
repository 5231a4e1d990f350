//! Backups and restores of real tables in temp dirs.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use serde_json::json;

use super::*;
use crate::events::decode_payload;
use crate::oxbow::{Oxbow, OxbowConfig};
use crate::tables::Locator;

fn write_parquet(path: &std::path::Path, ids: std::ops::Range<i64>) {
    let array: ArrayRef = Arc::new(Int64Array::from_iter_values(ids));
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "id",
            arrow::datatypes::DataType::Int64,
            true,
        )])),
        vec![array],
    )
    .unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// One oxbow commit for `key` (created or removed).
async fn event(ox: &Oxbow, key: &str, name: &str) {
    let payload = json!({"Records": [{
        "eventSource": "aws:s3", "eventName": name,
        "eventTime": "2026-11-02T10:00:00.000Z",
        "s3": {"bucket": {"name": "bkt"}, "object": {"key": key}}
    }]});
    let out = ox.process(&decode_payload(&payload).unwrap()).await;
    assert!(!out.any_failure, "{out:?}");
}

/// `bkt/t` in `dir`: v0 a (3 rows), v1 b (2), v2 "c d" (4) + checkpoint,
/// v3 removes a, v4 adds e (5).
async fn make_table(dir: &std::path::Path) -> Loc {
    let root = dir.join("bkt/t");
    let ox = Oxbow::new(OxbowConfig {
        locator: Locator::local(dir),
        ..OxbowConfig::default()
    });
    for (name, ids) in [
        ("ds=1/a.parquet", 0..3),
        ("ds=1/b.parquet", 3..5),
        ("ds=2/c d.parquet", 5..9),
    ] {
        write_parquet(&root.join(name), ids);
        event(&ox, &format!("t/{name}"), "ObjectCreated:Put").await;
    }
    let source = Loc::parse(root.to_str().unwrap()).unwrap();
    let table = open_table(&source, None).await.unwrap();
    deltalake::checkpoints::create_checkpoint(&table, None)
        .await
        .unwrap();
    event(&ox, "t/ds=1/a.parquet", "ObjectRemoved:Delete").await;
    write_parquet(&root.join("ds=2/e.parquet"), 9..14);
    event(&ox, "t/ds=2/e.parquet", "ObjectCreated:Put").await;
    source
}

fn loc(p: &std::path::Path) -> Loc {
    Loc::parse(p.to_str().unwrap()).unwrap()
}

async fn live_paths(at: &Loc) -> (u64, Vec<String>) {
    let t = open_table(at, None).await.unwrap();
    let mut files: Vec<String> = live_files(&t, at)
        .unwrap()
        .data
        .into_iter()
        .map(|f| f.needed.path)
        .collect();
    files.sort();
    (t.version().unwrap(), files)
}

#[tokio::test]
async fn backup_incrementally_then_restore_after_the_source_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let source = make_table(dir.path()).await;
    let backups = loc(&dir.path().join("backups"));
    let layout = BackupLayout::for_table(&backups, &source);
    assert!(
        layout.root.key.ends_with("backups/local") || layout.root.key.contains("backups/local/")
    );
    let storage = Storage::new(None);
    let opts = BackupOptions::default();

    // Version 1: no checkpoint yet, commits 0 and 1.
    let t1 = open_table(&source, Some(1)).await.unwrap();
    let r1 = backup(&storage, &t1, &source, &layout, &opts)
        .await
        .unwrap();
    assert_eq!((r1.version, r1.checkpoint), (1, None));
    assert_eq!((r1.copied_files, r1.copied_log_files), (2, 2));
    assert_eq!(r1.num_records, Some(5));

    // Version 3: checkpoint 2 + commits 2, 3; a was removed at 3.
    let t3 = open_table(&source, Some(3)).await.unwrap();
    let r3 = backup(&storage, &t3, &source, &layout, &opts)
        .await
        .unwrap();
    assert_eq!((r3.version, r3.checkpoint), (3, Some(2)));
    assert_eq!(r3.files, 2);
    assert_eq!(r3.log_files, 3);
    assert_eq!(r3.num_records, Some(6));
    assert_eq!(
        r3.copied_files, 1,
        "only c d; b was backed up with version 1"
    );
    assert_eq!(r3.copied_log_files, 3);
    assert_eq!(r3.already_present, 1);
    let m3 = read_manifest(&storage, &layout, Some(3)).await.unwrap();
    let paths: Vec<&str> = m3.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["ds=1/b.parquet", "ds=2/c d.parquet"]);
    assert!(m3.files.iter().chain(&m3.log).all(|f| f
        .checksum
        .as_deref()
        .is_some_and(|c| c.starts_with("sha256:"))));
    let log: Vec<&str> = m3.log.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        log,
        [
            "_delta_log/00000000000000000002.checkpoint.parquet",
            "_delta_log/00000000000000000002.json",
            "_delta_log/00000000000000000003.json"
        ]
    );

    // Latest (4): only e and commit 4 are new.
    let t4 = open_table(&source, None).await.unwrap();
    let r4 = backup(&storage, &t4, &source, &layout, &opts)
        .await
        .unwrap();
    assert_eq!(r4.version, 4);
    assert_eq!((r4.copied_files, r4.copied_log_files), (1, 1));
    assert_eq!(r4.already_present, 5);
    // Again: nothing to do.
    let again = backup(&storage, &t4, &source, &layout, &opts)
        .await
        .unwrap();
    assert!(again.already_backed_up);
    assert_eq!(again.copied_files + again.copied_log_files, 0);
    assert_eq!(backup_versions(&storage, &layout).await.unwrap(), [1, 3, 4]);

    // The source disappears; version 3 and the latest come back.
    std::fs::remove_dir_all(dir.path().join("bkt")).unwrap();
    let target = loc(&dir.path().join("restored/t3"));
    let opts3 = RestoreOptions {
        version: Some(3),
        ..RestoreOptions::default()
    };
    let r = restore(&storage, &layout, &target, &opts3).await.unwrap();
    assert_eq!((r.version, r.files, r.rows), (3, 2, 6));
    assert_eq!(r.checksums_verified, 5);
    assert_eq!(
        live_paths(&target).await,
        (3, vec!["ds=1/b.parquet".into(), "ds=2/c d.parquet".into()])
    );
    let latest = loc(&dir.path().join("restored/latest"));
    let r = restore(&storage, &layout, &latest, &RestoreOptions::default())
        .await
        .unwrap();
    assert_eq!((r.version, r.rows), (4, 11));

    // Never over an existing table.
    let err = restore(&storage, &layout, &target, &opts3)
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::TargetNotEmpty { .. }), "{err}");
    // Nothing backed up at 2.
    let err = restore(
        &storage,
        &layout,
        &loc(&dir.path().join("restored/v2")),
        &RestoreOptions {
            version: Some(2),
            ..RestoreOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, BackupError::NoManifest { version: 2, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn damaged_backups_fail_the_restore() {
    let dir = tempfile::tempdir().unwrap();
    let source = make_table(dir.path()).await;
    let layout = BackupLayout::new(loc(&dir.path().join("backup-of-t")));
    let storage = Storage::new(None);
    let t = open_table(&source, None).await.unwrap();
    backup(&storage, &t, &source, &layout, &BackupOptions::default())
        .await
        .unwrap();

    // Same size, other bytes: the checksum catches it.
    let copy = layout.files().join("ds=2/e.parquet").path();
    let len = std::fs::metadata(&copy).unwrap().len() as usize;
    std::fs::write(&copy, vec![b'x'; len]).unwrap();
    let err = restore(
        &storage,
        &layout,
        &loc(&dir.path().join("r1")),
        &RestoreOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, BackupError::ChecksumMismatch { .. }), "{err}");

    // A missing file: the restore names it.
    std::fs::remove_file(&copy).unwrap();
    let err = restore(
        &storage,
        &layout,
        &loc(&dir.path().join("r2")),
        &RestoreOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("e.parquet"), "{err}");
}

#[tokio::test]
async fn a_vacuumed_file_fails_the_backup_and_writes_no_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let source = make_table(dir.path()).await;
    let layout = BackupLayout::new(loc(&dir.path().join("b")));
    let storage = Storage::new(None);
    let t = open_table(&source, Some(2)).await.unwrap();
    std::fs::remove_file(dir.path().join("bkt/t/ds=1/a.parquet")).unwrap();
    let err = backup(&storage, &t, &source, &layout, &BackupOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BackupError::Objects(ObjectsError::NotFound(p)) if p.contains("a.parquet")),
        "{err}"
    );
    assert!(backup_versions(&storage, &layout).await.unwrap().is_empty());
    // Never into the table itself, where VACUUM would delete the copies.
    let inside = BackupLayout::new(source.join("backups"));
    let err = backup(&storage, &t, &source, &inside, &BackupOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("inside the table"), "{err}");
    // A past deadline copies nothing and says so.
    let t4 = open_table(&source, None).await.unwrap();
    let err = backup(
        &storage,
        &t4,
        &source,
        &layout,
        &BackupOptions {
            deadline: Some(SystemTime::now()),
            ..BackupOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, BackupError::OutOfTime { copied: 0, .. }),
        "{err}"
    );
}

#[test]
fn backup_names_and_layout() {
    let root = Loc::s3("backups", "meander");
    let l = BackupLayout::for_table(&root, &Loc::s3("lake", "tables/orders"));
    assert_eq!(
        l.root.to_string(),
        "s3://backups/meander/lake/tables/orders"
    );
    assert_eq!(
        l.manifest(3).to_string(),
        "s3://backups/meander/lake/tables/orders/manifests/00000000000000000003.json"
    );
    assert_eq!(
        l.files().join("_delta_log/x.json").to_string(),
        "s3://backups/meander/lake/tables/orders/files/_delta_log/x.json"
    );
    assert_eq!(table_backup_name(&Loc::s3("lake", "")), "lake");
    assert_eq!(
        table_backup_name(&Loc::parse("/data/t").unwrap()),
        "local/data/t"
    );
}

#[test]
fn relative_paths_in_the_log() {
    let t = Loc::s3("b", "t");
    assert_eq!(relative_path("x/y.parquet", &t).unwrap(), "x/y.parquet");
    assert_eq!(
        relative_path("s3://b/t/x.parquet", &t).unwrap(),
        "x.parquet"
    );
    assert!(relative_path("s3://other/x.parquet", &t).is_err());
    assert!(relative_path("../x.parquet", &t).is_err());
}
