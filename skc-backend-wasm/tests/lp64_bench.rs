//! The benchmark set's cproc IL (LP64: 8-byte pointers, `l` argv, printf
//! with `l` pointers) runs unchanged on wasm32 through the LP64 call
//! adaptation and runtime, printing the same line as natively.

mod common;

use std::path::PathBuf;

use skc_ir::backend::OptLevel;

fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench")
}

/// The test-size argument of `name` from `sizes.txt`.
fn test_size(name: &str) -> String {
    let sizes = std::fs::read_to_string(bench_dir().join("sizes.txt")).expect("sizes.txt");
    sizes
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name))
        .and_then(|f| f.get(1).map(|s| s.to_string()))
        .unwrap_or_else(|| panic!("{name} not in sizes.txt"))
}

fn run_bench(name: &str) {
    let dir = bench_dir();
    let il = std::fs::read_to_string(dir.join(format!("{name}.ssa"))).expect("bench IL");
    let expected =
        std::fs::read_to_string(dir.join(format!("{name}.expected.test"))).expect("expected");
    let obj = common::compile_il(&il, name);
    let size = test_size(name);
    for opt in [OptLevel::O0, OptLevel::O2] {
        let module = common::link(&obj, &format!("lp64-{name}-{opt:?}"), &[], opt);
        common::validate(&std::fs::read(&module).expect("module"));
        let run = common::run_wasmtime(&module, &[&size]);
        assert_eq!(run.stdout, expected, "stdout of {name} at {opt:?}");
        assert_eq!(run.code, 0, "exit code of {name} at {opt:?}");
    }
}

#[test]
fn floyd() {
    run_bench("floyd");
}

#[test]
fn stencil() {
    run_bench("stencil");
}

#[test]
fn fft() {
    run_bench("fft");
}

#[test]
fn bf() {
    run_bench("bf");
}

#[test]
fn nqueens() {
    run_bench("nqueens");
}

#[test]
fn levenshtein() {
    run_bench("levenshtein");
}

#[test]
fn base64() {
    run_bench("base64");
}

#[test]
fn kvsort() {
    run_bench("kvsort");
}
