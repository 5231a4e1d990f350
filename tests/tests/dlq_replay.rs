//! `meander dlq` end to end: poison messages reach the DLQ through redrive,
//! the cause is fixed, a replay killed halfway is restarted, and the table
//! ends complete with every row once; replaying what had succeeded changes
//! nothing.

use std::process::Command;

use meander_e2e::aws::{Aws, QueueOptions};
use meander_e2e::delta_reader::read_table;
use meander_e2e::moto::env_for_function;
use meander_e2e::parquet::orders;
use meander_e2e::poller::{message_bodies, DrainOptions, SqsPoller};
use meander_e2e::runtime::{function_binary, FunctionProcess};
use serde_json::Value;

fn meander(args: &[&str], extra_env: &[(&str, &str)]) -> std::process::Output {
    Command::new(function_binary("meander"))
        .args(args)
        .envs(env_for_function())
        .envs(extra_env.iter().copied())
        .output()
        .expect("run meander")
}

fn ids(uri_rows: &[Value]) -> Vec<i64> {
    let mut ids: Vec<i64> = uri_rows.iter().filter_map(|r| r["id"].as_i64()).collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_to_dlq_fix_then_replay_survives_a_crash() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("dlq").await.expect("bucket");
    let q = aws
        .create_queue_with_dlq("dlq", 2, &QueueOptions::default())
        .await
        .expect("queues");
    aws.notify_queue_on_create(&bucket, &q.queue.arn, None, None)
        .await
        .expect("notify");
    let mut f = FunctionProcess::spawn(function_binary("oxbow"), env_for_function())
        .await
        .expect("oxbow");
    let poller = SqsPoller::new(&aws.sqs, &q.queue);

    aws.put_object(&bucket, "t/a.parquet", orders(0..10, false))
        .await
        .expect("put a");
    for key in ["t/b.parquet", "t/c.parquet"] {
        aws.put_object(&bucket, key, b"truncated upload".to_vec())
            .await
            .expect("put bad");
    }
    poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain");
    let uri = format!("s3://{bucket}/t");
    assert_eq!(
        ids(&read_table(&uri).await.rows),
        (0..10).collect::<Vec<_>>()
    );

    // inspect: two messages for table t; with the function's logs, the reason.
    let logs = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(logs.path(), f.logs().join("\n")).expect("write logs");
    let out = meander(
        &[
            "dlq",
            "inspect",
            &q.dlq.url,
            "--json",
            "--hide",
            "1",
            "--logs",
            logs.path().to_str().expect("utf-8 path"),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let groups: Value = serde_json::from_slice(&out.stdout).expect("json");
    let total: u64 = groups
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, 2, "{groups:#}");
    for g in groups.as_array().expect("groups") {
        assert!(
            g["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("not a readable Parquet file"),
            "{g:#}"
        );
        for m in g["messages"].as_array().expect("messages") {
            assert_eq!(m["tables"], serde_json::json!([uri.clone()]));
        }
    }

    // Fix the cause: the exporter re-uploads complete files (with
    // notifications off, so only the replay brings them to oxbow).
    aws.s3
        .put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(aws_sdk_s3::types::NotificationConfiguration::builder().build())
        .send()
        .await
        .expect("notifications off");
    aws.put_object(&bucket, "t/b.parquet", orders(10..20, false))
        .await
        .expect("fix b");
    aws.put_object(&bucket, "t/c.parquet", orders(20..30, false))
        .await
        .expect("fix c");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // inspect's hide

    // A replay dies after sending one message, before deleting it...
    let out = meander(
        &["dlq", "replay", &q.dlq.url, "--max", "1", "--hide", "2"],
        &[("MEANDER_FAILPOINT", "dlq-after-send")],
    );
    assert!(!out.status.success(), "the failpoint aborts the replay");
    // ...and is run again: the message it had sent is still in the DLQ once
    // visible again, so it is sent twice; nothing is lost.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let out = meander(&["dlq", "replay", &q.dlq.url, "--hide", "2"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("moved 2 message(s)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(message_bodies(&aws.sqs, &q.dlq.url)
        .await
        .expect("dlq")
        .is_empty());

    let stats = poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain replay");
    assert_eq!(stats.failures_reported, 0, "{stats:?}");
    assert_eq!(
        stats.messages_deleted, 3,
        "one duplicate from the crash: {stats:?}"
    );
    let t = read_table(&uri).await;
    assert_eq!(ids(&t.rows), (0..30).collect::<Vec<_>>(), "every row once");
    assert_eq!(t.files.len(), 3);

    // Replaying a message that had in fact succeeded changes no table.
    let version = t.version;
    let a_event = serde_json::json!({"Records": [{
        "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": "t/a.parquet"}}
    }]});
    aws.send_message(&q.dlq.url, &a_event.to_string())
        .await
        .expect("to dlq");
    let out = meander(&["dlq", "replay", &q.dlq.url, "--hide", "2"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain again");
    let again = read_table(&uri).await;
    assert_eq!(again.version, version);
    assert_eq!(ids(&again.rows), (0..30).collect::<Vec<_>>());
}
