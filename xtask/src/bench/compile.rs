//! The compile phase at scale: skc's throughput and peak memory on
//! generated modules, and end-to-end builds of a large module.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use super::measure::{run_once, Series};
use crate::gen_module::{write_module, Shape, Stats};
use crate::memwatch::{run_watched, DEFAULT_INTERVAL};

const MIB: u64 = 1024 * 1024;

/// A generated module on disk.
pub struct Input {
    pub label: String,
    pub path: PathBuf,
    pub stats: Stats,
}

/// Generates (or reuses, when the file already has the expected size) the
/// module for `shape`; generation is deterministic, so reuse is safe.
pub fn generate(work: &Path, label: &str, file: &str, shape: Shape) -> anyhow::Result<Input> {
    let path = work.join(file);
    let stats = write_module(&path, shape, 1)
        .with_context(|| format!("cannot generate {}", path.display()))?;
    Ok(Input {
        label: label.to_owned(),
        path,
        stats,
    })
}

/// The module series: sizes in MiB for the many-function modules and
/// instruction counts for the one-function modules.
pub fn shapes(quick: bool) -> (Vec<u64>, Vec<u64>) {
    if quick {
        (vec![1], vec![20_000])
    } else {
        (vec![1, 10, 80], vec![50_000, 100_000, 200_000])
    }
}

/// Writes one `main` of `n` if/else diamonds joined by phis, each value
/// computed from the previous one (the shape of a generated state
/// machine): the input of the large-function rows.
pub fn diamonds(work: &Path, n: u64) -> anyhow::Result<Input> {
    let path = work.join(format!("diamonds-{n}.ssa"));
    let mut text = String::from("export function w $main(w %argc, l %argv) {\n@start\n");
    text.push_str("\t%x0 =w copy %argc\n");
    for i in 0..n {
        let _ = write!(
            text,
            "\tjnz %x{i}, @t{i}, @f{i}\n@t{i}\n\t%a{i} =w add %x{i}, {i}\n\tjmp @j{i}\n\
             @f{i}\n\t%b{i} =w xor %x{i}, {i}\n\
             @j{i}\n\t%y{i} =w phi @t{i} %a{i}, @f{i} %b{i}\n\t%x{} =w and %y{i}, 65535\n",
            i + 1
        );
    }
    let _ = write!(text, "\t%r =w and %x{n}, 127\n\tret %r\n}}\n");
    std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Input {
        label: format!("{n} diamonds"),
        path,
        stats: Stats {
            bytes: text.len() as u64,
            functions: 1,
            // Per diamond: jnz, add, jmp, xor, phi, and.
            instructions: 6 * n + 3,
        },
    })
}

/// The large-function series: diamond counts and the instruction count
/// of the generated one-function module.
pub fn large_function_shapes(quick: bool) -> (Vec<u64>, u64) {
    if quick {
        (vec![1_000, 2_000], 20_000)
    } else {
        (vec![1_000, 2_000, 4_000, 8_000], 200_000)
    }
}

/// Builds slower than this are measured once, without the memory run.
const SLOW_BUILD_SECONDS: f64 = 60.0;

