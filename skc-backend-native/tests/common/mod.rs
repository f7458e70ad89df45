//! Shared helpers: lower IL text to LLVM IR, build it with real clang
//! together with C drivers, run the program.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use skc_backend_native::dialect::Dialect;
use skc_ir::reader::{read_module, ModuleSource};

/// The clang used to check the output: `$SKC_CLANG`, else `clang-19`,
/// else `clang` from `PATH`.
pub fn clang() -> PathBuf {
    if let Some(p) = std::env::var_os("SKC_CLANG") {
        return PathBuf::from(p);
    }
    for name in ["clang-19", "clang"] {
        if Command::new(name).arg("--version").output().is_ok() {
            return PathBuf::from(name);
        }
    }
    panic!("these tests need clang (set SKC_CLANG or put clang-19 on PATH)");
}

/// Lowers IL text to LLVM IR text.
pub fn lower(il: &str, debug: bool) -> String {
    lower_for(il, debug, Dialect::NEWEST)
}

/// Lowers IL text to LLVM IR text for the clang of `dialect`.
pub fn lower_for(il: &str, debug: bool, dialect: Dialect) -> String {
    let module = read_module(il, "test.ssa").unwrap_or_else(|e| panic!("IL does not parse:\n{e}"));
    let mut src = ModuleSource::new(module);
    skc_backend_native::emit::module_to_string(&mut src, debug, true, dialect)
        .expect("lowering failed")
}

/// Builds `il` (plus C sources) with clang at `opt` into `dir/name`.
pub fn build(
    dir: &Path,
    name: &str,
    il: &str,
    c_sources: &[&str],
    opt: &str,
    debug: bool,
) -> PathBuf {
    let ll = dir.join(format!("{name}.ll"));
    std::fs::write(&ll, lower(il, debug)).unwrap();
    let mut cmd = Command::new(clang());
    cmd.arg(opt).arg("-ffp-contract=off").arg("-w");
    if debug {
        cmd.arg("-g");
    }
    cmd.arg("-x").arg("ir").arg(&ll).arg("-x").arg("none");
    for (i, c) in c_sources.iter().enumerate() {
        let path = dir.join(format!("{name}_driver{i}.c"));
        std::fs::write(&path, c).unwrap();
        cmd.arg(&path);
    }
    let exe = dir.join(name);
    cmd.arg("-o").arg(&exe);
    let out = cmd.output().expect("running clang");
    assert!(
        out.status.success(),
        "clang failed on {}:\n{}",
        ll.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Runs a program and returns its stdout (asserting exit status 0).
pub fn run(exe: &Path, args: &[&str]) -> String {
    let out = Command::new(exe)
        .args(args)
        .output()
        .expect("running the test program");
    assert!(
        out.status.success(),
        "{} exited with {:?}; stderr:\n{}",
        exe.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Builds at -O0 and -O2 and checks both outputs equal `expected`.
pub fn check_both(name: &str, il: &str, c_sources: &[&str], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    for opt in ["-O0", "-O2"] {
        let exe = build(
            dir.path(),
            &format!("{name}{}", &opt[1..]),
            il,
            c_sources,
            opt,
            false,
        );
        let got = run(&exe, &[]);
        assert_eq!(got, expected, "{name} at {opt}");
    }
}
