//! Which table an object belongs to, and where in it.
//!
//! # Table root
//!
//! Without configured prefixes, a table's root is the object's folder cut at
//! the first hive partition segment (`k=v`) or at `_delta_log`:
//! `exports/orders/ds=2026-11-01/part-0.parquet` belongs to the table at
//! `exports/orders`, partition `ds=2026-11-01`. The file name is never parsed
//! as a partition (`x_ds=1.parquet` is a file).
//!
//! With [`TablePrefixes`] (oxbow's `TABLE_PREFIXES`), an object belongs to the
//! longest configured prefix that contains it, on segment boundaries; objects
//! outside every prefix belong to no table, so nobody who can write to the
//! bucket can create tables elsewhere.
//!
//! # What counts as a data file
//!
//! Only `*.parquet` files. Anything under `_delta_log/` or `_change_data/`,
//! and any file or folder whose name starts with `_` or `.` (`_SUCCESS`,
//! `.crc` files, `_temporary/`, `.spark-staging/`) is ignored — except
//! folders that are partition segments (`_bucket=3`), as Spark does.
//!
//! # Partition values
//!
//! Hive escapes special characters in partition values (`%3A` for `:`);
//! they are unescaped. An empty value and `__HIVE_DEFAULT_PARTITION__` are
//! null.

use percent_encoding::percent_decode_str;

/// The null marker Hive and Spark write as a partition value.
pub const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// A configured table prefix: `s3://bucket/some/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePrefix {
    pub bucket: String,
    /// Without leading or trailing `/`; empty for the bucket root.
    pub prefix: String,
}

/// Errors in configured table locations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableConfigError {
    #[error("table prefix {0:?} is not an s3:// URI (expected s3://bucket/prefix)")]
    NotS3(String),
    #[error("table prefix {0:?} has no bucket")]
    NoBucket(String),
}

/// The set of table prefixes an object may belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TablePrefixes(Vec<TablePrefix>);

impl TablePrefixes {
    /// Parse `s3://` URIs (as in `TABLE_PREFIXES`). `s3a://` is accepted too.
    pub fn parse<S: AsRef<str>>(uris: &[S]) -> Result<Self, TableConfigError> {
        let mut out = Vec::with_capacity(uris.len());
        for uri in uris {
            let uri = uri.as_ref().trim();
            let rest = uri
                .strip_prefix("s3://")
                .or_else(|| uri.strip_prefix("s3a://"))
                .ok_or_else(|| TableConfigError::NotS3(uri.to_string()))?;
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(TableConfigError::NoBucket(uri.to_string()));
            }
            out.push(TablePrefix {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        Ok(TablePrefixes(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The longest prefix containing `bucket/key`, on segment boundaries.
    pub fn longest_match(&self, bucket: &str, key: &str) -> Option<&TablePrefix> {
        self.0
            .iter()
            .filter(|p| p.bucket == bucket)
            .filter(|p| {
                p.prefix.is_empty()
                    || key
                        .strip_prefix(p.prefix.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|p| p.prefix.len())
    }
}

/// A table location: bucket plus root prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableRoot {
    pub bucket: String,
    /// Without leading or trailing `/`; empty for a table at the bucket root.
    pub prefix: String,
}

impl TableRoot {
    /// `s3://bucket/prefix` (no trailing slash).
    pub fn uri(&self) -> String {
        self.uri_with_scheme("s3")
    }

    /// The same location under another scheme, e.g. `file` for local runs.
    pub fn uri_with_scheme(&self, scheme: &str) -> String {
        if self.prefix.is_empty() {
            format!("{scheme}://{}", self.bucket)
        } else {
            format!("{scheme}://{}/{}", self.bucket, self.prefix)
        }
    }
}

impl std::fmt::Display for TableRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.uri())
    }
}

/// A data file of a table, located from its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    pub table: TableRoot,
    /// The key relative to the table root, decoded (as S3 stores it).
    pub relative_key: String,
    /// Hive partition segments of the path, in path order.
    pub partition_values: Vec<(String, Option<String>)>,
}

impl DataFile {
    /// Partition column names, in path order.
    pub fn partition_columns(&self) -> Vec<String> {
        self.partition_values
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// Why a key is not a data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// Not `*.parquet`.
    NotParquet,
    /// A hidden file or folder (`_SUCCESS`, `.crc`, `_temporary/`...).
    Hidden(String),
    /// Part of a table's log or change data.
    DeltaMetadata,
    /// Outside every configured table prefix.
    OutsidePrefixes,
}

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ignored::NotParquet => f.write_str("not a .parquet file"),
            Ignored::Hidden(seg) => write!(f, "hidden path segment {seg:?}"),
            Ignored::DeltaMetadata => f.write_str("Delta log or change-data file"),
            Ignored::OutsidePrefixes => f.write_str("outside every TABLE_PREFIXES entry"),
        }
    }
}

