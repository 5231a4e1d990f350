//! DynamoDB items -> typed Arrow rows, with the table schema inferred and
//! evolved on the way.
//!
//! [`convert`] takes the table schema (or none for a new table), the rows of
//! a batch, and returns the table schema after the batch and a
//! `RecordBatch` in that schema. The rules are the ones in the
//! [module docs](super): existing columns keep their type, new attributes
//! become new nullable columns typed from the batch's values (the first
//! value of a batch decides the kind of a new column), and a value that does
//! not fit its column is *rescued*: the column is null in that row and the
//! attribute is kept, in DynamoDB JSON, in the `_rescued` column. Nothing is
//! dropped, nothing fails a record, nothing panics.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, BinaryBuilder, BooleanArray, Decimal128Array, Float64Array,
    Int16Array, Int32Array, Int64Array, Int8Array, ListArray, RecordBatch, StringArray,
    StructArray, TimestampMicrosecondArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType as ArrowType, Schema as ArrowSchema, TimeUnit};
use deltalake::kernel::engine::arrow_conversion::TryFromKernel;
use deltalake::kernel::{
    ArrayType, DataType, DecimalType, MetadataValue, PrimitiveType, StructField, StructType,
};

use super::attr::{dynamodb_json_object, plain_json, Attr, Item, Number};
use crate::schema;

/// Characters Parquet (and Spark, without column mapping) refuse in column
/// names: attributes named with them are rescued instead of becoming columns.
pub const INVALID_NAME_CHARS: &[char] = &[' ', ',', ';', '{', '}', '(', ')', '\n', '\t', '='];

/// Field metadata key marking a string column that holds JSON text of maps
/// and lists (`NESTED=json`), so a plain string never lands there.
pub const TYPE_TAG_KEY: &str = "meander.dynamodb.type";
/// The [`TYPE_TAG_KEY`] value of JSON columns.
pub const JSON_TAG: &str = "json";
/// The column holding attributes that did not fit their column, as a JSON
/// object of DynamoDB JSON values (`{"price":{"N":"12.5"}}`).
pub const RESCUED_COLUMN: &str = "_rescued";

/// How maps and lists become columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Nested {
    /// M and L as JSON text in a string column.
    #[default]
    Json,
    /// M as a struct (one field per key seen), L as a list.
    Native,
}

impl std::str::FromStr for Nested {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Nested::Json),
            "native" => Ok(Nested::Native),
            _ => Err("expected json or native".into()),
        }
    }
}

/// Conversion settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypingOptions {
    pub nested: Nested,
    /// Top-level attributes stored as timestamps (ISO-8601 strings or epoch numbers).
    pub timestamp_columns: BTreeSet<String>,
    /// Columns a new table must have (partition columns); those no row
    /// provides are created as nullable strings.
    pub required_columns: Vec<String>,
    /// Extra attribute names that may not become columns (compared without
    /// case), besides the metadata columns and `_rescued`.
    pub reserved: Vec<String>,
}

/// A column the function fills itself (`_seq`, `_op`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaColumn {
    pub name: &'static str,
    pub data_type: DataType,
}

/// A value on its way into an Arrow array.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Str(String),
    Bin(Vec<u8>),
    Int(i64),
    Decimal(i128),
    Double(f64),
    /// Microseconds since the epoch, UTC.
    Timestamp(i64),
    List(Vec<Cell>),
    /// Values in the struct's field order.
    Struct(Vec<Cell>),
}

/// One row to convert: its metadata column values (in [`MetaColumn`]
/// order) and the item.
#[derive(Debug, Clone)]
pub struct RowIn<'a> {
    pub meta: Vec<Cell>,
    pub item: &'a Item,
}

/// A converted batch.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The table schema after this batch.
    pub schema: StructType,
    /// Whether `schema` differs from the table's (new columns or fields),
    /// or the table is new.
    pub evolved: bool,
    /// One row per input row, in `schema`'s columns.
    pub batch: RecordBatch,
    /// Rescued values per attribute name.
    pub rescued: BTreeMap<String, usize>,
}

/// Why a batch cannot be converted at all (a table problem, not a record's).
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("column `{column}` is {found} in the table, but dynamo-cdc writes it as {expected}: point DELTA_TABLE_URI at a table this function owns")]
    MetaColumn {
        column: String,
        expected: String,
        found: String,
    },
    #[error("column `{column}` is NOT NULL in the table but some items lack it")]
    NotNull { column: String },
    #[error(transparent)]
    Schema(#[from] schema::SchemaError),
    #[error("building Arrow data failed: {0}")]
    Arrow(String),
}

