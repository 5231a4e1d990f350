//! Meander core: everything that is not Lambda wiring.
//!
//! Events in (S3 notifications in every envelope), Delta actions and Arrow
//! batches out. Decode and plan functions are pure; I/O sits at the edges.

pub mod commit;
pub mod events;
pub mod oxbow;
pub mod parquet_meta;
pub mod schema;
pub mod table;
pub mod tables;
