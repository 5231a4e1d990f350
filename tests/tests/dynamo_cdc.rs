//! dynamo-cdc end to end: a DynamoDB table with a stream in moto -> the
//! test bed's stream reader (Lambda's event source mapping) -> the compiled
//! `dynamo-cdc` binary under the Lambda Runtime API -> Delta tables in moto
//! S3, read back with the Python `deltalake` reader and compared with a
//! DynamoDB Scan value by value.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue as A;
use meander_e2e::aws::{Aws, StreamTable};
use meander_e2e::delta_reader::{read_table, TableContents};
use meander_e2e::moto::env_for_function;
use meander_e2e::records::{dynamo_item, dynamo_key};
use meander_e2e::runtime::{function_binary, FunctionProcess, InvokeOutcome};
use meander_e2e::streams::{base64, StreamReader};
use serde_json::{json, Value};

async fn dynamo_cdc(bucket: &str, folder: &str, extra: &[(&str, &str)]) -> FunctionProcess {
    let mut env = env_for_function();
    env.push((
        "DELTA_TABLE_URI".to_string(),
        format!("s3://{bucket}/{folder}/{{table}}"),
    ));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    FunctionProcess::spawn(function_binary("dynamo-cdc"), env)
        .await
        .expect("spawn dynamo-cdc")
}

/// 50 puts, 10 updates, 5 deletes: 65 stream records.
async fn write_changes(aws: &Aws, table: &StreamTable) {
    for i in 0..50 {
        aws.dynamodb
            .put_item()
            .table_name(&table.name)
            .set_item(Some(dynamo_item(i)))
            .send()
            .await
            .expect("put");
    }
    for i in 0..10 {
        aws.dynamodb
            .update_item()
            .table_name(&table.name)
            .set_key(Some(dynamo_key(i * 3)))
            .update_expression("SET qty = :q, note = :n, price = :p REMOVE history")
            .expression_attribute_values(":q", A::N(format!("{}", 1000 + i)))
            .expression_attribute_values(":n", A::S(format!("updated {i}")))
            .expression_attribute_values(":p", A::N("0.125".into()))
            .send()
            .await
            .expect("update");
    }
    for i in 0..5 {
        aws.dynamodb
            .delete_item()
            .table_name(&table.name)
            .set_key(Some(dynamo_key(40 + i)))
            .send()
            .await
            .expect("delete");
    }
}

async fn scan(aws: &Aws, table: &str) -> Vec<HashMap<String, A>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = aws
            .dynamodb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        items.extend(out.items().iter().cloned());
        match out.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => break,
        }
    }
    items
}

/// A decimal number's text in one canonical form: plain notation without
/// insignificant zeros (`12.340` -> `12.34`, `0E-18` -> `0`, `1e2` -> `100`).
fn norm_number(text: &str) -> String {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (mantissa, exp) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().expect("exponent")),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // value = digits * 10^(exp - frac.len())
    let digits = format!("{int}{frac}");
    let mut point = int.len() as i64 + exp; // position of the decimal point in `digits`
    let trimmed = digits.trim_start_matches('0');
    point -= (digits.len() - trimmed.len()) as i64;
    let digits = trimmed.trim_end_matches('0');
    if digits.is_empty() {
        return "0".to_string();
    }
    let len = digits.len() as i64;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= len {
        format!("{digits}{}", "0".repeat((point - len) as usize))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

#[test]
fn numbers_normalise() {
    for (a, b) in [
        ("12.340", "12.34"),
        ("0E-18", "0"),
        ("2.500000000000000000", "2.5"),
        ("1e2", "100"),
        ("-0.0012", "-0.0012"),
        ("0.125", "0.125"),
        ("007", "7"),
        ("1.5E-3", "0.0015"),
        (
            "12345678901234567890123456789012345678",
            "12345678901234567890123456789012345678",
        ),
    ] {
        assert_eq!(norm_number(a), b, "{a}");
    }
}

/// A number as the reader shows it (a JSON number for longs, a string for
/// decimals), normalised.
fn cell_number(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(norm_number(&n.to_string())),
        Value::String(s) => Some(norm_number(s)),
        _ => None,
    }
}

