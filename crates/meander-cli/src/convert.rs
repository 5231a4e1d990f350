//! `meander convert`: a location full of Parquet files becomes a Delta table.
//!
//! Every `*.parquet` file under the location (hidden files and folders,
//! `_delta_log/` and `_change_data/` excepted) is added by the same engine
//! oxbow runs on S3 events: footers only, partitions from `k=v` folders,
//! stats, schema merged across files. On an existing table only the files
//! not yet in it are added. Files go in commits of [`CHUNK`], so a huge
//! location makes progress that survives an interruption.

use std::path::Path;

use futures::TryStreamExt;
use meander::events::{DecodedBatch, ObjectEvent, ObjectEventKind, PayloadKind};
use meander::oxbow::{Oxbow, OxbowConfig};
use meander::table::TablePrefixes;
use meander::tables::Locator;

use crate::CliError;

/// Files per commit.
pub const CHUNK: usize = 500;

/// Where a location's table lives, as the engine sees it: a bucket (or a
/// folder standing in for one) and the prefix of the table in it.
struct Target {
    locator: Locator,
    bucket: String,
    prefix: String,
    display: String,
}

fn target(location: &str) -> Result<Target, CliError> {
    if let Some(rest) = location.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("{location:?}: no bucket").into());
        }
        return Ok(Target {
            locator: Locator::s3(),
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            display: location.trim_end_matches('/').to_string(),
        });
    }
    let path = location.strip_prefix("file://").unwrap_or(location);
    let path = std::fs::canonicalize(path).map_err(|e| {
        format!("{location:?}: {e} (expected a folder of Parquet files or s3://bucket/prefix)")
    })?;
    if !path.is_dir() {
        return Err(format!("{} is not a folder", path.display()).into());
    }
    // The folder is a "bucket" under its parent.
    let parent = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{}: cannot convert the root folder", path.display()))?;
    Ok(Target {
        locator: Locator::local(parent),
        bucket: name,
        prefix: String::new(),
        display: path.display().to_string(),
    })
}

pub async fn run(location: &str) -> Result<(), CliError> {
    let t = target(location)?;
    let root = meander::table::TableRoot {
        bucket: t.bucket.clone(),
        prefix: t.prefix.clone(),
    };
    let url = t.locator.url(&root)?;
    let store = meander::tables::open_handle(&url)?.object_store();

    let listing = indicatif::ProgressBar::new_spinner().with_message("listing");
    let mut objects: Vec<object_store::ObjectMeta> = store
        .list(None)
        .inspect_ok(|_| listing.inc(1))
        .try_collect()
        .await
        .map_err(|e| format!("cannot list {}: {e}", t.display))?;
    listing.finish_and_clear();
    objects.sort_by(|a, b| a.location.cmp(&b.location));

    let key_of = |rel: &str| {
        if t.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", t.prefix)
        }
    };
    let events: Vec<ObjectEvent> = objects
        .iter()
        .map(|m| ObjectEvent {
            bucket: t.bucket.clone(),
            key: key_of(m.location.as_ref()),
            size: Some(m.size),
            kind: ObjectEventKind::Created,
            event_name: "convert".into(),
            event_time: Some(m.last_modified),
            sequencer: None,
            message_id: None,
        })
        .filter(|e| {
            matches!(
                meander::table::classify(&e.bucket, &e.key, &TablePrefixes::default()),
                meander::table::KeyClass::Data(_)
            )
        })
        .collect();
    if events.is_empty() {
        return Err(format!("no Parquet files under {}", t.display).into());
    }

    let engine = Oxbow::new(OxbowConfig {
        table_prefixes: TablePrefixes::parse(&[format!("s3://{}/{}", t.bucket, t.prefix)])?,
        locator: t.locator.clone(),
        ..OxbowConfig::default()
    });
    let bar = indicatif::ProgressBar::new(events.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (mut added, mut present, mut bytes) = (0usize, 0usize, 0u64);
    let mut errors = Vec::new();
    for chunk in events.chunks(CHUNK) {
        let batch = DecodedBatch {
            kind: PayloadKind::S3,
            events: chunk.to_vec(),
            message_ids: Vec::new(),
            failures: Vec::new(),
            test_events: 0,
            skipped: 0,
        };
        let outcome = engine.process(&batch).await;
        for r in &outcome.tables {
            added += r.files_added;
            present += r.already_present;
            bytes += r.bytes_added;
            errors.extend(r.errors.iter().cloned());
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();

    let d = crate::info::describe(url.as_str()).await?;
    println!(
        "{}: added {added} files ({bytes} bytes), {present} already in the table; table version {} now has {} files, {} rows, {} bytes",
        t.display, d["version"], d["files"], d["rows"], d["bytes"]
    );
    if errors.is_empty() {
        Ok(())
    } else {
        for e in &errors {
            eprintln!("skipped: {e}");
        }
        Err(format!("{} file(s) could not be added", errors.len()).into())
    }
}
