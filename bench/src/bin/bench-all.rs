//! The benchmark run behind `bench/run.sh` (bench/README.md): every
//! measurement of issue #10 side by side in one run, written to
//! `<out>/results.json` (bench/py/report.py turns it into results.md and
//! the plots).
//!
//! The measured programs are the release function binaries (run under the
//! test bed's Lambda Runtime API driver, one process per container, peak RSS
//! from `/proc/<pid>/status` VmHWM), the release `table-tool` and the
//! Python baseline (bench/py), each in its own process. This driver only
//! orchestrates, so it may be a debug build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use meander_bench::{cost, events, stats};
use meander_e2e::aws::{Aws, QueueOptions};
use meander_e2e::moto::env_for_function;
use meander_e2e::runtime::{FunctionProcess, InvokeOutcome, SpawnOptions};
use serde_json::{json, Value};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = std::result::Result<T, BoxError>;

const FUNCTIONS: [&str; 7] = [
    "oxbow",
    "group-events",
    "sqs-ingest",
    "dynamo-cdc",
    "dms-merge",
    "glue-sync",
    "table-backup",
];
const INVOKE_TIMEOUT: Duration = Duration::from_secs(900);
const READY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Parser, Debug, Clone)]
#[command(about = "Meander benchmarks (bench/README.md)")]
struct Args {
    /// Where results.json goes.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// The directory holding the release binaries (functions, table-tool).
    #[arg(long)]
    bins: PathBuf,
    /// Scratch directory (tables, events).
    #[arg(long)]
    work: PathBuf,
    /// The bench venv's python (pandas, boto3, deltalake, moto).
    #[arg(long)]
    python: PathBuf,
    /// Table sizes (existing files) for the oxbow scaling benchmark.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    sizes: Vec<usize>,
    /// Records (stream records, SQS messages, dms-merge full-load rows) per
    /// throughput run.
    #[arg(long, default_value_t = 10_000)]
    records: usize,
    /// Records per invocation (dms-merge: changes per CDC file).
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Repetitions (medians are reported).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Cold starts per function.
    #[arg(long, default_value_t = 5)]
    cold_reps: usize,
    /// Parts to run: dynamo, sqs, dms, oxbow, cold.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "dynamo,sqs,dms,oxbow,cold"
    )]
    only: Vec<String>,
    /// Keep the parts of an existing results.json that this run does not
    /// measure (each part records the configuration it ran with).
    #[arg(long)]
    merge: bool,
    /// table-tool to build the tables with (default: the one in --bins).
    /// `table-tool load` is timed only when it is the one in --bins.
    #[arg(long)]
    tool: Option<PathBuf>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Res<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)?;
    std::fs::create_dir_all(&args.work)?;
    let args = Args {
        work: std::fs::canonicalize(&args.work)?,
        bins: std::fs::canonicalize(&args.bins)?,
        ..args
    };
    let started = Instant::now();
    let path = args.out.join("results.json");
    let mut results = if args.merge && path.exists() {
        serde_json::from_slice(&std::fs::read(&path)?)?
    } else {
        json!({})
    };
    let config = json!({
        "sizes": args.sizes, "records": args.records, "batch": args.batch,
        "reps": args.reps, "cold_reps": args.cold_reps, "parts": args.only,
    });
    results["machine"] = machine(&args);
    results["config"] = config.clone();
    // Moto is started once, with the bench venv's python.
    let aws = Aws::new().await;
    let wants = |p: &str| args.only.iter().any(|o| o == p);
    if wants("dynamo") {
        eprintln!("== dynamo-cdc vs the Python baseline");
        results["dynamo_cdc"] = dynamo_cdc(&args, &aws).await?;
        results["dynamo_cdc"]["config"] = config.clone();
        save(&path, &results)?;
    }
    if wants("sqs") {
        eprintln!("== sqs-ingest");
        results["sqs_ingest"] = sqs_ingest(&args, &aws).await?;
        results["sqs_ingest"]["config"] = config.clone();
        save(&path, &results)?;
    }
    if wants("dms") {
        eprintln!("== dms-merge");
        results["dms_merge"] = dms_merge(&args, &aws).await?;
        results["dms_merge"]["config"] = config.clone();
        save(&path, &results)?;
    }
    if wants("oxbow") {
        eprintln!("== oxbow vs table size");
        results["oxbow"] = oxbow_scaling(&args).await?;
        results["oxbow"]["config"] = config.clone();
        save(&path, &results)?;
    }
    if wants("cold") {
        eprintln!("== cold starts and sizes");
        results["cold_start"] = cold_starts(&args, &aws).await?;
        results["cold_start"]["config"] = config.clone();
        save(&path, &results)?;
    }
    results["cost"] = costs(&results);
    results["elapsed_s"] = json!(started.elapsed().as_secs_f64());
    results["config"] = config;
    save(&path, &results)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn save(path: &Path, results: &Value) -> Res<()> {
    std::fs::write(path, serde_json::to_string_pretty(results)? + "\n")?;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn binary(args: &Args, name: &str) -> PathBuf {
    args.bins.join(name)
}

// ---------------------------------------------------------------- machine

fn machine(args: &Args) -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: Option<u64> = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok());
    let run = |cmd: &str, a: &[&str]| -> Option<String> {
        let out = Command::new(cmd).args(a).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let py = args.python.display().to_string();
    json!({
        "date_utc": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "nproc": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "cpu_model": cpu_model,
        "memory_kb": mem_kb,
        "arch": std::env::consts::ARCH,
        "kernel": run("uname", &["-r"]),
        "rustc": run("rustc", &["--version"]),
        "python": run(&py, &["--version"]),
        "git_commit": run("git", &["rev-parse", "HEAD"]),
        // Changes outside the results this run writes.
        "git_dirty": run("git", &["status", "--porcelain", "--", ".", ":!bench/results"])
            .map(|s| !s.is_empty()),
        "note": "shared machine: other builds may run at the same time; ratios are against the same run's baseline",
    })
}

