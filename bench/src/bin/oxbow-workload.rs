//! One oxbow invocation on local files, in-process, for profiling:
//! `oxbow-workload DIR FILES ROWS` writes the export (once per DIR), runs
//! the oxbow handler on one SQS batch announcing every file into a fresh
//! table, and prints a JSON line with the figures.

use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(files), Some(rows)) = (args.get(1), args.get(2), args.get(3)) else {
        return Err("usage: oxbow-workload DIR FILES ROWS".into());
    };
    let dir = std::path::PathBuf::from(dir);
    let files: usize = files.parse()?;
    let rows: usize = rows.parse()?;
    let event = meander_bench::parquet_export(&dir, "bkt", "orders", files, rows)?;
    let log = dir.join("bkt/orders/_delta_log");
    if log.exists() {
        std::fs::remove_dir_all(&log)?;
    }
    let env = meander_lambda::Env::from_pairs([(
        meander_lambda::config::LOCAL_STORAGE_DIR,
        dir.display().to_string(),
    )]);
    let started = Instant::now();
    let state = oxbow::Oxbow::from_env(&env)?;
    let response = oxbow::handle(&state, event)
        .await
        .map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    println!(
        "{}",
        serde_json::json!({
            "files": files,
            "rows_per_file": rows,
            "elapsed_ms": elapsed.as_secs_f64() * 1000.0,
            "peak_rss_kb": meander_bench::peak_rss_kb(),
            "failures": response.batch_item_failures.len(),
        })
    );
    Ok(())
}
