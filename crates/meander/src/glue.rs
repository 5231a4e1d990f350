//! Delta tables in the Glue Data Catalog: type mapping, naming, and when to
//! sync. Pure logic; the Glue calls are in the `glue-sync` function.
//!
//! # Which events count
//!
//! Only created commit files, `<root>/_delta_log/<20 digits>.json`
//! ([`crate::table::classify`]); every other key is ignored. S3 events arrive
//! out of order and in bursts, so per table only the **highest version** in
//! a batch is synced ([`latest_commits`]): the catalog follows the schema,
//! and the newest schema contains every older change that matters.
//!
//! # What a Glue table holds
//!
//! What Athena and Spark expect of a native Delta table ([`GlueTableSpec`]):
//!
//! - `TableType` `EXTERNAL_TABLE`, parameters `table_type=DELTA` (Athena),
//!   `spark.sql.sources.provider=delta` (Spark, Trino), `EXTERNAL=TRUE`, and
//!   [`LAST_UPDATE_VERSION`] = the Delta version the columns were read at;
//! - `StorageDescriptor.Location` = the table root (`s3://bucket/prefix`, no
//!   trailing slash), Parquet input/output formats and SerDe, and the SerDe
//!   parameter `path` = the root (Spark reads a data source table's location
//!   from it);
//! - the non-partition fields as `Columns`, in schema order, and the
//!   partition columns as `PartitionKeys`, in the table's partition order,
//!   each with its Hive type ([`hive_type`]) and the field's `comment`
//!   metadata as the column comment.
//!
//! Athena reads a Delta table's schema from its log and needs only the
//! location and `table_type`; the columns are there for everyone else (the
//! Glue console, Lake Formation, Spark, Redshift Spectrum).
//!
//! # Existing Glue tables
//!
//! A Glue table whose [`LAST_UPDATE_VERSION`] is at or past the commit's
//! version is left alone ([`Freshness::UpToDate`]): an event for an older
//! version after a newer one changes nothing. A Glue table of the same name
//! at another location is never overwritten ([`Freshness::OtherLocation`]).
//! When updating, parameters and column comments someone else added are
//! kept ([`GlueTableSpec::parameters`], [`GlueTableSpec::carry_comments`]).
//!
//! # Names
//!
//! Glue (for Athena) wants lowercase names of `[a-z0-9_]`, at most 255
//! characters. [`glue_name`] lowercases and replaces every other character
//! with `_`: the table root `exports/Daily-Orders.v2` becomes the table
//! `daily_orders_v2`. [`TableNaming`] picks database and table for a commit
//! key: a fixed database plus the root's last segment, or the named groups
//! `database` and `table` of a regular expression matched against the key
//! (as Oxbow's `GLUE_PATH_REGEX`).

use std::collections::{BTreeMap, HashMap};

use deltalake::kernel::{DataType, MetadataValue, PrimitiveType, StructField, StructType};
use regex::Regex;

use crate::events::{ObjectEvent, ObjectEventKind};
use crate::table::{classify, KeyClass, TablePrefixes, TableRoot};

/// The Delta version a Glue table's columns were read at.
pub const LAST_UPDATE_VERSION: &str = "delta.lastUpdateVersion";
/// Table parameter Athena reads; value [`TABLE_TYPE_DELTA`].
pub const TABLE_TYPE: &str = "table_type";
pub const TABLE_TYPE_DELTA: &str = "DELTA";
/// Table parameter Spark and Trino read; value `delta`.
pub const SPARK_PROVIDER: &str = "spark.sql.sources.provider";
pub const SPARK_PROVIDER_DELTA: &str = "delta";
/// Hive's marker of an external table (dropping it keeps the data).
pub const EXTERNAL: &str = "EXTERNAL";
/// Glue `TableType`.
pub const EXTERNAL_TABLE: &str = "EXTERNAL_TABLE";
pub const PARQUET_INPUT_FORMAT: &str =
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
pub const PARQUET_OUTPUT_FORMAT: &str =
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
pub const PARQUET_SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";
/// Glue's limit on database and table names.
pub const MAX_NAME_LEN: usize = 255;

// ---------------------------------------------------------------------------
// Types

