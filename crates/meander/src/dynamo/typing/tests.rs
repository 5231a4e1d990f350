use super::*;
use crate::dynamo::attr::decode_item;
use crate::dynamo::changes::{changelog_columns, mirror_columns};
use serde_json::{json, Value};

fn item(v: Value) -> Item {
    decode_item(&v, "").expect("item")
}

fn opts() -> TypingOptions {
    TypingOptions::default()
}

fn native() -> TypingOptions {
    TypingOptions {
        nested: Nested::Native,
        ..Default::default()
    }
}

/// Convert items with no metadata columns.
fn run(base: Option<&StructType>, items: &[Item], options: &TypingOptions) -> Converted {
    let rows: Vec<RowIn> = items
        .iter()
        .map(|item| RowIn {
            meta: Vec::new(),
            item,
        })
        .collect();
    convert(base, &[], &[], &rows, options).expect("convert")
}

fn field_type(c: &Converted, name: &str) -> String {
    c.schema
        .field(name)
        .map(|f| f.data_type().to_string())
        .unwrap_or_else(|| panic!("no column {name} in {:?}", c.schema))
}

/// The batch as JSON rows (arrow's writer: nulls left out).
fn rows_json(c: &Converted) -> Vec<Value> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::ArrayWriter::new(&mut buf);
        w.write(&c.batch).expect("json");
        w.finish().expect("json");
    }
    if buf.is_empty() {
        return Vec::new();
    }
    serde_json::from_slice(&buf).expect("json rows")
}

fn rescued(c: &Converted, row: usize) -> Option<Value> {
    let col = c.batch.column_by_name(RESCUED_COLUMN)?;
    let s = col.as_any().downcast_ref::<StringArray>()?;
    if s.is_null(row) {
        return None;
    }
    serde_json::from_str(s.value(row)).ok()
}

#[test]
fn every_scalar_type() {
    let c = run(
        None,
        &[item(json!({
            "s": {"S": "héllo"},
            "n": {"N": "42"},
            "b": {"B": "AAEC/w=="},
            "t": {"BOOL": true},
            "z": {"NULL": true},
        }))],
        &opts(),
    );
    assert_eq!(field_type(&c, "s"), "string");
    assert_eq!(field_type(&c, "n"), "long");
    assert_eq!(field_type(&c, "b"), "binary");
    assert_eq!(field_type(&c, "t"), "boolean");
    assert!(
        c.schema.field("z").is_none(),
        "only-NULL attributes make no column"
    );
    assert!(c.evolved);
    assert!(c.rescued.is_empty());
    let b = c
        .batch
        .column_by_name("b")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::BinaryArray>()
        .unwrap()
        .value(0)
        .to_vec();
    assert_eq!(b, vec![0, 1, 2, 255]);
    let rows = rows_json(&c);
    assert_eq!(rows[0]["s"], "héllo");
    assert_eq!(rows[0]["n"], 42);
    assert_eq!(rows[0]["t"], true);
}

#[test]
fn numbers_follow_the_documented_rule() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["1", "-9223372036854775808", "9223372036854775807"],
            "long",
        ),
        (vec!["1", "9223372036854775808"], "decimal(38,0)"),
        (
            vec!["99999999999999999999999999999999999999", "1"],
            "decimal(38,0)",
        ),
        (vec!["1", "2.5", "-0.000000000000000001"], "decimal(38,18)"),
        (
            vec!["12345678901234567890.123456789012345678"],
            "decimal(38,18)",
        ),
        (vec!["1234567890123456789012345.5"], "decimal(38,1)"),
        (
            vec!["0.0000000000000000000000000000000000001"],
            "decimal(38,37)",
        ),
        (vec!["1e100", "1.5e-130"], "double"),
        (vec!["1.5", "1e100"], "double"),
    ];
    for (values, expected) in cases {
        let items: Vec<Item> = values
            .iter()
            .map(|v| item(json!({"x": {"N": v}})))
            .collect();
        let c = run(None, &items, &opts());
        assert_eq!(field_type(&c, "x"), expected, "{values:?}");
        assert!(c.rescued.is_empty(), "{values:?}: {:?}", c.rescued);
    }
}

