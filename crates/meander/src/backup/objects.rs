//! Object access for backups: one small trait over S3 and local folders.
//!
//! A backup copies objects between locations that one `object_store`
//! instance cannot span: S3's `CopyObject` copies between two buckets (even
//! of two accounts) server-side, while an `object_store` S3 store is bound
//! to one bucket. So backups speak [`Objects`]: the S3 implementation (AWS
//! SDK, in the `table-backup` crate) copies with `CopyObject` (or
//! `UploadPartCopy` for objects over 5 GiB) and never downloads data;
//! [`LocalObjects`] serves local folders (the CLI, tests) and computes a
//! SHA-256 while it copies. [`Storage`] routes each location to the right
//! one and copies across them (S3 to local and back) through memory.
//!
//! # Checksums
//!
//! [`ObjectInfo::checksum`] is a content checksum with its algorithm as a
//! prefix, or `None` when none is known without reading the object:
//!
//! - `md5:<hex>`: S3's ETag, when it is an MD5 of the content. That holds
//!   for objects written in one part (a `CopyObject` result always is) with
//!   no encryption or SSE-S3; with SSE-KMS or SSE-C, or for multipart
//!   objects, the ETag is not a content hash and no checksum is recorded.
//! - `sha256:<hex>`: computed while copying to or from a local folder.
//!
//! Checksums of different algorithms are never compared.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
use url::Url;

use crate::events::validate_key;

/// Where a location lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    S3,
    File,
}

/// An object, or a folder (prefix) of objects, in S3 or on the local file
/// system. Keys are plain (not URL-encoded) and have no leading or trailing
/// `/`, no empty, `.` or `..` segments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub scheme: Scheme,
    /// The bucket; empty for local files.
    pub bucket: String,
    /// The key; for local files the absolute path without its leading `/`.
    pub key: String,
}

/// A location that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("location {location:?} is invalid: {reason}")]
pub struct LocError {
    pub location: String,
    pub reason: String,
}

fn loc_error(location: &str, reason: impl Into<String>) -> LocError {
    LocError {
        location: location.to_string(),
        reason: reason.into(),
    }
}

impl Loc {
    /// An S3 location.
    pub fn s3(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Loc {
            scheme: Scheme::S3,
            bucket: bucket.into(),
            key: key.into().trim_matches('/').to_string(),
        }
    }

    /// Parse `s3://bucket/prefix` (or `s3a://`), `file:///path`, or a local
    /// path (relative paths are taken from the current directory; the path
    /// need not exist yet).
    pub fn parse(location: &str) -> Result<Self, LocError> {
        let trimmed = location.trim();
        if trimmed.is_empty() {
            return Err(loc_error(location, "empty"));
        }
        let s3 = trimmed
            .strip_prefix("s3://")
            .or_else(|| trimmed.strip_prefix("s3a://"));
        if let Some(rest) = s3 {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            let ok = !bucket.is_empty()
                && bucket.len() <= 255
                && bucket
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            if !ok {
                return Err(loc_error(location, "expected s3://bucket/prefix"));
            }
            let key = key.trim_end_matches('/');
            if !key.is_empty() {
                validate_key(key).map_err(|e| loc_error(location, e.to_string()))?;
            }
            return Ok(Loc::s3(bucket, key));
        }
        if trimmed.starts_with("file:") {
            let url = Url::parse(trimmed).map_err(|e| loc_error(location, e.to_string()))?;
            let path = url
                .to_file_path()
                .map_err(|_| loc_error(location, "not a local file URL"))?;
            return Loc::local(&path).map_err(|reason| loc_error(location, reason));
        }
        if let Some((scheme, _)) = trimmed.split_once("://") {
            return Err(loc_error(
                location,
                format!("scheme {scheme:?} is not supported (use s3://, file:// or a path)"),
            ));
        }
        let path = PathBuf::from(trimmed);
        let path = if path.is_absolute() {
            path
        } else {
            std::env::current_dir()
                .map_err(|e| loc_error(location, format!("no current directory: {e}")))?
                .join(path)
        };
        Loc::local(&path).map_err(|reason| loc_error(location, reason))
    }

