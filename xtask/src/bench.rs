//! `bench`: skc against clang on the same programs, and skc's compile
//! phase at scale.
//!
//! A benchmark, not a test: it prints Markdown tables, writes them to
//! `target/bench/results.md` and draws the per-program ratios to
//! `target/bench/ratios.png`. Programs that fail to build or print the
//! wrong output are reported as such, never dropped.

mod compile;
mod measure;
mod png;
mod programs;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::gen_module::Shape;
use programs::{Outcome, Platform};

pub const USAGE: &str = "\
usage: cargo xtask bench [--quick] [--runs N] [--placements N] [--only PART]...
                         [--bench-dir DIR]... [--skc PATH]

  --quick          test sizes, 3 runs, small generated modules (about a minute)
  --runs N         runs per measurement (default 5; compile-phase and
                   end-to-end rows use at most 3)
  --placements N   native run time: build each side N times (1 to 4), its
                   code moved by 0, 16, 32, 48 bytes, and report the
                   geometric mean over the builds (default 4; --quick: 1)
  --only PART      run only PART (repeatable): native, wasm, compile, e2e
  --bench-dir DIR  the benchmark programs, repeatable (default: the shared
                   set ../shared/bench and the project's own, tests/bench)
  --skc PATH       measure this skc binary (default: target/release/skc,
                   built first), e.g. an older build for a before/after table

Run-time comparisons build each program with clang-19 -O2 from C and with
skc -O2 from the shipped IL, then run them interleaved (clang, skc, clang,
skc, ...) and report medians with min-max, wall and CPU time. Where code
lands in the cache lines moves some loops by 30% on its own; several
placements separate that from the code itself.
Output: target/bench/results.md and target/bench/ratios.png.";

const PARTS: [&str; 4] = ["native", "wasm", "compile", "e2e"];

struct Settings {
    quick: bool,
    runs: usize,
    placements: usize,
    parts: Vec<String>,
    bench_dirs: Vec<PathBuf>,
    skc: Option<PathBuf>,
}

fn parse(args: &[String]) -> anyhow::Result<Settings> {
    let mut s = Settings {
        quick: false,
        runs: 0,
        placements: 0,
        parts: Vec::new(),
        bench_dirs: Vec::new(),
        skc: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--quick" => s.quick = true,
            "--runs" => {
                s.runs = value()?.parse().context("--runs takes a whole number")?;
                if s.runs == 0 {
                    bail!("--runs must be at least 1");
                }
            }
            "--placements" => {
                s.placements = value()?
                    .parse()
                    .context("--placements takes a whole number")?;
                if !(1..=programs::CACHE_LINE_OFFSETS.len()).contains(&s.placements) {
                    bail!(
                        "--placements takes 1 to {}",
                        programs::CACHE_LINE_OFFSETS.len()
                    );
                }
            }
            "--only" => {
                let part = value()?;
                if !PARTS.contains(&part.as_str()) {
                    bail!("--only takes one of {}", PARTS.join(", "));
                }
                s.parts.push(part.clone());
            }
            "--bench-dir" => s.bench_dirs.push(PathBuf::from(value()?)),
            "--skc" => s.skc = Some(PathBuf::from(value()?)),
            other => bail!("unexpected argument `{other}`\n\n{USAGE}"),
        }
    }
    if s.runs == 0 {
        s.runs = if s.quick { 3 } else { 5 };
    }
    if s.placements == 0 {
        s.placements = if s.quick {
            1
        } else {
            programs::CACHE_LINE_OFFSETS.len()
        };
    }
    if s.parts.is_empty() {
        s.parts = PARTS.iter().map(|p| p.to_string()).collect();
    }
    Ok(s)
}

