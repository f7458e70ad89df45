//! Turning a program some pipeline gets wrong into a small corpus
//! program: delta-reduce it (`skc_tests::reduce`) while that pipeline
//! still disagrees with the interpreter in the same way, then write it
//! with the interpreter's output as its expectation.

use std::path::{Path, PathBuf};

use anyhow::Context;
use skc_tests::pipelines::{self, Outcome, Pipeline};

/// What builds and runs the candidates.
pub enum Builder<'a> {
    /// skc, the way one pipeline does.
    Skc(&'a Path, &'a Pipeline),
    /// QBE at this path, then `cc`.
    Qbe(&'a Path),
}

impl Builder<'_> {
    fn run(&self, source: &Path, work: &Path) -> Outcome {
        match self {
            Builder::Skc(skc, p) => pipelines::run_pipeline(skc, p, &[source], work),
            Builder::Qbe(qbe) => pipelines::run_qbe(qbe, source, work),
        }
    }

    fn name(&self) -> &str {
        match self {
            Builder::Skc(_, p) => p.name,
            Builder::Qbe(_) => "qbe",
        }
    }
}
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
        (Outcome::BuildFailed(was), Outcome::BuildFailed(is), _) => {
            failure_kind(was) == failure_kind(is)
        }
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

/// The words of a build failure's first error line without paths or
/// numbers: the same kind of failure keeps them as the program shrinks.
fn failure_kind(message: &str) -> Vec<&str> {
    let line = message
        .lines()
        .find(|l| l.contains("rror"))
        .or_else(|| message.lines().next())
        .unwrap_or("");
    line.split_whitespace()
        .filter(|w| !w.contains('/') && !w.contains(|c: char| c.is_ascii_digit()))
        .collect()
}

/// Reduces `text`, on which `pipeline` gave `original`, and writes it as
/// `name.min.ssa` in `out`.
pub fn minimise(
    builder: &Builder,
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
        let got = builder.run(&source, work);
        same_fault(original, &got, &reference)
    });
    let reference = pipelines::interpret(&reduced)
        .map_err(|stop| anyhow::anyhow!("the reduced program no longer runs: {stop}"))?;
    std::fs::write(&source, &reduced)?;
    let got = builder.run(&source, work);
    let path = out.join(format!("{name}.min.ssa"));
    std::fs::write(
        &path,
        corpus_program(&reduced, builder.name(), &reference, &got),
    )
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
fn corpus_program(text: &str, builder: &str, reference: &Outcome, got: &Outcome) -> String {
    let mut head = format!(
        "# A difftest program, reduced: {builder} did not do what the reference\n\
         # interpreter does. It did:\n"
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
    fn a_build_failure_must_stay_the_same_failure() {
        let reference = ran("exit 0", "");
        let original = Outcome::BuildFailed(
            "qbe.s: Assembler messages:\n/tmp/a/qbe.s:330: Error: operand type mismatch for `shl'"
                .into(),
        );
        let same = Outcome::BuildFailed(
            "qbe.s: Assembler messages:\n/tmp/b/qbe.s:12: Error: operand type mismatch for `shl'"
                .into(),
        );
        let other = Outcome::BuildFailed("cc: undefined reference to `v1'".into());
        assert!(same_fault(&original, &same, &reference));
        assert!(!same_fault(&original, &other, &reference));
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
            pipelines::PIPELINES[1].name,
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
