//! dms-merge end to end: DMS-shaped files (a full load of 1,000 rows, then
//! three CDC files with inserts, updates, deletes and repeated keys) in moto
//! S3 -> S3 notifications on SQS (or notifications sent by the test, in any
//! order) -> the compiled `dms-merge` binary under the Lambda Runtime API ->
//! Delta tables in moto S3, read back with the Python `deltalake` reader and
//! compared row by row with the source table's state, which the test
//! computes on its own by replaying the changes in commit order.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use meander_e2e::aws::{Aws, QueueOptions, QueueWithDlq};
use meander_e2e::delta_reader::{read_table, read_table_with, ReadOptions, TableContents};
use meander_e2e::moto::env_for_function;
use meander_e2e::poller::{DrainOptions, SqsPoller};
use meander_e2e::runtime::{function_binary, FunctionProcess};
use parquet::arrow::ArrowWriter;
use serde_json::{json, Value};

/// A row of the source table `public.orders`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    id: i64,
    name: String,
    qty: Option<i32>,
    /// Hundredths (NUMERIC(10,2)).
    cents: i64,
    /// The DMS timestamp column: transfer time (full load) or commit time.
    updated_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    I,
    U,
    D,
}

/// One CDC file: its name and its changes, in the source's commit order.
struct CdcFile {
    name: String,
    changes: Vec<(Op, Row)>,
}

/// A small deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn ts(micros: u64) -> String {
    // 2026-11-21 10:00:00 plus `micros`.
    let secs = micros / 1_000_000;
    format!(
        "2026-11-21 10:{:02}:{:02}.{:06}",
        secs / 60,
        secs % 60,
        micros % 1_000_000
    )
}

fn row(id: i64, version: u32, at: &str) -> Row {
    Row {
        id,
        // Commas and quotes exercise CSV quoting.
        name: format!("cust {id}, \"v{version}\""),
        qty: (id % 7 != 0).then_some((id % 50) as i32 + version as i32),
        cents: id * 101 + i64::from(version),
        updated_at: at.to_string(),
    }
}

/// The scenario: the full load (ids 1..=1000) and three CDC files. Within
/// a file some changes share a timestamp (row order decides), keys repeat
/// within and across files, rows are deleted and inserted again.
fn scenario() -> (Vec<Row>, Vec<CdcFile>) {
    let load_at = "2026-11-21 09:00:00.000000";
    let load: Vec<Row> = (1..=1000).map(|id| row(id, 0, load_at)).collect();
    let mut live: BTreeMap<i64, Row> = load.iter().map(|r| (r.id, r.clone())).collect();
    let mut rng = Lcg(12);
    let mut clock = 0u64;
    let mut next_id = 1001;
    let mut files = Vec::new();
    for (f, name) in [
        "20261121-100100000",
        "20261121-100200000",
        "20261121-100300000",
    ]
    .iter()
    .enumerate()
    {
        let mut changes = Vec::new();
        for c in 0..150u32 {
            // Every fifth change shares the previous one's timestamp.
            if c % 5 != 0 {
                clock += 1 + rng.next(3);
            }
            let at = ts(clock + f as u64 * 60_000_000);
            let version = f as u32 * 1000 + c + 1;
            let ids: Vec<i64> = live.keys().copied().collect();
            let pick = |rng: &mut Lcg| ids[rng.next(ids.len() as u64) as usize];
            let (op, r) = match rng.next(10) {
                0..=4 => {
                    // Hot keys (1..=20) are updated again and again.
                    let id = if rng.next(3) == 0 {
                        1 + rng.next(20) as i64
                    } else {
                        pick(&mut rng)
                    };
                    if live.contains_key(&id) {
                        (Op::U, row(id, version, &at))
                    } else {
                        (Op::I, row(id, version, &at))
                    }
                }
                5..=6 => {
                    let id = pick(&mut rng);
                    let mut old = live[&id].clone();
                    old.updated_at = at.clone();
                    (Op::D, old)
                }
                7 => {
                    // A deleted full-load key comes back, or a new key.
                    let gone = (1..=1000).find(|i| !live.contains_key(i) && rng.next(4) == 0);
                    let id = gone.unwrap_or_else(|| {
                        next_id += 1;
                        next_id
                    });
                    (Op::I, row(id, version, &at))
                }
                _ => {
                    next_id += 1;
                    (Op::I, row(next_id, version, &at))
                }
            };
            match op {
                Op::D => {
                    live.remove(&r.id);
                }
                _ => {
                    live.insert(r.id, r.clone());
                }
            }
            changes.push((op, r));
        }
        // An insert and a delete of one new key in the same file, and a
        // key updated twice at one timestamp.
        clock += 1;
        let at = ts(clock + f as u64 * 60_000_000);
        next_id += 1;
        let temp = row(next_id, 9000 + f as u32, &at);
        live.insert(temp.id, temp.clone());
        changes.push((Op::I, temp.clone()));
        live.remove(&temp.id);
        changes.push((Op::D, temp));
        for v in [1, 2] {
            let r = row(5, 9100 + f as u32 * 10 + v, &at);
            live.insert(5, r.clone());
            changes.push((Op::U, r));
        }
        files.push(CdcFile {
            name: name.to_string(),
            changes,
        });
    }
    (load, files)
}

