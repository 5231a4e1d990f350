//! Schema inference from JSON records, schema evolution, and the value
//! normalisation done before decoding.
//!
//! # Inference ([`infer_record`])
//!
//! | JSON | Delta |
//! | --- | --- |
//! | integer (fits a signed 64-bit integer) | `long` |
//! | any other number (fractions, exponents, integers beyond 64 bits) | `double` |
//! | string | `string`; `timestamp` when the field is named in `TIMESTAMP_COLUMNS` |
//! | number in a `TIMESTAMP_COLUMNS` field | `timestamp` (epoch, see below) |
//! | any other scalar in a `TIMESTAMP_COLUMNS` field | `timestamp` (the value then fails its message) |
//! | `true` / `false` | `boolean` |
//! | array | `array<element>`, the element type unified over the elements |
//! | object | `struct<...>` |
//! | `null`, `[]`, `{}` | no type yet: the field is left out until a value has one |
//!
//! `TIMESTAMP_COLUMNS` entries are field paths: `ts` for a top-level field,
//! `payload.ts` for a field of a struct (arrays are transparent:
//! `items.ts` is the `ts` of every element of the array `items`).
//!
//! Types of one field seen in several records unify: equal types stay,
//! `long` and `double` become `double`, structs merge their fields, arrays
//! unify their elements. Any other disagreement keeps the first type seen,
//! and decoding then fails the records that do not fit it.
//!
//! # Evolution ([`absorb`])
//!
//! A batch's target schema starts as the table's. Each message's inferred
//! schema is absorbed into it: fields the target lacks (top level, in
//! structs at any depth, in structs inside arrays) are appended as nullable.
//! Fields already in the **table** never change type: a record whose value
//! does not fit fails at decoding (`long` stays `long`; there is no type
//! widening). Fields new in this batch may still widen `long` to `double`.
//! A field spelled like an existing one but for case (`Id` vs `id`) fails
//! its message, as Delta column names are case-insensitive while readers
//! match Parquet columns by exact name. New field names must be valid for a
//! Delta table without column mapping: not empty, none of ` ,;{}()\n\t=`.
//!
//! # Normalisation before decoding ([`prepare`])
//!
//! - Numbers in `timestamp` fields are epoch times. **Epoch rule:** by
//!   magnitude, `|n| < 10^11` is seconds (up to year 5138; fractions are kept
//!   to the microsecond), `|n| < 10^14` milliseconds, anything larger
//!   microseconds. Strings in `timestamp` fields are ISO-8601 / RFC 3339
//!   (`2024-05-01T12:00:00Z`, `2024-05-01T14:00:00+02:00`,
//!   `2024-05-01 12:00:00.123`, `2024-05-01`); without an offset they are UTC.
//! - Numbers in integer fields must be whole: `1.0` is accepted as `1`, while
//!   `1.5` fails its message instead of being truncated.

use deltalake::kernel::{ArrayType, DataType, PrimitiveType, StructField, StructType};
use serde_json::{Number, Value};

use super::body::Record;

/// Characters a column name may not hold in a Delta table without column mapping.
pub const INVALID_NAME_CHARS: &[char] = &[' ', ',', ';', '{', '}', '(', ')', '\n', '\t', '='];

/// Field paths whose values are timestamps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InferOptions {
    timestamp_paths: Vec<Vec<String>>,
}

impl InferOptions {
    /// From `TIMESTAMP_COLUMNS` entries (`ts`, `payload.ts`).
    pub fn new<S: AsRef<str>>(timestamp_columns: &[S]) -> Self {
        InferOptions {
            timestamp_paths: timestamp_columns
                .iter()
                .map(|c| c.as_ref().split('.').map(str::to_string).collect())
                .collect(),
        }
    }

    fn is_timestamp(&self, path: &[String]) -> bool {
        self.timestamp_paths.iter().any(|p| p.as_slice() == path)
    }
}