/// The Hive type string of a Delta type, at any depth.
///
/// | Delta | Hive |
/// |---|---|
/// | `long` / `integer` / `short` / `byte` | `bigint` / `int` / `smallint` / `tinyint` |
/// | `double` / `float` | `double` / `float` |
/// | `decimal(p,s)` | `decimal(p,s)` |
/// | `boolean`, `string`, `binary`, `date` | the same |
/// | `timestamp`, `timestamp_ntz` | `timestamp` |
/// | `array<T>` | `array<T>` |
/// | `map<K,V>` | `map<K,V>` |
/// | `struct<a:T,...>` | `struct<a:T,...>`, odd field names in backticks ([`hive_field_name`]) |
/// | `void` | `void` |
/// | `interval year to month` / `interval day to second` | `interval_year_month` / `interval_day_time` |
/// | `variant` | `variant` |
///
/// Nullability has no Hive spelling and is dropped.
pub fn hive_type(data_type: &DataType) -> String {
    let mut out = String::new();
    write_hive_type(data_type, &mut out);
    out
}

fn write_hive_type(data_type: &DataType, out: &mut String) {
    match data_type {
        DataType::Primitive(p) => out.push_str(&hive_primitive(p)),
        DataType::Array(a) => {
            out.push_str("array<");
            write_hive_type(a.element_type(), out);
            out.push('>');
        }
        DataType::Map(m) => {
            out.push_str("map<");
            write_hive_type(m.key_type(), out);
            out.push(',');
            write_hive_type(m.value_type(), out);
            out.push('>');
        }
        DataType::Struct(s) => {
            out.push_str("struct<");
            for (i, field) in s.fields().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&hive_field_name(field.name()));
                out.push(':');
                write_hive_type(field.data_type(), out);
            }
            out.push('>');
        }
        // Spark 4's name; Hive has none (and Athena cannot read variants).
        DataType::Variant(_) => out.push_str("variant"),
    }
}

fn hive_primitive(p: &PrimitiveType) -> String {
    #[allow(unreachable_patterns)]
    match p {
        PrimitiveType::String => "string".into(),
        PrimitiveType::Long => "bigint".into(),
        PrimitiveType::Integer => "int".into(),
        PrimitiveType::Short => "smallint".into(),
        PrimitiveType::Byte => "tinyint".into(),
        PrimitiveType::Float => "float".into(),
        PrimitiveType::Double => "double".into(),
        PrimitiveType::Boolean => "boolean".into(),
        PrimitiveType::Binary => "binary".into(),
        PrimitiveType::Date => "date".into(),
        PrimitiveType::Timestamp | PrimitiveType::TimestampNtz => "timestamp".into(),
        PrimitiveType::Decimal(d) => format!("decimal({},{})", d.precision(), d.scale()),
        PrimitiveType::Void => "void".into(),
        PrimitiveType::IntervalYearMonth => "interval_year_month".into(),
        PrimitiveType::IntervalDayTime => "interval_day_time".into(),
        // Variants behind kernel features (nanosecond timestamps, geo
        // types): their Delta name, which Glue stores as given.
        other => other.to_string(),
    }
}

/// A struct field name as Hive type strings spell it: as is when it is
/// `[A-Za-z0-9_]+` and not all digits, otherwise in backticks with inner
/// backticks doubled (Spark's `quoteIfNeeded`): `` `order id` ``.
pub fn hive_field_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.bytes().all(|b| b.is_ascii_digit());
    if plain {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

// ---------------------------------------------------------------------------
// Names

/// A Glue database and table name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GlueTarget {
    pub database: String,
    pub table: String,
}

impl std::fmt::Display for GlueTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.database, self.table)
    }
}

/// `raw` as a Glue name: ASCII lowercase, every character other than
/// `[a-z0-9_]` replaced by `_`, cut at [`MAX_NAME_LEN`]. `None` when empty.
pub fn glue_name(raw: &str) -> Option<String> {
    let name: String = raw
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_NAME_LEN)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Why a naming configuration is rejected. The function maps each to the
/// environment variable it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    #[error("not a valid regular expression: {0}")]
    InvalidRegex(String),
    #[error("has no named group `table`; write it as (?P<table>...)")]
    MissingTableGroup,
    #[error("has no named group `database` (write it as (?P<database>...)) and no default database is set")]
    MissingDatabaseGroup,
    #[error("{value:?} is not a Glue database name Athena can use: lowercase letters, digits and `_` only (e.g. {suggestion:?})")]
    InvalidDatabase { value: String, suggestion: String },
    #[error("neither a database nor a path regex is set")]
    Unconfigured,
}