/// `skc -O2` to a program for each input and target, end to end (skc,
/// then clang for native, or the link bridge, wasm-ld and wasm-opt for
/// wasm32), as a table.
pub fn large_functions(
    skc: &Path,
    inputs: &[Input],
    runs: usize,
    work: &Path,
) -> anyhow::Result<String> {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| input | target | insts | wall s | CPU s (tree) | peak RSS MiB (largest process) | tree peak RSS MiB (sampled) |"
    );
    let _ = writeln!(t, "|---|---|---:|---:|---:|---:|---:|");
    for input in inputs {
        for target in ["wasm32", "native"] {
            eprintln!("  {} --target {target}", input.label);
            let out = work.join("large.out");
            let build = || {
                let mut cmd = Command::new(skc);
                cmd.args(["-O2", "--target", target])
                    .arg(&input.path)
                    .arg("-o")
                    .arg(&out);
                cmd
            };
            let mut series = Series::default();
            let mut failure = None;
            for _ in 0..runs {
                match run_once(&mut build(), work) {
                    Ok(run) => series.push(&run),
                    Err(e) => failure = Some(e.to_string()),
                }
                if failure.is_some() || series.wall().median > SLOW_BUILD_SECONDS {
                    break;
                }
            }
            let head = format!(
                "| {} | {target} | {} |",
                input.label, input.stats.instructions
            );
            if let Some(e) = failure {
                let _ = writeln!(t, "{head} failed: {e} | | | |");
                continue;
            }
            let tree = if series.wall().median > SLOW_BUILD_SECONDS {
                "— (slow)".to_owned()
            } else {
                match run_watched(&mut build(), DEFAULT_INTERVAL, None) {
                    Ok(w) if w.status.success() => {
                        format!("{:.1}", w.tree_peak_bytes as f64 / MIB as f64)
                    }
                    Ok(w) => format!("failed: {}", w.status),
                    Err(e) => format!("failed: {e}"),
                }
            };
            let _ = std::fs::remove_file(&out);
            let _ = writeln!(
                t,
                "{head} {} | {} | {:.1} | {tree} |",
                series.wall().seconds(),
                series.cpu().seconds(),
                series.peak_rss_mib()
            );
        }
    }
    let _ = writeln!(
        t,
        "\nOne function per input: `N diamonds` is a `main` of N if/else diamonds joined by \
         phis, each value computed from the previous one; `one function, K insts` is \
         `gen-module --one-function-insts K`. `skc -O2` builds a program, end to end (skc, then \
         clang for native; skc, the link bridge, wasm-ld and wasm-opt for wasm32). Median of \
         {runs} runs (min–max in brackets); a build slower than {SLOW_BUILD_SECONDS:.0} s is \
         measured once and its tree memory is not sampled. Peak RSS as in the end-to-end table: \
         the largest single process from `wait4`, and the largest sum over the tree alive at \
         once, sampled in one extra run."
    );
    Ok(t)
}

/// What skc is asked to emit.
#[derive(Clone, Copy)]
pub enum Emit {
    Llvm,
    WasmObj,
}

impl Emit {
    fn title(self) -> &'static str {
        match self {
            Emit::Llvm => "`--emit=llvm`",
            Emit::WasmObj => "`--emit=obj --target wasm32`",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            Emit::Llvm => &["--emit=llvm"],
            Emit::WasmObj => &["--emit=obj", "--target", "wasm32"],
        }
    }
}

/// Compile-phase figures for every input and emit kind, as a table.
pub fn compile_phase(
    skc: &Path,
    inputs: &[Input],
    runs: usize,
    work: &Path,
) -> anyhow::Result<String> {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| input | emit | MiB | functions | insts | wall s | MB/s (wall) | MB/s (CPU) | ns/inst (CPU) | peak RSS MiB |"
    );
    let _ = writeln!(t, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for input in inputs {
        for emit in [Emit::Llvm, Emit::WasmObj] {
            eprintln!("  {} {}", input.label, emit.title());
            let out = work.join("compile.out");
            let mut series = Series::default();
            let mut failure = None;
            for _ in 0..runs {
                let mut cmd = Command::new(skc);
                cmd.args(emit.args())
                    .arg("-O2")
                    .arg(&input.path)
                    .arg("-o")
                    .arg(&out);
                match run_once(&mut cmd, work) {
                    Ok(run) => series.push(&run),
                    Err(e) => {
                        failure = Some(e.to_string());
                        break;
                    }
                }
            }
            let _ = std::fs::remove_file(&out);
            let mib = input.stats.bytes as f64 / MIB as f64;
            let head = format!(
                "| {} | {} | {:.1} | {} | {} |",
                input.label,
                emit.title(),
                mib,
                input.stats.functions,
                input.stats.instructions
            );
            match failure {
                Some(e) => {
                    let _ = writeln!(t, "{head} failed: {e} | | | | |");
                }
                None => {
                    let wall = series.wall();
                    let cpu = series.cpu();
                    let _ = writeln!(
                        t,
                        "{head} {} | {:.1} | {:.1} | {:.0} | {:.1} |",
                        wall.seconds(),
                        mib / wall.median,
                        mib / cpu.median,
                        cpu.median * 1e9 / input.stats.instructions.max(1) as f64,
                        series.peak_rss_mib()
                    );
                }
            }
        }
    }
    let _ = writeln!(
        t,
        "\nMedian of {runs} runs at `-O2` (min–max in brackets); MB/s is MiB of IL text per \
         second of skc's own time (it stops after emitting; no clang runs); peak RSS is \
         `ru_maxrss` of the skc process."
    );
    Ok(t)
}

