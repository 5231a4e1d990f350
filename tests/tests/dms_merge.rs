//! dms-merge end to end: DMS-shaped files (a full load of 1,000 rows, then
//! three CDC files with inserts, updates, deletes and repeated keys) in moto
//! S3 -> S3 notifications on SQS (or notifications sent by the test, in any
//! order) -> the compiled `dms-merge` binary under the Lambda Runtime API ->
//! Delta tables in moto S3, read back with the Python `deltalake` reader and
//! compared row by row with the source table's state, which the test
//! computes on its own by replaying the changes in commit order.

use std::collections::BTreeMap;

use meander_e2e::aws::{Aws, QueueOptions, QueueWithDlq};
use meander_e2e::delta_reader::{read_table, read_table_with, ReadOptions, TableContents};
use meander_e2e::dms::{
    csv_file, notification, parquet_file, scenario, source_state, Op, Row, DEFINITION,
};
use meander_e2e::moto::env_for_function;
use meander_e2e::poller::{DrainOptions, SqsPoller};
use meander_e2e::runtime::{function_binary, FunctionProcess};
use serde_json::Value;

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