/// How a commit key maps to a Glue database and table.
#[derive(Debug, Clone)]
pub enum TableNaming {
    /// Every table in one database, named after its root's last segment
    /// (the bucket's name for a table at the bucket root).
    Database(String),
    /// The named groups `database` and `table` of a regex matched against
    /// the commit file's key (unanchored, as Oxbow does); `database`
    /// defaults to `default_database` when the regex has no such group.
    /// Keys it does not match are ignored.
    Regex {
        regex: Regex,
        default_database: Option<String>,
    },
}

impl TableNaming {
    /// Validate a configuration: the regex, when given, wins and must have
    /// a `table` group, and a `database` group unless `database` is given.
    pub fn new(database: Option<&str>, path_regex: Option<&str>) -> Result<Self, NamingError> {
        let database = database.map(valid_database).transpose()?;
        match (path_regex, database) {
            (Some(pattern), default_database) => {
                let regex =
                    Regex::new(pattern).map_err(|e| NamingError::InvalidRegex(e.to_string()))?;
                let has = |group: &str| regex.capture_names().flatten().any(|n| n == group);
                if !has("table") {
                    return Err(NamingError::MissingTableGroup);
                }
                if !has("database") && default_database.is_none() {
                    return Err(NamingError::MissingDatabaseGroup);
                }
                Ok(TableNaming::Regex {
                    regex,
                    default_database,
                })
            }
            (None, Some(database)) => Ok(TableNaming::Database(database)),
            (None, None) => Err(NamingError::Unconfigured),
        }
    }

    /// The Glue table for the commit file `key` of the table at `root`, or
    /// `None` when the regex does not match (or matches empty names).
    pub fn target(&self, key: &str, root: &TableRoot) -> Option<GlueTarget> {
        match self {
            TableNaming::Database(database) => {
                let last = root
                    .prefix
                    .rsplit('/')
                    .find(|s| !s.is_empty())
                    .unwrap_or(root.bucket.as_str());
                Some(GlueTarget {
                    database: database.clone(),
                    table: glue_name(last)?,
                })
            }
            TableNaming::Regex {
                regex,
                default_database,
            } => {
                let caps = regex.captures(key)?;
                let table = glue_name(caps.name("table")?.as_str())?;
                let database = match caps.name("database") {
                    Some(m) => glue_name(m.as_str())?,
                    None => default_database.clone()?,
                };
                Some(GlueTarget { database, table })
            }
        }
    }
}

fn valid_database(value: &str) -> Result<String, NamingError> {
    let lower = value.to_ascii_lowercase();
    match glue_name(value) {
        Some(name) if name == lower => Ok(name),
        suggestion => Err(NamingError::InvalidDatabase {
            value: value.to_string(),
            suggestion: suggestion.unwrap_or_else(|| "analytics".into()),
        }),
    }
}

// ---------------------------------------------------------------------------
// Which commits

/// The newest commit of one table seen in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCommit {
    pub root: TableRoot,
    /// The highest version among the batch's commit events for the table.
    pub version: u64,
    /// The key of that version's commit file.
    pub key: String,
    /// Every message that carried a commit event of this table, once each,
    /// in order: they succeed or fail with the table.
    pub message_ids: Vec<String>,
    /// Commit events of the table in the batch (duplicates included).
    pub events: usize,
}

/// A batch's commit events, one entry per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitSelection {
    /// Ordered by table root.
    pub tables: Vec<TableCommit>,
    /// Events that are not a created commit file.
    pub ignored: usize,
}

/// Per table, the highest committed version among `events`. Only created
/// commit files count (a removed commit file is log cleanup).
pub fn latest_commits(events: &[ObjectEvent]) -> CommitSelection {
    let none = TablePrefixes::default();
    let mut by_root: BTreeMap<TableRoot, TableCommit> = BTreeMap::new();
    let mut ignored = 0;
    for e in events {
        let KeyClass::Commit { table, version } = classify(&e.bucket, &e.key, &none) else {
            ignored += 1;
            continue;
        };
        if e.kind != ObjectEventKind::Created {
            ignored += 1;
            continue;
        }
        let entry = by_root.entry(table.clone()).or_insert_with(|| TableCommit {
            root: table,
            version,
            key: e.key.clone(),
            message_ids: Vec::new(),
            events: 0,
        });
        entry.events += 1;
        if version > entry.version {
            entry.version = version;
            entry.key = e.key.clone();
        }
        if let Some(id) = &e.message_id {
            if !entry.message_ids.contains(id) {
                entry.message_ids.push(id.clone());
            }
        }
    }
    CommitSelection {
        tables: by_root.into_values().collect(),
        ignored,
    }
}