// ------------------------------------------------------- function driving

/// One container: spawned, made ready, invoked with every event in turn.
struct Container {
    init_ms: f64,
    invoke_ms: Vec<f64>,
    peak_rss_kb: u64,
    /// Per invocation: the time this (debug) driver's Runtime API server
    /// takes to encode the event it hands over, part of `invoke_ms`; in
    /// Lambda that is the service's work, not the function's.
    encode_ms: Vec<f64>,
}

async fn run_container(
    binary: &Path,
    env: Vec<(String, String)>,
    events: &[Value],
) -> Res<Container> {
    let options = SpawnOptions {
        memory_mb: cost::ONE_VCPU_MB,
        function_timeout: INVOKE_TIMEOUT,
        ..Default::default()
    };
    let mut env = env;
    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "warn".into()));
    let mut f = FunctionProcess::spawn_with(binary, env, options).await?;
    let init = f.wait_ready(READY_TIMEOUT).await?;
    let mut encode_ms = Vec::new();
    for event in events {
        // The same encoding the Runtime API server does (serde_json).
        let t = Instant::now();
        std::hint::black_box(event.to_string());
        encode_ms.push(ms(t.elapsed()));
        let outcome = f.invoke(event.clone(), INVOKE_TIMEOUT).await?;
        check(&outcome)?;
    }
    let invoke_ms = f.invocations().iter().map(|r| ms(r.duration)).collect();
    let peak_rss_kb = f.peak_rss_kb();
    let _ = f.shutdown().await;
    Ok(Container {
        init_ms: ms(init),
        invoke_ms,
        peak_rss_kb,
        encode_ms,
    })
}

fn check(outcome: &InvokeOutcome) -> Res<()> {
    match outcome {
        InvokeOutcome::Response(v) => {
            let failures = v["batchItemFailures"].as_array().map_or(0, Vec::len);
            if failures > 0 {
                return Err(format!("{failures} batch item failures: {v}").into());
            }
            Ok(())
        }
        other => Err(other.describe().into()),
    }
}

/// A storage for a throughput run: local folders or moto S3.
struct Storage {
    name: &'static str,
    /// Extra function environment.
    env: Vec<(String, String)>,
    /// `s3://bucket` or `<dir>` as the Python side writes to it.
    root: String,
}

