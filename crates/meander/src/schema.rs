//! Schema evolution: merging an incoming file's schema into a table's.
//!
//! [`merge`] answers "can this file be added to this table, and does the
//! table schema have to grow for it?":
//!
//! - `Ok(None)`: every incoming field exists in the table with a compatible
//!   type; nothing to change.
//! - `Ok(Some(merged))`: the file brings new columns. They are appended,
//!   nullable, after the existing ones: new top-level fields, and new fields of
//!   structs at any depth, including structs inside array elements and map
//!   keys/values. Existing fields keep their order, spelling, type,
//!   nullability and metadata.
//! - `Err(_)`: the file cannot be added as is.
//!
//! # Compatibility
//!
//! An incoming type is compatible with the table's when equal, or narrower and
//! read as the table type by every reader without loss:
//! `byte` -> `short`/`integer`/`long`, `short` -> `integer`/`long`,
//! `integer` -> `long`, `float` -> `double`. Anything else is
//! [`SchemaError::IncompatibleType`]: `string` vs `long`, `struct` vs
//! `string`, `long` into `integer`, decimals of another precision or scale,
//! `timestamp` vs `timestamp_ntz`, `date` vs `timestamp`, ... Array
//! `containsNull`, map `valueContainsNull` and field nullability do not take
//! part: a file's schema says nothing reliable about its nulls (pyarrow marks
//! every column nullable), and a non-nullable table column that a file lacks
//! is tolerated as well (it reads as null; Delta writers would refuse such a
//! write, but oxbow only registers files that already exist).
//!
//! A table column the incoming schema lacks is fine: readers see nulls.
//!
//! # Names and case
//!
//! Delta column names are case-insensitive: `amount` in a file *is* the
//! table's `Amount`, never a new column (a table cannot hold both). But
//! readers resolve Parquet columns by exact name (delta-rs and the Python
//! `deltalake` package read such a column as all nulls; checked with
//! deltalake 1.6), so a file whose spelling differs from the table's only by
//! case would silently lose that column's values. [`merge`] therefore refuses
//! it with [`SchemaError::CaseMismatch`], naming both spellings; exact matches
//! and genuinely new names are unaffected.

use deltalake::kernel::{ArrayType, DataType, MapType, PrimitiveType, StructField, StructType};

/// Why an incoming schema cannot be merged into a table's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The column exists on both sides with types that cannot be reconciled.
    #[error(
        "column `{column}` is {table_type} in the table but {file_type} in the file; write it as \
         {table_type} (or a narrower type of the same kind), or load the file into another table"
    )]
    IncompatibleType {
        /// Dotted path, e.g. `payload.amount` (`element`, `key`, `value`
        /// inside arrays and maps).
        column: String,
        /// Delta type name in the table (`long`, `struct<a: string>`, ...).
        table_type: String,
        /// Delta type name in the file.
        file_type: String,
    },
    /// The column exists on both sides in spellings that differ only by case.
    #[error(
        "column `{file_column}` of the file is the table's `{table_column}` spelled differently; \
         readers match Parquet columns by exact name and would read it as nulls: write it as \
         `{table_column}`"
    )]
    CaseMismatch {
        /// Dotted path as the table spells it.
        table_column: String,
        /// Dotted path as the file spells it.
        file_column: String,
    },
    /// The merged schema is not a valid Delta schema.
    #[error("the merged schema is invalid: {reason}")]
    Invalid { reason: String },
}

/// Merge `incoming` (a file's schema) into `table`; see the module doc.
pub fn merge(table: &StructType, incoming: &StructType) -> Result<Option<StructType>, SchemaError> {
    merge_struct(table, incoming, &Path::root())
}

/// A column path for messages, in the table's and in the file's spelling.
#[derive(Debug, Clone)]
struct Path {
    table: Vec<String>,
    file: Vec<String>,
}

impl Path {
    fn root() -> Self {
        Self {
            table: Vec::new(),
            file: Vec::new(),
        }
    }

    fn child(&self, table: &str, file: &str) -> Self {
        let mut out = self.clone();
        out.table.push(table.to_string());
        out.file.push(file.to_string());
        out
    }

    fn both(&self, name: &str) -> Self {
        self.child(name, name)
    }
}