/// The Delta schema of one record (see the module doc). Two fields whose
/// names differ only by case, in the record or in objects of one array, are
/// a [`FieldError::CaseConflict`].
pub fn infer_record(record: &Record, options: &InferOptions) -> Result<StructType, FieldError> {
    let mut path = Vec::new();
    match infer_object(record, &mut path, options)? {
        Some(s) => Ok(s),
        None => empty_struct(),
    }
}

/// A struct without fields.
pub fn empty_struct() -> Result<StructType, FieldError> {
    struct_of(Vec::new())
}

/// A struct of fields already checked for case-insensitive twins.
fn struct_of(fields: Vec<StructField>) -> Result<StructType, FieldError> {
    StructType::try_new(fields).map_err(|e| FieldError::Invalid {
        reason: e.to_string(),
    })
}

fn twin_of<'a>(fields: &'a [StructField], name: &str) -> Option<&'a StructField> {
    let lower = name.to_lowercase();
    fields
        .iter()
        .find(|f| f.name() != name && f.name().to_lowercase() == lower)
}

fn infer_object(
    obj: &Record,
    path: &mut Vec<String>,
    options: &InferOptions,
) -> Result<Option<StructType>, FieldError> {
    let mut fields: Vec<StructField> = Vec::with_capacity(obj.len());
    for (name, value) in obj {
        path.push(name.clone());
        let inferred = infer_value(value, path, options);
        path.pop();
        let Some(t) = inferred? else {
            continue;
        };
        if let Some(twin) = twin_of(&fields, name) {
            return Err(FieldError::CaseConflict {
                existing: dotted(path, twin.name()),
                incoming: dotted(path, name),
            });
        }
        fields.push(StructField::nullable(name.clone(), t));
    }
    if fields.is_empty() {
        return Ok(None);
    }
    struct_of(fields).map(Some)
}

fn dotted(path: &[String], name: &str) -> String {
    let mut parts = path.to_vec();
    parts.push(name.to_string());
    parts.join(".")
}

fn infer_value(
    value: &Value,
    path: &mut Vec<String>,
    options: &InferOptions,
) -> Result<Option<DataType>, FieldError> {
    Ok(match value {
        Value::Null => None,
        // A timestamp field is a timestamp whatever its first value: a value
        // that is not one then fails its message instead of typing the column.
        Value::Bool(_) | Value::Number(_) | Value::String(_) if options.is_timestamp(path) => {
            Some(DataType::TIMESTAMP)
        }
        Value::Bool(_) => Some(DataType::BOOLEAN),
        Value::Number(n) => Some(if n.is_i64() {
            DataType::LONG
        } else {
            DataType::DOUBLE
        }),
        Value::String(_) => Some(DataType::STRING),
        Value::Array(items) => {
            let mut element: Option<DataType> = None;
            for item in items {
                if let Some(t) = infer_value(item, path, options)? {
                    element = Some(match element {
                        None => t,
                        Some(e) => unify(&e, &t, true, &path.join("."))?,
                    });
                }
            }
            element.map(|e| ArrayType::new(e, true).into())
        }
        Value::Object(obj) => infer_object(obj, path, options)?.map(DataType::from),
    })
}

/// Unify two inferred types at `path`; `widen` allows `long` + `double` =
/// `double`. Any other disagreement keeps `a`. Struct fields that differ
/// only by case are a [`FieldError::CaseConflict`].
pub fn unify(a: &DataType, b: &DataType, widen: bool, path: &str) -> Result<DataType, FieldError> {
    Ok(match (a, b) {
        (DataType::Struct(x), DataType::Struct(y)) => unify_struct(x, y, widen, path)?.into(),
        (DataType::Array(x), DataType::Array(y)) => ArrayType::new(
            unify(x.element_type(), y.element_type(), widen, path)?,
            x.contains_null() || y.contains_null(),
        )
        .into(),
        (DataType::Primitive(PrimitiveType::Long), DataType::Primitive(PrimitiveType::Double))
            if widen =>
        {
            DataType::DOUBLE
        }
        _ => a.clone(),
    })
}

