//! Reliability: many processes committing at once, injected faults, killed
//! processes. Nothing lost, nothing duplicated: every test reads its tables
//! back with the Python reader, compares the exact multiset of ids with what
//! was sent, and records its figures (`meander_e2e::figures`), which
//! `scripts/test.sh` sums on its last line.
//!
//! `MEANDER_SOAK=1` runs longer variants (more files, records, faults).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use meander_e2e::aws::{send_all, Aws, QueueOptions, QueueWithDlq};
use meander_e2e::delta_reader::{read_table, TableContents};
use meander_e2e::dms::{
    assert_same, csv_file, parquet_file, row_of, scenario_with, source_state, Op, Row, DEFINITION,
};
use meander_e2e::figures::{self, Check, Figures};
use meander_e2e::moto::{env_for_function, SqsServer};
use meander_e2e::parquet::orders;
use meander_e2e::poller::{DrainOptions, DrainStats, SqsPoller};
use meander_e2e::proxy::{FaultConfig, FaultProxy};
use meander_e2e::runtime::{function_binary, FunctionProcess, SpawnOptions};
use serde_json::json;

/// Spawn `name` with the bed's environment, `endpoint` (moto or a proxy in
/// front of it) and `extra`.
async fn spawn(name: &str, endpoint: Option<&str>, extra: &[(&str, &str)]) -> FunctionProcess {
    let mut env = env_for_function();
    if let Some(endpoint) = endpoint {
        for (k, v) in env.iter_mut() {
            if k == "AWS_ENDPOINT_URL" {
                *v = endpoint.to_string();
            }
        }
    }
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let options = SpawnOptions {
        function_timeout: Duration::from_secs(300),
        ..SpawnOptions::default()
    };
    FunctionProcess::spawn_with(function_binary(name), env, options)
        .await
        .unwrap_or_else(|e| panic!("spawn {name}: {e}"))
}

/// A bucket whose object-created events go to a queue with a DLQ. The
/// visibility timeout outlasts a contended invocation, so that no message
/// reaches the DLQ only because it was received while still in work.
async fn landing(aws: &Aws, name: &str, visibility_timeout_secs: u32) -> (String, QueueWithDlq) {
    let bucket = aws.create_bucket(name).await.expect("bucket");
    let options = QueueOptions {
        visibility_timeout_secs,
        ..QueueOptions::default()
    };
    let q = aws
        .create_queue_with_dlq(name, 5, &options)
        .await
        .expect("queue");
    aws.notify_queue(&bucket, &q.queue.arn, &["s3:ObjectCreated:*"], None, None)
        .await
        .expect("notification");
    (bucket, q)
}