#[test]
fn thirty_eight_digits_are_kept_exactly() {
    let max = "99999999999999999999999999999999999999";
    let frac = "1234567890123456789.0123456789012345678";
    let c = run(
        None,
        &[item(json!({"a": {"N": max}, "b": {"N": frac}}))],
        &opts(),
    );
    assert_eq!(field_type(&c, "a"), "decimal(38,0)");
    let a = c
        .batch
        .column_by_name("a")
        .unwrap()
        .as_any()
        .downcast_ref::<Decimal128Array>()
        .unwrap()
        .value_as_string(0);
    assert_eq!(a, max);
    // 19 integer digits + 19 fraction digits: scale 19 (18 would lose one).
    assert_eq!(field_type(&c, "b"), "decimal(38,19)");
    let b = c
        .batch
        .column_by_name("b")
        .unwrap()
        .as_any()
        .downcast_ref::<Decimal128Array>()
        .unwrap()
        .value_as_string(0);
    assert_eq!(b, frac);
}

#[test]
fn numbers_no_type_can_hold_are_rescued_not_rounded() {
    // 20 significant digits with a huge exponent: not a decimal(38,s), not
    // exact as a double.
    let n = "1.2345678901234567891e60";
    let c = run(
        None,
        &[item(json!({"pk": {"S": "k"}, "x": {"N": n}}))],
        &opts(),
    );
    assert!(c.schema.field("x").is_none());
    assert_eq!(c.rescued.get("x"), Some(&1));
    assert_eq!(
        rescued(&c, 0),
        Some(json!({"x": {"N": "1234567890123456789100000000000000000000000000000000000000000"}}))
    );
    assert_eq!(field_type(&c, RESCUED_COLUMN), "string");
}

#[test]
fn existing_numeric_columns_take_only_what_they_hold_exactly() {
    let base = run(
        None,
        &[item(
            json!({"l": {"N": "1"}, "d": {"N": "1.5"}, "f": {"N": "1e100"}}),
        )],
        &opts(),
    );
    assert_eq!(field_type(&base, "l"), "long");
    assert_eq!(field_type(&base, "d"), "decimal(38,18)");
    assert_eq!(field_type(&base, "f"), "double");
    let c = run(
        Some(&base.schema),
        &[
            item(json!({"l": {"N": "2"}, "d": {"N": "123"}, "f": {"N": "0.5"}})),
            item(
                json!({"l": {"N": "2.5"}, "d": {"N": "0.0000000000000000001"}, "f": {"N": "9007199254740993"}}),
            ),
        ],
        &opts(),
    );
    let rows = rows_json(&c);
    assert_eq!(rows[0]["l"], 2);
    assert!(rows[1].get("l").is_none() && rows[1].get("d").is_none() && rows[1].get("f").is_none());
    assert_eq!(
        rescued(&c, 1),
        Some(json!({
            "d": {"N": "0.0000000000000000001"},
            "f": {"N": "9007199254740993"},
            "l": {"N": "2.5"},
        }))
    );
    assert_eq!(rescued(&c, 0), None);
    // `_rescued` arrives as a new column: the schema evolved; values that
    // fit change nothing.
    assert!(c.evolved);
    assert!(
        !run(
            Some(&base.schema),
            &[item(json!({"l": {"N": "3"}}))],
            &opts()
        )
        .evolved
    );
}

