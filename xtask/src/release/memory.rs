//! The memory stage: skc's peak is the larger of its compile phase and
//! its link step, not their sum — measured on a generated module.
//!
//! Each build runs under [`crate::memwatch`], which samples the whole
//! process tree. skc's compile-phase peak comes from its own `--stats`
//! line; the link tools' peaks from the sampler's per-process high-water
//! marks. The default `exec` mode must keep the tree within 5% of the
//! larger phase; `--link-mode=spawn`, where skc waits as clang's parent,
//! is measured alongside so the difference is shown.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};

use super::context::{run_checked, shell_line, Outcome, Release};
use crate::memwatch::{run_watched, Watched, DEFAULT_INTERVAL};

/// How far above the larger phase the tree may go.
const TOLERANCE: f64 = 1.05;
/// Below this the sampled sum could miss short peaks.
const MIN_SAMPLE_RATE_HZ: f64 = 100.0;

/// wasm-opt's -O2 takes minutes on the large module; the wasm32 chain is
/// measured on a smaller one.
const WASM_SIZE_MB: f64 = 1.0;

fn wasm_module_path(r: &Release) -> PathBuf {
    r.work().join("memory/module-wasm.ssa")
}

fn module_path(r: &Release) -> PathBuf {
    r.work().join("memory/module.ssa")
}

fn generate_command(size_mb: f64, path: PathBuf) -> Command {
    let xtask = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("xtask"));
    let mut cmd = Command::new(xtask);
    cmd.arg("gen-module")
        .arg("--size-mb")
        .arg(size_mb.to_string())
        .arg("-o")
        .arg(path);
    cmd
}

fn generate_commands(r: &Release) -> [Command; 2] {
    [
        generate_command(r.memory_size_mb, module_path(r)),
        generate_command(WASM_SIZE_MB.min(r.memory_size_mb), wasm_module_path(r)),
    ]
}

/// The three measured builds: a label, whether the bound is enforced, and
/// the skc arguments.
fn builds(r: &Release) -> Vec<(&'static str, bool, Vec<String>)> {
    let module = module_path(r).display().to_string();
    let wasm_module = wasm_module_path(r).display().to_string();
    let out = |name: &str| r.work().join("memory").join(name).display().to_string();
    let common = |extra: &[&str], input: &str, output: String| {
        let mut args: Vec<String> = vec!["--stats".into(), "-O2".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend([input.to_owned(), "-o".into(), output]);
        args
    };
    vec![
        (
            "native, exec (default)",
            true,
            common(&[], &module, out("native-exec")),
        ),
        (
            "native, --link-mode=spawn",
            false,
            common(&["--link-mode=spawn"], &module, out("native-spawn")),
        ),
        (
            "wasm32 (chain, small IL)",
            true,
            common(&["--target", "wasm32"], &wasm_module, out("module.wasm")),
        ),
    ]
}

pub fn commands(r: &Release) -> Vec<String> {
    let mut lines: Vec<String> = generate_commands(r).iter().map(shell_line).collect();
    for (_, _, args) in builds(r) {
        lines.push(format!("{} {}", r.skc().display(), args.join(" ")));
    }
    lines
}

/// One measured build.
struct Row {
    label: &'static str,
    enforced: bool,
    compile: u64,
    /// The peak of the tools skc ran (clang's driver and cc1, wasm-ld,
    /// ...), summed over those alive together, without skc.
    tool: u64,
    /// The largest of those tools.
    tool_name: String,
    /// skc's resident size while its chain steps ran (spawn and wasm32).
    driver_during_link: Option<u64>,
    tree: u64,
    rate_hz: f64,
}

impl Row {
    /// The most the tree may hold if skc adds nothing of its own: the
    /// larger phase; for a chain, skc's leftover plus the largest tool.
    fn larger_phase(&self) -> u64 {
        let link = self.tool + self.driver_during_link.unwrap_or(0);
        self.compile.max(link)
    }
}

pub fn run(r: &Release) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(r.work().join("memory"))?;
    for mut generate in generate_commands(r) {
        run_checked(&mut generate)?;
    }
    let size = std::fs::metadata(module_path(r))?.len();
    let wasm_size = std::fs::metadata(wasm_module_path(r))?.len();

    let mut rows = Vec::new();
    for (label, enforced, args) in builds(r) {
        let mut cmd = Command::new(r.skc());
        cmd.args(&args);
        let watched = run_watched(&mut cmd, DEFAULT_INTERVAL, Some("skc"))?;
        if !watched.status.success() {
            bail!(
                "{} {} failed ({}):\n{}{}",
                r.skc().display(),
                args.join(" "),
                watched.status,
                String::from_utf8_lossy(&watched.stdout),
                String::from_utf8_lossy(&watched.stderr)
            );
        }
        let row = row(label, enforced, &watched)?;
        // Each build takes minutes: show its figures as they come.
        println!(
            "  {label}: compile {}, link tools {}, tree {}",
            mib(row.compile),
            mib(row.tool),
            mib(row.tree)
        );
        rows.push(row);
    }

    let mut table = format!(
        "module: {:.1} MiB of IL (wasm32: {:.1} MiB)\n{:<26} {:>9} {:>18} {:>10} {:>10} {:>7} {:>6}",
        size as f64 / MIB,
        wasm_size as f64 / MIB,
        "build",
        "compile",
        "link tools",
        "skc@link",
        "tree",
        "tree/max",
        "Hz"
    );
    let mut failures = Vec::new();
    for row in &rows {
        let ratio = row.tree as f64 / row.larger_phase() as f64;
        table.push_str(&format!(
            "\n{:<26} {:>9} {:>18} {:>10} {:>10} {:>7.3} {:>6.0}",
            row.label,
            mib(row.compile),
            format!("{} {}", row.tool_name, mib(row.tool)),
            row.driver_during_link
                .map(mib)
                .unwrap_or_else(|| "-".into()),
            mib(row.tree),
            ratio,
            row.rate_hz
        ));
        if row.rate_hz < MIN_SAMPLE_RATE_HZ {
            failures.push(format!(
                "{}: sampled at {:.0} Hz, below {MIN_SAMPLE_RATE_HZ} Hz",
                row.label, row.rate_hz
            ));
        }
        if row.enforced && ratio > TOLERANCE {
            failures.push(format!(
                "{}: the process tree peaked at {}, more than {TOLERANCE} x the larger phase ({})",
                row.label,
                mib(row.tree),
                mib(row.larger_phase())
            ));
        }
    }
    if !failures.is_empty() {
        bail!("{table}\n{}", failures.join("\n"));
    }
    Ok(Outcome::Done(table))
}

