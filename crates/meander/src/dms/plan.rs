//! Which files to apply next, in DMS order, exactly once.
//!
//! The table's Delta log keeps a ledger in two `txn` actions written in the
//! same commit as the data ([`Ledger`]): the position of the last DMS file
//! applied, and the counter of the last full-load file applied. A
//! notification for file F "catches up": every file of F's folder after the
//! last applied one, up to F, is applied in DMS order. So notifications may
//! come late, twice or out of order: files still go in once, in order.
//!
//! Rules:
//!
//! - full-load files go first, by counter, without gaps: a missing counter
//!   stops the catch-up before it (DMS writes LOAD files in parallel; the
//!   message is retried until the file is there);
//! - a CDC file means its table's full load is complete (DMS writes the
//!   changes cached during the load only after it), so applying it first
//!   applies every LOAD file listed;
//! - a LOAD file that is not applied while CDC files are is refused
//!   ([`PlanError::LateLoad`]): the table was reloaded, and its rows cannot
//!   be placed among changes already applied.

use super::names::{DmsFile, FileKind};

/// The app id prefix of the ledger's `txn`s.
pub const APP_ID_PREFIX: &str = "meander-dms-merge";

/// The `txn` app ids of a source table's ledger: (last position, last LOAD
/// counter).
pub fn app_ids(source_uri: &str) -> (String, String) {
    (
        format!("{APP_ID_PREFIX}/{source_uri}"),
        format!("{APP_ID_PREFIX}/{source_uri}#load"),
    )
}

/// What the table says is applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Position of the last file applied.
    pub applied: Option<i64>,
    /// Counter of the last full-load file applied.
    pub loads: Option<i64>,
}

impl Ledger {
    pub fn is_applied(&self, file: &DmsFile) -> bool {
        match file.kind {
            FileKind::Load(n) => self.loads.is_some_and(|l| i64::from(n) <= l),
            FileKind::Cdc(p) => self.applied.is_some_and(|a| p <= a),
        }
    }

    fn in_cdc(&self) -> bool {
        self.applied.is_some_and(|a| a > i64::from(u32::MAX))
    }
}

/// A file as listed, with its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub file: DmsFile,
    pub size: u64,
}

/// How much one commit takes at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_files: usize,
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 100,
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

/// One commit: full-load files appended, or CDC files merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Append(Vec<Listed>),
    Merge(Vec<Listed>),
}

impl Step {
    pub fn files(&self) -> &[Listed] {
        match self {
            Step::Append(f) | Step::Merge(f) => f,
        }
    }

