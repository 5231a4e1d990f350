//! table-backup end to end: a Delta table written by the Python `deltalake`
//! writer into moto S3, backed up by the compiled `table-backup` binary
//! under the Lambda Runtime API into another bucket, then vacuumed and
//! deleted, and restored by the compiled `meander` CLI; the restored table
//! is read back row by row with the Python reader.

use std::process::Stdio;
use std::time::Duration;

use meander_e2e::aws::{Aws, QueueOptions};
use meander_e2e::delta_reader::{
    read_table, read_table_with, script_path, write_table, ReadOptions, WriteOptions,
};
use meander_e2e::moto::{env_for_function, python};
use meander_e2e::poller::{DrainOptions, SqsPoller};
use meander_e2e::runtime::{function_binary, FunctionProcess, InvokeOutcome};
use serde_json::{json, Value};

const SCHEDULED: &str = r#"{
  "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event", "source": "aws.events",
  "account": "123456789012", "time": "2026-11-02T10:00:00Z", "region": "us-east-1",
  "resources": ["arn:aws:events:us-east-1:123456789012:rule/table-backup"], "detail": {}
}"#;

fn rows(ids: std::ops::Range<i64>) -> Vec<Value> {
    ids.map(|i| {
        json!({
            "id": i,
            "customer": format!("customer-{}", i % 7),
            "amount": i as f64 / 4.0,
            "ds": format!("2026-11-0{}", i % 3 + 1),
        })
    })
    .collect()
}

fn options(mode: &str) -> WriteOptions {
    WriteOptions {
        mode: mode.to_string(),
        partition_by: vec!["ds".to_string()],
        schema: vec![
            ("id".into(), "int64".into()),
            ("customer".into(), "string".into()),
            ("amount".into(), "double".into()),
            ("ds".into(), "string".into()),
        ],
    }
}