async fn storages(args: &Args, aws: &Aws, what: &str) -> Res<Vec<Storage>> {
    let local = args.work.join(format!("{what}-local"));
    if local.exists() {
        std::fs::remove_dir_all(&local)?;
    }
    std::fs::create_dir_all(local.join("bkt"))?;
    let bucket = aws.create_bucket(what).await?;
    Ok(vec![
        Storage {
            name: "local",
            env: vec![(
                meander_lambda::config::LOCAL_STORAGE_DIR.into(),
                local.display().to_string(),
            )],
            root: local.join("bkt").display().to_string(),
        },
        Storage {
            name: "moto_s3",
            env: Vec::new(),
            root: format!("s3://{bucket}"),
        },
    ])
}

/// Summary of one side's repeated runs over the same records.
///
/// Times exclude the driver's encoding of the events (`encode_ms`, also
/// reported), which Lambda does outside the function; the raw figures are
/// kept beside them.
fn throughput(runs: &[Container], records: usize, bytes: Option<u64>) -> Value {
    let raw: Vec<f64> = runs.iter().map(|c| c.invoke_ms.iter().sum()).collect();
    let encode: Vec<f64> = runs.iter().map(|c| c.encode_ms.iter().sum()).collect();
    let net = |c: &Container| -> Vec<f64> {
        c.invoke_ms
            .iter()
            .enumerate()
            .map(|(i, d)| d - c.encode_ms.get(i).copied().unwrap_or(0.0))
            .collect()
    };
    let totals: Vec<f64> = runs.iter().map(|c| net(c).iter().sum()).collect();
    let batches: Vec<f64> = runs.iter().flat_map(net).collect();
    let warm: Vec<f64> = runs
        .iter()
        .flat_map(|c| net(c).into_iter().skip(1))
        .collect();
    let total = stats::median(&totals).unwrap_or(f64::NAN);
    let rss: Vec<u64> = runs.iter().map(|c| c.peak_rss_kb).collect();
    let inits: Vec<f64> = runs.iter().map(|c| c.init_ms).collect();
    let mut v = json!({
        "runs": runs.len(),
        "records": records,
        "total_ms_median": total,
        "total_ms_all": totals,
        "records_per_s": records as f64 / (total / 1000.0),
        "raw_total_ms_median": stats::median(&raw),
        "driver_encode_ms_median": stats::median(&encode),
        "batch_ms_median": stats::median(&batches),
        "warm_batch_ms_median": stats::median(&warm),
        "init_ms_median": stats::median(&inits),
        "peak_rss_kb_median": stats::median_u64(&rss),
        "peak_rss_kb_max": rss.iter().max(),
    });
    if let Some(b) = bytes {
        v["body_bytes"] = json!(b);
        v["mb_per_s"] = json!(b as f64 / 1e6 / (total / 1000.0));
    }
    v
}

fn ratio(a: &Value, b: &Value) -> Value {
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) if b != 0.0 => json!(a / b),
        _ => Value::Null,
    }
}

// ------------------------------------------------------------ dynamo-cdc

async fn dynamo_cdc(args: &Args, aws: &Aws) -> Res<Value> {
    let batches = events::dynamo_batches(args.records, args.batch);
    // One event per line: the baseline reads one batch at a time.
    let events_file = args.work.join("dynamo-events.ndjson");
    let mut lines = String::new();
    for b in &batches {
        lines.push_str(&serde_json::to_string(b)?);
        lines.push('\n');
    }
    std::fs::write(&events_file, lines)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("py/dynamo_cdc_baseline.py");
    let mut out = serde_json::Map::new();
    for storage in storages(args, aws, "cdc").await? {
        let mut rust = Vec::new();
        let mut python = Vec::new();
        let mut python_ready = Vec::new();
        for rep in 0..args.reps {
            // Alternate the order so neither side always runs first.
            for side in if rep % 2 == 0 { [0, 1] } else { [1, 0] } {
                let uri = format!("{}/cdc/rep{rep}-{side}", storage.root);
                if side == 0 {
                    let mut env = env_for_function();
                    env.extend(storage.env.clone());
                    let table_uri = if storage.name == "local" {
                        format!("s3://bkt/cdc/rep{rep}-{side}")
                    } else {
                        uri.clone()
                    };
                    env.push(("DELTA_TABLE_URI".into(), table_uri));
                    env.push(("MODE".into(), "append".into()));
                    eprintln!("  rust   {} rep {rep}", storage.name);
                    rust.push(run_container(&binary(args, "dynamo-cdc"), env, &batches).await?);
                } else {
                    eprintln!("  python {} rep {rep}", storage.name);
                    let (c, ready) = run_python(args, &script, &events_file, &uri).await?;
                    python.push(c);
                    python_ready.push(ready);
                }
            }
        }
        let r = throughput(&rust, args.records, None);
        let mut p = throughput(&python, args.records, None);
        p["init_ms_median"] = json!(stats::median(&python_ready));
        let ratios = json!({
            "records_per_s_rust_over_python": ratio(&r["records_per_s"], &p["records_per_s"]),
            "peak_rss_python_over_rust": ratio(&p["peak_rss_kb_median"], &r["peak_rss_kb_median"]),
            "init_python_over_rust": ratio(&p["init_ms_median"], &r["init_ms_median"]),
        });
        out.insert(
            storage.name.to_string(),
            json!({"rust": r, "python": p, "ratios": ratios}),
        );
    }
    Ok(json!({
        "records": args.records,
        "batch": args.batch,
        "rust": "dynamo-cdc release binary under the Runtime API driver, MODE=append, NESTED=json",
        "python": "bench/py/dynamo_cdc_baseline.py: boto3 TypeDeserializer, complex types as JSON strings, pandas DataFrame, deltalake write_deltalake(mode=append, schema_mode=merge)",
        "storages": Value::Object(out),
    }))
}

