//! The reliability figures: what each reliability test ran, injected and
//! checked, and what it found lost or duplicated.
//!
//! Each test computes its [`Figures`] from what it read back (see
//! [`exactly_once`]), records them with [`record`] *before* asserting, and
//! then asserts `lost == 0 && duplicated == 0`. [`record`] prints one line
//! to stderr and, when `MEANDER_FIGURES` names a file, appends one JSON line
//! to it; `scripts/test.sh` points it at a fresh file and closes its output
//! with the sums: `reliability: runs N, faults injected N, retries N,
//! records checked N, lost N, duplicated N`.

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

/// The environment variable naming the JSON-lines file of figures.
pub const MEANDER_FIGURES: &str = "MEANDER_FIGURES";

/// One test's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// The test's name.
    pub test: String,
    /// Function runs (invocations) driven.
    pub runs: u64,
    /// Faults injected: proxy faults, kills.
    pub faults_injected: u64,
    /// Commit retries counted from the functions' logs.
    pub retries: u64,
    /// Records (rows, files) checked against what was expected.
    pub records_checked: u64,
    /// Expected records not found.
    pub lost: u64,
    /// Records found more than once (each extra copy counts).
    pub duplicated: u64,
}

impl Figures {
    pub fn new(test: &str) -> Figures {
        Figures {
            test: test.to_string(),
            ..Figures::default()
        }
    }

    /// Compare `found` against `expected` (see [`exactly_once`]) and add
    /// the result to these figures.
    pub fn check<T: Ord + Clone>(&mut self, expected: &[T], found: &[T]) -> Check<T> {
        let c = exactly_once(expected, found);
        self.records_checked += expected.len() as u64;
        self.lost += c.lost.len() as u64;
        self.duplicated += c.duplicated;
        c
    }
}

/// What an exactly-once comparison found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check<T> {
    /// Expected, not found (first few hundred at most are worth printing).
    pub lost: Vec<T>,
    /// Extra copies found of expected or unexpected records.
    pub duplicated: u64,
    /// Found but never expected.
    pub unexpected: Vec<T>,
}

impl<T> Check<T> {
    pub fn is_exact(&self) -> bool {
        self.lost.is_empty() && self.duplicated == 0 && self.unexpected.is_empty()
    }
}

/// Count, for every record, how often it was `found` against how often it
/// was `expected` (once each, normally): missing copies are lost, extra
/// copies duplicated, records never expected unexpected.
pub fn exactly_once<T: Ord + Clone>(expected: &[T], found: &[T]) -> Check<T> {
    let mut counts: BTreeMap<&T, (u64, u64)> = BTreeMap::new();
    for e in expected {
        counts.entry(e).or_default().0 += 1;
    }
    for f in found {
        counts.entry(f).or_default().1 += 1;
    }
    let mut check = Check {
        lost: Vec::new(),
        duplicated: 0,
        unexpected: Vec::new(),
    };
    for (record, (want, got)) in counts {
        if want == 0 {
            check.unexpected.push(record.clone());
            check.duplicated += got.saturating_sub(1);
        } else if got < want {
            check.lost.push(record.clone());
        } else {
            check.duplicated += got - want;
        }
    }
    check
}

/// Print `figures` and append them to `$MEANDER_FIGURES` when set.
pub fn record(figures: &Figures) {
    let line = serde_json::to_string(figures).unwrap_or_default();
    eprintln!("reliability figures: {line}");
    if let Some(path) = std::env::var_os(MEANDER_FIGURES).filter(|p| !p.is_empty()) {
        // One write of one line, append mode: lines of parallel tests do
        // not interleave.
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = appended {
            eprintln!("cannot append figures to {path:?}: {e}");
        }
    }
}

/// The sum of `key=value` numbers named `key` in `lines` (e.g. `retries=`
/// in oxbow's commit lines, `attempts=` in sqs-ingest's batch lines).
pub fn sum_field(lines: &[String], key: &str) -> u64 {
    let prefix = format!("{key}=");
    lines
        .iter()
        .flat_map(|l| l.split_whitespace())
        .filter_map(|w| w.strip_prefix(prefix.as_str()))
        .filter_map(|n| {
            n.trim_matches(|c: char| !c.is_ascii_digit())
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// `true` when the environment asks for the long (soak) variants.
pub fn soak() -> bool {
    std::env::var("MEANDER_SOAK").is_ok_and(|v| !v.is_empty() && v != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_once_counts_lost_and_duplicated() {
        let c = exactly_once(&[1, 2, 3, 4], &[1, 2, 2, 4, 4, 4, 9, 9]);
        assert_eq!(c.lost, [3]);
        assert_eq!(c.duplicated, 1 + 2 + 1);
        assert_eq!(c.unexpected, [9]);
        assert!(!c.is_exact());
        assert!(exactly_once(&[1, 2], &[2, 1]).is_exact());
    }

    #[test]
    fn sums_fields_of_log_lines() {
        let lines = vec![
            "INFO committed retries=2 files_added=3".to_string(),
            "INFO committed retries=0".to_string(),
            "x retries=1,".to_string(),
        ];
        assert_eq!(sum_field(&lines, "retries"), 3);
    }
}
