//! glue-sync end to end: Parquet files -> the compiled `oxbow` binary (its
//! own queue) -> Delta commits in moto S3 -> commit-file notifications on a
//! second queue -> the compiled `glue-sync` binary under the Lambda Runtime
//! API -> tables in moto's Glue Data Catalog, read back with GetTable.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int16Array, Int32Array, Int64Array, Int64Builder, Int8Array, ListArray,
    ListBuilder, MapBuilder, StringArray, StringBuilder, StructArray, TimestampMicrosecondArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields, Schema};
use arrow::record_batch::RecordBatch;
use aws_sdk_glue::types::Table;
use meander_e2e::aws::{Aws, QueueNotification, QueueOptions, QueueWithDlq};
use meander_e2e::delta_reader::read_table;
use meander_e2e::moto::{env_for_function, unique_name};
use meander_e2e::parquet::orders;
use meander_e2e::poller::{message_bodies, peek_messages, DrainOptions, SqsPoller};
use meander_e2e::runtime::{function_binary, FunctionProcess};
use parquet::arrow::ArrowWriter;
use serde_json::json;

async fn spawn(binary: &str, extra: &[(&str, &str)]) -> FunctionProcess {
    let mut env = env_for_function();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    FunctionProcess::spawn(function_binary(binary), env)
        .await
        .unwrap_or_else(|e| panic!("spawn {binary}: {e}"))
}

/// A bucket whose Parquet files notify oxbow's queue and whose `.json`
/// objects (commit files among them) notify glue-sync's; both redrive to a
/// DLQ after 2 receives.
struct Bed {
    bucket: String,
    oxbow: QueueWithDlq,
    glue: QueueWithDlq,
}

async fn bed(aws: &Aws, name: &str) -> Bed {
    let bucket = aws.create_bucket(name).await.expect("bucket");
    let oxbow = aws
        .create_queue_with_dlq(&format!("{name}-oxbow"), 2, &QueueOptions::default())
        .await
        .expect("oxbow queue");
    let glue = aws
        .create_queue_with_dlq(&format!("{name}-glue"), 2, &QueueOptions::default())
        .await
        .expect("glue queue");
    let created = ["s3:ObjectCreated:*"];
    aws.notify_queues(
        &bucket,
        &[
            QueueNotification {
                queue_arn: &oxbow.queue.arn,
                events: &created,
                prefix: None,
                suffix: Some(".parquet"),
            },
            QueueNotification {
                queue_arn: &glue.queue.arn,
                events: &created,
                prefix: None,
                suffix: Some(".json"),
            },
        ],
    )
    .await
    .expect("notifications");
    Bed {
        bucket,
        oxbow,
        glue,
    }
}

async fn drain_ok(aws: &Aws, queue: &QueueWithDlq, f: &mut FunctionProcess) {
    let stats = SqsPoller::new(&aws.sqs, &queue.queue)
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

async fn get_table(aws: &Aws, database: &str, table: &str) -> Table {
    aws.glue
        .get_table()
        .database_name(database)
        .name(table)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "GetTable {database}.{table}: {}",
                aws_sdk_glue::error::DisplayErrorContext(&e)
            )
        })
        .table
        .expect("GetTable returns the table")
}

