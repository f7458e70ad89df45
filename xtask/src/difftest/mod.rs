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
mod minimise;

use minimise::Builder;

use skc_tests::batch::{self, Member};
use skc_tests::pipelines::{self, Outcome, Verdict, PIPELINES};
use skc_tests::{coverage, generate, mutate};

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
  --batch N      programs built together (default 25); a batch that
                 goes wrong is run again program by program
  --print S      print the program of seed S and stop
  --no-reduce    keep programs the pipelines disagree on as they are
                 (by default each is also delta-reduced into NAME.min.ssa,
                 a corpus program expecting what the interpreter does)
  --mutate       instead of generating programs, mutate the corpus
                 programs that need no C driver (operands swapped,
                 constants changed, operations replaced by one of the
                 same shape); mutants the interpreter stops on are
                 dropped, the others must agree with it
  --qbe PATH      instead of skc's pipelines, build the generated
                 programs with QBE at PATH (and cc) and compare that with
                 the interpreter: reports where QBE and skc's semantics
                 differ; it does not fail on differences
  --reduce FILE  only reduce FILE, a program some pipeline gets wrong
  --coverage     only generate the programs (--programs N, default
                 10000) and print how many use each instruction

Prints how many programs were generated, how many every pipeline agreed
on, and how many each pipeline disagreed with the majority on.";