fn unify_struct(
    a: &StructType,
    b: &StructType,
    widen: bool,
    path: &str,
) -> Result<StructType, FieldError> {
    let mut fields: Vec<StructField> = a.fields().cloned().collect();
    for f in b.fields() {
        let at = if path.is_empty() {
            f.name().clone()
        } else {
            format!("{path}.{}", f.name())
        };
        if let Some(existing) = fields.iter_mut().find(|x| x.name() == f.name()) {
            existing.data_type = unify(existing.data_type(), f.data_type(), widen, &at)?;
            continue;
        }
        if let Some(twin) = twin_of(&fields, f.name()) {
            return Err(FieldError::CaseConflict {
                existing: if path.is_empty() {
                    twin.name().clone()
                } else {
                    format!("{path}.{}", twin.name())
                },
                incoming: at,
            });
        }
        fields.push(f.clone());
    }
    struct_of(fields)
}

/// Why a record's fields cannot join the target schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error(
        "field `{incoming}` is the table's `{existing}` spelled differently; Delta column names \
         are case-insensitive: send it as `{existing}`"
    )]
    CaseConflict { existing: String, incoming: String },
    #[error("field name {name:?} cannot be a Delta column: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("new fields {columns:?} and SCHEMA_EVOLUTION is off")]
    EvolutionOff { columns: Vec<String> },
    #[error("the record's schema is invalid: {reason}")]
    Invalid { reason: String },
}

/// Check a new column name: not empty, none of [`INVALID_NAME_CHARS`].
pub fn check_column_name(name: &str) -> Result<(), FieldError> {
    let invalid = |reason: &str| FieldError::InvalidName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(invalid("empty name"));
    }
    if name.contains(INVALID_NAME_CHARS) {
        return Err(invalid(
            "tables without column mapping allow none of ' ,;{}()\\n\\t=' in names",
        ));
    }
    Ok(())
}

/// The target schema grown by a record's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absorbed {
    pub schema: StructType,
    /// Dotted paths of the fields added.
    pub added: Vec<String>,
}

/// Absorb `incoming` into `target` (see the module doc). `table` is the
/// table's schema, whose fields never change type. `Ok(None)`: nothing to add.
pub fn absorb(
    target: &StructType,
    incoming: &StructType,
    table: Option<&StructType>,
) -> Result<Option<Absorbed>, FieldError> {
    let mut added = Vec::new();
    let schema = absorb_struct(target, incoming, table, "", &mut added)?;
    Ok(schema.map(|schema| Absorbed { schema, added }))
}

