//! Helpers shared by the driver's integration tests.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `skc` binary under test.
pub fn skc() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_skc"));
    // Tests must not pick up the developer's tool choices.
    for var in [
        "SKC_CLANG",
        "SKC_WASM_LD",
        "SKC_WASM_OPT",
        "WASI_SYSROOT",
        "NO_COLOR",
    ] {
        command.env_remove(var);
    }
    command.env("NO_COLOR", "1");
    // The tests' fake tools and runtime builds stay out of the user's
    // cache; the tests share one.
    command.env(
        "XDG_CACHE_HOME",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/cache"),
    );
    command
}

/// Runs `skc ARGS` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    skc()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("skc runs")
}

/// stdout and stderr as text, with the exit code, for snapshots.
pub fn transcript(output: &Output) -> String {
    format!(
        "exit code: {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Writes an executable shell script named `name` in `dir`.
pub fn write_script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Every entry of `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .collect();
    all.sort();
    all
}

/// Whether `path`'s file name is `name`.
pub fn named(path: &Path, name: &str) -> bool {
    path.file_name() == Some(OsStr::new(name))
}

/// A tiny valid IL program: `main` returns 0.
pub const RETURN_ZERO: &str = "export function w $main() {\n@start\n\tret 0\n}\n";

/// An IL program whose `main` returns 42.
pub const RETURN_42: &str = "export function w $main() {\n@start\n\tret 42\n}\n";

/// Panics unless the file at `path` is a valid wasm module.
pub fn validate_wasm(path: &Path) {
    let bytes = std::fs::read(path).expect("read the wasm output");
    if let Err(error) = wasmparser::Validator::new().validate_all(&bytes) {
        panic!("{} is not valid wasm: {error}", path.display());
    }
}
