//! Tables for the oxbow scaling benchmark, and the full-file-list load it
//! is compared with.
//!
//! - `table-tool make DIR FILES` builds the local table `DIR/bkt/orders`
//!   with FILES files quickly: the real oxbow handler creates it from one
//!   real Parquet file (version 0), then version 1 adds FILES-1 synthetic
//!   `add` actions (same size and stats, distinct paths, written straight
//!   into the commit JSON) and deltalake writes a checkpoint of version 1.
//!   Prints the times of the first full load and of the checkpoint.
//! - `table-tool load URI` opens the table the way a stateless, oxbow-style
//!   tool does on every invocation: deltalake's default load, which reads
//!   the checkpoint and tracks every file. Prints its time, the file count
//!   and the process's peak RSS.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};

type BoxError = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    meander::tables::register_handlers();
    match args.get(1).map(String::as_str) {
        Some("make") => {
            let (Some(dir), Some(files)) = (args.get(2), args.get(3)) else {
                return Err("usage: table-tool make DIR FILES".into());
            };
            make(Path::new(dir), files.parse()?).await
        }
        Some("load") => {
            let Some(uri) = args.get(2) else {
                return Err("usage: table-tool load URI".into());
            };
            load(uri).await
        }
        _ => Err("usage: table-tool make DIR FILES | table-tool load URI".into()),
    }
}

fn table_url(uri: &str) -> Result<url::Url, BoxError> {
    if uri.contains("://") {
        return Ok(url::Url::parse(uri)?);
    }
    let path = std::fs::canonicalize(uri)?;
    url::Url::from_directory_path(&path).map_err(|()| format!("not a directory: {uri}").into())
}

async fn make(dir: &Path, files: usize) -> Result<(), BoxError> {
    if files == 0 {
        return Err("FILES must be at least 1".into());
    }
    std::fs::create_dir_all(dir)?;
    let dir = &std::fs::canonicalize(dir)?;
    let table = dir.join("bkt/orders");
    if table.exists() {
        std::fs::remove_dir_all(&table)?;
    }
    // Version 0: the real handler creates the table from one real file.
    let event = meander_bench::parquet_export(dir, "bkt", "orders", 1, 100)?;
    let env = meander_lambda::Env::from_pairs([(
        meander_lambda::config::LOCAL_STORAGE_DIR,
        dir.display().to_string(),
    )]);
    let state = oxbow::Oxbow::from_env(&env)?;
    let response = oxbow::handle(&state, event)
        .await
        .map_err(|e| e.to_string())?;
    if !response.batch_item_failures.is_empty() {
        return Err(format!("oxbow failed to create the table: {response:?}").into());
    }
    let log = table.join("_delta_log");
    let v0 = std::fs::read_to_string(log.join("00000000000000000000.json"))?;
    let add: Value = v0
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|a| a.get("add").cloned())
        .ok_or("version 0 has no add action")?;

    // Version 1: FILES-1 synthetic adds.
    let written = Instant::now();
    let mut out = std::io::BufWriter::new(std::fs::File::create(
        log.join("00000000000000000001.json"),
    )?);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    writeln!(
        out,
        "{}",
        json!({"commitInfo": {"timestamp": now_ms, "operation": "WRITE",
            "operationParameters": {"mode": "Append"}, "clientVersion": "meander-bench"}})
    )?;
    for i in 1..files {
        let day = format!("2026-10-{:02}", i % 28 + 1);
        let mut a = add.clone();
        a["path"] = json!(format!("ds={day}/existing-{i:07}.parquet"));
        a["partitionValues"] = json!({ "ds": day });
        a["modificationTime"] = json!(now_ms);
        writeln!(out, "{}", json!({ "add": a }))?;
    }
    out.flush()?;
    drop(out);
    let write_ms = written.elapsed().as_secs_f64() * 1000.0;

    let url = table_url(&table.display().to_string())?;
    let started = Instant::now();
    let t = deltalake::open_table(url.clone()).await?;
    let json_load_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = Instant::now();
    deltalake::checkpoints::create_checkpoint(&t, None).await?;
    let checkpoint_ms = started.elapsed().as_secs_f64() * 1000.0;
    let count = t.get_file_uris()?.count();
    println!(
        "{}",
        json!({
            "files": count,
            "version": t.version(),
            "write_log_ms": write_ms,
            "load_from_json_ms": json_load_ms,
            "checkpoint_ms": checkpoint_ms,
            "peak_rss_kb": meander_bench::peak_rss_kb(),
        })
    );
    Ok(())
}

async fn load(uri: &str) -> Result<(), BoxError> {
    let url = table_url(uri)?;
    let started = Instant::now();
    let t = deltalake::open_table(url).await?;
    let count = t.get_file_uris()?.count();
    let elapsed = started.elapsed();
    println!(
        "{}",
        json!({
            "files": count,
            "version": t.version(),
            "load_ms": elapsed.as_secs_f64() * 1000.0,
            "peak_rss_kb": meander_bench::peak_rss_kb(),
        })
    );
    Ok(())
}
