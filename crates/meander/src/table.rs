//! Table root and partition inference (in progress).