    /// A local absolute path, normalised (`.` dropped, `..` applied).
    fn local(path: &Path) -> Result<Self, String> {
        let mut parts: Vec<String> = Vec::new();
        for c in path.components() {
            match c {
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    parts.pop();
                }
                Component::Normal(s) => parts.push(
                    s.to_str()
                        .ok_or_else(|| "the path is not valid UTF-8".to_string())?
                        .to_string(),
                ),
            }
        }
        Ok(Loc {
            scheme: Scheme::File,
            bucket: String::new(),
            key: parts.join("/"),
        })
    }

    /// The location `rel` below this one (`rel` is a relative key).
    pub fn join(&self, rel: &str) -> Loc {
        let rel = rel.trim_matches('/');
        let key = match (self.key.is_empty(), rel.is_empty()) {
            (_, true) => self.key.clone(),
            (true, false) => rel.to_string(),
            (false, false) => format!("{}/{rel}", self.key),
        };
        Loc {
            scheme: self.scheme,
            bucket: self.bucket.clone(),
            key,
        }
    }

    /// This location as a folder URL with a trailing `/`, as delta-rs opens
    /// tables: `s3://bucket/prefix/` or `file:///path/`.
    pub fn dir_url(&self) -> Result<Url, LocError> {
        match self.scheme {
            Scheme::S3 => {
                let mut url = Url::parse(&format!("s3://{}/", self.bucket))
                    .map_err(|e| loc_error(&self.to_string(), e.to_string()))?;
                if let Ok(mut segments) = url.path_segments_mut() {
                    segments.pop_if_empty();
                    if !self.key.is_empty() {
                        segments.extend(self.key.split('/'));
                    }
                    segments.push("");
                }
                Ok(url)
            }
            Scheme::File => Url::from_directory_path(self.path())
                .map_err(|_| loc_error(&self.to_string(), "not an absolute path")),
        }
    }

    /// The local path of a `file` location.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/{}", self.key))
    }

    /// The key relative to `prefix`, when this location is inside it.
    pub fn relative_to(&self, prefix: &Loc) -> Option<String> {
        if self.scheme != prefix.scheme || self.bucket != prefix.bucket {
            return None;
        }
        if prefix.key.is_empty() {
            return Some(self.key.clone());
        }
        self.key
            .strip_prefix(prefix.key.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .map(str::to_string)
    }
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.scheme {
            Scheme::S3 if self.key.is_empty() => write!(f, "s3://{}", self.bucket),
            Scheme::S3 => write!(f, "s3://{}/{}", self.bucket, self.key),
            Scheme::File => write!(f, "/{}", self.key),
        }
    }
}

/// What is known about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    /// `md5:<hex>` or `sha256:<hex>`; see the module docs.
    pub checksum: Option<String>,
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The key relative to the listed prefix.
    pub key: String,
    pub size: u64,
}

/// The outcome of a put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    Created(ObjectInfo),
    /// `create_only` was asked and the object was already there.
    AlreadyExists,
}

/// An object operation that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectsError {
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("{location}: {message}")]
    Failed { location: String, message: String },
}

impl ObjectsError {
    pub fn failed(location: &Loc, message: impl Into<String>) -> Self {
        ObjectsError::Failed {
            location: location.to_string(),
            message: message.into(),
        }
    }
}

/// The object operations a backup needs. Dyn-compatible, so the S3 one can
/// live with the AWS SDK outside this crate.
pub trait Objects: Send + Sync {
    /// Every object below the folder `prefix`, keys relative to it. A
    /// missing folder is empty.
    fn list<'a>(&'a self, prefix: &'a Loc) -> BoxFuture<'a, Result<Vec<Listed>, ObjectsError>>;
    /// Size and checksum of an object; `None` when it does not exist.
    fn head<'a>(&'a self, at: &'a Loc) -> BoxFuture<'a, Result<Option<ObjectInfo>, ObjectsError>>;
    /// The whole object (manifests); `None` when it does not exist.
    fn get<'a>(&'a self, at: &'a Loc) -> BoxFuture<'a, Result<Option<Bytes>, ObjectsError>>;
    /// Write an object; with `create_only`, never over an existing one.
    fn put<'a>(
        &'a self,
        at: &'a Loc,
        body: Bytes,
        create_only: bool,
    ) -> BoxFuture<'a, Result<Put, ObjectsError>>;
    /// Copy `from` to `to`, both of this store's scheme, without passing the
    /// data through this process where the store can (S3). `size` is the
    /// expected size (from the Delta log), which picks the copy method.
    /// A missing source is [`ObjectsError::NotFound`].
    fn copy<'a>(
        &'a self,
        from: &'a Loc,
        to: &'a Loc,
        size: u64,
    ) -> BoxFuture<'a, Result<ObjectInfo, ObjectsError>>;
}