// ---------------------------------------------------------------------------
// What to write

/// A Glue column: name, Hive type, comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlueColumn {
    pub name: String,
    pub hive_type: String,
    pub comment: Option<String>,
}

impl GlueColumn {
    fn of(field: &StructField) -> Self {
        let comment = match field.metadata().get("comment") {
            Some(MetadataValue::String(c)) if !c.is_empty() => Some(c.clone()),
            _ => None,
        };
        GlueColumn {
            name: field.name().clone(),
            hive_type: hive_type(field.data_type()),
            comment,
        }
    }
}

/// Why a table's Glue definition cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlueError {
    #[error("partition column {column:?} is not in the table's schema")]
    PartitionColumnMissing { column: String },
}

/// The Glue table a Delta table at one version calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlueTableSpec {
    pub target: GlueTarget,
    /// The table root, `s3://bucket/prefix`.
    pub location: String,
    /// Non-partition columns, in schema order.
    pub columns: Vec<GlueColumn>,
    /// Partition columns, in the table's partition order.
    pub partition_keys: Vec<GlueColumn>,
    /// The Delta table's description, if any.
    pub description: Option<String>,
    /// The Delta version the schema was read at.
    pub version: u64,
}

impl GlueTableSpec {
    /// Build from a Delta schema and partition columns.
    pub fn new(
        target: GlueTarget,
        location: impl Into<String>,
        schema: &StructType,
        partition_columns: &[String],
        description: Option<&str>,
        version: u64,
    ) -> Result<Self, GlueError> {
        let mut partition_keys = Vec::with_capacity(partition_columns.len());
        for column in partition_columns {
            let field = schema
                .field(column)
                .ok_or_else(|| GlueError::PartitionColumnMissing {
                    column: column.clone(),
                })?;
            partition_keys.push(GlueColumn::of(field));
        }
        let columns = schema
            .fields()
            .filter(|f| !partition_columns.contains(f.name()))
            .map(GlueColumn::of)
            .collect();
        Ok(GlueTableSpec {
            target,
            location: location.into(),
            columns,
            partition_keys,
            description: description.filter(|d| !d.is_empty()).map(str::to_string),
            version,
        })
    }

    /// Table parameters: `existing` ones kept, ours set on top
    /// (`table_type`, `spark.sql.sources.provider`, `EXTERNAL`,
    /// `delta.lastUpdateVersion`).
    pub fn parameters(
        &self,
        existing: Option<&HashMap<String, String>>,
    ) -> HashMap<String, String> {
        let mut params = existing.cloned().unwrap_or_default();
        for (k, v) in [
            (TABLE_TYPE, TABLE_TYPE_DELTA.to_string()),
            (SPARK_PROVIDER, SPARK_PROVIDER_DELTA.to_string()),
            (EXTERNAL, "TRUE".to_string()),
            (LAST_UPDATE_VERSION, self.version.to_string()),
        ] {
            params.insert(k.to_string(), v);
        }
        params
    }

    /// SerDe parameters: `serialization.format=1` and `path` = location.
    pub fn serde_parameters(&self) -> HashMap<String, String> {
        HashMap::from([
            ("serialization.format".to_string(), "1".to_string()),
            ("path".to_string(), self.location.clone()),
        ])
    }

    /// Keep comments someone gave columns in Glue where the Delta field has
    /// none (same column name, ASCII case-insensitive, as Glue compares).
    pub fn carry_comments(&mut self, existing: &ExistingTable) {
        let find = |name: &str| {
            existing
                .columns
                .iter()
                .chain(&existing.partition_keys)
                .find(|c| c.name.eq_ignore_ascii_case(name))
                .and_then(|c| c.comment.clone())
        };
        for column in self
            .columns
            .iter_mut()
            .chain(self.partition_keys.iter_mut())
        {
            if column.comment.is_none() {
                column.comment = find(&column.name);
            }
        }
    }