#[test]
fn sets_are_typed_lists_including_empty_and_binary_sets() {
    let c = run(
        None,
        &[
            item(json!({
                "ss": {"SS": ["a", "b"]},
                "ns": {"NS": ["1", "2.5"]},
                "bs": {"BS": ["AA==", "AQI="]},
                "es": {"SS": []},
                "en": {"NS": []},
                "eb": {"BS": []},
            })),
            item(json!({"ss": {"SS": []}, "bs": {"BS": []}})),
        ],
        &opts(),
    );
    assert_eq!(field_type(&c, "ss"), "array<string>");
    assert_eq!(field_type(&c, "ns"), "array<decimal(38,18)>");
    assert_eq!(field_type(&c, "bs"), "array<binary>");
    assert_eq!(field_type(&c, "es"), "array<string>");
    assert_eq!(field_type(&c, "en"), "array<long>");
    assert_eq!(field_type(&c, "eb"), "array<binary>");
    assert!(c.rescued.is_empty());
    let bs = c
        .batch
        .column_by_name("bs")
        .unwrap()
        .as_any()
        .downcast_ref::<ListArray>()
        .unwrap()
        .clone();
    assert_eq!(bs.value_length(0), 2);
    assert_eq!(bs.value_length(1), 0);
    assert!(bs.is_valid(1), "an empty set is an empty list, not null");
    let first = bs.value(0);
    let first = first
        .as_any()
        .downcast_ref::<arrow::array::BinaryArray>()
        .unwrap();
    assert_eq!(first.value(1), &[1u8, 2]);
    let rows = rows_json(&c);
    assert_eq!(rows[0]["ss"], json!(["a", "b"]));
    assert_eq!(rows[1]["ss"], json!([]));
}