/// Routes S3 locations to an S3 implementation and local ones to
/// [`LocalObjects`]; copies across the two go through memory.
#[derive(Clone, Default)]
pub struct Storage {
    pub s3: Option<Arc<dyn Objects>>,
    pub local: LocalObjects,
}

impl Storage {
    pub fn new(s3: Option<Arc<dyn Objects>>) -> Self {
        Storage {
            s3,
            local: LocalObjects,
        }
    }

    fn route(&self, at: &Loc) -> Result<&dyn Objects, ObjectsError> {
        match at.scheme {
            Scheme::File => Ok(&self.local),
            Scheme::S3 => self.s3.as_deref().ok_or_else(|| {
                ObjectsError::failed(at, "no S3 client is configured for s3:// locations")
            }),
        }
    }
}

impl Objects for Storage {
    fn list<'a>(&'a self, prefix: &'a Loc) -> BoxFuture<'a, Result<Vec<Listed>, ObjectsError>> {
        Box::pin(async move { self.route(prefix)?.list(prefix).await })
    }

    fn head<'a>(&'a self, at: &'a Loc) -> BoxFuture<'a, Result<Option<ObjectInfo>, ObjectsError>> {
        Box::pin(async move { self.route(at)?.head(at).await })
    }

    fn get<'a>(&'a self, at: &'a Loc) -> BoxFuture<'a, Result<Option<Bytes>, ObjectsError>> {
        Box::pin(async move { self.route(at)?.get(at).await })
    }

    fn put<'a>(
        &'a self,
        at: &'a Loc,
        body: Bytes,
        create_only: bool,
    ) -> BoxFuture<'a, Result<Put, ObjectsError>> {
        Box::pin(async move { self.route(at)?.put(at, body, create_only).await })
    }

    fn copy<'a>(
        &'a self,
        from: &'a Loc,
        to: &'a Loc,
        size: u64,
    ) -> BoxFuture<'a, Result<ObjectInfo, ObjectsError>> {
        Box::pin(async move {
            if from.scheme == to.scheme {
                return self.route(from)?.copy(from, to, size).await;
            }
            let body = self
                .route(from)?
                .get(from)
                .await?
                .ok_or_else(|| ObjectsError::NotFound(from.to_string()))?;
            match self.route(to)?.put(to, body, false).await? {
                Put::Created(info) => Ok(info),
                Put::AlreadyExists => Err(ObjectsError::failed(to, "unexpected AlreadyExists")),
            }
        })
    }
}

/// Local folders: plain files, written to a temporary name and renamed into
/// place, so a reader never sees half an object.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalObjects;

/// Temporary files are named `.meander-tmp-<uuid>` and never listed.
const TMP_PREFIX: &str = ".meander-tmp-";

fn io_error(at: &Path, e: &std::io::Error) -> ObjectsError {
    ObjectsError::Failed {
        location: at.display().to_string(),
        message: e.to_string(),
    }
}

fn sha256_hex(digest: &[u8]) -> String {
    let mut s = String::with_capacity(7 + digest.len() * 2);
    s.push_str("sha256:");
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

async fn blocking<T: Send + 'static>(
    at: &Loc,
    f: impl FnOnce() -> Result<T, ObjectsError> + Send + 'static,
) -> Result<T, ObjectsError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ObjectsError::failed(at, format!("I/O task failed: {e}")))?
}

fn list_dir(root: &Path) -> Result<Vec<Listed>, ObjectsError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => continue,
            Err(e) => return Err(io_error(&dir, &e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&dir, &e))?;
            let path = entry.path();
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(TMP_PREFIX) {
                continue;
            }
            let meta = std::fs::metadata(&path).map_err(|e| io_error(&path, &e))?;
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let Ok(rel) = path.strip_prefix(root) else {
                    continue;
                };
                let parts: Option<Vec<&str>> =
                    rel.components().map(|c| c.as_os_str().to_str()).collect();
                if let Some(parts) = parts {
                    out.push(Listed {
                        key: parts.join("/"),
                        size: meta.len(),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

fn hash_file(path: &Path) -> Result<Option<ObjectInfo>, ObjectsError> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, &e)),
    };
    if !file.metadata().map_err(|e| io_error(path, &e))?.is_file() {
        return Ok(None);
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| io_error(path, &e))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        size += n as u64;
    }
    Ok(Some(ObjectInfo {
        size,
        checksum: Some(sha256_hex(&hasher.finalize())),
    }))
}

