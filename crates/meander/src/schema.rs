//! Schema evolution: merging a file schema into a table schema (in progress).