/// Run `code` with `dt` = the Python `DeltaTable` at `uri`.
async fn with_python_table(uri: &str, code: &str) -> String {
    let dir = script_path("");
    let program = format!(
        "import sys\nsys.path.insert(0, {dir:?})\nfrom _common import storage_options\n\
         from deltalake import DeltaTable\nuri = sys.argv[1]\n\
         dt = DeltaTable(uri, storage_options=storage_options(uri))\n{code}\n"
    );
    let out = tokio::process::Command::new(python())
        .arg("-c")
        .arg(program)
        .arg(uri)
        .envs(env_for_function())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run python");
    assert!(
        out.status.success(),
        "python on {uri} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `meander` CLI with the moto environment; stdout as JSON.
async fn meander(args: &[&str]) -> Value {
    let out = tokio::process::Command::new(function_binary("meander"))
        .args(args)
        .env_clear()
        .envs(env_for_function())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run meander");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "meander {args:?} failed: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("meander {args:?}: {e}: {stdout}"))
}

async fn table_backup(env: &[(&str, &str)]) -> FunctionProcess {
    let mut e = env_for_function();
    e.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    FunctionProcess::spawn(function_binary("table-backup"), e)
        .await
        .expect("spawn table-backup")
}

async fn scheduled(f: &mut FunctionProcess) -> Value {
    let event: Value = serde_json::from_str(SCHEDULED).expect("event");
    match f
        .invoke(event, Duration::from_secs(120))
        .await
        .expect("invoke")
    {
        InvokeOutcome::Response(v) => v,
        other => panic!("{other:?}\n{}", f.logs().join("\n")),
    }
}

/// Every key under `prefix`, deleted.
async fn delete_all(aws: &Aws, bucket: &str, prefix: &str) -> usize {
    let keys = aws.list_keys(bucket, prefix).await.expect("list");
    for k in &keys {
        aws.s3
            .delete_object()
            .bucket(bucket)
            .key(k)
            .send()
            .await
            .expect("delete");
    }
    keys.len()
}

fn ids(v: &[Value]) -> Vec<i64> {
    let mut ids: Vec<i64> = v.iter().filter_map(|r| r["id"].as_i64()).collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn back_up_version_3_vacuum_delete_and_restore_it() {
    let aws = Aws::new().await;
    let src = aws.create_bucket("lake").await.expect("bucket");
    let bk = aws.create_bucket("backups").await.expect("bucket");
    let uri = format!("s3://{src}/tables/orders");

    // Versions 0..3, one file per partition each; a checkpoint at 2.
    for v in 0..4i64 {
        write_table(&uri, &rows(v * 9..(v + 1) * 9), &options("append")).await;
        if v == 2 {
            with_python_table(&uri, "dt.create_checkpoint()").await;
        }
    }
    let at3 = read_table(&uri).await;
    assert_eq!(at3.version, 3);
    assert_eq!(at3.files.len(), 12);

    let backup_uri = format!("s3://{bk}/meander");
    let mut f = table_backup(&[
        ("BACKUP_URI", backup_uri.as_str()),
        ("SOURCE_TABLE_URIS", uri.as_str()),
    ])
    .await;

    // First backup: version 3 = checkpoint 2 + commits 2, 3 + 12 files.
    let r = scheduled(&mut f).await;
    let t = &r["tables"][0];
    assert_eq!(t["status"], json!("backed_up"), "{r}");
    let b = &t["backup"];
    assert_eq!(b["version"], json!(3), "{r}");
    assert_eq!(b["checkpoint"], json!(2), "{r}");
    assert_eq!(b["copied_files"], json!(12), "{r}");
    assert_eq!(b["copied_log_files"], json!(3), "{r}");
    assert_eq!(b["num_records"], json!(36), "{r}");
    let location = b["location"].as_str().expect("location").to_string();
    assert_eq!(location, format!("{backup_uri}/{src}/tables/orders"));

    // More writes: an append (4) and an overwrite (5) that removes everything.
    write_table(&uri, &rows(36..45), &options("append")).await;
    write_table(&uri, &rows(100..106), &options("overwrite")).await;
    let at5 = read_table(&uri).await;
    assert_eq!((at5.version, at5.files.len()), (5, 3));

    // Second backup: only the overwrite's 3 files and commits 4, 5 are new.
    let r = scheduled(&mut f).await;
    let b = &r["tables"][0]["backup"];
    assert_eq!(r["tables"][0]["latest_backup"], json!(3), "{r}");
    assert_eq!(b["version"], json!(5), "{r}");
    assert_eq!(b["copied_files"], json!(3), "{r}");
    assert_eq!(b["copied_log_files"], json!(2), "{r}");
    assert_eq!(b["already_present"], json!(3), "{r}");
    // Version 4's file was never live at a backed-up version: not copied.
    let data: Vec<String> = aws
        .list_keys(&bk, "meander/")
        .await
        .expect("list backup")
        .into_iter()
        .filter(|k| k.ends_with(".parquet") && !k.contains("_delta_log"))
        .collect();
    assert_eq!(data.len(), 15, "{data:#?}");
    // Nothing new: nothing copied.
    let r = scheduled(&mut f).await;
    assert_eq!(r["tables"][0]["status"], json!("not_due"), "{r}");

    // VACUUM removes every file of versions 0..4; then the table is deleted.
    let vacuumed = with_python_table(
        &uri,
        "print(len(dt.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)))",
    )
    .await;
    assert_eq!(
        vacuumed.trim(),
        "15",
        "files removed by the overwrite and vacuumed"
    );
    assert!(delete_all(&aws, &src, "tables/orders/").await > 0);
    assert!(aws
        .list_keys(&src, "tables/")
        .await
        .expect("list")
        .is_empty());

    // Restore version 3 where the table was: identical rows.
    let restored = meander(&["restore", &location, &uri, "--version", "3", "--json"]).await;
    assert_eq!(restored["version"], json!(3), "{restored}");
    assert_eq!(restored["rows"], json!(36), "{restored}");
    assert_eq!(restored["files"], json!(12), "{restored}");
    assert!(
        restored["checksums_verified"].as_u64().unwrap_or(0) >= 12,
        "{restored}"
    );
    let back = read_table(&uri).await;
    assert_eq!(back.version, 3);
    assert_eq!(back.rows, at3.rows, "identical rows");
    assert_eq!(back.partition_columns, ["ds"]);

    // The latest backup (5) restores elsewhere too.
    let elsewhere = format!("s3://{src}/restored/orders");
    let r5 = meander(&["restore", &location, &elsewhere, "--json"]).await;
    assert_eq!(
        (r5["version"].clone(), r5["rows"].clone()),
        (json!(5), json!(6))
    );
    let t5 = read_table(&elsewhere).await;
    assert_eq!(t5.rows, at5.rows);

    // A restore never writes over a table.
    let out = tokio::process::Command::new(function_binary("meander"))
        .args(["restore", &location, &uri])
        .env_clear()
        .envs(env_for_function())
        .output()
        .await
        .expect("run meander");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already holds a Delta log"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    let report = f.shutdown().await;
    eprintln!("table-backup: {report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_notifications_trigger_backups_every_n_versions() {
    let aws = Aws::new().await;
    let src = aws.create_bucket("lake").await.expect("bucket");
    let bk = aws.create_bucket("backups").await.expect("bucket");
    let q = aws
        .create_queue_with_dlq("commits", 2, &QueueOptions::default())
        .await
        .expect("queue");
    aws.notify_queue_on_create(&src, &q.queue.arn, Some("t/_delta_log/"), Some(".json"))
        .await
        .expect("notification");
    let uri = format!("s3://{src}/t");
    let backup_uri = format!("s3://{bk}/b");
    let mut f = table_backup(&[
        ("BACKUP_URI", backup_uri.as_str()),
        ("BACKUP_EVERY_VERSIONS", "2"),
    ])
    .await;
    let poller = SqsPoller::new(&aws.sqs, &q.queue);

    // Versions 0, 1, 2 land before the function runs.
    for v in 0..3i64 {
        write_table(&uri, &rows(v * 5..(v + 1) * 5), &options("append")).await;
    }
    let stats = poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain");
    assert_eq!(
        stats.failures_reported,
        0,
        "{stats:?}\n{}",
        f.logs().join("\n")
    );
    let location = format!("{backup_uri}/{src}/t");
    let manifests = aws
        .list_keys(&bk, &format!("b/{src}/t/manifests/"))
        .await
        .expect("list");
    assert!(
        manifests
            .iter()
            .any(|k| k.ends_with("00000000000000000002.json")),
        "{manifests:?}\n{}",
        f.logs().join("\n")
    );

    // Version 3 is not due (one past 2), version 4 is.
    write_table(&uri, &rows(15..20), &options("append")).await;
    poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain");
    write_table(&uri, &rows(20..25), &options("append")).await;
    poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain");
    let manifests = aws
        .list_keys(&bk, &format!("b/{src}/t/manifests/"))
        .await
        .expect("list");
    assert!(
        !manifests
            .iter()
            .any(|k| k.ends_with("00000000000000000003.json")),
        "{manifests:?}"
    );
    assert!(
        manifests
            .iter()
            .any(|k| k.ends_with("00000000000000000004.json")),
        "{manifests:?}\n{}",
        f.logs().join("\n")
    );

    // Restore 2 into another bucket prefix: the rows of version 2.
    let target = format!("s3://{bk}/restored/t");
    let r = meander(&["restore", &location, &target, "--version", "2", "--json"]).await;
    assert_eq!(r["rows"], json!(15), "{r}");
    let expected = read_table_with(
        &uri,
        &ReadOptions {
            version: Some(2),
            ..ReadOptions::default()
        },
    )
    .await;
    let back = read_table(&target).await;
    assert_eq!(back.version, 2);
    assert_eq!(ids(&back.rows), ids(&expected.rows));
    assert_eq!(back.rows, expected.rows);
}
