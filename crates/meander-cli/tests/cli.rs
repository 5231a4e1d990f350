//! The `meander` binary as a user runs it: real processes, local folders.

use std::path::Path;
use std::process::{Command, Output};

fn meander(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meander"))
        .args(args)
        .current_dir(cwd)
        .env_remove("MEANDER_LOCAL_STORAGE_DIR")
        .output()
        .expect("run meander")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A failure is one clear line on stderr and a non-zero exit, never a panic.
fn assert_clean_failure(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "should fail: {err}");
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

#[test]
fn demo_then_info_then_convert_adds_only_new_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = meander(&["demo", "demo"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("rows       3250"), "{stdout}");

    // info --json on the demo table
    let table = "demo/landing/exports/orders";
    let out = meander(&["info", table, "--json"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(info["files"], 7);
    assert_eq!(info["rows"], 3250);
    assert_eq!(info["partition_columns"], serde_json::json!(["ds"]));

    // The demo's DMS table: 10 loaded; CDC deletes 5 and 7, inserts then
    // deletes 11: 8 rows, the load and both CDC files in two commits
    // although the last CDC file was notified first and all were redelivered.
    assert!(stdout.contains("(each file applied once)"), "{stdout}");
    let out = meander(
        &["info", "demo/lake/live/public/orders", "--json"],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(live["rows"], 8, "{live}");
    assert_eq!(live["version"], 1, "{live}");

    // convert: a copy of the export's data files without a log becomes a
    // table; a second convert adds nothing; a new file is added alone.
    let src = tmp.path().join(table);
    let dst = tmp.path().join("copy");
    for entry in walk(&src) {
        let rel = entry.strip_prefix(&src).expect("under src");
        if rel.starts_with("_delta_log") {
            continue;
        }
        let to = dst.join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&entry, &to).expect("copy");
    }
    let out = meander(&["convert", "copy"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("added 7 files"),
        "{}",
        text(&out.stdout)
    );
    let out = meander(&["convert", "copy"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("added 0 files"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("7 already in the table"),
        "{}",
        text(&out.stdout)
    );
    let info = meander(&["info", "copy", "--json"], tmp.path());
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).expect("json");
    assert_eq!(info["rows"], 3250);
    assert_eq!(info["partition_columns"], serde_json::json!(["ds"]));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn errors_are_one_line_without_panics() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert_clean_failure(&meander(&["info", "nowhere"], tmp.path()), "nowhere");
    std::fs::create_dir(tmp.path().join("empty")).expect("mkdir");
    assert_clean_failure(
        &meander(&["info", "empty"], tmp.path()),
        "not a Delta table",
    );
    assert_clean_failure(
        &meander(&["convert", "empty"], tmp.path()),
        "no Parquet files",
    );
    assert_clean_failure(&meander(&["convert", "missing"], tmp.path()), "missing");
    std::fs::write(tmp.path().join("event.json"), "{not json").expect("write");
    assert_clean_failure(
        &meander(&["invoke", "oxbow", "--event", "event.json"], tmp.path()),
        "not JSON",
    );
    assert_clean_failure(
        &meander(&["invoke", "oxbow", "--event", "absent.json"], tmp.path()),
        "cannot read event file",
    );
    assert_clean_failure(
        &meander(&["invoke", "nosuch", "--event", "event.json"], tmp.path()),
        "unknown function",
    );
    std::fs::write(tmp.path().join("event.json"), "{}").expect("write");
    assert_clean_failure(
        &meander(
            &[
                "invoke",
                "oxbow",
                "--event",
                "event.json",
                "--env",
                "SCHEMA_EVOLUTION=maybe",
            ],
            tmp.path(),
        ),
        "SCHEMA_EVOLUTION",
    );
}
