//! DMS object keys: `<folder>/<schema>/<table>/<file>`, where `<file>` is a
//! full-load file `LOAD<8 hex digits>.<csv|parquet>` or a CDC file named by
//! its timestamp, `<yyyymmdd>-<hhmmss><fraction>.<csv|parquet>`.
//!
//! Every data file has a [`DmsFile::position`] in DMS order: full-load files
//! by counter first, then CDC files by timestamp. The position fits a Delta
//! `txn` version (a signed 64-bit long), which is what records the files
//! already applied.

use std::fmt;

use chrono::NaiveDate;

/// How many fraction digits of a CDC file name's time are kept (more is
/// refused, as positions must not collide).
pub const CDC_FRACTION_DIGITS: u32 = 8;

/// CSV or Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    Csv,
    Parquet,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Parquet => "parquet",
        }
    }
}

/// Full load or change data capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// `LOADxxxxxxxx`: the hex counter.
    Load(u32),
    /// A CDC file: its name's time as a position.
    Cdc(i64),
}

/// The source table a DMS folder holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceTable {
    pub bucket: String,
    /// The DMS `BucketFolder` (may be empty or several segments).
    pub folder: String,
    pub schema: String,
    pub table: String,
}

impl SourceTable {
    /// `schema.table`, as `KEY_COLUMNS` names it.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    /// The key prefix of the table's files, with a trailing `/`.
    pub fn key_prefix(&self) -> String {
        if self.folder.is_empty() {
            format!("{}/{}/", self.schema, self.table)
        } else {
            format!("{}/{}/{}/", self.folder, self.schema, self.table)
        }
    }

    /// `s3://bucket/<folder>/<schema>/<table>`, the id of its ledger.
    pub fn uri(&self) -> String {
        format!(
            "s3://{}/{}",
            self.bucket,
            self.key_prefix().trim_end_matches('/')
        )
    }
}

impl fmt::Display for SourceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri())
    }
}

/// One DMS data file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DmsFile {
    pub table: SourceTable,
    /// The file name (last key segment).
    pub name: String,
    pub kind: FileKind,
    pub format: FileFormat,
}

impl DmsFile {
    /// Its place in DMS order: LOAD counters (1 ..= 2^32-1), then CDC times
    /// (seconds since 1970 x 10^8 + fraction, far above any counter).
    pub fn position(&self) -> i64 {
        match self.kind {
            FileKind::Load(n) => i64::from(n),
            FileKind::Cdc(p) => p,
        }
    }

    pub fn is_load(&self) -> bool {
        matches!(self.kind, FileKind::Load(_))
    }

    /// The object key.
    pub fn key(&self) -> String {
        format!("{}{}", self.table.key_prefix(), self.name)
    }

    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.table.bucket, self.key())
    }
}

/// What an object key is to dms-merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClass {
    /// A DMS data file.
    Data(DmsFile),
    /// Not a DMS data file (folder marker, table definition, other files):
    /// acknowledged and ignored, with the reason.
    Ignored(String),
    /// Looks like a DMS data file but cannot be read: the message fails.
    Rejected(String),
}

/// The position of a CDC file named `<yyyymmdd>-<hhmmss><fraction>`.
pub fn cdc_position(stem: &str) -> Result<i64, String> {
    let (date, time) = stem
        .split_once('-')
        .ok_or_else(|| format!("{stem:?} is not <yyyymmdd>-<hhmmss...>"))?;
    if date.len() != 8
        || time.len() < 6
        || !(date.chars().chain(time.chars())).all(|c| c.is_ascii_digit())
    {
        return Err(format!("{stem:?} is not <yyyymmdd>-<hhmmss...>"));
    }
    let num = |s: &str| s.parse::<u32>().map_err(|e| format!("{stem:?}: {e}"));
    let day = NaiveDate::from_ymd_opt(
        num(&date[..4])? as i32,
        num(&date[4..6])?,
        num(&date[6..8])?,
    )
    .ok_or_else(|| format!("{stem:?} has no valid date"))?;
    let at = day
        .and_hms_opt(num(&time[..2])?, num(&time[2..4])?, num(&time[4..6])?)
        .ok_or_else(|| format!("{stem:?} has no valid time"))?;
    let fraction = &time[6..];
    if fraction.len() > CDC_FRACTION_DIGITS as usize {
        return Err(format!(
            "{stem:?} has more than {CDC_FRACTION_DIGITS} fraction digits"
        ));
    }
    let frac = if fraction.is_empty() {
        0
    } else {
        i64::from(num(fraction)?) * 10i64.pow(CDC_FRACTION_DIGITS - fraction.len() as u32)
    };
    let secs = at.and_utc().timestamp();
    if secs <= 0 {
        return Err(format!("{stem:?} is before 1970"));
    }
    secs.checked_mul(10i64.pow(CDC_FRACTION_DIGITS))
        .and_then(|p| p.checked_add(frac))
        .ok_or_else(|| format!("{stem:?} is out of range"))
}

