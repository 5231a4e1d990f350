//! Where tables live, and table handles kept warm across invocations.
//!
//! A warm Lambda container keeps every table it has touched, with its state
//! at the last version it saw; the next invocation only reads the commits
//! made since (see [`crate::commit`]). A cold container loads from the last
//! checkpoint.

use std::collections::HashMap;
use std::path::PathBuf;

use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use url::Url;

use crate::table::TableRoot;

/// Register the `s3://` and `s3a://` storage handlers with delta-rs. Call
/// once at start-up, before any table URL is opened; repeated calls are
/// harmless.
pub fn register_handlers() {
    deltalake::aws::register_handlers(None);
}

/// Maps a bucket + prefix to a table URL: `s3://bucket/prefix`, or, for
/// local runs (CLI `invoke`, the demo), `file:///<dir>/<bucket>/<prefix>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locator {
    /// When set, buckets are folders under this directory.
    pub local_root: Option<PathBuf>,
}

impl Locator {
    pub fn s3() -> Self {
        Locator::default()
    }

    pub fn local(dir: impl Into<PathBuf>) -> Self {
        Locator {
            local_root: Some(dir.into()),
        }
    }

    pub fn url(&self, root: &TableRoot) -> Result<Url, DeltaTableError> {
        match &self.local_root {
            Some(dir) => {
                let mut path = dir.join(&root.bucket);
                if !root.prefix.is_empty() {
                    path = path.join(&root.prefix);
                }
                Url::from_directory_path(&path)
                    .map_err(|_| DeltaTableError::InvalidTableLocation(path.display().to_string()))
            }
            None => Url::parse(&format!("{}/", root.uri()))
                .map_err(|e| DeltaTableError::InvalidTableLocation(format!("{root}: {e}"))),
        }
    }
}

/// The table URL of a configured location: `s3://bucket/prefix` (also
/// `s3a://`), mapped through `locator`, or `file:///absolute/path` as is.
/// A trailing `/` is added; an empty bucket, an empty, `.` or `..` path
/// segment, or another scheme is an error (the text names `uri`).
pub fn table_url(uri: &str, locator: &Locator) -> Result<Url, String> {
    if let Some(rest) = uri
        .strip_prefix("s3://")
        .or_else(|| uri.strip_prefix("s3a://"))
    {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        if bucket.is_empty() {
            return Err(format!("{uri:?} has no bucket"));
        }
        if prefix.split('/').any(|s| s == "." || s == "..") || prefix.contains("//") {
            return Err(format!("{uri:?} has an empty, `.` or `..` path segment"));
        }
        let root = TableRoot {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        };
        return locator.url(&root).map_err(|e| e.to_string());
    }
    if uri.starts_with("file://") {
        let url = Url::parse(&format!("{uri}/")).map_err(|e| format!("{uri:?}: {e}"))?;
        if url.to_file_path().is_err() {
            return Err(format!("{uri:?} is not an absolute local path"));
        }
        return Ok(url);
    }
    Err(format!(
        "{uri:?} is not s3://bucket/prefix (or file:///path for local runs)"
    ))
}

/// Table handles by URL, kept for the life of the container.
#[derive(Default)]
pub struct TableCache {
    tables: HashMap<Url, DeltaTable>,
}

impl TableCache {
    /// Take the table at `url` out of the cache (or make an unloaded handle);
    /// give it back with [`TableCache::put`] when done.
    pub fn take(&mut self, url: &Url) -> Result<DeltaTable, DeltaTableError> {
        match self.tables.remove(url) {
            Some(t) => Ok(t),
            None => open_handle(url),
        }
    }

    pub fn put(&mut self, url: Url, table: DeltaTable) {
        self.tables.insert(url, table);
    }

    pub fn len(&self) -> usize {
        self.tables.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

/// An unloaded table handle: nothing is read until it is loaded.
pub fn open_handle(url: &Url) -> Result<DeltaTable, DeltaTableError> {
    if url.scheme() == "file" {
        if let Ok(path) = url.to_file_path() {
            std::fs::create_dir_all(&path).map_err(|e| {
                DeltaTableError::InvalidTableLocation(format!("{}: {e}", path.display()))
            })?;
        }
    }
    DeltaTableBuilder::from_url(url.clone())?.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_s3_and_local() {
        let root = TableRoot {
            bucket: "b".into(),
            prefix: "my tables/orders".into(),
        };
        assert_eq!(
            Locator::s3().url(&root).unwrap().as_str(),
            "s3://b/my%20tables/orders/"
        );
        let local = Locator::local("/tmp/demo").url(&root).unwrap();
        assert_eq!(local.as_str(), "file:///tmp/demo/b/my%20tables/orders/");
        let bucket_root = TableRoot {
            bucket: "b".into(),
            prefix: String::new(),
        };
        assert_eq!(Locator::s3().url(&bucket_root).unwrap().as_str(), "s3://b/");
    }

    #[test]
    fn configured_table_urls() {
        let s3 = Locator::s3();
        assert_eq!(
            table_url("s3a://b/x/t", &s3).unwrap().as_str(),
            "s3://b/x/t/"
        );
        assert_eq!(
            table_url("s3://b/t", &Locator::local("/tmp/x"))
                .unwrap()
                .as_str(),
            "file:///tmp/x/b/t/"
        );
        assert_eq!(
            table_url("file:///tmp/t", &s3).unwrap().as_str(),
            "file:///tmp/t/"
        );
        assert!(table_url("s3:///t", &s3)
            .unwrap_err()
            .contains("has no bucket"));
        assert!(table_url("s3://b/x/../t", &s3).is_err());
        assert!(table_url("s3://b/x//t", &s3).is_err());
        assert!(table_url("file://host/t", &s3).is_err());
        assert!(table_url("gs://b/t", &s3).is_err());
    }
}
