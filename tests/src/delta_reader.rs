//! The independent Delta reader: `tests/py/read_delta.py` run with
//! `$MEANDER_PYTHON` (the `deltalake` and `pyarrow` PyPI packages), so what
//! the functions wrote is checked by code that shares nothing with them.
//! `write_table` makes fixture tables the same way.
//!
//! For `s3://` URIs the scripts get the moto endpoint and credentials from
//! [`crate::moto::env_for_function`], as the functions do.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;

use serde::Deserialize;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::error::{Error, Result};
use crate::moto;

/// A table as the Python reader sees it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TableContents {
    pub version: i64,
    /// Every row, JSON-ified (bytes -> base64, timestamps and dates -> ISO
    /// 8601, decimals -> strings), sorted by canonical JSON.
    pub rows: Vec<Value>,
    /// Data file URIs, sorted.
    pub files: Vec<String>,
    /// The Delta schema (`{"type":"struct","fields":[...]}`).
    pub schema: Value,
    pub partition_columns: Vec<String>,
    pub configuration: BTreeMap<String, Option<String>>,
    /// One per data file: `path`, `size_bytes`, `num_records`,
    /// `partition.<col>`, `min.<col>`, `max.<col>`, `null_count.<col>`, ...
    pub add_actions: Vec<Value>,
    /// Commit infos, oldest first.
    pub history: Vec<Value>,
    /// Latest `txn` version per app id asked for (`None` when absent).
    pub app_transactions: BTreeMap<String, Option<i64>>,
}

impl TableContents {
    /// The values of `column` over all rows, in row order.
    pub fn column(&self, column: &str) -> Vec<Value> {
        self.rows
            .iter()
            .map(|r| r.get(column).cloned().unwrap_or(Value::Null))
            .collect()
    }

    /// The names of the schema's top-level fields.
    pub fn field_names(&self) -> Vec<String> {
        self.schema["fields"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|x| x["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Options of [`read_table_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Read this version instead of the latest.
    pub version: Option<i64>,
    /// App ids whose latest `txn` version to report.
    pub app_ids: Vec<String>,
}

/// Options of [`write_table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// `append`, `overwrite`, `error` or `ignore`.
    pub mode: String,
    pub partition_by: Vec<String>,
    /// `(column, pyarrow type alias)`, e.g. `("ts", "timestamp[us, tz=UTC]")`;
    /// inferred from the rows when empty.
    pub schema: Vec<(String, String)>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            mode: "append".to_string(),
            partition_by: Vec::new(),
            schema: Vec::new(),
        }
    }
}

/// `tests/py/<name>`.
pub fn script_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("py")
        .join(name)
}

/// Read the table at `uri` (`file:///...`, a local path, or `s3://bucket/path`).
/// Panics with the reader's stderr when it fails.
pub async fn read_table(uri: &str) -> TableContents {
    read_table_with(uri, &ReadOptions::default()).await
}

/// [`read_table`] with a version and app ids. Panics on failure.
pub async fn read_table_with(uri: &str, options: &ReadOptions) -> TableContents {
    match try_read_table(uri, options).await {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

/// [`read_table_with`], returning the failure (e.g. "no table there yet").
pub async fn try_read_table(uri: &str, options: &ReadOptions) -> Result<TableContents> {
    let mut args = vec![uri.to_string()];
    if let Some(v) = options.version {
        args.extend(["--version".to_string(), v.to_string()]);
    }
    for a in &options.app_ids {
        args.extend(["--app-id".to_string(), a.clone()]);
    }
    let out = run_script("read_delta.py", uri, &args, None).await?;
    serde_json::from_slice(&out).map_err(|e| {
        Error::new(format!(
            "read_delta.py {uri}: unreadable output ({e}): {}",
            String::from_utf8_lossy(&out)
        ))
    })
}

/// Write `rows` (JSON objects) to the Delta table at `uri` with the Python
/// `deltalake` writer. Panics with its stderr when it fails.
pub async fn write_table(uri: &str, rows: &[Value], options: &WriteOptions) {
    let mut args = vec![uri.to_string(), "--mode".to_string(), options.mode.clone()];
    for p in &options.partition_by {
        args.extend(["--partition-by".to_string(), p.clone()]);
    }
    if !options.schema.is_empty() {
        args.extend([
            "--schema".to_string(),
            serde_json::to_string(&options.schema).unwrap_or_default(),
        ]);
    }
    let input = Value::Array(rows.to_vec()).to_string();
    if let Err(e) = run_script("write_delta.py", uri, &args, Some(input)).await {
        panic!("{e}");
    }
}

async fn run_script(
    script: &str,
    uri: &str,
    args: &[String],
    stdin: Option<String>,
) -> Result<Vec<u8>> {
    let python = moto::python();
    let mut cmd = Command::new(&python);
    cmd.arg(script_path(script)).args(args);
    if uri.starts_with("s3://") || uri.starts_with("s3a://") {
        cmd.envs(moto::env_for_function());
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        Error::new(format!(
            "{} (cannot run {}: {e})",
            moto::INSTALL_HELP,
            python.display()
        ))
    })?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())
            .await
            .map_err(|e| Error::new(format!("{script}: cannot write its input: {e}")))?;
    }
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .map_err(|_| Error::new(format!("{script} {uri}: no answer within 120 s")))?
    .map_err(|e| Error::new(format!("{script} {uri}: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let help = if stderr.contains("No module named") {
            format!("\n{}", moto::INSTALL_HELP)
        } else {
            String::new()
        };
        return Err(Error::new(format!(
            "{script} {uri} failed ({}):\n{stderr}{help}",
            out.status
        )));
    }
    Ok(out.stdout)
}