/// Convert `rows` against the table schema `base` (`None`: a new table).
pub fn convert(
    base: Option<&StructType>,
    meta: &[MetaColumn],
    key_names: &[String],
    rows: &[RowIn<'_>],
    options: &TypingOptions,
) -> Result<Converted, ConvertError> {
    let mut columns: Vec<Column> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    if let Some(base) = base {
        for f in base.fields() {
            index.insert(f.name().to_lowercase(), columns.len());
            columns.push(Column {
                name: f.name().to_string(),
                shape: Shape::from_delta(f.data_type(), f),
                existing: Some(f.clone()),
                meta: None,
            });
        }
    }
    let mut reserved: BTreeSet<String> =
        options.reserved.iter().map(|r| r.to_lowercase()).collect();
    reserved.insert(RESCUED_COLUMN.to_string());
    for (m, column) in meta.iter().enumerate() {
        reserved.insert(m_lower(column.name));
        match index.get(&m_lower(column.name)) {
            Some(&i) => {
                let existing = &columns[i];
                let found = existing.existing.as_ref().map(|f| f.data_type().clone());
                if existing.name != column.name || found.as_ref() != Some(&column.data_type) {
                    return Err(ConvertError::MetaColumn {
                        column: existing.name.clone(),
                        expected: column.data_type.to_string(),
                        found: found.map(|t| t.to_string()).unwrap_or_default(),
                    });
                }
                columns[i].meta = Some(m);
            }
            None => {
                index.insert(m_lower(column.name), columns.len());
                columns.push(Column {
                    name: column.name.to_string(),
                    shape: Shape::Other(column.data_type.clone()),
                    existing: None,
                    meta: Some(m),
                });
            }
        }
    }
    if let Some(&i) = index.get(RESCUED_COLUMN) {
        let f = columns[i].existing.as_ref();
        if f.map(|f| f.data_type()) != Some(&DataType::STRING) || columns[i].name != RESCUED_COLUMN
        {
            return Err(ConvertError::MetaColumn {
                column: columns[i].name.clone(),
                expected: "string".into(),
                found: f.map(|f| f.data_type().to_string()).unwrap_or_default(),
            });
        }
    }

    // Pass 1: shapes. New columns are made in key order, then name order.
    let mut rescued_pairs: Vec<Vec<(String, Attr)>> = vec![Vec::new(); rows.len()];
    let mut accepted: Vec<Vec<bool>> = Vec::with_capacity(rows.len());
    for (r, row) in rows.iter().enumerate() {
        let mut flags = Vec::with_capacity(row.item.len());
        let ordered = ordered_attributes(row.item, key_names);
        for (name, attr) in &ordered {
            let ok = accept_top(&mut columns, &mut index, &reserved, name, attr, options);
            flags.push(ok);
            if !ok {
                rescued_pairs[r].push((name.to_string(), (*attr).clone()));
            }
        }
        accepted.push(flags);
    }

    // Required (partition) columns of a new table.
    if base.is_none() {
        for name in &options.required_columns {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                index.entry(name.to_lowercase())
            {
                slot.insert(columns.len());
                columns.push(Column {
                    name: name.clone(),
                    shape: Shape::Str,
                    existing: None,
                    meta: None,
                });
            }
        }
    }

    // Finalise types.
    let mut fields: Vec<StructField> = Vec::new();
    for c in &columns {
        let field = match (&c.existing, c.meta) {
            (Some(f), _) => match c.shape.finalize() {
                Some((t, _)) => Some(StructField {
                    data_type: t,
                    ..f.clone()
                }),
                None => Some(f.clone()),
            },
            (None, Some(m)) => meta
                .get(m)
                .map(|mc| StructField::nullable(mc.name, mc.data_type.clone())),
            (None, None) => c
                .shape
                .finalize()
                .map(|(t, json)| with_tag(StructField::nullable(c.name.clone(), t), json)),
        };
        if let Some(f) = field {
            fields.push(f);
        }
    }

    // Pass 2: cells.
    let mut field_pos: HashMap<&str, usize> = HashMap::new();
    for (i, f) in fields.iter().enumerate() {
        field_pos.insert(f.name(), i);
    }
    let mut table: Vec<Vec<Cell>> = vec![Vec::with_capacity(rows.len()); fields.len()];
    let mut rescued_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut rescued_cells: Vec<Option<String>> = Vec::with_capacity(rows.len());
    for (r, row) in rows.iter().enumerate() {
        let mut cells: Vec<Cell> = vec![Cell::Null; fields.len()];
        for (m, column) in meta.iter().enumerate() {
            if let (Some(&p), Some(v)) = (field_pos.get(column.name), row.meta.get(m)) {
                cells[p] = v.clone();
            }
        }
        let ordered = ordered_attributes(row.item, key_names);
        for ((name, attr), ok) in ordered.iter().zip(&accepted[r]) {
            if !*ok || matches!(attr, Attr::Null) {
                continue;
            }
            let cell = field_pos
                .get(*name)
                .and_then(|&p| coerce(attr, &fields[p], true).map(|c| (p, c)));
            match cell {
                Some((p, c)) => cells[p] = c,
                None => rescued_pairs[r].push((name.to_string(), (*attr).clone())),
            }
        }
        let pairs = &mut rescued_pairs[r];
        if pairs.is_empty() {
            rescued_cells.push(None);
        } else {
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, _) in pairs.iter() {
                *rescued_counts.entry(name.clone()).or_default() += 1;
            }
            rescued_cells.push(Some(dynamodb_json_object(
                pairs.iter().map(|(k, v)| (k.as_str(), v)),
            )));
        }
        for (p, cell) in cells.into_iter().enumerate() {
            table[p].push(cell);
        }
    }
    if !rescued_counts.is_empty() || field_pos.contains_key(RESCUED_COLUMN) {
        let cells: Vec<Cell> = rescued_cells
            .into_iter()
            .map(|c| c.map(Cell::Str).unwrap_or(Cell::Null))
            .collect();
        match field_pos.get(RESCUED_COLUMN) {
            Some(&p) => table[p] = cells,
            None => {
                fields.push(StructField::nullable(RESCUED_COLUMN, DataType::STRING));
                table.push(cells);
            }
        }
    }

    let incoming = StructType::try_new(fields.clone()).map_err(|e| {
        ConvertError::Schema(schema::SchemaError::Invalid {
            reason: e.to_string(),
        })
    })?;
    let (schema, evolved) = match base {
        None => (incoming, true),
        Some(b) => match schema::merge(b, &incoming)? {
            None => (b.clone(), false),
            Some(merged) => (merged, true),
        },
    };

    // Arrays in the (merged) schema's order.
    let arrow_schema =
        ArrowSchema::try_from_kernel(&schema).map_err(|e| ConvertError::Arrow(e.to_string()))?;
    let mut by_name: HashMap<String, Vec<Cell>> = fields
        .iter()
        .map(|f| f.name().to_string())
        .zip(table)
        .collect();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(arrow_schema.fields().len());
    for field in arrow_schema.fields() {
        let array = match by_name.remove(field.name()) {
            Some(cells) => build_array(field.data_type(), cells).map_err(ConvertError::Arrow)?,
            None => new_null_array(field.data_type(), rows.len()),
        };
        if !field.is_nullable() && array.null_count() > 0 {
            return Err(ConvertError::NotNull {
                column: field.name().clone(),
            });
        }
        arrays.push(array);
    }
    let batch = RecordBatch::try_new_with_options(
        Arc::new(arrow_schema),
        arrays,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )
    .map_err(|e| ConvertError::Arrow(e.to_string()))?;
    Ok(Converted {
        schema,
        evolved,
        batch,
        rescued: rescued_counts,
    })
}

