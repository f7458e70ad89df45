//! Building and running one IL program the four ways skc can (native and
//! wasm32, `-O0` and `-O2`) and under the reference interpreter
//! (`skc_ir::interpreter`), and telling whether they agree: the core of
//! `cargo xtask difftest` and of the `difftest` test.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// One way of building and running a program.
pub struct Pipeline {
    /// `native-O0`, ...
    pub name: &'static str,
    /// `--target`.
    pub target: &'static str,
    /// The `-O` flag.
    pub opt: &'static str,
}

/// Every pipeline, in the order outcomes are given.
pub const PIPELINES: [Pipeline; 4] = [
    Pipeline {
        name: "native-O0",
        target: "native",
        opt: "-O0",
    },
    Pipeline {
        name: "native-O2",
        target: "native",
        opt: "-O2",
    },
    Pipeline {
        name: "wasm32-O0",
        target: "wasm32",
        opt: "-O0",
    },
    Pipeline {
        name: "wasm32-O2",
        target: "wasm32",
        opt: "-O2",
    },
];

/// How long a program may run.
const RUN_TIMEOUT: Duration = Duration::from_secs(20);

/// What one pipeline did with a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// skc refused or failed to build it.
    BuildFailed(String),
    /// It ran: exit status (or a signal/trap description) and stdout.
    Ran {
        /// `exit N`, `signal N` or `timeout`.
        status: String,
        /// What it printed.
        stdout: String,
    },
}

/// What the outcomes of one program say.
pub enum Verdict {
    /// Every pipeline gave the same outcome.
    Agree,
    /// skc rejected a program the generator believes valid.
    Invalid(String),
    /// The pipelines (indices) that differ from the most common outcome.
    Disagree(Vec<usize>),
}

/// What the reference interpreter makes of the program: the outcome every
/// pipeline must match, or why there is none (`Err`: the program reaches
/// undefined behaviour, uses what the interpreter lacks, or ends with a
/// status WASI cannot give).
pub fn interpret(text: &str) -> Result<Outcome, String> {
    use skc_ir::interpreter::{run_to_exit, Limits};
    let module = skc_ir::reader::read_module(text, "program.ssa")?;
    let mut stdout = Vec::new();
    let limits = Limits {
        steps: 50_000_000,
        ..Limits::default()
    };
    let status = run_to_exit(&module, &[], &mut stdout, limits).map_err(|stop| stop.to_string())?;
    if !(0..=125).contains(&status) {
        return Err(format!(
            "exit status {status}: WASI runtimes refuse statuses outside 0..=125, where a \
             process keeps the low 8 bits, so the targets cannot agree"
        ));
    }
    Ok(Outcome::Ran {
        status: format!("exit {status}"),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
    })
}

/// The verdict on the outcomes of [`PIPELINES`] against the reference
/// outcome, when there is one.
pub fn verdict_against(reference: &Outcome, results: &[Outcome]) -> Verdict {
    if results.iter().all(|r| matches!(r, Outcome::BuildFailed(_))) {
        if let Some(Outcome::BuildFailed(m)) = results.first() {
            return Verdict::Invalid(m.clone());
        }
    }
    let odd: Vec<usize> = (0..results.len())
        .filter(|&i| &results[i] != reference)
        .collect();
    if odd.is_empty() {
        Verdict::Agree
    } else {
        Verdict::Disagree(odd)
    }
}

/// The verdict on the outcomes of [`PIPELINES`] alone: those differing
/// from the most common outcome are the odd ones.
pub fn verdict(results: &[Outcome]) -> Verdict {
    if let Some(Outcome::BuildFailed(m)) = results
        .iter()
        .find(|r| matches!(r, Outcome::BuildFailed(_)))
    {
        if results.iter().all(|r| matches!(r, Outcome::BuildFailed(_))) {
            return Verdict::Invalid(m.clone());
        }
    }
    let majority = results
        .iter()
        .max_by_key(|r| results.iter().filter(|o| o == r).count())
        .expect("at least one pipeline");
    let odd: Vec<usize> = (0..results.len())
        .filter(|&i| &results[i] != majority)
        .collect();
    if odd.is_empty() {
        Verdict::Agree
    } else {
        Verdict::Disagree(odd)
    }
}

/// Builds and runs `source` through every pipeline, in `work`.
pub fn run_all(skc: &Path, source: &Path, work: &Path) -> Vec<Outcome> {
    run_all_files(skc, &[source], work)
}

