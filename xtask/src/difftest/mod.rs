//! `difftest`: random IL programs (`generate`) built by every pipeline
//! skc has, whose outputs must agree.
//!
//! Each program runs under native `-O0` and `-O2` and wasm32 `-O0` and
//! `-O2` (under wasmtime). A program every pipeline agrees on is counted
//! and dropped; one where they differ is kept in the output directory
//! with the outputs of each pipeline, ready to be reduced into a
//! regression test.

mod generate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub const USAGE: &str = "\
usage: cargo xtask difftest [--seconds N | --programs N] [--seed S] [--skc PATH] [--out DIR]

  --seconds N    run for about N seconds (default 60)
  --programs N   run exactly N programs instead
  --seed S       first seed (default 1); program k uses seed S+k
  --skc PATH     the skc binary (default: target/release/skc, built first)
  --out DIR      where programs the pipelines disagree on are kept
                 (default target/difftest)
  --size F,R,D   functions per program, instructions per straight run,
                 nesting depth (default 4,8,3)

Prints how many programs were generated, how many every pipeline agreed
on, and how many each pipeline disagreed with the majority on.";

/// One way of building and running a program.
struct Pipeline {
    name: &'static str,
    target: &'static str,
    opt: &'static str,
}

const PIPELINES: [Pipeline; 4] = [
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

const RUN_TIMEOUT: Duration = Duration::from_secs(20);

pub fn main(args: &[String]) -> anyhow::Result<()> {
    let mut seconds = 60u64;
    let mut programs: Option<u64> = None;
    let mut seed = 1u64;
    let mut skc: Option<PathBuf> = None;
    let mut out: Option<PathBuf> = None;
    let mut size = generate::Size::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--seconds" => seconds = value("--seconds")?.parse()?,
            "--programs" => programs = Some(value("--programs")?.parse()?),
            "--seed" => seed = value("--seed")?.parse()?,
            "--skc" => skc = Some(value("--skc")?.into()),
            "--out" => out = Some(value("--out")?.into()),
            "--size" => {
                let v = value("--size")?;
                let n: Vec<usize> = v
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .with_context(|| format!("--size {v}"))?;
                let [functions, run, depth] = n[..] else {
                    bail!("--size takes three numbers: F,R,D");
                };
                size = generate::Size {
                    functions,
                    run: run.max(1),
                    depth,
                };
            }
            other => bail!("unknown argument `{other}`\n\n{USAGE}"),
        }
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().map(Path::to_path_buf).unwrap_or(manifest);
    let skc = match skc {
        Some(p) => p,
        None => build_skc(&root)?,
    };
    let out = out.unwrap_or_else(|| root.join("target/difftest"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let work = tempfile_dir(&out)?;

    let started = Instant::now();
    let mut stats = Stats::default();
    let mut k = 0u64;
    loop {
        let done = match programs {
            Some(n) => k >= n,
            None => started.elapsed() >= Duration::from_secs(seconds),
        };
        if done {
            break;
        }
        let s = seed + k;
        k += 1;
        let text = generate::program(s, size);
        let source = work.join("p.ssa");
        std::fs::write(&source, &text)?;
        let results: Vec<Outcome> = PIPELINES
            .iter()
            .map(|p| run_pipeline(&skc, p, &source, &work))
            .collect();
        stats.generated += 1;
        match verdict(&results) {
            Verdict::Agree => stats.agreeing += 1,
            Verdict::Invalid(message) => {
                stats.invalid += 1;
                keep(&out, s, &text, &results)?;
                eprintln!("seed {s}: skc rejected the program: {message}");
            }
            Verdict::Disagree(odd) => {
                stats.mismatching += 1;
                for i in &odd {
                    *stats.by_pipeline.entry(PIPELINES[*i].name).or_default() += 1;
                }
                let kept = keep(&out, s, &text, &results)?;
                let names: Vec<&str> = odd.iter().map(|&i| PIPELINES[i].name).collect();
                eprintln!(
                    "seed {s}: {} disagree(s); kept {}",
                    names.join(", "),
                    kept.display()
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    println!(
        "difftest: seeds {seed}..{}, {} s: generated {}, agreeing {}, mismatching {}, rejected {}",
        seed + k,
        started.elapsed().as_secs(),
        stats.generated,
        stats.agreeing,
        stats.mismatching,
        stats.invalid
    );
    for (name, n) in &stats.by_pipeline {
        println!("difftest: {name} differed from the others on {n} program(s)");
    }
    if stats.mismatching + stats.invalid > 0 {
        bail!("the pipelines disagreed; see {}", out.display());
    }
    Ok(())
}

#[derive(Default)]
struct Stats {
    generated: u64,
    agreeing: u64,
    mismatching: u64,
    invalid: u64,
    by_pipeline: BTreeMap<&'static str, u64>,
}

/// What one pipeline did with a program.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// skc refused or failed to build it.
    BuildFailed(String),
    /// It ran: exit status (or a signal/trap description) and stdout.
    Ran { status: String, stdout: String },
}

enum Verdict {
    Agree,
    /// skc rejected a program the generator believes valid.
    Invalid(String),
    /// The pipelines (indices) that differ from the most common outcome.
    Disagree(Vec<usize>),
}

fn verdict(results: &[Outcome]) -> Verdict {
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

fn run_pipeline(skc: &Path, p: &Pipeline, source: &Path, work: &Path) -> Outcome {
    let exe = work.join(match p.target {
        "wasm32" => format!("{}.wasm", p.name),
        _ => p.name.to_string(),
    });
    let _ = std::fs::remove_file(&exe);
    let built = Command::new(skc)
        .args(["--target", p.target, p.opt])
        .arg(source)
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
    let mut run = match p.target {
        "wasm32" => {
            let mut c = Command::new("wasmtime");
            c.arg("run").arg(&exe);
            c
        }
        _ => Command::new(&exe),
    };
    let output = run_with_timeout(&mut run, RUN_TIMEOUT);
    match output {
        Err(e) => Outcome::Ran {
            status: format!("could not run: {e}"),
            stdout: String::new(),
        },
        Ok((status, stdout)) => Outcome::Ran { status, stdout },
    }
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

/// Writes the program and each pipeline's outcome as `seed-S.ssa` (the
/// outcomes in comments at its top).
fn keep(out: &Path, seed: u64, text: &str, results: &[Outcome]) -> anyhow::Result<PathBuf> {
    let mut header = String::new();
    for (p, r) in PIPELINES.iter().zip(results) {
        let described = match r {
            Outcome::BuildFailed(m) => format!("build failed: {}", m.trim()),
            Outcome::Ran { status, stdout } => format!("{status}\n{stdout}"),
        };
        header.push_str(&format!("# --- {}\n", p.name));
        for line in described.lines() {
            header.push_str(&format!("#   {line}\n"));
        }
    }
    let path = out.join(format!("seed-{seed}.ssa"));
    std::fs::write(&path, format!("{header}{text}"))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn tempfile_dir(out: &Path) -> anyhow::Result<PathBuf> {
    let dir = out.join(format!("work-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn build_skc(root: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--release", "-q", "-p", "skc-driver"])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("building skc failed");
    }
    Ok(root.join("target/release/skc"))
}