/// The source table after the full load and the first `files` CDC files,
/// computed by replaying the changes in order.
fn source_state(load: &[Row], cdc: &[CdcFile], files: usize) -> BTreeMap<i64, Row> {
    let mut state: BTreeMap<i64, Row> = load.iter().map(|r| (r.id, r.clone())).collect();
    for f in cdc.iter().take(files) {
        for (op, r) in &f.changes {
            match op {
                Op::D => {
                    state.remove(&r.id);
                }
                Op::I | Op::U => {
                    state.insert(r.id, r.clone());
                }
            }
        }
    }
    state
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn cents_text(c: i64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

/// A headerless DMS CSV line: `[Op,]updated_at,id,name,qty,amount`.
fn csv_line(op: Option<Op>, r: &Row) -> String {
    let mut fields = Vec::new();
    if let Some(op) = op {
        fields.push(format!("{op:?}"));
    }
    fields.push(r.updated_at.clone());
    fields.push(r.id.to_string());
    fields.push(csv_field(&r.name));
    fields.push(r.qty.map(|q| q.to_string()).unwrap_or_default());
    fields.push(cents_text(r.cents));
    format!("{}\n", fields.join(","))
}

fn csv_file(ops: Option<&[Op]>, rows: &[Row]) -> Vec<u8> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| csv_line(ops.map(|o| o[i]), r))
        .collect::<String>()
        .into_bytes()
}

/// A DMS Parquet file: `[Op,]updated_at,id,name,qty,amount`.
fn parquet_file(ops: Option<&[Op]>, rows: &[Row]) -> Vec<u8> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    if let Some(ops) = ops {
        fields.push(Field::new("Op", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from_iter_values(
            ops.iter().map(|o| format!("{o:?}")),
        )));
    }
    fields.extend([
        Field::new("updated_at", DataType::Utf8, true),
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("qty", DataType::Int32, true),
        Field::new("amount", DataType::Decimal128(10, 2), true),
    ]);
    columns.extend([
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.updated_at.clone()),
        )) as ArrayRef,
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.id))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.name.clone()),
        )),
        Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.qty))),
        Arc::new(
            Decimal128Array::from_iter_values(rows.iter().map(|r| i128::from(r.cents)))
                .with_precision_and_scale(10, 2)
                .expect("decimal"),
        ),
    ]);
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).expect("batch");
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, schema, None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    buf
}

const DEFINITION: &str = r#"{"TableCount": "1", "Tables": [{
    "TableName": "orders", "TablePath": "public/orders/", "TableOwner": "public",
    "TableColumns": [
        {"ColumnName": "id", "ColumnType": "INT8", "ColumnNullable": "false", "ColumnIsPk": "true"},
        {"ColumnName": "name", "ColumnType": "STRING", "ColumnLength": "100"},
        {"ColumnName": "qty", "ColumnType": "INT4"},
        {"ColumnName": "amount", "ColumnType": "NUMERIC", "ColumnPrecision": "10", "ColumnScale": "2"}
    ],
    "TableColumnsTotal": "4"}]}"#;