fn m_lower(s: &str) -> String {
    s.to_lowercase()
}

fn with_tag(field: StructField, json: bool) -> StructField {
    if json {
        field.with_metadata([(TYPE_TAG_KEY, MetadataValue::String(JSON_TAG.into()))])
    } else {
        field
    }
}

/// Key attributes first (in the given order), then the rest by name.
fn ordered_attributes<'a>(item: &'a Item, key_names: &[String]) -> Vec<(&'a str, &'a Attr)> {
    let mut out: Vec<(&str, &Attr)> = key_names
        .iter()
        .filter_map(|k| item.get_key_value(k.as_str()))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    out.extend(
        item.iter()
            .filter(|(k, _)| !key_names.iter().any(|n| n == *k))
            .map(|(k, v)| (k.as_str(), v)),
    );
    out
}

/// A table column during inference.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    shape: Shape,
    /// The table's field, for existing columns.
    existing: Option<StructField>,
    /// Index into the metadata columns, for those.
    meta: Option<usize>,
}

/// Take one top-level attribute into its column; false when it must be rescued.
fn accept_top(
    columns: &mut Vec<Column>,
    index: &mut HashMap<String, usize>,
    reserved: &BTreeSet<String>,
    name: &str,
    attr: &Attr,
    options: &TypingOptions,
) -> bool {
    if matches!(attr, Attr::Null) {
        return true;
    }
    let lower = name.to_lowercase();
    if reserved.contains(&lower) {
        return false;
    }
    let timestamp = options.timestamp_columns.contains(name);
    let ctx = Ctx {
        nested: options.nested,
        timestamp,
    };
    match index.get(&lower) {
        Some(&i) => {
            let column = &mut columns[i];
            column.name == name && column.meta.is_none() && column.shape.try_accept(attr, ctx)
        }
        None => {
            if name.contains(INVALID_NAME_CHARS) {
                return false;
            }
            let mut shape = if timestamp {
                Shape::Timestamp
            } else {
                Shape::Unknown
            };
            if !shape.try_accept(attr, ctx) {
                return false;
            }
            index.insert(lower, columns.len());
            columns.push(Column {
                name: name.to_string(),
                shape,
                existing: None,
                meta: None,
            });
            true
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Ctx {
    nested: Nested,
    /// A top-level attribute listed in TIMESTAMP_COLUMNS.
    timestamp: bool,
}

impl Ctx {
    fn inner(self) -> Ctx {
        Ctx {
            timestamp: false,
            ..self
        }
    }
}

/// What a column can hold, as far as the batch has shown.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Bool,
    Str,
    /// JSON text of maps and lists.
    Json,
    Bin,
    Timestamp,
    Num(Num),
    List(Box<Shape>),
    Struct(Vec<FieldShape>),
    /// Nothing seen yet (a new column, an empty list's element).
    Unknown,
    /// A table type this function does not write (maps, dates, floats...):
    /// only nulls fit.
    Other(DataType),
}

#[derive(Debug, Clone, PartialEq)]
struct FieldShape {
    name: String,
    shape: Shape,
    existing: Option<StructField>,
}

#[derive(Debug, Clone, PartialEq)]
enum Num {
    /// An existing column's type.
    Fixed(NumType),
    /// A new column: chosen from every value once the batch is seen.
    Open(NumStats),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumType {
    Byte,
    Short,
    Integer,
    Long,
    Decimal(u8, u8),
    Double,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct NumStats {
    count: usize,
    all_long: bool,
    max_integer_digits: u32,
    max_scale: u32,
    all_double: bool,
}

impl Default for NumStats {
    fn default() -> Self {
        NumStats {
            count: 0,
            all_long: true,
            max_integer_digits: 0,
            max_scale: 0,
            all_double: true,
        }
    }
}

impl NumStats {
    fn add(&mut self, n: &Number) {
        self.count += 1;
        self.all_long &= n.to_i64().is_some();
        self.max_integer_digits = self.max_integer_digits.max(n.integer_digits());
        self.max_scale = self.max_scale.max(n.scale());
        self.all_double &= n.to_f64_exact().is_some();
    }

    /// The numeric rule (see the module docs of [`super`]).
    fn choose(&self) -> Option<NumType> {
        let (digits, scale) = (self.max_integer_digits, self.max_scale);
        if self.all_long {
            Some(NumType::Long)
        } else if scale == 0 && digits <= 38 {
            Some(NumType::Decimal(38, 0))
        } else if digits <= 20 && scale <= 18 {
            Some(NumType::Decimal(38, 18))
        } else if digits + scale <= 38 {
            u8::try_from(scale).ok().map(|s| NumType::Decimal(38, s))
        } else if self.all_double {
            Some(NumType::Double)
        } else {
            None
        }
    }
}

impl NumType {
    fn fits(self, n: &Number) -> bool {
        match self {
            NumType::Byte => n.to_i64().is_some_and(|v| i8::try_from(v).is_ok()),
            NumType::Short => n.to_i64().is_some_and(|v| i16::try_from(v).is_ok()),
            NumType::Integer => n.to_i64().is_some_and(|v| i32::try_from(v).is_ok()),
            NumType::Long => n.to_i64().is_some(),
            NumType::Decimal(p, s) => n.to_decimal(p, s).is_some(),
            NumType::Double => n.to_f64_exact().is_some(),
        }
    }

    fn data_type(self) -> Option<DataType> {
        Some(match self {
            NumType::Byte => DataType::BYTE,
            NumType::Short => DataType::SHORT,
            NumType::Integer => DataType::INTEGER,
            NumType::Long => DataType::LONG,
            NumType::Decimal(p, s) => DataType::decimal(p, s).ok()?,
            NumType::Double => DataType::DOUBLE,
        })
    }
}

fn is_json(field: &StructField) -> bool {
    matches!(
        field.metadata().get(TYPE_TAG_KEY),
        Some(MetadataValue::String(s)) if s == JSON_TAG
    )
}

impl Shape {
    /// The shape of an existing column or field.
    fn from_delta(t: &DataType, field: &StructField) -> Shape {
        match t {
            DataType::Primitive(p) => match p {
                PrimitiveType::String if is_json(field) => Shape::Json,
                PrimitiveType::String => Shape::Str,
                PrimitiveType::Long => Shape::Num(Num::Fixed(NumType::Long)),
                PrimitiveType::Integer => Shape::Num(Num::Fixed(NumType::Integer)),
                PrimitiveType::Short => Shape::Num(Num::Fixed(NumType::Short)),
                PrimitiveType::Byte => Shape::Num(Num::Fixed(NumType::Byte)),
                PrimitiveType::Double => Shape::Num(Num::Fixed(NumType::Double)),
                PrimitiveType::Decimal(d) => {
                    Shape::Num(Num::Fixed(NumType::Decimal(d.precision(), d.scale())))
                }
                PrimitiveType::Boolean => Shape::Bool,
                PrimitiveType::Binary => Shape::Bin,
                PrimitiveType::Timestamp => Shape::Timestamp,
                _ => Shape::Other(t.clone()),
            },
            DataType::Array(a) => {
                // Elements have no field metadata: never JSON-tagged.
                let element = StructField::nullable("element", a.element_type().clone());
                Shape::List(Box::new(Shape::from_delta(a.element_type(), &element)))
            }
            DataType::Struct(s) => Shape::Struct(
                s.fields()
                    .map(|f| FieldShape {
                        name: f.name().to_string(),
                        shape: Shape::from_delta(f.data_type(), f),
                        existing: Some(f.clone()),
                    })
                    .collect(),
            ),
            _ => Shape::Other(t.clone()),
        }
    }

    /// Take `attr`, growing the shape if needed; on failure the shape is
    /// left as it was.
    fn try_accept(&mut self, attr: &Attr, ctx: Ctx) -> bool {
        if self.fits_as_is(attr) {
            return true;
        }
        let mut trial = self.clone();
        if trial.accept(attr, ctx) {
            *self = trial;
            true
        } else {
            false
        }
    }

    /// Whether `attr` fits without changing anything (cheap, common case).
    fn fits_as_is(&self, attr: &Attr) -> bool {
        match (self, attr) {
            (_, Attr::Null) => true,
            (Shape::Str, Attr::S(_)) => true,
            (Shape::Bool, Attr::Bool(_)) => true,
            (Shape::Bin, Attr::B(_)) => true,
            (Shape::Json, Attr::M(_) | Attr::L(_)) => true,
            (Shape::Num(Num::Fixed(t)), Attr::N(n)) => t.fits(n),
            _ => false,
        }
    }

    fn accept(&mut self, attr: &Attr, ctx: Ctx) -> bool {
        if matches!(attr, Attr::Null) {
            return true;
        }
        if *self == Shape::Unknown {
            *self = match attr {
                Attr::S(_) | Attr::N(_) if ctx.timestamp => Shape::Timestamp,
                Attr::S(_) => Shape::Str,
                Attr::N(_) => Shape::Num(Num::Open(NumStats::default())),
                Attr::B(_) => Shape::Bin,
                Attr::Bool(_) => Shape::Bool,
                Attr::Null => return true,
                Attr::Ss(_) => Shape::List(Box::new(Shape::Str)),
                Attr::Ns(_) => Shape::List(Box::new(Shape::Num(Num::Open(NumStats::default())))),
                Attr::Bs(_) => Shape::List(Box::new(Shape::Bin)),
                Attr::M(_) | Attr::L(_) if ctx.nested == Nested::Json => Shape::Json,
                Attr::M(_) => Shape::Struct(Vec::new()),
                Attr::L(_) => Shape::List(Box::new(Shape::Unknown)),
            };
        }
        let inner = ctx.inner();
        match (self, attr) {
            (Shape::Str, Attr::S(_)) => true,
            (Shape::Timestamp, Attr::S(s)) => parse_timestamp(s).is_some(),
            (Shape::Timestamp, Attr::N(n)) => epoch_to_micros(n).is_some(),
            (Shape::Num(Num::Fixed(t)), Attr::N(n)) => t.fits(n),
            (Shape::Num(Num::Open(stats)), Attr::N(n)) => {
                stats.add(n);
                true
            }
            (Shape::Bool, Attr::Bool(_)) => true,
            (Shape::Bin, Attr::B(_)) => true,
            (Shape::Json, Attr::M(_) | Attr::L(_)) => true,
            (Shape::List(element), Attr::Ss(v)) => {
                v.iter().all(|s| element.accept(&Attr::S(s.clone()), inner))
            }
            (Shape::List(element), Attr::Ns(v)) => {
                v.iter().all(|n| element.accept(&Attr::N(n.clone()), inner))
            }
            (Shape::List(element), Attr::Bs(v)) => {
                v.iter().all(|b| element.accept(&Attr::B(b.clone()), inner))
            }
            (Shape::List(element), Attr::L(v)) => v.iter().all(|a| element.accept(a, inner)),
            (Shape::Struct(fields), Attr::M(m)) => {
                for (key, value) in m {
                    if matches!(value, Attr::Null) {
                        continue;
                    }
                    match fields.iter_mut().find(|f| f.name == *key) {
                        Some(f) => {
                            if !f.shape.accept(value, inner) {
                                return false;
                            }
                        }
                        None => {
                            let lower = key.to_lowercase();
                            if key.contains(INVALID_NAME_CHARS)
                                || fields.iter().any(|f| f.name.to_lowercase() == lower)
                            {
                                return false;
                            }
                            let mut shape = Shape::Unknown;
                            if !shape.accept(value, inner) {
                                return false;
                            }
                            fields.push(FieldShape {
                                name: key.clone(),
                                shape,
                                existing: None,
                            });
                        }
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// The Delta type (and whether it is a JSON column), or `None` when
    /// nothing typed was seen (only empty lists or maps).
    fn finalize(&self) -> Option<(DataType, bool)> {
        Some(match self {
            Shape::Bool => (DataType::BOOLEAN, false),
            Shape::Str => (DataType::STRING, false),
            Shape::Json => (DataType::STRING, true),
            Shape::Bin => (DataType::BINARY, false),
            Shape::Timestamp => (DataType::TIMESTAMP, false),
            Shape::Num(Num::Fixed(t)) => (t.data_type()?, false),
            Shape::Num(Num::Open(stats)) => (stats.choose()?.data_type()?, false),
            Shape::List(element) => {
                let (t, _) = element.finalize()?;
                (DataType::Array(Box::new(ArrayType::new(t, true))), false)
            }
            Shape::Struct(fields) => {
                let fields: Vec<StructField> = fields
                    .iter()
                    .filter_map(|f| match (&f.existing, f.shape.finalize()) {
                        (Some(existing), Some((t, _))) => Some(StructField {
                            data_type: t,
                            ..existing.clone()
                        }),
                        (Some(existing), None) => Some(existing.clone()),
                        (None, Some((t, json))) => {
                            Some(with_tag(StructField::nullable(f.name.clone(), t), json))
                        }
                        (None, None) => None,
                    })
                    .collect();
                if fields.is_empty() {
                    return None;
                }
                (
                    DataType::Struct(Box::new(StructType::try_new(fields).ok()?)),
                    false,
                )
            }
            Shape::Unknown => return None,
            Shape::Other(t) => (t.clone(), false),
        })
    }
}

/// `attr` as a value of `field`'s type, or `None` when it does not fit
/// exactly (it is then rescued).
fn coerce(attr: &Attr, field: &StructField, nullable: bool) -> Option<Cell> {
    coerce_type(
        attr,
        field.data_type(),
        is_json(field),
        nullable && field.is_nullable(),
    )
}

fn coerce_type(attr: &Attr, t: &DataType, json: bool, nullable: bool) -> Option<Cell> {
    if matches!(attr, Attr::Null) {
        return nullable.then_some(Cell::Null);
    }
    match t {
        DataType::Primitive(p) => coerce_primitive(attr, p, json),
        DataType::Array(a) => {
            let element = |a2: &Attr| coerce_type(a2, a.element_type(), false, a.contains_null());
            let cells: Option<Vec<Cell>> = match attr {
                Attr::Ss(v) => v.iter().map(|s| element(&Attr::S(s.clone()))).collect(),
                Attr::Ns(v) => v.iter().map(|n| element(&Attr::N(n.clone()))).collect(),
                Attr::Bs(v) => v.iter().map(|b| element(&Attr::B(b.clone()))).collect(),
                Attr::L(v) => v.iter().map(element).collect(),
                _ => None,
            };
            cells.map(Cell::List)
        }
        DataType::Struct(s) => {
            let Attr::M(m) = attr else { return None };
            // Every non-null key must have a field: nothing is dropped.
            let known = m
                .iter()
                .all(|(k, v)| matches!(v, Attr::Null) || s.field(k).is_some());
            if !known {
                return None;
            }
            let cells: Option<Vec<Cell>> = s
                .fields()
                .map(|f| match m.get(f.name()) {
                    Some(v) => coerce(v, f, true),
                    None => f.is_nullable().then_some(Cell::Null),
                })
                .collect();
            cells.map(Cell::Struct)
        }
        _ => None,
    }
}

fn coerce_primitive(attr: &Attr, p: &PrimitiveType, json: bool) -> Option<Cell> {
    match (p, attr) {
        (PrimitiveType::String, Attr::M(_) | Attr::L(_)) if json => {
            Some(Cell::Str(plain_json(attr)))
        }
        (PrimitiveType::String, Attr::S(s)) if !json => Some(Cell::Str(s.clone())),
        (PrimitiveType::Long, Attr::N(n)) => NumType::Long
            .fits(n)
            .then(|| n.to_i64())
            .flatten()
            .map(Cell::Int),
        (PrimitiveType::Integer, Attr::N(n)) => NumType::Integer
            .fits(n)
            .then(|| n.to_i64())
            .flatten()
            .map(Cell::Int),
        (PrimitiveType::Short, Attr::N(n)) => NumType::Short
            .fits(n)
            .then(|| n.to_i64())
            .flatten()
            .map(Cell::Int),
        (PrimitiveType::Byte, Attr::N(n)) => NumType::Byte
            .fits(n)
            .then(|| n.to_i64())
            .flatten()
            .map(Cell::Int),
        (PrimitiveType::Decimal(d), Attr::N(n)) => decimal_of(n, d).map(Cell::Decimal),
        (PrimitiveType::Double, Attr::N(n)) => n.to_f64_exact().map(Cell::Double),
        (PrimitiveType::Boolean, Attr::Bool(b)) => Some(Cell::Bool(*b)),
        (PrimitiveType::Binary, Attr::B(b)) => Some(Cell::Bin(b.clone())),
        (PrimitiveType::Timestamp, Attr::S(s)) => parse_timestamp(s).map(Cell::Timestamp),
        (PrimitiveType::Timestamp, Attr::N(n)) => epoch_to_micros(n).map(Cell::Timestamp),
        _ => None,
    }
}

fn decimal_of(n: &Number, d: &DecimalType) -> Option<i128> {
    n.to_decimal(d.precision(), d.scale())
}

/// An ISO-8601 timestamp as microseconds since the epoch (UTC): RFC 3339
/// (`2026-11-21T06:02:30.671Z`, any offset), the same with a space for `T`,
/// without offset (read as UTC), or a date alone (midnight UTC). Digits
/// below a microsecond are dropped.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Some(t.timestamp_micros());
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_micros())
}

/// Epoch numbers as microseconds, the unit chosen by magnitude: below
/// 10^11 seconds (to year 5138), below 10^14 milliseconds, below 10^17
/// microseconds, else nanoseconds. Fractions below a microsecond are dropped.
pub fn epoch_to_micros(n: &Number) -> Option<i64> {
    let shift = match n.integer_digits() {
        0..=11 => 6,
        12..=14 => 3,
        15..=17 => 0,
        _ => -3,
    };
    n.shifted_trunc_i64(shift)
}

// ---------------------------------------------------------------------------
// Cells -> Arrow
// ---------------------------------------------------------------------------

/// Build an array of type `t` from cells that were coerced to it.
pub fn build_array(t: &ArrowType, cells: Vec<Cell>) -> Result<ArrayRef, String> {
    let mismatch = |c: &Cell| format!("value {c:?} does not fit {t}");
    Ok(match t {
        ArrowType::Boolean => Arc::new(
            cells
                .iter()
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Bool(b) => Ok(Some(*b)),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<BooleanArray, String>>()?,
        ),
        ArrowType::Utf8 => Arc::new(
            cells
                .iter()
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Str(s) => Ok(Some(s.as_str())),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<StringArray, String>>()?,
        ),
        ArrowType::Binary => {
            let mut b = BinaryBuilder::new();
            for c in &cells {
                match c {
                    Cell::Null => b.append_null(),
                    Cell::Bin(v) => b.append_value(v),
                    other => return Err(mismatch(other)),
                }
            }
            Arc::new(b.finish())
        }
        ArrowType::Int64 => Arc::new(Int64Array::from(ints(&cells, t)?)),
        ArrowType::Int32 => Arc::new(Int32Array::from(narrow::<i32>(&cells, t)?)),
        ArrowType::Int16 => Arc::new(Int16Array::from(narrow::<i16>(&cells, t)?)),
        ArrowType::Int8 => Arc::new(Int8Array::from(narrow::<i8>(&cells, t)?)),
        ArrowType::Float64 => Arc::new(
            cells
                .iter()
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Double(f) => Ok(Some(*f)),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<Float64Array, String>>()?,
        ),
        ArrowType::Decimal128(p, s) => Arc::new(
            cells
                .iter()
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Decimal(v) => Ok(Some(*v)),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<Decimal128Array, String>>()?
                .with_precision_and_scale(*p, *s)
                .map_err(|e| e.to_string())?,
        ),
        ArrowType::Timestamp(TimeUnit::Microsecond, tz) => Arc::new(
            cells
                .iter()
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Timestamp(v) => Ok(Some(*v)),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<TimestampMicrosecondArray, String>>()?
                .with_timezone_opt(tz.clone()),
        ),
        ArrowType::List(field) => {
            let mut offsets: Vec<i32> = Vec::with_capacity(cells.len() + 1);
            offsets.push(0);
            let mut valid = Vec::with_capacity(cells.len());
            let mut children = Vec::new();
            for c in cells {
                match c {
                    Cell::Null => valid.push(false),
                    Cell::List(items) => {
                        valid.push(true);
                        children.extend(items);
                    }
                    other => return Err(mismatch(&other)),
                }
                let end = i32::try_from(children.len()).map_err(|_| "list too long".to_string())?;
                offsets.push(end);
            }
            let child = build_array(field.data_type(), children)?;
            Arc::new(
                ListArray::try_new(
                    field.clone(),
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    child,
                    Some(NullBuffer::from(valid)),
                )
                .map_err(|e| e.to_string())?,
            )
        }
        ArrowType::Struct(fields) => {
            let rows = cells.len();
            let mut columns: Vec<Vec<Cell>> = vec![Vec::with_capacity(rows); fields.len()];
            let mut valid = Vec::with_capacity(rows);
            for c in cells {
                match c {
                    Cell::Null => {
                        valid.push(false);
                        for col in columns.iter_mut() {
                            col.push(Cell::Null);
                        }
                    }
                    Cell::Struct(values) => {
                        if values.len() != fields.len() {
                            return Err(format!(
                                "struct value with {} fields for {t}",
                                values.len()
                            ));
                        }
                        valid.push(true);
                        for (col, v) in columns.iter_mut().zip(values) {
                            col.push(v);
                        }
                    }
                    other => return Err(mismatch(&other)),
                }
            }
            let children = fields
                .iter()
                .zip(columns)
                .map(|(f, col)| build_array(f.data_type(), col))
                .collect::<Result<Vec<_>, _>>()?;
            Arc::new(
                StructArray::try_new(fields.clone(), children, Some(NullBuffer::from(valid)))
                    .map_err(|e| e.to_string())?,
            )
        }
        other => {
            if let Some(c) = cells.iter().find(|c| !matches!(c, Cell::Null)) {
                return Err(mismatch(c));
            }
            new_null_array(other, cells.len())
        }
    })
}

fn ints(cells: &[Cell], t: &ArrowType) -> Result<Vec<Option<i64>>, String> {
    cells
        .iter()
        .map(|c| match c {
            Cell::Null => Ok(None),
            Cell::Int(v) => Ok(Some(*v)),
            other => Err(format!("value {other:?} does not fit {t}")),
        })
        .collect()
}

fn narrow<T: TryFrom<i64>>(cells: &[Cell], t: &ArrowType) -> Result<Vec<Option<T>>, String> {
    ints(cells, t)?
        .into_iter()
        .map(|v| match v {
            None => Ok(None),
            Some(v) => T::try_from(v)
                .map(Some)
                .map_err(|_| format!("{v} out of range for {t}")),
        })
        .collect()
}

#[cfg(test)]
mod tests;