pub fn main(args: &[String]) -> anyhow::Result<()> {
    let mut seconds = 60u64;
    let mut programs: Option<u64> = None;
    let mut seed = 1u64;
    let mut skc: Option<PathBuf> = None;
    let mut out: Option<PathBuf> = None;
    let mut size = generate::Size::default();
    let mut print: Option<u64> = None;
    let mut coverage = false;
    let mut reduce = true;
    let mut reduce_file: Option<PathBuf> = None;
    let mut mutate = false;
    let mut qbe: Option<PathBuf> = None;
    let mut batch_size = 25usize;
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
            "--batch" => batch_size = value("--batch")?.parse::<usize>()?.max(1),
            "--coverage" => coverage = true,
            "--no-reduce" => reduce = false,
            "--mutate" => mutate = true,
            "--qbe" => qbe = Some(value("--qbe")?.into()),
            "--reduce" => reduce_file = Some(value("--reduce")?.into()),
            "--print" => print = Some(value("--print")?.parse()?),
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
    if let Some(seed) = print {
        print!("{}", generate::program(seed, size));
        return Ok(());
    }
    if coverage {
        return print_coverage(seed, programs.unwrap_or(10_000), size);
    }
    let root = crate::workspace::root();
    let skc = match skc {
        Some(p) => p,
        None => build_skc(&root)?,
    };
    let out = out.unwrap_or_else(|| root.join("target/difftest"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let work = tempfile_dir(&out)?;
    if let Some(file) = reduce_file {
        let result = reduce_one(&skc, &file, &work, &out);
        let _ = std::fs::remove_dir_all(&work);
        return result;
    }

    let budget = Budget {
        programs,
        seconds,
        started: Instant::now(),
    };
    if let Some(qbe) = qbe {
        let result = compare_with_qbe(&qbe, seed, &budget, size, reduce, &work, &out);
        let _ = std::fs::remove_dir_all(&work);
        return result;
    }
    if mutate {
        let corpus = root.join("tests/corpus");
        let result = run_mutants(&skc, &corpus, seed, &budget, reduce, &work, &out);
        let _ = std::fs::remove_dir_all(&work);
        return result;
    }
    let started = budget.started;
    let mut stats = Stats::default();
    let mut k = 0u64;
    let mut members = Vec::new();
    loop {
        let done = budget.spent(k);
        if done || members.len() >= batch_size {
            run_batch(&skc, &members, size, reduce, &work, &out, &mut stats)?;
            members.clear();
            if stats.generated % 1000 < batch_size as u64 {
                eprintln!(
                    "difftest: {} programs, {} s, {} mismatching",
                    stats.generated,
                    started.elapsed().as_secs(),
                    stats.mismatching + stats.invalid + stats.interpreter_stopped
                );
            }
        }
        if done {
            break;
        }
        let s = seed + k;
        k += 1;
        stats.generated += 1;
        let text = generate::program(s, size);
        match pipelines::interpret(&text) {
            Ok(expected) => members.push(Member {
                seed: s,
                text,
                expected,
            }),
            Err(stop) => {
                stats.interpreter_stopped += 1;
                keep(&out, &format!("seed-{s}"), &text, &Err(stop.clone()), &[])?;
                eprintln!("seed {s}: the interpreter stopped: {stop}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    println!(
        "difftest: seeds {seed}..{}, {} s: generated {}, agreeing {}, mismatching {}, \
         rejected by skc {}, stopped by the interpreter {}, batches that failed once and \
         agreed when run again {}",
        seed + k,
        started.elapsed().as_secs(),
        stats.generated,
        stats.agreeing,
        stats.mismatching,
        stats.invalid,
        stats.interpreter_stopped,
        stats.flaky
    );
    for (name, n) in &stats.by_pipeline {
        println!("difftest: {name} differed from the interpreter on {n} program(s)");
    }
    if stats.mismatching + stats.invalid + stats.interpreter_stopped > 0 {
        bail!("the pipelines disagreed; see {}", out.display());
    }
    Ok(())
}

/// How long a run goes on: a number of programs, or else seconds.
struct Budget {
    programs: Option<u64>,
    seconds: u64,
    started: Instant,
}

impl Budget {
    /// Whether the run is over after `done` programs.
    fn spent(&self, done: u64) -> bool {
        match self.programs {
            Some(n) => done >= n,
            None => self.started.elapsed() >= Duration::from_secs(self.seconds),
        }
    }
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
    /// Batches that disagreed once and agreed when run again.
    flaky: u64,
    by_pipeline: BTreeMap<&'static str, u64>,
}

/// Prints, for each instruction the reader accepts, how many of the
/// programs of seeds `seed..seed + n` use it; fails if one is unused.
fn print_coverage(seed: u64, n: u64, size: generate::Size) -> anyhow::Result<()> {
    let mut counts: BTreeMap<String, u64> = coverage::instruction_names()
        .into_iter()
        .map(|name| (name, 0))
        .collect();
    for s in seed..seed + n {
        for name in coverage::instructions_used(&generate::program(s, size)) {
            *counts.entry(name).or_default() += 1;
        }
    }
    println!("instruction  programs (of {n}, seeds {seed}..{})", seed + n);
    for (name, count) in &counts {
        println!("{name:<12} {count}");
    }
    let unused: Vec<&str> = counts
        .iter()
        .filter(|(_, &c)| c == 0)
        .map(|(name, _)| name.as_str())
        .collect();
    if !unused.is_empty() {
        bail!("no program uses: {}", unused.join(" "));
    }
    Ok(())
}

/// The corpus programs a mutant can be made of: those without a C
/// driver or a restriction to some targets, that the interpreter runs.
fn mutable_programs(corpus: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus)
        .with_context(|| format!("reading {}", corpus.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ssa"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)?;
        let restricted = text
            .lines()
            .any(|l| l.trim() == "# >>> driver" || l.starts_with("# targets:"));
        if !restricted && pipelines::interpret(&text).is_ok() {
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into();
            found.push((name, text));
        }
    }
    Ok(found)
}

/// `--qbe`: generated programs built by QBE, against the interpreter.
fn compare_with_qbe(
    qbe: &Path,
    seed: u64,
    budget: &Budget,
    size: generate::Size,
    reduce: bool,
    work: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    let (mut n, mut agreeing, mut differing, mut failed) = (0u64, 0u64, 0u64, 0u64);
    while !budget.spent(n) {
        let s = seed + n;
        n += 1;
        let text = generate::program(s, size);
        let Ok(expected) = pipelines::interpret(&text) else {
            continue;
        };
        let source = work.join("p.ssa");
        std::fs::write(&source, &text)?;
        let got = pipelines::run_qbe(qbe, &source, work);
        if got == expected {
            agreeing += 1;
            continue;
        }
        let name = format!("qbe-seed-{s}");
        if let Outcome::BuildFailed(m) = &got {
            failed += 1;
            let first = m.lines().find(|l| l.contains("Error")).unwrap_or(m.trim());
            eprintln!("seed {s}: QBE's build failed: {first}");
        } else {
            differing += 1;
            eprintln!("seed {s}: QBE's program differs from the interpreter");
        }
        keep(
            out,
            &format!("seed-{s}"),
            &text,
            &Ok(expected),
            std::slice::from_ref(&got),
        )?;
        if reduce {
            minimise::minimise(&Builder::Qbe(qbe), &got, &text, &name, work, out)?;
        }
    }
    println!(
        "difftest --qbe: seeds {seed}..{}, {} s: agreeing {agreeing}, differing {differing}, \
         failing to build {failed}",
        seed + n,
        budget.started.elapsed().as_secs()
    );
    Ok(())
}

/// `--mutate`: mutants of the corpus programs, each run alone.
fn run_mutants(
    skc: &Path,
    corpus: &Path,
    seed: u64,
    budget: &Budget,
    reduce: bool,
    work: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    let sources = mutable_programs(corpus)?;
    if sources.is_empty() {
        bail!("no corpus program in {} can be mutated", corpus.display());
    }
    let (mut tried, mut dropped, mut agreeing, mut wrong) = (0u64, 0u64, 0u64, 0u64);
    let mut k = 0u64;
    while !budget.spent(tried) {
        let (name, original) = &sources[(k % sources.len() as u64) as usize];
        let s = seed + k;
        k += 1;
        let Some(text) = mutate::mutant(original, s) else {
            continue;
        };
        tried += 1;
        let Ok(expected) = pipelines::interpret(&text) else {
            dropped += 1;
            continue;
        };
        let source = work.join("mutant.ssa");
        std::fs::write(&source, &text)?;
        let results = pipelines::run_all(skc, &source, work);
        let odd = match pipelines::verdict_against(&expected, &results) {
            Verdict::Agree => {
                agreeing += 1;
                continue;
            }
            Verdict::Invalid(_) => 0,
            Verdict::Disagree(odd) => odd[0],
        };
        wrong += 1;
        let label = format!("{name}-mutant-{s}");
        let kept = keep(out, &label, &text, &Ok(expected), &results)?;
        eprintln!(
            "{label}: {} differs; kept {}",
            PIPELINES[odd].name,
            kept.display()
        );
        if reduce {
            let builder = Builder::Skc(skc, &PIPELINES[odd]);
            minimise::minimise(&builder, &results[odd], &text, &label, work, out)?;
        }
    }
    println!(
        "difftest --mutate: {} corpus programs, seeds {seed}..{}, {} s: mutants {tried}, \
         dropped by the reader or the interpreter {dropped}, agreeing {agreeing}, mismatching {wrong}",
        sources.len(),
        seed + k,
        budget.started.elapsed().as_secs()
    );
    if wrong > 0 {
        bail!("the pipelines disagreed; see {}", out.display());
    }
    Ok(())
}

/// Builds `members` as one program; if it does not print what they
/// should, runs each alone to find the ones at fault.
fn run_batch(
    skc: &Path,
    members: &[Member],
    size: generate::Size,
    reduce: bool,
    work: &Path,
    out: &Path,
    stats: &mut Stats,
) -> anyhow::Result<()> {
    if members.is_empty() {
        return Ok(());
    }
    let (expected, first) = batch::run(skc, members, size, work)?;
    if first.iter().all(|r| *r == expected) {
        stats.agreeing += members.len() as u64;
        return Ok(());
    }
    let mut found = false;
    for m in members {
        let source = work.join("p.ssa");
        std::fs::write(&source, &m.text)?;
        let results = pipelines::run_all(skc, &source, work);
        let reference = Ok(m.expected.clone());
        let name = format!("seed-{}", m.seed);
        match pipelines::verdict_against(&m.expected, &results) {
            Verdict::Agree => stats.agreeing += 1,
            Verdict::Invalid(message) => {
                found = true;
                stats.invalid += 1;
                keep(out, &name, &m.text, &reference, &results)?;
                eprintln!("seed {}: skc rejected the program: {message}", m.seed);
                if reduce {
                    let builder = Builder::Skc(skc, &PIPELINES[0]);
                    minimise::minimise(&builder, &results[0], &m.text, &name, work, out)?;
                }
            }
            Verdict::Disagree(odd) => {
                found = true;
                stats.mismatching += 1;
                for i in &odd {
                    *stats.by_pipeline.entry(PIPELINES[*i].name).or_default() += 1;
                }
                let kept = keep(out, &name, &m.text, &reference, &results)?;
                let names: Vec<&str> = odd.iter().map(|&i| PIPELINES[i].name).collect();
                eprintln!(
                    "seed {}: {} disagree(s); kept {}",
                    m.seed,
                    names.join(", "),
                    kept.display()
                );
                if reduce {
                    let builder = Builder::Skc(skc, &PIPELINES[odd[0]]);
                    minimise::minimise(&builder, &results[odd[0]], &m.text, &name, work, out)?;
                }
            }
        }
    }
    if !found {
        let seeds = format!("{}..={}", members[0].seed, members[members.len() - 1].seed);
        if batch::agrees(skc, members, size, work)? {
            // A run that failed once on a loaded machine (a timeout, a
            // runtime that could not start): said, not counted as agreeing.
            stats.flaky += 1;
            eprintln!(
                "seeds {seeds}: the batch disagreed once and agreed when run again; first run:\n{}",
                pipelines::report(&Ok(expected), &first)
                    .lines()
                    .filter(|l| l.starts_with("---")
                        || l.starts_with("  exit")
                        || !l.starts_with("  "))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            return Ok(());
        }
        // Each program is right alone and wrong together: keep the batch.
        stats.mismatching += 1;
        let dir = out.join(format!("batch-{}", members[0].seed));
        std::fs::create_dir_all(&dir)?;
        batch::write(members, size, &dir)?;
        std::fs::write(
            dir.join("outcomes.txt"),
            pipelines::report(&Ok(expected), &first),
        )?;
        eprintln!(
            "seeds {seeds}: right alone, wrong built together; kept {}",
            dir.display()
        );
    }
    Ok(())
}

/// Reduces the program in `file` against the first pipeline that
/// disagrees with the interpreter on it.
fn reduce_one(skc: &Path, file: &Path, work: &Path, out: &Path) -> anyhow::Result<()> {
    // The comments `keep` wrote at its top are ignored by every pipeline
    // and dropped by `minimise`.
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let reference = pipelines::interpret(&text)
        .map_err(|stop| anyhow::anyhow!("the interpreter stops on {}: {stop}", file.display()))?;
    let results = pipelines::run_all(skc, file, work);
    let odd = match pipelines::verdict_against(&reference, &results) {
        Verdict::Agree => bail!(
            "every pipeline agrees with the interpreter on {}",
            file.display()
        ),
        Verdict::Invalid(_) => 0,
        Verdict::Disagree(odd) => odd[0],
    };
    let name = file
        .file_stem()
        .map_or("program".into(), |s| s.to_string_lossy().into_owned());
    let builder = Builder::Skc(skc, &PIPELINES[odd]);
    minimise::minimise(&builder, &results[odd], &text, &name, work, out)?;
    Ok(())
}

/// Writes the program and each pipeline's outcome as `NAME.ssa` (the
/// outcomes in comments at its top).
fn keep(
    out: &Path,
    name: &str,
    text: &str,
    reference: &Result<Outcome, String>,
    results: &[Outcome],
) -> anyhow::Result<PathBuf> {
    let header: String = pipelines::report(reference, results)
        .lines()
        .map(|l| format!("# {l}\n"))
        .collect();
    let path = out.join(format!("{name}.ssa"));
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
