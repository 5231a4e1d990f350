//! The end-to-end test bed: a local AWS endpoint (moto server), a Lambda
//! Runtime API driver for the compiled function binaries, and the pollers
//! that play Lambda's event source mappings (SQS, DynamoDB Streams).
//!
//! ```no_run
//! # async fn demo() -> meander_e2e::Result<()> {
//! use meander_e2e::{aws::Aws, runtime::{function_binary, FunctionProcess}};
//! let aws = Aws::new().await; // starts moto once per test process
//! let bucket = aws.create_bucket("out").await?;
//! let mut env = meander_e2e::moto::env_for_function();
//! env.push(("DELTA_TABLE_URI".into(), format!("s3://{bucket}/tables/events")));
//! let mut f = FunctionProcess::spawn(function_binary("sqs-ingest"), env).await?;
//! let outcome = f.invoke(serde_json::json!({"Records": []}), std::time::Duration::from_secs(30)).await?;
//! # Ok(()) }
//! ```
//!
//! How it fits together, why a Runtime API server of our own, and what moto
//! does differently from AWS: `tests/README.md`.

pub mod aws;
pub mod delta_reader;
pub mod dms;
pub mod error;
pub mod figures;
pub mod moto;
pub mod parquet;
pub mod poller;
pub mod proxy;
pub mod records;
pub mod runtime;
pub mod streams;

pub use error::{Error, Result};
