//! `meander demo`: the fleet on generated data, on local files, in seconds.
//!
//! Buckets are folders under the demo directory (`MEANDER_LOCAL_STORAGE_DIR`);
//! events are the same JSON AWS delivers, handed to the same handlers the
//! Lambda binaries run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampNanosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use serde_json::{json, Value};

use crate::CliError;

const MARKER: &str = ".meander-demo";
const BUCKET: &str = "landing";

/// Write one Parquet file of an Aurora-style `orders` export.
fn write_orders(
    path: &Path,
    day: u32,
    part: u32,
    rows: i64,
    with_coupon: bool,
) -> Result<u64, CliError> {
    let mut fields = vec![
        Field::new("order_id", DataType::Int64, false),
        Field::new("customer", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            true,
        ),
    ];
    let base = (day as i64 * 100 + part as i64) * 10_000;
    let day_start_ns = chrono::NaiveDate::from_ymd_opt(2026, 11, day)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_nanos_opt().unwrap_or_default())
        .unwrap_or_default();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(base..base + rows)),
        Arc::new(StringArray::from_iter_values(
            (0..rows).map(|i| format!("customer-{:03}", (i * 7) % 250)),
        )),
        Arc::new(Float64Array::from_iter_values(
            (0..rows).map(|i| ((i * 37) % 10_000) as f64 / 100.0),
        )),
        Arc::new(
            TimestampNanosecondArray::from_iter_values(
                (0..rows).map(|i| day_start_ns + i * 60_000_000_000),
            )
            .with_timezone("UTC"),
        ),
    ];
    if with_coupon {
        fields.push(Field::new("coupon", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from_iter(
            (0..rows).map(|i| (i % 3 == 0).then(|| format!("WELCOME{}", i % 5))),
        )));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file = std::fs::File::create(path)?;
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None)?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(std::fs::metadata(path)?.len())
}

/// An S3 notification record as AWS sends it (key form-URL-encoded).
fn s3_record(key: &str, size: u64, name: &str) -> Value {
    let encoded: String = key
        .split('/')
        .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join("/");
    json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "eventName": name,
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}")},
               "object": {"key": encoded, "size": size}}
    })
}

