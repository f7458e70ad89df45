//! A single input that defines, without `export`, functions and data
//! named like C library ones uses its own, read from a file, from
//! standard input, or compiled alone with `-c`: on wasm32 such names are
//! otherwise lowered as the library's (a call adapted to its 32-bit
//! pointer result, `stdout` the library's object). Standard input streams
//! into the compiler, so there a use before the definition is refused
//! with a message rather than compiled as the library's.

use std::io::Write;
use std::process::Stdio;

mod common;

const PROGRAM: &str = include_str!("../../tests/corpus/local_libc_names_results.ssa");
const EXPECTED: &str = "-2147483648 -5 -7 -9\n";

/// The program with `main` first: its uses come before the definitions.
fn uses_first() -> String {
    let text: String = PROGRAM
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let at = text.find("export function w $main").expect("main");
    format!("{}{}", &text[at..], &text[..at])
}

fn compile_stdin(dir: &std::path::Path, text: &str, output: &str) -> std::process::Output {
    let mut child = common::skc()
        .current_dir(dir)
        .args(["--target", "wasm32", "-", "-o", output])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("skc");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("skc")
}

fn run_wasm(path: &std::path::Path) -> String {
    common::validate_wasm(path);
    let out = std::process::Command::new("wasmtime")
        .arg("run")
        .arg(path)
        .output()
        .expect("wasmtime");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_file_s_own_library_names_are_its_own_from_a_file_and_from_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("own.ssa"), PROGRAM).expect("write");
    let out = common::run_in(
        dir.path(),
        &["--target", "wasm32", "own.ssa", "-o", "file.wasm"],
    );
    assert!(out.status.success(), "{}", common::transcript(&out));
    assert_eq!(run_wasm(&dir.path().join("file.wasm")), EXPECTED);

    let out = compile_stdin(dir.path(), PROGRAM, "stdin.wasm");
    assert!(out.status.success(), "{}", common::transcript(&out));
    assert_eq!(run_wasm(&dir.path().join("stdin.wasm")), EXPECTED);

    // Compiled alone, then linked.
    for args in [
        &["--target", "wasm32", "-c", "own.ssa", "-o", "own.o"][..],
        &["--target", "wasm32", "own.o", "-o", "linked.wasm"][..],
    ] {
        let out = common::run_in(dir.path(), args);
        assert!(out.status.success(), "{}", common::transcript(&out));
    }
    assert_eq!(run_wasm(&dir.path().join("linked.wasm")), EXPECTED);
}

#[test]
fn a_use_before_the_definition_is_right_from_a_file_and_refused_from_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("late.ssa"), uses_first()).expect("write");
    let out = common::run_in(
        dir.path(),
        &["--target", "wasm32", "late.ssa", "-o", "late.wasm"],
    );
    assert!(out.status.success(), "{}", common::transcript(&out));
    assert_eq!(run_wasm(&dir.path().join("late.wasm")), EXPECTED);

    let out = compile_stdin(dir.path(), &uses_first(), "refused.wasm");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("is defined without `export` after a use of it"),
        "{stderr}"
    );
    assert!(!dir.path().join("refused.wasm").exists());
}
