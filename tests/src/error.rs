//! One error type for the test bed: a message saying what failed and why.

use std::fmt;

/// What went wrong, in words a failing test can print as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Wrap an AWS SDK (or any) error with what the bed was doing, keeping the
/// whole source chain in the message.
pub(crate) fn context<E: std::error::Error>(what: impl Into<String>) -> impl FnOnce(E) -> Error {
    let what = what.into();
    move |e| {
        Error(format!(
            "{what}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        ))
    }
}
