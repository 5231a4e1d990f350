//! DMS-shaped test data, shared by the dms-merge scenarios
//! (`tests/dms_merge.rs`, `tests/reliability.rs`): a source table
//! `public.orders`, its full load and CDC files (CSV or Parquet, as DMS
//! writes them), the source state computed independently by replaying the
//! changes, and the comparison of a Delta table read back with it.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use serde_json::{json, Value};

use crate::delta_reader::TableContents;

/// A row of the source table `public.orders`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    pub id: i64,
    pub name: String,
    pub qty: Option<i32>,
    /// Hundredths (NUMERIC(10,2)).
    pub cents: i64,
    /// The DMS timestamp column: transfer time (full load) or commit time.
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    I,
    U,
    D,
}

/// One CDC file: its name and its changes, in the source's commit order.
pub struct CdcFile {
    pub name: String,
    pub changes: Vec<(Op, Row)>,
}

/// A small deterministic generator.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

pub fn ts(micros: u64) -> String {
    // 2026-11-21 10:00:00 plus `micros`.
    let secs = micros / 1_000_000;
    format!(
        "2026-11-21 10:{:02}:{:02}.{:06}",
        secs / 60,
        secs % 60,
        micros % 1_000_000
    )
}

pub fn row(id: i64, version: u32, at: &str) -> Row {
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
pub fn scenario() -> (Vec<Row>, Vec<CdcFile>) {
    scenario_with(1000, 3, 150)
}

/// A scenario of `load_rows` full-load rows (ids 1..=load_rows) and `files`
/// CDC files (at most 58, one a minute from 10:01) of `changes` changes
/// each, plus the fixed ones at the end of each file.
pub fn scenario_with(load_rows: i64, files: usize, changes: u32) -> (Vec<Row>, Vec<CdcFile>) {
    assert!((1..=58).contains(&files), "1 to 58 CDC files");
    let load_at = "2026-11-21 09:00:00.000000";
    let load: Vec<Row> = (1..=load_rows).map(|id| row(id, 0, load_at)).collect();
    let mut live: BTreeMap<i64, Row> = load.iter().map(|r| (r.id, r.clone())).collect();
    let mut rng = Lcg(12);
    let mut clock = 0u64;
    let mut next_id = load_rows + 1;
    let names: Vec<String> = (1..=files)
        .map(|m| format!("20261121-10{m:02}00000"))
        .collect();
    let per_file = changes;
    let mut files = Vec::new();
    for (f, name) in names.iter().enumerate() {
        let mut changes = Vec::new();
        for c in 0..per_file {
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
                    let gone = (1..=load_rows).find(|i| !live.contains_key(i) && rng.next(4) == 0);
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
pub fn source_state(load: &[Row], cdc: &[CdcFile], files: usize) -> BTreeMap<i64, Row> {
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

pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn cents_text(c: i64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

/// A headerless DMS CSV line: `[Op,]updated_at,id,name,qty,amount`.
pub fn csv_line(op: Option<Op>, r: &Row) -> String {
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

pub fn csv_file(ops: Option<&[Op]>, rows: &[Row]) -> Vec<u8> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| csv_line(ops.map(|o| o[i]), r))
        .collect::<String>()
        .into_bytes()
}

/// A DMS Parquet file: `[Op,]updated_at,id,name,qty,amount`.
pub fn parquet_file(ops: Option<&[Op]>, rows: &[Row]) -> Vec<u8> {
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

pub const DEFINITION: &str = r#"{"TableCount": "1", "Tables": [{
    "TableName": "orders", "TablePath": "public/orders/", "TableOwner": "public",
    "TableColumns": [
        {"ColumnName": "id", "ColumnType": "INT8", "ColumnNullable": "false", "ColumnIsPk": "true"},
        {"ColumnName": "name", "ColumnType": "STRING", "ColumnLength": "100"},
        {"ColumnName": "qty", "ColumnType": "INT4"},
        {"ColumnName": "amount", "ColumnType": "NUMERIC", "ColumnPrecision": "10", "ColumnScale": "2"}
    ],
    "TableColumnsTotal": "4"}]}"#;

/// The table's rows as source rows, by id.
pub fn table_rows(t: &TableContents) -> BTreeMap<i64, Row> {
    t.rows.iter().map(|r| (row_of(r).id, row_of(r))).collect()
}

/// One row as read back, as a source row.
pub fn row_of(r: &Value) -> Row {
    let id = r["id"].as_i64().unwrap_or_else(|| panic!("id in {r}"));
    let amount = match &r["amount"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let cents = (amount.parse::<f64>().expect("amount") * 100.0).round() as i64;
    Row {
        id,
        name: r["name"].as_str().unwrap_or("<null>").to_string(),
        qty: r["qty"].as_i64().map(|q| q as i32),
        cents,
        updated_at: r["updated_at"].as_str().unwrap_or("<null>").to_string(),
    }
}

pub fn assert_same(t: &TableContents, expected: &BTreeMap<i64, Row>, what: &str) {
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
pub fn notification(bucket: &str, key: &str) -> String {
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

/// A larger, regular workload (the bench): a full load of ids
/// `1..=load_rows`, then `files` CDC files of `changes` changes each, one
/// minute apart (names `20261121-1HMM00000`), every change at its own
/// timestamp: 60% updates of live keys, 20% deletes, 20% inserts of new keys.
pub fn workload(load_rows: usize, files: usize, changes: usize) -> (Vec<Row>, Vec<CdcFile>) {
    let load_at = "2026-11-21 09:00:00.000000";
    let load: Vec<Row> = (1..=load_rows as i64)
        .map(|id| row(id, 0, load_at))
        .collect();
    let mut live: Vec<i64> = load.iter().map(|r| r.id).collect();
    let mut rng = Lcg(7);
    let mut next_id = load_rows as i64;
    let mut cdc = Vec::new();
    for f in 0..files {
        let minute = f as u64 + 1;
        let name = format!("20261121-{:02}{:02}00000", 10 + minute / 60, minute % 60);
        let mut out = Vec::with_capacity(changes);
        for c in 0..changes {
            let at = ts(f as u64 * 60_000_000 + c as u64);
            let version = (f * changes + c + 1) as u32;
            let kind = rng.next(10);
            if kind < 6 && !live.is_empty() {
                let id = live[rng.next(live.len() as u64) as usize];
                out.push((Op::U, row(id, version, &at)));
            } else if kind < 8 && !live.is_empty() {
                let id = live.swap_remove(rng.next(live.len() as u64) as usize);
                out.push((Op::D, row(id, version, &at)));
            } else {
                next_id += 1;
                live.push(next_id);
                out.push((Op::I, row(next_id, version, &at)));
            }
        }
        cdc.push(CdcFile { name, changes: out });
    }
    (load, cdc)
}
