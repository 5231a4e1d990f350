//! Typed configuration read once at cold start.
//!
//! Functions declare their keys as documented `pub const`s and read them
//! through [`Env`]. A missing or malformed value is a [`ConfigError`] naming
//! the key, which fails the cold start before any event is accepted.

use std::collections::HashMap;
use std::str::FromStr;

/// A configuration problem, always naming the key and what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing required environment variable {key}: {help}")]
    Missing { key: String, help: String },
    #[error("environment variable {key}={value:?} is invalid: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
}

impl ConfigError {
    pub fn invalid(key: &str, value: &str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// A snapshot of the environment. Built from the process environment at cold
/// start, or from explicit pairs (the CLI's `invoke --env`, unit tests), so
/// nothing below reads `std::env` on its own.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The process environment, read once.
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars().collect(),
        }
    }

    /// An environment made of explicit pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Set or override one key (the CLI layers `--env` over the process).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(key.into(), value.into());
    }

    /// The value of `key`, if set and not blank.
    pub fn optional(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value of `key`, or an error naming it; `help` says what it should hold.
    pub fn required(&self, key: &str, help: &str) -> Result<&str, ConfigError> {
        self.optional(key).ok_or_else(|| ConfigError::Missing {
            key: key.to_string(),
            help: help.to_string(),
        })
    }

    /// `key` parsed as `T`, or `default` when unset.
    pub fn parse_or<T>(&self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.optional(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<T>()
                .map_err(|e| ConfigError::invalid(key, v, e.to_string())),
        }
    }

    /// `key` parsed as `T` when set.
    pub fn parse_optional<T>(&self, key: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.optional(key) {
            None => Ok(None),
            Some(v) => v
                .parse::<T>()
                .map(Some)
                .map_err(|e| ConfigError::invalid(key, v, e.to_string())),
        }
    }

    /// A boolean flag: true/false, 1/0, yes/no, on/off (any case).
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(key) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::invalid(
                    key,
                    v,
                    "expected true/false, 1/0, yes/no or on/off",
                )),
            },
        }
    }

    /// A comma-separated list; blank items are dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.optional(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Conflicting commits retried before giving up (default 100).
pub const COMMIT_MAX_ATTEMPTS: &str = "COMMIT_MAX_ATTEMPTS";
/// For local runs only: buckets are folders under this directory and tables
/// are `file://` URLs (used by `meander invoke` and the demo). Unset in AWS.
pub const LOCAL_STORAGE_DIR: &str = "MEANDER_LOCAL_STORAGE_DIR";

/// The commit retry policy, with `COMMIT_MAX_ATTEMPTS` applied.
pub fn retry_policy(
    env: &Env,
    default: meander::commit::RetryPolicy,
) -> Result<meander::commit::RetryPolicy, ConfigError> {
    let max_attempts = env.parse_or(COMMIT_MAX_ATTEMPTS, default.max_attempts)?;
    if max_attempts == 0 {
        return Err(ConfigError::invalid(
            COMMIT_MAX_ATTEMPTS,
            "0",
            "must be at least 1",
        ));
    }
    Ok(meander::commit::RetryPolicy {
        max_attempts,
        ..default
    })
}

/// Where tables live: S3, or local folders when `MEANDER_LOCAL_STORAGE_DIR` is set.
pub fn locator(env: &Env) -> meander::tables::Locator {
    match env.optional(LOCAL_STORAGE_DIR) {
        Some(dir) => meander::tables::Locator::local(dir),
        None => meander::tables::Locator::s3(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_invalid_keys_are_named() {
        let env = Env::from_pairs([("A", "12"), ("B", "x"), ("C", "  ")]);
        assert_eq!(env.parse_or::<u32>("A", 1).unwrap(), 12);
        assert_eq!(env.parse_or::<u32>("Z", 7).unwrap(), 7);
        let err = env.parse_or::<u32>("B", 1).unwrap_err();
        assert!(err.to_string().contains("B=\"x\""), "{err}");
        let err = env.required("C", "the table URI").unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing required environment variable C: the table URI"
        );
    }

    #[test]
    fn flags_and_lists() {
        let env = Env::from_pairs([("F", "Off"), ("G", "maybe"), ("L", "a, b,,c ")]);
        assert!(!env.flag("F", true).unwrap());
        assert!(env.flag("missing", true).unwrap());
        assert!(env.flag("G", true).is_err());
        assert_eq!(env.list("L"), vec!["a", "b", "c"]);
        assert!(env.list("missing").is_empty());
    }
}
