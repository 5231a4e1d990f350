//! `meander info`: what a Delta table holds.

use deltalake::DeltaTableBuilder;
use futures::StreamExt;
use serde_json::{json, Value};

use crate::CliError;

/// A table location as a URL: local paths (relative too), file://, s3://.
pub fn table_url(location: &str) -> Result<url::Url, CliError> {
    if location.contains("://") {
        return url::Url::parse(location).map_err(|e| format!("{location:?}: {e}").into());
    }
    let path =
        std::fs::canonicalize(location).map_err(|e| format!("table path {location:?}: {e}"))?;
    url::Url::from_directory_path(&path)
        .map_err(|_| format!("table path {location:?} is not a directory").into())
}

/// The table summary as JSON.
pub async fn describe(location: &str) -> Result<Value, CliError> {
    let url = table_url(location)?;
    let mut table = DeltaTableBuilder::from_url(url.clone())?.build()?;
    table
        .load()
        .await
        .map_err(|e| format!("{location}: not a Delta table ({e})"))?;
    let state = table.snapshot()?;
    let mut files = 0u64;
    let mut bytes = 0i64;
    let mut rows = 0u64;
    let mut rows_known = true;
    for f in state.log_data().iter() {
        files += 1;
        bytes += f.size();
        match f.num_records() {
            Some(n) => rows += n as u64,
            None => rows_known = false,
        }
    }
    let schema: Value = serde_json::to_value(state.schema().as_ref())?;
    let metadata = state.metadata();
    let mut history = Vec::new();
    let mut stream = table.history(Some(5));
    // Newest first: the i-th entry is version `latest - i`.
    let latest = table.version();
    while let Some(c) = stream.next().await {
        let c = c?;
        history.push(json!({
            "version": latest.and_then(|v| v.checked_sub(history.len() as u64)),
            "timestamp": c.timestamp,
            "operation": c.operation,
        }));
    }
    Ok(json!({
        "table": url.as_str().trim_end_matches('/'),
        "version": table.version(),
        "files": files,
        "bytes": bytes,
        "rows": if rows_known { json!(rows) } else { Value::Null },
        "partition_columns": metadata.partition_columns(),
        "properties": metadata.configuration(),
        "schema": schema,
        "history": history,
    }))
}

/// A Delta type (as schema JSON) in compact text: `struct<a: long, b: array<string>>`.
pub fn type_text(t: &Value) -> String {
    match t {
        Value::String(s) => s.clone(),
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("struct") => {
                let fields: Vec<String> = o
                    .get("fields")
                    .and_then(Value::as_array)
                    .map(|fs| {
                        fs.iter()
                            .map(|f| {
                                format!(
                                    "{}: {}",
                                    f["name"].as_str().unwrap_or_default(),
                                    type_text(&f["type"])
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                format!("struct<{}>", fields.join(", "))
            }
            Some("array") => format!("array<{}>", type_text(&o["elementType"])),
            Some("map") => format!(
                "map<{}, {}>",
                type_text(&o["keyType"]),
                type_text(&o["valueType"])
            ),
            _ => t.to_string(),
        },
        other => other.to_string(),
    }
}

pub async fn run(location: &str, as_json: bool) -> Result<(), CliError> {
    let d = describe(location).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(());
    }
    println!("table      {}", d["table"].as_str().unwrap_or_default());
    println!("version    {}", d["version"]);
    println!("files      {}", d["files"]);
    println!("bytes      {}", d["bytes"]);
    println!("rows       {}", d["rows"]);
    println!("partitions {}", d["partition_columns"]);
    println!("properties {}", d["properties"]);
    println!("last commits");
    if let Some(history) = d["history"].as_array() {
        for c in history {
            println!(
                "  {:<8} {:<16} {}",
                c["version"],
                c["operation"].as_str().unwrap_or("?"),
                c["timestamp"]
                    .as_i64()
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            );
        }
    }
    println!("columns");
    if let Some(fields) = d["schema"]["fields"].as_array() {
        for f in fields {
            println!(
                "  {:<24} {}{}",
                f["name"].as_str().unwrap_or_default(),
                type_text(&f["type"]),
                if f["nullable"].as_bool() == Some(true) {
                    ""
                } else {
                    " not null"
                }
            );
        }
    }
    Ok(())
}
