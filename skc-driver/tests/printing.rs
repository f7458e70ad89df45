//! `-###` and `--print-link-plan=json`: printed plans that really build.

mod common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{skc, RETURN_42};
use skc_ir::plan::PlanDescription;

/// A directory holding `prog.ssa` (main returns 42).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("prog.ssa"), RETURN_42).expect("write program");
    dir
}

/// An output name that needs every kind of quoting: a space, a quote, a
/// leading dash and a byte that is not UTF-8.
fn awkward_name() -> OsString {
    OsString::from_vec(b"-it's a \xff prog".to_vec())
}

#[test]
fn shell_commands_reproduce_the_native_build() {
    let dir = workspace();
    let printed = skc()
        .current_dir(dir.path())
        .env("TMPDIR", dir.path())
        .arg("-###")
        .arg("prog.ssa")
        .arg("-o")
        .arg(awkward_name())
        .output()
        .expect("skc runs");
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let program = dir.path().join(awkward_name());
    assert!(!program.exists(), "-### runs nothing");

    let mut shell = Command::new("sh")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh starts");
    use std::io::Write;
    shell
        .stdin
        .take()
        .expect("stdin")
        .write_all(&printed.stdout)
        .expect("feed sh");
    assert!(shell.wait().expect("sh ends").success());
    let status = Command::new(&program).status().expect("the program runs");
    assert_eq!(status.code(), Some(42));
}

#[test]
fn json_plan_reads_back_exactly() {
    let dir = workspace();
    let printed = skc()
        .current_dir(dir.path())
        .env("TMPDIR", dir.path())
        .arg("--print-link-plan=json")
        .arg("prog.ssa")
        .arg("-o")
        .arg(awkward_name())
        .output()
        .expect("skc runs");
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let text = String::from_utf8(printed.stdout).expect("JSON is UTF-8");
    let plan = PlanDescription::from_json(&text).expect("valid plan");
    assert_eq!(plan.to_json(), text.trim_end());
    let step = &plan.steps[0];
    let args: Vec<OsString> = step.args.iter().map(|a| a.to_os_string()).collect();
    assert!(
        args.contains(&PathBuf::from("./").join(awkward_name()).into_os_string()),
        "{text}"
    );
}
