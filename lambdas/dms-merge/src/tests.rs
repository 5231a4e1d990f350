use super::*;
use deltalake::datafusion::prelude::SessionContext;
use serde_json::json;

const BUCKET: &str = "src";

fn env(dir: &std::path::Path, extra: &[(&str, &str)]) -> Env {
    let mut pairs: Vec<(String, String)> = vec![
        (
            DELTA_TABLE_URI.into(),
            "s3://lake/dms/{schema}/{table}".into(),
        ),
        (KEY_COLUMNS.into(), "public.orders=id".into()),
        (CSV_HEADER.into(), "true".into()),
        (
            meander_lambda::config::LOCAL_STORAGE_DIR.into(),
            dir.display().to_string(),
        ),
    ];
    for (k, v) in extra {
        pairs.retain(|(a, _)| a != k);
        pairs.push((k.to_string(), v.to_string()));
    }
    Env::from_pairs(pairs)
}

fn put(dir: &std::path::Path, key: &str, body: &str) {
    let path = dir.join(BUCKET).join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

/// An SQS batch with one S3 notification per key (message id = key).
fn sqs(keys: &[&str]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .map(|k| {
            let body = json!({"Records": [{
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": BUCKET}, "object": {"key": k, "size": 1}}
            }]});
            json!({
                "messageId": format!("m-{k}"),
                "body": body.to_string(),
                "eventSource": "aws:sqs",
            })
        })
        .collect();
    json!({ "Records": records })
}

async fn rows(dir: &std::path::Path, table: &str) -> (Vec<String>, Option<u64>) {
    let url = Url::from_directory_path(dir.join("lake/dms/public").join(table)).unwrap();
    let mut t = meander::tables::open_handle(&url).unwrap();
    t.load().await.unwrap();
    let ctx = SessionContext::new();
    ctx.register_table("t", t.table_provider().await.unwrap())
        .unwrap();
    let batches = ctx
        .sql("SELECT * FROM t ORDER BY id")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut out = Vec::new();
    for b in &batches {
        for i in 0..b.num_rows() {
            let cells: Vec<String> = b
                .columns()
                .iter()
                .map(|c| arrow::util::display::array_value_to_string(c, i).unwrap_or_default())
                .collect();
            out.push(cells.join("|"));
        }
    }
    (out, t.version())
}

#[test]
fn config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let err = DmsConfig::from_env(&env(dir.path(), &[(DELTA_TABLE_URI, "s3://lake/dms")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(DELTA_TABLE_URI) && err.contains("{table}"),
        "{err}"
    );
    let err = DmsConfig::from_env(&env(dir.path(), &[(KEY_COLUMNS, "orders=id")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains(KEY_COLUMNS), "{err}");
    let err = DmsConfig::from_env(&env(dir.path(), &[(CSV_DELIMITER, ";;")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains(CSV_DELIMITER), "{err}");
    let err = DmsConfig::from_env(&env(dir.path(), &[(TABLE_DEFINITION, "{\"x\":1}")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains(TABLE_DEFINITION), "{err}");
    let c = DmsConfig::from_env(&env(
        dir.path(),
        &[
            (CSV_DELIMITER, "tab"),
            (TABLE_DEFINITION, "s3://b/defs.json"),
        ],
    ))
    .unwrap();
    assert_eq!(c.csv.delimiter, b'\t');
    assert!(matches!(
        c.definition,
        Some(DefinitionSource::Object { .. })
    ));
    let url = c
        .table_uri
        .resolve("public", "orders", &Locator::s3())
        .unwrap();
    assert_eq!(url.as_str(), "s3://lake/dms/public/orders/");
    assert!(c.table_uri.resolve("..", "orders", &Locator::s3()).is_err());
}

const LOAD1: &str = "Op,id,name,qty\nI,1,a,10\nI,2,b,20\nI,3,c,30\n";
const LOAD2: &str = "Op,id,name,qty\nI,4,d,40\n";
const CDC1: &str = "Op,id,name,qty\nU,1,a,11\nD,2,b,20\nI,5,e,50\nU,5,e,51\n";
const CDC2: &str = "Op,id,name,qty\nD,5,e,51\nI,2,b2,22\nU,3,c,33\n";

#[tokio::test]
async fn full_load_then_changes_in_any_order_once() {
    let dir = tempfile::tempdir().unwrap();
    let dms = DmsMerge::from_env(&env(dir.path(), &[])).unwrap();
    let p = "dms/public/orders";
    put(dir.path(), &format!("{p}/LOAD00000001.csv"), LOAD1);
    put(dir.path(), &format!("{p}/LOAD00000002.csv"), LOAD2);
    put(dir.path(), &format!("{p}/20261121-100000000.csv"), CDC1);
    put(dir.path(), &format!("{p}/20261121-100100000.csv"), CDC2);

    // The second CDC file's notification comes first: everything before it
    // goes in, in DMS order.
    let out = dms
        .process(&sqs(&[&format!("{p}/20261121-100100000.csv")]))
        .await
        .unwrap();
    assert!(out.failed_messages.is_empty(), "{:?}", out.errors);
    assert_eq!(out.applied.get("s3://src/dms/public/orders"), Some(&4));
    let (got, version) = rows(dir.path(), "orders").await;
    assert_eq!(got, ["1|a|11", "2|b2|22", "3|c|33", "4|d|40"]);

    // The other notifications, late and twice: nothing changes.
    let all = [
        format!("{p}/LOAD00000002.csv"),
        format!("{p}/LOAD00000001.csv"),
        format!("{p}/20261121-100000000.csv"),
        format!("{p}/20261121-100100000.csv"),
    ];
    let keys: Vec<&str> = all.iter().map(String::as_str).collect();
    for _ in 0..2 {
        let out = dms.process(&sqs(&keys)).await.unwrap();
        assert!(out.failed_messages.is_empty(), "{:?}", out.errors);
    }
    let (again, v2) = rows(dir.path(), "orders").await;
    assert_eq!(again, got);
    assert_eq!(v2, version, "redelivery commits nothing");

    // A fresh container (cold start) sees the same ledger.
    let cold = DmsMerge::from_env(&env(dir.path(), &[])).unwrap();
    let out = cold.process(&sqs(&keys)).await.unwrap();
    assert!(out.failed_messages.is_empty());
    assert_eq!(rows(dir.path(), "orders").await.1, version);
}

#[tokio::test]
async fn bad_input_fails_only_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let dms = DmsMerge::from_env(&env(dir.path(), &[])).unwrap();
    put(dir.path(), "dms/public/orders/LOAD00000001.csv", LOAD1);
    put(dir.path(), "dms/public/other/LOAD00000001.csv", LOAD1);
    put(
        dir.path(),
        "dms/public/orders/20261121-100000000.csv",
        "Op,id,name,qty\nX,1,a,1\n",
    );
    let event = sqs(&[
        "dms/public/orders/LOAD00000001.csv",
        "dms/public/other/LOAD00000001.csv",
        "dms/public/orders/20261121-100000000.csv",
        "dms/public/orders/notes.txt",
        "dms/public/orders/LOAD00000002.csv.gz",
    ]);
    let out = dms.process(&event).await.unwrap();
    assert_eq!(
        out.failed_messages,
        [
            "m-dms/public/orders/20261121-100000000.csv",
            "m-dms/public/orders/LOAD00000002.csv.gz",
            "m-dms/public/other/LOAD00000001.csv",
        ],
        "{:?}",
        out.errors
    );
    let errors = out.errors.join("\n");
    assert!(
        errors.contains("public.other is not in KEY_COLUMNS"),
        "{errors}"
    );
    assert!(errors.contains("row 1: Op is Some(\"X\")"), "{errors}");
    // The full load went in.
    assert_eq!(rows(dir.path(), "orders").await.0.len(), 3);
    let response = handle(&dms, event).await.unwrap();
    assert_eq!(response.failed_ids().count(), 3);

    // A full-load file after changes are applied is refused.
    put(
        dir.path(),
        "dms/public/orders/20261121-100000000.csv",
        "Op,id,name,qty\nU,1,a,2\n",
    );
    let out = dms
        .process(&sqs(&["dms/public/orders/20261121-100000000.csv"]))
        .await
        .unwrap();
    assert!(out.failed_messages.is_empty(), "{:?}", out.errors);
    put(dir.path(), "dms/public/orders/LOAD00000002.csv", LOAD2);
    let out = dms
        .process(&sqs(&["dms/public/orders/LOAD00000002.csv"]))
        .await
        .unwrap();
    assert_eq!(out.failed_messages.len(), 1);
    assert!(
        out.errors[0].contains("arrived after CDC"),
        "{:?}",
        out.errors
    );
}

#[tokio::test]
async fn headerless_files_with_a_definition_and_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let defs = r#"{"TableCount": "1", "Tables": [{"TableName": "orders", "TableOwner": "public",
        "TableColumns": [{"ColumnName": "id", "ColumnType": "INT8"},
                         {"ColumnName": "name", "ColumnType": "STRING"},
                         {"ColumnName": "qty", "ColumnType": "INT4"}]}]}"#;
    put(dir.path(), "defs/orders.json", defs);
    let dms = DmsMerge::from_env(&env(
        dir.path(),
        &[
            (CSV_HEADER, "false"),
            (TABLE_DEFINITION, "s3://src/defs/orders.json"),
            (TIMESTAMP_COLUMN, "ts"),
        ],
    ))
    .unwrap();
    let p = "dms/public/orders";
    put(
        dir.path(),
        &format!("{p}/LOAD00000001.csv"),
        "2026-11-21 09:00:00.000000,1,a,10\n2026-11-21 09:00:00.000000,2,b,20\n",
    );
    // Two files in one batch: the later file's change to id 1 is older.
    put(
        dir.path(),
        &format!("{p}/20261121-100000000.csv"),
        "U,2026-11-21 10:00:00.000002,1,new,11\nI,2026-11-21 10:00:00.000001,3,c,30\n",
    );
    put(
        dir.path(),
        &format!("{p}/20261121-100100000.csv"),
        "U,2026-11-21 10:00:00.000001,1,old,99\nD,2026-11-21 10:00:00.000003,2,,\n",
    );
    let out = dms
        .process(&sqs(&[&format!("{p}/20261121-100100000.csv")]))
        .await
        .unwrap();
    assert!(out.failed_messages.is_empty(), "{:?}", out.errors);
    let (got, _) = rows(dir.path(), "orders").await;
    assert_eq!(
        got,
        [
            "2026-11-21 10:00:00.000002|1|new|11",
            "2026-11-21 10:00:00.000001|3|c|30"
        ]
    );
}

#[tokio::test]
async fn new_columns_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let dms = DmsMerge::from_env(&env(dir.path(), &[])).unwrap();
    let p = "dms/public/orders";
    put(dir.path(), &format!("{p}/LOAD00000001.csv"), LOAD1);
    // An empty CDC file, then one with a column added at the source.
    put(dir.path(), &format!("{p}/20261121-100000000.csv"), "");
    put(
        dir.path(),
        &format!("{p}/20261121-100100000.csv"),
        "Op,id,name,qty,note\nU,1,a,11,hello\nI,9,z,90,\n",
    );
    let out = dms
        .process(&sqs(&[&format!("{p}/20261121-100000000.csv")]))
        .await
        .unwrap();
    assert!(out.failed_messages.is_empty(), "{:?}", out.errors);
    let (_, v1) = rows(dir.path(), "orders").await;
    let out = dms
        .process(&sqs(&[&format!("{p}/20261121-100100000.csv")]))
        .await
        .unwrap();
    assert!(out.failed_messages.is_empty(), "{:?}", out.errors);
    let (got, v2) = rows(dir.path(), "orders").await;
    assert_eq!(got, ["1|a|11|hello", "2|b|20|", "3|c|30|", "9|z|90|"]);
    assert!(v2 > v1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_invocations_apply_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = "dms/public/orders";
    put(dir.path(), &format!("{p}/LOAD00000001.csv"), LOAD1);
    put(dir.path(), &format!("{p}/LOAD00000002.csv"), LOAD2);
    put(dir.path(), &format!("{p}/20261121-100000000.csv"), CDC1);
    put(dir.path(), &format!("{p}/20261121-100100000.csv"), CDC2);
    let keys = [
        format!("{p}/LOAD00000001.csv"),
        format!("{p}/LOAD00000002.csv"),
        format!("{p}/20261121-100000000.csv"),
        format!("{p}/20261121-100100000.csv"),
    ];
    // Four containers, each notified of one file, at once.
    let containers: Vec<DmsMerge> = (0..4)
        .map(|_| DmsMerge::from_env(&env(dir.path(), &[])).unwrap())
        .collect();
    let runs = containers
        .iter()
        .zip(&keys)
        .map(|(c, k)| async move { c.process(&sqs(&[k.as_str()])).await });
    let mut applied = 0;
    for out in futures::future::join_all(runs).await {
        let out = out.unwrap();
        assert!(out.failed_messages.is_empty(), "{:?}", out.errors);
        applied += out.applied.values().sum::<usize>();
    }
    assert_eq!(applied, 4, "every file applied by exactly one container");
    let (got, _) = rows(dir.path(), "orders").await;
    assert_eq!(got, ["1|a|11", "2|b2|22", "3|c|33", "4|d|40"]);
}

/// A bad file stops its table at that file: the good files before it go in
/// even when they would have been merged (or appended) in one step with it.
#[tokio::test]
async fn files_before_a_bad_one_of_the_same_step_still_go_in() {
    let dir = tempfile::tempdir().unwrap();
    let dms = DmsMerge::from_env(&env(dir.path(), &[])).unwrap();
    put(dir.path(), "dms/public/orders/LOAD00000001.csv", LOAD1);
    put(dir.path(), "dms/public/orders/LOAD00000002.csv", LOAD2);
    put(
        dir.path(),
        "dms/public/orders/LOAD00000003.csv",
        "id,name,qty\n9,\"never closed,1\n10,j,1\n",
    );
    let out = dms
        .process(&sqs(&[
            "dms/public/orders/LOAD00000001.csv",
            "dms/public/orders/LOAD00000002.csv",
            "dms/public/orders/LOAD00000003.csv",
        ]))
        .await
        .unwrap();
    assert_eq!(
        out.failed_messages,
        ["m-dms/public/orders/LOAD00000003.csv"],
        "{:?}",
        out.errors
    );
    assert!(out.errors[0].contains("never closed"), "{:?}", out.errors);
    let (loaded, _) = rows(dir.path(), "orders").await;

    // Now CDC: a good file, a bad one, a good one after it.
    put(
        dir.path(),
        "dms/public/orders/LOAD00000003.csv",
        "id,name,qty\n",
    );
    for (name, body) in [
        ("20261121-100000000.csv", "Op,id,name,qty\nU,1,changed,7\n"),
        (
            "20261121-100100000.csv",
            "Op,id,name,qty\nU,2,x,1\nQ,3,y,1\n",
        ),
        ("20261121-100200000.csv", "Op,id,name,qty\nD,1,,\n"),
    ] {
        put(dir.path(), &format!("dms/public/orders/{name}"), body);
    }
    let keys = [
        "dms/public/orders/LOAD00000003.csv",
        "dms/public/orders/20261121-100000000.csv",
        "dms/public/orders/20261121-100100000.csv",
        "dms/public/orders/20261121-100200000.csv",
    ];
    let out = dms.process(&sqs(&keys)).await.unwrap();
    assert_eq!(
        out.failed_messages,
        [
            "m-dms/public/orders/20261121-100100000.csv",
            "m-dms/public/orders/20261121-100200000.csv",
        ],
        "{:?}",
        out.errors
    );
    let (now, _) = rows(dir.path(), "orders").await;
    assert_eq!(now.len(), loaded.len());
    assert!(now.iter().any(|r| r.starts_with("1|changed|7")), "{now:?}");
}