/// End to end: `skc -O0`/`-O2` to a native executable, the driver
/// exec'ing the link step versus spawning it, interleaved.
pub fn end_to_end(skc: &Path, input: &Input, runs: usize, work: &Path) -> anyhow::Result<String> {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Input: {} ({:.1} MiB, {} functions).\n",
        input.label,
        input.stats.bytes as f64 / MIB as f64,
        input.stats.functions
    );
    let _ = writeln!(
        t,
        "| opt | link mode | wall s | CPU s (tree) | peak RSS MiB (largest process) | tree peak RSS MiB (sampled) | skc compile phase ms | skc compile peak RSS |"
    );
    let _ = writeln!(t, "|---|---|---:|---:|---:|---:|---:|---:|");
    for opt in ["-O0", "-O2"] {
        let modes = ["exec", "spawn"];
        let mut series = [Series::default(), Series::default()];
        let mut stats: [Vec<(f64, String)>; 2] = [Vec::new(), Vec::new()];
        let mut failures: [Option<String>; 2] = [None, None];
        for _ in 0..runs {
            for (i, mode) in modes.iter().enumerate() {
                if failures[i].is_some() {
                    continue;
                }
                eprintln!("  {opt} --link-mode={mode}");
                let exe = work.join("e2e.out");
                let mut cmd = Command::new(skc);
                cmd.arg(opt)
                    .arg(format!("--link-mode={mode}"))
                    .arg("--stats")
                    .arg(&input.path)
                    .arg("-o")
                    .arg(&exe);
                match run_once(&mut cmd, work) {
                    Ok(run) => {
                        series[i].push(&run);
                        if let Some(s) = parse_stats(&run.stderr) {
                            stats[i].push(s);
                        }
                    }
                    Err(e) => failures[i] = Some(e.to_string()),
                }
                let _ = std::fs::remove_file(&exe);
            }
        }
        for (i, mode) in modes.iter().enumerate() {
            match &failures[i] {
                Some(e) => {
                    let _ = writeln!(t, "| {opt} | {mode} | failed: {e} | | | | | |");
                }
                None => {
                    let mut compile_ms: Vec<f64> = stats[i].iter().map(|s| s.0).collect();
                    compile_ms.sort_by(f64::total_cmp);
                    let median_ms = compile_ms
                        .get(compile_ms.len() / 2)
                        .map_or("—".to_owned(), |m| format!("{m:.0}"));
                    let rss = stats[i].last().map_or("—".to_owned(), |s| s.1.clone());
                    let tree = tree_peak_mib(skc, opt, mode, input, work);
                    let _ = writeln!(
                        t,
                        "| {opt} | {mode} | {} | {} | {:.1} | {tree} | {median_ms} | {rss} |",
                        series[i].wall().seconds(),
                        series[i].cpu().seconds(),
                        series[i].peak_rss_mib(),
                    );
                }
            }
        }
    }
    let _ = writeln!(
        t,
        "\nMedian of {runs} runs per row, exec and spawn interleaved. CPU time and peak RSS come \
         from `wait4` on the skc process, which counts the descendants it (or the clang it became) \
         reaped: CPU time is the sum over the tree, peak RSS the largest single process in it, \
         not the sum of processes alive at once. The tree peak is the largest sum of `VmRSS` over skc and \
         all its descendants alive at once, sampled from `/proc` in one extra, untimed run (so \
         the sampling does not slow the timed runs). The last two columns are skc's own `--stats` \
         line (time and `VmHWM` up to the end of the compile phase)."
    );
    Ok(t)
}

/// One extra build of `input`, untimed, with the whole process tree's
/// memory sampled; the peak sum in MiB, or why it is missing.
fn tree_peak_mib(skc: &Path, opt: &str, mode: &str, input: &Input, work: &Path) -> String {
    eprintln!("  {opt} --link-mode={mode} (tree memory)");
    let exe = work.join("e2e-watched.out");
    let mut cmd = Command::new(skc);
    cmd.arg(opt)
        .arg(format!("--link-mode={mode}"))
        .arg(&input.path)
        .arg("-o")
        .arg(&exe);
    let cell = match run_watched(&mut cmd, DEFAULT_INTERVAL, None) {
        Ok(w) if w.status.success() => {
            format!("{:.1}", w.tree_peak_bytes as f64 / (1024.0 * 1024.0))
        }
        Ok(w) => format!("failed: {}", w.status),
        Err(e) => format!("failed: {e}"),
    };
    let _ = std::fs::remove_file(&exe);
    cell
}

/// `skc: stats: compile: 12.3 ms, peak RSS 4.5 MiB` → (12.3, "4.5 MiB").
fn parse_stats(stderr: &str) -> Option<(f64, String)> {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("skc: stats: compile: "))?;
    let (ms, rest) = line.split_once(" ms")?;
    let rss = rest.split_once("peak RSS ")?.1.trim().to_owned();
    Some((ms.trim().parse().ok()?, rss))
}
