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