async fn dms_merge(lake: &str, extra: &[(&str, &str)]) -> FunctionProcess {
    let mut env = env_for_function();
    env.extend(
        [
            (
                "DELTA_TABLE_URI",
                format!("s3://{lake}/delta/{{schema}}/{{table}}"),
            ),
            ("KEY_COLUMNS", "public.orders=id".to_string()),
            ("TIMESTAMP_COLUMN", "updated_at".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    FunctionProcess::spawn(function_binary("dms-merge"), env)
        .await
        .expect("spawn dms-merge")
}

/// The table's rows as source rows, by id.
fn table_rows(t: &TableContents) -> BTreeMap<i64, Row> {
    t.rows
        .iter()
        .map(|r| {
            let id = r["id"].as_i64().unwrap_or_else(|| panic!("id in {r}"));
            let amount = match &r["amount"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let cents = (amount.parse::<f64>().expect("amount") * 100.0).round() as i64;
            let row = Row {
                id,
                name: r["name"].as_str().unwrap_or("<null>").to_string(),
                qty: r["qty"].as_i64().map(|q| q as i32),
                cents,
                updated_at: r["updated_at"].as_str().unwrap_or("<null>").to_string(),
            };
            (id, row)
        })
        .collect()
}

fn assert_same(t: &TableContents, expected: &BTreeMap<i64, Row>, what: &str) {
    assert_eq!(t.rows.len(), expected.len(), "{what}: one row per live key");
    let got = table_rows(t);
    let missing: Vec<&i64> = expected.keys().filter(|k| !got.contains_key(k)).collect();
    let extra: Vec<&i64> = got.keys().filter(|k| !expected.contains_key(k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, extra {extra:?}"
    );
    for (id, want) in expected {
        assert_eq!(&got[id], want, "{what}: row {id}");
    }
}

/// An S3 notification for `key`, as S3 sends it.
fn notification(bucket: &str, key: &str) -> String {
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-21T10:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": key, "size": 1}
        }
    }]})
    .to_string()
}

async fn queue(aws: &Aws, name: &str) -> QueueWithDlq {
    aws.create_queue_with_dlq(name, 5, &QueueOptions::default())
        .await
        .expect("queue")
}

async fn drain(poller: &SqsPoller, f: &mut FunctionProcess) {
    let stats = poller
        .drain(f, &DrainOptions::default())
        .await
        .expect("drain");
    assert_eq!(
        (stats.failures_reported, stats.invocation_errors),
        (0, 0),
        "{stats:?}\n{}",
        f.logs().join("\n")
    );
}

const ORDERS: &str = "dms/public/orders";