fn merge_struct(
    table: &StructType,
    incoming: &StructType,
    path: &Path,
) -> Result<Option<StructType>, SchemaError> {
    let mut fields: Vec<StructField> = table.fields().cloned().collect();
    let mut changed = false;
    for field in incoming.fields() {
        let position = fields
            .iter()
            .position(|f| f.name() == field.name())
            .or_else(|| {
                let lower = field.name().to_lowercase();
                fields.iter().position(|f| f.name().to_lowercase() == lower)
            });
        match position {
            Some(i) => {
                let existing = &fields[i];
                if existing.name() != field.name() {
                    let at = path.child(existing.name(), field.name());
                    return Err(SchemaError::CaseMismatch {
                        table_column: at.table.join("."),
                        file_column: at.file.join("."),
                    });
                }
                let at = path.both(field.name());
                if let Some(data_type) = merge_type(existing.data_type(), field.data_type(), &at)? {
                    fields[i] = StructField {
                        data_type,
                        ..existing.clone()
                    };
                    changed = true;
                }
            }
            None => {
                fields.push(StructField {
                    nullable: true,
                    ..field.clone()
                });
                changed = true;
            }
        }
    }
    if !changed {
        return Ok(None);
    }
    StructType::try_new(fields)
        .map(Some)
        .map_err(|e| SchemaError::Invalid {
            reason: e.to_string(),
        })
}

/// `Ok(None)` when `file` is readable as `table` unchanged, `Ok(Some(t))` when
/// the table type must become `t` (new nested fields).
fn merge_type(
    table: &DataType,
    file: &DataType,
    path: &Path,
) -> Result<Option<DataType>, SchemaError> {
    let incompatible = || SchemaError::IncompatibleType {
        column: path.table.join("."),
        table_type: table.to_string(),
        file_type: file.to_string(),
    };
    match (table, file) {
        (DataType::Primitive(t), DataType::Primitive(f)) => {
            if t == f || widens(f, t) {
                Ok(None)
            } else {
                Err(incompatible())
            }
        }
        (DataType::Struct(t), DataType::Struct(f)) => {
            Ok(merge_struct(t, f, path)?.map(|s| DataType::Struct(Box::new(s))))
        }
        (DataType::Array(t), DataType::Array(f)) => {
            let element = merge_type(t.element_type(), f.element_type(), &path.both("element"))?;
            Ok(element.map(|e| DataType::Array(Box::new(ArrayType::new(e, t.contains_null())))))
        }
        (DataType::Map(t), DataType::Map(f)) => {
            let key = merge_type(t.key_type(), f.key_type(), &path.both("key"))?;
            let value = merge_type(t.value_type(), f.value_type(), &path.both("value"))?;
            if key.is_none() && value.is_none() {
                return Ok(None);
            }
            Ok(Some(DataType::Map(Box::new(MapType::new(
                key.unwrap_or_else(|| t.key_type().clone()),
                value.unwrap_or_else(|| t.value_type().clone()),
                t.value_contains_null(),
            )))))
        }
        (DataType::Variant(_), DataType::Variant(_)) if table == file => Ok(None),
        _ => Err(incompatible()),
    }
}

