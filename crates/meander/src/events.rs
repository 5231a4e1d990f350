//! Trigger decoding (in progress).
