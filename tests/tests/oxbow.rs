//! oxbow end to end: bucket notification -> SQS -> the compiled `oxbow`
//! binary under the Lambda Runtime API -> Delta tables in moto S3, read back
//! row by row with the Python `deltalake` reader.

use std::time::Duration;

use meander_e2e::aws::{Aws, QueueOptions, QueueWithDlq};
use meander_e2e::delta_reader::{read_table, TableContents};
use meander_e2e::moto::env_for_function;
use meander_e2e::parquet::{amount, customer, orders};
use meander_e2e::poller::{message_bodies, peek_messages, DrainOptions, SqsPoller};
use meander_e2e::runtime::{function_binary, FunctionProcess};
use serde_json::{json, Value};

async fn oxbow(extra: &[(&str, &str)]) -> FunctionProcess {
    let mut env = env_for_function();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    FunctionProcess::spawn(function_binary("oxbow"), env)
        .await
        .expect("spawn oxbow")
}

/// A bucket whose object events go to a queue with a DLQ (redrive after 2).
async fn landing(aws: &Aws, name: &str, events: &[&str]) -> (String, QueueWithDlq) {
    let bucket = aws.create_bucket(name).await.expect("bucket");
    let q = aws
        .create_queue_with_dlq(name, 2, &QueueOptions::default())
        .await
        .expect("queue");
    aws.notify_queue(&bucket, &q.queue.arn, events, None, None)
        .await
        .expect("notification");
    (bucket, q)
}

fn ids(t: &TableContents) -> Vec<i64> {
    let mut ids: Vec<i64> = t
        .column("id")
        .iter()
        .map(|v| v.as_i64().expect("id is a long"))
        .collect();
    ids.sort_unstable();
    ids
}

