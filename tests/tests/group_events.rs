//! group-events end to end: bucket notifications -> source queue -> the
//! compiled `group-events` binary -> SQS FIFO queue (one message group per
//! table) -> the compiled `oxbow` binary -> Delta tables in moto S3, read
//! back with the Python `deltalake` reader.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use meander_e2e::aws::{Aws, QueueOptions};
use meander_e2e::delta_reader::read_table;
use meander_e2e::moto::env_for_function;
use meander_e2e::parquet::orders;
use meander_e2e::poller::{DrainOptions, SqsPoller};
use meander_e2e::runtime::{function_binary, FunctionProcess, InvokeOutcome};
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(60);

async fn group_events(env: &[(&str, &str)]) -> FunctionProcess {
    let mut e = env_for_function();
    e.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    FunctionProcess::spawn(function_binary("group-events"), e)
        .await
        .expect("spawn group-events")
}

fn fifo() -> QueueOptions {
    QueueOptions {
        fifo: true,
        ..QueueOptions::default()
    }
}

/// A message on the FIFO queue, as received.
#[derive(Debug)]
struct Grouped {
    group_id: String,
    body: String,
    keys: Vec<String>,
}

/// Form-URL-decode an S3 event key (`+` is a space, `%XX` a byte).
fn decode_key(raw: &str) -> String {
    let bytes = raw.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("UTF-8 key")
}