/// Can a file column of type `file` be read as the table's `table` type?
fn widens(file: &PrimitiveType, table: &PrimitiveType) -> bool {
    use PrimitiveType::*;
    matches!(
        (file, table),
        (Byte, Short | Integer | Long)
            | (Short, Integer | Long)
            | (Integer, Long)
            | (Float, Double)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::kernel::MetadataValue;

    fn st(fields: Vec<StructField>) -> StructType {
        StructType::try_new(fields).unwrap()
    }

    fn strukt(fields: Vec<StructField>) -> DataType {
        DataType::Struct(Box::new(st(fields)))
    }

    fn array(element: DataType) -> DataType {
        DataType::Array(Box::new(ArrayType::new(element, true)))
    }

    fn map(key: DataType, value: DataType) -> DataType {
        DataType::Map(Box::new(MapType::new(key, value, true)))
    }

    fn table() -> StructType {
        st(vec![
            StructField::not_null("id", DataType::LONG).with_metadata([(
                "comment".to_string(),
                MetadataValue::String("primary key".into()),
            )]),
            StructField::nullable("name", DataType::STRING),
            StructField::nullable(
                "payload",
                strukt(vec![
                    StructField::nullable("amount", DataType::decimal(10, 2).unwrap()),
                    StructField::nullable("at", DataType::TIMESTAMP),
                ]),
            ),
        ])
    }

    #[test]
    fn identical_schema_adds_nothing() {
        assert_eq!(merge(&table(), &table()), Ok(None));
    }

    #[test]
    fn fewer_columns_add_nothing() {
        let incoming = st(vec![StructField::nullable("name", DataType::STRING)]);
        assert_eq!(merge(&table(), &incoming), Ok(None));
        // Even a non-nullable table column may be missing.
        let incoming = st(vec![StructField::nullable(
            "payload",
            strukt(vec![StructField::nullable("at", DataType::TIMESTAMP)]),
        )]);
        assert_eq!(merge(&table(), &incoming), Ok(None));
    }

    #[test]
    fn new_top_level_column_is_appended_nullable() {
        let mut fields: Vec<StructField> = table().fields().cloned().collect();
        fields.insert(0, StructField::not_null("region", DataType::STRING));
        let merged = merge(&table(), &st(fields)).unwrap().unwrap();
        let mut expected: Vec<StructField> = table().fields().cloned().collect();
        expected.push(StructField::nullable("region", DataType::STRING));
        assert_eq!(merged, st(expected));
        // Existing fields keep nullability and metadata.
        let id = merged.field("id").unwrap();
        assert!(!id.is_nullable());
        assert_eq!(
            id.metadata().get("comment"),
            Some(&MetadataValue::String("primary key".into()))
        );
    }

    #[test]
    fn new_nested_field_is_appended() {
        let incoming = st(vec![StructField::nullable(
            "payload",
            strukt(vec![
                StructField::not_null("currency", DataType::STRING),
                StructField::nullable("amount", DataType::decimal(10, 2).unwrap()),
            ]),
        )]);
        let merged = merge(&table(), &incoming).unwrap().unwrap();
        let expected = st(vec![
            table().field("id").unwrap().clone(),
            StructField::nullable("name", DataType::STRING),
            StructField::nullable(
                "payload",
                strukt(vec![
                    StructField::nullable("amount", DataType::decimal(10, 2).unwrap()),
                    StructField::nullable("at", DataType::TIMESTAMP),
                    StructField::nullable("currency", DataType::STRING),
                ]),
            ),
        ]);
        assert_eq!(merged, expected);
    }

    #[test]
    fn new_field_in_struct_inside_list_and_map() {
        let item = |fields| array(strukt(fields));
        let table = st(vec![
            StructField::nullable(
                "items",
                item(vec![StructField::nullable("sku", DataType::STRING)]),
            ),
            StructField::nullable(
                "attrs",
                map(
                    DataType::STRING,
                    strukt(vec![StructField::nullable("v", DataType::LONG)]),
                ),
            ),
        ]);
        let incoming = st(vec![
            StructField::nullable(
                "items",
                item(vec![
                    StructField::nullable("sku", DataType::STRING),
                    StructField::nullable("qty", DataType::INTEGER),
                ]),
            ),
            StructField::nullable(
                "attrs",
                map(
                    DataType::STRING,
                    strukt(vec![
                        StructField::nullable("v", DataType::INTEGER),
                        StructField::nullable("unit", DataType::STRING),
                    ]),
                ),
            ),
        ]);
        let merged = merge(&table, &incoming).unwrap().unwrap();
        let expected = st(vec![
            StructField::nullable(
                "items",
                item(vec![
                    StructField::nullable("sku", DataType::STRING),
                    StructField::nullable("qty", DataType::INTEGER),
                ]),
            ),
            StructField::nullable(
                "attrs",
                map(
                    DataType::STRING,
                    strukt(vec![
                        // The table's type stays: the file's integer widens.
                        StructField::nullable("v", DataType::LONG),
                        StructField::nullable("unit", DataType::STRING),
                    ]),
                ),
            ),
        ]);
        assert_eq!(merged, expected);
        // Merging again adds nothing.
        assert_eq!(merge(&merged, &incoming), Ok(None));
    }

    #[test]
    fn narrower_file_types_are_compatible() {
        for (table_type, file_type) in [
            (DataType::LONG, DataType::INTEGER),
            (DataType::LONG, DataType::SHORT),
            (DataType::LONG, DataType::BYTE),
            (DataType::INTEGER, DataType::SHORT),
            (DataType::INTEGER, DataType::BYTE),
            (DataType::SHORT, DataType::BYTE),
            (DataType::DOUBLE, DataType::FLOAT),
        ] {
            let table = st(vec![StructField::nullable("x", table_type.clone())]);
            let incoming = st(vec![StructField::nullable("x", file_type.clone())]);
            assert_eq!(
                merge(&table, &incoming),
                Ok(None),
                "{file_type} into {table_type}"
            );
        }
    }

    #[test]
    fn long_file_into_int_table_is_an_error() {
        let table = st(vec![StructField::nullable(
            "payload",
            strukt(vec![StructField::nullable("amount", DataType::INTEGER)]),
        )]);
        let incoming = st(vec![StructField::nullable(
            "payload",
            strukt(vec![StructField::nullable("amount", DataType::LONG)]),
        )]);
        let err = merge(&table, &incoming).unwrap_err();
        assert_eq!(
            err,
            SchemaError::IncompatibleType {
                column: "payload.amount".into(),
                table_type: "integer".into(),
                file_type: "long".into(),
            }
        );
        let msg = err.to_string();
        for part in ["payload.amount", "integer", "long"] {
            assert!(msg.contains(part), "{msg}");
        }
    }

    #[test]
    fn other_type_differences_are_errors() {
        let cases = [
            (DataType::LONG, DataType::STRING),
            (DataType::STRING, DataType::LONG),
            (DataType::INTEGER, DataType::DOUBLE),
            (DataType::FLOAT, DataType::DOUBLE),
            (DataType::DATE, DataType::TIMESTAMP),
            (DataType::TIMESTAMP, DataType::TIMESTAMP_NTZ),
            (
                DataType::decimal(10, 2).unwrap(),
                DataType::decimal(12, 2).unwrap(),
            ),
            (
                DataType::decimal(10, 2).unwrap(),
                DataType::decimal(10, 3).unwrap(),
            ),
            (
                strukt(vec![StructField::nullable("a", DataType::STRING)]),
                DataType::STRING,
            ),
            (array(DataType::LONG), array(DataType::STRING)),
            (array(DataType::LONG), DataType::LONG),
            (
                map(DataType::STRING, DataType::LONG),
                map(DataType::LONG, DataType::LONG),
            ),
        ];
        for (table_type, file_type) in cases {
            let table = st(vec![StructField::nullable("x", table_type.clone())]);
            let incoming = st(vec![StructField::nullable("x", file_type.clone())]);
            match merge(&table, &incoming) {
                Err(SchemaError::IncompatibleType { column, .. }) => {
                    assert!(column.starts_with('x'), "{column}")
                }
                other => panic!("{file_type} into {table_type}: {other:?}"),
            }
        }
        let table = st(vec![StructField::nullable("x", DataType::LONG)]);
        let incoming = st(vec![StructField::nullable("x", DataType::STRING)]);
        let msg = merge(&table, &incoming).unwrap_err().to_string();
        assert!(
            msg.contains("`x` is long in the table but string in the file"),
            "{msg}"
        );
        // Struct types are named with their fields.
        let table = st(vec![StructField::nullable(
            "x",
            strukt(vec![StructField::nullable("a", DataType::STRING)]),
        )]);
        let msg = merge(&table, &incoming).unwrap_err().to_string();
        assert!(msg.contains("struct<a: string>"), "{msg}");
        // Paths go through arrays and maps.
        let table = st(vec![StructField::nullable(
            "m",
            map(DataType::STRING, array(DataType::LONG)),
        )]);
        let incoming = st(vec![StructField::nullable(
            "m",
            map(DataType::STRING, array(DataType::STRING)),
        )]);
        match merge(&table, &incoming) {
            Err(SchemaError::IncompatibleType { column, .. }) => {
                assert_eq!(column, "m.value.element")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_match_case_insensitively_and_differing_case_is_refused() {
        // A differently cased name is the same column, never a new one ...
        let incoming = st(vec![StructField::nullable("NAME", DataType::STRING)]);
        let err = merge(&table(), &incoming).unwrap_err();
        assert_eq!(
            err,
            SchemaError::CaseMismatch {
                table_column: "name".into(),
                file_column: "NAME".into(),
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("`NAME`") && msg.contains("`name`"), "{msg}");
        // ... at any depth ...
        let incoming = st(vec![StructField::nullable(
            "payload",
            strukt(vec![StructField::nullable(
                "Amount",
                DataType::decimal(10, 2).unwrap(),
            )]),
        )]);
        assert_eq!(
            merge(&table(), &incoming),
            Err(SchemaError::CaseMismatch {
                table_column: "payload.amount".into(),
                file_column: "payload.Amount".into(),
            })
        );
        // ... and the type check does not get in first.
        let incoming = st(vec![StructField::nullable("Name", DataType::LONG)]);
        assert!(matches!(
            merge(&table(), &incoming),
            Err(SchemaError::CaseMismatch { .. })
        ));
        // The exact spelling is fine.
        let incoming = st(vec![StructField::nullable(
            "payload",
            strukt(vec![StructField::nullable("at", DataType::TIMESTAMP)]),
        )]);
        assert_eq!(merge(&table(), &incoming), Ok(None));
    }
}
