//! Repeated measurements of one command: medians and spreads, and the
//! first line of a failure.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use crate::rusage::run_measured;

/// All runs of one command.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Wall time per run.
    pub wall: Vec<Duration>,
    /// User plus system CPU time per run.
    pub cpu: Vec<Duration>,
    /// Peak RSS per run, in bytes (the largest single process: `wait4`
    /// reports the maximum over the child and its reaped descendants).
    pub rss: Vec<u64>,
}

/// Median, smallest and largest of a set of seconds.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Spread {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return Spread {
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        let median = if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        };
        Spread {
            median,
            min: v[0],
            max: v[v.len() - 1],
        }
    }

    /// `0.84 (0.82–0.90)`.
    pub fn seconds(&self) -> String {
        format!("{:.3} ({:.3}–{:.3})", self.median, self.min, self.max)
    }
}

impl Series {
    pub fn wall(&self) -> Spread {
        Spread::of(
            &self
                .wall
                .iter()
                .map(Duration::as_secs_f64)
                .collect::<Vec<_>>(),
        )
    }

    pub fn cpu(&self) -> Spread {
        Spread::of(
            &self
                .cpu
                .iter()
                .map(Duration::as_secs_f64)
                .collect::<Vec<_>>(),
        )
    }

    /// The largest peak RSS over the runs, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.rss.iter().copied().max().unwrap_or(0) as f64 / (1024.0 * 1024.0)
    }
}

/// What one run produced.
pub struct RunOutput {
    pub wall: Duration,
    pub cpu: Duration,
    pub peak_rss: u64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` once with its output captured in files under `scratch`
/// (files rather than pipes, so a large output cannot block the child
/// and the measurement includes no reader thread). A failure carries the
/// first line of the child's standard error.
pub fn run_once(cmd: &mut Command, scratch: &Path) -> anyhow::Result<RunOutput> {
    let out_path = scratch.join("run.stdout");
    let err_path = scratch.join("run.stderr");
    let out =
        File::create(&out_path).with_context(|| format!("cannot create {}", out_path.display()))?;
    let err =
        File::create(&err_path).with_context(|| format!("cannot create {}", err_path.display()))?;
    let result = run_measured(cmd.stdin(Stdio::null()).stdout(out).stderr(err));
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    match result {
        Ok(usage) => Ok(RunOutput {
            wall: usage.wall,
            cpu: usage.cpu,
            peak_rss: usage.peak_rss,
            stdout,
            stderr,
        }),
        Err(e) => {
            let first = trap_line(&stderr)
                .or_else(|| first_line(&stderr))
                .or_else(|| first_line(&stdout));
            match first {
                Some(line) => Err(anyhow::anyhow!("{line}")),
                None => Err(e),
            }
        }
    }
}

/// A wasm runtime's first line names only the module; the trap itself
/// (`wasm trap: ...`) is what tells one failure from another.
fn trap_line(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.contains("wasm trap:"))?;
    let trap = &line[line.find("wasm trap:")?..];
    first_line(trap)
}

/// The first non-empty line of `text`, trimmed, shortened to fit a table cell.
pub fn first_line(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut short: String = line.chars().take(110).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    Some(short.replace('|', "\\|"))
}

impl Series {
    pub fn push(&mut self, run: &RunOutput) {
        self.wall.push(run.wall);
        self.cpu.push(run.cpu);
        self.rss.push(run.peak_rss);
    }
}

/// Geometric mean of positive ratios (NaN when there are none).
pub fn geomean(ratios: &[f64]) -> f64 {
    if ratios.is_empty() {
        return f64::NAN;
    }
    (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp()
}
