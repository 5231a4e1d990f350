//! DynamoDB Streams -> typed Delta tables (the `dynamo-cdc` function).
//!
//! - [`record`] decodes the Lambda DynamoDB Streams event into
//!   [`record::StreamRecord`]s (stopping at the first bad record),
//! - [`attr`] decodes attribute values exactly ([`attr::Number`] keeps every
//!   digit),
//! - [`typing`] turns items into Arrow rows, inferring and evolving the
//!   table schema,
//! - [`changes`] plans a batch: changelog rows (append mode) or the latest
//!   change per key (upsert mode),
//! - [`write`] writes Arrow batches as Parquet data files of a table and
//!   builds their `add` actions with statistics,
//! - [`append`] commits changelog rows exactly once.
//!
//! Upsert mode's MERGE lives in the `dynamo-cdc` crate: it needs deltalake's
//! `datafusion` feature, which only that function pulls in.
//!
//! # Type mapping
//!
//! | DynamoDB | Delta column |
//! | --- | --- |
//! | `S` | `string` (`timestamp` for attributes in `TIMESTAMP_COLUMNS`) |
//! | `N` | see *Numbers* (`timestamp` for attributes in `TIMESTAMP_COLUMNS`) |
//! | `B` | `binary` (base64-decoded) |
//! | `BOOL` | `boolean` |
//! | `NULL` | null (no column is created for an attribute only ever NULL) |
//! | `SS` / `NS` / `BS` | `array<string>` / `array<number type>` / `array<binary>` |
//! | `M`, `L` with `NESTED=json` | `string` holding JSON (keys sorted; N as exact JSON numbers, B as base64) |
//! | `M` with `NESTED=native` | `struct`, one field per key seen (new keys are new nullable fields) |
//! | `L` with `NESTED=native` | `array<element type>` (elements must share a type) |
//!
//! Sets are typed arrays in both `NESTED` modes: a set is homogeneous by
//! definition, so a typed array never conflicts, and queries stay simple.
//!
//! ## Numbers
//!
//! DynamoDB numbers have up to 38 significant digits and exponents from
//! -130 to +125. A new number column gets, from all its values in the batch:
//!
//! 1. `long` when every value is an integer within 64 bits;
//! 2. else `decimal(38,0)` when every value is an integer of at most 38 digits;
//! 3. else `decimal(38,18)` when every value has at most 20 integer and 18
//!    fraction digits;
//! 4. else `decimal(38,s)`, `s` the most fraction digits seen, when integer
//!    plus fraction digits fit 38;
//! 5. else `double` when every value reads back from a 64-bit float exactly
//!    (its shortest decimal form has the same digits: e.g. `1e100`, `1.5e-130`);
//! 6. else no type can hold them: the values are rescued (below).
//!
//! An existing column takes a number only when it can hold it exactly (a
//! `long` an integer in range, a `decimal(p,s)` at most `s` fraction and
//! `p-s` integer digits, a `double` a value that reads back exactly). No
//! digit is ever lost silently: what does not fit is rescued.
//!
//! ## Timestamps (`TIMESTAMP_COLUMNS`)
//!
//! Strings in ISO-8601 (RFC 3339 with any offset, a space for `T`, no offset
//! meaning UTC, or a date alone) and epoch numbers, whose unit follows their
//! magnitude: below 10^11 seconds, below 10^14 milliseconds, below 10^17
//! microseconds, else nanoseconds. Stored as microseconds (UTC); digits below
//! a microsecond are dropped, as Delta cannot hold them.
//!
//! ## Schema evolution and conflicts
//!
//! Existing columns never change type. A new attribute becomes a new
//! nullable column (appended; in a new table: metadata columns, then keys,
//! then the rest by name), a new map key in a native struct a new nullable
//! field. The first value a batch shows for a new column decides its kind.
//!
//! A value that does not fit its column — another DynamoDB type (a string
//! in a `long` column), a number the column cannot hold exactly, a map with a
//! key spelled like a field but in another case, a list mixing types in
//! native mode, an attribute whose name differs from a column's only by
//! case, one named like a metadata column, or a new attribute (or native
//! map key) whose name Parquet refuses without column mapping (a space or
//! one of `,;{}()=`, tab, newline) — is **rescued**: the column is
//! null in that row, and the row's `_rescued` column (a nullable string,
//! added when first needed) holds a JSON object of every rescued attribute in
//! DynamoDB JSON, e.g. `{"price":{"N":"12.5"}}`. Records never fail for their
//! types, the stream never blocks, and nothing is lost.

pub mod append;
pub mod attr;
pub mod changes;
pub mod record;
pub mod typing;
pub mod write;

pub use attr::{Attr, Item, Number};
pub use record::{
    decode_stream_event, DecodedStream, EventName, RecordError, RecordFailure, SequenceNumber,
    StreamRecord, ViewType,
};
pub use typing::{Nested, TypingOptions};
