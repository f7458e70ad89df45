//! Turning a program some pipeline gets wrong into a small corpus
//! program: delta-reduce it (`skc_tests::reduce`) while that pipeline
//! still disagrees with the interpreter in the same way, then write it
//! with the interpreter's output as its expectation.

use std::path::{Path, PathBuf};

use anyhow::Context;
use skc_tests::pipelines::{self, Outcome, Pipeline};
use skc_tests::reduce;

/// Does `got` go wrong the way `original` did, against `reference`? A
/// build failure stays a build failure; a run that ended as the reference
/// did keeps ending so but prints something else; a crash or timeout
/// stays the same crash or timeout.
fn same_fault(original: &Outcome, got: &Outcome, reference: &Outcome) -> bool {
    if got == reference {
        return false;
    }
    match (original, got, reference) {
        (Outcome::BuildFailed(_), Outcome::BuildFailed(_), _) => true,
        (
            Outcome::Ran { status: was, .. },
            Outcome::Ran { status: is, .. },
            Outcome::Ran {
                status: expected, ..
            },
        ) => {
            if was == expected {
                is == expected
            } else {
                is == was
            }
        }
        _ => false,
    }
}

/// Reduces `text`, on which `pipeline` gave `original`, and writes it as
/// `name.min.ssa` in `out`.
pub fn minimise(
    skc: &Path,
    pipeline: &Pipeline,
    original: &Outcome,
    text: &str,
    name: &str,
    work: &Path,
    out: &Path,
) -> anyhow::Result<PathBuf> {
    let source = work.join("candidate.ssa");
    // Comments outside functions (a corpus program's expectations) go.
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let text = text.as_str();
    let mut candidates = 0u32;
    let reduced = reduce::reduce(text, |candidate| {
        candidates += 1;
        let Ok(reference) = pipelines::interpret(candidate) else {
            return false;
        };
        if std::fs::write(&source, candidate).is_err() {
            return false;
        }
        let got = pipelines::run_pipeline(skc, pipeline, &[source.as_path()], work);
        same_fault(original, &got, &reference)
    });
    let reference = pipelines::interpret(&reduced)
        .map_err(|stop| anyhow::anyhow!("the reduced program no longer runs: {stop}"))?;
    std::fs::write(&source, &reduced)?;
    let got = pipelines::run_pipeline(skc, pipeline, &[source.as_path()], work);
    let path = out.join(format!("{name}.min.ssa"));
    std::fs::write(&path, corpus_program(&reduced, pipeline, &reference, &got))
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "{name}: reduced from {} to {} lines in {candidates} candidates: {}",
        text.lines().count(),
        reduced.lines().count(),
        path.display()
    );
    Ok(path)
}

/// The program with its expectations in the corpus format (see
/// `skc_tests::case`), and what the pipeline did instead in a comment.
fn corpus_program(text: &str, pipeline: &Pipeline, reference: &Outcome, got: &Outcome) -> String {
    let mut head = format!(
        "# A difftest program, reduced: {} did not do what the reference\n\
         # interpreter does. It did:\n",
        pipeline.name
    );
    let did = match got {
        Outcome::BuildFailed(m) => format!("build failed: {}", m.trim()),
        Outcome::Ran { status, stdout } => format!("{status}\n{stdout}"),
    };
    for line in did.lines() {
        head.push_str(&format!("#   | {line}\n"));
    }
    if let Outcome::Ran { status, stdout } = reference {
        if let Some(code) = status.strip_prefix("exit ").filter(|c| *c != "0") {
            head.push_str(&format!("# exit: {code}\n"));
        }
        head.push_str("# >>> output\n");
        for line in stdout.lines() {
            if line.is_empty() {
                head.push_str("#\n");
            } else {
                head.push_str(&format!("# {line}\n"));
            }
        }
        head.push_str("# <<<\n");
    }
    head + text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(status: &str, stdout: &str) -> Outcome {
        Outcome::Ran {
            status: status.into(),
            stdout: stdout.into(),
        }
    }

    #[test]
    fn a_wrong_output_must_stay_a_wrong_output() {
        let reference = ran("exit 0", "1\n");
        let original = ran("exit 0", "2\n");
        assert!(same_fault(&original, &ran("exit 0", "3\n"), &reference));
        assert!(!same_fault(&original, &ran("exit 0", "1\n"), &reference));
        assert!(!same_fault(&original, &ran("signal 11", ""), &reference));
        assert!(!same_fault(
            &original,
            &Outcome::BuildFailed("x".into()),
            &reference
        ));
    }

    #[test]
    fn a_crash_must_stay_the_same_crash() {
        let reference = ran("exit 0", "1\n");
        let original = ran("signal 11", "");
        assert!(same_fault(&original, &ran("signal 11", "1\n"), &reference));
        assert!(!same_fault(&original, &ran("signal 6", ""), &reference));
        assert!(!same_fault(&original, &ran("exit 0", "2\n"), &reference));
    }

    #[test]
    fn the_corpus_program_expects_the_interpreter_s_outcome() {
        let text = corpus_program(
            "export function w $main() {\n@start\n\tret 3\n}\n",
            &pipelines::PIPELINES[1],
            &ran("exit 3", "a\n\nb\n"),
            &ran("exit 3", "a\n"),
        );
        let expected = skc_tests::case::parse(&text).expect("a corpus program");
        assert_eq!(expected.output, "a\n\nb\n");
        assert_eq!(
            expected.exit,
            skc_tests::case::ExpectedExit::Code(3),
            "{text}"
        );
    }
}