fn tmp_path_for(path: &Path) -> Result<PathBuf, ObjectsError> {
    let parent = path.parent().ok_or_else(|| ObjectsError::Failed {
        location: path.display().to_string(),
        message: "has no parent folder".into(),
    })?;
    std::fs::create_dir_all(parent).map_err(|e| io_error(parent, &e))?;
    Ok(parent.join(format!("{TMP_PREFIX}{}", uuid::Uuid::new_v4())))
}

/// Move the finished temporary file into place (or, with `create_only`,
/// link it there unless the name is taken).
fn publish(tmp: &Path, path: &Path, create_only: bool) -> Result<bool, ObjectsError> {
    let result = if create_only {
        match std::fs::hard_link(tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_error(path, &e)),
        }
    } else {
        std::fs::rename(tmp, path)
            .map(|()| true)
            .map_err(|e| io_error(path, &e))
    };
    let _ = std::fs::remove_file(tmp);
    result
}

/// A writer that hashes what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn copy_file(from: &Path, to: &Path) -> Result<ObjectInfo, ObjectsError> {
    let mut source = match std::fs::File::open(from) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ObjectsError::NotFound(from.display().to_string()))
        }
        Err(e) => return Err(io_error(from, &e)),
    };
    let tmp = tmp_path_for(to)?;
    let written = (|| {
        let file = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, &e))?;
        let mut out = Hashing {
            inner: std::io::BufWriter::new(file),
            hasher: Sha256::new(),
            size: 0,
        };
        std::io::copy(&mut source, &mut out).map_err(|e| io_error(from, &e))?;
        out.flush().map_err(|e| io_error(&tmp, &e))?;
        Ok(ObjectInfo {
            size: out.size,
            checksum: Some(sha256_hex(&out.hasher.finalize())),
        })
    })();
    match written {
        Ok(info) => {
            publish(&tmp, to, false)?;
            Ok(info)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn put_file(path: &Path, body: &[u8], create_only: bool) -> Result<Put, ObjectsError> {
    let tmp = tmp_path_for(path)?;
    if let Err(e) = std::fs::write(&tmp, body) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(&tmp, &e));
    }
    if publish(&tmp, path, create_only)? {
        Ok(Put::Created(ObjectInfo {
            size: body.len() as u64,
            checksum: Some(sha256_hex(&Sha256::digest(body))),
        }))
    } else {
        Ok(Put::AlreadyExists)
    }
}

fn local_only(at: &Loc) -> Result<PathBuf, ObjectsError> {
    if at.scheme == Scheme::File {
        Ok(at.path())
    } else {
        Err(ObjectsError::failed(at, "not a local location"))
    }
}

impl Objects for LocalObjects {
    fn list<'a>(&'a self, prefix: &'a Loc) -> BoxFuture<'a, Result<Vec<Listed>, ObjectsError>> {
        Box::pin(async move {
            let root = local_only(prefix)?;
            blocking(prefix, move || list_dir(&root)).await
        })
    }

    fn head<'a>(&'a self, at: &'a Loc) -> BoxFuture<'a, Result<Option<ObjectInfo>, ObjectsError>> {
        Box::pin(async move {
            let path = local_only(at)?;
            blocking(at, move || hash_file(&path)).await
        })
    }

    fn get<'a>(&'a self, at: &'a Loc) -> BoxFuture<'a, Result<Option<Bytes>, ObjectsError>> {
        Box::pin(async move {
            let path = local_only(at)?;
            blocking(at, move || match std::fs::read(&path) {
                Ok(b) => Ok(Some(Bytes::from(b))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_error(&path, &e)),
            })
            .await
        })
    }