/// Builds the program made of `sources` and runs it through every
/// pipeline, in `work`.
pub fn run_all_files(skc: &Path, sources: &[&Path], work: &Path) -> Vec<Outcome> {
    PIPELINES
        .iter()
        .map(|p| run_pipeline(skc, p, sources, work))
        .collect()
}

/// The outcomes, one block per pipeline, for a report, after the
/// reference's.
pub fn report(reference: &Result<Outcome, String>, results: &[Outcome]) -> String {
    let mut text = match reference {
        Ok(Outcome::Ran { status, stdout }) => format!(
            "--- interpreter\n  {status}\n{}",
            stdout
                .lines()
                .map(|l| format!("  {l}\n"))
                .collect::<String>()
        ),
        Ok(Outcome::BuildFailed(m)) | Err(m) => format!("--- interpreter\n  {m}\n"),
    };
    for (p, r) in PIPELINES.iter().zip(results) {
        let described = match r {
            Outcome::BuildFailed(m) => format!("build failed: {}", m.trim()),
            Outcome::Ran { status, stdout } => format!("{status}\n{stdout}"),
        };
        text.push_str(&format!("--- {}\n", p.name));
        for line in described.lines() {
            text.push_str(&format!("  {line}\n"));
        }
    }
    text
}

/// Builds the program made of `sources` with `p` and runs it.
pub fn run_pipeline(skc: &Path, p: &Pipeline, sources: &[&Path], work: &Path) -> Outcome {
    let exe = work.join(match p.target {
        "wasm32" => format!("{}.wasm", p.name),
        _ => p.name.to_string(),
    });
    let _ = std::fs::remove_file(&exe);
    let built = Command::new(skc)
        .args(["--target", p.target, p.opt])
        .args(sources)
        .arg("-o")
        .arg(&exe)
        .stdin(Stdio::null())
        .output();
    match built {
        Err(e) => return Outcome::BuildFailed(format!("cannot run skc: {e}")),
        Ok(o) if !o.status.success() => {
            return Outcome::BuildFailed(String::from_utf8_lossy(&o.stderr).into_owned())
        }
        Ok(_) => {}
    }
    // argv[0] is the interpreter's, so that a program printing it agrees.
    let mut run = match p.target {
        "wasm32" => {
            let mut c = Command::new("wasmtime");
            c.args(["run", "--argv0", "prog"]).arg(&exe);
            c
        }
        _ => native(&exe),
    };
    ran(&mut run)
}

/// The command running native executable `exe` as `prog`, the name the
/// interpreter gives its programs.
fn native(exe: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(exe);
    c.arg0("prog");
    c
}

/// What running `command` (within [`RUN_TIMEOUT`]) gave.
fn ran(command: &mut Command) -> Outcome {
    match run_with_timeout(command, RUN_TIMEOUT) {
        Err(e) => Outcome::Ran {
            status: format!("could not run: {e}"),
            stdout: String::new(),
        },
        Ok((status, stdout)) => Outcome::Ran { status, stdout },
    }
}

/// Builds `source` with QBE (`qbe`, then `cc` to assemble and link) and
/// runs it: the oracle skc replaces, compared with the interpreter by
/// `cargo xtask difftest --qbe`.
pub fn run_qbe(qbe: &Path, source: &Path, work: &Path) -> Outcome {
    let asm = work.join("qbe.s");
    let exe = work.join("qbe-built");
    let _ = std::fs::remove_file(&exe);
    let steps: [(&str, Command); 2] = [
        ("qbe", {
            let mut c = Command::new(qbe);
            c.arg(source).arg("-o").arg(&asm);
            c
        }),
        ("cc", {
            let mut c = Command::new("cc");
            c.arg(&asm).arg("-o").arg(&exe).arg("-lm");
            c
        }),
    ];
    for (name, mut step) in steps {
        match step.stdin(Stdio::null()).output() {
            Err(e) => return Outcome::BuildFailed(format!("cannot run {name}: {e}")),
            Ok(o) if !o.status.success() => {
                return Outcome::BuildFailed(format!(
                    "{name}: {}",
                    String::from_utf8_lossy(&o.stderr)
                ))
            }
            Ok(_) => {}
        }
    }
    ran(&mut native(&exe))
}

/// Runs `command`, killing it after `limit`: its status (`exit N`,
/// `signal N`, `timeout`) and stdout.
fn run_with_timeout(command: &mut Command, limit: Duration) -> anyhow::Result<(String, String)> {
    use std::io::Read;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdout = child.stdout.take().context("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break describe(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break "timeout".to_string();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = reader.join().unwrap_or_default();
    Ok((status, String::from_utf8_lossy(&stdout).into_owned()))
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "unknown".into(),
    }
}
