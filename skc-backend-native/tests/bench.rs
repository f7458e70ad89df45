//! The benchmark programs (cproc's IL for eight C programs) compiled through
//! the backend and clang at -O0 and -O2 print the expected test-size output.

mod common;

use std::path::PathBuf;

fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench")
}

/// `(name, test argument)` from `sizes.txt`.
fn programs() -> Vec<(String, String)> {
    let sizes = std::fs::read_to_string(bench_dir().join("sizes.txt"))
        .expect("the benchmark set (../shared/bench from the repo root) is missing");
    sizes
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut w = l.split_whitespace();
            (w.next().unwrap().to_string(), w.next().unwrap().to_string())
        })
        .collect()
}

#[test]
fn bench_programs_print_the_expected_output() {
    let dir = tempfile::tempdir().unwrap();
    let progs = programs();
    assert_eq!(progs.len(), 8);
    for (name, arg) in progs {
        let il = std::fs::read_to_string(bench_dir().join(format!("{name}.ssa"))).unwrap();
        let expected =
            std::fs::read_to_string(bench_dir().join(format!("{name}.expected.test"))).unwrap();
        for opt in ["-O0", "-O2"] {
            let exe = common::build(
                dir.path(),
                &format!("{name}{}", &opt[1..]),
                &il,
                &[],
                opt,
                false,
            );
            assert_eq!(common::run(&exe, &[&arg]), expected, "{name} at {opt}");
        }
    }
}
