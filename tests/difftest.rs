//! A fixed set of random programs (`skc_tests::generate`, seeds 1 to
//! [`PROGRAMS`]) run by the reference interpreter and built and run
//! natively and on wasm32 at `-O0` and `-O2`: all four must print what
//! the interpreter prints. Longer searches are by hand: `cargo xtask
//! difftest --seconds N`.

use skc_tests::generate::{program, Size};
use skc_tests::pipelines::{self, Verdict, PIPELINES};

/// Enough to run every generated construct many times in about a
/// minute on two cores.
const PROGRAMS: u64 = 40;

#[test]
fn every_pipeline_prints_the_same_for_generated_programs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let skc = skc_tests::skc_binary::locate(&root).expect("skc");
    let work = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for seed in 1..=PROGRAMS {
        let text = program(seed, Size::default());
        let source = work.path().join(format!("seed-{seed}.ssa"));
        std::fs::write(&source, &text).expect("write program");
        let reference = pipelines::interpret(&text);
        let results = pipelines::run_all(&skc, &source, work.path());
        let Ok(expected) = &reference else {
            failures.push(format!(
                "seed {seed}: the interpreter stopped: {}",
                reference.as_ref().err().map_or("", String::as_str)
            ));
            continue;
        };
        match pipelines::verdict_against(expected, &results) {
            Verdict::Agree => {}
            Verdict::Invalid(message) => {
                failures.push(format!("seed {seed}: skc rejected it: {message}"))
            }
            Verdict::Disagree(odd) => {
                let names: Vec<&str> = odd.iter().map(|&i| PIPELINES[i].name).collect();
                failures.push(format!(
                    "seed {seed}: {} disagree(s) (`cargo xtask difftest --programs 1 --seed {seed}` keeps it)\n{}",
                    names.join(", "),
                    pipelines::report(&reference, &results)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