#[test]
fn maps_and_lists_as_json_by_default() {
    let c = run(
        None,
        &[item(json!({
            "m": {"M": {"b": {"N": "1.50"}, "a": {"L": [{"S": "x"}, {"NULL": true}, {"B": "AQ=="}]}}},
            "l": {"L": [{"N": "1"}, {"S": "two"}, {"SS": ["c"]}]},
        }))],
        &opts(),
    );
    assert_eq!(field_type(&c, "m"), "string");
    assert_eq!(
        c.schema.field("m").unwrap().metadata().get(TYPE_TAG_KEY),
        Some(&MetadataValue::String(JSON_TAG.into()))
    );
    let rows = rows_json(&c);
    assert_eq!(rows[0]["m"], r#"{"a":["x",null,"AQ=="],"b":1.5}"#);
    assert_eq!(rows[0]["l"], r#"[1,"two",["c"]]"#);
    // A plain string never lands in a JSON column, and a map never in a
    // plain string column.
    let next = run(
        Some(&c.schema),
        &[
            item(json!({"m": {"S": "{}"}, "s": {"S": "x"}})),
            item(json!({"s": {"M": {}}})),
        ],
        &opts(),
    );
    assert_eq!(rescued(&next, 0), Some(json!({"m": {"S": "{}"}})));
    assert_eq!(rescued(&next, 1), Some(json!({"s": {"M": {}}})));
}

#[test]
fn deep_maps_native_become_nested_structs() {
    fn nest(levels: usize) -> Value {
        let mut v = json!({"N": "7"});
        for i in 0..levels {
            v = json!({"M": {format!("k{i}"): v, "tag": {"S": format!("level {i}")}}});
        }
        v
    }
    let c = run(None, &[item(json!({"deep": nest(30)}))], &native());
    let t = field_type(&c, "deep");
    assert_eq!(t.matches("struct<").count(), 30, "{t}");
    assert!(c.rescued.is_empty());
    let rows = rows_json(&c);
    let mut v = &rows[0]["deep"];
    for i in (1..30).rev() {
        assert_eq!(v["tag"], format!("level {i}"));
        v = &v[format!("k{i}")];
    }
    assert_eq!(v["k0"], 7);
    // The same item as JSON text.
    let c = run(None, &[item(json!({"deep": nest(30)}))], &opts());
    let rows = rows_json(&c);
    assert!(rows[0]["deep"]
        .as_str()
        .unwrap()
        .starts_with(r#"{"k29":{"k28":"#));
}

#[test]
fn native_structs_grow_and_lists_must_agree() {
    let c = run(
        None,
        &[
            item(json!({"m": {"M": {"a": {"N": "1"}, "l": {"L": [{"S": "x"}]}}}})),
            item(json!({"m": {"M": {"b": {"BOOL": true}, "l": {"L": []}}}})),
            item(json!({"m": {"M": {"a": {"S": "oops"}}}})),
            item(json!({"m": {"M": {"A": {"N": "2"}}}})),
            item(json!({"l": {"L": [{"N": "1"}, {"S": "x"}]}})),
        ],
        &native(),
    );
    assert_eq!(
        field_type(&c, "m"),
        "struct<a: long, l: array<string>, b: boolean>"
    );
    assert!(c.schema.field("l").is_none(), "a mixed list is rescued");
    assert_eq!(
        rescued(&c, 2),
        Some(json!({"m": {"M": {"a": {"S": "oops"}}}}))
    );
    assert_eq!(rescued(&c, 3), Some(json!({"m": {"M": {"A": {"N": "2"}}}})));
    assert_eq!(
        rescued(&c, 4),
        Some(json!({"l": {"L": [{"N": "1"}, {"S": "x"}]}}))
    );
    let rows = rows_json(&c);
    assert_eq!(rows[1]["m"], json!({"b": true, "l": []}));

    // A later batch adds a field to the existing struct.
    let next = run(
        Some(&c.schema),
        &[item(json!({"m": {"M": {"c": {"SS": ["z"]}}}}))],
        &native(),
    );
    assert!(next.evolved);
    assert_eq!(
        field_type(&next, "m"),
        "struct<a: long, l: array<string>, b: boolean, c: array<string>>"
    );
}

#[test]
fn empty_native_maps_and_lists_without_a_type_are_rescued() {
    let c = run(
        None,
        &[item(
            json!({"pk": {"S": "a"}, "m": {"M": {}}, "l": {"L": []}}),
        )],
        &native(),
    );
    assert!(c.schema.field("m").is_none() && c.schema.field("l").is_none());
    assert_eq!(
        rescued(&c, 0),
        Some(json!({"l": {"L": []}, "m": {"M": {}}}))
    );
    // Once the column exists, an empty list is an empty list.
    let typed = run(
        None,
        &[
            item(json!({"l": {"L": [{"N": "1"}]}})),
            item(json!({"l": {"L": []}})),
        ],
        &native(),
    );
    assert_eq!(rows_json(&typed)[1]["l"], json!([]));
}

#[test]
fn other_types_case_variants_and_reserved_names_are_rescued() {
    let base = run(
        None,
        &[item(json!({"name": {"S": "a"}, "flag": {"BOOL": true}}))],
        &opts(),
    );
    let c = run(
        Some(&base.schema),
        &[item(json!({
            "name": {"N": "5"},
            "Name": {"S": "b"},
            "flag": {"S": "yes"},
            "_rescued": {"S": "mine"},
            "new": {"S": "fine"},
        }))],
        &opts(),
    );
    assert_eq!(
        rescued(&c, 0),
        Some(json!({
            "Name": {"S": "b"},
            "_rescued": {"S": "mine"},
            "flag": {"S": "yes"},
            "name": {"N": "5"},
        }))
    );
    assert_eq!(rows_json(&c)[0]["new"], "fine");
    let names: Vec<&str> = c.schema.fields().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["flag", "name", "new", RESCUED_COLUMN]);
}

#[test]
fn names_parquet_refuses_are_rescued() {
    let c = run(
        None,
        &[item(json!({
            "ok.name": {"S": "a"},
            "first name": {"S": "b"},
            "a=b": {"N": "1"},
            "m": {"M": {"x;y": {"S": "c"}}},
        }))],
        &native(),
    );
    let names: Vec<&str> = c.schema.fields().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["ok.name", RESCUED_COLUMN]);
    assert_eq!(
        rescued(&c, 0),
        Some(json!({
            "a=b": {"N": "1"},
            "first name": {"S": "b"},
            "m": {"M": {"x;y": {"S": "c"}}},
        }))
    );
}

#[test]
fn metadata_columns_come_first_and_keys_next() {
    let it = item(
        json!({"zeta": {"S": "z"}, "pk": {"S": "a"}, "alpha": {"N": "1"}, "_seq": {"S": "mine"}}),
    );
    let rows = vec![RowIn {
        meta: vec![
            Cell::Str("INSERT".into()),
            Cell::Str("0001".into()),
            Cell::Timestamp(5),
            Cell::Null,
        ],
        item: &it,
    }];
    let c = convert(
        None,
        &changelog_columns(),
        &["pk".to_string()],
        &rows,
        &opts(),
    )
    .unwrap();
    let names: Vec<&str> = c.schema.fields().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "_op",
            "_seq",
            "_ts",
            "_event_id",
            "pk",
            "alpha",
            "zeta",
            RESCUED_COLUMN
        ]
    );
    let row = &rows_json(&c)[0];
    assert_eq!(row["_seq"], "0001");
    assert_eq!(row["_op"], "INSERT");
    assert_eq!(rescued(&c, 0), Some(json!({"_seq": {"S": "mine"}})));
    // A table whose `_seq` is not a string is not ours to write.
    let wrong = StructType::try_new(vec![StructField::nullable("_seq", DataType::LONG)]).unwrap();
    let err = convert(Some(&wrong), &mirror_columns(), &[], &rows, &opts()).unwrap_err();
    assert!(err.to_string().contains("_seq"), "{err}");
}

