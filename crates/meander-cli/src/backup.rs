//! `meander backup` / `meander restore`: point-in-time table backups.
//!
//! Same engine and layout as the table-backup function
//! ([`meander::backup`]): a backup made by one restores with the other.
//! S3 to S3 copies are server-side (`CopyObject`, across buckets); local
//! folders work too (a local backup of an S3 table downloads it).

use std::sync::Arc;

use meander::backup::{self, BackupLayout, BackupOptions, Loc, RestoreOptions, Scheme, Storage};

use crate::CliError;

/// Storage for these locations; the S3 client is built only when needed.
async fn storage(locations: &[&Loc]) -> Storage {
    if locations.iter().any(|l| l.scheme == Scheme::S3) {
        let client = table_backup::s3::client_from_env().await;
        Storage::new(Some(Arc::new(table_backup::s3::S3Objects::new(client))))
    } else {
        Storage::new(None)
    }
}

fn parse(what: &str, location: &str) -> Result<Loc, CliError> {
    Loc::parse(location).map_err(|e| format!("{what}: {e}").into())
}

/// Back up `table` (at `version`, or the latest) under the backup root `backup_root`.
pub async fn run_backup(
    table: &str,
    backup_root: &str,
    version: Option<u64>,
    json: bool,
) -> Result<(), CliError> {
    let source = parse("table", table)?;
    let root = parse("backup location", backup_root)?;
    let layout = BackupLayout::for_table(&root, &source);
    let objects = storage(&[&source, &root]).await;
    let delta = backup::open_table(&source, version)
        .await
        .map_err(|e| format!("cannot open the table: {e}"))?;
    let report = backup::backup(
        &objects,
        &delta,
        &source,
        &layout,
        &BackupOptions::default(),
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if report.already_backed_up {
        println!(
            "{} version {} was already backed up: {}",
            report.table, report.version, report.manifest
        );
    } else {
        println!(
            "{} version {} backed up to {}: copied {} files and {} log files ({} bytes), {} already there; {} files, {} bytes, {} rows",
            report.table,
            report.version,
            report.location,
            report.copied_files,
            report.copied_log_files,
            report.copied_bytes,
            report.already_present,
            report.files,
            report.bytes,
            report
                .num_records
                .map_or_else(|| "unknown".to_string(), |n| n.to_string()),
        );
        println!("restore with: meander restore {} <target>", report.location);
    }
    Ok(())
}

/// Restore the table backed up at `backup_location` into the empty `target`.
pub async fn run_restore(
    backup_location: &str,
    target: &str,
    version: Option<u64>,
    json: bool,
) -> Result<(), CliError> {
    let layout = BackupLayout::new(parse("backup location", backup_location)?);
    let target = parse("target", target)?;
    let objects = storage(&[&layout.root, &target]).await;
    let options = RestoreOptions {
        version,
        ..RestoreOptions::default()
    };
    let report = backup::restore(&objects, &layout, &target, &options).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "restored {} version {} to {}: {} files, {} bytes, {} rows; verified against {} ({} checksums compared)",
            report.source,
            report.version,
            report.table,
            report.files,
            report.bytes,
            report.rows,
            report.manifest,
            report.checksums_verified,
        );
    }
    Ok(())
}
