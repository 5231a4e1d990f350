//! AWS DMS files on S3 (full load + CDC) to a live table: the pure part.
//!
//! - [`names`]: object keys to schema, table, LOAD counter or CDC time, and
//!   each file's position in DMS order;
//! - [`config`]: `KEY_COLUMNS` and DMS table-definition documents;
//! - [`decode`]: CSV and Parquet files to Arrow, and the `Op` of every row;
//! - [`reduce`]: full-load rows, or the last change per key of CDC files;
//! - [`plan`]: which files to apply next so each goes in once, in order.
//!
//! The writing (append and MERGE) is in the `dms-merge` function.

pub mod config;
pub mod decode;
pub mod names;
pub mod plan;
pub mod reduce;
