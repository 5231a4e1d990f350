//! Hostile input, per function: each compiled function gets, through the
//! Runtime API, batches that mix good items with malformed JSON, wrong
//! envelopes, keys with `..` and control characters, over-long keys,
//! non-UTF-8 bytes, negative and huge sizes, corrupt Parquet footers,
//! unsupported Parquet types, 38-digit DynamoDB numbers, empty batches and
//! 1 MiB messages. Every time: no panic (the process lives on, no
//! "panicked" in its log), per-item failures only (`batchItemFailures`
//! names exactly the bad items, the good ones land), and a log line naming
//! each bad item with its reason.

use std::collections::BTreeSet;
use std::time::Duration;

use meander_e2e::aws::{Aws, QueueOptions};
use meander_e2e::delta_reader::{read_table, write_table, WriteOptions};
use meander_e2e::figures::{self, Figures};
use meander_e2e::moto::env_for_function;
use meander_e2e::parquet::{orders, with_time_column};
use meander_e2e::poller::message_bodies;
use meander_e2e::runtime::{function_binary, FunctionProcess, InvokeOutcome, SpawnOptions};
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(120);

async fn spawn(name: &str, extra: &[(&str, &str)]) -> FunctionProcess {
    let mut env = env_for_function();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let options = SpawnOptions {
        function_timeout: TIMEOUT,
        ..SpawnOptions::default()
    };
    FunctionProcess::spawn_with(function_binary(name), env, options)
        .await
        .unwrap_or_else(|e| panic!("spawn {name}: {e}"))
}

/// One record of a Lambda SQS event.
fn sqs_record(id: &str, body: &str) -> Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("rh-{id}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1763712000000"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:hostile",
        "awsRegion": "us-east-1"
    })
}

fn sqs_event(items: &[(&str, String)]) -> Value {
    json!({"Records": items.iter().map(|(id, body)| sqs_record(id, body)).collect::<Vec<_>>()})
}

/// An S3 notification body; `key` as the event carries it (URL-encoded),
/// `size` any JSON.
fn s3_body(bucket: &str, key: &str, size: Value) -> String {
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-21T09:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": key, "size": size}}
    }]})
    .to_string()
}

