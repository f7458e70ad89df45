//! Switch recovery end to end: IL functions shaped like a C front end's
//! `switch` (1, 2, 3, 64 and 300 cases; dense and sparse; signed and
//! unsigned order; `w`, `l` and the low word of an `l`; cases returning
//! directly or meeting in phis), called from C with every value in and
//! around each case and at the edges of the width, natively and on wasm32
//! at `-O0` and `-O2`. The expected output is computed from the case
//! tables (`skc_tests::switch_trees`), not by any build.

use std::path::Path;
use std::process::Command;

use skc_tests::pipelines::{self, Outcome, PIPELINES};
use skc_tests::switch_trees::{driver, expected_output, standard_specs};

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn write_program(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, usize, String) {
    let specs = standard_specs();
    let il: String = specs.iter().map(|s| s.il()).collect();
    let (ssa, c) = (dir.join("switches.ssa"), dir.join("driver.c"));
    std::fs::write(&ssa, il).expect("write IL");
    std::fs::write(&c, driver(&specs)).expect("write driver");
    (ssa, c, specs.len(), expected_output(&specs))
}

/// Runs an skc command that must succeed; its standard output.
fn run_skc(command: &mut Command) -> Vec<u8> {
    let out = command.output().expect("run skc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn every_tree_becomes_one_llvm_switch() {
    let skc = skc_tests::skc_binary::locate(&root()).expect("skc");
    let work = tempfile::tempdir().expect("tempdir");
    let (ssa, _, functions, _) = write_program(work.path());
    for opt in ["-O0", "-O2"] {
        let out = run_skc(
            Command::new(&skc)
                .args(["--emit=llvm", opt])
                .arg(&ssa)
                .args(["-o", "-"]),
        );
        let text = String::from_utf8_lossy(&out);
        let switches = text
            .lines()
            .filter(|l| l.trim_start().starts_with("switch "))
            .count();
        let compares = text.lines().filter(|l| l.contains(" = icmp ")).count();
        assert_eq!(switches, functions, "one switch per function at {opt}");
        // Only the head's test is left (dead, for LLVM to drop).
        assert_eq!(compares, functions, "the trees' tests are gone at {opt}");
    }
}

/// `br_table` instructions in the wasm object skc writes for `ssa`.
fn tables_in_wasm_object(skc: &Path, ssa: &Path, opt: &str, dir: &Path) -> usize {
    let obj = dir.join(format!("switches{opt}.o"));
    run_skc(
        Command::new(skc)
            .args(["--target", "wasm32", "-c", opt])
            .arg(ssa)
            .arg("-o")
            .arg(&obj),
    );
    let bytes = std::fs::read(&obj).expect("read object");
    let mut tables = 0;
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let wasmparser::Payload::CodeSectionEntry(body) = payload.expect("a readable object") {
            let mut ops = body.get_operators_reader().expect("operators");
            while !ops.eof() {
                if let wasmparser::Operator::BrTable { .. } = ops.read().expect("an operator") {
                    tables += 1;
                }
            }
        }
    }
    tables
}

#[test]
fn dense_switches_become_one_br_table_on_wasm32() {
    let skc = skc_tests::skc_binary::locate(&root()).expect("skc");
    let work = tempfile::tempdir().expect("tempdir");
    let (ssa, _, _, _) = write_program(work.path());
    // Dense runs of 64 and 300 cases; sparse ones and those of fewer
    // than four cases stay comparisons.
    let dense = standard_specs()
        .iter()
        .filter(|s| s.cases.len() >= 4 && s.name.contains("_dense_"))
        .count();
    assert_eq!(dense, 12);
    for opt in ["-O0", "-O2"] {
        assert_eq!(
            tables_in_wasm_object(&skc, &ssa, opt, work.path()),
            dense,
            "at {opt}"
        );
    }
}

#[test]
fn switches_go_where_their_trees_went_for_every_value() {
    let skc = skc_tests::skc_binary::locate(&root()).expect("skc");
    let work = tempfile::tempdir().expect("tempdir");
    let (ssa, c, _, expected) = write_program(work.path());
    let mut failures = Vec::new();
    for p in &PIPELINES {
        let outcome = pipelines::run_pipeline(&skc, p, &[&ssa, &c], work.path());
        if p.target == "wasm32" {
            let module = work.path().join(format!("{}.wasm", p.name));
            if let Ok(bytes) = std::fs::read(&module) {
                if let Err(e) = wasmparser::Validator::new().validate_all(&bytes) {
                    failures.push(format!("{}: invalid module: {e}", p.name));
                }
            }
        }
        match outcome {
            Outcome::Ran { status, stdout } if status == "exit 0" && stdout == expected => {}
            Outcome::Ran { status, stdout } => {
                let diff = skc_tests::diff::describe(&expected, &stdout).unwrap_or_default();
                failures.push(format!("{}: {status}\n{diff}", p.name));
            }
            Outcome::BuildFailed(m) => failures.push(format!("{}: build failed: {m}", p.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
