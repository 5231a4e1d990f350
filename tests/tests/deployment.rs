//! deployment/ (Terraform modules and examples) checked offline by
//! tests/py/check_deployment.py: every .tf parses and is `terraform fmt`
//! canonical, `terraform validate` passes where a local provider mirror
//! exists, checkov finds nothing but in-code skips with reasons, no IAM
//! statement has a `*` action or resource, the functions and their triggers
//! are wired as documented, every function crate has a module whose
//! environment is exactly the keys its function documents, and the READMEs'
//! variable and output tables are current. Needs `MEANDER_PYTHON` with the
//! packages of tests/py/requirements.txt (scripts/test.sh provides it).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn deployment_modules_pass_the_offline_checks() {
    let python = meander_e2e::moto::python();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf();
    let script = root.join("tests/py/check_deployment.py");
    let output = Command::new(&python)
        .arg(&script)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", python.display(), script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    if !stderr.trim().is_empty() {
        eprintln!("{stderr}");
    }
    assert!(
        output.status.success(),
        "tests/py/check_deployment.py failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}
