//! Property tests of dms-merge's decoders (`meander::dms`): object-key
//! names (LOAD hex counters, CDC timestamp names, arbitrary keys), their
//! order, `KEY_COLUMNS`, table-definition documents, CSV and Parquet bytes,
//! and the last-change-per-key reduction against a simple model (a replay
//! into a `BTreeMap`). None may panic on any input; valid inputs round-trip.
//!
//! Case counts are bounded so the file runs in seconds in CI;
//! `PROPTEST_CASES=N` raises every block's count (soak).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use bytes::Bytes;
use chrono::{NaiveDate, NaiveDateTime};
use meander::dms::config::{KeyColumns, TableDefinitions};
use meander::dms::decode::{decode, CsvOptions, DecodedFile, Layout, Op};
use meander::dms::names::{cdc_position, classify, DmsFile, FileFormat, FileKind, KeyClass};
use meander::dms::reduce::latest_per_key;
use proptest::prelude::*;
use serde_json::json;

/// Cases per block: `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn data(key: &str) -> DmsFile {
    match classify("b", key) {
        KeyClass::Data(f) => f,
        other => panic!("{key}: {other:?}"),
    }
}

/// A CDC name's parts: a time from 1970-01-02 to 2199 and 0..=8 fraction
/// digits.
fn cdc_time() -> impl Strategy<Value = (NaiveDateTime, String)> {
    (
        86_400i64..7_258_118_400,
        (0usize..=8).prop_flat_map(|n| proptest::collection::vec(0u8..10, n)),
    )
        .prop_map(|(secs, digits)| {
            let at = chrono::DateTime::from_timestamp(secs, 0)
                .expect("in range")
                .naive_utc();
            let fraction: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            (at, fraction)
        })
}

fn cdc_stem(at: &NaiveDateTime, fraction: &str) -> String {
    format!("{}{fraction}", at.format("%Y%m%d-%H%M%S"))
}

/// The position the README documents: seconds x 10^8 + fraction (padded
/// to 8 digits).
fn model_position(at: &NaiveDateTime, fraction: &str) -> i64 {
    let frac = format!("{fraction:0<8}").parse::<i64>().expect("digits");
    at.and_utc().timestamp() * 100_000_000 + frac
}