/// An SQS batch of S3 notifications, one message per record.
fn sqs_batch(records: &[Value]) -> Value {
    let messages: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({
                "messageId": format!("demo-{i:04}"),
                "receiptHandle": "demo",
                "body": json!({"Records": [r]}).to_string(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:oxbow-events",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": messages })
}

fn prepare(dir: &Path) -> Result<PathBuf, CliError> {
    if dir.exists() {
        if !dir.join(MARKER).exists() && std::fs::read_dir(dir)?.next().is_some() {
            return Err(format!(
                "{} exists and is not a demo directory; pass another DIR",
                dir.display()
            )
            .into());
        }
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(MARKER), "created by meander demo\n")?;
    Ok(std::fs::canonicalize(dir)?)
}

pub async fn run(dir: PathBuf) -> Result<(), CliError> {
    let dir = prepare(&dir)?;
    let env = crate::invoke::env_with(&[format!(
        "{}={}",
        meander_lambda::config::LOCAL_STORAGE_DIR,
        dir.display()
    )])?;
    println!("meander demo in {}\n", dir.display());

    // 1. An Aurora-style Parquet export under ds= partitions.
    println!("== oxbow: Parquet export -> Delta table, without rewriting data");
    let mut records = Vec::new();
    for day in 1..=3u32 {
        for part in 0..2u32 {
            let key = format!("exports/orders/ds=2026-11-0{day}/part-{part:05}.snappy.parquet");
            let size = write_orders(&dir.join(BUCKET).join(&key), day, part, 500, false)?;
            records.push(s3_record(&key, size, "ObjectCreated:Put"));
        }
    }
    // a marker file the exporter leaves, ignored
    let success = "exports/orders/_SUCCESS";
    std::fs::write(dir.join(BUCKET).join(success), b"")?;
    records.push(s3_record(success, 0, "ObjectCreated:Put"));
    let response = crate::invoke::invoke("oxbow", &env, sqs_batch(&records)).await?;
    println!("  6 files + _SUCCESS delivered -> response {response}");

    // 2. Redelivery adds nothing; a file with a new column evolves the schema.
    let response = crate::invoke::invoke("oxbow", &env, sqs_batch(&records)).await?;
    println!("  same batch redelivered      -> response {response} (nothing added twice)");
    let key = "exports/orders/ds=2026-11-03/part-00002.snappy.parquet";
    let size = write_orders(&dir.join(BUCKET).join(key), 3, 2, 250, true)?;
    let response = crate::invoke::invoke(
        "oxbow",
        &env,
        sqs_batch(&[s3_record(key, size, "ObjectCreated:Put")]),
    )
    .await?;
    println!("  file with new column coupon -> response {response} (schema evolved)\n");

    let table = dir.join(BUCKET).join("exports/orders");
    crate::info::run(&table.display().to_string(), false).await?;

    // 3. Application events pushed through SQS as JSON.
    println!("\n== sqs-ingest: JSON messages from SQS -> Delta rows, bad records to the DLQ");
    let events_uri = file_uri(&dir.join("tables/app_events"))?;
    let env = crate::invoke::env_with(&[
        format!("DELTA_TABLE_URI={events_uri}"),
        "TIMESTAMP_COLUMNS=at".into(),
    ])?;
    let response = crate::invoke::invoke("sqs-ingest", &env, sqs_json_batch()).await?;
    println!("  60 messages (objects, arrays, NDJSON) + 2 malformed -> response {response}");
    crate::info::run(&events_uri, false).await?;

    // 4. A DynamoDB table's stream, as a changelog and as a live mirror.
    println!("\n== dynamo-cdc: DynamoDB Streams -> changelog and live mirror");
    let stream = dynamo_stream();
    for (mode, folder) in [("append", "changelog"), ("upsert", "mirror")] {
        let uri = format!("{}/{{table}}", file_uri(&dir.join(folder))?);
        let env =
            crate::invoke::env_with(&[format!("DELTA_TABLE_URI={uri}"), format!("MODE={mode}")])?;
        let response = crate::invoke::invoke("dynamo-cdc", &env, stream.clone()).await?;
        println!("  MODE={mode}: 20 inserts, 5 updates, 3 deletes -> response {response}");
    }
    for folder in ["changelog", "mirror"] {
        let d = crate::info::describe(&file_uri(&dir.join(folder).join("customers"))?).await?;
        println!(
            "  {folder:<9} {}  version {}  rows {}  files {}",
            d["table"].as_str().unwrap_or_default(),
            d["version"],
            d["rows"],
            d["files"]
        );
    }
    // 5. AWS DMS: a full load and two CDC files, notified out of order.
    println!("\n== dms-merge: AWS DMS full load + CDC files -> live table");
    let dms = dms_files(&dir)?;
    let env = crate::invoke::env_with(&[
        format!(
            "{}={}",
            meander_lambda::config::LOCAL_STORAGE_DIR,
            dir.display()
        ),
        "DELTA_TABLE_URI=s3://lake/live/{schema}/{table}".into(),
        "KEY_COLUMNS=public.orders=order_id".into(),
        "CSV_HEADER=true".into(),
        format!(
            "TABLE_DEFINITION={}",
            json!({"TableCount": "1", "Tables": [{
            "TableName": "orders", "TableOwner": "public", "TablePath": "public/orders/",
            "TableColumns": [
                {"ColumnName": "order_id", "ColumnType": "INT8", "ColumnNullable": "false", "ColumnIsPk": "true"},
                {"ColumnName": "customer", "ColumnType": "STRING", "ColumnLength": "40"},
                {"ColumnName": "status", "ColumnType": "STRING", "ColumnLength": "10"}],
            "TableColumnsTotal": "3"}]})
        ),
    ])?;
    let notify = |files: &[&(String, u64)]| {
        let records: Vec<Value> = files
            .iter()
            .map(|(key, size)| s3_record(key, *size, "ObjectCreated:Put"))
            .collect();
        sqs_batch(&records)
    };
    let response = crate::invoke::invoke("dms-merge", &env, notify(&[&dms[2]])).await?;
    println!("  last CDC file notified first -> response {response} (caught up: load, CDC 1, CDC 2, in DMS order)");
    let all: Vec<&(String, u64)> = dms.iter().rev().collect();
    let response = crate::invoke::invoke("dms-merge", &env, notify(&all)).await?;
    println!("  all three notified again     -> response {response} (each file applied once)");
    let d = crate::info::describe(&file_uri(&dir.join("lake/live/public/orders"))?).await?;
    println!(
        "  live      {}  version {}  rows {} (10 loaded; 3 and 1 updated, 5 and 7 deleted, 11 inserted then deleted)",
        d["table"].as_str().unwrap_or_default(),
        d["version"],
        d["rows"]
    );

    println!(
        "\nRead any of them with a Delta reader, e.g. python -c \"import deltalake; print(deltalake.DeltaTable('{}').to_pandas())\"",
        table.display()
    );
    Ok(())
}

fn file_uri(path: &Path) -> Result<String, CliError> {
    std::fs::create_dir_all(path)?;
    let url = url::Url::from_directory_path(std::fs::canonicalize(path)?)
        .map_err(|_| format!("{} is not an absolute folder", path.display()))?;
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// SQS messages as applications send them: one object, an array of
/// objects, or NDJSON per message; two malformed messages among them.
fn sqs_json_batch() -> Value {
    let mut bodies = Vec::new();
    for i in 0..60i64 {
        let at = format!("2026-11-02T10:{:02}:00Z", i % 60);
        let one = |n: i64| json!({"id": n, "user": format!("user-{}", n % 7), "action": if n % 3 == 0 { "click" } else { "view" }, "at": at, "props": {"page": format!("/p/{}", n % 5)}});
        bodies.push(match i % 3 {
            0 => one(i * 10).to_string(),
            1 => json!([one(i * 10), one(i * 10 + 1)]).to_string(),
            _ => format!("{}\n{}", one(i * 10), one(i * 10 + 1)),
        });
    }
    bodies.push("{not json".to_string());
    bodies.push(json!({"id": "not-a-number", "user": "x"}).to_string());
    let messages: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            json!({
                "messageId": format!("json-{i:04}"), "receiptHandle": "demo", "body": b,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1793613600000"},
                "messageAttributes": {}, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:app-events", "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": messages })
}

/// A DynamoDB Streams batch for table `customers`: 20 inserts, 5 updates,
/// 3 deletes, NEW_AND_OLD_IMAGES, in DynamoDB's typed JSON.
fn dynamo_stream() -> Value {
    let item = |n: i64, tier: &str| {
        json!({
            "id": {"S": format!("c{n:03}")},
            "name": {"S": format!("Customer {n}")},
            "balance": {"N": format!("{}.{:02}", n * 13, n % 100)},
            "tier": {"S": tier},
            "tags": {"SS": ["new", format!("region-{}", n % 3)]},
            "address": {"M": {"city": {"S": "Lisbon"}, "zip": {"N": format!("{}", 1000 + n)}}},
        })
    };
    let mut records = Vec::new();
    let mut seq = 100_000_000_000_000_000_000u128;
    let mut push = |name: &str, keys: Value, new: Option<Value>, old: Option<Value>| {
        seq += 1;
        let mut d = json!({
            "ApproximateCreationDateTime": 1793613600 + records.len() as i64,
            "Keys": keys, "SequenceNumber": seq.to_string(), "SizeBytes": 120,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        });
        if let Some(n) = new {
            d["NewImage"] = n;
        }
        if let Some(o) = old {
            d["OldImage"] = o;
        }
        records.push(json!({
            "eventID": format!("ev-{seq}"), "eventName": name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": d,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/customers/stream/2026-11-01T00:00:00.000"
        }));
    };
    for n in 0..20 {
        push(
            "INSERT",
            json!({"id": {"S": format!("c{n:03}")}}),
            Some(item(n, "basic")),
            None,
        );
    }
    for n in 0..5 {
        push(
            "MODIFY",
            json!({"id": {"S": format!("c{n:03}")}}),
            Some(item(n, "gold")),
            Some(item(n, "basic")),
        );
    }
    for n in 17..20 {
        push(
            "REMOVE",
            json!({"id": {"S": format!("c{n:03}")}}),
            None,
            Some(item(n, "basic")),
        );
    }
    json!({ "Records": records })
}

/// What DMS writes for `public.orders` with `AddColumnName=true`: a full
/// load of 10 rows, then two CDC files (`Op` = I/U/D; key 3 changed twice,
/// key 11 inserted then deleted). Returns `(key, size)` in DMS order.
fn dms_files(dir: &Path) -> Result<Vec<(String, u64)>, CliError> {
    let mut load = String::from("order_id,customer,status\n");
    for id in 1..=10 {
        load.push_str(&format!("{id},customer-{},new\n", id % 4));
    }
    let files = [
        ("LOAD00000001.csv", load),
        (
            "20261121-101500123.csv",
            "Op,order_id,customer,status\nU,3,customer-3,paid\nD,5,customer-1,new\nI,11,customer-3,new\nU,3,customer-3,shipped\n".to_string(),
        ),
        (
            "20261121-101600456.csv",
            "Op,order_id,customer,status\nD,11,customer-3,new\nU,1,customer-1,paid\nD,7,customer-3,new\n".to_string(),
        ),
    ];
    let mut out = Vec::new();
    for (name, body) in files {
        let key = format!("dms/public/orders/{name}");
        let path = dir.join(BUCKET).join(&key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &body)?;
        out.push((key, body.len() as u64));
    }
    Ok(out)
}
