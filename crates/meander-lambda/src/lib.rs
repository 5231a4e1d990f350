//! Runtime glue shared by every Meander function.
//!
//! Every function binary does the same few things at cold start: set up
//! tracing the way Lambda's advanced logging controls ask, read its typed
//! configuration once from the environment, build its AWS clients once, and
//! answer batches with partial batch failures. They live here, once.

pub mod clients;
pub mod config;
pub mod logging;
pub mod response;

pub use config::{ConfigError, Env};
pub use lambda_runtime::{self, Error, LambdaEvent};
pub use response::BatchResponse;

/// Cold start: read the process environment once, set up logging, and build
/// the function's state with `build`. A configuration error is logged with
/// the key it names and the process exits non-zero, so Lambda reports an
/// init failure instead of accepting events it cannot handle.
pub fn cold_start<T>(build: impl FnOnce(&Env) -> Result<T, ConfigError>) -> T {
    let env = Env::from_process();
    logging::init(&env);
    match build(&env) {
        Ok(state) => state,
        Err(e) => {
            tracing::error!(error = %e, "configuration error; fix the environment and redeploy");
            eprintln!("configuration error: {e}");
            std::process::exit(2);
        }
    }
}

/// The answer to an invocation whose failures are known per message.
///
/// For SQS batches the failed message ids are reported (and nothing that
/// committed). A direct invocation (S3, SNS, EventBridge) has no ids to
/// report, so any failure fails the invocation with `describe()`'s text,
/// and the caller's retry policy applies.
pub fn batch_response(
    is_sqs: bool,
    failed_ids: Vec<String>,
    any_failure: bool,
    describe: impl FnOnce() -> String,
) -> Result<BatchResponse, Error> {
    if is_sqs {
        Ok(BatchResponse::failed(failed_ids))
    } else if any_failure {
        Err(describe().into())
    } else {
        Ok(BatchResponse::default())
    }
}

/// Run a handler under the Lambda Runtime API until the container is stopped.
///
/// `handler` receives the raw JSON payload, so one function can accept every
/// envelope its core decoder understands (SQS, direct S3, EventBridge, ...).
pub async fn run<F, Fut, R>(handler: F) -> Result<(), Error>
where
    F: Fn(LambdaEvent<serde_json::Value>) -> Fut,
    Fut: std::future::Future<Output = Result<R, Error>>,
    R: serde::Serialize,
{
    lambda_runtime::run(lambda_runtime::service_fn(handler)).await
}
