//! The pure part of a backup: which log files a version needs, which
//! objects still have to be copied, when a table is due, and where a
//! deletion vector lives.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::table::commit_version;

/// A file of a Delta log, recognised by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFile {
    /// `<v>.json`
    Commit(u64),
    /// `<v>.checkpoint.parquet` (`part` = `parts` = 1) or
    /// `<v>.checkpoint.<part>.<parts>.parquet`.
    Checkpoint { version: u64, part: u32, parts: u32 },
}

/// Recognise a file name in `_delta_log/`. V2 (UUID-named) checkpoints,
/// `.crc`, compacted logs, `_last_checkpoint` and sidecars are `None`.
pub fn parse_log_name(name: &str) -> Option<LogFile> {
    if let Some(v) = commit_version(name) {
        return Some(LogFile::Commit(v));
    }
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let rest = name.strip_suffix(".parquet")?;
    let (version, rest) = rest.split_once(".checkpoint")?;
    if !digits(version, 20) {
        return None;
    }
    let version: u64 = version.parse().ok()?;
    if rest.is_empty() {
        return Some(LogFile::Checkpoint {
            version,
            part: 1,
            parts: 1,
        });
    }
    let (part, parts) = rest.strip_prefix('.')?.split_once('.')?;
    if !digits(part, 10) || !digits(parts, 10) {
        return None;
    }
    let (part, parts): (u32, u32) = (part.parse().ok()?, parts.parse().ok()?);
    (part >= 1 && part <= parts).then_some(LogFile::Checkpoint {
        version,
        part,
        parts,
    })
}

/// The log files that load a table at one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSelection {
    /// The checkpoint the version is read from, if any.
    pub checkpoint: Option<u64>,
    /// Names under `_delta_log/`: the checkpoint's parts, then the commits
    /// from the checkpoint's version (or 0) up to the version, ascending.
    pub files: Vec<String>,
}

/// Why a version cannot be read from the log as listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error(
        "commit {missing} is missing from the log and no complete checkpoint covers it, so \
         version {version} cannot be rebuilt (log cleanup or a deleted commit)"
    )]
    Gap { version: u64, missing: u64 },
}

/// Pick the log files for `version` from the names listed in `_delta_log/`:
/// the newest complete classic checkpoint at or below `version` and every
/// commit from its version to `version` (all commits from 0 without one).
/// Nothing after `version` is ever selected.
pub fn select_log<S: AsRef<str>>(names: &[S], version: u64) -> Result<LogSelection, LogError> {
    let mut commits: BTreeMap<u64, String> = BTreeMap::new();
    // version -> parts count -> (part -> name)
    let mut checkpoints: BTreeMap<u64, BTreeMap<u32, BTreeMap<u32, String>>> = BTreeMap::new();
    for name in names {
        let name = name.as_ref();
        match parse_log_name(name) {
            Some(LogFile::Commit(v)) if v <= version => {
                commits.insert(v, name.to_string());
            }
            Some(LogFile::Checkpoint {
                version: v,
                part,
                parts,
            }) if v <= version => {
                checkpoints
                    .entry(v)
                    .or_default()
                    .entry(parts)
                    .or_default()
                    .insert(part, name.to_string());
            }
            _ => {}
        }
    }
    // The newest checkpoint with every part present (single-file first).
    let chosen = checkpoints.iter().rev().find_map(|(v, by_parts)| {
        by_parts
            .iter()
            .find(|(parts, got)| got.len() == **parts as usize)
            .map(|(_, got)| (*v, got.values().cloned().collect::<Vec<_>>()))
    });
    let (checkpoint, mut files, first_needed) = match chosen {
        Some((v, parts)) => (Some(v), parts, v + 1),
        None => (None, Vec::new(), 0),
    };
    for v in first_needed..=version {
        if !commits.contains_key(&v) {
            return Err(LogError::Gap {
                version,
                missing: v,
            });
        }
    }
    // The checkpoint's own commit is kept when present: readers that want
    // the commit info or timestamp of the version find it.
    let from = checkpoint.unwrap_or(0);
    files.extend(commits.range(from..=version).map(|(_, n)| n.clone()));
    Ok(LogSelection { checkpoint, files })
}

/// An object a version needs, by its path relative to the table root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Needed {
    pub path: String,
    pub size: u64,
}