fn name_segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_$#-]{1,12}"
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn arbitrary_keys_never_panic_and_data_files_name_themselves(
        key in prop_oneof![
            ".{0,80}",
            "[a-z/]{0,10}/(LOAD|load|2026)[0-9A-Fa-f-]{0,14}\\.(csv|parquet|CSV|csv\\.gz|gz|json)",
            proptest::collection::vec(prop_oneof![Just("/"), Just(".."), Just("LOAD"), Just("0"), Just("F"), Just("-"), Just(".csv"), Just(".parquet"), Just("\u{0}"), Just("é")], 0..16)
                .prop_map(|v| v.concat()),
        ],
    ) {
        match classify("b", &key) {
            KeyClass::Data(f) => {
                // The name is the last segment; the key rebuilds the input
                // (up to slashes around the folder).
                let tail = format!("{}/{}/{}", f.table.schema, f.table.table, f.name);
                prop_assert!(key == tail || key.ends_with(&format!("/{tail}")), "{}", key);
                prop_assert!(f.key().ends_with(&tail));
                prop_assert!(f.position() > 0);
                match f.kind {
                    FileKind::Load(n) => prop_assert_eq!(f.position(), i64::from(n)),
                    FileKind::Cdc(p) => prop_assert!(p > i64::from(u32::MAX)),
                }
            }
            KeyClass::Ignored(why) | KeyClass::Rejected(why) => prop_assert!(!why.is_empty()),
        }
    }

    #[test]
    fn arbitrary_cdc_stems_never_panic(stem in prop_oneof![".{0,30}", "[0-9]{0,10}-[0-9]{0,16}"]) {
        if let Ok(p) = cdc_position(&stem) {
            prop_assert!(p > 0);
        }
    }

    #[test]
    fn load_counters_are_hex_and_order_by_counter(
        a in 1u32..=u32::MAX,
        b in 1u32..=u32::MAX,
        upper in any::<bool>(),
        parquet in any::<bool>(),
        folder in prop_oneof![Just(String::new()), "[a-z]{1,5}(/[a-z]{1,5}){0,2}/".prop_map(|s| s)],
    ) {
        let ext = if parquet { "parquet" } else { "csv" };
        let name = |n: u32| if upper { format!("LOAD{n:08X}.{ext}") } else { format!("LOAD{n:08x}.{ext}") };
        let fa = data(&format!("{folder}public/orders/{}", name(a)));
        let fb = data(&format!("{folder}public/orders/{}", name(b)));
        prop_assert_eq!(fa.kind, FileKind::Load(a));
        prop_assert_eq!(fa.format, if parquet { FileFormat::Parquet } else { FileFormat::Csv });
        prop_assert_eq!(fa.position().cmp(&fb.position()), a.cmp(&b));
        prop_assert_eq!(fa.table.qualified(), "public.orders");
        prop_assert_eq!(fa.table.folder.as_str(), folder.trim_end_matches('/'));
        // A counter that is not 8 hex digits is refused, not misread.
        let short = format!("{folder}public/orders/LOAD{:x}.{ext}", a);
        if format!("{a:x}").len() != 8 {
            prop_assert!(matches!(classify("b", &short), KeyClass::Rejected(_)), "{short}");
        }
    }

    #[test]
    fn cdc_names_order_by_their_time_and_come_after_every_load(
        (at_a, frac_a) in cdc_time(),
        (at_b, frac_b) in cdc_time(),
        n in 1u32..=u32::MAX,
    ) {
        let fa = data(&format!("dms/public/orders/{}.csv", cdc_stem(&at_a, &frac_a)));
        let fb = data(&format!("dms/public/orders/{}.parquet", cdc_stem(&at_b, &frac_b)));
        prop_assert_eq!(fa.position(), model_position(&at_a, &frac_a));
        prop_assert_eq!(fb.position(), model_position(&at_b, &frac_b));
        let time = |at: &NaiveDateTime, f: &str| (at.and_utc().timestamp(), format!("{f:0<8}"));
        prop_assert_eq!(
            fa.position().cmp(&fb.position()),
            time(&at_a, &frac_a).cmp(&time(&at_b, &frac_b))
        );
        // DMS writes one fraction width: then name order is DMS order.
        if frac_a.len() == frac_b.len() {
            prop_assert_eq!(fa.name[..fa.name.len() - 4].cmp(&fb.name[..fb.name.len() - 8]), fa.position().cmp(&fb.position()));
        }
        let load = data(&format!("dms/public/orders/LOAD{n:08X}.csv"));
        prop_assert!(load.position() < fa.position());
        // Nine fraction digits would make positions collide: refused.
        let nine = format!("{}123456789", at_a.format("%Y%m%d-%H%M%S"));
        prop_assert!(cdc_position(&nine).is_err());
    }

    #[test]
    fn key_columns_round_trip(
        tables in proptest::collection::btree_map(
            (name_segment(), name_segment()).prop_map(|(s, t)| format!("{s}.{t}")),
            proptest::collection::btree_set(name_segment(), 1..4),
            1..5,
        ),
        spaces in any::<bool>(),
    ) {
        let tables: BTreeMap<String, Vec<String>> = tables
            .into_iter()
            .map(|(t, cols)| (t, cols.into_iter().collect()))
            .collect();
        let sep = if spaces { " ; " } else { ";" };
        let spec = tables
            .iter()
            .map(|(t, cols)| format!("{t}={}", cols.join(if spaces { " , " } else { "," })))
            .collect::<Vec<_>>()
            .join(sep);
        let parsed = KeyColumns::parse(&spec).map_err(|e| TestCaseError::fail(format!("{spec}: {e}")))?;
        for (t, cols) in &tables {
            prop_assert_eq!(parsed.get(t), Some(cols.as_slice()));
        }
        prop_assert_eq!(parsed.tables().count(), tables.len());
        prop_assert_eq!(parsed.get("nope.nope"), None);
    }

    #[test]
    fn arbitrary_key_column_specs_never_panic(
        spec in prop_oneof![
            ".{0,60}",
            proptest::collection::vec(prop_oneof![Just("a"), Just("."), Just("="), Just(","), Just(";"), Just(" "), Just("public.orders=id")], 0..12)
                .prop_map(|v| v.concat()),
        ],
    ) {
        if let Ok(k) = KeyColumns::parse(&spec) {
            for t in k.tables() {
                let cols = k.get(t).expect("listed table");
                prop_assert!(!cols.is_empty());
                prop_assert!(cols.iter().all(|c| !c.is_empty()));
                prop_assert_eq!(t.matches('.').count(), 1);
            }
        }
    }

    #[test]
    fn table_definitions_parse_what_dms_writes(
        tables in proptest::collection::vec(
            (name_segment(), name_segment(), proptest::collection::vec(
                (name_segment(), prop_oneof![Just("INT4"), Just("INT8"), Just("STRING"), Just("NUMERIC"), Just("BOOLEAN"), Just("DATE"), Just("DATETIME"), Just("REAL8"), Just("WEIRD")], proptest::option::of(0u32..40), any::<bool>()),
                1..6,
            )),
            1..4,
        ),
        count_as_text in any::<bool>(),
    ) {
        let doc = json!({
            "TableCount": if count_as_text { json!(tables.len().to_string()) } else { json!(tables.len()) },
            "Tables": tables.iter().map(|(owner, name, cols)| json!({
                "TableName": name, "TableOwner": owner, "TablePath": format!("{owner}/{name}/"),
                "TableColumns": cols.iter().map(|(c, ty, p, text)| {
                    let p = p.map(|p| if *text { json!(p.to_string()) } else { json!(p) });
                    json!({"ColumnName": c, "ColumnType": ty, "ColumnPrecision": p, "ColumnScale": "2", "ColumnNullable": "true"})
                }).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        let defs = TableDefinitions::parse(&doc.to_string()).map_err(|e| TestCaseError::fail(format!("{doc}: {e}")))?;
        for (owner, name, _) in &tables {
            let def = defs.get(owner, name).expect("defined table");
            // The first definition of a (owner, name) wins.
            let first = tables.iter().find(|(o, n, _)| o == owner && n == name).expect("present");
            let want: Vec<&String> = first.2.iter().map(|(c, ..)| c).collect();
            let got: Vec<&String> = def.table_columns.iter().map(|c| &c.column_name).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(def.fields().len(), first.2.len());
        }
        // A wrong TableCount is refused.
        let mut wrong = doc.clone();
        wrong["TableCount"] = json!(tables.len() + 1);
        prop_assert!(TableDefinitions::parse(&wrong.to_string()).is_err());
    }

    #[test]
    fn arbitrary_table_definition_json_never_panics(
        doc in prop_oneof![
            ".{0,80}",
            (proptest::option::of(any::<i64>()), proptest::collection::vec(
                (proptest::option::of(".{0,6}"), proptest::collection::vec((".{0,6}", ".{0,8}", proptest::option::of(any::<i64>())), 0..3)), 0..3))
                .prop_map(|(count, tables)| json!({
                    "TableCount": count,
                    "Tables": tables.iter().map(|(n, cols)| json!({
                        "TableName": n, "TableOwner": "o",
                        "TableColumns": cols.iter().map(|(c, t, p)| json!({"ColumnName": c, "ColumnType": t, "ColumnPrecision": p, "ColumnScale": p})).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                }).to_string()),
        ],
    ) {
        if let Ok(defs) = TableDefinitions::parse(&doc) {
            for t in &defs.tables {
                // Typing every column never panics either.
                let _ = t.schema();
                let _ = t.primary_key();
            }
        }
    }
}

const DEFINITION: &str = r#"{"TableCount": "1", "Tables": [{
    "TableName": "orders", "TableOwner": "public",
    "TableColumns": [
        {"ColumnName": "id", "ColumnType": "INT8"},
        {"ColumnName": "name", "ColumnType": "STRING"},
        {"ColumnName": "qty", "ColumnType": "INT4"},
        {"ColumnName": "amount", "ColumnType": "NUMERIC", "ColumnPrecision": "10", "ColumnScale": "2"},
        {"ColumnName": "at", "ColumnType": "DATETIME"}
    ]}]}"#;

/// Bytes that look a little like DMS CSV.
fn csv_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec(
            prop_oneof![
                Just(b"I,".to_vec()),
                Just(b"U,".to_vec()),
                Just(b"D,".to_vec()),
                Just(b"X,".to_vec()),
                Just(b"\"".to_vec()),
                Just(b"\"\"".to_vec()),
                Just(b",".to_vec()),
                Just(b"\n".to_vec()),
                Just(b"\r\n".to_vec()),
                Just(b"1".to_vec()),
                Just(b"-99999999999999999999".to_vec()),
                Just(b"12.345".to_vec()),
                Just(b"2026-11-21 10:00:00.123456".to_vec()),
                Just(b"id,name,qty,amount,at,Op\n".to_vec()),
                Just(vec![0xff, 0xfe, 0xc0]),
                Just(b"\0".to_vec()),
            ],
            0..40,
        )
        .prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn csv_of_arbitrary_bytes_never_panics(
        bytes in csv_bytes(),
        header in any::<bool>(),
        with_definition in any::<bool>(),
        timestamp in proptest::option::of(prop_oneof![Just("at"), Just("updated_at")]),
        null_value in prop_oneof![Just(""), Just("NULL"), Just("\\N")],
    ) {
        let defs = TableDefinitions::parse(DEFINITION).expect("definition");
        let csv = CsvOptions { header, delimiter: b',', null_value: null_value.to_string() };
        let layout = Layout {
            csv: &csv,
            definition: with_definition.then(|| defs.get("public", "orders").expect("orders")),
            timestamp_column: timestamp,
        };
        let file = data("dms/public/orders/20261121-100000000.csv");
        if let Ok(d) = decode(&file, Bytes::from(bytes), layout) {
            prop_assert_eq!(d.ops.len(), d.batch.num_rows());
            prop_assert!(d.batch.column_by_name("Op").is_none());
            // Reducing what decoded never panics either.
            let _ = latest_per_key(&[(&file, &d)], &["id".to_string()], timestamp);
        }
    }

    #[test]
    fn parquet_of_arbitrary_bytes_never_panics(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            (proptest::collection::vec(any::<u8>(), 0..100), any::<u32>()).prop_map(|(mut v, len)| {
                let mut out = b"PAR1".to_vec();
                out.append(&mut v);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(b"PAR1");
                out
            }),
        ],
    ) {
        let csv = CsvOptions::default();
        let layout = Layout { csv: &csv, definition: None, timestamp_column: None };
        let file = data("dms/public/orders/LOAD00000001.parquet");
        prop_assert!(decode(&file, Bytes::from(bytes), layout).is_err());
    }

    #[test]
    fn valid_csv_rows_decode_with_their_ops(
        rows in proptest::collection::vec((prop_oneof![Just("I"), Just("U"), Just("D")], any::<i64>(), ".{0,10}".prop_filter("not the null text", |s| s != "NULL"), proptest::option::of(any::<i32>())), 1..20),
    ) {
        let defs = TableDefinitions::parse(DEFINITION).expect("definition");
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let text: String = rows
            .iter()
            .map(|(op, id, name, qty)| format!("{op},{id},{},{},1.25,2026-11-21 10:00:00\n", quote(name), qty.map(|q| q.to_string()).unwrap_or_else(|| "NULL".into())))
            .collect();
        let csv = CsvOptions { null_value: "NULL".into(), ..CsvOptions::default() };
        let layout = Layout { csv: &csv, definition: defs.get("public", "orders"), timestamp_column: None };
        let file = data("dms/public/orders/20261121-100000000.csv");
        let d = decode(&file, Bytes::from(text.clone()), layout).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert!(d.has_op);
        let want: Vec<Op> = rows.iter().map(|(op, ..)| Op::parse(op).expect("op")).collect();
        prop_assert_eq!(&d.ops, &want);
        let ids = d.batch.column_by_name("id").expect("id").as_primitive::<Int64Type>();
        prop_assert_eq!(ids.values().to_vec(), rows.iter().map(|r| r.1).collect::<Vec<_>>());
        let names = d.batch.column_by_name("name").expect("name").as_string::<i32>();
        let qty = d.batch.column_by_name("qty").expect("qty").as_primitive::<arrow::datatypes::Int32Type>();
        for (i, r) in rows.iter().enumerate() {
            prop_assert_eq!(names.value(i), r.2.as_str());
            prop_assert_eq!(qty.is_valid(i).then(|| qty.value(i)), r.3);
        }
    }
}

/// One generated change: op, key, timestamp (micros), value.
type Change = (Op, i64, i64, i64);

fn change() -> impl Strategy<Value = Change> {
    (
        prop_oneof![Just(Op::Insert), Just(Op::Update), Just(Op::Delete)],
        0i64..12,
        0i64..6,
        any::<i64>(),
    )
}

fn ts_text(micros: i64) -> String {
    let base = NaiveDate::from_ymd_opt(2026, 11, 21)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("date");
    (base + chrono::Duration::microseconds(micros))
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

fn decoded(changes: &[Change]) -> DecodedFile {
    let schema = Arc::new(Schema::new(vec![
        Field::new("ts", DataType::Utf8, true),
        Field::new("id", DataType::Int64, false),
        Field::new("v", DataType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(
                changes.iter().map(|c| ts_text(c.2)),
            )),
            Arc::new(Int64Array::from_iter_values(changes.iter().map(|c| c.1))),
            Arc::new(Int64Array::from_iter_values(changes.iter().map(|c| c.3))),
        ],
    )
    .expect("batch");
    DecodedFile {
        batch,
        ops: changes.iter().map(|c| c.0).collect(),
        has_op: true,
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// The reduction agrees with a replay: changes sorted by (timestamp if
    /// configured, file, row), each one overwriting its key's entry.
    #[test]
    fn last_change_per_key_agrees_with_a_replay(
        files in proptest::collection::vec(proptest::collection::vec(change(), 0..25), 1..5),
        use_timestamp in any::<bool>(),
    ) {
        let names: Vec<DmsFile> = (0..files.len())
            .map(|i| data(&format!("dms/public/t/20261121-1000{i:02}000.csv")))
            .collect();
        let decoded: Vec<DecodedFile> = files.iter().map(|f| decoded(f)).collect();
        let input: Vec<(&DmsFile, &DecodedFile)> = names.iter().zip(&decoded).collect();
        let timestamp = use_timestamp.then_some("ts");
        let reduced = latest_per_key(&input, &["id".to_string()], timestamp)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;

        // The model.
        let mut all: Vec<((i64, usize, usize), Change)> = Vec::new();
        for (fi, f) in files.iter().enumerate() {
            for (row, c) in f.iter().enumerate() {
                let t = if use_timestamp { c.2 } else { 0 };
                all.push(((t, fi, row), *c));
            }
        }
        all.sort_by_key(|(k, _)| *k);
        let mut model: BTreeMap<i64, (bool, i64, String)> = BTreeMap::new();
        for (_, (op, id, t, v)) in &all {
            model.insert(*id, (*op == Op::Delete, *v, ts_text(*t)));
        }

        prop_assert_eq!(reduced.changes, all.len());
        let b = &reduced.batch;
        prop_assert_eq!(b.num_rows(), model.len());
        prop_assert_eq!(reduced.deleted.len(), model.len());
        let ids = b.column_by_name("id").expect("id").as_primitive::<Int64Type>();
        let vs = b.column_by_name("v").expect("v").as_primitive::<Int64Type>();
        let ts = b.column_by_name("ts").expect("ts").as_string::<i32>();
        let mut got = BTreeMap::new();
        for i in 0..b.num_rows() {
            let previous = got.insert(ids.value(i), (reduced.deleted.value(i), vs.value(i), ts.value(i).to_string()));
            prop_assert!(previous.is_none(), "key {} twice", ids.value(i));
        }
        prop_assert_eq!(got, model);
    }
}

/// A fixed case of the model test that a broken order would fail: within
/// one timestamp, the later file wins; an earlier timestamp in a later file
/// loses.
#[test]
fn timestamp_then_file_then_row_decides() {
    let a = data("dms/public/t/20261121-100000000.csv");
    let b = data("dms/public/t/20261121-100100000.csv");
    let fa = decoded(&[(Op::Insert, 1, 5, 10), (Op::Update, 2, 1, 20)]);
    let fb = decoded(&[(Op::Update, 1, 5, 11), (Op::Delete, 2, 0, 0)]);
    let r =
        latest_per_key(&[(&a, &fa), (&b, &fb)], &["id".to_string()], Some("ts")).expect("reduce");
    let ids = r
        .batch
        .column_by_name("id")
        .expect("id")
        .as_primitive::<Int64Type>();
    let vs = r
        .batch
        .column_by_name("v")
        .expect("v")
        .as_primitive::<Int64Type>();
    let got: BTreeMap<i64, (bool, i64)> = (0..r.batch.num_rows())
        .map(|i| (ids.value(i), (r.deleted.value(i), vs.value(i))))
        .collect();
    assert_eq!(got, BTreeMap::from([(1, (false, 11)), (2, (false, 20))]));
}
