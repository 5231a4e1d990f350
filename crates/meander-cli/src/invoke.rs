//! `meander invoke`: a function's handler, in-process, with an event file.

use std::path::Path;

use meander_lambda::Env;
use serde_json::Value;

use crate::CliError;

/// The functions `invoke` knows.
pub const FUNCTIONS: &[&str] = &[
    "oxbow",
    "group-events",
    "sqs-ingest",
    "table-backup",
    "glue-sync",
    "dynamo-cdc",
    "dms-merge",
];

/// The process environment with `KEY=VALUE` overrides.
pub fn env_with(overrides: &[String]) -> Result<Env, CliError> {
    let mut env = Env::from_process();
    for kv in overrides {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--env {kv:?}: expected KEY=VALUE"))?;
        env.set(k.trim(), v);
    }
    Ok(env)
}

pub fn read_event(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read event file {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("event file {} is not JSON: {e}", path.display()).into())
}

/// Run `function`'s handler on `event` and return its response.
pub async fn invoke(function: &str, env: &Env, event: Value) -> Result<Value, CliError> {
    match function {
        "oxbow" => {
            let state = oxbow::Oxbow::from_env(env)?;
            let response = oxbow::handle(&state, event)
                .await
                .map_err(|e| format!("oxbow failed: {e}"))?;
            Ok(serde_json::to_value(response)?)
        }
        "group-events" => {
            let state = group_events::GroupEvents::from_env(env).await?;
            let response = group_events::handle(&state, event)
                .await
                .map_err(|e| format!("group-events failed: {e}"))?;
            Ok(serde_json::to_value(response)?)
        }
        "sqs-ingest" => {
            let state = sqs_ingest::SqsIngest::new(sqs_ingest::Config::from_env(env)?).await;
            let response = sqs_ingest::handle(&state, event, None)
                .await
                .map_err(|e| format!("sqs-ingest failed: {e}"))?;
            Ok(serde_json::to_value(response)?)
        }
        "table-backup" => {
            let state = table_backup::TableBackup::new(table_backup::Config::from_env(env)?).await;
            table_backup::handle(&state, event, None)
                .await
                .map_err(|e| format!("table-backup failed: {e}").into())
        }
        "glue-sync" => {
            let state = glue_sync::GlueSync::from_env(env).await?;
            let response = glue_sync::handle(&state, event)
                .await
                .map_err(|e| format!("glue-sync failed: {e}"))?;
            Ok(serde_json::to_value(response)?)
        }
        "dynamo-cdc" => {
            let state = dynamo_cdc::DynamoCdc::from_env(env)?;
            let response = dynamo_cdc::handle(&state, event)
                .await
                .map_err(|e| format!("dynamo-cdc failed: {e}"))?;
            Ok(serde_json::to_value(response)?)
        }
        "dms-merge" => {
            let state = dms_merge::DmsMerge::from_env(env)?;
            let response = dms_merge::handle(&state, event)
                .await
                .map_err(|e| format!("dms-merge failed: {e}"))?;
            Ok(serde_json::to_value(response)?)
        }
        other => Err(format!(
            "unknown function {other:?}; known functions: {}",
            FUNCTIONS.join(", ")
        )
        .into()),
    }
}

pub async fn run(function: &str, event: &Path, env: &[String]) -> Result<(), CliError> {
    if !FUNCTIONS.contains(&function) {
        return Err(format!(
            "unknown function {function:?}; known functions: {}",
            FUNCTIONS.join(", ")
        )
        .into());
    }
    let env = env_with(env)?;
    let event = read_event(event)?;
    let response = invoke(function, &env, event).await?;
    println!("{}", serde_json::to_string_pretty(&response)?);
    Ok(())
}