/// What a key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClass {
    Data(DataFile),
    /// A commit file `<root>/_delta_log/<20 digits>.json`.
    Commit {
        table: TableRoot,
        version: u64,
    },
    Ignored(Ignored),
}

fn is_hive_segment(seg: &str) -> bool {
    matches!(seg.split_once('='), Some((k, _)) if !k.is_empty())
}

fn partition_value(raw: &str) -> Option<String> {
    let v = percent_decode_str(raw).decode_utf8_lossy();
    if v.is_empty() || v == HIVE_NULL {
        None
    } else {
        Some(v.into_owned())
    }
}

/// Classify an object key: data file of which table, commit file, or ignored.
pub fn classify(bucket: &str, key: &str, prefixes: &TablePrefixes) -> KeyClass {
    let segments: Vec<&str> = key.split('/').collect();
    let Some((file, dirs)) = segments.split_last() else {
        return KeyClass::Ignored(Ignored::NotParquet);
    };

    // Commit files and the rest of the log.
    if let Some(log_at) = dirs.iter().position(|s| *s == "_delta_log") {
        if log_at == dirs.len() - 1 {
            if let Some(version) = commit_version(file) {
                let table = TableRoot {
                    bucket: bucket.to_string(),
                    prefix: dirs[..log_at].join("/"),
                };
                if prefixes.is_empty() || prefixes.longest_match(bucket, key).is_some() {
                    return KeyClass::Commit { table, version };
                }
                return KeyClass::Ignored(Ignored::OutsidePrefixes);
            }
        }
        return KeyClass::Ignored(Ignored::DeltaMetadata);
    }
    if dirs.contains(&"_change_data") {
        return KeyClass::Ignored(Ignored::DeltaMetadata);
    }
    if file.starts_with('_') || file.starts_with('.') {
        return KeyClass::Ignored(Ignored::Hidden((*file).to_string()));
    }
    if let Some(h) = dirs
        .iter()
        .find(|s| (s.starts_with('_') || s.starts_with('.')) && !is_hive_segment(s))
    {
        return KeyClass::Ignored(Ignored::Hidden((*h).to_string()));
    }
    let is_parquet = file.len() > ".parquet".len()
        && file
            .get(file.len() - ".parquet".len()..)
            .is_some_and(|ext| ext.eq_ignore_ascii_case(".parquet"));
    if !is_parquet {
        return KeyClass::Ignored(Ignored::NotParquet);
    }

    // The table root: a configured prefix, or the folder up to the first
    // partition segment.
    let root_len = if prefixes.is_empty() {
        dirs.iter()
            .position(|s| is_hive_segment(s))
            .unwrap_or(dirs.len())
    } else {
        match prefixes.longest_match(bucket, key) {
            None => return KeyClass::Ignored(Ignored::OutsidePrefixes),
            Some(p) if p.prefix.is_empty() => 0,
            Some(p) => p.prefix.split('/').count(),
        }
    };
    let root = dirs[..root_len].join("/");
    let relative_key = segments[root_len..].join("/");
    let partition_values = dirs[root_len..]
        .iter()
        .filter_map(|s| s.split_once('='))
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), partition_value(v)))
        .collect();
    KeyClass::Data(DataFile {
        table: TableRoot {
            bucket: bucket.to_string(),
            prefix: root,
        },
        relative_key,
        partition_values,
    })
}