fn row_of(t: &TableContents, id: i64) -> &Value {
    t.rows
        .iter()
        .find(|r| r["id"] == json!(id))
        .unwrap_or_else(|| panic!("no row with id {id}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn export_with_partitions_redelivery_and_a_new_column() {
    let aws = Aws::new().await;
    let (bucket, q) = landing(&aws, "export", &["s3:ObjectCreated:*"]).await;
    let mut f = oxbow(&[]).await;
    let poller = SqsPoller::new(&aws.sqs, &q.queue);

    // An Aurora-style export: 3 ds= partitions, 2 files each, and _SUCCESS.
    let days = ["2026-11-01", "2026-11-02", "2026-11-03"];
    for (d, ds) in days.iter().enumerate() {
        for part in 0..2i64 {
            let start = (d as i64 * 2 + part) * 50;
            let key = format!("exports/orders/ds={ds}/part-{part:05}.snappy.parquet");
            aws.put_object(&bucket, &key, orders(start..start + 50, false))
                .await
                .expect("put");
        }
    }
    aws.put_object(&bucket, "exports/orders/_SUCCESS", Vec::new())
        .await
        .expect("put _SUCCESS");
    // Keep a copy of the notifications, to redeliver them later.
    // (Hidden for a few seconds only, so the poller soon sees them again.)
    let notifications: Vec<String> = peek_messages(&aws.sqs, &q.queue.url, Duration::from_secs(4))
        .await
        .expect("peek notifications")
        .iter()
        .filter_map(|m| m.body().map(str::to_string))
        .collect();
    assert!(notifications.len() >= 7, "{notifications:?}");

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

    let uri = format!("s3://{bucket}/exports/orders");
    let t = read_table(&uri).await;
    assert_eq!(t.partition_columns, ["ds"]);
    assert_eq!(t.files.len(), 6, "{:?}", t.files);
    assert_eq!(ids(&t), (0..300).collect::<Vec<_>>(), "every row once");
    for row in &t.rows {
        let id = row["id"].as_i64().expect("id");
        assert_eq!(row["ds"], json!(days[(id / 100) as usize]), "{row}");
        assert_eq!(row["customer"], json!(customer(id)), "{row}");
        assert_eq!(row["amount"], json!(amount(id)), "{row}");
    }
    // Nanosecond timestamps were declared as microseconds and read back exact.
    assert_eq!(
        row_of(&t, 7)["created_at"],
        json!("2026-11-01T00:00:00.000007+00:00")
    );
    // Every add carries stats from the footer.
    for add in &t.add_actions {
        assert_eq!(add["num_records"], json!(50), "{add}");
        assert!(add["min.id"].is_i64() && add["max.id"].is_i64(), "{add}");
    }
    let version = t.version;

    // Redelivery of every notification adds nothing.
    for body in &notifications {
        aws.send_message(&q.queue.url, body).await.expect("resend");
    }
    let stats = poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain redelivery");
    assert_eq!(stats.failures_reported, 0, "{stats:?}");
    let again = read_table(&uri).await;
    assert_eq!(
        again.version, version,
        "no commit for files already present"
    );
    assert_eq!(ids(&again), ids(&t));

    // A file with an extra column evolves the schema in the same commit.
    aws.put_object(
        &bucket,
        "exports/orders/ds=2026-11-03/part-00002.snappy.parquet",
        orders(300..310, true),
    )
    .await
    .expect("put");
    poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain new column");
    let t = read_table(&uri).await;
    assert_eq!(t.version, version + 1);
    assert_eq!(ids(&t), (0..310).collect::<Vec<_>>());
    assert!(
        t.field_names().contains(&"note".to_string()),
        "{:?}",
        t.schema
    );
    assert_eq!(row_of(&t, 305)["note"], json!("note-305"));
    assert_eq!(row_of(&t, 5)["note"], Value::Null);

    // One warm process did all of it; every commit logged one line.
    let commits = f
        .logs()
        .iter()
        .filter(|l| l.contains("committed") && l.contains("files_added"))
        .count();
    assert_eq!(commits as i64, t.version + 1, "{}", f.logs().join("\n"));
    let report = f.shutdown().await;
    eprintln!("oxbow: {report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_file_fails_only_its_message_and_reaches_the_dlq() {
    let aws = Aws::new().await;
    let (bucket, q) = landing(&aws, "corrupt", &["s3:ObjectCreated:*"]).await;
    let mut f = oxbow(&[]).await;

    aws.put_object(&bucket, "good/events/part-0.parquet", orders(0..20, false))
        .await
        .expect("put good");
    aws.put_object(
        &bucket,
        "bad/events/part-0.parquet",
        b"this is not a parquet file, whatever its name says".to_vec(),
    )
    .await
    .expect("put bad");

    let stats = SqsPoller::new(&aws.sqs, &q.queue)
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain");
    // Reported once per receive until redrive moved it to the DLQ.
    assert_eq!(stats.failures_reported, 2, "{stats:?}");

    let good = read_table(&format!("s3://{bucket}/good/events")).await;
    assert_eq!(ids(&good), (0..20).collect::<Vec<_>>());

    let dlq = message_bodies(&aws.sqs, &q.dlq.url).await.expect("dlq");
    assert_eq!(dlq.len(), 1, "{dlq:?}");
    assert!(
        dlq[0].contains("bad%2Fevents") || dlq[0].contains("bad/events"),
        "{}",
        dlq[0]
    );
    // The log says which file and why.
    assert!(
        f.logs()
            .iter()
            .any(|l| l.contains("bad/events/part-0.parquet")
                && l.contains("not a readable Parquet file")),
        "{}",
        f.logs().join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn object_removed_becomes_a_remove_action() {
    let aws = Aws::new().await;
    let (bucket, q) = landing(
        &aws,
        "removed",
        &["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
    )
    .await;
    let mut f = oxbow(&[]).await;
    let poller = SqsPoller::new(&aws.sqs, &q.queue);
    for (i, key) in ["t/region=eu/a.parquet", "t/region=us/b.parquet"]
        .iter()
        .enumerate()
    {
        let start = i as i64 * 10;
        aws.put_object(&bucket, key, orders(start..start + 10, false))
            .await
            .expect("put");
    }
    poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain adds");
    let uri = format!("s3://{bucket}/t");
    assert_eq!(ids(&read_table(&uri).await).len(), 20);

    aws.s3
        .delete_object()
        .bucket(&bucket)
        .key("t/region=eu/a.parquet")
        .send()
        .await
        .expect("delete");
    // A removal of a file the table never had is ignored.
    aws.put_object(&bucket, "t/region=eu/stray.txt", b"x".to_vec())
        .await
        .expect("put stray");
    aws.s3
        .delete_object()
        .bucket(&bucket)
        .key("t/region=eu/stray.txt")
        .send()
        .await
        .expect("delete stray");
    let stats = poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain removes");
    assert_eq!(stats.failures_reported, 0, "{stats:?}");
    let t = read_table(&uri).await;
    assert_eq!(ids(&t), (10..20).collect::<Vec<_>>());
    assert_eq!(t.files.len(), 1);
    assert!(
        t.history.iter().any(|h| h["operation"] == json!("DELETE")),
        "{:?}",
        t.history
    );
}

// The race of 8 oxbow processes on one table (200 files) is in
// reliability.rs, run together with 4 sqs-ingest processes on another.
