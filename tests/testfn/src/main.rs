//! Test-only Lambda function: proves the end-to-end test bed (`tests/`)
//! until the real functions exist, then goes away.
//!
//! Takes an SQS event (or a DynamoDB stream event). For every record: a body
//! (stream: the `dynamodb` object) containing `poison` is reported as a batch
//! item failure; `crash-now` ends the process mid-invocation (exit code 70);
//! anything else is written to `s3://$OUTPUT_BUCKET/processed/<id>`, where
//! the id is the messageId (stream: the SequenceNumber). A payload without
//! `Records` is a function error.

use aws_sdk_s3::primitives::ByteStream;
use meander_lambda::{clients, logging, run, BatchResponse, Env, Error, LambdaEvent};
use serde_json::Value;

/// The bucket that receives `processed/<messageId>` objects. Required.
pub const OUTPUT_BUCKET: &str = "OUTPUT_BUCKET";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = Env::from_process();
    logging::init(&env);
    let bucket = match env.required(OUTPUT_BUCKET, "bucket for processed/<messageId> objects") {
        Ok(b) => b.to_string(),
        Err(e) => {
            tracing::error!("cold start failed: {e}");
            return Err(e.into());
        }
    };
    let s3 = clients::s3(&clients::sdk_config().await);
    tracing::info!(bucket = %bucket, "cold start");
    run(move |event| {
        let s3 = s3.clone();
        let bucket = bucket.clone();
        async move { handle(&s3, &bucket, event).await }
    })
    .await
}

async fn handle(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    event: LambdaEvent<Value>,
) -> Result<BatchResponse, Error> {
    let Some(records) = event.payload.get("Records").and_then(Value::as_array) else {
        return Err("not an SQS event: no Records".into());
    };
    let mut failed = Vec::new();
    for record in records {
        // SQS records are identified by messageId, stream records by
        // SequenceNumber (what a partial batch response lists for each).
        let (id, body) =
            if record.get("eventSource").and_then(Value::as_str) == Some("aws:dynamodb") {
                let d = &record["dynamodb"];
                (
                    d["SequenceNumber"].as_str().unwrap_or_default(),
                    d.to_string(),
                )
            } else {
                (
                    record
                        .get("messageId")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    record
                        .get("body")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                )
            };
        if body.contains("crash-now") {
            tracing::error!(message_id = id, "crashing on purpose");
            std::process::exit(70);
        }
        if id.is_empty() || body.contains("poison") {
            tracing::warn!(message_id = id, "message failed: poison");
            failed.push(id.to_string());
            continue;
        }
        let put = s3
            .put_object()
            .bucket(bucket)
            .key(format!("processed/{id}"))
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await;
        match put {
            Ok(_) => tracing::info!(message_id = id, "message processed"),
            Err(e) => {
                tracing::warn!(message_id = id, error = %aws_sdk_s3::error::DisplayErrorContext(&e), "message failed: put_object");
                failed.push(id.to_string());
            }
        }
    }
    Ok(BatchResponse::failed(failed))
}