/// `00000000000000000042.json` -> 42.
pub fn commit_version(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_suffix(".json")?;
    if digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(bucket: &str, key: &str, prefixes: &TablePrefixes) -> DataFile {
        match classify(bucket, key, prefixes) {
            KeyClass::Data(d) => d,
            other => panic!("{key}: expected a data file, got {other:?}"),
        }
    }

    fn none() -> TablePrefixes {
        TablePrefixes::default()
    }

    fn pv(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[test]
    fn root_is_cut_at_first_partition_segment() {
        let d = data(
            "b",
            "exports/orders/ds=2026-11-01/hour=03/part-0.parquet",
            &none(),
        );
        assert_eq!(d.table.uri(), "s3://b/exports/orders");
        assert_eq!(d.relative_key, "ds=2026-11-01/hour=03/part-0.parquet");
        assert_eq!(
            d.partition_values,
            pv(&[("ds", Some("2026-11-01")), ("hour", Some("03"))])
        );
        assert_eq!(d.partition_columns(), ["ds", "hour"]);
    }

    #[test]
    fn unpartitioned_table_is_the_folder() {
        let d = data("b", "exports/customers/part-0.parquet", &none());
        assert_eq!(d.table.prefix, "exports/customers");
        assert_eq!(d.relative_key, "part-0.parquet");
        assert!(d.partition_values.is_empty());
        let d = data("b", "top.parquet", &none());
        assert_eq!(d.table.uri(), "s3://b");
    }

    #[test]
    fn file_names_are_never_partitions() {
        let d = data("b", "t/x_ds=1.parquet", &none());
        assert_eq!(d.table.prefix, "t");
        assert!(d.partition_values.is_empty());
        let d = data("b", "t/ds=1/a=b.parquet", &none());
        assert_eq!(d.partition_values, pv(&[("ds", Some("1"))]));
    }

    #[test]
    fn spaces_plus_unicode_and_escapes() {
        let d = data(
            "b",
            "my tables/événements/région=île de france/f+1 é.parquet",
            &none(),
        );
        assert_eq!(d.table.prefix, "my tables/événements");
        assert_eq!(d.partition_values, pv(&[("région", Some("île de france"))]));
        assert_eq!(d.relative_key, "région=île de france/f+1 é.parquet");
        // Hive-escaped values are unescaped; the path keeps the escape, encoded.
        let d = data("b", "t/ts=2026-01-01 00%3A00%3A00/f.parquet", &none());
        assert_eq!(
            d.partition_values,
            pv(&[("ts", Some("2026-01-01 00:00:00"))])
        );
        assert_eq!(d.relative_key, "ts=2026-01-01 00%3A00%3A00/f.parquet");
    }

    #[test]
    fn null_partition_values() {
        let d = data("b", "t/a=/b=__HIVE_DEFAULT_PARTITION__/f.parquet", &none());
        assert_eq!(d.partition_values, pv(&[("a", None), ("b", None)]));
    }

    #[test]
    fn ignored_keys() {
        let ig = |k: &str| match classify("b", k, &none()) {
            KeyClass::Ignored(i) => i,
            other => panic!("{k}: {other:?}"),
        };
        assert_eq!(ig("t/_SUCCESS"), Ignored::Hidden("_SUCCESS".into()));
        assert_eq!(
            ig("t/.part-0.parquet.crc"),
            Ignored::Hidden(".part-0.parquet.crc".into())
        );
        assert_eq!(
            ig("t/_temporary/0/part-0.parquet"),
            Ignored::Hidden("_temporary".into())
        );
        assert_eq!(
            ig("t/.spark-staging/x.parquet"),
            Ignored::Hidden(".spark-staging".into())
        );
        assert_eq!(ig("t/data.csv"), Ignored::NotParquet);
        assert_eq!(ig("t/.parquet"), Ignored::Hidden(".parquet".into()));
        assert_eq!(
            ig("t/_delta_log/00000000000000000000.checkpoint.parquet"),
            Ignored::DeltaMetadata
        );
        assert_eq!(ig("t/_delta_log/_last_checkpoint"), Ignored::DeltaMetadata);
        assert_eq!(ig("t/_change_data/cdc-0.parquet"), Ignored::DeltaMetadata);
        // partition folders that start with _ are data
        let d = data("b", "t/_bucket=3/f.PARQUET", &none());
        assert_eq!(d.partition_values, pv(&[("_bucket", Some("3"))]));
    }

    #[test]
    fn commit_files() {
        assert_eq!(
            classify("b", "db/t/_delta_log/00000000000000000042.json", &none()),
            KeyClass::Commit {
                table: TableRoot {
                    bucket: "b".into(),
                    prefix: "db/t".into()
                },
                version: 42
            }
        );
        assert_eq!(commit_version("0042.json"), None);
        assert_eq!(commit_version("00000000000000000042.crc"), None);
    }

    #[test]
    fn configured_prefixes_pick_the_longest_and_guard_the_rest() {
        let p = TablePrefixes::parse(&["s3://b/tables", "s3://b/tables/orders/", "s3://other"])
            .unwrap();
        let d = data("b", "tables/orders/ds=1/f.parquet", &p);
        assert_eq!(d.table.prefix, "tables/orders");
        assert_eq!(d.partition_values, pv(&[("ds", Some("1"))]));
        // segment boundary: orders_v2 is not under orders
        let d = data("b", "tables/orders_v2/f.parquet", &p);
        assert_eq!(d.table.prefix, "tables");
        assert_eq!(d.relative_key, "orders_v2/f.parquet");
        assert!(d.partition_values.is_empty());
        assert_eq!(
            classify("b", "elsewhere/f.parquet", &p),
            KeyClass::Ignored(Ignored::OutsidePrefixes)
        );
        let d = data("other", "x/y=1/f.parquet", &p);
        assert_eq!(d.table.uri(), "s3://other");
        assert_eq!(d.relative_key, "x/y=1/f.parquet");
        assert!(TablePrefixes::parse(&["/local/path"]).is_err());
        assert!(TablePrefixes::parse(&["s3:///x"]).is_err());
    }
}
