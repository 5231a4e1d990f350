use super::*;
use serde_json::json;

const ARN: &str =
    "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2026-11-21T06:02:30.671";

fn env(pairs: &[(&str, &str)]) -> Env {
    Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn record(seq: u64, name: &str, pk: &str, arn: Option<&str>) -> Value {
    let mut r = json!({
        "eventID": format!("e{seq}"),
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "ApproximateCreationDateTime": 1795240950.678,
            "Keys": {"pk": {"S": pk}},
            "NewImage": {"pk": {"S": pk}, "n": {"N": seq.to_string()}},
            "SequenceNumber": format!("{}", 1_100_000_000_017_454_423_009u128 + u128::from(seq)),
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    });
    if let Some(arn) = arn {
        r["eventSourceARN"] = json!(arn);
    }
    r
}

fn seq(n: u64) -> String {
    format!("{}", 1_100_000_000_017_454_423_009u128 + u128::from(n))
}

#[test]
fn configuration_is_read_and_checked() {
    let c = CdcConfig::from_env(&env(&[
        ("DELTA_TABLE_URI", "s3://lake/cdc/{table}/"),
        ("MODE", "Upsert"),
        ("PARTITION_BY", "region, day"),
        ("TIMESTAMP_COLUMNS", "created_at,ttl"),
        ("NESTED", "native"),
    ]))
    .unwrap();
    assert_eq!(c.mode, Mode::Upsert);
    assert_eq!(c.partition_by, ["region", "day"]);
    assert_eq!(c.typing.nested, Nested::Native);
    assert!(c.typing.timestamp_columns.contains("ttl"));
    assert!(c.table_uri.needs_table_name());
    assert_eq!(
        c.table_uri
            .resolve(Some("Orders"), &Locator::s3())
            .unwrap()
            .as_str(),
        "s3://lake/cdc/Orders/"
    );
    let defaults = CdcConfig::from_env(&env(&[("DELTA_TABLE_URI", "s3://lake/orders")])).unwrap();
    assert_eq!(defaults.mode, Mode::Append);
    assert_eq!(defaults.typing.nested, Nested::Json);

    let missing = CdcConfig::from_env(&env(&[])).unwrap_err();
    assert!(missing.to_string().contains("DELTA_TABLE_URI"), "{missing}");
    for (key, value) in [
        ("MODE", "merge"),
        ("NESTED", "struct"),
        ("DELTA_TABLE_URI", "https://lake/x"),
        ("DELTA_TABLE_URI", "s3://{table}/x"),
        ("DELTA_TABLE_URI", "s3:///x"),
        ("DELTA_TABLE_URI", "s3://lake/a/../b"),
        ("PARTITION_BY", "a=b"),
    ] {
        let mut pairs = vec![("DELTA_TABLE_URI", "s3://lake/cdc")];
        pairs.retain(|(k, _)| *k != key);
        pairs.push((key, value));
        let err = CdcConfig::from_env(&env(&pairs)).unwrap_err();
        assert!(err.to_string().contains(key), "{key}={value}: {err}");
    }
}

#[test]
fn local_storage_maps_buckets_to_folders() {
    let uri = TableUri::parse("s3://lake/cdc/{table}").unwrap();
    let url = uri.resolve(Some("T1"), &Locator::local("/tmp/x")).unwrap();
    assert_eq!(url.as_str(), "file:///tmp/x/lake/cdc/T1/");
    let file = TableUri::parse("file:///tmp/t/{table}").unwrap();
    assert_eq!(
        file.resolve(Some("a"), &Locator::s3()).unwrap().as_str(),
        "file:///tmp/t/a/"
    );
}

fn cdc(dir: &std::path::Path, mode: &str) -> DynamoCdc {
    DynamoCdc::from_env(&env(&[
        ("DELTA_TABLE_URI", "s3://lake/cdc/{table}"),
        ("MODE", mode),
        ("MEANDER_LOCAL_STORAGE_DIR", dir.to_str().unwrap()),
        ("COMMIT_MAX_ATTEMPTS", "5"),
    ]))
    .unwrap()
}

#[tokio::test]
async fn append_batch_then_replay() {
    let dir = tempfile::tempdir().unwrap();
    let f = cdc(dir.path(), "append");
    let event = json!({"Records": [
        record(1, "INSERT", "a", Some(ARN)),
        record(2, "MODIFY", "a", Some(ARN)),
        record(3, "REMOVE", "a", Some(ARN)),
    ]});
    let r = handle(&f, event.clone()).await.unwrap();
    assert!(r.is_success(), "{r:?}");
    assert!(dir
        .path()
        .join("lake/cdc/Orders/_delta_log/00000000000000000000.json")
        .exists());
    let outcome = f.process(&event).await.unwrap();
    assert_eq!(outcome.handled, 3);
    assert_eq!(outcome.tables[0].1, None, "a replay commits nothing");
}

#[tokio::test]
async fn the_first_bad_record_is_reported_and_earlier_ones_commit() {
    let dir = tempfile::tempdir().unwrap();
    let f = cdc(dir.path(), "append");
    let mut bad = record(2, "INSERT", "b", Some(ARN));
    bad["dynamodb"]["NewImage"]["n"] = json!({"N": "not a number"});
    let event = json!({"Records": [record(1, "INSERT", "a", Some(ARN)), bad, record(3, "INSERT", "c", Some(ARN))]});
    let r = handle(&f, event).await.unwrap();
    assert_eq!(r.failed_ids().collect::<Vec<_>>(), [seq(2).as_str()]);
    let mut t = meander::tables::open_handle(
        &url::Url::from_directory_path(dir.path().join("lake/cdc/Orders")).unwrap(),
    )
    .unwrap();
    t.load().await.unwrap();
    let rows: usize = t
        .state
        .as_ref()
        .unwrap()
        .log_data()
        .iter()
        .filter_map(|f| f.num_records())
        .sum();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn records_without_a_source_arn_fail_when_the_uri_needs_the_table_name() {
    let dir = tempfile::tempdir().unwrap();
    let f = cdc(dir.path(), "append");
    let event =
        json!({"Records": [record(1, "INSERT", "a", Some(ARN)), record(2, "INSERT", "b", None)]});
    let outcome = f.process(&event).await.unwrap();
    let failure = outcome.failure.unwrap();
    assert_eq!(failure.index, 1);
    assert_eq!(failure.sequence_number, Some(seq(2)));
    assert!(
        failure.error.contains("eventSourceARN"),
        "{}",
        failure.error
    );
    assert_eq!(outcome.handled, 1);
}

#[tokio::test]
async fn upsert_rejects_keys_only_streams_at_the_first_record() {
    let dir = tempfile::tempdir().unwrap();
    let f = cdc(dir.path(), "upsert");
    let mut r = record(1, "INSERT", "a", Some(ARN));
    r["dynamodb"]["StreamViewType"] = json!("KEYS_ONLY");
    r["dynamodb"].as_object_mut().unwrap().remove("NewImage");
    let outcome = f
        .process(&json!({"Records": [r.clone(), r]}))
        .await
        .unwrap();
    let failure = outcome.failure.unwrap();
    assert_eq!(failure.index, 0);
    assert!(
        failure.error.contains("NEW_IMAGE or NEW_AND_OLD_IMAGES"),
        "{}",
        failure.error
    );
    let response = handle(
        &f,
        json!({"Records": [record(5, "MODIFY", "a", Some(ARN))]}),
    )
    .await
    .unwrap();
    assert!(response.is_success());
}

#[tokio::test]
async fn other_payloads_fail_the_invocation() {
    let dir = tempfile::tempdir().unwrap();
    let f = cdc(dir.path(), "append");
    assert!(handle(&f, json!({"hello": 1})).await.is_err());
    assert!(handle(&f, json!({"Records": []}))
        .await
        .unwrap()
        .is_success());
    let no_seq = json!({"Records": [{"eventName": "INSERT", "dynamodb": {}}]});
    assert!(handle(&f, no_seq).await.is_err());
}