fn absorb_struct(
    target: &StructType,
    incoming: &StructType,
    table: Option<&StructType>,
    prefix: &str,
    added: &mut Vec<String>,
) -> Result<Option<StructType>, FieldError> {
    let mut fields: Vec<StructField> = target.fields().cloned().collect();
    let mut changed = false;
    for field in incoming.fields() {
        let path = format!("{prefix}{}", field.name());
        let exact = fields.iter().position(|f| f.name() == field.name());
        let Some(i) = exact else {
            let lower = field.name().to_lowercase();
            if let Some(other) = fields.iter().find(|f| f.name().to_lowercase() == lower) {
                return Err(FieldError::CaseConflict {
                    existing: format!("{prefix}{}", other.name()),
                    incoming: path,
                });
            }
            check_column_name(field.name())?;
            fields.push(StructField::nullable(
                field.name().clone(),
                field.data_type().clone(),
            ));
            added.push(path);
            changed = true;
            continue;
        };
        let in_table = table
            .and_then(|t| t.field(field.name()))
            .map(StructField::data_type);
        let Some(existing) = fields.get_mut(i) else {
            continue;
        };
        let current = existing.data_type().clone();
        if let Some(t) = absorb_type(&current, field.data_type(), in_table, &path, added)? {
            existing.data_type = t;
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    struct_of(fields).map(Some)
}

fn absorb_type(
    target: &DataType,
    incoming: &DataType,
    table: Option<&DataType>,
    path: &str,
    added: &mut Vec<String>,
) -> Result<Option<DataType>, FieldError> {
    match (target, incoming) {
        (DataType::Struct(t), DataType::Struct(i)) => {
            let table = match table {
                Some(DataType::Struct(s)) => Some(s.as_ref()),
                _ => None,
            };
            Ok(absorb_struct(t, i, table, &format!("{path}."), added)?.map(DataType::from))
        }
        (DataType::Array(t), DataType::Array(i)) => {
            let table = match table {
                Some(DataType::Array(a)) => Some(a.element_type()),
                _ => None,
            };
            Ok(
                absorb_type(t.element_type(), i.element_type(), table, path, added)?
                    .map(|e| ArrayType::new(e, t.contains_null()).into()),
            )
        }
        (DataType::Primitive(PrimitiveType::Long), DataType::Primitive(PrimitiveType::Double))
            if table.is_none() =>
        {
            Ok(Some(DataType::DOUBLE))
        }
        _ => Ok(None),
    }
}

/// Normalise a record's values for decoding against `schema` (see the module
/// doc). An `Err` names the field and why its value cannot be stored.
pub fn prepare(record: &mut Record, schema: &StructType) -> Result<(), String> {
    for field in schema.fields() {
        if let Some(v) = record.get_mut(field.name()) {
            prepare_value(v, field.data_type(), field.name())?;
        }
    }
    Ok(())
}

fn prepare_value(value: &mut Value, data_type: &DataType, path: &str) -> Result<(), String> {
    match (data_type, &*value) {
        (
            DataType::Primitive(PrimitiveType::Timestamp | PrimitiveType::TimestampNtz),
            Value::Number(n),
        ) => {
            let micros = epoch_to_micros(n).ok_or_else(|| {
                format!("field `{path}`: {n} is out of range for an epoch timestamp")
            })?;
            *value = Value::from(micros);
        }
        (
            DataType::Primitive(
                PrimitiveType::Long
                | PrimitiveType::Integer
                | PrimitiveType::Short
                | PrimitiveType::Byte,
            ),
            Value::Number(n),
        ) if !n.is_i64() && !n.is_u64() => {
            let whole = n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .ok_or_else(|| {
                    format!("field `{path}`: {n} is not a whole number ({data_type} column)")
                })?;
            *value = Value::from(whole as i64);
        }
        (DataType::Struct(s), Value::Object(_)) => {
            if let Value::Object(obj) = value {
                for field in s.fields() {
                    if let Some(v) = obj.get_mut(field.name()) {
                        let p = format!("{path}.{}", field.name());
                        prepare_value(v, field.data_type(), &p)?;
                    }
                }
            }
        }
        (DataType::Array(a), Value::Array(_)) => {
            if let Value::Array(items) = value {
                for v in items {
                    prepare_value(v, a.element_type(), path)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// An epoch number as microseconds, by the epoch rule of the module doc.
pub fn epoch_to_micros(n: &Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        let magnitude = i.unsigned_abs();
        return if magnitude < 100_000_000_000 {
            i.checked_mul(1_000_000)
        } else if magnitude < 100_000_000_000_000 {
            i.checked_mul(1_000)
        } else {
            Some(i)
        };
    }
    let f = n.as_f64()?;
    let magnitude = f.abs();
    let micros = if magnitude < 1e11 {
        f * 1e6
    } else if magnitude < 1e14 {
        f * 1e3
    } else {
        f
    };
    let micros = micros.round();
    (micros.is_finite() && micros.abs() < 9.2e18).then_some(micros as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(v: Value) -> Record {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    fn schema_json(s: &StructType) -> Value {
        serde_json::to_value(s).unwrap()
    }

    fn types(s: &StructType) -> Vec<(String, String)> {
        s.fields()
            .map(|f| (f.name().clone(), f.data_type().to_string()))
            .collect()
    }

    #[test]
    fn infers_json_types() {
        let opts = InferOptions::new(&["ts", "payload.at", "items.when"]);
        let r = record(json!({
            "id": 1, "price": 2.5, "big": 18446744073709551615u64, "exp": 1e3,
            "name": "x", "ok": true, "nothing": null, "empty": [], "blank": {},
            "tags": ["a", "b"], "nums": [1, 2.5], "ts": "2024-01-01T00:00:00Z",
            "payload": {"at": 1700000000, "n": 1, "nil": null},
            "items": [{"when": "2024-01-01", "q": 1}, {"q": 2.5, "extra": "e"}]
        }));
        let s = infer_record(&r, &opts).unwrap();
        assert_eq!(
            types(&s),
            // JSON objects have no order to keep: fields are sorted by name.
            [
                ("big", "double"),
                ("exp", "double"),
                ("id", "long"),
                (
                    "items",
                    "array<struct<q: double, when: timestamp, extra: string>>"
                ),
                ("name", "string"),
                ("nums", "array<double>"),
                ("ok", "boolean"),
                ("payload", "struct<at: timestamp, n: long>"),
                ("price", "double"),
                ("tags", "array<string>"),
                ("ts", "timestamp"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!(s.fields().all(|f| f.is_nullable()));
    }

    #[test]
    fn records_unify_in_order() {
        let opts = InferOptions::default();
        let a = record(json!({"n": 1, "s": "x", "st": {"a": 1}}));
        let b = record(json!({"n": 1.5, "s": 2, "st": {"b": true}, "new": [1]}));
        let sa = infer_record(&a, &opts).unwrap();
        let sb = infer_record(&b, &opts).unwrap();
        let s = match unify(&sa.into(), &sb.into(), true, "").unwrap() {
            DataType::Struct(s) => *s,
            other => panic!("{other}"),
        };
        assert_eq!(
            types(&s),
            [
                ("n", "double"),
                ("s", "string"),
                ("st", "struct<a: long, b: boolean>"),
                ("new", "array<long>"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let twins = record(json!({"l": [{"a": 1}, {"A": 2}]}));
        assert!(matches!(
            infer_record(&twins, &opts),
            Err(FieldError::CaseConflict { .. })
        ));
    }

    #[test]
    fn absorb_adds_new_fields_and_keeps_table_types() {
        let opts = InferOptions::default();
        let table = infer_record(&record(json!({"id": 1, "p": {"a": "x"}})), &opts).unwrap();
        // Nothing new.
        let same = infer_record(&record(json!({"id": 2})), &opts).unwrap();
        assert_eq!(absorb(&table, &same, Some(&table)), Ok(None));
        // A conflicting type on a table field is left to the decoder.
        let conflict = infer_record(&record(json!({"id": "abc"})), &opts).unwrap();
        assert_eq!(absorb(&table, &conflict, Some(&table)), Ok(None));
        let wider = infer_record(&record(json!({"id": 1.5})), &opts).unwrap();
        assert_eq!(absorb(&table, &wider, Some(&table)), Ok(None));
        // New top-level and nested fields.
        let more = infer_record(
            &record(json!({"id": 3, "p": {"a": "y", "b": 1}, "q": [{"z": 1}]})),
            &opts,
        )
        .unwrap();
        let got = absorb(&table, &more, Some(&table)).unwrap().unwrap();
        assert_eq!(got.added, ["p.b", "q"]);
        assert_eq!(
            types(&got.schema),
            [
                ("id", "long"),
                ("p", "struct<a: string, b: long>"),
                ("q", "array<struct<z: long>>"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        // A field new in the batch widens long -> double; a table field does not.
        let again = infer_record(&record(json!({"q": [{"z": 2.5}], "id": 2.5})), &opts).unwrap();
        let widened = absorb(&got.schema, &again, Some(&table)).unwrap().unwrap();
        assert_eq!(
            widened.schema.field("q").unwrap().data_type().to_string(),
            "array<struct<z: double>>"
        );
        assert_eq!(
            widened.schema.field("id").unwrap().data_type(),
            &DataType::LONG
        );
        // New table: everything is new.
        let fresh = absorb(&empty_struct().unwrap(), &more, None)
            .unwrap()
            .unwrap();
        assert_eq!(fresh.added, ["id", "p", "q"]);
        assert_eq!(schema_json(&fresh.schema), schema_json(&more));
    }

    #[test]
    fn absorb_rejects_case_twins_and_bad_names() {
        let opts = InferOptions::default();
        let table = infer_record(&record(json!({"id": 1, "p": {"a": 1}})), &opts).unwrap();
        let twin = infer_record(&record(json!({"ID": 1})), &opts).unwrap();
        assert_eq!(
            absorb(&table, &twin, Some(&table)),
            Err(FieldError::CaseConflict {
                existing: "id".into(),
                incoming: "ID".into()
            })
        );
        let nested = infer_record(&record(json!({"p": {"A": 1}})), &opts).unwrap();
        assert!(matches!(
            absorb(&table, &nested, Some(&table)),
            Err(FieldError::CaseConflict { .. })
        ));
        // Twins inside one record.
        assert!(matches!(
            infer_record(&record(json!({"x": 1, "X": 2})), &opts),
            Err(FieldError::CaseConflict { .. })
        ));
        for bad in ["first name", "a,b", "x=y", "f(x)", ""] {
            let s = infer_record(&record(json!({ bad: 1 })), &opts).unwrap();
            assert!(
                matches!(
                    absorb(&table, &s, Some(&table)),
                    Err(FieldError::InvalidName { .. })
                ),
                "{bad:?}"
            );
        }
        // Existing odd names (a table with column mapping) are not re-checked.
        assert!(check_column_name("ok_name-1.x").is_ok());
    }

    #[test]
    fn epoch_rule() {
        let n = |v: Value| match v {
            Value::Number(n) => n,
            _ => unreachable!(),
        };
        // seconds
        assert_eq!(
            epoch_to_micros(&n(json!(1_700_000_000))),
            Some(1_700_000_000_000_000)
        );
        assert_eq!(epoch_to_micros(&n(json!(1.5))), Some(1_500_000));
        assert_eq!(epoch_to_micros(&n(json!(-86400))), Some(-86_400_000_000));
        // milliseconds
        assert_eq!(
            epoch_to_micros(&n(json!(1_700_000_000_123i64))),
            Some(1_700_000_000_123_000)
        );
        assert_eq!(
            epoch_to_micros(&n(json!(1_700_000_000_123.5))),
            Some(1_700_000_000_123_500)
        );
        // microseconds
        assert_eq!(
            epoch_to_micros(&n(json!(1_700_000_000_123_456i64))),
            Some(1_700_000_000_123_456)
        );
        // out of range
        assert_eq!(epoch_to_micros(&n(json!(1e300))), None);
        assert_eq!(epoch_to_micros(&n(json!(u64::MAX))), None);
    }

    #[test]
    fn prepare_converts_epochs_and_refuses_fractions_in_integers() {
        let opts = InferOptions::new(&["ts", "p.ts"]);
        let schema = infer_record(
            &record(json!({"ts": 1, "n": 1, "p": {"ts": 1}, "l": [{"n": 1}]})),
            &opts,
        )
        .unwrap();
        let mut r = record(json!({
            "ts": 1_700_000_000, "n": 2.0, "p": {"ts": 1_700_000_000_000i64}, "l": [{"n": 3}],
            "other": 1.5
        }));
        prepare(&mut r, &schema).unwrap();
        assert_eq!(
            Value::Object(r),
            json!({
                "ts": 1_700_000_000_000_000i64, "n": 2, "p": {"ts": 1_700_000_000_000_000i64},
                "l": [{"n": 3}], "other": 1.5
            })
        );
        let mut bad = record(json!({"l": [{"n": 1.5}]}));
        let err = prepare(&mut bad, &schema).unwrap_err();
        assert!(err.contains("l.n") && err.contains("1.5"), "{err}");
        // Strings are left to the decoder.
        let mut s = record(json!({"ts": "2024-01-01", "n": "7"}));
        prepare(&mut s, &schema).unwrap();
        assert_eq!(s["n"], "7");
    }
}