#[test]
fn timestamp_columns_take_iso_strings_and_epochs() {
    let options = TypingOptions {
        timestamp_columns: ["at".to_string()].into(),
        ..Default::default()
    };
    let items: Vec<Item> = [
        json!({"S": "2026-11-21T06:02:30.671371Z"}),
        json!({"S": "2026-11-21T07:02:30+01:00"}),
        json!({"S": "2026-11-21 06:02:30"}),
        json!({"S": "2026-11-21"}),
        json!({"N": "1795240950"}),
        json!({"N": "1795240950.5"}),
        json!({"N": "1795240950678"}),
        json!({"N": "1795240950678123"}),
        json!({"N": "1795240950678123456"}),
        json!({"S": "yesterday"}),
        json!({"BOOL": true}),
    ]
    .into_iter()
    .map(|v| item(json!({"at": v})))
    .collect();
    let c = run(None, &items, &options);
    assert_eq!(field_type(&c, "at"), "timestamp");
    let at = c
        .batch
        .column_by_name("at")
        .unwrap()
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .unwrap()
        .clone();
    let values: Vec<Option<i64>> = (0..at.len())
        .map(|i| at.is_valid(i).then(|| at.value(i)))
        .collect();
    assert_eq!(
        values,
        [
            Some(1_795_240_950_671_371),
            Some(1_795_240_950_000_000),
            Some(1_795_240_950_000_000),
            Some(1_795_219_200_000_000),
            Some(1_795_240_950_000_000),
            Some(1_795_240_950_500_000),
            Some(1_795_240_950_678_000),
            Some(1_795_240_950_678_123),
            Some(1_795_240_950_678_123),
            None,
            None,
        ]
    );
    assert_eq!(rescued(&c, 9), Some(json!({"at": {"S": "yesterday"}})));
    assert_eq!(rescued(&c, 10), Some(json!({"at": {"BOOL": true}})));
}

#[test]
fn nested_mode_decides_new_columns_only() {
    let native_table = run(
        None,
        &[item(json!({"m": {"M": {"a": {"N": "1"}}}}))],
        &native(),
    );
    let c = run(
        Some(&native_table.schema),
        &[item(
            json!({"m": {"M": {"a": {"N": "2"}}}, "n": {"M": {"a": {"N": "2"}}}}),
        )],
        &opts(),
    );
    assert_eq!(field_type(&c, "m"), "struct<a: long>");
    assert_eq!(field_type(&c, "n"), "string");
}

#[test]
fn required_columns_of_a_new_table_are_strings() {
    let options = TypingOptions {
        required_columns: vec!["region".into()],
        ..Default::default()
    };
    let c = run(None, &[item(json!({"pk": {"S": "a"}}))], &options);
    assert_eq!(field_type(&c, "region"), "string");
    assert_eq!(c.batch.column_by_name("region").unwrap().null_count(), 1);
}

#[test]
fn no_rows_still_give_the_schema() {
    let c = run(None, &[], &opts());
    assert_eq!(c.batch.num_rows(), 0);
}