#[tokio::test(flavor = "multi_thread")]
async fn csv_full_load_then_cdc_files_make_the_live_table_and_redelivery_changes_nothing() {
    let aws = Aws::new().await;
    let src = aws.create_bucket("dms-src").await.expect("bucket");
    let lake = aws.create_bucket("dms-lake").await.expect("bucket");
    let q = queue(&aws, "dms-csv").await;
    aws.notify_queue(
        &src,
        &q.queue.arn,
        &["s3:ObjectCreated:*"],
        Some("dms/"),
        None,
    )
    .await
    .expect("notification");
    let mut f = dms_merge(&lake, &[("TABLE_DEFINITION", DEFINITION)]).await;
    let poller = SqsPoller::new(&aws.sqs, &q.queue);
    let uri = format!("s3://{lake}/delta/public/orders");
    let (load, cdc) = scenario();

    // The full load: two headerless LOAD files without Op.
    let keys = [
        format!("{ORDERS}/LOAD00000001.csv"),
        format!("{ORDERS}/LOAD00000002.csv"),
    ];
    aws.put_object(&src, &keys[0], csv_file(None, &load[..600]))
        .await
        .expect("put");
    aws.put_object(&src, &keys[1], csv_file(None, &load[600..]))
        .await
        .expect("put");
    drain(&poller, &mut f).await;
    let t = read_table(&uri).await;
    assert_same(&t, &source_state(&load, &cdc, 0), "after the full load");
    assert_eq!(
        t.field_names(),
        ["updated_at", "id", "name", "qty", "amount"]
    );

    // CDC files one at a time; the table follows the source after each.
    let mut all_keys = keys.to_vec();
    for (i, file) in cdc.iter().enumerate() {
        let key = format!("{ORDERS}/{}.csv", file.name);
        let ops: Vec<Op> = file.changes.iter().map(|(o, _)| *o).collect();
        let rows: Vec<Row> = file.changes.iter().map(|(_, r)| r.clone()).collect();
        aws.put_object(&src, &key, csv_file(Some(&ops), &rows))
            .await
            .expect("put");
        all_keys.push(key);
        drain(&poller, &mut f).await;
        let t = read_table(&uri).await;
        assert_same(
            &t,
            &source_state(&load, &cdc, i + 1),
            &format!("after {}", file.name),
        );
    }
    let before = read_table(&uri).await;
    let expected = source_state(&load, &cdc, 3);
    // Deletes, inserts of new keys and re-inserts all happened.
    assert!(expected.len() != 1000 && expected.keys().any(|&k| k > 1000));

    // Every notification again, twice, in reverse: no commit, same rows.
    for _ in 0..2 {
        for key in all_keys.iter().rev() {
            aws.send_message(&q.queue.url, &notification(&src, key))
                .await
                .expect("resend");
        }
    }
    drain(&poller, &mut f).await;
    let after = read_table(&uri).await;
    assert_eq!(after.version, before.version, "redelivery commits nothing");
    assert_same(&after, &expected, "after redelivery");
    let report = f.shutdown().await;
    assert!(
        report.exit.is_none(),
        "the function ran to the end: {:?}",
        report.exit
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn parquet_files_delivered_out_of_order_are_applied_in_dms_order() {
    let aws = Aws::new().await;
    let src = aws.create_bucket("dms-src").await.expect("bucket");
    let lake = aws.create_bucket("dms-lake").await.expect("bucket");
    // No bucket notifications: the test sends them, in its own order.
    let q = queue(&aws, "dms-pq").await;
    let mut f = dms_merge(&lake, &[]).await;
    let poller = SqsPoller::new(&aws.sqs, &q.queue).with_batch_size(1);
    let uri = format!("s3://{lake}/delta/public/orders");
    let (load, cdc) = scenario();

    // The full load with IncludeOpForFullLoad (Op = I), then the changes.
    let mut keys = Vec::new();
    for (n, rows) in [(1, &load[..500]), (2, &load[500..])] {
        let key = format!("{ORDERS}/LOAD{n:08X}.parquet");
        let ops = vec![Op::I; rows.len()];
        aws.put_object(&src, &key, parquet_file(Some(&ops), rows))
            .await
            .expect("put");
        keys.push(key);
    }
    for file in &cdc {
        let key = format!("{ORDERS}/{}.parquet", file.name);
        let ops: Vec<Op> = file.changes.iter().map(|(o, _)| *o).collect();
        let rows: Vec<Row> = file.changes.iter().map(|(_, r)| r.clone()).collect();
        aws.put_object(&src, &key, parquet_file(Some(&ops), &rows))
            .await
            .expect("put");
        keys.push(key);
    }

    // The second CDC file's notification comes first (one message per
    // invocation): the full load and the first CDC file go in before it,
    // and the third does not.
    aws.send_message(&q.queue.url, &notification(&src, &keys[3]))
        .await
        .expect("send");
    drain(&poller, &mut f).await;
    let t = read_table(&uri).await;
    assert_same(
        &t,
        &source_state(&load, &cdc, 2),
        "caught up to the second CDC file",
    );
    let (applied_id, loads_id) = (
        format!("meander-dms-merge/s3://{src}/{ORDERS}"),
        format!("meander-dms-merge/s3://{src}/{ORDERS}#load"),
    );
    let ledger = read_table_with(
        &uri,
        &ReadOptions {
            app_ids: vec![applied_id.clone(), loads_id.clone()],
            ..Default::default()
        },
    )
    .await
    .app_transactions;
    assert_eq!(ledger[&loads_id], Some(2), "{ledger:?}");
    assert!(
        ledger[&applied_id].is_some_and(|v| v > i64::from(u32::MAX)),
        "{ledger:?}"
    );

    // The rest, scrambled: the third CDC file, then stale ones.
    for i in [4, 1, 2, 0, 3] {
        aws.send_message(&q.queue.url, &notification(&src, &keys[i]))
            .await
            .expect("send");
    }
    drain(&poller, &mut f).await;
    let t = read_table(&uri).await;
    assert_same(&t, &source_state(&load, &cdc, 3), "after every file");
    let version = t.version;

    // A full-load file appearing now is refused (its message goes to the
    // DLQ after the retries) and the table does not change.
    let late = format!("{ORDERS}/LOAD00000003.parquet");
    aws.put_object(&src, &late, parquet_file(None, &load[..1]))
        .await
        .expect("put");
    aws.send_message(&q.queue.url, &notification(&src, &late))
        .await
        .expect("send");
    let stats = poller
        .drain(&mut f, &DrainOptions::default())
        .await
        .expect("drain");
    assert_eq!(stats.failures_reported, 5, "{stats:?}");
    assert!(
        f.logs().iter().any(|l| l.contains("LOAD00000003.parquet")
            && l.contains("arrived after CDC changes were applied")),
        "{}",
        f.logs().join("\n")
    );
    let dlq = meander_e2e::poller::message_bodies(&aws.sqs, &q.dlq.url)
        .await
        .expect("dlq");
    assert_eq!(dlq, [notification(&src, &late)]);
    assert_eq!(read_table(&uri).await.version, version);
    let report = f.shutdown().await;
    assert!(
        report.exit.is_none(),
        "the function ran to the end: {:?}",
        report.exit
    );
}