const MIB: f64 = 1024.0 * 1024.0;

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / MIB)
}

fn row(label: &'static str, enforced: bool, watched: &Watched) -> anyhow::Result<Row> {
    let stderr = String::from_utf8_lossy(&watched.stderr);
    let compile = stats_mib(&stderr, "skc: stats: compile:", "peak RSS ")
        .context("skc --stats printed no compile-phase peak")?;
    let driver_during_link = stderr
        .lines()
        .filter(|l| l.starts_with("skc: stats: driver RSS while "))
        .filter_map(|l| parse_mib(l.rsplit(": ").next()?))
        .max();
    let tool_name = watched
        .processes
        .iter()
        .filter(|p| p.name != "skc")
        .max_by_key(|p| p.peak_bytes)
        .map(|p| p.name.clone())
        .context("no link tool was seen running")?;
    let tool = watched.others_peak_bytes;
    Ok(Row {
        label,
        enforced,
        compile,
        tool,
        tool_name,
        driver_during_link,
        tree: watched.tree_peak_bytes,
        rate_hz: watched.sample_rate_hz(),
    })
}

/// The figure after `key` on the line starting with `line_start`, in bytes.
fn stats_mib(stderr: &str, line_start: &str, key: &str) -> Option<u64> {
    let line = stderr.lines().find(|l| l.starts_with(line_start))?;
    parse_mib(&line[line.find(key)? + key.len()..])
}

/// `"123.4 MiB"` in bytes.
fn parse_mib(text: &str) -> Option<u64> {
    let number: f64 = text.trim().strip_suffix("MiB")?.trim().parse().ok()?;
    Some((number * MIB) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skc_stats_lines_are_read() {
        let stderr = "skc: stats: compile: 812.5 ms, peak RSS 143.2 MiB\n\
                      skc: stats: driver RSS while wasm-ld runs: 9.5 MiB\n";
        assert_eq!(
            stats_mib(stderr, "skc: stats: compile:", "peak RSS "),
            Some((143.2 * MIB) as u64)
        );
        assert_eq!(parse_mib("9.5 MiB"), Some((9.5 * MIB) as u64));
        assert_eq!(parse_mib("unknown"), None);
    }
}