/// What to copy and what is already there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyPlan {
    pub copy: Vec<Needed>,
    /// Already present with the same size (Delta files are immutable, so a
    /// path with the right size is the same file).
    pub present: Vec<Needed>,
}

/// Split `needed` (deduplicated by path) into objects to copy and objects
/// `existing` (path -> size) already holds.
pub fn plan_copies(needed: &[Needed], existing: &HashMap<String, u64>) -> CopyPlan {
    let mut seen = BTreeSet::new();
    let mut plan = CopyPlan::default();
    for n in needed {
        if !seen.insert(n.path.as_str()) {
            continue;
        }
        if existing.get(&n.path) == Some(&n.size) {
            plan.present.push(n.clone());
        } else {
            plan.copy.push(n.clone());
        }
    }
    plan
}

/// Whether a table at `version` is due for a backup, given its latest backed
/// up version and `every` (`BACKUP_EVERY_VERSIONS`, 0 counts as 1): when it
/// has none yet, or `version` is past the latest backup and either a
/// multiple of `every` or at least `every` versions past it.
pub fn should_back_up(version: u64, latest_backup: Option<u64>, every: u64) -> bool {
    let every = every.max(1);
    match latest_backup {
        None => true,
        Some(latest) if version <= latest => false,
        Some(latest) => version.is_multiple_of(every) || version - latest >= every,
    }
}

/// The highest of `versions` that is due (see [`should_back_up`]).
pub fn pick_version(versions: &[u64], latest_backup: Option<u64>, every: u64) -> Option<u64> {
    versions
        .iter()
        .copied()
        .filter(|v| should_back_up(*v, latest_backup, every))
        .max()
}

const Z85: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

fn z85_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(5) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 5 * 4);
    for chunk in bytes.chunks(5) {
        let mut value: u64 = 0;
        for c in chunk {
            let digit = Z85.iter().position(|z| z == c)? as u64;
            value = value * 85 + digit;
        }
        let value = u32::try_from(value).ok()?;
        out.extend_from_slice(&value.to_be_bytes());
    }
    Some(out)
}