/// `(name, type)` of the table's columns, or of its partition keys.
fn columns(t: &Table) -> Vec<(String, String)> {
    t.storage_descriptor()
        .map(|sd| sd.columns().to_vec())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c.name().to_string(),
                c.r#type().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn partition_keys(t: &Table) -> Vec<(String, String)> {
    t.partition_keys()
        .iter()
        .map(|c| {
            (
                c.name().to_string(),
                c.r#type().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn params(t: &Table) -> HashMap<String, String> {
    t.parameters().cloned().unwrap_or_default()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// A Glue database name no other test uses.
fn unique_database(prefix: &str) -> String {
    unique_name(prefix).replace('-', "_")
}

#[tokio::test(flavor = "multi_thread")]
async fn glue_follows_a_table_from_creation_through_evolution_and_ignores_stale_events() {
    let aws = Aws::new().await;
    let bed = bed(&aws, "gluesync").await;
    let database = unique_database("sales");
    let mut oxbow = spawn("oxbow", &[]).await;
    let mut glue = spawn("glue-sync", &[("GLUE_DATABASE", &database)]).await;

    // oxbow creates the table from an export with a ds= partition.
    for (i, ds) in ["2026-11-01", "2026-11-02"].iter().enumerate() {
        let start = i as i64 * 10;
        aws.put_object(
            &bed.bucket,
            &format!("exports/orders/ds={ds}/part-0.parquet"),
            orders(start..start + 10, false),
        )
        .await
        .expect("put");
    }
    drain_ok(&aws, &bed.oxbow, &mut oxbow).await;
    let uri = format!("s3://{}/exports/orders", bed.bucket);
    let created_at = read_table(&uri).await.version as u64;

    // Keep the commit notifications, to replay them once they are stale.
    let old_events: Vec<String> =
        peek_messages(&aws.sqs, &bed.glue.queue.url, Duration::from_secs(3))
            .await
            .expect("peek commit events")
            .iter()
            .filter_map(|m| m.body().map(str::to_string))
            .filter(|b| b.contains("_delta_log"))
            .collect();
    assert!(!old_events.is_empty());

    // glue-sync creates database and table.
    drain_ok(&aws, &bed.glue, &mut glue).await;
    aws.glue
        .get_database()
        .name(&database)
        .send()
        .await
        .expect("the database was created");
    let t = get_table(&aws, &database, "orders").await;
    assert_eq!(t.table_type(), Some("EXTERNAL_TABLE"));
    let p = params(&t);
    assert_eq!(p["table_type"], "DELTA");
    assert_eq!(p["spark.sql.sources.provider"], "delta");
    assert_eq!(p["EXTERNAL"], "TRUE");
    assert_eq!(p["delta.lastUpdateVersion"], created_at.to_string());
    let sd = t.storage_descriptor().expect("storage descriptor");
    assert_eq!(sd.location(), Some(uri.as_str()));
    assert_eq!(
        sd.serde_info().and_then(|s| s.serialization_library()),
        Some("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")
    );
    assert_eq!(
        columns(&t),
        pairs(&[
            ("id", "bigint"),
            ("customer", "string"),
            ("amount", "double"),
            ("created_at", "timestamp"),
        ])
    );
    assert_eq!(partition_keys(&t), pairs(&[("ds", "string")]));

    // A file with a new column: oxbow evolves the schema, Glue follows.
    aws.put_object(
        &bed.bucket,
        "exports/orders/ds=2026-11-03/part-0.parquet",
        orders(20..30, true),
    )
    .await
    .expect("put");
    drain_ok(&aws, &bed.oxbow, &mut oxbow).await;
    let evolved_at = read_table(&uri).await.version as u64;
    assert!(evolved_at > created_at);
    drain_ok(&aws, &bed.glue, &mut glue).await;
    let t = get_table(&aws, &database, "orders").await;
    assert_eq!(
        columns(&t),
        pairs(&[
            ("id", "bigint"),
            ("customer", "string"),
            ("amount", "double"),
            ("created_at", "timestamp"),
            ("note", "string"),
        ])
    );
    assert_eq!(partition_keys(&t), pairs(&[("ds", "string")]));
    assert_eq!(
        params(&t)["delta.lastUpdateVersion"],
        evolved_at.to_string()
    );
    let glue_version = t.version_id().map(str::to_string);
    assert!(glue_version.is_some());

    // The old commit events arrive again, late, in one batch with an event
    // for a table that does not exist: the stale ones change nothing, the
    // bad one fails alone and ends in the DLQ.
    let ghost = json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-03T00:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bed.bucket, "arn": format!("arn:aws:s3:::{}", bed.bucket)},
            "object": {"key": "ghost/_delta_log/00000000000000000000.json", "size": 10}
        }
    }]})
    .to_string();
    for body in old_events.iter().chain([&ghost]) {
        aws.send_message(&bed.glue.queue.url, body)
            .await
            .expect("replay");
    }
    let mark = glue.log_len();
    let stats = SqsPoller::new(&aws.sqs, &bed.glue.queue)
        .drain(&mut glue, &DrainOptions::default())
        .await
        .expect("drain replay");
    // Reported once per receive until redrive moved it to the DLQ.
    assert_eq!(stats.failures_reported, 2, "{stats:?}");
    let t = get_table(&aws, &database, "orders").await;
    assert_eq!(
        t.version_id().map(str::to_string),
        glue_version,
        "no update"
    );
    assert_eq!(
        params(&t)["delta.lastUpdateVersion"],
        evolved_at.to_string()
    );
    assert_eq!(columns(&t).len(), 5);
    let logs = glue.logs_since(mark);
    assert!(
        logs.iter()
            .any(|l| l.contains("up_to_date") && l.contains(&format!("{database}.orders"))),
        "{}",
        logs.join("\n")
    );
    assert!(
        logs.iter()
            .any(|l| l.contains("sync failed") && l.contains("ghost")),
        "{}",
        logs.join("\n")
    );
    let dlq = message_bodies(&aws.sqs, &bed.glue.dlq.url)
        .await
        .expect("dlq");
    assert_eq!(dlq.len(), 1, "{dlq:?}");
    assert!(dlq[0].contains("ghost/_delta_log"), "{}", dlq[0]);

    let report = glue.shutdown().await;
    eprintln!("glue-sync: {report:?}");
}

