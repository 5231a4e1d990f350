//! `meander vacuum --dry-run`: the data files in a table's storage that its
//! current version does not reference (orphans: files of a writer that died
//! before committing, or files removed from the table), without deleting
//! anything.
//!
//! It runs delta-rs's VACUUM in full mode as a dry run with no retention,
//! so that every unreferenced file is listed however recent: files of a
//! commit in flight are listed too, which is why this command only ever
//! lists. Hidden folders (`_delta_log/`, `_*`, `.*`) are never listed.

use deltalake::operations::vacuum::VacuumMode;
use deltalake::DeltaTableBuilder;
use serde_json::json;

use crate::info::table_url;
use crate::CliError;

/// List the table's unreferenced data files; `dry_run` must be set (this
/// command does not delete).
pub async fn run(location: &str, dry_run: bool, as_json: bool) -> Result<(), CliError> {
    if !dry_run {
        return Err("meander vacuum only lists (--dry-run); delete with a Delta engine's VACUUM and a retention period that outlives every writer".into());
    }
    let url = table_url(location)?;
    let mut table = DeltaTableBuilder::from_url(url.clone())?.build()?;
    table
        .load()
        .await
        .map_err(|e| format!("{location}: not a Delta table ({e})"))?;
    let version = table.version();
    let (_, metrics) = table
        .vacuum()
        .with_mode(VacuumMode::Full)
        .with_dry_run(true)
        .with_retention_period(chrono::Duration::zero())
        .with_enforce_retention_duration(false)
        .await
        .map_err(|e| format!("{location}: vacuum dry run failed: {e}"))?;
    let mut files = metrics.files_deleted;
    files.sort();
    if as_json {
        let out = json!({
            "table": url.as_str().trim_end_matches('/'),
            "version": version,
            "dry_run": true,
            "unreferenced_files": files,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for f in &files {
            println!("{f}");
        }
        println!(
            "{} file(s) not referenced by version {} of {}; dry run, nothing deleted",
            files.len(),
            version.map_or_else(|| "-".to_string(), |v| v.to_string()),
            url.as_str().trim_end_matches('/')
        );
    }
    Ok(())
}