/// The path, relative to the table root, of a deletion vector stored as
/// `u` (`pathOrInlineDv` = optional random prefix + 20 Z85 characters of a
/// UUID): `<prefix>/deletion_vector_<uuid>.bin`. `None` when malformed.
pub fn dv_relative_path(path_or_inline_dv: &str) -> Option<String> {
    let split = path_or_inline_dv.len().checked_sub(20)?;
    if !path_or_inline_dv.is_char_boundary(split) {
        return None;
    }
    let (prefix, encoded) = path_or_inline_dv.split_at(split);
    let b = z85_decode(encoded)?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8)?,
        hex.get(8..12)?,
        hex.get(12..16)?,
        hex.get(16..20)?,
        hex.get(20..32)?
    );
    let file = format!("deletion_vector_{uuid}.bin");
    Some(if prefix.is_empty() {
        file
    } else {
        format!("{prefix}/{file}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: u64) -> String {
        format!("{v:020}.json")
    }

    fn cp(v: u64) -> String {
        format!("{v:020}.checkpoint.parquet")
    }

    #[test]
    fn log_names() {
        assert_eq!(parse_log_name(&c(7)), Some(LogFile::Commit(7)));
        assert_eq!(
            parse_log_name(&cp(10)),
            Some(LogFile::Checkpoint {
                version: 10,
                part: 1,
                parts: 1
            })
        );
        assert_eq!(
            parse_log_name("00000000000000000010.checkpoint.0000000002.0000000003.parquet"),
            Some(LogFile::Checkpoint {
                version: 10,
                part: 2,
                parts: 3
            })
        );
        for ignored in [
            "_last_checkpoint",
            "00000000000000000010.crc",
            "00000000000000000010.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json",
            "00000000000000000010.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.parquet",
            "00000000000000000000.00000000000000000003.compacted.json",
            "00000000000000000010.checkpoint.0000000004.0000000003.parquet",
            "_sidecars/x.parquet",
            "10.json",
        ] {
            assert_eq!(parse_log_name(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn commits_only_from_zero() {
        let names = [c(0), c(1), c(2), c(3), c(4), "_last_checkpoint".into()];
        let s = select_log(&names, 3).unwrap();
        assert_eq!(s.checkpoint, None);
        assert_eq!(s.files, [c(0), c(1), c(2), c(3)], "never beyond 3");
    }

    #[test]
    fn latest_checkpoint_at_or_below_the_version() {
        let names = [
            c(8),
            c(9),
            c(10),
            cp(10),
            c(11),
            c(12),
            cp(20),
            c(20),
            c(21),
        ];
        let s = select_log(&names, 12).unwrap();
        assert_eq!(s.checkpoint, Some(10));
        assert_eq!(s.files, [cp(10), c(10), c(11), c(12)]);
        let s = select_log(&names, 20).unwrap();
        assert_eq!(s.files, [cp(20), c(20)]);
        // commit 9 is not needed at 10, but 0..9 would be without the checkpoint
        assert_eq!(
            select_log(&names, 9),
            Err(LogError::Gap {
                version: 9,
                missing: 0
            })
        );
    }

    #[test]
    fn incomplete_multipart_checkpoints_are_skipped() {
        let part = |v: u64, i: u32, n: u32| format!("{v:020}.checkpoint.{i:010}.{n:010}.parquet");
        let names = vec![
            part(5, 1, 2),
            part(5, 2, 2),
            c(5),
            c(6),
            part(7, 1, 2), // part 2 missing
            c(7),
        ];
        let s = select_log(&names, 7).unwrap();
        assert_eq!(s.checkpoint, Some(5));
        assert_eq!(s.files, [part(5, 1, 2), part(5, 2, 2), c(5), c(6), c(7)]);
    }

    #[test]
    fn gaps_are_errors() {
        let names = [c(0), c(1), c(3)];
        assert_eq!(
            select_log(&names, 3),
            Err(LogError::Gap {
                version: 3,
                missing: 2
            })
        );
        let names = [cp(4), c(6)];
        assert!(select_log(&names, 6).is_err(), "5 missing");
        let s = select_log(&[cp(4)], 4).unwrap();
        assert_eq!(s.files, [cp(4)], "a checkpoint alone loads its version");
    }

    #[test]
    fn plan_skips_present_files_of_the_same_size() {
        let n = |p: &str, s: u64| Needed {
            path: p.into(),
            size: s,
        };
        let existing: HashMap<String, u64> = [("a".to_string(), 10), ("b".to_string(), 5)].into();
        let plan = plan_copies(&[n("a", 10), n("b", 6), n("c", 1), n("c", 1)], &existing);
        assert_eq!(plan.present, [n("a", 10)]);
        assert_eq!(
            plan.copy,
            [n("b", 6), n("c", 1)],
            "wrong size is copied again; duplicates once"
        );
    }

    #[test]
    fn when_a_table_is_due() {
        assert!(should_back_up(0, None, 10));
        assert!(!should_back_up(5, Some(5), 1));
        assert!(should_back_up(6, Some(5), 1));
        assert!(
            !should_back_up(4, Some(5), 1),
            "older than the latest backup"
        );
        assert!(!should_back_up(13, Some(10), 10));
        assert!(should_back_up(20, Some(19), 10), "multiple of every");
        assert!(should_back_up(21, Some(11), 10), "every versions behind");
        assert!(should_back_up(3, Some(2), 0), "0 counts as 1");
        assert_eq!(pick_version(&[11, 19, 20], Some(10), 10), Some(20));
        assert_eq!(
            pick_version(&[11, 19, 20, 21], Some(10), 10),
            Some(21),
            "11 behind"
        );
        assert_eq!(pick_version(&[11, 12], Some(10), 10), None);
        assert_eq!(pick_version(&[], None, 10), None);
        assert_eq!(pick_version(&[3, 1], None, 10), Some(3));
    }

    #[test]
    fn deletion_vector_paths() {
        // The example of the Delta protocol.
        assert_eq!(
            dv_relative_path("ab^-aqEH.-t@S}K{vb[*k^").as_deref(),
            Some("ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin")
        );
        assert_eq!(
            dv_relative_path("^-aqEH.-t@S}K{vb[*k^").as_deref(),
            Some("deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin")
        );
        assert_eq!(dv_relative_path("short"), None);
        assert_eq!(dv_relative_path("ab~-aqEH.-t@S}K{vb[*k^"), None, "not Z85");
        assert_eq!(dv_relative_path("é^-aqEH.-t@S}K{vb[*k"), None);
    }
}