pub fn main(args: &[String]) -> anyhow::Result<()> {
    let settings = parse(args)?;
    let root = crate::workspace::root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let out_dir = target.join("bench");
    let work = out_dir.join("work");
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let bench_dirs: Vec<(PathBuf, String)> = if settings.bench_dirs.is_empty() {
        vec![
            (
                root.join("..").join("shared").join("bench"),
                "../shared/bench".into(),
            ),
            (root.join("tests").join("bench"), "tests/bench".into()),
        ]
    } else {
        settings
            .bench_dirs
            .iter()
            .map(|d| (d.clone(), d.display().to_string()))
            .collect()
    };
    let skc = match &settings.skc {
        Some(path) => path.clone(),
        None => build_skc(&root, &target)?,
    };
    let wants = |part: &str| settings.parts.iter().any(|p| p == part);

    let mut report = format!(
        "# skc benchmark results\n\nMode: {}; {} runs per comparison; machine: {} cores.\n",
        if settings.quick {
            "quick (test sizes)"
        } else {
            "full (bench sizes)"
        },
        settings.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let mut charts: Vec<(Platform, Vec<Outcome>)> = Vec::new();
    for (part, platform) in [("native", Platform::Native), ("wasm", Platform::Wasm32)] {
        if !wants(part) {
            continue;
        }
        eprintln!("run time, {}:", platform.title());
        let mut programs = Vec::new();
        for (dir, set) in &bench_dirs {
            programs.extend(programs::read_programs(dir, set, settings.quick)?);
        }
        // Only the native link can be padded: wasmtime lays out the
        // machine code of a module itself.
        let offsets = match platform {
            Platform::Native if settings.placements > 1 => {
                &programs::CACHE_LINE_OFFSETS[..settings.placements]
            }
            _ => &[][..],
        };
        let setup = programs::Setup {
            skc: &skc,
            work: &work,
            runs: settings.runs,
            offsets,
        };
        let outcomes = programs::compare(platform, &programs, &setup)?;
        let section = format!(
            "\n## Run time, {}: clang-19 -O2 (C) vs skc -O2 (IL)\n\n{}",
            platform.title(),
            programs::table(&outcomes, settings.runs, offsets)
        );
        println!("{section}");
        report.push_str(&section);
        charts.push((platform, outcomes));
    }

    let heavy_runs = settings.runs.min(3);
    if wants("compile") {
        eprintln!("compile phase:");
        let (sizes, insts) = compile::shapes(settings.quick);
        let mut inputs = Vec::new();
        for mb in sizes {
            inputs.push(compile::generate(
                &work,
                &format!("{mb} MB module"),
                &format!("module-{mb}mb.ssa"),
                Shape::Size(mb * 1024 * 1024),
            )?);
        }
        for k in insts {
            inputs.push(compile::generate(
                &work,
                &format!("one function, {k} insts"),
                &format!("one-function-{k}.ssa"),
                Shape::OneFunction(k),
            )?);
        }
        let section = format!(
            "\n## Compile phase: throughput and peak memory\n\n{}",
            compile::compile_phase(&skc, &inputs, heavy_runs, &work)?
        );
        println!("{section}");
        report.push_str(&section);
        eprintln!("large functions, end to end:");
        let (counts, insts) = compile::large_function_shapes(settings.quick);
        let mut large = Vec::new();
        for n in counts {
            large.push(compile::diamonds(&work, n)?);
        }
        large.push(compile::generate(
            &work,
            &format!("one function, {insts} insts"),
            &format!("one-function-{insts}.ssa"),
            Shape::OneFunction(insts),
        )?);
        let section = format!(
            "\n## Large functions, end to end: skc -O2 to a program\n\n{}",
            compile::large_functions(&skc, &large, heavy_runs, &work)?
        );
        println!("{section}");
        report.push_str(&section);
    }
    if wants("e2e") {
        eprintln!("end to end:");
        let mb = if settings.quick { 1 } else { 10 };
        let input = compile::generate(
            &work,
            &format!("{mb} MB module"),
            &format!("module-{mb}mb.ssa"),
            Shape::Size(mb * 1024 * 1024),
        )?;
        let section = format!(
            "\n## End to end: skc to a native executable, exec vs spawn\n\n{}",
            compile::end_to_end(&skc, &input, heavy_runs, &work)?
        );
        println!("{section}");
        report.push_str(&section);
    }

    if !charts.is_empty() {
        let png_path = out_dir.join("ratios.png");
        std::fs::write(&png_path, chart(&charts).to_png())
            .with_context(|| format!("cannot write {}", png_path.display()))?;
        report.push_str(&chart_legend(&charts));
        eprintln!("wrote {}", png_path.display());
    }
    let md_path = out_dir.join("results.md");
    std::fs::write(&md_path, &report)
        .with_context(|| format!("cannot write {}", md_path.display()))?;
    eprintln!("wrote {}", md_path.display());
    Ok(())
}

/// One group of bars per program: the median wall-time ratio per platform.
fn chart(charts: &[(Platform, Vec<Outcome>)]) -> png::Canvas {
    let names: Vec<&str> = charts[0].1.iter().map(|o| o.program.as_str()).collect();
    let groups: Vec<Vec<Option<f64>>> = names
        .iter()
        .map(|name| {
            charts
                .iter()
                .map(|(_, outcomes)| {
                    outcomes
                        .iter()
                        .find(|o| o.program == *name)
                        .and_then(Outcome::ratios)
                        .map(|(wall, _)| wall)
                })
                .collect()
        })
        .collect();
    let highest = groups
        .iter()
        .flatten()
        .flatten()
        .fold(1.5f64, |m, &v| m.max(v));
    let y_max = (highest * 2.0).ceil() / 2.0;
    let colors: Vec<[u8; 3]> = charts
        .iter()
        .map(|(p, _)| match p {
            Platform::Native => png::NATIVE,
            Platform::Wasm32 => png::WASM,
        })
        .collect();
    png::bar_chart(&groups, &colors, y_max)
}

fn chart_legend(charts: &[(Platform, Vec<Outcome>)]) -> String {
    let names: Vec<&str> = charts[0].1.iter().map(|o| o.program.as_str()).collect();
    let series: Vec<&str> = charts
        .iter()
        .map(|(p, _)| match p {
            Platform::Native => "blue: native",
            Platform::Wasm32 => "orange: wasm32",
        })
        .collect();
    format!(
        "\n## Chart\n\n`ratios.png`: skc/clang median wall-time ratio per program, left to right: \
         {}. Bars: {}; a short red stub marks a program with no figure (failed). Grey lines every \
         0.5×, the dark line is 1×.\n",
        names.join(", "),
        series.join(", ")
    )
}

/// Builds skc in release mode and returns its path.
fn build_skc(root: &Path, target: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--quiet", "--release", "-p", "skc-driver"])
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("building skc failed");
    }
    let exe = target.join("release").join("skc");
    if !exe.exists() {
        bail!("{} was not built", exe.display());
    }
    Ok(exe)
}
