//! What dms-merge is told about the source tables: key columns per table
//! (`KEY_COLUMNS`) and, optionally, a DMS table-definition document giving
//! headerless CSV files their column names and types.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use serde::Deserialize;

/// Primary-key columns per `schema.table`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyColumns {
    tables: BTreeMap<String, Vec<String>>,
}

impl KeyColumns {
    /// Parse `public.orders=id;public.lines=order_id,line_no`. Tables are
    /// separated by `;`, columns by `,`; names are matched exactly (DMS keeps
    /// the source's case).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut tables = BTreeMap::new();
        for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (table, cols) = entry
                .split_once('=')
                .ok_or_else(|| format!("{entry:?} is not schema.table=col1,col2"))?;
            let table = table.trim();
            let Some((schema, name)) = table.split_once('.') else {
                return Err(format!("{table:?} is not schema.table"));
            };
            if schema.is_empty() || name.is_empty() || name.contains('.') {
                return Err(format!("{table:?} is not schema.table"));
            }
            let cols: Vec<String> = cols
                .split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            if cols.is_empty() {
                return Err(format!("{table:?} has no key columns"));
            }
            let mut seen = cols.clone();
            seen.sort();
            seen.dedup();
            if seen.len() != cols.len() {
                return Err(format!("{table:?} names a key column twice"));
            }
            if tables.insert(table.to_string(), cols).is_some() {
                return Err(format!("{table:?} is given twice"));
            }
        }
        if tables.is_empty() {
            return Err("no table given; expected schema.table=col1,col2;...".into());
        }
        Ok(KeyColumns { tables })
    }

    /// The key columns of `schema.table`.
    pub fn get(&self, qualified: &str) -> Option<&[String]> {
        self.tables.get(qualified).map(Vec::as_slice)
    }

    pub fn tables(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }
}

/// A DMS table-definition document (the `ExternalTableDefinition` format):
/// `{"TableCount": n, "Tables": [{"TableName", "TablePath", "TableOwner",
/// "TableColumns": [{"ColumnName", "ColumnType", "ColumnLength",
/// "ColumnPrecision", "ColumnScale", "ColumnNullable", "ColumnIsPk"}]}]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinitions {
    #[serde(default, deserialize_with = "lenient_number")]
    pub table_count: Option<u32>,
    pub tables: Vec<TableDefinition>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub table_name: String,
    #[serde(default)]
    pub table_path: Option<String>,
    pub table_owner: String,
    pub table_columns: Vec<ColumnDefinition>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ColumnDefinition {
    pub column_name: String,
    pub column_type: String,
    #[serde(default, deserialize_with = "lenient_number")]
    pub column_length: Option<u32>,
    #[serde(default, deserialize_with = "lenient_number")]
    pub column_precision: Option<u32>,
    #[serde(default, deserialize_with = "lenient_number")]
    pub column_scale: Option<u32>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub column_nullable: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub column_is_pk: Option<bool>,
}

/// DMS documents write numbers as `"20"` or `20`.
fn lenient_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// `"true"`, `true`, `"false"`, `false`.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Bool(b)) => Some(b),
        Some(serde_json::Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

impl TableDefinitions {
    /// Parse and check a definition document.
    pub fn parse(json: &str) -> Result<Self, String> {
        let defs: TableDefinitions = serde_json::from_str(json)
            .map_err(|e| format!("not a DMS table-definition document: {e}"))?;
        if let Some(n) = defs.table_count {
            if n as usize != defs.tables.len() {
                return Err(format!(
                    "TableCount is {n} but {} tables are defined",
                    defs.tables.len()
                ));
            }
        }
        for t in &defs.tables {
            if t.table_columns.is_empty() {
                return Err(format!(
                    "{}.{} has no TableColumns",
                    t.table_owner, t.table_name
                ));
            }
        }
        Ok(defs)
    }

    /// The definition of `schema.table` (owner and name compared exactly).
    pub fn get(&self, schema: &str, table: &str) -> Option<&TableDefinition> {
        self.tables
            .iter()
            .find(|t| t.table_owner == schema && t.table_name == table)
    }
}

impl TableDefinition {
    /// The table's columns as Arrow fields (see [`arrow_type`]).
    pub fn fields(&self) -> Vec<Field> {
        self.table_columns
            .iter()
            .map(|c| Field::new(&c.column_name, arrow_type(c), true))
            .collect()
    }

    pub fn schema(&self) -> Arc<Schema> {
        Arc::new(Schema::new(self.fields()))
    }

    /// The columns flagged `ColumnIsPk`.
    pub fn primary_key(&self) -> Vec<String> {
        self.table_columns
            .iter()
            .filter(|c| c.column_is_pk == Some(true))
            .map(|c| c.column_name.clone())
            .collect()
    }
}

/// The Arrow type a DMS data type is read as. Delta has no unsigned
/// integers, so `UINTn` widen; types Delta cannot hold (`TIME`, `BYTES`,
/// `BLOB`, unknown ones) stay text, as DMS wrote them.
pub fn arrow_type(c: &ColumnDefinition) -> DataType {
    match c.column_type.trim().to_ascii_uppercase().as_str() {
        "BOOLEAN" => DataType::Boolean,
        "INT1" => DataType::Int8,
        "INT2" => DataType::Int16,
        "INT4" => DataType::Int32,
        "INT8" => DataType::Int64,
        "UINT1" => DataType::Int16,
        "UINT2" => DataType::Int32,
        "UINT4" => DataType::Int64,
        "UINT8" => DataType::Decimal128(20, 0),
        "REAL4" => DataType::Float32,
        "REAL8" => DataType::Float64,
        "NUMERIC" | "DECIMAL" => {
            let p = c.column_precision.unwrap_or(38).clamp(1, 38) as u8;
            let s = c.column_scale.unwrap_or(0).min(u32::from(p)) as i8;
            DataType::Decimal128(p, s)
        }
        "DATE" => DataType::Date32,
        "DATETIME" | "TIMESTAMP" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        _ => DataType::Utf8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_columns_parse() {
        let k = KeyColumns::parse(" public.orders=id ; public.lines=order_id, line_no;").unwrap();
        assert_eq!(k.get("public.orders").unwrap(), ["id"]);
        assert_eq!(k.get("public.lines").unwrap(), ["order_id", "line_no"]);
        assert!(k.get("public.other").is_none());
        for bad in [
            "",
            "orders=id",
            "public.orders",
            "public.orders=",
            "public.orders=id;public.orders=id",
            "public.orders=id,id",
            "a.b.c=id",
        ] {
            assert!(KeyColumns::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn table_definitions_map_dms_types() {
        let defs = TableDefinitions::parse(include_str!("fixtures/table-definition.json")).unwrap();
        let t = defs.get("public", "orders").expect("orders");
        assert_eq!(t.primary_key(), ["id"]);
        let schema = t.schema();
        let types: Vec<(&str, &DataType)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type()))
            .collect();
        assert_eq!(
            types,
            [
                ("id", &DataType::Int64),
                ("customer", &DataType::Utf8),
                ("amount", &DataType::Decimal128(10, 2)),
                ("qty", &DataType::Int32),
                ("paid", &DataType::Boolean),
                ("ordered_on", &DataType::Date32),
                (
                    "updated_at",
                    &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
                ),
                ("weight", &DataType::Float64),
            ]
        );
        assert!(defs.get("public", "ORDERS").is_none());
        assert!(TableDefinitions::parse(r#"{"TableCount": 2, "Tables": []}"#).is_err());
        assert!(TableDefinitions::parse("[]").is_err());
    }
}