    /// Whether the columns or partition keys differ from `existing`'s.
    pub fn schema_differs(&self, existing: &ExistingTable) -> bool {
        self.columns != existing.columns || self.partition_keys != existing.partition_keys
    }
}

/// What Glue holds for a table, as far as syncing cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExistingTable {
    pub location: Option<String>,
    pub parameters: HashMap<String, String>,
    pub columns: Vec<GlueColumn>,
    pub partition_keys: Vec<GlueColumn>,
}

impl ExistingTable {
    /// [`LAST_UPDATE_VERSION`], when set and a number.
    pub fn last_update_version(&self) -> Option<u64> {
        self.parameters
            .get(LAST_UPDATE_VERSION)
            .and_then(|v| v.trim().parse().ok())
    }
}

/// How a Glue table stands against a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// No such Glue table: create it.
    Missing,
    /// Older than the commit (or never synced): update it.
    Behind { glue_version: Option<u64> },
    /// At or past the commit: nothing to do.
    UpToDate { glue_version: u64 },
    /// A Glue table of that name points elsewhere: leave it alone.
    OtherLocation { existing: String },
}

/// Where `existing` stands for the table at `location` committed at `version`.
pub fn freshness(existing: Option<&ExistingTable>, location: &str, version: u64) -> Freshness {
    let Some(existing) = existing else {
        return Freshness::Missing;
    };
    if let Some(there) = &existing.location {
        if !same_location(there, location) {
            return Freshness::OtherLocation {
                existing: there.clone(),
            };
        }
    }
    match existing.last_update_version() {
        Some(v) if v >= version => Freshness::UpToDate { glue_version: v },
        glue_version => Freshness::Behind { glue_version },
    }
}

