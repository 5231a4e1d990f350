//! Parquet footer -> Delta schema and add.stats (in progress).