/// One Parquet file with every type Delta has a Hive name for, nested ones
/// included, `rows` rows.
fn every_type(rows: i32) -> Vec<u8> {
    let ids: Vec<i32> = (0..rows).collect();
    let n = ids.len();
    let mut tags = ListBuilder::new(StringBuilder::new());
    let mut attrs = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    for i in &ids {
        tags.values().append_value(format!("t{i}"));
        tags.append(true);
        attrs.keys().append_value("k");
        attrs.values().append_value(i64::from(*i));
        attrs.append(true).expect("map entry");
    }
    let event_fields = Fields::from(vec![Field::new("c", DataType::Date32, true)]);
    let events_values = StructArray::new(
        event_fields.clone(),
        vec![Arc::new(Date32Array::from_iter_values(
            ids.iter().map(|i| 20_000 + i),
        )) as ArrayRef],
        None,
    );
    let events = ListArray::new(
        Arc::new(Field::new("item", DataType::Struct(event_fields), true)),
        OffsetBuffer::from_lengths(vec![1; n]),
        Arc::new(events_values),
        None,
    );
    let payload = StructArray::from(vec![
        (
            Arc::new(Field::new("a", DataType::Int32, true)),
            Arc::new(Int32Array::from(ids.clone())) as ArrayRef,
        ),
        (
            Arc::new(Field::new("my field", DataType::Utf8, true)),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("v{i}")),
            )) as ArrayRef,
        ),
        (
            Arc::new(Field::new("events", events.data_type().clone(), true)),
            Arc::new(events) as ArrayRef,
        ),
    ]);
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "tiny",
            Arc::new(Int8Array::from_iter_values(ids.iter().map(|i| *i as i8))),
        ),
        (
            "small",
            Arc::new(Int16Array::from_iter_values(ids.iter().map(|i| *i as i16))),
        ),
        ("int", Arc::new(Int32Array::from(ids.clone()))),
        (
            "big",
            Arc::new(Int64Array::from_iter_values(
                ids.iter().map(|i| i64::from(*i)),
            )),
        ),
        (
            "float",
            Arc::new(Float32Array::from_iter_values(
                ids.iter().map(|i| *i as f32 / 2.0),
            )),
        ),
        (
            "double",
            Arc::new(Float64Array::from_iter_values(
                ids.iter().map(|i| f64::from(*i) / 4.0),
            )),
        ),
        (
            "price",
            Arc::new(
                Decimal128Array::from_iter_values(ids.iter().map(|i| i128::from(*i) * 125))
                    .with_precision_and_scale(10, 2)
                    .expect("decimal(10,2)"),
            ),
        ),
        (
            "flag",
            Arc::new(BooleanArray::from_iter(
                ids.iter().map(|i| Some(i % 2 == 0)),
            )),
        ),
        (
            "name",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("n{i}")),
            )),
        ),
        (
            "raw",
            Arc::new(BinaryArray::from_iter_values(
                ids.iter().map(|i| i.to_le_bytes()),
            )),
        ),
        (
            "day",
            Arc::new(Date32Array::from_iter_values(
                ids.iter().map(|i| 20_000 + i),
            )),
        ),
        (
            "at",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    ids.iter().map(|i| 1_793_491_200_000_000 + i64::from(*i)),
                )
                .with_timezone("UTC"),
            ),
        ),
        ("tags", Arc::new(tags.finish())),
        ("attrs", Arc::new(attrs.finish())),
        ("payload", Arc::new(payload)),
    ];
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .expect("batch matches its schema");
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn path_regex_names_tables_and_every_type_maps_at_any_depth() {
    let aws = Aws::new().await;
    let bed = bed(&aws, "gluetypes").await;
    // A database segment with `-` (sanitised to `_`), a table with `-` and `.`.
    let db_segment = unique_name("Lake-DB");
    let database = db_segment.replace('-', "_");
    let mut oxbow = spawn("oxbow", &[]).await;
    let mut glue = spawn(
        "glue-sync",
        &[(
            "GLUE_PATH_REGEX",
            r"^lake/(?P<database>[^/]+)/(?P<table>[^/]+)/_delta_log/",
        )],
    )
    .await;

    aws.put_object(
        &bed.bucket,
        &format!("lake/{db_segment}/Rich-Types.v1/region=eu/part-0.parquet"),
        every_type(5),
    )
    .await
    .expect("put");
    // A table outside the regex: its commits are ignored, not failed.
    aws.put_object(&bed.bucket, "scratch/t/part-0.parquet", orders(0..3, false))
        .await
        .expect("put");
    drain_ok(&aws, &bed.oxbow, &mut oxbow).await;
    drain_ok(&aws, &bed.glue, &mut glue).await;

    let t = get_table(&aws, &database, "rich_types_v1").await;
    assert_eq!(
        columns(&t),
        pairs(&[
            ("tiny", "tinyint"),
            ("small", "smallint"),
            ("int", "int"),
            ("big", "bigint"),
            ("float", "float"),
            ("double", "double"),
            ("price", "decimal(10,2)"),
            ("flag", "boolean"),
            ("name", "string"),
            ("raw", "binary"),
            ("day", "date"),
            ("at", "timestamp"),
            ("tags", "array<string>"),
            ("attrs", "map<string,bigint>"),
            (
                "payload",
                "struct<a:int,`my field`:string,events:array<struct<c:date>>>"
            ),
        ])
    );
    assert_eq!(partition_keys(&t), pairs(&[("region", "string")]));
    assert_eq!(
        t.storage_descriptor().and_then(|sd| sd.location()),
        Some(format!("s3://{}/lake/{db_segment}/Rich-Types.v1", bed.bucket).as_str())
    );
    assert_eq!(params(&t)["delta.lastUpdateVersion"], "0");
    assert!(
        glue.logs()
            .iter()
            .any(|l| l.contains("ignored") && l.contains("scratch/t")),
        "{}",
        glue.logs().join("\n")
    );
}
