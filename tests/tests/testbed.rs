//! The test bed proves itself against moto with the real function binaries:
//! the runtime driver (`sqs-ingest`: warm invocations, a function error, a
//! failed cold start, a process killed mid-invocation), the SQS poller with
//! partial batch failures and DLQ redrive (`sqs-ingest`), S3 -> SQS
//! notifications, the DynamoDB stream reader and its retries from a reported
//! `SequenceNumber` (`dynamo-cdc`), and the Python Delta reader. What each
//! function writes is checked in its own test file; these tests are about
//! the bed. Needs `cargo build --bins` and `MEANDER_PYTHON` (scripts/test.sh
//! does both); without them the tests fail saying so.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use meander_e2e::aws::{Aws, QueueOptions};
use meander_e2e::delta_reader::{
    read_table, read_table_with, write_table, ReadOptions, WriteOptions,
};
use meander_e2e::moto::{env_for_function, unique_name};
use meander_e2e::poller::{message_bodies, DrainOptions, SqsPoller};
use meander_e2e::runtime::{function_binary, FunctionProcess, InvokeOutcome};
use meander_e2e::streams::{sequence_number, StreamReader};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The compiled function `name` with moto's environment plus `extra`
/// (a key given in `extra` replaces moto's).
async fn function(name: &str, extra: &[(&str, &str)]) -> FunctionProcess {
    let mut env = env_for_function();
    env.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    FunctionProcess::spawn(function_binary(name), env)
        .await
        .unwrap_or_else(|e| panic!("spawn {name}: {e}"))
}

