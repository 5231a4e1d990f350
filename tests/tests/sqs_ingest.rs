//! sqs-ingest end to end: JSON messages on an SQS queue in moto -> the
//! compiled `sqs-ingest` binary under the Lambda Runtime API, driven by the
//! event-source-mapping poller -> a Delta table in moto S3, read back row by
//! row with the Python `deltalake` reader.

use std::time::Duration;

use meander_e2e::aws::{send_all, Aws, QueueOptions};
use meander_e2e::delta_reader::{read_table, TableContents};
use meander_e2e::moto::{env_for_function, unique_name};
use meander_e2e::poller::{message_bodies, queue_depth, DrainOptions, SqsPoller};
use meander_e2e::records::json_message;
use meander_e2e::runtime::{function_binary, FunctionProcess, SpawnOptions};
use serde_json::{json, Value};

const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);

async fn sqs_ingest(table_uri: &str, extra: &[(&str, &str)], timeout: Duration) -> FunctionProcess {
    let mut env = env_for_function();
    env.push(("DELTA_TABLE_URI".to_string(), table_uri.to_string()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let options = SpawnOptions {
        function_timeout: timeout,
        ..SpawnOptions::default()
    };
    FunctionProcess::spawn_with(function_binary("sqs-ingest"), env, options)
        .await
        .expect("spawn sqs-ingest")
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

#[tokio::test(flavor = "multi_thread")]
async fn good_records_land_once_and_bad_ones_reach_the_dlq() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("ingest").await.expect("bucket");
    let q = aws
        .create_queue_with_dlq("ingest", 2, &QueueOptions::default())
        .await
        .expect("queue");
    let uri = format!("s3://{bucket}/tables/events");
    let mut f = sqs_ingest(
        &uri,
        &[("TIMESTAMP_COLUMNS", "ts")],
        Duration::from_secs(60),
    )
    .await;
    let poller = SqsPoller::new(&aws.sqs, &q.queue);

    // The first messages create the table (`id` is a long) ...
    let first: Vec<String> = (0..100).map(json_message).collect();
    send_all(&aws.sqs, &q.queue.url, &first).await;
    poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain");
    // ... then the rest, with three malformed messages among them.
    let bad = [
        "this is not JSON".to_string(),
        "[1, 2, 3]".to_string(),
        json!({"id": "not-a-number", "name": "x"}).to_string(),
    ];
    let mut rest: Vec<String> = (100..500).map(json_message).collect();
    for (i, b) in bad.iter().enumerate() {
        rest.insert(50 + i * 120, b.clone());
    }
    send_all(&aws.sqs, &q.queue.url, &rest).await;
    let stats = poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain");
    println!("drain: {stats:?}");

    let t = read_table(&uri).await;
    assert_eq!(
        ids(&t),
        (0..500).collect::<Vec<i64>>(),
        "each id exactly once"
    );
    let row = t.rows.iter().find(|r| r["id"] == 7).expect("row 7");
    assert_eq!(
        row,
        &json!({
            "id": 7, "name": "user-7", "ts": "2026-11-08T10:00:00+00:00",
            "payload": {"score": 3.5, "tags": ["a", "b"]}
        })
    );
    let schema: Vec<(String, Value)> = t.schema["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or("").to_string(),
                f["type"].clone(),
            )
        })
        .collect();
    assert!(
        schema.contains(&("id".to_string(), json!("long"))),
        "{schema:?}"
    );
    assert!(
        schema.contains(&("ts".to_string(), json!("timestamp"))),
        "{schema:?}"
    );
    // One file and one commit per invocation, never one per message.
    assert!(t.files.len() < 100, "{} files", t.files.len());
    assert_eq!(t.files.len() as i64, t.version + 1);

    let mut dlq = message_bodies(&aws.sqs, &q.dlq.url).await.expect("dlq");
    dlq.sort();
    let mut expected = bad.to_vec();
    expected.sort();
    assert_eq!(dlq, expected);
    assert_eq!(aws.queue_depth(&q.queue.url).await.expect("depth"), (0, 0));
    // Every bad message was logged with its id and reason.
    let logs = f.logs().join("\n");
    assert!(logs.contains("message rejected"), "{logs}");
    assert!(logs.contains("not-a-number"), "{logs}");
    println!("peak RSS: {} KiB", f.peak_rss_kb());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_event_adds_nothing() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("replay").await.expect("bucket");
    let queue = aws
        .create_queue("replay", &QueueOptions::default())
        .await
        .expect("queue");
    let uri = format!("s3://{bucket}/tables/{}", unique_name("t"));
    let mut f = sqs_ingest(&uri, &[], Duration::from_secs(60)).await;
    let mut bodies: Vec<String> = (0..20).map(json_message).collect();
    bodies.push("{broken".to_string());
    send_all(&aws.sqs, &queue.url, &bodies).await;
    let poller = SqsPoller::new(&aws.sqs, &queue).with_batch_size(30);
    let batch = poller.receive_batch().await.expect("receive");
    assert_eq!(batch.len(), 21);
    let event = poller.lambda_event(&batch);
    let broken = batch
        .iter()
        .find(|m| m.body() == Some("{broken"))
        .and_then(|m| m.message_id())
        .expect("broken message")
        .to_string();

    let first = f
        .invoke(event.clone(), INVOKE_TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(first.item_failures(), std::slice::from_ref(&broken));
    let before = read_table(&uri).await;
    assert_eq!(ids(&before), (0..20).collect::<Vec<i64>>());

    // Lambda delivers the same event again (say the response was lost).
    let again = f
        .invoke(event.clone(), INVOKE_TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(again.item_failures(), std::slice::from_ref(&broken));
    // And a new container, which knows the table only from its log.
    let mut cold = sqs_ingest(&uri, &[], Duration::from_secs(60)).await;
    let third = cold.invoke(event, INVOKE_TIMEOUT).await.expect("invoke");
    assert_eq!(third.item_failures(), [broken]);

    let after = read_table(&uri).await;
    assert_eq!(after.version, before.version, "no new commit");
    assert_eq!(ids(&after), (0..20).collect::<Vec<i64>>());
}

/// A FIFO event as Lambda sends it: group id and sequence number attributes.
fn fifo_event(records: &[(&str, &str, u128, String)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, group, seq, body)| {
            json!({
                "messageId": id,
                "receiptHandle": format!("rh-{id}"),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "MessageGroupId": group,
                    "SequenceNumber": seq.to_string(),
                    "MessageDeduplicationId": id
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders.fifo",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test(flavor = "multi_thread")]
async fn fifo_groups_are_exactly_once() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("fifo").await.expect("bucket");
    let uri = format!("s3://{bucket}/tables/orders");
    let mut f = sqs_ingest(&uri, &[], Duration::from_secs(60)).await;
    // Real FIFO sequence numbers are beyond 64 bits.
    let base: u128 = 18_849_496_460_467_696_128;
    let first = fifo_event(&[
        ("a1", "A", base + 1, json_message(1)),
        ("a2", "A", base + 2, "{broken".to_string()),
        ("a3", "A", base + 3, json_message(3)),
        ("b1", "B", base + 4, json_message(4)),
    ]);
    let out = f.invoke(first, INVOKE_TIMEOUT).await.expect("invoke");
    // a2 fails, and a3 with it: the group's order is kept.
    assert_eq!(out.item_failures(), ["a2", "a3"]);
    // Everything comes again, a2 fixed, with a new message of group B.
    let second = fifo_event(&[
        ("a1", "A", base + 1, json_message(1)),
        ("a2", "A", base + 2, json_message(2)),
        ("a3", "A", base + 3, json_message(3)),
        ("b1", "B", base + 4, json_message(4)),
        ("b2", "B", base + 5, json_message(5)),
    ]);
    let out = f
        .invoke(second.clone(), INVOKE_TIMEOUT)
        .await
        .expect("invoke");
    assert!(out.item_failures().is_empty());
    let out = f.invoke(second, INVOKE_TIMEOUT).await.expect("invoke");
    assert!(out.item_failures().is_empty());
    let t = read_table(&uri).await;
    assert_eq!(ids(&t), [1, 2, 3, 4, 5]);
    assert_eq!(t.version, 1, "two commits, the replay added none");
}

#[tokio::test(flavor = "multi_thread")]
async fn buffer_more_takes_10000_messages_in_one_invocation() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("buffer").await.expect("bucket");
    let server = meander_e2e::moto::SqsServer::start();
    let sqs = server.client().await;
    // Messages pulled by the function stay hidden until it is done.
    let (queue_url, queue_arn) = server.create_queue(&sqs, "buffer", 600).await;
    let bodies: Vec<String> = (0..10_000).map(json_message).collect();
    send_all(&sqs, &queue_url, &bodies).await;
    assert_eq!(
        queue_depth(&sqs, &queue_url).await.expect("depth"),
        (10_000, 0)
    );

    let uri = format!("s3://{bucket}/tables/bulk");
    let mut f = sqs_ingest(
        &uri,
        &[
            ("AWS_ENDPOINT_URL_SQS", server.endpoint()),
            ("BUFFER_MORE_QUEUE_URL", queue_url.as_str()),
            ("BUFFER_MORE_MESSAGES", "10000"),
        ],
        // Buffer-more may use half of what is left of this.
        Duration::from_secs(900),
    )
    .await;
    let mut poller = SqsPoller::from_parts(&sqs, &queue_url, &queue_arn);
    poller.invoke_timeout = Duration::from_secs(900);
    let round = poller.poll_once(&mut f).await.expect("poll");
    assert_eq!(round.received, 10);
    assert!(round.failed.is_empty(), "{round:?}");
    assert_eq!(f.invocations().len(), 1);
    println!(
        "10,000 messages in one invocation: {:?}; peak RSS {} KiB",
        f.invocations()[0].duration,
        f.peak_rss_kb()
    );
    // The extra messages were deleted after the commit.
    assert_eq!(queue_depth(&sqs, &queue_url).await.expect("depth"), (0, 0));

    let t = read_table(&uri).await;
    assert_eq!(t.version, 0, "one commit");
    assert_eq!(ids(&t), (0..10_000).collect::<Vec<i64>>());
    assert_eq!(t.files.len(), 1, "one file for the invocation");
    let logs = f.logs().join("\n");
    assert!(logs.contains("buffer-more"), "{logs}");
}