/// The Python baseline in its own process: returns its batches and the
/// time from spawn to its `ready` line (interpreter + imports).
async fn run_python(
    args: &Args,
    script: &Path,
    events_file: &Path,
    uri: &str,
) -> Res<(Container, f64)> {
    let mut cmd = Command::new(&args.python);
    cmd.arg(script)
        .arg("--events")
        .arg(events_file)
        .arg("--uri")
        .arg(uri)
        .envs(env_for_function())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    tokio::task::spawn_blocking(move || -> Res<(Container, f64)> {
        use std::io::BufRead;
        let spawned = Instant::now();
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut ready_ms = f64::NAN;
        let mut result = None;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line?;
            if line.trim() == "ready" {
                ready_ms = ms(spawned.elapsed());
            } else if let Ok(v) = serde_json::from_str::<Value>(&line) {
                result = Some(v);
            }
        }
        let status = child.wait()?;
        let v = result
            .filter(|_| status.success())
            .ok_or(format!("python baseline failed ({status})"))?;
        let invoke_ms = v["batches_ms"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        Ok((
            Container {
                init_ms: ready_ms,
                invoke_ms,
                peak_rss_kb: v["peak_rss_kb"].as_u64().unwrap_or_default(),
                encode_ms: Vec::new(),
            },
            ready_ms,
        ))
    })
    .await?
}

// ------------------------------------------------------------ sqs-ingest

async fn sqs_ingest(args: &Args, aws: &Aws) -> Res<Value> {
    let (batches, bytes) = events::sqs_batches(args.records, args.batch);
    let mut out = serde_json::Map::new();
    for storage in storages(args, aws, "ingest").await? {
        let mut runs = Vec::new();
        for rep in 0..args.reps {
            let mut env = env_for_function();
            env.extend(storage.env.clone());
            let uri = if storage.name == "local" {
                format!("s3://bkt/ingest/rep{rep}")
            } else {
                format!("{}/ingest/rep{rep}", storage.root)
            };
            env.push(("DELTA_TABLE_URI".into(), uri));
            eprintln!("  sqs-ingest {} rep {rep}", storage.name);
            runs.push(run_container(&binary(args, "sqs-ingest"), env, &batches).await?);
        }
        out.insert(
            storage.name.to_string(),
            throughput(&runs, args.records, Some(bytes)),
        );
    }
    Ok(json!({
        "messages": args.records,
        "batch": args.batch,
        "message": "meander_e2e::records::json_message: id, name, ISO timestamp, nested object with an array",
        "storages": Value::Object(out),
    }))
}

// ------------------------------------------------------------- dms-merge