/// The plain JSON the `NESTED=json` columns hold for an attribute.
fn plain(attr: &A) -> Value {
    match attr {
        A::S(s) => json!(s),
        A::N(n) => serde_json::from_str(&norm_number(n)).expect("number"),
        A::B(b) => json!(base64(b.as_ref())),
        A::Bool(b) => json!(b),
        A::Null(_) => Value::Null,
        A::Ss(v) => json!(v),
        A::Ns(v) => Value::Array(v.iter().map(|n| plain(&A::N(n.clone()))).collect()),
        A::Bs(v) => json!(v.iter().map(|b| base64(b.as_ref())).collect::<Vec<_>>()),
        A::M(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        A::L(l) => Value::Array(l.iter().map(plain).collect()),
        other => panic!("unexpected attribute {other:?}"),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Check one table cell against the DynamoDB attribute it mirrors.
fn check_cell(name: &str, attr: &A, cell: &Value) {
    let ctx = || format!("attribute {name}: {attr:?} vs {cell}");
    match attr {
        A::S(s) => assert_eq!(cell, &json!(s), "{}", ctx()),
        A::N(n) => assert_eq!(cell_number(cell), Some(norm_number(n)), "{}", ctx()),
        A::B(b) => assert_eq!(cell, &json!(base64(b.as_ref())), "{}", ctx()),
        A::Bool(b) => assert_eq!(cell, &json!(b), "{}", ctx()),
        A::Null(_) => assert_eq!(cell, &Value::Null, "{}", ctx()),
        A::Ss(v) => {
            let got: Vec<String> = serde_json::from_value(cell.clone()).expect("list");
            assert_eq!(sorted(got), sorted(v.clone()), "{}", ctx());
        }
        A::Ns(v) => {
            let got: Vec<String> = cell
                .as_array()
                .expect("list")
                .iter()
                .map(|c| cell_number(c).expect("number"))
                .collect();
            let want: Vec<String> = v.iter().map(|n| norm_number(n)).collect();
            assert_eq!(sorted(got), sorted(want), "{}", ctx());
        }
        A::Bs(v) => {
            let got: Vec<String> = serde_json::from_value(cell.clone()).expect("list");
            let want: Vec<String> = v.iter().map(|b| base64(b.as_ref())).collect();
            assert_eq!(sorted(got), sorted(want), "{}", ctx());
        }
        A::M(_) | A::L(_) => {
            let text = cell.as_str().unwrap_or_else(|| panic!("{}", ctx()));
            let got: Value = serde_json::from_str(text).expect("JSON column");
            assert_eq!(got, plain(attr), "{}", ctx());
        }
        other => panic!("unexpected attribute {other:?}"),
    }
}

fn row_key(row: &Value) -> (String, String) {
    (
        row["pk"].as_str().unwrap_or_default().to_string(),
        cell_number(&row["sk"]).unwrap_or_default(),
    )
}

fn item_key(item: &HashMap<String, A>) -> (String, String) {
    let pk = match item.get("pk") {
        Some(A::S(s)) => s.clone(),
        other => panic!("pk {other:?}"),
    };
    let sk = match item.get("sk") {
        Some(A::N(n)) => norm_number(n),
        other => panic!("sk {other:?}"),
    };
    (pk, sk)
}

/// The mirror equals the Scan: same keys, and every attribute value by
/// value; columns an item lacks are null.
fn assert_mirror(mirror: &TableContents, items: &[HashMap<String, A>]) {
    assert_eq!(mirror.rows.len(), items.len(), "row count vs Scan");
    let rows: BTreeMap<(String, String), &Value> =
        mirror.rows.iter().map(|r| (row_key(r), r)).collect();
    assert_eq!(rows.len(), items.len(), "keys are unique");
    for item in items {
        let row = rows
            .get(&item_key(item))
            .unwrap_or_else(|| panic!("no row for {:?}", item_key(item)));
        for (name, attr) in item {
            check_cell(name, attr, &row[name.as_str()]);
        }
        for (column, value) in row.as_object().expect("row") {
            if column.starts_with('_') {
                continue;
            }
            if !item.contains_key(column) {
                assert_eq!(value, &Value::Null, "{column} of {:?}", item_key(item));
            }
        }
        assert_eq!(row["_rescued"], Value::Null, "nothing rescued: {row}");
        assert_eq!(row["_seq"].as_str().map(str::len), Some(40), "{row}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_to_changelog_and_mirror_and_replay() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("cdc").await.expect("bucket");
    let table = aws
        .create_stream_table(
            "orders",
            ("pk", "S"),
            Some(("sk", "N")),
            "NEW_AND_OLD_IMAGES",
        )
        .await
        .expect("table");
    write_changes(&aws, &table).await;

    let mut changelog = dynamo_cdc(&bucket, "changelog", &[]).await;
    let mut mirror = dynamo_cdc(&bucket, "mirror", &[("MODE", "upsert")]).await;
    for f in [&mut changelog, &mut mirror] {
        let mut reader = StreamReader::new(&aws.streams, &table.stream_arn);
        reader.batch_size = 20;
        let stats = reader.drain(f).await.expect("drain");
        assert_eq!(stats.records_processed, 65, "{stats:?}");
        assert_eq!(stats.invocations, 4, "{stats:?}");
        assert_eq!(stats.failures_reported, 0, "{stats:?}");
        assert_eq!(stats.invocation_errors, 0, "{stats:?}");
    }

    let changelog_uri = format!("s3://{bucket}/changelog/{}", table.name);
    let mirror_uri = format!("s3://{bucket}/mirror/{}", table.name);
    let items = scan(&aws, &table.name).await;
    assert_eq!(items.len(), 45);

    // The mirror equals the Scan, value by value.
    let m = read_table(&mirror_uri).await;
    assert_mirror(&m, &items);
    let fields = m.field_names();
    assert!(
        fields.starts_with(&[
            "_seq".to_string(),
            "_ts".to_string(),
            "pk".to_string(),
            "sk".to_string()
        ]),
        "{fields:?}"
    );
    let types: BTreeMap<String, String> = m.schema["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or_default().to_string(),
                f["type"].to_string(),
            )
        })
        .collect();
    assert_eq!(types["sk"], json!("long").to_string());
    assert_eq!(types["big"], json!("decimal(38,0)").to_string());
    assert_eq!(types["price"], json!("decimal(38,18)").to_string());
    assert_eq!(types["profile"], json!("string").to_string());

    // The changelog has one row per record.
    let c = read_table(&changelog_uri).await;
    assert_eq!(c.rows.len(), 65);
    let mut ops: BTreeMap<String, usize> = BTreeMap::new();
    for r in &c.rows {
        *ops.entry(r["_op"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
        assert!(
            r["_ts"].as_str().is_some_and(|t| t.starts_with("20")),
            "{r}"
        );
        assert!(
            r["_event_id"].as_str().is_some_and(|e| !e.is_empty()),
            "{r}"
        );
    }
    assert_eq!(
        ops,
        BTreeMap::from([
            ("INSERT".into(), 50),
            ("MODIFY".into(), 10),
            ("REMOVE".into(), 5)
        ])
    );
    let mut seqs: Vec<&str> = c.rows.iter().filter_map(|r| r["_seq"].as_str()).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 65);
    // A REMOVE row holds the item as it was (OldImage).
    let removed = c
        .rows
        .iter()
        .find(|r| r["_op"] == "REMOVE" && r["sk"] == json!(40))
        .expect("REMOVE of sk 40");
    check_cell("name", &A::S("name 40 é".into()), &removed["name"]);
    check_cell("price", &A::N("40.41".into()), &removed["price"]);
    // The last MODIFY of sk 0 has the updated values.
    let modified = c
        .rows
        .iter()
        .find(|r| r["_op"] == "MODIFY" && r["sk"] == json!(0))
        .expect("MODIFY of sk 0");
    assert_eq!(modified["note"], "updated 0");
    assert_eq!(modified["history"], Value::Null);

    // Replaying the whole stream changes neither table.
    for f in [&mut changelog, &mut mirror] {
        let mut reader = StreamReader::new(&aws.streams, &table.stream_arn);
        reader.batch_size = 20;
        let stats = reader.drain(f).await.expect("replay");
        assert_eq!(stats.records_processed, 65, "{stats:?}");
        assert_eq!(stats.failures_reported, 0, "{stats:?}");
    }
    let c2 = read_table(&changelog_uri).await;
    assert_eq!(
        c2.version, c.version,
        "a replay commits nothing to the changelog"
    );
    assert_eq!(c2.rows, c.rows);
    let m2 = read_table(&mirror_uri).await;
    assert_eq!(m2.rows, m.rows);
    assert_mirror(&m2, &items);

    // One whole-stream batch replayed to the mirror commits nothing at all.
    let mut reader = StreamReader::new(&aws.streams, &table.stream_arn);
    let event = reader.read_new().await.expect("read");
    match mirror
        .invoke(event, Duration::from_secs(120))
        .await
        .expect("invoke")
    {
        InvokeOutcome::Response(v) => assert_eq!(v, json!({"batchItemFailures": []})),
        other => panic!("{}", other.describe()),
    }
    assert_eq!(read_table(&mirror_uri).await.version, m2.version);
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_views_native_nesting_and_type_conflicts() {
    let aws = Aws::new().await;
    let bucket = aws.create_bucket("views").await.expect("bucket");
    let keys_only = aws
        .create_stream_table("keys", ("id", "N"), None, "KEYS_ONLY")
        .await
        .expect("table");
    for id in 0..3 {
        aws.dynamodb
            .put_item()
            .table_name(&keys_only.name)
            .item("id", A::N(id.to_string()))
            .item("v", A::S("x".into()))
            .send()
            .await
            .expect("put");
    }
    let mut reader = StreamReader::new(&aws.streams, &keys_only.stream_arn);
    let event = reader.read_new().await.expect("read");
    let first_seq = event["Records"][0]["dynamodb"]["SequenceNumber"].clone();

    // Upsert needs the new image: refused at the first record, naming the view.
    let mut mirror = dynamo_cdc(&bucket, "mirror", &[("MODE", "upsert")]).await;
    match mirror
        .invoke(event.clone(), Duration::from_secs(60))
        .await
        .expect("invoke")
    {
        InvokeOutcome::Response(v) => {
            assert_eq!(
                v,
                json!({"batchItemFailures": [{"itemIdentifier": first_seq}]})
            )
        }
        other => panic!("{}", other.describe()),
    }
    assert!(
        mirror
            .logs()
            .iter()
            .any(|l| l.contains("NEW_IMAGE or NEW_AND_OLD_IMAGES") && l.contains("KEYS_ONLY")),
        "{:#?}",
        mirror.logs()
    );
    // Append keeps a keys-only changelog.
    let mut changelog = dynamo_cdc(&bucket, "changelog", &[]).await;
    match changelog
        .invoke(event, Duration::from_secs(60))
        .await
        .expect("invoke")
    {
        InvokeOutcome::Response(v) => assert_eq!(v, json!({"batchItemFailures": []})),
        other => panic!("{}", other.describe()),
    }
    let c = read_table(&format!("s3://{bucket}/changelog/{}", keys_only.name)).await;
    let mut ids: Vec<i64> = c.column("id").iter().filter_map(Value::as_i64).collect();
    ids.sort_unstable();
    assert_eq!(ids, [0, 1, 2]);
    assert!(!c.field_names().contains(&"v".to_string()));

    // NESTED=native: maps become structs; a value of another type is rescued.
    let typed = aws
        .create_stream_table("typed", ("pk", "S"), None, "NEW_IMAGE")
        .await
        .expect("table");
    let put = |pk: &str, attrs: Vec<(&str, A)>| {
        let mut req = aws
            .dynamodb
            .put_item()
            .table_name(&typed.name)
            .item("pk", A::S(pk.to_string()));
        for (k, v) in attrs {
            req = req.item(k, v);
        }
        req.send()
    };
    put(
        "a",
        vec![
            ("n", A::N("1".into())),
            (
                "m",
                A::M(HashMap::from([("x".to_string(), A::N("1".into()))])),
            ),
        ],
    )
    .await
    .expect("put");
    let mut native = dynamo_cdc(
        &bucket,
        "native",
        &[("NESTED", "native"), ("TIMESTAMP_COLUMNS", "at")],
    )
    .await;
    let mut reader = StreamReader::new(&aws.streams, &typed.stream_arn);
    reader.drain(&mut native).await.expect("drain");
    put(
        "b",
        vec![
            ("n", A::N("2.5".into())),
            (
                "m",
                A::M(HashMap::from([("y".to_string(), A::S("new".into()))])),
            ),
            ("at", A::S("2026-11-21T06:02:30Z".into())),
        ],
    )
    .await
    .expect("put");
    let stats = reader.drain(&mut native).await.expect("drain");
    assert_eq!(stats.failures_reported, 0, "{stats:?}");
    let t = read_table(&format!("s3://{bucket}/native/{}", typed.name)).await;
    let b = t.rows.iter().find(|r| r["pk"] == "b").expect("row b");
    assert_eq!(b["n"], Value::Null);
    let rescued: Value =
        serde_json::from_str(b["_rescued"].as_str().expect("rescued")).expect("json");
    assert_eq!(rescued, json!({"n": {"N": "2.5"}}));
    assert_eq!(b["m"], json!({"x": null, "y": "new"}));
    assert!(
        b["at"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-11-21T06:02:30")),
        "{b}"
    );
    let a = t.rows.iter().find(|r| r["pk"] == "a").expect("row a");
    assert_eq!(a["m"], json!({"x": 1, "y": null}));
    assert_eq!(a["n"], json!(1));
}
