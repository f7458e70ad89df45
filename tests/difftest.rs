//! A fixed set of random programs (`skc_tests::generate`, seeds 1 to
//! [`PROGRAMS`]) run by the reference interpreter and built and run
//! natively and on wasm32 at `-O0` and `-O2`: all four must print what
//! the interpreter prints. The programs are built in batches
//! (`skc_tests::batch`); a batch that goes wrong is run again program by
//! program, so that the failure names the seed. Longer searches are by
//! hand: `cargo xtask difftest --seconds N`.

use std::path::Path;

use skc_tests::batch::{self, Member};
use skc_tests::generate::{program, Size};
use skc_tests::pipelines::{self, Outcome, Verdict, PIPELINES};

/// Enough to run every generated construct many times in about a
/// minute on two cores.
const PROGRAMS: u64 = 100;

/// Programs built together.
const BATCH: usize = 25;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn member(seed: u64) -> Result<Member, String> {
    let text = program(seed, Size::default());
    let expected = pipelines::interpret(&text)
        .map_err(|stop| format!("seed {seed}: the interpreter stopped: {stop}"))?;
    Ok(Member {
        seed,
        text,
        expected,
    })
}

/// Why `m` fails alone, if it does.
fn failure_alone(skc: &Path, m: &Member, work: &Path) -> Option<String> {
    let source = work.join(format!("seed-{}.ssa", m.seed));
    std::fs::write(&source, &m.text).expect("write program");
    let results = pipelines::run_all(skc, &source, work);
    match pipelines::verdict_against(&m.expected, &results) {
        Verdict::Agree => None,
        Verdict::Invalid(message) => Some(format!("seed {}: skc rejected it: {message}", m.seed)),
        Verdict::Disagree(odd) => {
            let names: Vec<&str> = odd.iter().map(|&i| PIPELINES[i].name).collect();
            Some(format!(
                "seed {}: {} disagree(s) (`cargo xtask difftest --programs 1 --seed {}` \
                 keeps and reduces it)\n{}",
                m.seed,
                names.join(", "),
                m.seed,
                pipelines::report(&Ok(m.expected.clone()), &results)
            ))
        }
    }
}

#[test]
fn every_pipeline_prints_the_same_for_generated_programs() {
    let skc = skc_tests::skc_binary::locate(&root()).expect("skc");
    let work = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let mut members = Vec::new();
    for seed in 1..=PROGRAMS {
        match member(seed) {
            Ok(m) => members.push(m),
            Err(stop) => failures.push(stop),
        }
    }
    for group in members.chunks(BATCH) {
        if batch::agrees(&skc, group, Size::default(), work.path()).expect("write batch") {
            continue;
        }
        let alone: Vec<String> = group
            .iter()
            .filter_map(|m| failure_alone(&skc, m, work.path()))
            .collect();
        if alone.is_empty() {
            failures.push(format!(
                "seeds {}..={}: each right alone, wrong built together",
                group[0].seed,
                group[group.len() - 1].seed
            ));
        }
        failures.extend(alone);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The batch check can fail: a member whose expected output is not what
/// it prints makes the whole batch disagree on every pipeline.
#[test]
fn a_batch_with_one_wrong_expectation_disagrees() {
    let skc = skc_tests::skc_binary::locate(&root()).expect("skc");
    let work = tempfile::tempdir().expect("tempdir");
    let mut members: Vec<Member> = (1..=3).map(|s| member(s).expect("runs")).collect();
    assert!(batch::agrees(&skc, &members, Size::default(), work.path()).expect("batch"));
    let Outcome::Ran { stdout, .. } = &mut members[1].expected else {
        panic!("the interpreter ran it");
    };
    stdout.push_str("0000000000000000\n");
    assert!(!batch::agrees(&skc, &members, Size::default(), work.path()).expect("batch"));
}
