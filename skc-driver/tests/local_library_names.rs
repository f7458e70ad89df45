//! A single input that defines, without `export`, functions and data
//! named like C library ones uses its own, read from a file, from
//! standard input, or compiled alone with `-c`: on wasm32 such names are
//! otherwise lowered as the library's (a call adapted to its 32-bit
//! pointer result, `stdout` the library's object).

use std::io::Write;
use std::process::Stdio;

mod common;

const PROGRAM: &str = include_str!("../../tests/corpus/local_libc_names_results.ssa");
const EXPECTED: &str = "-2147483648 -5 -7 -9\n";

fn run_wasm(path: &std::path::Path) -> String {
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

    let mut child = common::skc()
        .current_dir(dir.path())
        .args(["--target", "wasm32", "-", "-o", "stdin.wasm"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("skc");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(PROGRAM.as_bytes())
        .expect("write stdin");
    assert!(child.wait().expect("skc").success());
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