/// The S3-notification bodies every S3-triggered function must refuse, by
/// message id. Keys are under `prefix`.
fn hostile_s3_bodies(bucket: &str, prefix: &str) -> Vec<(&'static str, String)> {
    let long = format!("{prefix}/{}.parquet", "k".repeat(1100));
    vec![
        ("malformed-json", "{\"Records\": [{\"s3\": ".to_string()),
        ("not-json", "\u{1}\u{2} binary \u{fffd} junk".to_string()),
        ("wrong-envelope", json!({"hello": "world"}).to_string()),
        ("records-not-list", json!({"Records": {"s3": {}}}).to_string()),
        ("sns-bad-message", json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": "{not json"}).to_string()),
        ("dotdot-key", s3_body(bucket, &format!("{prefix}/../../etc/passwd.parquet"), json!(10))),
        ("control-key", s3_body(bucket, &format!("{prefix}/a%0Ab%00.parquet"), json!(10))),
        ("long-key", s3_body(bucket, &long, json!(10))),
        ("non-utf8-key", s3_body(bucket, &format!("{prefix}/%FF%FE%C0.parquet"), json!(10))),
        // A lone surrogate escape: JSON that no UTF-8 decoder accepts.
        ("surrogate-key", s3_body(bucket, &format!("{prefix}/x.parquet"), json!(10)).replace("x.parquet", "\\ud800.parquet")),
        ("negative-size", s3_body(bucket, &format!("{prefix}/neg.parquet"), json!(-5))),
        ("huge-size", s3_body(bucket, &format!("{prefix}/huge.parquet"), json!(1e30))),
    ]
}

/// Invoke, then check: a response (no crash), exactly `bad` reported, the
/// process alive and without panics, one WARN/ERROR line naming each bad
/// item (with its reason).
async fn invoke_and_check(
    f: &mut FunctionProcess,
    fig: &mut Figures,
    event: Value,
    bad: &[&str],
    name_in_log: impl Fn(&str) -> String,
) -> InvokeOutcome {
    let mark = f.log_len();
    let outcome = f.invoke(event, TIMEOUT).await.expect("invoke");
    fig.runs += 1;
    let logs = f.logs_since(mark);
    let text = logs.join("\n");
    let got: BTreeSet<String> = outcome.item_failures().into_iter().collect();
    let want: BTreeSet<String> = bad.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, want, "batchItemFailures; log:\n{text}");
    assert!(f.exit_status().is_none(), "process died:\n{text}");
    assert!(!text.contains("panicked"), "panic:\n{text}");
    for b in bad {
        let needle = name_in_log(b);
        let lines: Vec<&String> = logs
            .iter()
            .filter(|l| l.contains(&needle) && (l.contains("WARN") || l.contains("ERROR")))
            .collect();
        assert_eq!(lines.len(), 1, "one log line must name {needle}:\n{text}");
    }
    fig.records_checked += bad.len() as u64;
    outcome
}

/// An empty batch: an empty answer, nothing reported.
async fn empty_batch(f: &mut FunctionProcess, fig: &mut Figures) {
    invoke_and_check(f, fig, json!({"Records": []}), &[], |s| s.to_string()).await;
}

fn ids(rows: &[Value]) -> Vec<i64> {
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r["id"].as_i64()).collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn oxbow_refuses_hostile_items_one_by_one() {
    let mut fig = Figures::new("hostile: oxbow");
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("hostile-oxbow").await.expect("bucket");
    // Good files, one under a key of exactly 1,024 bytes (S3's limit).
    let long_ok = format!("t/{}.parquet", "k".repeat(1024 - 2 - 8));
    assert_eq!(long_ok.len(), 1024);
    for (key, start) in [
        ("t/part-0.parquet", 0),
        (long_ok.as_str(), 10),
        ("t/part-2.parquet", 20),
    ] {
        aws.put_object(&bucket, key, orders(start..start + 10, false))
            .await
            .expect("put");
    }
    // Hostile files next to them, in the same table.
    let mut corrupt = b"PAR1".to_vec();
    corrupt.extend_from_slice(&[0xAB; 200]);
    corrupt.extend_from_slice(&150u32.to_le_bytes());
    corrupt.extend_from_slice(b"PAR1");
    aws.put_object(&bucket, "t/corrupt-footer.parquet", corrupt)
        .await
        .expect("put");
    aws.put_object(&bucket, "t/time-type.parquet", with_time_column(100..110))
        .await
        .expect("put");

    let mut items = vec![
        ("good-0", s3_body(&bucket, "t/part-0.parquet", json!(1))),
        ("good-1k-key", s3_body(&bucket, &long_ok, json!(1))),
        (
            "test-event",
            json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": bucket}).to_string(),
        ),
    ];
    // A 1 MiB message: a valid notification with a large extra field.
    let mut big: Value =
        serde_json::from_str(&s3_body(&bucket, "t/part-2.parquet", json!(1))).expect("json");
    big["padding"] = json!("p".repeat(1 << 20));
    items.push(("good-1mib", big.to_string()));
    let hostile = hostile_s3_bodies(&bucket, "t");
    items.extend(hostile.iter().cloned());
    items.push((
        "corrupt-footer",
        s3_body(&bucket, "t/corrupt-footer.parquet", json!(1)),
    ));
    items.push((
        "unsupported-type",
        s3_body(&bucket, "t/time-type.parquet", json!(1)),
    ));
    let mut bad: Vec<&str> = hostile.iter().map(|(id, _)| *id).collect();
    bad.extend(["corrupt-footer", "unsupported-type"]);

    let mut f = spawn("oxbow", &[]).await;
    invoke_and_check(&mut f, &mut fig, sqs_event(&items), &bad, |id| {
        format!("message_id={id}")
    })
    .await;
    empty_batch(&mut f, &mut fig).await;

    let t = read_table(&format!("s3://{bucket}/t")).await;
    let got = ids(&t.rows);
    let check = fig.check(&(0..30).collect::<Vec<_>>(), &got);
    figures::record(&fig);
    assert!(check.is_exact(), "{check:?}");
    assert_eq!(t.files.len(), 3, "{:?}", t.files);
    let _ = f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqs_ingest_refuses_hostile_messages_one_by_one() {
    let mut fig = Figures::new("hostile: sqs-ingest");
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("hostile-ingest").await.expect("bucket");
    let uri = format!("s3://{bucket}/tables/events");
    let good = |i: i64| json!({"id": i, "name": format!("user-{i}")}).to_string();
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let mut big = json!({"id": 3, "name": "big"});
    big["blob"] = json!("b".repeat(1 << 20));
    let items: Vec<(&str, String)> = vec![
        ("good-0", good(0)),
        ("good-1", json!([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]).to_string()),
        ("good-1mib", big.to_string()),
        ("malformed-json", "{\"id\": 4, \"name\": ".to_string()),
        ("empty-body", String::new()),
        ("scalar", "42".to_string()),
        ("array-of-scalars", "[1, 2, 3]".to_string()),
        ("sns-bad-message", json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": "{not json"}).to_string()),
        ("surrogate", "{\"id\": 5, \"name\": \"\\ud800\"}".to_string()),
        ("deep", deep),
        ("id-not-a-number", json!({"id": "five", "name": "x"}).to_string()),
        ("id-38-digits", "{\"id\": 12345678901234567890123456789012345678, \"name\": \"x\"}".to_string()),
        ("bad-column-name", json!({"id": 6, "na me,;": "x"}).to_string()),
    ];
    let bad = [
        "malformed-json",
        "empty-body",
        "scalar",
        "array-of-scalars",
        "sns-bad-message",
        "surrogate",
        "deep",
        "id-not-a-number",
        "id-38-digits",
        "bad-column-name",
    ];
    let mut f = spawn("sqs-ingest", &[("DELTA_TABLE_URI", uri.as_str())]).await;
    // The first batch creates the table with `id` a long.
    invoke_and_check(
        &mut f,
        &mut fig,
        sqs_event(&[("seed", good(100))]),
        &[],
        |s| s.to_string(),
    )
    .await;
    invoke_and_check(&mut f, &mut fig, sqs_event(&items), &bad, |id| {
        format!("message_id={id}")
    })
    .await;
    empty_batch(&mut f, &mut fig).await;

    let t = read_table(&uri).await;
    let check = fig.check(&[0, 1, 2, 3, 100], &ids(&t.rows));
    figures::record(&fig);
    assert!(check.is_exact(), "{check:?}");
    let _ = f.shutdown().await;
}

/// A small Delta table written by the Python writer (the independent one).
async fn python_table(uri: &str) {
    let rows: Vec<Value> = (0..5)
        .map(|i| json!({"id": i, "name": format!("n{i}")}))
        .collect();
    write_table(
        uri,
        &rows,
        &WriteOptions {
            mode: "append".to_string(),
            partition_by: Vec::new(),
            schema: vec![
                ("id".into(), "int64".into()),
                ("name".into(), "string".into()),
            ],
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn group_events_refuses_hostile_items_one_by_one() {
    let mut fig = Figures::new("hostile: group-events");
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("hostile-group").await.expect("bucket");
    let out = aws
        .create_queue(
            "hostile-group-out",
            &QueueOptions {
                fifo: true,
                ..QueueOptions::default()
            },
        )
        .await
        .expect("fifo queue");
    let mut big: Value =
        serde_json::from_str(&s3_body(&bucket, "t/part-1.parquet", json!(1))).expect("json");
    big["padding"] = json!("p".repeat(1 << 20));
    let mut items = vec![
        ("good-0", s3_body(&bucket, "t/part-0.parquet", json!(1))),
        ("good-1mib", big.to_string()),
    ];
    let hostile = hostile_s3_bodies(&bucket, "t");
    items.extend(hostile.iter().cloned());
    let bad: Vec<&str> = hostile.iter().map(|(id, _)| *id).collect();

    let mut f = spawn("group-events", &[("QUEUE_URL", out.url.as_str())]).await;
    invoke_and_check(&mut f, &mut fig, sqs_event(&items), &bad, |id| {
        format!("message_id={id}")
    })
    .await;
    empty_batch(&mut f, &mut fig).await;

    // The good events went on to the FIFO queue, nothing else did.
    let forwarded = message_bodies(&aws.sqs, &out.url).await.expect("fifo");
    let text = forwarded.join("\n");
    let found: Vec<i64> = ["t/part-0.parquet", "t/part-1.parquet"]
        .iter()
        .enumerate()
        .filter(|(_, k)| text.contains(**k) || text.contains(&k.replace('/', "%2F")))
        .map(|(i, _)| i as i64)
        .collect();
    let check = fig.check(&[0, 1], &found);
    figures::record(&fig);
    assert!(check.is_exact(), "{check:?}: {forwarded:?}");
    assert!(!text.contains("passwd"), "{text}");
    let _ = f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn glue_sync_refuses_hostile_items_one_by_one() {
    let mut fig = Figures::new("hostile: glue-sync");
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("hostile-glue").await.expect("bucket");
    python_table(&format!("s3://{bucket}/t")).await;
    let database = meander_e2e::moto::unique_name("hostile").replace('-', "_");
    let mut items = vec![(
        "good-commit",
        s3_body(&bucket, "t/_delta_log/00000000000000000000.json", json!(1)),
    )];
    let hostile = hostile_s3_bodies(&bucket, "t/_delta_log");
    items.extend(hostile.iter().cloned());
    let bad: Vec<&str> = hostile.iter().map(|(id, _)| *id).collect();

    let mut f = spawn("glue-sync", &[("GLUE_DATABASE", database.as_str())]).await;
    invoke_and_check(&mut f, &mut fig, sqs_event(&items), &bad, |id| {
        format!("message_id={id}")
    })
    .await;
    empty_batch(&mut f, &mut fig).await;

    let table = aws
        .glue
        .get_table()
        .database_name(&database)
        .name("t")
        .send()
        .await
        .expect("the good commit made a Glue table");
    let columns: Vec<String> = table
        .table()
        .and_then(|t| t.storage_descriptor())
        .map(|sd| sd.columns().iter().map(|c| c.name().to_string()).collect())
        .unwrap_or_default();
    let check = fig.check(&["id".to_string(), "name".to_string()], &columns);
    figures::record(&fig);
    assert!(check.is_exact(), "{check:?}");
    let _ = f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn table_backup_refuses_hostile_items_one_by_one() {
    let mut fig = Figures::new("hostile: table-backup");
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("hostile-lake").await.expect("bucket");
    let backups = aws.create_bucket("hostile-backups").await.expect("bucket");
    let uri = format!("s3://{bucket}/t");
    python_table(&uri).await;
    let mut items = vec![(
        "good-commit",
        s3_body(&bucket, "t/_delta_log/00000000000000000000.json", json!(1)),
    )];
    let hostile = hostile_s3_bodies(&bucket, "t/_delta_log");
    items.extend(hostile.iter().cloned());
    let bad: Vec<&str> = hostile.iter().map(|(id, _)| *id).collect();

    let backup_uri = format!("s3://{backups}/b");
    let mut f = spawn(
        "table-backup",
        &[
            ("BACKUP_URI", backup_uri.as_str()),
            ("SOURCE_TABLE_URIS", uri.as_str()),
        ],
    )
    .await;
    invoke_and_check(&mut f, &mut fig, sqs_event(&items), &bad, |id| {
        format!("message_id={id}")
    })
    .await;
    empty_batch(&mut f, &mut fig).await;

    // The good commit was backed up: its log file and data file.
    let keys = aws.list_keys(&backups, "b/").await.expect("list");
    let copied = keys.iter().filter(|k| k.ends_with(".parquet")).count() as i64;
    let logged = keys
        .iter()
        .filter(|k| k.ends_with("_delta_log/00000000000000000000.json"))
        .count() as i64;
    let check = fig.check(&[1, 1], &[copied.min(1), logged]);
    figures::record(&fig);
    assert!(check.is_exact(), "{check:?}: {keys:?}");
    let _ = f.shutdown().await;
}

/// A DynamoDB stream record (Lambda's shape) for table `orders`.
fn stream_record(seq: u64, keys: Value, new_image: Value) -> Value {
    json!({
        "eventID": format!("ev-{seq}"),
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-21T00:00:00.000",
        "dynamodb": {
            "ApproximateCreationDateTime": 1763712000,
            "Keys": keys,
            "NewImage": new_image,
            "SequenceNumber": format!("{seq:021}"),
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    })
}

fn good_record(seq: u64, id: i64) -> Value {
    stream_record(
        seq,
        json!({"pk": {"S": format!("k{id}")}}),
        json!({"pk": {"S": format!("k{id}")}, "id": {"N": id.to_string()}, "big": {"N": "12345678901234567890123456789012345678"}}),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamo_cdc_fails_at_the_hostile_record_and_keeps_the_rest() {
    let mut fig = Figures::new("hostile: dynamo-cdc");
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("hostile-cdc").await.expect("bucket");
    let table_uri = format!("s3://{bucket}/cdc/{{table}}");
    let mut f = spawn("dynamo-cdc", &[("DELTA_TABLE_URI", table_uri.as_str())]).await;

    // Each hostile record follows a good one: the good one lands, the
    // hostile one is reported (streams retry from the reported record).
    let deep = (0..40).fold(json!({"S": "x"}), |inner, _| json!({"L": [inner]}));
    // (name, image, whether the record fails): a 39-digit number is beyond
    // DynamoDB's 38 but decodes exactly; it does not fit the `id` column
    // (a long), so it is rescued (kept as JSON in the rescue column), by
    // design, not refused.
    let hostile: Vec<(&str, Value, bool)> = vec![
        (
            "number-not-a-number",
            json!({"pk": {"S": "h"}, "id": {"N": "abc"}}),
            true,
        ),
        (
            "number-39-digits",
            json!({"pk": {"S": "h"}, "id": {"N": "123456789012345678901234567890123456789"}}),
            false,
        ),
        (
            "number-huge-exponent",
            json!({"pk": {"S": "h"}, "id": {"N": "1e999999"}}),
            true,
        ),
        (
            "bad-base64",
            json!({"pk": {"S": "h"}, "b": {"B": "%%%not base64"}}),
            true,
        ),
        (
            "unknown-type",
            json!({"pk": {"S": "h"}, "x": {"Q": "1"}}),
            true,
        ),
        (
            "two-types",
            json!({"pk": {"S": "h"}, "x": {"S": "1", "N": "1"}}),
            true,
        ),
        ("too-deep", json!({"pk": {"S": "h"}, "x": deep}), true),
        ("not-an-object", json!("a string image"), true),
    ];
    let mut seq = 100u64;
    let mut expected_ids = Vec::new();
    for (i, (name, image, fails)) in hostile.iter().enumerate() {
        let id = i as i64;
        expected_ids.push(id);
        let good = good_record(seq, id);
        let bad = stream_record(seq + 1, json!({"pk": {"S": "h"}}), image.clone());
        let bad_seq = format!("{:021}", seq + 1);
        seq += 2;
        let mark = f.log_len();
        let reported: Vec<&str> = if *fails {
            vec![bad_seq.as_str()]
        } else {
            Vec::new()
        };
        invoke_and_check(
            &mut f,
            &mut fig,
            json!({"Records": [good, bad]}),
            &reported,
            |s| s.to_string(),
        )
        .await;
        if *fails {
            let logs = f.logs_since(mark);
            let lines = logs
                .iter()
                .filter(|l| l.contains("record failed") && l.contains(&bad_seq))
                .count();
            assert_eq!(
                lines,
                1,
                "{name}: one line for the failed record:\n{}",
                logs.join("\n")
            );
        }
    }
    // A record that is not even an object, and one without dynamodb.
    for broken in [
        json!(42),
        json!({"eventName": "INSERT", "eventSource": "aws:dynamodb"}),
    ] {
        let good = good_record(seq, expected_ids.len() as i64);
        expected_ids.push(expected_ids.len() as i64);
        seq += 1;
        let outcome = f
            .invoke(json!({"Records": [good, broken]}), TIMEOUT)
            .await
            .expect("invoke");
        fig.runs += 1;
        // No sequence number to report: the invocation fails as a whole
        // (Lambda retries the batch), after the good record was written.
        assert!(
            matches!(
                outcome,
                InvokeOutcome::Error(_) | InvokeOutcome::Response(_)
            ),
            "{}",
            outcome.describe()
        );
        assert!(f.exit_status().is_none());
    }
    empty_batch(&mut f, &mut fig).await;
    let logs = f.logs().join("\n");
    assert!(!logs.contains("panicked"), "{logs}");

    let t = read_table(&format!("s3://{bucket}/cdc/orders")).await;
    let check = fig.check(&expected_ids, &ids(&t.rows));
    figures::record(&fig);
    assert!(check.is_exact(), "{check:?}");
    // 38-digit numbers are exact.
    assert!(
        t.rows
            .iter()
            .filter(|r| r["pk"].as_str().is_some_and(|k| k.starts_with('k')))
            .all(|r| r["big"] == json!("12345678901234567890123456789012345678")),
        "{:?}",
        t.rows.first()
    );
    let _ = f.shutdown().await;
}

/// The `id` column of a dms-merge table written from CSV (text), as numbers.
fn text_ids(rows: &[Value]) -> Vec<i64> {
    let mut ids: Vec<i64> = rows
        .iter()
        .filter_map(|r| r["id"].as_str().and_then(|s| s.parse().ok()))
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn dms_merge_refuses_hostile_items_one_by_one() {
    let mut fig = Figures::new("hostile: dms-merge");
    let aws = Aws::new().await;
    let src = aws.create_bucket("hostile-dms").await.expect("bucket");
    let lake = aws.create_bucket("hostile-dms-lake").await.expect("bucket");
    let key = |table: &str, name: &str| format!("dms/public/{table}/{name}");
    // A good table whose key is exactly 1,024 bytes (S3's limit).
    let folder = "f".repeat(1024 - "/public/longkey/LOAD00000001.csv".len());
    let long_ok = format!("{folder}/public/longkey/LOAD00000001.csv");
    assert_eq!(long_ok.len(), 1024);
    let mut corrupt = b"PAR1".to_vec();
    corrupt.extend_from_slice(&[0xAB; 200]);
    corrupt.extend_from_slice(&150u32.to_le_bytes());
    corrupt.extend_from_slice(b"PAR1");
    let load: String = (1..=10).map(|i| format!("{i},n{i}\n")).collect();
    let files: Vec<(String, Vec<u8>)> = vec![
        // orders: a full load, a good CDC file, one with an Op other than
        // I/U/D, and a good one after it (blocked by it, as documented).
        (
            key("orders", "LOAD00000001.csv"),
            format!("id,name\n{load}").into_bytes(),
        ),
        (
            key("orders", "20261121-100000000.csv"),
            b"Op,id,name\nU,1,a2\nD,2,\nI,11,k\n".to_vec(),
        ),
        (
            key("orders", "20261121-100100000.csv"),
            b"Op,id,name\nU,5,x\nX,3,zz\n".to_vec(),
        ),
        (
            key("orders", "20261121-100200000.csv"),
            b"Op,id,name\nU,4,blocked\n".to_vec(),
        ),
        // lines: a full load, then an empty CDC file (no changes).
        (
            key("lines", "LOAD00000001.csv"),
            b"id,name\n100,a\n101,b\n102,c\n".to_vec(),
        ),
        (key("lines", "20261121-100000000.csv"), Vec::new()),
        (long_ok.clone(), b"id,name\n200,a\n201,b\n".to_vec()),
        // One bad full-load file per table.
        (
            key("utf8", "LOAD00000001.csv"),
            b"id,name\n1,ok\n2,\xff\xfe\xc0\n".to_vec(),
        ),
        (
            key("quoting", "LOAD00000001.csv"),
            b"id,name\n1,\"unterminated\n2,b\n".to_vec(),
        ),
        (
            key("fields", "LOAD00000001.csv"),
            b"id,name\n1,a,extra\n2\n".to_vec(),
        ),
        (key("pq", "LOAD00000001.parquet"), corrupt),
        (
            key("unlisted", "LOAD00000001.csv"),
            b"id,name\n1,a\n".to_vec(),
        ),
    ];
    for (k, body) in &files {
        aws.put_object(&src, k, body.clone()).await.expect("put");
    }
    let note = |k: &str| s3_body(&src, k, json!(1));
    let mut big: Value =
        serde_json::from_str(&note(&key("lines", "LOAD00000001.csv"))).expect("json");
    big["padding"] = json!("p".repeat(1 << 20));
    let mut items = vec![
        ("good-load", note(&key("orders", "LOAD00000001.csv"))),
        ("good-cdc", note(&key("orders", "20261121-100000000.csv"))),
        ("bad-op", note(&key("orders", "20261121-100100000.csv"))),
        (
            "blocked-by-bad-op",
            note(&key("orders", "20261121-100200000.csv")),
        ),
        ("good-1mib", big.to_string()),
        (
            "good-empty-csv",
            note(&key("lines", "20261121-100000000.csv")),
        ),
        ("good-1k-key", note(&long_ok)),
        (
            "test-event",
            json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": src}).to_string(),
        ),
        ("non-utf8-csv", note(&key("utf8", "LOAD00000001.csv"))),
        ("bad-quoting", note(&key("quoting", "LOAD00000001.csv"))),
        (
            "wrong-field-count",
            note(&key("fields", "LOAD00000001.csv")),
        ),
        ("corrupt-parquet", note(&key("pq", "LOAD00000001.parquet"))),
        (
            "not-in-key-columns",
            note(&key("unlisted", "LOAD00000001.csv")),
        ),
        ("gzip", note(&key("orders", "20261121-100300000.csv.gz"))),
    ];
    let hostile = hostile_s3_bodies(&src, "dms/public/orders");
    items.extend(hostile.iter().cloned());
    let mut bad: Vec<&str> = hostile.iter().map(|(id, _)| *id).collect();
    bad.extend([
        "bad-op",
        "blocked-by-bad-op",
        "non-utf8-csv",
        "bad-quoting",
        "wrong-field-count",
        "corrupt-parquet",
        "not-in-key-columns",
        "gzip",
    ]);

    let uri = format!("s3://{lake}/delta/{{schema}}/{{table}}");
    let mut f = spawn(
        "dms-merge",
        &[
            ("DELTA_TABLE_URI", uri.as_str()),
            ("CSV_HEADER", "true"),
            (
                "KEY_COLUMNS",
                "public.orders=id;public.lines=id;public.longkey=id;public.utf8=id;public.quoting=id;public.fields=id;public.pq=id",
            ),
        ],
    )
    .await;
    let outcome = invoke_and_check(&mut f, &mut fig, sqs_event(&items), &bad, |id| {
        format!("message_id={id}")
    })
    .await;
    let _ = outcome;
    // The blocked file's line names the file that blocks it.
    let logs = f.logs().join("\n");
    assert!(
        logs.lines()
            .any(|l| l.contains("message_id=blocked-by-bad-op")
                && l.contains("20261121-100100000.csv")),
        "{logs}"
    );
    empty_batch(&mut f, &mut fig).await;

    let table = |t: &str| format!("s3://{lake}/delta/public/{t}");
    let orders = read_table(&table("orders")).await;
    let lines = read_table(&table("lines")).await;
    let long = read_table(&table("longkey")).await;
    let mut got = text_ids(&orders.rows);
    got.extend(text_ids(&lines.rows));
    got.extend(text_ids(&long.rows));
    let mut want: Vec<i64> = (1..=11).filter(|&i| i != 2).collect();
    want.extend([100, 101, 102, 200, 201]);
    let check = fig.check(&want, &got);
    figures::record(&fig);
    assert!(check.is_exact(), "{check:?}");
    // The good CDC file went in, the bad one and the one after it did not.
    let name = |id: &str| {
        orders
            .rows
            .iter()
            .find(|r| r["id"] == json!(id))
            .and_then(|r| r["name"].as_str().map(str::to_string))
    };
    assert_eq!(name("1").as_deref(), Some("a2"));
    assert_eq!(name("5").as_deref(), Some("n5"), "nothing of the bad file");
    assert_eq!(
        name("4").as_deref(),
        Some("n4"),
        "nothing after the bad file"
    );
    let _ = f.shutdown().await;
}
