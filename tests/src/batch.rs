//! Many generated programs built and run as one: each program's `main`
//! renamed (`generate::program_with_entry`), one file each, and a driver
//! file whose `main` calls them in turn between separators.
//!
//! Building costs mostly the start of clang, wasm-ld, wasm-opt and
//! wasmtime, not the size of the code, so one build for 25 programs is
//! about six times cheaper per program than 25 builds. A batch whose
//! outcome differs from the one its programs' reference outcomes predict
//! says only that something is wrong in it: the caller runs its programs
//! one by one to find which (or finds none, and then the fault is in
//! building them together, which is a bug too).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::generate::{self, Size};
use crate::pipelines::{self, Outcome};

/// A program of the batch: its seed, its text as a standalone program,
/// and what the interpreter made of it.
pub struct Member {
    /// The generator's seed.
    pub seed: u64,
    /// The program with its own `main`, for running it alone.
    pub text: String,
    /// The reference outcome.
    pub expected: Outcome,
}

/// The entry the `index`th program of a batch gets instead of `main`.
fn entry(index: usize) -> String {
    format!("difftest_program_{index}")
}

/// Writes the batch's files into `work`: the driver first, then one file
/// per member.
pub fn write(members: &[Member], size: Size, work: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut driver = String::from(
        "data $difftest_begin = { b \"=== %d\\n\", b 0 }\n\
         data $difftest_end = { b \"--- exit %d\\n\", b 0 }\n\
         export function w $main() {\n@start\n",
    );
    for i in 0..members.len() {
        let _ = write!(
            driver,
            "\tcall $printf(l $difftest_begin, ..., w {i})\n\
             \t%r{i} =w call ${}()\n\
             \t%s{i} =w and %r{i}, 255\n\
             \tcall $printf(l $difftest_end, ..., w %s{i})\n",
            entry(i)
        );
    }
    driver.push_str("\tret 0\n}\n");
    let mut files = vec![work.join("batch-main.ssa")];
    std::fs::write(&files[0], driver)?;
    for (i, m) in members.iter().enumerate() {
        let path = work.join(format!("batch-{i}.ssa"));
        std::fs::write(&path, generate::program_with_entry(m.seed, size, &entry(i)))?;
        files.push(path);
    }
    Ok(files)
}

/// What the batch must print and how it must end, if every member
/// behaves as the interpreter says.
pub fn expected(members: &[Member]) -> Outcome {
    let mut stdout = String::new();
    for (i, m) in members.iter().enumerate() {
        let Outcome::Ran {
            status,
            stdout: out,
        } = &m.expected
        else {
            unreachable!("members are programs the interpreter ran");
        };
        let code = status.strip_prefix("exit ").unwrap_or(status);
        let _ = write!(stdout, "=== {i}\n{out}--- exit {code}\n");
    }
    Outcome::Ran {
        status: "exit 0".into(),
        stdout,
    }
}

/// Builds and runs the batch through every pipeline: the outcome each
/// gave, in the order of [`pipelines::PIPELINES`], and the one expected.
pub fn run(
    skc: &Path,
    members: &[Member],
    size: Size,
    work: &Path,
) -> std::io::Result<(Outcome, Vec<Outcome>)> {
    let files = write(members, size, work)?;
    let sources: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    Ok((
        expected(members),
        pipelines::run_all_files(skc, &sources, work),
    ))
}

/// Builds and runs the batch through every pipeline: `true` when every
/// pipeline gives the expected outcome.
pub fn agrees(skc: &Path, members: &[Member], size: Size, work: &Path) -> std::io::Result<bool> {
    let (expected, results) = run(skc, members, size, work)?;
    Ok(results.iter().all(|r| *r == expected))
}