    /// The ledger after this step.
    pub fn ledger_after(&self, before: Ledger) -> Ledger {
        let last = self.files().last().map(|l| l.file.position());
        match self {
            Step::Append(_) => Ledger {
                applied: last.or(before.applied),
                loads: last.or(before.loads),
            },
            Step::Merge(_) => Ledger {
                applied: last.or(before.applied),
                ..before
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{file} is a full-load file that arrived after CDC changes were applied to the table (the task reloaded the table?); its rows cannot be placed among the changes. Reload into a new Delta table (or delete this one), then redeliver the folder's notifications")]
    LateLoad { file: String },
    #[error("{missing} is not in the folder yet but {after} is; full-load files apply in counter order, so this waits (the message is retried) until DMS has written it")]
    MissingLoad { missing: String, after: String },
    #[error("{a} and {b} hold the same position in DMS order; remove the one DMS did not write")]
    Duplicate { a: String, b: String },
}

/// The steps that bring the table from `ledger` up to and including the
/// file at `upto` (a position), given the folder's `listing`.
pub fn plan(
    listing: &[Listed],
    ledger: Ledger,
    upto: &DmsFile,
    limits: Limits,
) -> Result<Vec<Step>, PlanError> {
    let mut files: Vec<&Listed> = listing.iter().collect();
    files.sort_by_key(|l| l.file.position());
    for w in files.windows(2) {
        if let [a, b] = w {
            if a.file.position() == b.file.position() {
                return Err(PlanError::Duplicate {
                    a: a.file.uri(),
                    b: b.file.uri(),
                });
            }
        }
    }
    if ledger.in_cdc() {
        if let Some(late) = files
            .iter()
            .map(|l| &l.file)
            .chain(std::iter::once(upto))
            .find(|f| f.is_load() && !ledger.is_applied(f))
        {
            return Err(PlanError::LateLoad { file: late.uri() });
        }
    }
    if ledger.is_applied(upto) {
        return Ok(Vec::new());
    }
    let mut pending: Vec<&Listed> = files
        .into_iter()
        .filter(|l| !ledger.is_applied(&l.file) && l.file.position() <= upto.position())
        .collect();
    // The notified file may not be listed (deleted since): it is not applied.
    // Full-load counters must follow on from the ledger without gaps.
    let mut next = ledger.loads.unwrap_or(0) + 1;
    for l in &pending {
        if let FileKind::Load(n) = l.file.kind {
            if i64::from(n) != next {
                let missing = DmsFile {
                    name: format!("LOAD{next:08X}.{}", l.file.format.as_str()),
                    kind: FileKind::Load(next as u32),
                    ..l.file.clone()
                };
                return Err(PlanError::MissingLoad {
                    missing: missing.uri(),
                    after: l.file.uri(),
                });
            }
            next += 1;
        }
    }
    let mut steps: Vec<Step> = Vec::new();
    let mut current: Vec<Listed> = Vec::new();
    let mut bytes = 0u64;
    let mut load = true;
    for l in pending.drain(..) {
        let full = current.len() >= limits.max_files.max(1)
            || (bytes + l.size > limits.max_bytes && !current.is_empty());
        if !current.is_empty() && (l.file.is_load() != load || full) {
            let files = std::mem::take(&mut current);
            steps.push(if load {
                Step::Append(files)
            } else {
                Step::Merge(files)
            });
            bytes = 0;
        }
        load = l.file.is_load();
        bytes += l.size;
        current.push(l.clone());
    }
    if !current.is_empty() {
        steps.push(if load {
            Step::Append(current)
        } else {
            Step::Merge(current)
        });
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dms::names::{classify, KeyClass};

    fn f(name: &str) -> DmsFile {
        match classify("b", &format!("dms/public/t/{name}")) {
            KeyClass::Data(f) => f,
            other => panic!("{other:?}"),
        }
    }

    fn listed(names: &[&str]) -> Vec<Listed> {
        names
            .iter()
            .map(|n| Listed {
                file: f(n),
                size: 10,
            })
            .collect()
    }

    fn names(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| {
                let kind = match s {
                    Step::Append(_) => "append",
                    Step::Merge(_) => "merge",
                };
                let files: Vec<&str> = s.files().iter().map(|l| l.file.name.as_str()).collect();
                format!("{kind} {}", files.join(" "))
            })
            .collect()
    }

    const C1: &str = "20261121-100000000.csv";
    const C2: &str = "20261121-100100000.csv";
    const C3: &str = "20261121-100200000.csv";

    #[test]
    fn catches_up_in_dms_order() {
        let all = listed(&[C3, "LOAD00000002.csv", C1, "LOAD00000001.csv", C2]);
        // A CDC notification first: the full load goes in before it.
        let steps = plan(&all, Ledger::default(), &f(C2), Limits::default()).unwrap();
        assert_eq!(
            names(&steps),
            [
                "append LOAD00000001.csv LOAD00000002.csv",
                &format!("merge {C1} {C2}")
            ]
        );
        let mut ledger = Ledger::default();
        for s in &steps {
            ledger = s.ledger_after(ledger);
        }
        assert_eq!(ledger.loads, Some(2));
        assert_eq!(ledger.applied, Some(f(C2).position()));
        // Redelivered or late notifications of applied files: nothing.
        for n in ["LOAD00000001.csv", "LOAD00000002.csv", C1, C2] {
            assert!(
                plan(&all, ledger, &f(n), Limits::default())
                    .unwrap()
                    .is_empty(),
                "{n}"
            );
        }
        // The next one.
        let steps = plan(&all, ledger, &f(C3), Limits::default()).unwrap();
        assert_eq!(names(&steps), [format!("merge {C3}")]);
        // A LOAD notification applies only LOAD files up to it.
        let steps = plan(
            &all,
            Ledger::default(),
            &f("LOAD00000001.csv"),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(names(&steps), ["append LOAD00000001.csv"]);
    }

    #[test]
    fn limits_split_commits() {
        let all = listed(&[
            "LOAD00000001.csv",
            "LOAD00000002.csv",
            "LOAD00000003.csv",
            C1,
            C2,
            C3,
        ]);
        let limits = Limits {
            max_files: 2,
            max_bytes: 1000,
        };
        let steps = plan(&all, Ledger::default(), &f(C3), limits).unwrap();
        assert_eq!(
            names(&steps),
            [
                "append LOAD00000001.csv LOAD00000002.csv".to_string(),
                "append LOAD00000003.csv".to_string(),
                format!("merge {C1} {C2}"),
                format!("merge {C3}"),
            ]
        );
        let limits = Limits {
            max_files: 10,
            max_bytes: 15,
        };
        let steps = plan(&all, Ledger::default(), &f("LOAD00000002.csv"), limits).unwrap();
        assert_eq!(
            names(&steps),
            ["append LOAD00000001.csv", "append LOAD00000002.csv"]
        );
    }

    #[test]
    fn gaps_late_loads_and_duplicates_are_errors() {
        let all = listed(&["LOAD00000001.csv", "LOAD00000003.csv", C1]);
        let err = plan(&all, Ledger::default(), &f(C1), Limits::default()).unwrap_err();
        assert!(
            matches!(&err, PlanError::MissingLoad { missing, .. } if missing.ends_with("LOAD00000002.csv")),
            "{err}"
        );
        // Up to the gap is fine.
        let steps = plan(
            &all,
            Ledger::default(),
            &f("LOAD00000001.csv"),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(names(&steps), ["append LOAD00000001.csv"]);

        let cdc = Ledger {
            applied: Some(f(C1).position()),
            loads: Some(1),
        };
        let all = listed(&["LOAD00000001.csv", "LOAD00000002.csv", C1, C2]);
        for n in ["LOAD00000002.csv", C2] {
            let err = plan(&all, cdc, &f(n), Limits::default()).unwrap_err();
            assert!(
                matches!(&err, PlanError::LateLoad { file } if file.ends_with("LOAD00000002.csv")),
                "{err}"
            );
        }
        // CDC-only tables: a LOAD file later is late too.
        let cdc_only = Ledger {
            applied: Some(f(C1).position()),
            loads: None,
        };
        assert!(plan(
            &listed(&[C1]),
            cdc_only,
            &f("LOAD00000001.csv"),
            Limits::default()
        )
        .is_err());

        let dup = listed(&["LOAD00000001.csv", "LOAD00000001.parquet"]);
        assert!(matches!(
            plan(
                &dup,
                Ledger::default(),
                &f("LOAD00000001.csv"),
                Limits::default()
            ),
            Err(PlanError::Duplicate { .. })
        ));
    }
}