/// Put `files` orders files of `rows` rows each under `prefix`, 16 at a time.
async fn put_orders(aws: &Aws, bucket: &str, prefix: &str, files: i64, rows: i64) {
    let puts = (0..files).map(|i| async move {
        let key = format!("{prefix}/ds=2026-11-0{}/part-{i:05}.parquet", i % 3 + 1);
        aws.put_object(bucket, &key, orders(i * rows..(i + 1) * rows, false))
            .await
            .expect("put");
    });
    futures::stream::iter(puts)
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

/// JSON messages of `per_message` records each, ids `0..records`.
fn record_bodies(records: i64, per_message: i64) -> Vec<String> {
    (0..records)
        .step_by(per_message as usize)
        .map(|start| {
            let rows: Vec<_> = (start..(start + per_message).min(records))
                .map(|i| json!({"id": i, "name": format!("user-{i}"), "score": i as f64 / 4.0}))
                .collect();
            serde_json::Value::Array(rows).to_string()
        })
        .collect()
}

/// Read back the oxbow table at `oxbow_uri` (`files` files of orders under
/// `ds=2026-11-0{1,2,3}`, `rows_per_file` ids each) and the sqs-ingest table
/// (ids `0..records`), and compare both with what was sent.
async fn check_oxbow_and_ingest(
    fig: &mut Figures,
    oxbow_uri: &str,
    (files, rows_per_file): (i64, i64),
    ingest_uri: &str,
    records: i64,
) -> ReadBack {
    let race = read_table(oxbow_uri).await;
    let ingested = read_table(ingest_uri).await;
    let expected_files: Vec<String> = (0..files)
        .map(|i| format!("{oxbow_uri}/ds=2026-11-0{}/part-{i:05}.parquet", i % 3 + 1))
        .collect();
    let file_check = fig.check(&expected_files, &race.files);
    let oxbow_rows = fig.check(&(0..files * rows_per_file).collect::<Vec<_>>(), &ids(&race));
    let ingest_rows = fig.check(&(0..records).collect::<Vec<_>>(), &ids(&ingested));
    ReadBack {
        race,
        ingested,
        file_check,
        oxbow_rows,
        ingest_rows,
    }
}

/// The two tables read back by [`check_oxbow_and_ingest`] and the checks.
struct ReadBack {
    race: TableContents,
    ingested: TableContents,
    file_check: Check<String>,
    oxbow_rows: Check<i64>,
    ingest_rows: Check<i64>,
}

/// The `id` column, as read back.
fn ids(t: &TableContents) -> Vec<i64> {
    t.column("id")
        .iter()
        .map(|v| v.as_i64().expect("id is a long"))
        .collect()
}

/// Commit retries in a function's logs: oxbow logs `retries=N` on each
/// commit line; sqs-ingest logs `attempts=N` on each batch line (N - 1 of
/// them were retries).
fn commit_retries(function: &str, logs: &[String]) -> u64 {
    match function {
        "oxbow" => figures::sum_field(
            &logs
                .iter()
                .filter(|l| l.contains("files_added"))
                .cloned()
                .collect::<Vec<_>>(),
            "retries",
        ),
        // dms-merge logs `retries=N` (conflicts and transient errors) on
        // each commit line.
        "dms-merge" => figures::sum_field(
            &logs
                .iter()
                .filter(|l| l.contains(" version=") && l.contains(" source="))
                .cloned()
                .collect::<Vec<_>>(),
            "retries",
        ),
        _ => logs
            .iter()
            .filter(|l| l.contains("batch done"))
            .map(|l| figures::sum_field(std::slice::from_ref(l), "attempts").saturating_sub(1))
            .sum(),
    }
}

/// What one worker did.
struct Worker {
    function: &'static str,
    stats: DrainStats,
    logs: Vec<String>,
}

/// Spawn `function`, wait until it is warm and all others are, then drain
/// the queue with it.
#[allow(clippy::too_many_arguments)]
fn worker(
    function: &'static str,
    endpoint: Option<String>,
    env: Vec<(String, String)>,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    batch_size: usize,
    barrier: Arc<tokio::sync::Barrier>,
) -> tokio::task::JoinHandle<Worker> {
    tokio::spawn(async move {
        let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut f = spawn(function, endpoint.as_deref(), &extra).await;
        f.wait_ready(Duration::from_secs(60)).await.expect("ready");
        barrier.wait().await;
        let mut poller =
            SqsPoller::from_parts(&sqs, &queue_url, &queue_arn).with_batch_size(batch_size);
        poller.invoke_timeout = Duration::from_secs(300);
        let drained = poller
            .drain(
                &mut f,
                &DrainOptions {
                    max_rounds: 5_000,
                    max_time: Duration::from_secs(900),
                },
            )
            .await;
        let logs = f.logs();
        let stats = drained.unwrap_or_else(|e| panic!("{function}: {e}\n{}", logs.join("\n")));
        let text = logs.join("\n");
        assert!(!text.contains("panicked"), "{function} panicked:\n{text}");
        Worker {
            function,
            stats,
            logs,
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_oxbow_and_four_sqs_ingest_processes_commit_at_once() {
    let soak = figures::soak();
    let (files, rows_per_file) = if soak { (1_000, 5) } else { (200, 5) };
    let (records, per_message) = if soak { (20_000, 5) } else { (5_000, 5) };
    const OXBOWS: usize = 8;
    const INGESTS: usize = 4;
    let mut fig = Figures::new("concurrency: 8 oxbow + 4 sqs-ingest");

    let aws = Aws::new().await;
    // oxbow: 200 files land before any function runs, so the first commits
    // race to create the table and the rest to append.
    let (landing_bucket, q) = landing(&aws, "race", 60).await;
    put_orders(&aws, &landing_bucket, "race", files, rows_per_file).await;
    // sqs-ingest: 5,000 records in 1,000 messages, on a queue of a patched
    // SQS server (moto's own is not safe under parallel receive/delete).
    let sqs_server = SqsServer::start();
    let sqs = sqs_server.client().await;
    let (ingest_url, ingest_arn) = sqs_server.create_queue(&sqs, "ingest-race", 300).await;
    send_all(&sqs, &ingest_url, &record_bodies(records, per_message)).await;
    let ingest_bucket = aws.create_bucket("ingest-race").await.expect("bucket");
    let ingest_uri = format!("s3://{ingest_bucket}/tables/records");

    // All 12 processes warm and waiting before any polls, so they contend.
    let barrier = Arc::new(tokio::sync::Barrier::new(OXBOWS + INGESTS));
    let mut workers = Vec::new();
    for _ in 0..OXBOWS {
        workers.push(worker(
            "oxbow",
            None,
            Vec::new(),
            aws.sqs.clone(),
            q.queue.url.clone(),
            q.queue.arn.clone(),
            5,
            barrier.clone(),
        ));
    }
    for _ in 0..INGESTS {
        workers.push(worker(
            "sqs-ingest",
            None,
            vec![("DELTA_TABLE_URI".into(), ingest_uri.clone())],
            sqs.clone(),
            ingest_url.clone(),
            ingest_arn.clone(),
            10,
            barrier.clone(),
        ));
    }
    let mut oxbow_commits = 0;
    let mut failures = 0;
    let mut ingest_retries = 0;
    for w in workers {
        let w = w.await.expect("worker");
        failures += w.stats.failures_reported + w.stats.invocation_errors;
        fig.runs += w.stats.invocations as u64;
        let retries = commit_retries(w.function, &w.logs);
        fig.retries += retries;
        if w.function == "oxbow" {
            oxbow_commits += w.logs.iter().filter(|l| l.contains("files_added")).count();
        } else {
            ingest_retries += retries;
        }
    }

    let ReadBack {
        race,
        ingested,
        file_check,
        oxbow_rows,
        ingest_rows,
    } = check_oxbow_and_ingest(
        &mut fig,
        &format!("s3://{landing_bucket}/race"),
        (files, rows_per_file),
        &ingest_uri,
        records,
    )
    .await;
    figures::record(&fig);
    eprintln!(
        "{OXBOWS} oxbow: {oxbow_commits} commits; {INGESTS} sqs-ingest: {} commits, {ingest_retries} retries; {} retries in all",
        ingested.version + 1,
        fig.retries
    );

    assert_eq!(failures, 0, "no message failed");
    assert!(file_check.is_exact(), "files: {file_check:?}");
    assert!(oxbow_rows.is_exact(), "oxbow rows: {oxbow_rows:?}");
    assert!(ingest_rows.is_exact(), "sqs-ingest rows: {ingest_rows:?}");
    assert_eq!(
        race.version + 1,
        oxbow_commits as i64,
        "one version per logged oxbow commit"
    );
    assert_eq!(fig.lost + fig.duplicated, 0, "{fig:?}");
}

/// Drive `processes` workers of `function` over one queue and sum what they
/// did into `fig`; returns the workers' failures reported.
#[allow(clippy::too_many_arguments)]
async fn run_workers(
    fig: &mut Figures,
    function: &'static str,
    processes: usize,
    endpoint: Option<&str>,
    env: Vec<(String, String)>,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    queue_arn: &str,
    batch_size: usize,
) -> usize {
    let barrier = Arc::new(tokio::sync::Barrier::new(processes));
    let workers: Vec<_> = (0..processes)
        .map(|_| {
            worker(
                function,
                endpoint.map(str::to_string),
                env.clone(),
                sqs.clone(),
                queue_url.to_string(),
                queue_arn.to_string(),
                batch_size,
                barrier.clone(),
            )
        })
        .collect();
    let mut failures = 0;
    for w in workers {
        let w = w.await.expect("worker");
        failures += w.stats.failures_reported + w.stats.invocation_errors;
        fig.runs += w.stats.invocations as u64;
        fig.retries += commit_retries(w.function, &w.logs);
    }
    failures
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_injected_in_front_of_moto_lose_and_duplicate_nothing() {
    let soak = figures::soak();
    let (files, rows_per_file) = if soak { (300, 5) } else { (60, 5) };
    let (records, per_message) = if soak { (5_000, 5) } else { (1_000, 5) };
    let mut fig = Figures::new("faults: 503/500/resets/lost responses/slow via proxy");
    let aws = Aws::new().await;
    let proxy = FaultProxy::start(
        aws.endpoint(),
        FaultConfig {
            seed: 20261121,
            fraction: if soak { 0.25 } else { 0.1 },
            delay: Duration::from_millis(1500),
            lost_responses: true,
        },
    )
    .await;

    let (landing_bucket, q) = landing(&aws, "faults", 20).await;
    put_orders(&aws, &landing_bucket, "faults", files, rows_per_file).await;
    let sqs_server = SqsServer::start();
    let sqs = sqs_server.client().await;
    let (ingest_url, ingest_arn) = sqs_server.create_queue(&sqs, "ingest-faults", 20).await;
    send_all(&sqs, &ingest_url, &record_bodies(records, per_message)).await;
    let ingest_bucket = aws.create_bucket("ingest-faults").await.expect("bucket");
    let ingest_uri = format!("s3://{ingest_bucket}/tables/records");

    // The functions reach S3 only through the proxy; the pollers and the
    // reader talk to moto directly.
    let mut oxbow_fig = Figures::default();
    let mut ingest_fig = Figures::default();
    let (oxbow_failures, ingest_failures) = tokio::join!(
        run_workers(
            &mut oxbow_fig,
            "oxbow",
            2,
            Some(proxy.endpoint()),
            Vec::new(),
            &aws.sqs,
            &q.queue.url,
            &q.queue.arn,
            5,
        ),
        run_workers(
            &mut ingest_fig,
            "sqs-ingest",
            2,
            Some(proxy.endpoint()),
            vec![("DELTA_TABLE_URI".into(), ingest_uri.clone())],
            &sqs,
            &ingest_url,
            &ingest_arn,
            10,
        ),
    );
    fig.runs = oxbow_fig.runs + ingest_fig.runs;
    fig.retries = oxbow_fig.retries + ingest_fig.retries;
    let faults = proxy.summary();
    fig.faults_injected = faults.injected();

    let dead = meander_e2e::poller::message_bodies(&aws.sqs, &q.dlq.url)
        .await
        .expect("dlq");
    let ReadBack {
        file_check,
        oxbow_rows,
        ingest_rows,
        ..
    } = check_oxbow_and_ingest(
        &mut fig,
        &format!("s3://{landing_bucket}/faults"),
        (files, rows_per_file),
        &ingest_uri,
        records,
    )
    .await;
    figures::record(&fig);
    eprintln!(
        "fault proxy: {faults:?}; failures reported: oxbow {oxbow_failures}, sqs-ingest {ingest_failures}"
    );

    assert!(faults.injected() > 0, "{faults:?}");
    assert_eq!(faults.relay_errors, 0, "{faults:?}");
    assert!(dead.is_empty(), "messages reached the DLQ: {dead:?}");
    assert!(file_check.is_exact(), "files: {file_check:?}");
    assert!(oxbow_rows.is_exact(), "oxbow rows: {oxbow_rows:?}");
    assert!(ingest_rows.is_exact(), "sqs-ingest rows: {ingest_rows:?}");
    assert_eq!(fig.lost + fig.duplicated, 0, "{fig:?}");
}

/// The relative keys in a `files=["a", "b"]` log field.
fn logged_files(line: &str) -> Vec<String> {
    let Some(start) = line.find("files=[") else {
        return Vec::new();
    };
    let rest = &line[start + "files=[".len()..];
    let list = rest.split(']').next().unwrap_or_default();
    list.split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_between_data_files_and_commit_then_redelivery_is_exact() {
    let records: i64 = if figures::soak() { 5_000 } else { 500 };
    let per_message = 5;
    let mut fig = Figures::new("kill: sqs-ingest SIGKILLed before its commit");
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("kill").await.expect("bucket");
    let uri = format!("s3://{bucket}/tables/records");
    // Redelivery after 5 s; DLQ only after 5 receives.
    let q = aws
        .create_queue_with_dlq(
            "kill",
            5,
            &QueueOptions {
                visibility_timeout_secs: 5,
                ..QueueOptions::default()
            },
        )
        .await
        .expect("queue");
    send_all(&aws.sqs, &q.queue.url, &record_bodies(records, per_message)).await;
    let uri_env = vec![("DELTA_TABLE_URI", uri.as_str())];

    // A process that stops after writing the data files of its first batch.
    let mut doomed = {
        let mut env = uri_env.clone();
        env.push(("MEANDER_FAILPOINT", "before-commit"));
        spawn("sqs-ingest", None, &env).await
    };
    doomed
        .wait_ready(Duration::from_secs(60))
        .await
        .expect("ready");
    let pid = doomed.pid();
    let log = doomed.log_handle();
    let sqs = aws.sqs.clone();
    let queue = q.queue.clone();
    let first = tokio::spawn(async move {
        let poller = SqsPoller::new(&sqs, &queue).with_batch_size(10);
        let round = poller.poll_once(&mut doomed).await;
        (round, doomed)
    });
    let line = log
        .wait_for("failpoint before-commit reached", Duration::from_secs(120))
        .await
        .expect("the failpoint is reached");
    let orphans = logged_files(&line);
    assert!(!orphans.is_empty(), "{line}");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    fig.faults_injected += 1;
    let (round, doomed) = first.await.expect("first round");
    let round = round.expect("poll");
    fig.runs += 1;
    assert!(
        matches!(
            round.outcome,
            Some(meander_e2e::runtime::InvokeOutcome::Crashed { .. })
        ),
        "{:?}",
        round.outcome.as_ref().map(|o| o.kind())
    );
    assert_eq!(round.deleted, 0, "nothing of the killed batch was deleted");
    let _ = doomed.shutdown().await;
    // The data files are in the bucket, the table is not (yet).
    let keys = aws
        .list_keys(&bucket, "tables/records/")
        .await
        .expect("list");
    for o in &orphans {
        assert!(
            keys.iter().any(|k| k.ends_with(o.as_str())),
            "{o} not in {keys:?}"
        );
    }

    // A fresh process gets every message, the killed batch on redelivery.
    let mut fresh = spawn("sqs-ingest", None, &uri_env).await;
    let stats = SqsPoller::new(&aws.sqs, &q.queue)
        .with_batch_size(10)
        .drain(&mut fresh, &DrainOptions::default())
        .await
        .expect("drain");
    fig.runs += stats.invocations as u64;
    fig.retries += commit_retries("sqs-ingest", &fresh.logs());
    let t = read_table(&uri).await;
    let rows = fig.check(&(0..records).collect::<Vec<_>>(), &ids(&t));

    // `meander vacuum --dry-run` lists the killed run's files, and only
    // them; the log references none of them.
    let (listed, report) = vacuum_dry_run(&uri);
    let mut expected = orphans.clone();
    expected.sort();
    figures::record(&fig);

    assert_eq!(stats.failures_reported, 0, "{stats:?}");
    assert!(rows.is_exact(), "rows: {rows:?}");
    assert_eq!(listed, expected, "orphans: {report:#}");
    for o in &orphans {
        assert!(
            !t.files.iter().any(|f| f.ends_with(o.as_str())),
            "the log references the orphan {o}"
        );
    }
    assert_eq!(report["version"], serde_json::json!(t.version));
    // Nothing was deleted by the dry run.
    let keys = aws
        .list_keys(&bucket, "tables/records/")
        .await
        .expect("list");
    for o in &orphans {
        assert!(keys.iter().any(|k| k.ends_with(o.as_str())), "{o} deleted");
    }
    assert_eq!(fig.lost + fig.duplicated, 0, "{fig:?}");
}

/// A DynamoDB stream record (Lambda's shape) inserting item `id` into `orders`.
fn stream_insert(seq: u64, id: i64) -> serde_json::Value {
    json!({
        "eventID": format!("ev-{seq}"),
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-21T00:00:00.000",
        "dynamodb": {
            "ApproximateCreationDateTime": 1763712000,
            "Keys": {"pk": {"S": format!("k{id}")}},
            "NewImage": {"pk": {"S": format!("k{id}")}, "id": {"N": id.to_string()}},
            "SequenceNumber": format!("{seq:021}"),
            "SizeBytes": 50,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    })
}

/// `meander vacuum --dry-run --json <uri>`: the unreferenced files, sorted.
fn vacuum_dry_run(uri: &str) -> (Vec<String>, serde_json::Value) {
    let out = std::process::Command::new(function_binary("meander"))
        .args(["vacuum", "--dry-run", "--json", uri])
        .envs(env_for_function())
        .output()
        .expect("run meander vacuum");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut listed: Vec<String> = report["unreferenced_files"]
        .as_array()
        .expect("unreferenced_files")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    listed.sort();
    (listed, report)
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamo_cdc_sigkilled_before_its_commit_then_retried_is_exact() {
    let records: i64 = if figures::soak() { 2_000 } else { 200 };
    let mut fig = Figures::new("kill: dynamo-cdc SIGKILLed before its commit");
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("kill-cdc").await.expect("bucket");
    let template = format!("s3://{bucket}/cdc/{{table}}");
    let uri = format!("s3://{bucket}/cdc/orders");
    let event = json!({"Records": (0..records).map(|i| stream_insert(1000 + i as u64, i)).collect::<Vec<_>>()});

    let mut doomed = spawn(
        "dynamo-cdc",
        None,
        &[
            ("DELTA_TABLE_URI", template.as_str()),
            ("MEANDER_FAILPOINT", "before-commit"),
        ],
    )
    .await;
    doomed
        .wait_ready(Duration::from_secs(60))
        .await
        .expect("ready");
    let pid = doomed.pid();
    let log = doomed.log_handle();
    let first = {
        let event = event.clone();
        tokio::spawn(async move {
            let outcome = doomed.invoke(event, Duration::from_secs(300)).await;
            (outcome, doomed)
        })
    };
    let line = log
        .wait_for("failpoint before-commit reached", Duration::from_secs(120))
        .await
        .expect("the failpoint is reached");
    let mut orphans = logged_files(&line);
    orphans.sort();
    assert!(!orphans.is_empty(), "{line}");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    fig.faults_injected += 1;
    let (outcome, doomed) = first.await.expect("first invocation");
    fig.runs += 1;
    assert!(
        matches!(
            outcome.expect("invoke"),
            meander_e2e::runtime::InvokeOutcome::Crashed { .. }
        ),
        "the killed invocation crashed"
    );
    let _ = doomed.shutdown().await;

    // Lambda retries the batch (a stream's records come again in order).
    let mut fresh = spawn(
        "dynamo-cdc",
        None,
        &[("DELTA_TABLE_URI", template.as_str())],
    )
    .await;
    let outcome = fresh
        .invoke(event, Duration::from_secs(300))
        .await
        .expect("invoke");
    fig.runs += 1;
    let response = outcome.into_response().expect("a response");
    let t = read_table(&uri).await;
    let rows = fig.check(&(0..records).collect::<Vec<_>>(), &ids(&t));
    let (listed, report) = vacuum_dry_run(&uri);
    figures::record(&fig);

    assert_eq!(
        meander_e2e::poller::batch_item_failures(&response),
        Ok(Vec::new())
    );
    assert!(rows.is_exact(), "rows: {rows:?}");
    assert_eq!(listed, orphans, "orphans: {report:#}");
    for o in &orphans {
        assert!(
            !t.files.iter().any(|f| f.ends_with(o.as_str())),
            "the log references the orphan {o}"
        );
    }
    assert_eq!(fig.lost + fig.duplicated, 0, "{fig:?}");
}

/// dms-merge through the fault proxy: two source tables (headerless CSV
/// with a table definition, and Parquet), each a full load in several
/// LOAD files, then CDC files written one after another, as DMS does,
/// while two dms-merge processes drain the notifications one message per
/// invocation (so both work on the same tables at once); every S3 call of
/// the functions goes through the proxy (503 SlowDown, 500, resets, lost
/// answers, slow answers). Each live table must equal the source state the
/// test computes by replaying the changes, row by row, and nothing may
/// reach the DLQ.
#[tokio::test(flavor = "multi_thread")]
async fn dms_merge_through_injected_faults_makes_the_exact_live_tables() {
    let soak = figures::soak();
    let (load_rows, load_files, cdc_files, changes) = if soak {
        (5_000, 5, 40, 300)
    } else {
        (600, 3, 10, 60)
    };
    let mut fig = Figures::new("faults: dms-merge full load + CDC via proxy");
    let aws = Aws::new().await;
    let proxy = FaultProxy::start(
        aws.endpoint(),
        FaultConfig {
            seed: 20261122,
            fraction: if soak { 0.25 } else { 0.15 },
            delay: Duration::from_millis(1500),
            lost_responses: true,
        },
    )
    .await;
    let (src, q) = landing(&aws, "dms-faults", 20).await;
    let lake = aws.create_bucket("dms-faults-lake").await.expect("bucket");
    let (load, cdc) = scenario_with(load_rows, cdc_files, changes);
    const TABLES: [(&str, &str); 2] = [("orders", "csv"), ("orders_pq", "parquet")];
    let encode = |ext: &str, ops: Option<&[Op]>, rows: &[Row]| match ext {
        "csv" => csv_file(ops, rows),
        _ => parquet_file(ops, rows),
    };
    let per_load = load.len().div_ceil(load_files);
    for (table, ext) in TABLES {
        for (n, rows) in load.chunks(per_load).enumerate() {
            let key = format!("dms/public/{table}/LOAD{:08X}.{ext}", n + 1);
            aws.put_object(&src, &key, encode(ext, None, rows))
                .await
                .expect("put");
        }
    }
    // The CDC files, one after another (each table's in order), while the
    // functions run.
    let produce = async {
        for file in &cdc {
            let ops: Vec<Op> = file.changes.iter().map(|(o, _)| *o).collect();
            let rows: Vec<Row> = file.changes.iter().map(|(_, r)| r.clone()).collect();
            for (table, ext) in TABLES {
                let key = format!("dms/public/{table}/{}.{ext}", file.name);
                aws.put_object(&src, &key, encode(ext, Some(&ops), &rows))
                    .await
                    .expect("put");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };

    let env: Vec<(String, String)> = [
        (
            "DELTA_TABLE_URI",
            format!("s3://{lake}/delta/{{schema}}/{{table}}"),
        ),
        (
            "KEY_COLUMNS",
            "public.orders=id;public.orders_pq=id".to_string(),
        ),
        ("TIMESTAMP_COLUMN", "updated_at".to_string()),
        ("TABLE_DEFINITION", DEFINITION.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let (mut failures, ()) = tokio::join!(
        run_workers(
            &mut fig,
            "dms-merge",
            2,
            Some(proxy.endpoint()),
            env.clone(),
            &aws.sqs,
            &q.queue.url,
            &q.queue.arn,
            1,
        ),
        produce,
    );
    // The workers may have found the queue empty between two files: one
    // more pass takes what came after (it finds nothing otherwise).
    failures += run_workers(
        &mut fig,
        "dms-merge",
        1,
        Some(proxy.endpoint()),
        env,
        &aws.sqs,
        &q.queue.url,
        &q.queue.arn,
        1,
    )
    .await;
    let faults = proxy.summary();
    fig.faults_injected = faults.injected();

    let dead = meander_e2e::poller::message_bodies(&aws.sqs, &q.dlq.url)
        .await
        .expect("dlq");
    let expected = source_state(&load, &cdc, cdc.len());
    let mut want: Vec<(String, Row)> = Vec::new();
    let mut got: Vec<(String, Row)> = Vec::new();
    let mut tables = Vec::new();
    for (table, _) in TABLES {
        let t = read_table(&format!("s3://{lake}/delta/public/{table}")).await;
        want.extend(expected.values().map(|r| (table.to_string(), r.clone())));
        got.extend(t.rows.iter().map(|r| (table.to_string(), row_of(r))));
        tables.push((table, t));
    }
    let check = fig.check(&want, &got);
    figures::record(&fig);
    eprintln!("fault proxy: {faults:?}; failures reported: {failures}; {fig:?}");

    assert!(faults.injected() > 0, "{faults:?}");
    assert_eq!(faults.relay_errors, 0, "{faults:?}");
    assert!(dead.is_empty(), "messages reached the DLQ: {dead:?}");
    // The object store retries reads, lists and plain puts itself; what
    // reaches dms-merge is the commit's conditional put, which it re-plans
    // from the ledger: no message fails because of a fault.
    assert_eq!(failures, 0, "messages failed needlessly; {faults:?}");
    for (table, t) in &tables {
        assert_same(t, &expected, table);
    }
    assert!(
        check.is_exact(),
        "lost {} rows, {} duplicated, {} unexpected",
        check.lost.len(),
        check.duplicated,
        check.unexpected.len()
    );
    assert_eq!(fig.lost + fig.duplicated, 0, "{fig:?}");
}