/// Every message now on the FIFO queue at `url`. With `consume`, each is
/// deleted once received; else all are made visible again at the end (so a
/// consumer can still drain them), which needs every group to have one
/// message: SQS hides a group whose earlier message is in flight.
async fn snapshot(aws: &Aws, url: &str, consume: bool) -> Vec<Grouped> {
    let mut received: Vec<Message> = Vec::new();
    loop {
        let out = aws
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let got = out.messages().to_vec();
        if got.is_empty() {
            break;
        }
        if consume {
            for m in &got {
                aws.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
        received.extend(got);
    }
    for m in received.iter().filter(|_| !consume) {
        aws.sqs
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(m.receipt_handle().unwrap_or_default())
            .visibility_timeout(0)
            .send()
            .await
            .expect("make visible again");
    }
    received
        .iter()
        .map(|m| {
            let body = m.body().unwrap_or_default().to_string();
            let v: Value = serde_json::from_str(&body).expect("body is JSON");
            let records = v["Records"].as_array().expect("an S3 notification");
            let keys = records
                .iter()
                .map(|r| {
                    assert_eq!(r["eventSource"], "aws:s3", "{r}");
                    decode_key(r["s3"]["object"]["key"].as_str().expect("key"))
                })
                .collect();
            let group_id = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                .cloned()
                .expect("a FIFO message has a group id");
            Grouped {
                group_id,
                body,
                keys,
            }
        })
        .collect()
}

/// The table folder of a key `tables/<table>/...`.
fn table_of(key: &str) -> String {
    key.split('/').take(2).collect::<Vec<_>>().join("/")
}

/// Every key once, every message one table, one group per table.
fn check_grouping(messages: &[Grouped], expected: &BTreeSet<String>) {
    let mut seen: Vec<&String> = messages.iter().flat_map(|m| &m.keys).collect();
    seen.sort();
    let want: Vec<&String> = expected.iter().collect();
    assert_eq!(seen, want, "every record exactly once");
    let mut groups_of: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for m in messages {
        let tables: BTreeSet<String> = m.keys.iter().map(|k| table_of(k)).collect();
        assert_eq!(tables.len(), 1, "one table per message: {:?}", m.keys);
        for t in tables {
            groups_of.entry(t).or_default().insert(&m.group_id);
        }
    }
    let all: BTreeSet<&str> = groups_of.values().flatten().copied().collect();
    let per_table: usize = groups_of.values().map(BTreeSet::len).sum();
    assert_eq!(
        all.len(),
        per_table,
        "tables never share a group: {groups_of:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn twelve_tables_through_group_events_and_oxbow() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("ge-lake").await.expect("bucket");
    let source = aws
        .create_queue_with_dlq("ge-src", 3, &QueueOptions::default())
        .await
        .expect("source queue");
    let out = aws
        .create_queue_with_dlq("ge-out", 3, &fifo())
        .await
        .expect("FIFO queue");
    aws.notify_queue_on_create(&bucket, &source.queue.arn, Some("tables/"), None)
        .await
        .expect("notification");

    // 12 tables, 2 partitions with one file each; a _SUCCESS marker that
    // is no table's file.
    let mut expected = BTreeSet::new();
    for t in 0..12i64 {
        for f in 0..2i64 {
            let key = format!("tables/t{t:02}/ds=2026-11-0{}/part-{f}.parquet", f + 1);
            let start = t * 100 + f * 10;
            aws.put_object(&bucket, &key, orders(start..start + 10, false))
                .await
                .expect("put");
            expected.insert(key);
        }
    }
    aws.put_object(&bucket, "tables/t00/_SUCCESS", Vec::new())
        .await
        .expect("put _SUCCESS");

    // One batch holds every notification (and S3's test event).
    let source_poller = SqsPoller::new(&aws.sqs, &source.queue).with_batch_size(100);
    let batch = source_poller.receive_batch().await.expect("receive");
    assert_eq!(batch.len(), 26, "24 files, _SUCCESS, s3:TestEvent");
    let event = source_poller.lambda_event(&batch);

    let mut ge = group_events(&[("QUEUE_URL", &out.queue.url)]).await;
    let ok = InvokeOutcome::Response(json!({"batchItemFailures": []}));
    let outcome = ge.invoke(event.clone(), TIMEOUT).await.expect("invoke");
    assert_eq!(outcome, ok, "{}", outcome.describe());
    // Lambda redelivers the same batch: SQS drops the duplicate messages.
    let outcome = ge.invoke(event, TIMEOUT).await.expect("invoke again");
    assert_eq!(outcome, ok, "{}", outcome.describe());
    let logs = ge.logs().join("\n");
    assert!(logs.contains("s3:TestEvent dropped"), "{logs}");

    let messages = snapshot(&aws, &out.queue.url, false).await;
    check_grouping(&messages, &expected);
    assert_eq!(messages.len(), 12, "one message per table");
    let groups: BTreeSet<&str> = messages.iter().map(|m| m.group_id.as_str()).collect();
    assert_eq!(groups.len(), 12, "one group per table");
    for m in &messages {
        assert!(m.body.len() < 256 * 1024);
    }

    // oxbow consumes the FIFO queue unchanged.
    let mut oxbow = FunctionProcess::spawn(function_binary("oxbow"), env_for_function())
        .await
        .expect("spawn oxbow");
    let stats = SqsPoller::new(&aws.sqs, &out.queue)
        .drain(&mut oxbow, &DrainOptions::default())
        .await
        .expect("drain the FIFO queue");
    assert_eq!(stats.messages_deleted, 12, "{stats:?}");
    assert_eq!(stats.failures_reported, 0, "{stats:?}");
    assert_eq!(stats.invocation_errors, 0, "{stats:?}");
    assert_eq!(aws.queue_depth(&out.dlq.url).await.expect("depth"), (0, 0));

    let tables = futures::future::join_all(
        (0..12).map(|t| read_table_owned(format!("s3://{bucket}/tables/t{t:02}"))),
    )
    .await;
    for (t, table) in tables.iter().enumerate() {
        let uri = format!("s3://{bucket}/tables/t{t:02}");
        let files: Vec<String> = expected
            .iter()
            .filter(|k| k.starts_with(&format!("tables/t{t:02}/")))
            .map(|k| format!("s3://{bucket}/{k}"))
            .collect();
        assert_eq!(table.files, files, "{uri}");
        assert_eq!(table.partition_columns, ["ds"], "{uri}");
        let mut ids: Vec<i64> = table
            .column("id")
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        ids.sort_unstable();
        let t = t as i64;
        let want: Vec<i64> = (t * 100..t * 100 + 20).collect();
        assert_eq!(ids, want, "{uri}");
    }
}

async fn read_table_owned(uri: String) -> meander_e2e::delta_reader::TableContents {
    read_table(&uri).await
}

/// An SQS event of `messages` (id, body), as Lambda sends it.
fn sqs_event(messages: &[(String, String)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id,
                "receiptHandle": format!("rh-{id}"),
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:landing",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

fn s3_record(bucket: &str, key: &str) -> Value {
    json!({
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-02T10:15:30.123Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": key.replace(' ', "+"), "size": 2048}
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_heavy_table_is_split_and_spread_and_a_bad_message_fails_alone() {
    let aws = Aws::new().await;
    let out = aws.create_queue("ge-heavy", &fifo()).await.expect("FIFO");
    let mut ge = group_events(&[
        ("QUEUE_URL", &out.url),
        ("GROUP_DISTRIBUTION", "3"),
        ("MAX_MESSAGE_BYTES", "2048"),
    ])
    .await;

    // 60 files of one table and 5 of another, in 7 source messages, and a
    // message that is not an S3 notification.
    let mut expected = BTreeSet::new();
    let mut messages = Vec::new();
    for m in 0..7 {
        let records: Vec<Value> = (0..10)
            .filter_map(|i| {
                let n = m * 10 + i;
                let key = if n < 60 {
                    format!("tables/heavy/ds=2026-11-01/part {n:03}.parquet")
                } else if n < 65 {
                    format!("tables/light/part-{n}.parquet")
                } else {
                    return None;
                };
                expected.insert(key.clone());
                Some(s3_record("lake", &key))
            })
            .collect();
        messages.push((
            format!("src-{m}"),
            json!({ "Records": records }).to_string(),
        ));
    }
    messages.push(("poison".to_string(), "not json".to_string()));

    let outcome = ge
        .invoke(sqs_event(&messages), TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(
        outcome,
        InvokeOutcome::Response(json!({"batchItemFailures": [{"itemIdentifier": "poison"}]})),
        "{}",
        outcome.describe()
    );

    let grouped = snapshot(&aws, &out.url, true).await;
    check_grouping(&grouped, &expected);
    assert!(grouped.iter().all(|m| m.body.len() <= 2048));
    let heavy: BTreeSet<&str> = grouped
        .iter()
        .filter(|m| m.keys.iter().all(|k| k.starts_with("tables/heavy/")))
        .map(|m| m.group_id.as_str())
        .collect();
    assert_eq!(heavy.len(), 3, "spread over 3 groups: {heavy:?}");
    // The groups of one table share its hash: `<hash>-0`, `-1`, `-2`.
    let hashes: BTreeSet<&str> = heavy.iter().filter_map(|g| g.split('-').next()).collect();
    assert_eq!(hashes.len(), 1, "{heavy:?}");
    assert!(
        grouped.len() > 6,
        "split into several messages: {}",
        grouped.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cold_start_checks_the_queue() {
    let aws = Aws::new().await;
    let standard = aws
        .create_queue("ge-standard", &QueueOptions::default())
        .await
        .expect("queue");
    let missing = format!("{}/123456789012/no-such-queue.fifo", aws.endpoint());
    for (env, says) in [
        (vec![], "missing required environment variable QUEUE_URL"),
        (
            vec![("QUEUE_URL", missing.as_str())],
            "GetQueueAttributes failed",
        ),
        (
            vec![("QUEUE_URL", standard.url.as_str())],
            "not a FIFO queue",
        ),
        (
            vec![
                ("QUEUE_URL", standard.url.as_str()),
                ("GROUP_DISTRIBUTION", "0"),
            ],
            "GROUP_DISTRIBUTION",
        ),
    ] {
        let mut f = group_events(&env).await;
        let err = f
            .wait_ready(TIMEOUT)
            .await
            .expect_err("the cold start fails");
        assert!(err.to_string().contains(says), "{env:?}: {err}");
        assert!(err.to_string().contains("QUEUE_URL") || says == "GROUP_DISTRIBUTION");
    }
}