/// dms-merge over a DMS full load of `records` rows (one headerless CSV
/// file, typed by a table definition) and `records / batch` CDC files of
/// `batch` changes each, one direct S3 notification per file (the full load
/// is one invocation, each CDC file one MERGE invocation).
async fn dms_merge(args: &Args, aws: &Aws) -> Res<Value> {
    use meander_e2e::dms;
    let files = (args.records / args.batch.max(1)).max(1);
    let (load, cdc) = dms::workload(args.records, files, args.batch);
    let load_csv = dms::csv_file(None, &load);
    let cdc_csv: Vec<(String, Vec<u8>)> = cdc
        .iter()
        .map(|f| {
            let ops: Vec<dms::Op> = f.changes.iter().map(|(op, _)| *op).collect();
            let rows: Vec<dms::Row> = f.changes.iter().map(|(_, r)| r.clone()).collect();
            (format!("{}.csv", f.name), dms::csv_file(Some(&ops), &rows))
        })
        .collect();
    let changes = files * args.batch;
    let mut out = serde_json::Map::new();
    for storage in storages(args, aws, "dms").await? {
        let bucket = match storage.root.strip_prefix("s3://") {
            Some(b) => b.to_string(),
            None => "bkt".to_string(),
        };
        let mut runs = Vec::new();
        for rep in 0..args.reps {
            let folder = format!("dms{rep}/public/orders");
            let mut objects = vec![(format!("{folder}/LOAD00000001.csv"), load_csv.clone())];
            objects.extend(
                cdc_csv
                    .iter()
                    .map(|(name, body)| (format!("{folder}/{name}"), body.clone())),
            );
            let mut events = Vec::new();
            for (key, body) in objects {
                if storage.name == "local" {
                    let path = Path::new(&storage.root).join(&key);
                    std::fs::create_dir_all(path.parent().ok_or("no parent")?)?;
                    std::fs::write(&path, body)?;
                } else {
                    aws.put_object(&bucket, &key, body).await?;
                }
                events.push(serde_json::from_str::<Value>(&dms::notification(
                    &bucket, &key,
                ))?);
            }
            let mut env = env_for_function();
            env.extend(storage.env.clone());
            env.extend(
                [
                    (
                        "DELTA_TABLE_URI",
                        format!("s3://{bucket}/live{rep}/{{schema}}/{{table}}"),
                    ),
                    ("KEY_COLUMNS", "public.orders=id".to_string()),
                    ("TIMESTAMP_COLUMN", "updated_at".to_string()),
                    ("TABLE_DEFINITION", dms::DEFINITION.to_string()),
                ]
                .map(|(k, v)| (k.to_string(), v)),
            );
            eprintln!("  dms-merge {} rep {rep}", storage.name);
            runs.push(run_container(&binary(args, "dms-merge"), env, &events).await?);
        }
        let net =
            |c: &Container, i: usize| c.invoke_ms[i] - c.encode_ms.get(i).copied().unwrap_or(0.0);
        let loads: Vec<f64> = runs.iter().map(|c| net(c, 0)).collect();
        let merges: Vec<f64> = runs
            .iter()
            .flat_map(|c| (1..c.invoke_ms.len()).map(move |i| net(c, i)))
            .collect();
        let merge_totals: Vec<f64> = runs
            .iter()
            .map(|c| (1..c.invoke_ms.len()).map(|i| net(c, i)).sum())
            .collect();
        let mut v = throughput(&runs, args.records + changes, None);
        let load_ms = stats::median(&loads);
        let merge_total = stats::median(&merge_totals);
        v["load_ms_median"] = json!(load_ms);
        v["load_rows_per_s"] = json!(load_ms.map(|l| args.records as f64 / (l / 1000.0)));
        v["cdc_file_ms_median"] = json!(stats::median(&merges));
        v["cdc_file_ms_all"] = json!(merges);
        v["cdc_changes_per_s"] = json!(merge_total.map(|t| changes as f64 / (t / 1000.0)));
        out.insert(storage.name.to_string(), v);
    }
    Ok(json!({
        "load_rows": args.records,
        "cdc_files": files,
        "changes_per_file": args.batch,
        "files": "meander_e2e::dms: public.orders (id, name with commas and quotes, qty, NUMERIC(10,2) amount, updated_at), headerless CSV typed by a DMS table definition, TIMESTAMP_COLUMN=updated_at; CDC changes: 60% updates of live keys, 20% deletes, 20% inserts",
        "method": "per run a fresh dms-merge container, one direct S3 notification per file: the full-load file (one WRITE), then each CDC file in turn (one MERGE on id each, into the growing table)",
        "storages": Value::Object(out),
    }))
}

// ----------------------------------------------------------------- oxbow

const OXBOW_BATCH: usize = 100;
const OXBOW_ROWS_PER_FILE: usize = 1_000;

