//! Snapshots of what users see: help, target list and error messages.

mod common;

use common::{run_in, transcript, RETURN_ZERO};

fn snapshot_of(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("prog.ssa"), RETURN_ZERO).expect("write");
    transcript(&run_in(dir.path(), args))
}

#[test]
fn help() {
    insta::assert_snapshot!(snapshot_of(&["--help"]));
}

#[test]
fn print_targets() {
    insta::assert_snapshot!(snapshot_of(&["--print-targets"]));
}

#[test]
fn unknown_target() {
    insta::assert_snapshot!(snapshot_of(&["--target", "riscv64", "prog.ssa"]));
}

#[test]
fn bad_flag() {
    insta::assert_snapshot!(snapshot_of(&["--frobnicate", "prog.ssa"]));
}

#[test]
fn unreadable_input() {
    insta::assert_snapshot!(snapshot_of(&["missing.ssa", "-o", "prog"]));
}

#[test]
fn no_input() {
    insta::assert_snapshot!(snapshot_of(&[]));
}

#[test]
fn unknown_input_kind() {
    insta::assert_snapshot!(snapshot_of(&["notes.txt"]));
}

#[test]
fn warning_flags_are_refused() {
    insta::assert_snapshot!(snapshot_of(&["-Wall", "prog.ssa"]));
}

#[test]
fn missing_tool() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("prog.ssa"), RETURN_ZERO).expect("write");
    let empty_path = dir.path().join("no-tools");
    std::fs::create_dir(&empty_path).expect("mkdir");
    let output = common::skc()
        .current_dir(dir.path())
        .env("PATH", &empty_path)
        .args(["prog.ssa", "-o", "prog"])
        .output()
        .expect("skc runs");
    insta::assert_snapshot!(transcript(&output));
}

#[test]
fn il_syntax_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("bad.ssa"),
        "export function w $main() {\n@start\n\tret 0,\n}\n",
    )
    .expect("write");
    let output = run_in(dir.path(), &["bad.ssa", "-o", "prog"]);
    assert!(
        !dir.path().join("prog").exists(),
        "no output after an error"
    );
    insta::assert_snapshot!(transcript(&output));
}