/// Locations compared without trailing slashes, `s3a://` as `s3://`.
fn same_location(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim().trim_end_matches('/');
        match s.strip_prefix("s3a://") {
            Some(rest) => format!("s3://{rest}"),
            None => s.to_string(),
        }
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::kernel::{ArrayType, MapType};

    fn schema(json: &str) -> StructType {
        serde_json::from_str(json).unwrap()
    }

    /// The Hive type of a one-field schema whose field has Delta type `ty`
    /// (as JSON, exactly as the log stores it).
    fn hive_of(ty: &str) -> String {
        let s = schema(&format!(
            r#"{{"type":"struct","fields":[{{"name":"c","type":{ty},"nullable":true,"metadata":{{}}}}]}}"#
        ));
        hive_type(s.field("c").unwrap().data_type())
    }

    #[test]
    fn every_primitive_delta_type() {
        for (delta, hive) in [
            (r#""long""#, "bigint"),
            (r#""integer""#, "int"),
            (r#""short""#, "smallint"),
            (r#""byte""#, "tinyint"),
            (r#""double""#, "double"),
            (r#""float""#, "float"),
            (r#""decimal(10,2)""#, "decimal(10,2)"),
            (r#""decimal(38,0)""#, "decimal(38,0)"),
            (r#""decimal(5, 5)""#, "decimal(5,5)"),
            (r#""boolean""#, "boolean"),
            (r#""string""#, "string"),
            (r#""binary""#, "binary"),
            (r#""date""#, "date"),
            (r#""timestamp""#, "timestamp"),
            (r#""timestamp_ntz""#, "timestamp"),
        ] {
            assert_eq!(hive_of(delta), hive, "{delta}");
        }
        // Built in code rather than parsed: the rest of the primitives.
        assert_eq!(hive_type(&DataType::VOID), "void");
        assert_eq!(
            hive_type(&DataType::INTERVAL_YEAR_MONTH),
            "interval_year_month"
        );
        assert_eq!(hive_type(&DataType::INTERVAL_DAY_TIME), "interval_day_time");
        assert_eq!(hive_type(&DataType::unshredded_variant()), "variant");
    }

    #[test]
    fn arrays_maps_and_structs_at_any_depth() {
        assert_eq!(
            hive_of(r#"{"type":"array","elementType":"long","containsNull":true}"#),
            "array<bigint>"
        );
        assert_eq!(
            hive_of(
                r#"{"type":"map","keyType":"string","valueType":"decimal(12,4)","valueContainsNull":false}"#
            ),
            "map<string,decimal(12,4)>"
        );
        let nested = r#"{
            "type":"struct","fields":[
                {"name":"id","type":"integer","nullable":false,"metadata":{}},
                {"name":"tags","type":{"type":"array","elementType":"string","containsNull":true},"nullable":true,"metadata":{}},
                {"name":"attrs","type":{"type":"map","keyType":"string",
                    "valueType":{"type":"array","elementType":{"type":"struct","fields":[
                        {"name":"at","type":"timestamp_ntz","nullable":true,"metadata":{}},
                        {"name":"raw","type":"binary","nullable":true,"metadata":{}}
                    ]},"containsNull":true},
                    "valueContainsNull":true},"nullable":true,"metadata":{}},
                {"name":"inner","type":{"type":"struct","fields":[
                    {"name":"deeper","type":{"type":"struct","fields":[
                        {"name":"d","type":"date","nullable":true,"metadata":{}},
                        {"name":"ok","type":"boolean","nullable":true,"metadata":{}}
                    ]},"nullable":true,"metadata":{}}
                ]},"nullable":true,"metadata":{}}
            ]}"#;
        assert_eq!(
            hive_of(nested),
            "struct<id:int,tags:array<string>,\
             attrs:map<string,array<struct<at:timestamp,raw:binary>>>,\
             inner:struct<deeper:struct<d:date,ok:boolean>>>"
        );
        // A map keyed by a struct, an array of maps, built in code.
        let key = StructType::try_new([StructField::nullable("k", DataType::SHORT)]).unwrap();
        let t = DataType::Array(Box::new(ArrayType::new(
            DataType::Map(Box::new(MapType::new(
                DataType::Struct(Box::new(key)),
                DataType::BYTE,
                true,
            ))),
            true,
        )));
        assert_eq!(hive_type(&t), "array<map<struct<k:smallint>,tinyint>>");
    }

    #[test]
    fn odd_struct_field_names_are_quoted() {
        assert_eq!(hive_field_name("order_id"), "order_id");
        assert_eq!(hive_field_name("Order2"), "Order2");
        assert_eq!(hive_field_name("order id"), "`order id`");
        assert_eq!(hive_field_name("a:b"), "`a:b`");
        assert_eq!(hive_field_name("x,y<z>"), "`x,y<z>`");
        assert_eq!(hive_field_name("tick`s"), "`tick``s`");
        assert_eq!(hive_field_name("123"), "`123`");
        assert_eq!(hive_field_name("région"), "`région`");
        assert_eq!(hive_field_name(""), "``");
        assert_eq!(
            hive_of(
                r#"{"type":"struct","fields":[
                    {"name":"my field","type":"long","nullable":true,"metadata":{}},
                    {"name":"ok","type":"long","nullable":true,"metadata":{}}]}"#
            ),
            "struct<`my field`:bigint,ok:bigint>"
        );
    }

    #[test]
    fn glue_names() {
        assert_eq!(glue_name("orders").as_deref(), Some("orders"));
        assert_eq!(
            glue_name("Daily-Orders.v2").as_deref(),
            Some("daily_orders_v2")
        );
        assert_eq!(glue_name("événements").as_deref(), Some("_v_nements"));
        assert_eq!(glue_name("my table").as_deref(), Some("my_table"));
        assert_eq!(glue_name(""), None);
        assert_eq!(glue_name(&"x".repeat(300)).map(|n| n.len()), Some(255));
    }

    fn root(bucket: &str, prefix: &str) -> TableRoot {
        TableRoot {
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    fn target(db: &str, table: &str) -> GlueTarget {
        GlueTarget {
            database: db.into(),
            table: table.into(),
        }
    }

    #[test]
    fn fixed_database_names_tables_after_the_root() {
        let naming = TableNaming::new(Some("Analytics"), None).unwrap();
        let key = "exports/Daily-Orders/_delta_log/00000000000000000003.json";
        assert_eq!(
            naming.target(key, &root("b", "exports/Daily-Orders")),
            Some(target("analytics", "daily_orders"))
        );
        // A table at the bucket root is named after the bucket.
        assert_eq!(
            naming.target(
                "_delta_log/00000000000000000000.json",
                &root("my-bucket", "")
            ),
            Some(target("analytics", "my_bucket"))
        );
    }

    #[test]
    fn regex_naming_is_oxbow_compatible() {
        let pattern = r"data-lake/(?P<database>\w+)/(?P<table>\w+\.?\w+)/_delta_log/.*\.json";
        let naming = TableNaming::new(None, Some(pattern)).unwrap();
        let key = "data-lake/test/my_big_long_table_name/_delta_log/00000000000000000000.json";
        let r = root("b", "data-lake/test/my_big_long_table_name");
        assert_eq!(
            naming.target(key, &r),
            Some(target("test", "my_big_long_table_name"))
        );
        // Unanchored, as Oxbow matches; names are sanitised.
        let naming = TableNaming::new(
            None,
            Some(r"(?P<database>[^/]+)/(?P<table>[^/]+)/_delta_log/"),
        )
        .unwrap();
        assert_eq!(
            naming.target(
                "lake/Sales-EU/Orders.v2/_delta_log/00000000000000000001.json",
                &root("b", "lake/Sales-EU/Orders.v2")
            ),
            Some(target("sales_eu", "orders_v2"))
        );
        // Keys it does not match are not synced.
        assert_eq!(
            naming.target(
                "_delta_log/00000000000000000001.json",
                &root("b", "elsewhere")
            ),
            None
        );
        // No database group: GLUE_DATABASE is the default.
        let naming =
            TableNaming::new(Some("lake"), Some(r"^tables/(?P<table>[^/]+)/_delta_log/")).unwrap();
        assert_eq!(
            naming.target(
                "tables/t1/_delta_log/00000000000000000001.json",
                &root("b", "tables/t1")
            ),
            Some(target("lake", "t1"))
        );
    }

    #[test]
    fn naming_configuration_errors() {
        assert_eq!(
            TableNaming::new(None, None).unwrap_err(),
            NamingError::Unconfigured
        );
        assert!(matches!(
            TableNaming::new(None, Some("(?P<table>")).unwrap_err(),
            NamingError::InvalidRegex(_)
        ));
        assert_eq!(
            TableNaming::new(None, Some("(?P<database>[^/]+)/")).unwrap_err(),
            NamingError::MissingTableGroup
        );
        assert_eq!(
            TableNaming::new(None, Some("(?P<table>[^/]+)/_delta_log")).unwrap_err(),
            NamingError::MissingDatabaseGroup
        );
        let err = TableNaming::new(Some("my-db"), None).unwrap_err();
        assert_eq!(
            err,
            NamingError::InvalidDatabase {
                value: "my-db".into(),
                suggestion: "my_db".into()
            }
        );
        assert!(err.to_string().contains("\"my_db\""), "{err}");
    }

    fn event(key: &str, kind: ObjectEventKind, message: &str) -> ObjectEvent {
        ObjectEvent {
            bucket: "b".into(),
            key: key.into(),
            size: None,
            kind,
            event_name: "ObjectCreated:Put".into(),
            event_time: None,
            sequencer: None,
            message_id: Some(message.into()),
        }
    }

    #[test]
    fn only_the_newest_commit_per_table_counts() {
        use ObjectEventKind::{Created, Removed};
        let events = [
            event("t1/_delta_log/00000000000000000003.json", Created, "m1"),
            event("t1/_delta_log/00000000000000000005.json", Created, "m2"),
            event("t1/_delta_log/00000000000000000004.json", Created, "m3"),
            event("t1/_delta_log/00000000000000000005.json", Created, "m2"),
            event("t2/_delta_log/00000000000000000000.json", Created, "m3"),
            event("t2/_delta_log/00000000000000000009.json", Removed, "m4"),
            event(
                "t2/_delta_log/00000000000000000010.checkpoint.parquet",
                Created,
                "m4",
            ),
            event("t2/_delta_log/_last_checkpoint", Created, "m4"),
            event("t2/part-0.parquet", Created, "m5"),
        ];
        let s = latest_commits(&events);
        assert_eq!(s.ignored, 4);
        assert_eq!(s.tables.len(), 2);
        let t1 = &s.tables[0];
        assert_eq!(t1.root, root("b", "t1"));
        assert_eq!(t1.version, 5);
        assert_eq!(t1.key, "t1/_delta_log/00000000000000000005.json");
        assert_eq!(t1.message_ids, ["m1", "m2", "m3"]);
        assert_eq!(t1.events, 4);
        let t2 = &s.tables[1];
        assert_eq!(
            (t2.version, t2.message_ids.as_slice()),
            (0, &["m3".to_string()][..])
        );
    }

    fn orders_schema() -> StructType {
        schema(
            r#"{"type":"struct","fields":[
                {"name":"id","type":"long","nullable":false,"metadata":{"comment":"order id"}},
                {"name":"ds","type":"string","nullable":true,"metadata":{}},
                {"name":"amount","type":"decimal(10,2)","nullable":true,"metadata":{}},
                {"name":"region","type":"string","nullable":true,"metadata":{}}
            ]}"#,
        )
    }

    fn col(name: &str, ty: &str, comment: Option<&str>) -> GlueColumn {
        GlueColumn {
            name: name.into(),
            hive_type: ty.into(),
            comment: comment.map(str::to_string),
        }
    }

    #[test]
    fn spec_splits_columns_and_partition_keys() {
        let spec = GlueTableSpec::new(
            target("db", "orders"),
            "s3://b/exports/orders",
            &orders_schema(),
            &["region".to_string(), "ds".to_string()],
            Some(""),
            7,
        )
        .unwrap();
        assert_eq!(
            spec.columns,
            [
                col("id", "bigint", Some("order id")),
                col("amount", "decimal(10,2)", None)
            ]
        );
        assert_eq!(
            spec.partition_keys,
            [col("region", "string", None), col("ds", "string", None)]
        );
        assert_eq!(spec.description, None);
        let params = spec.parameters(Some(&HashMap::from([
            ("classification".to_string(), "parquet".to_string()),
            (LAST_UPDATE_VERSION.to_string(), "3".to_string()),
        ])));
        assert_eq!(params["table_type"], "DELTA");
        assert_eq!(params["spark.sql.sources.provider"], "delta");
        assert_eq!(params["EXTERNAL"], "TRUE");
        assert_eq!(params[LAST_UPDATE_VERSION], "7");
        assert_eq!(
            params["classification"], "parquet",
            "others' parameters kept"
        );
        assert_eq!(spec.serde_parameters()["path"], "s3://b/exports/orders");

        let err = GlueTableSpec::new(
            target("db", "orders"),
            "s3://b/o",
            &orders_schema(),
            &["nope".to_string()],
            None,
            0,
        )
        .unwrap_err();
        assert_eq!(
            err,
            GlueError::PartitionColumnMissing {
                column: "nope".into()
            }
        );
    }

    #[test]
    fn freshness_and_schema_changes() {
        let loc = "s3://b/exports/orders";
        assert_eq!(freshness(None, loc, 0), Freshness::Missing);
        let mut existing = ExistingTable {
            location: Some(format!("{loc}/")),
            parameters: HashMap::from([(LAST_UPDATE_VERSION.to_string(), "5".to_string())]),
            columns: vec![
                col("id", "bigint", None),
                col("amount", "decimal(10,2)", Some("EUR")),
            ],
            partition_keys: vec![col("ds", "string", None)],
        };
        assert_eq!(
            freshness(Some(&existing), loc, 4),
            Freshness::UpToDate { glue_version: 5 }
        );
        assert_eq!(
            freshness(Some(&existing), loc, 5),
            Freshness::UpToDate { glue_version: 5 }
        );
        assert_eq!(
            freshness(Some(&existing), "s3a://b/exports/orders", 6),
            Freshness::Behind {
                glue_version: Some(5)
            }
        );
        assert_eq!(
            freshness(Some(&existing), "s3://b/other/orders", 6),
            Freshness::OtherLocation {
                existing: format!("{loc}/")
            }
        );
        existing
            .parameters
            .insert(LAST_UPDATE_VERSION.into(), "garbage".into());
        assert_eq!(
            freshness(Some(&existing), loc, 1),
            Freshness::Behind { glue_version: None }
        );

        let mut spec = GlueTableSpec::new(
            target("db", "orders"),
            loc,
            &schema(
                r#"{"type":"struct","fields":[
                {"name":"id","type":"long","nullable":false,"metadata":{}},
                {"name":"amount","type":"decimal(10,2)","nullable":true,"metadata":{}},
                {"name":"ds","type":"string","nullable":true,"metadata":{}}]}"#,
            ),
            &["ds".to_string()],
            None,
            6,
        )
        .unwrap();
        spec.carry_comments(&existing);
        assert_eq!(spec.columns[1].comment.as_deref(), Some("EUR"));
        assert!(!spec.schema_differs(&existing));
        spec.columns.push(col("note", "string", None));
        assert!(spec.schema_differs(&existing));
    }
}