/// A Lambda SQS event of `(messageId, body)` pairs, for direct invocations.
fn sqs_event(messages: &[(&str, &str)]) -> Value {
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
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:direct",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

fn count(lines: &[String], needle: &str) -> usize {
    lines.iter().filter(|l| l.contains(needle)).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn runtime_driver_runs_one_process_warm() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("warm").await.expect("bucket");
    let uri = format!("s3://{bucket}/tables/warm");
    let mut f = function("sqs-ingest", &[("DELTA_TABLE_URI", &uri)]).await;
    let pid = f.pid();
    let init = f.wait_ready(READY_TIMEOUT).await.expect("cold start");
    assert_eq!(f.init_duration(), Some(init));

    for i in 0..3 {
        let ok = format!("ok-{i}");
        let bad = format!("bad-{i}");
        let body = json!({"n": i}).to_string();
        let event = sqs_event(&[(&ok, &body), (&bad, "not JSON")]);
        let outcome = f.invoke(event, INVOKE_TIMEOUT).await.expect("invoke");
        assert_eq!(
            outcome,
            InvokeOutcome::Response(json!({"batchItemFailures": [{"itemIdentifier": bad}]})),
            "invocation {i}: {}",
            outcome.describe()
        );
    }
    // A payload the handler refuses is a function error (`/error`), and the
    // process stays up for the next one.
    match f
        .invoke(json!({"hello": 1}), INVOKE_TIMEOUT)
        .await
        .expect("invoke")
    {
        InvokeOutcome::Error(e) => assert!(
            e["errorMessage"]
                .as_str()
                .is_some_and(|m| m.contains("no Records")),
            "{e}"
        ),
        other => panic!("expected a function error, got {}", other.describe()),
    }
    let outcome = f
        .invoke(sqs_event(&[("last", r#"{"n": 3}"#)]), INVOKE_TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(
        outcome,
        InvokeOutcome::Response(json!({"batchItemFailures": []}))
    );

    // One cold start, five warm invocations, all in one process.
    assert_eq!(f.pid(), pid);
    assert_eq!(f.exit_status(), None);
    assert_eq!(f.init_duration(), Some(init));
    let kinds: Vec<&str> = f.invocations().iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        ["response", "response", "response", "error", "response"]
    );
    f.wait_idle(READY_TIMEOUT).await.expect("back in /next");
    assert_eq!(
        f.next_requests(),
        6,
        "one /next per invocation plus the waiting one"
    );
    assert!(f.peak_rss_kb() > 0);

    let report = f.shutdown().await;
    // Reported, never asserted on beyond being there: these are not timed tests.
    eprintln!(
        "{}: init {:?}, peak RSS {} KiB, invocations {:?}",
        report.name,
        report.init,
        report.peak_rss_kb,
        report
            .invocations
            .iter()
            .map(|i| i.duration)
            .collect::<Vec<_>>()
    );
    assert_eq!(report.name, "sqs-ingest");
    assert_eq!(report.init, Some(init));
    assert!(init > Duration::ZERO);
    // Every line the process wrote, read to its end at shutdown: one
    // `batch done` per batch and each rejected message, in order. (An
    // invocation's own `logs` are what had been read when it was answered,
    // which may lag the pipe: not asserted on.)
    let logs = &report.logs;
    assert_eq!(count(logs, "batch done"), 4, "{logs:#?}");
    let rejected: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("message rejected"))
        .collect();
    assert_eq!(rejected.len(), 3, "{logs:#?}");
    for (i, line) in rejected.iter().enumerate() {
        assert!(line.contains(&format!("bad-{i}")), "{logs:#?}");
    }
    assert_eq!(count(logs, "no Records"), 1, "{logs:#?}");
    assert!(report.peak_rss_kb > 0);
    assert_eq!(report.invocations.len(), 5);
    assert_eq!(report.exit, None, "the process lived until shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_config_fails_the_cold_start_naming_the_key() {
    // sqs-ingest without DELTA_TABLE_URI.
    let mut f = function("sqs-ingest", &[]).await;
    let outcome = f
        .invoke(sqs_event(&[("m", "{}")]), INVOKE_TIMEOUT)
        .await
        .expect("invoke");
    eprintln!("cold start without DELTA_TABLE_URI: {}", outcome.describe());
    match &outcome {
        InvokeOutcome::Crashed { status, logs } => {
            assert!(!status.success(), "{status}");
            assert!(
                logs.iter().any(|l| l.contains("DELTA_TABLE_URI")),
                "{logs:#?}"
            );
        }
        other => panic!("expected a failed cold start, got {}", other.describe()),
    }
    assert_eq!(f.next_requests(), 0);
    assert_eq!(f.init_duration(), None);
    // Later invocations report the same dead process instead of hanging.
    let again = f
        .invoke(sqs_event(&[("m", "{}")]), INVOKE_TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(again.kind(), outcome.kind());
    let err = f.wait_ready(READY_TIMEOUT).await.expect_err("never ready");
    assert!(err.to_string().contains("DELTA_TABLE_URI"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_killed_mid_invocation_is_reported_as_crashed() {
    // sqs-ingest's S3 endpoint is a socket that accepts and never answers:
    // the first request for the table means the invocation is in flight,
    // and the test kills the process right there (no sleep, no race). Debug
    // logs make the function's S3 client name that endpoint before it
    // connects.
    let stall = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", stall.local_addr().expect("addr"));
    let mut f = function(
        "sqs-ingest",
        &[
            ("DELTA_TABLE_URI", "s3://stalled/tables/t"),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("RUST_LOG", "debug"),
        ],
    )
    .await;
    f.wait_ready(READY_TIMEOUT)
        .await
        .expect("cold start (no S3 call)");
    let pid = f.pid();
    let kill_when_reading = async move {
        let (mut socket, _) = tokio::time::timeout(INVOKE_TIMEOUT, stall.accept())
            .await
            .expect("the function never reached S3")
            .expect("accept");
        let mut head = vec![0u8; 4096];
        let n = socket.read(&mut head).await.expect("read request");
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(killed.success(), "kill -KILL {pid}: {killed}");
        // The socket stays open until the process is gone.
        (String::from_utf8_lossy(&head[..n]).into_owned(), socket)
    };
    let (outcome, (request, _socket)) = tokio::join!(
        f.invoke(sqs_event(&[("m", r#"{"n": 1}"#)]), INVOKE_TIMEOUT),
        kill_when_reading
    );
    assert!(request.contains("/stalled"), "{request}");
    match outcome.expect("invoke") {
        InvokeOutcome::Crashed { status, logs } => {
            assert_eq!(status.signal(), Some(9), "{status}");
            // Everything written before the kill, read to its end.
            let host = endpoint.trim_start_matches("http://");
            assert!(logs.iter().any(|l| l.contains(host)), "{logs:#?}");
            assert_eq!(logs, f.logs());
        }
        other => panic!("expected a crash, got {}", other.describe()),
    }
    assert_eq!(f.invocations().len(), 1);
    assert_eq!(f.invocations()[0].kind, "crashed");
    assert!(f.exit_status().is_some());
    // The dead process is reported again, at once.
    let again = f
        .invoke(sqs_event(&[("m2", "{}")]), INVOKE_TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(again.kind(), "crashed");
}

#[tokio::test(flavor = "multi_thread")]
async fn sqs_poller_deletes_successes_and_redrives_failures_to_the_dlq() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("out").await.expect("bucket");
    let uri = format!("s3://{bucket}/tables/polled");
    let queues = aws
        .create_queue_with_dlq("in", 2, &QueueOptions::default())
        .await
        .expect("queues");
    for i in 0..5 {
        aws.send_message(&queues.queue.url, &json!({"id": i}).to_string())
            .await
            .expect("send");
    }
    aws.send_message(&queues.queue.url, "not JSON")
        .await
        .expect("send");

    let mut f = function("sqs-ingest", &[("DELTA_TABLE_URI", &uri)]).await;
    let poller = SqsPoller::new(&aws.sqs, &queues.queue).with_batch_size(10);
    let stats = poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain");

    // The bad message was received max_receive_count times, reported each
    // time, then moved to the DLQ; the good ones were deleted once.
    assert_eq!(stats.messages_deleted, 5, "{stats:?}");
    assert_eq!(stats.failures_reported, 2, "{stats:?}");
    assert_eq!(stats.invocation_errors, 0, "{stats:?}");
    assert_eq!(stats.invocations, 2, "{stats:?}");
    assert!(
        f.invocations().iter().all(|i| i.kind == "response"),
        "{:#?}",
        f.invocations()
    );
    assert_eq!(
        aws.queue_depth(&queues.queue.url).await.expect("depth"),
        (0, 0)
    );
    assert_eq!(
        message_bodies(&aws.sqs, &queues.dlq.url)
            .await
            .expect("dlq"),
        vec!["not JSON"]
    );
    let mut ids: Vec<i64> = read_table(&uri)
        .await
        .column("id")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [0, 1, 2, 3, 4]);
}

#[tokio::test(flavor = "multi_thread")]
async fn poller_builds_lambda_sqs_records() {
    let aws = Aws::new().await;
    let queue = aws
        .create_queue("shape", &QueueOptions::default())
        .await
        .expect("queue");
    let id = aws
        .send_message(&queue.url, "body text")
        .await
        .expect("send");
    let poller = SqsPoller::new(&aws.sqs, &queue);
    let batch = poller.receive_batch().await.expect("receive");
    let event = poller.lambda_event(&batch);
    let r = &event["Records"][0];
    assert_eq!(r["messageId"], json!(id));
    assert_eq!(r["body"], "body text");
    assert_eq!(r["eventSource"], "aws:sqs");
    assert_eq!(r["eventSourceARN"], json!(queue.arn));
    assert_eq!(r["awsRegion"], "us-east-1");
    assert!(
        r["md5OfBody"].as_str().is_some_and(|s| s.len() == 32),
        "{r}"
    );
    assert!(r["receiptHandle"].as_str().is_some_and(|s| !s.is_empty()));
    for attr in [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ] {
        assert!(r["attributes"][attr].is_string(), "{attr} missing in {r}");
    }
    assert_eq!(r["attributes"]["ApproximateReceiveCount"], "1");
    assert_eq!(r["messageAttributes"], json!({}));
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_notifications_reach_the_queue() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("landing").await.expect("bucket");
    let queue = aws
        .create_queue("events", &QueueOptions::default())
        .await
        .expect("queue");
    aws.notify_queue_on_create(&bucket, &queue.arn, Some("tables/"), None)
        .await
        .expect("notification");
    aws.put_object(
        &bucket,
        "tables/t1/year=2024/part 1+x.parquet",
        b"PAR1".to_vec(),
    )
    .await
    .expect("put");
    aws.put_object(&bucket, "elsewhere/ignored.parquet", b"PAR1".to_vec())
        .await
        .expect("put");

    let bodies: Vec<Value> = message_bodies(&aws.sqs, &queue.url)
        .await
        .expect("receive")
        .iter()
        .map(|b| serde_json::from_str(b).expect("json body"))
        .collect();
    // moto sends S3's test event when the configuration is saved.
    let test_events: Vec<&Value> = bodies
        .iter()
        .filter(|b| b["Event"] == "s3:TestEvent")
        .collect();
    assert_eq!(test_events.len(), 1, "{bodies:#?}");
    assert_eq!(test_events[0]["Bucket"], json!(bucket));
    let records: Vec<&Value> = bodies
        .iter()
        .filter_map(|b| b["Records"].as_array())
        .flatten()
        .collect();
    assert_eq!(
        records.len(),
        1,
        "only the prefix-matching key: {bodies:#?}"
    );
    let r = records[0];
    assert_eq!(r["eventSource"], "aws:s3");
    assert_eq!(r["eventName"], "ObjectCreated:Put");
    assert_eq!(r["s3"]["bucket"]["name"], json!(bucket));
    assert_eq!(r["s3"]["object"]["size"], 4);
    // moto form-encodes the key: '/' -> %2F, ' ' -> '+', '+' -> %2B.
    assert_eq!(
        r["s3"]["object"]["key"],
        "tables%2Ft1%2Fyear%3D2024%2Fpart+1%2Bx.parquet"
    );
    // ... and leaves out what AWS sends but the product must not need.
    assert!(r.get("userIdentity").is_none(), "{r}");
    assert!(r["s3"]["object"].get("sequencer").is_none(), "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_stream_reader_builds_lambda_events() {
    let aws = Aws::new().await;
    let table = aws
        .create_stream_table(
            "items",
            ("pk", "S"),
            Some(("sk", "N")),
            "NEW_AND_OLD_IMAGES",
        )
        .await
        .expect("table");
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let key = |pk: &str| {
        [
            ("pk".to_string(), A::S(pk.to_string())),
            ("sk".to_string(), A::N("1".to_string())),
        ]
    };
    aws.dynamodb
        .put_item()
        .table_name(&table.name)
        .set_item(Some(
            key("a")
                .into_iter()
                .chain([
                    ("n".to_string(), A::N("1.5".to_string())),
                    ("b".to_string(), A::B(Blob::new(vec![0u8, 1, 2]))),
                    ("ss".to_string(), A::Ss(vec!["x".into(), "y".into()])),
                    (
                        "m".to_string(),
                        A::M([("k".to_string(), A::L(vec![A::Null(true), A::Bool(false)]))].into()),
                    ),
                ])
                .collect(),
        ))
        .send()
        .await
        .expect("put");
    aws.dynamodb
        .update_item()
        .table_name(&table.name)
        .set_key(Some(key("a").into_iter().collect()))
        .update_expression("SET n = :v")
        .expression_attribute_values(":v", A::N("2".to_string()))
        .send()
        .await
        .expect("update");
    aws.dynamodb
        .delete_item()
        .table_name(&table.name)
        .set_key(Some(key("a").into_iter().collect()))
        .send()
        .await
        .expect("delete");

    let mut reader = StreamReader::new(&aws.streams, &table.stream_arn);
    let event = reader.read_new().await.expect("read");
    let records = event["Records"].as_array().expect("records");
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["eventName"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["INSERT", "MODIFY", "REMOVE"], "{event:#}");
    for r in records {
        assert_eq!(r["eventSourceARN"], json!(table.stream_arn));
        assert_eq!(r["eventSource"], "aws:dynamodb");
        assert_eq!(r["awsRegion"], "us-east-1");
        assert_eq!(r["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
        assert_eq!(
            r["dynamodb"]["Keys"],
            json!({"pk": {"S": "a"}, "sk": {"N": "1"}})
        );
        assert!(
            r["dynamodb"]["ApproximateCreationDateTime"].is_number(),
            "{r}"
        );
        assert!(r["dynamodb"]["SizeBytes"].is_number(), "{r}");
    }
    let insert = &records[0]["dynamodb"];
    assert_eq!(insert["NewImage"]["b"], json!({"B": "AAEC"}));
    assert_eq!(insert["NewImage"]["n"], json!({"N": "1.5"}));
    assert_eq!(insert["NewImage"]["ss"], json!({"SS": ["x", "y"]}));
    assert_eq!(
        insert["NewImage"]["m"],
        json!({"M": {"k": {"L": [{"NULL": true}, {"BOOL": false}]}}})
    );
    assert!(insert.get("OldImage").is_none());
    assert_eq!(records[1]["dynamodb"]["OldImage"]["n"], json!({"N": "1.5"}));
    assert_eq!(records[1]["dynamodb"]["NewImage"]["n"], json!({"N": "2"}));
    assert!(records[2]["dynamodb"].get("NewImage").is_none());
    let seqs: Vec<u128> = records
        .iter()
        .map(|r| sequence_number(r).parse().expect("numeric sequence number"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // The checkpoint holds: a second read sees only what came after.
    assert_eq!(
        reader.read_new().await.expect("read"),
        json!({"Records": []})
    );
    aws.dynamodb
        .put_item()
        .table_name(&table.name)
        .set_item(Some(key("b").into_iter().collect()))
        .send()
        .await
        .expect("put");
    let again = reader.read_new().await.expect("read");
    let again = again["Records"].as_array().expect("records");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["eventName"], "INSERT");
    assert_eq!(again[0]["dynamodb"]["Keys"]["pk"], json!({"S": "b"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_batches_hold_until_checkpointed() {
    let aws = Aws::new().await;
    let table = aws
        .create_stream_table("batches", ("pk", "S"), None, "KEYS_ONLY")
        .await
        .expect("table");
    for pk in ["a", "b", "c"] {
        aws.dynamodb
            .put_item()
            .table_name(&table.name)
            .item(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(pk.to_string()),
            )
            .send()
            .await
            .expect("put");
    }
    let mut reader = StreamReader::new(&aws.streams, &table.stream_arn);
    reader.batch_size = 2;
    let first = reader.next_batch().await.expect("batch").expect("records");
    assert_eq!(first.records.len(), 2);
    assert!(first.records[0]["dynamodb"].get("NewImage").is_none());
    let seqs = first.sequence_numbers();
    // Not checkpointed: the same batch comes again.
    assert_eq!(
        reader.next_batch().await.expect("batch").expect("records"),
        first
    );
    reader.checkpoint(&first.shard_id, &seqs[0]);
    let second = reader.next_batch().await.expect("batch").expect("records");
    assert_eq!(second.sequence_numbers()[0], seqs[1]);
    assert_eq!(
        second.records[1]["dynamodb"]["Keys"]["pk"],
        json!({"S": "c"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_drain_retries_from_the_reported_sequence_number() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("streamout").await.expect("bucket");
    let table = aws
        .create_stream_table("drain", ("pk", "N"), None, "NEW_IMAGE")
        .await
        .expect("table");
    let put = |pk: &'static str| {
        aws.dynamodb
            .put_item()
            .table_name(&table.name)
            .item("pk", AttributeValue::N(pk.to_string()))
            .send()
    };
    // dynamo-cdc in upsert mode: a key that does not fit its key column
    // fails its record, reported by SequenceNumber.
    let uri = format!("s3://{bucket}/mirror");
    let mut f = function(
        "dynamo-cdc",
        &[("DELTA_TABLE_URI", &uri), ("MODE", "upsert")],
    )
    .await;
    let mut reader = StreamReader::new(&aws.streams, &table.stream_arn);
    reader.max_retry_attempts = 1;

    // The first record makes the table, with `pk` a long ...
    put("1").await.expect("put");
    let stats = reader.drain(&mut f).await.expect("drain");
    assert_eq!(
        (stats.invocations, stats.records_processed),
        (1, 1),
        "{stats:?}"
    );
    // ... so 2.5 cannot be a key of it.
    for pk in ["2", "2.5", "4"] {
        put(pk).await.expect("put");
    }
    let batch = reader.next_batch().await.expect("batch").expect("records");
    let seqs = batch.sequence_numbers();
    assert_eq!(seqs.len(), 3, "the checkpoint holds across drains");
    let stats = reader.drain(&mut f).await.expect("drain");

    // [2 2.5 4] fails at 2.5: 2 is checkpointed, the reader retries from
    // 2.5; [2.5 4] fails at its first record, is retried once, then
    // discarded (where Lambda would use the on-failure destination).
    assert_eq!(stats.invocations, 3, "{stats:?}");
    assert_eq!(stats.records_processed, 1, "{stats:?}");
    assert_eq!(stats.failures_reported, 3, "{stats:?}");
    assert_eq!(stats.invocation_errors, 0, "{stats:?}");
    let discarded: Vec<String> = stats.discarded.iter().map(sequence_number).collect();
    assert_eq!(discarded, seqs[1..], "{stats:?}");
    assert_eq!(
        stats.discarded[0]["dynamodb"]["Keys"]["pk"],
        json!({"N": "2.5"})
    );
    assert!(
        f.invocations()[1..].iter().all(|i| i.kind == "response"),
        "{:#?}",
        f.invocations()
    );
    assert!(reader.next_batch().await.expect("batch").is_none());
    assert_eq!(
        reader.checkpoint_of(&batch.shard_id),
        seqs.last().map(String::as_str)
    );
    // Each of the three failing invocations logged 2.5's SequenceNumber
    // (all the output, read to its end at shutdown).
    let logs = f.shutdown().await.logs;
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains(&seqs[1]) && l.contains("dynamodb.Keys.pk"))
            .count(),
        3,
        "{logs:#?}"
    );
    let mut pks: Vec<i64> = read_table(&uri)
        .await
        .column("pk")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    pks.sort_unstable();
    assert_eq!(pks, [1, 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn python_reader_reads_a_table_written_to_moto_s3() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("lake").await.expect("bucket");
    let uri = format!("s3://{bucket}/tables/{}", unique_name("t"));
    let schema = vec![
        ("id".to_string(), "int64".to_string()),
        ("name".to_string(), "string".to_string()),
        ("day".to_string(), "date32".to_string()),
        ("ts".to_string(), "timestamp[us, tz=UTC]".to_string()),
    ];
    let options = WriteOptions {
        partition_by: vec!["day".to_string()],
        schema,
        ..WriteOptions::default()
    };
    write_table(
        &uri,
        &[
            json!({"id": 2, "name": "b", "day": "2024-01-02", "ts": "2024-01-02T03:04:05Z"}),
            json!({"id": 1, "name": "a", "day": "2024-01-01", "ts": "2024-01-01T00:00:00Z"}),
        ],
        &options,
    )
    .await;
    write_table(
        &uri,
        &[json!({"id": 3, "name": null, "day": "2024-01-01", "ts": "2024-01-01T12:00:00Z"})],
        &options,
    )
    .await;

    let t = read_table(&uri).await;
    assert_eq!(t.version, 1);
    assert_eq!(t.field_names(), ["id", "name", "day", "ts"]);
    assert_eq!(t.partition_columns, ["day"]);
    let mut ids: Vec<i64> = t.column("id").iter().filter_map(Value::as_i64).collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 3]);
    let row1 = t.rows.iter().find(|r| r["id"] == 1).expect("row 1");
    assert_eq!(
        row1,
        &json!({"id": 1, "name": "a", "day": "2024-01-01", "ts": "2024-01-01T00:00:00+00:00"})
    );
    assert_eq!(t.files.len(), 3);
    assert!(
        t.files
            .iter()
            .all(|f| f.starts_with(&format!("{uri}/day=2024-01-0"))),
        "{:?}",
        t.files
    );
    assert_eq!(t.add_actions.len(), 3);
    assert_eq!(t.history.len(), 2);
    // the data files really are in moto's bucket
    let keys = aws.list_keys(&bucket, "tables/").await.expect("list");
    assert_eq!(
        keys.iter().filter(|k| k.ends_with(".parquet")).count(),
        3,
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.ends_with("_delta_log/00000000000000000001.json")),
        "{keys:?}"
    );

    let v0 = read_table_with(
        &uri,
        &ReadOptions {
            version: Some(0),
            app_ids: vec!["nobody".to_string()],
        },
    )
    .await;
    assert_eq!(v0.rows.len(), 2);
    assert_eq!(v0.app_transactions.get("nobody"), Some(&None));
}

#[tokio::test(flavor = "multi_thread")]
async fn python_reader_reads_a_local_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let uri = format!("file://{}", dir.path().join("t").display());
    write_table(
        &uri,
        &[json!({"x": 1, "y": "one"}), json!({"x": 2, "y": "two"})],
        &WriteOptions::default(),
    )
    .await;
    let t = read_table(&uri).await;
    assert_eq!(t.version, 0);
    assert_eq!(
        t.rows,
        vec![json!({"x": 1, "y": "one"}), json!({"x": 2, "y": "two"})]
    );
}
