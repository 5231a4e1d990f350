//! Where oxbow's warm append spends its time, on a table built by
//! `table-tool make DIR N`: `oxbow-warm DIR [WARM]` runs, in-process, one
//! cold oxbow invocation of 100 new files then WARM (default 5) warm ones
//! (one container), and times the deltalake steps of the warm path on their
//! own (full scan of the live files, a 100-add commit with its post-commit
//! snapshot update, an incremental refresh after another writer's commit,
//! the same commit without its post-commit step).
//! Prints one JSON line.

use std::time::Instant;

use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add};
use deltalake::protocol::{DeltaOperation, SaveMode};

const BATCH: usize = 100;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn adds(dir: &std::path::Path, range: std::ops::Range<usize>) -> std::io::Result<Vec<Action>> {
    meander_bench::parquet_files(dir, "bkt", "orders", range.clone(), 10)?;
    Ok(range
        .map(|i| {
            let key = format!("ds=2026-11-{:02}/part-{i:06}.parquet", i % 28 + 1);
            let size = std::fs::metadata(dir.join("bkt/orders").join(&key))
                .map(|m| m.len() as i64)
                .unwrap_or(0);
            Action::Add(Add {
                path: key,
                partition_values: [("ds".to_string(), Some(format!("2026-11-{:02}", i % 28 + 1)))]
                    .into_iter()
                    .collect(),
                size,
                modification_time: 0,
                data_change: true,
                ..Default::default()
            })
        })
        .collect())
}

fn props() -> CommitProperties {
    CommitProperties::default()
        .with_max_retries(0)
        .with_create_checkpoint(true)
        .with_cleanup_expired_logs(Some(false))
}

fn op() -> DeltaOperation {
    DeltaOperation::Write {
        mode: SaveMode::Append,
        partition_by: None,
        predicate: None,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        return Err("usage: oxbow-warm DIR [WARM]".into());
    };
    let warm_n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(5);
    let dir = std::path::PathBuf::from(dir);
    let url = url::Url::from_directory_path(dir.join("bkt/orders").canonicalize()?)
        .map_err(|_| "bad dir")?;
    let mut next = 2_000_000usize;

    // The oxbow handler, one container: cold then warm invocations.
    let env = meander_lambda::Env::from_pairs([(
        meander_lambda::config::LOCAL_STORAGE_DIR,
        dir.display().to_string(),
    )]);
    let state = oxbow::Oxbow::from_env(&env)?;
    let mut invocations = Vec::new();
    for _ in 0..=warm_n {
        let event = meander_bench::parquet_files(&dir, "bkt", "orders", next..next + BATCH, 10)?;
        next += BATCH;
        let t = Instant::now();
        let response = oxbow::handle(&state, event)
            .await
            .map_err(|e| e.to_string())?;
        invocations.push(ms(t));
        if !response.batch_item_failures.is_empty() {
            return Err("oxbow reported failures".into());
        }
    }
    let cold_ms = invocations[0];
    let mut warm = invocations[1..].to_vec();
    warm.sort_by(f64::total_cmp);
    let warm_median = warm.get(warm.len() / 2).copied().unwrap_or(f64::NAN);

    // The deltalake steps on their own.
    let t = Instant::now();
    let mut table = deltalake::open_table(url.clone()).await?;
    let load_ms = ms(t);
    let wanted: std::collections::HashSet<String> = (0..BATCH)
        .map(|i| format!("ds=2026-11-01/part-{i:06}.parquet"))
        .collect();
    let t = Instant::now();
    let mut hits = 0usize;
    if let Some(s) = table.state.as_ref() {
        for f in s.log_data().iter() {
            if wanted.contains(f.path().as_ref()) {
                hits += 1;
                let _ = f.partition_values_map();
            }
        }
    }
    let scan_ms = ms(t);
    let mut commit = Vec::new();
    for _ in 0..3 {
        let actions = adds(&dir, next..next + BATCH)?;
        next += BATCH;
        let t = Instant::now();
        let done = CommitBuilder::from(props())
            .with_actions(actions)
            .build(
                table.state.as_ref().map(|s| s as _),
                table.log_store(),
                op(),
            )
            .await?;
        table.state = Some(done.snapshot());
        commit.push(ms(t));
    }
    // Another writer commits; this handle catches up.
    let mut other = deltalake::open_table(url.clone()).await?;
    let actions = adds(&dir, next..next + BATCH)?;
    CommitBuilder::from(props())
        .with_actions(actions)
        .build(
            other.state.as_ref().map(|s| s as _),
            other.log_store(),
            op(),
        )
        .await?;
    other.state = None;
    let t = Instant::now();
    table.update_incremental(None).await?;
    let update_ms = ms(t);
    let files = table.state.as_ref().map(|s| s.log_data().num_files());
    // The same commit without its post-commit step (no snapshot update, no
    // checkpoint): what writing the commit itself costs.
    let actions = adds(&dir, next..next + BATCH)?;
    let t = Instant::now();
    let post = CommitBuilder::from(props())
        .with_actions(actions)
        .build(
            table.state.as_ref().map(|s| s as _),
            table.log_store(),
            op(),
        )
        .into_prepared_commit_future()
        .await?
        .await?;
    let write_only_ms = ms(t);
    drop(post);

    println!(
        "{}",
        serde_json::json!({
            "files": files,
            "oxbow_cold_ms": cold_ms,
            "oxbow_warm_ms": invocations[1..],
            "oxbow_warm_median_ms": warm_median,
            "open_table_ms": load_ms,
            "scan_live_files_ms": scan_ms,
            "scan_hits": hits,
            "commit_100_adds_ms": commit,
            "update_incremental_after_other_writer_ms": update_ms,
            "commit_write_only_no_post_commit_ms": write_only_ms,
            "peak_rss_kb": meander_bench::peak_rss_kb(),
        })
    );
    Ok(())
}