/// Classify an object key `<folder>/<schema>/<table>/<file>`: the last three
/// segments are schema, table and file name, what comes before is the DMS
/// `BucketFolder` (possibly empty).
pub fn classify(bucket: &str, key: &str) -> KeyClass {
    let mut parts = key.rsplitn(4, '/');
    let (Some(name), Some(table), Some(schema)) = (parts.next(), parts.next(), parts.next()) else {
        return KeyClass::Ignored("not <folder>/<schema>/<table>/<file>".into());
    };
    let folder = parts.next().unwrap_or_default().trim_matches('/');
    if schema.is_empty() || table.is_empty() || name.is_empty() {
        return KeyClass::Ignored("empty path segment (folder marker?)".into());
    }
    let lower = name.to_ascii_lowercase();
    let (stem, format) = if let Some(s) = lower.strip_suffix(".csv") {
        (s, FileFormat::Csv)
    } else if let Some(s) = lower.strip_suffix(".parquet") {
        (s, FileFormat::Parquet)
    } else if lower.ends_with(".csv.gz") || lower.ends_with(".gz") {
        return KeyClass::Rejected(format!(
            "{name}: gzip-compressed DMS files are not supported; set the endpoint's CompressionType to NONE (or use Parquet, compressed inside the file)"
        ));
    } else {
        return KeyClass::Ignored(format!("{name}: not a .csv or .parquet file"));
    };
    let table = SourceTable {
        bucket: bucket.to_string(),
        folder: folder.to_string(),
        schema: schema.to_string(),
        table: table.to_string(),
    };
    let kind = if let Some(hex) = stem.strip_prefix("load") {
        match u32::from_str_radix(hex, 16) {
            Ok(n) if hex.len() == 8 && n > 0 => FileKind::Load(n),
            _ => {
                return KeyClass::Rejected(format!(
                    "{name}: a full-load file is LOAD<8 hex digits, counting from 1"
                ))
            }
        }
    } else {
        match cdc_position(stem) {
            Ok(p) => FileKind::Cdc(p),
            Err(e) => {
                return KeyClass::Ignored(format!(
                    "{name}: neither LOADxxxxxxxx nor a CDC timestamp name ({e})"
                ))
            }
        }
    };
    KeyClass::Data(DmsFile {
        table,
        name: name.to_string(),
        kind,
        format,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(key: &str) -> DmsFile {
        match classify("b", key) {
            KeyClass::Data(f) => f,
            other => panic!("{key}: {other:?}"),
        }
    }

    #[test]
    fn load_and_cdc_names() {
        let f = data("dms/public/orders/LOAD00000001.csv");
        assert_eq!(f.kind, FileKind::Load(1));
        assert_eq!(f.format, FileFormat::Csv);
        assert_eq!(f.table.qualified(), "public.orders");
        assert_eq!(f.table.uri(), "s3://b/dms/public/orders");
        assert_eq!(f.key(), "dms/public/orders/LOAD00000001.csv");
        let f = data("a/b/hr/emp/LOAD0000000A.parquet");
        assert_eq!(f.table.folder, "a/b");
        assert_eq!(f.kind, FileKind::Load(10));
        assert_eq!(f.format, FileFormat::Parquet);
        assert_eq!(f.table.key_prefix(), "a/b/hr/emp/");
        // The docs' example name and the 9-digit names DMS writes.
        let a = data("hr/emp/20141029-1134010000.csv");
        let b = data("hr/emp/20141029-113401123.csv");
        assert!(matches!(a.kind, FileKind::Cdc(_)));
        assert!(a.position() < b.position());
        assert!(data("hr/emp/LOADFFFFFFFF.csv").position() < a.position());
        assert_eq!(
            cdc_position("20141029-113401").unwrap(),
            1414582441 * 100_000_000
        );
        assert_eq!(
            cdc_position("20141029-1134015").unwrap(),
            1414582441 * 100_000_000 + 50_000_000
        );
    }

    #[test]
    fn cdc_order_is_time_order() {
        let names = [
            "20261121-235959999.csv",
            "20261122-000000001.csv",
            "20261122-000000010.csv",
            "20261122-100000000.csv",
        ];
        let p: Vec<i64> = names
            .iter()
            .map(|n| data(&format!("s/t/{n}")).position())
            .collect();
        assert!(p.windows(2).all(|w| w[0] < w[1]), "{p:?}");
    }

    #[test]
    fn other_keys_are_ignored_or_rejected() {
        assert!(matches!(
            classify("b", "orders/LOAD00000001.csv"),
            KeyClass::Ignored(_)
        ));
        assert!(matches!(
            classify("b", "dms/public/orders/"),
            KeyClass::Ignored(_)
        ));
        assert!(matches!(
            classify("b", "dms/public/orders/notes.txt"),
            KeyClass::Ignored(_)
        ));
        assert!(matches!(
            classify("b", "dms/public/orders/LOAD00000001.csv.gz"),
            KeyClass::Rejected(_)
        ));
        assert!(matches!(
            classify("b", "dms/public/orders/LOAD0001.csv"),
            KeyClass::Rejected(_)
        ));
        assert!(matches!(
            classify("b", "dms/public/orders/LOAD00000000.csv"),
            KeyClass::Rejected(_)
        ));
        assert!(cdc_position("20261321-000000").is_err());
        assert!(cdc_position("20261121-0000001234567890").is_err());
    }
}