    fn put<'a>(
        &'a self,
        at: &'a Loc,
        body: Bytes,
        create_only: bool,
    ) -> BoxFuture<'a, Result<Put, ObjectsError>> {
        Box::pin(async move {
            let path = local_only(at)?;
            blocking(at, move || put_file(&path, &body, create_only)).await
        })
    }

    fn copy<'a>(
        &'a self,
        from: &'a Loc,
        to: &'a Loc,
        _size: u64,
    ) -> BoxFuture<'a, Result<ObjectInfo, ObjectsError>> {
        Box::pin(async move {
            let (src, dst) = (local_only(from)?, local_only(to)?);
            blocking(from, move || copy_file(&src, &dst)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_locations() {
        let l = Loc::parse("s3://bk/backups/meander/").unwrap();
        assert_eq!(l, Loc::s3("bk", "backups/meander"));
        assert_eq!(l.to_string(), "s3://bk/backups/meander");
        assert_eq!(Loc::parse("s3a://bk").unwrap(), Loc::s3("bk", ""));
        assert_eq!(
            Loc::parse("s3://bk/my tables/t")
                .unwrap()
                .dir_url()
                .unwrap()
                .as_str(),
            "s3://bk/my%20tables/t/"
        );
        assert_eq!(
            Loc::parse("s3://bk").unwrap().dir_url().unwrap().as_str(),
            "s3://bk/"
        );
        let f = Loc::parse("file:///tmp/a%20b/../c/").unwrap();
        assert_eq!(f.key, "tmp/c");
        assert_eq!(f.to_string(), "/tmp/c");
        assert_eq!(f.dir_url().unwrap().as_str(), "file:///tmp/c/");
        assert_eq!(Loc::parse("/x/./y").unwrap().key, "x/y");
        assert!(Loc::parse("s3:///k").is_err());
        assert!(Loc::parse("s3://b/a/../k").is_err());
        assert!(Loc::parse("gs://b/k").is_err());
        assert!(Loc::parse("  ").is_err());
        let rel = Loc::parse("relative/dir").unwrap();
        assert!(rel.key.ends_with("relative/dir"), "{rel}");
    }

    #[test]
    fn join_and_relative() {
        let root = Loc::s3("b", "");
        let t = root.join("tables/orders");
        assert_eq!(t.key, "tables/orders");
        let f = t.join("_delta_log/00000000000000000000.json");
        assert_eq!(
            f.relative_to(&t).as_deref(),
            Some("_delta_log/00000000000000000000.json")
        );
        assert_eq!(f.relative_to(&root).as_deref(), Some(f.key.as_str()));
        assert_eq!(Loc::s3("b", "tables/orders_v2/x").relative_to(&t), None);
        assert_eq!(Loc::s3("c", "tables/orders/x").relative_to(&t), None);
    }

    #[tokio::test]
    async fn local_objects_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let root = Loc::parse(dir.path().to_str().unwrap()).unwrap();
        let s = Storage::new(None);
        assert!(s.list(&root.join("nothing")).await.unwrap().is_empty());
        let a = root.join("a/b c.txt");
        let Put::Created(info) = s.put(&a, Bytes::from_static(b"abc"), true).await.unwrap() else {
            panic!("not created");
        };
        assert_eq!(info.size, 3);
        assert_eq!(
            info.checksum.as_deref(),
            Some("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            s.put(&a, Bytes::from_static(b"xyz"), true).await.unwrap(),
            Put::AlreadyExists
        );
        assert_eq!(
            s.get(&a).await.unwrap().unwrap(),
            Bytes::from_static(b"abc")
        );
        let b = root.join("copy/x.txt");
        let copied = s.copy(&a, &b, 3).await.unwrap();
        assert_eq!(copied, info);
        assert_eq!(s.head(&b).await.unwrap(), Some(info));
        let listed = s.list(&root).await.unwrap();
        let keys: Vec<&str> = listed.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(keys, ["a/b c.txt", "copy/x.txt"]);
        assert_eq!(s.head(&root.join("missing")).await.unwrap(), None);
        assert_eq!(s.get(&root.join("missing")).await.unwrap(), None);
        assert!(matches!(
            s.copy(&root.join("missing"), &b, 1).await,
            Err(ObjectsError::NotFound(_))
        ));
        assert!(s.head(&Loc::s3("b", "k")).await.is_err(), "no S3 client");
    }
}
