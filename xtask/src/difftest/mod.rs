//! `difftest`: random IL programs (`skc_tests::generate`) built by every
//! pipeline skc has (`skc_tests::pipelines`), whose outputs must agree.
//!
//! Each program runs under the reference interpreter, and under native
//! `-O0` and `-O2` and wasm32 `-O0` and `-O2` (under wasmtime). A program
//! every pipeline agrees with the interpreter on is counted and dropped;
//! one where they differ is kept in the output directory with every
//! outcome, ready to be reduced into a regression test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use skc_tests::generate;
use skc_tests::pipelines::{self, Outcome, Verdict, PIPELINES};

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
        let reference = pipelines::interpret(&text);
        let results = pipelines::run_all(&skc, &source, &work);
        stats.generated += 1;
        let verdict = match &reference {
            Ok(expected) => pipelines::verdict_against(expected, &results),
            Err(stop) => {
                stats.interpreter_stopped += 1;
                keep(&out, s, &text, &reference, &results)?;
                eprintln!("seed {s}: the interpreter stopped: {stop}");
                continue;
            }
        };
        match verdict {
            Verdict::Agree => stats.agreeing += 1,
            Verdict::Invalid(message) => {
                stats.invalid += 1;
                keep(&out, s, &text, &reference, &results)?;
                eprintln!("seed {s}: skc rejected the program: {message}");
            }
            Verdict::Disagree(odd) => {
                stats.mismatching += 1;
                for i in &odd {
                    *stats.by_pipeline.entry(PIPELINES[*i].name).or_default() += 1;
                }
                let kept = keep(&out, s, &text, &reference, &results)?;
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
        "difftest: seeds {seed}..{}, {} s: generated {}, agreeing {}, mismatching {}, \
         rejected by skc {}, stopped by the interpreter {}",
        seed + k,
        started.elapsed().as_secs(),
        stats.generated,
        stats.agreeing,
        stats.mismatching,
        stats.invalid,
        stats.interpreter_stopped
    );
    for (name, n) in &stats.by_pipeline {
        println!("difftest: {name} differed from the interpreter on {n} program(s)");
    }
    if stats.mismatching + stats.invalid + stats.interpreter_stopped > 0 {
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
    /// Programs the interpreter stopped on (undefined behaviour or an
    /// unsupported function): the generator's fault.
    interpreter_stopped: u64,
    by_pipeline: BTreeMap<&'static str, u64>,
}

/// Writes the program and each pipeline's outcome as `seed-S.ssa` (the
/// outcomes in comments at its top).
fn keep(
    out: &Path,
    seed: u64,
    text: &str,
    reference: &Result<Outcome, String>,
    results: &[Outcome],
) -> anyhow::Result<PathBuf> {
    let header: String = pipelines::report(reference, results)
        .lines()
        .map(|l| format!("# {l}\n"))
        .collect();
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
