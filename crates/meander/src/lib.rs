//! Meander core: everything that is not Lambda wiring.
//!
//! Events in (S3 notifications in every envelope), Delta actions and Arrow
//! batches out. Decode and plan functions are pure; I/O sits at the edges.

pub mod backup;
pub mod commit;
pub mod dms;
pub mod dynamo;
pub mod events;
pub mod failpoint;
pub mod glue;
pub mod group;
pub mod ingest;
#[cfg(feature = "merge")]
pub mod merge;
pub mod oxbow;
pub mod parquet_meta;
pub mod schema;
pub mod table;
pub mod tables;
pub mod write;