fn run_json(cmd: &mut Command) -> Res<Value> {
    let out = cmd.stderr(Stdio::inherit()).output()?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", out.status).into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().ok_or("no output")?;
    Ok(serde_json::from_str(line)?)
}

async fn oxbow_scaling(args: &Args) -> Res<Value> {
    let release_tool = binary(args, "table-tool");
    let tool = args.tool.clone().unwrap_or_else(|| release_tool.clone());
    let time_loads = tool == release_tool;
    let mut sizes = Vec::new();
    for &files in &args.sizes {
        let dir = args.work.join(format!("oxbow-{files}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        eprintln!("  building a table of {files} files");
        let build = run_json(
            Command::new(&tool)
                .arg("make")
                .arg(&dir)
                .arg(files.to_string()),
        )?;
        let table = dir.join("bkt/orders");
        let mut cold = Vec::new();
        let mut cold_invoke = Vec::new();
        let mut warm = Vec::new();
        let mut rss = Vec::new();
        let mut loads = Vec::new();
        let mut load_rss = Vec::new();
        for rep in 0..args.reps {
            // Two batches of 100 new files: the cold invocation, then a warm one.
            let first = 1_000_000 + rep * 2 * OXBOW_BATCH;
            let batches = vec![
                meander_bench::parquet_files(
                    &dir,
                    "bkt",
                    "orders",
                    first..first + OXBOW_BATCH,
                    OXBOW_ROWS_PER_FILE,
                )?,
                meander_bench::parquet_files(
                    &dir,
                    "bkt",
                    "orders",
                    first + OXBOW_BATCH..first + 2 * OXBOW_BATCH,
                    OXBOW_ROWS_PER_FILE,
                )?,
            ];
            let mut env = env_for_function();
            env.push((
                meander_lambda::config::LOCAL_STORAGE_DIR.into(),
                dir.display().to_string(),
            ));
            eprintln!("  oxbow on {files} files, rep {rep}");
            let c = run_container(&binary(args, "oxbow"), env, &batches).await?;
            cold.push(c.init_ms + c.invoke_ms[0]);
            cold_invoke.push(c.invoke_ms[0]);
            warm.push(c.invoke_ms[1]);
            rss.push(c.peak_rss_kb);
            if time_loads {
                let l = run_json(Command::new(&tool).arg("load").arg(&table))?;
                loads.push(l["load_ms"].as_f64().unwrap_or(f64::NAN));
                load_rss.push(l["peak_rss_kb"].as_u64().unwrap_or_default());
            }
        }
        let warm_ms = stats::median(&warm);
        let load_ms = stats::median(&loads);
        // What a stateless tool pays on every invocation: the first
        // invocation of a fresh container (full snapshot load + append).
        let per_invocation = stats::median(&cold_invoke);
        sizes.push(json!({
            "files": files,
            "build": build,
            "cold_ms_median": stats::median(&cold),
            "cold_invoke_ms_median": stats::median(&cold_invoke),
            "warm_ms_median": warm_ms,
            "cold_ms_all": cold, "warm_ms_all": warm,
            "peak_rss_kb_median": stats::median_u64(&rss),
            "full_load_ms_median": load_ms,
            "full_load_ms_all": loads,
            "full_load_peak_rss_kb_median": stats::median_u64(&load_rss),
            "full_list_per_invocation_ms": per_invocation,
            "full_list_per_invocation_over_warm": match (per_invocation, warm_ms) {
                (Some(c), Some(w)) if w > 0.0 => json!(c / w),
                _ => Value::Null,
            },
            "full_load_over_warm": match (load_ms, warm_ms) {
                (Some(l), Some(w)) if w > 0.0 => json!(l / w),
                _ => Value::Null,
            },
        }));
    }
    Ok(json!({
        "batch_events": OXBOW_BATCH,
        "rows_per_new_file": OXBOW_ROWS_PER_FILE,
        "storage": "local files",
        "method": "table-tool make: version 0 by the oxbow handler from one real file, version 1 = FILES-1 synthetic adds, deltalake checkpoint; per rep a fresh oxbow container: cold = init + first 100-event invocation, warm = second invocation; full file list per invocation = the first invocation of a fresh container (loads the whole snapshot, then appends), what a stateless tool pays every time; full load alone = table-tool load (deltalake open_table, every file tracked) in its own process",
        "sizes": sizes,
    }))
}

// ------------------------------------------------------------- cold start

async fn cold_starts(args: &Args, aws: &Aws) -> Res<Value> {
    let bucket = aws.create_bucket("cold").await?;
    let fifo = aws
        .create_queue(
            "cold",
            &QueueOptions {
                fifo: true,
                content_based_deduplication: true,
                ..Default::default()
            },
        )
        .await?;
    let lambda_zip = cargo_lambda_available();
    let mut functions = Vec::new();
    for name in FUNCTIONS {
        if !binary(args, name).exists() {
            eprintln!("  {name}: no binary in {}, skipped", args.bins.display());
            functions.push(json!({"function": name, "missing": true}));
            continue;
        }
        let extra: Vec<(&str, String)> = match name {
            "group-events" => vec![("QUEUE_URL", fifo.url.clone())],
            "sqs-ingest" | "dynamo-cdc" => {
                vec![("DELTA_TABLE_URI", format!("s3://{bucket}/tables/t"))]
            }
            "dms-merge" => vec![
                (
                    "DELTA_TABLE_URI",
                    format!("s3://{bucket}/live/{{schema}}/{{table}}"),
                ),
                ("KEY_COLUMNS", "public.orders=id".into()),
            ],
            "glue-sync" => vec![("GLUE_DATABASE", "bench".into())],
            "table-backup" => vec![("BACKUP_URI", format!("s3://{bucket}/backups"))],
            _ => vec![],
        };
        let mut inits = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..args.cold_reps {
            let mut env = env_for_function();
            env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
            let c = run_container(&binary(args, name), env, &[]).await?;
            inits.push(c.init_ms);
            rss.push(c.peak_rss_kb);
        }
        let bin = binary(args, name);
        let size = std::fs::metadata(&bin)?.len();
        let zip = zip_size(&args.python, &bin)?;
        let datafusion = datafusion_paths(&bin)?;
        eprintln!(
            "  {name}: init {:?} ms",
            stats::median(&inits).unwrap_or_default()
        );
        functions.push(json!({
            "function": name,
            "init_ms_median": stats::median(&inits),
            "init_ms_all": inits,
            "idle_rss_kb_median": stats::median_u64(&rss),
            "binary_bytes": size,
            "zip_bytes": zip,
            "build": build_of(args, name),
            "datafusion_paths": datafusion,
            "datafusion_linked": datafusion > DATAFUSION_LINKED,
        }));
    }
    Ok(json!({
        "method": "spawn to first /next under the Runtime API driver (moto endpoint configured, valid config), median of cold_reps spawns; idle RSS = VmHWM after init",
        "package": if lambda_zip {
            "cargo-lambda is installed, but sizes here are of the host release build"
        } else {
            "cargo-lambda not installed: stripped release binary of this host (x86_64) and its zip as `bootstrap`, not the arm64 build"
        },
        "builds": "each binary from the cargo call of its feature set (build, from <bins>/builds.txt), as the function is deployed: deltalake's datafusion (meander's merge feature) only in dynamo-cdc and dms-merge; datafusion_paths = datafusion source paths (panic locations) found in the binary",
        "functions": functions,
    }))
}

fn cargo_lambda_available() -> bool {
    Command::new("cargo")
        .args(["lambda", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The cargo call a binary comes from: `<bins>/builds.txt`, lines of
/// `<binary>\t<cargo command>`, written by bench/run.sh as it copies each
/// build's binaries there.
fn build_of(args: &Args, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(args.bins.join("builds.txt")).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| l.split_once('\t'))
        .find(|(n, _)| *n == name)
        .map(|(_, cmd)| cmd.to_string())
}

/// Above this many datafusion source paths, datafusion is linked in (a
/// function without it can still name one or two through deltalake).
const DATAFUSION_LINKED: usize = 10;

/// How many datafusion crate source paths (`/datafusion-<crate>`, kept in
/// panic locations of the stripped binary) `bin` holds.
fn datafusion_paths(bin: &Path) -> Res<usize> {
    let bytes = std::fs::read(bin)?;
    let needle = b"/datafusion-";
    Ok(bytes.windows(needle.len()).filter(|w| w == needle).count())
}

/// Deflated zip size of `bin` stored as `bootstrap`, as Lambda is given it.
fn zip_size(python: &Path, bin: &Path) -> Res<u64> {
    let out = Command::new(python)
        .args([
            "-c",
            "import io,zipfile,sys;b=io.BytesIO();z=zipfile.ZipFile(b,'w',zipfile.ZIP_DEFLATED);\
z.write(sys.argv[1],'bootstrap');z.close();print(len(b.getvalue()))",
        ])
        .arg(bin)
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

// ------------------------------------------------------------------ cost

/// Dollars per million records for each measured function, at the
/// smallest memory tier holding its measured peak and at one full vCPU.
fn costs(results: &Value) -> Value {
    let mut rows = Vec::new();
    let mut add = |function: &str, what: &str, per_inv: u64, duration: &Value, rss: &Value| {
        let (Some(d), Some(kb)) = (duration.as_f64(), rss.as_u64()) else {
            return;
        };
        let tier = cost::memory_tier_mb(kb);
        rows.push(json!({
            "function": function,
            "workload": what,
            "records_per_invocation": per_inv,
            "duration_ms": d,
            "peak_rss_kb": kb,
            "smallest_tier": tier.map(|t| cost::per_million(d, t, per_inv)),
            "one_vcpu": cost::per_million(d, cost::ONE_VCPU_MB, per_inv),
        }));
    };
    let batch = results["config"]["batch"].as_u64().unwrap_or(1000);
    if let Some(s) = results["dynamo_cdc"]["storages"]["moto_s3"].as_object() {
        add(
            "dynamo-cdc",
            "stream records, moto S3",
            batch,
            &s["rust"]["batch_ms_median"],
            &s["rust"]["peak_rss_kb_max"],
        );
        add(
            "python baseline (dynamo)",
            "stream records, moto S3",
            batch,
            &s["python"]["batch_ms_median"],
            &s["python"]["peak_rss_kb_max"],
        );
    }
    if let Some(s) = results["sqs_ingest"]["storages"]["moto_s3"].as_object() {
        add(
            "sqs-ingest",
            "JSON messages, moto S3",
            batch,
            &s["batch_ms_median"],
            &s["peak_rss_kb_max"],
        );
    }
    if let Some(s) = results["dms_merge"]["storages"]["moto_s3"].as_object() {
        let load = results["dms_merge"]["load_rows"].as_u64().unwrap_or(10_000);
        let per_file = results["dms_merge"]["changes_per_file"]
            .as_u64()
            .unwrap_or(1000);
        add(
            "dms-merge",
            "DMS full load (CSV), moto S3",
            load,
            &s["load_ms_median"],
            &s["peak_rss_kb_max"],
        );
        add(
            "dms-merge",
            "DMS CDC files (CSV, MERGE), moto S3",
            per_file,
            &s["cdc_file_ms_median"],
            &s["peak_rss_kb_max"],
        );
    }
    if let Some(sizes) = results["oxbow"]["sizes"].as_array() {
        for s in sizes {
            let files = s["files"].as_u64().unwrap_or_default();
            add(
                "oxbow",
                &format!("S3 events, warm, {files}-file table"),
                OXBOW_BATCH as u64,
                &s["warm_ms_median"],
                &s["peak_rss_kb_median"],
            );
            let peak = s["peak_rss_kb_median"]
                .as_u64()
                .max(s["full_load_peak_rss_kb_median"].as_u64());
            add(
                "full file list per invocation",
                &format!("S3 events, {files}-file table"),
                OXBOW_BATCH as u64,
                &s["full_list_per_invocation_ms"],
                &json!(peak),
            );
        }
    }
    let mut notes = BTreeMap::new();
    notes.insert(
        "not_measured",
        "group-events, glue-sync, table-backup: cold start and size only (no per-record workload in this harness)",
    );
    notes.insert(
        "cpu",
        "durations were measured on one full core of this machine; below 1,769 MB Lambda gives a proportional share of a vCPU, so CPU-bound work at a smaller tier takes longer than measured: the smallest-tier figure is a lower bound, the 1,769 MB one is what was measured",
    );
    json!({
        "price_source": cost::PRICE_SOURCE,
        "per_gb_second": cost::ARM64_PER_GB_SECOND,
        "per_request": cost::PER_REQUEST,
        "tiers_mb": cost::MEMORY_TIERS_MB,
        "notes": notes,
        "rows": rows,
    })
}
