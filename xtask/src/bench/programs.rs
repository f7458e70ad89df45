//! Run time of the benchmark programs: clang from C against skc from the
//! shipped IL, natively and as wasm32-wasi under wasmtime.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use super::measure::{first_line, geomean, run_once, Series};

/// Where programs are built for and run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Native,
    Wasm32,
}

impl Platform {
    pub fn title(self) -> &'static str {
        match self {
            Platform::Native => "native (x86-64)",
            Platform::Wasm32 => "wasm32-wasi (wasmtime)",
        }
    }

    fn dir_name(self) -> &'static str {
        match self {
            Platform::Native => "native",
            Platform::Wasm32 => "wasm32",
        }
    }

    fn executable_suffix(self) -> &'static str {
        match self {
            Platform::Native => "",
            Platform::Wasm32 => ".wasm",
        }
    }
}

/// One benchmark program and the argument it runs with.
pub struct Program {
    pub name: String,
    /// The directory holding `NAME.c`, `NAME.ssa` and the expected outputs.
    pub dir: PathBuf,
    /// The set it belongs to (its directory as given), for per-set means.
    pub set: String,
    pub arg: String,
    /// Which expected-output file matches `arg`: `test` or `bench`.
    pub size: &'static str,
}

/// Reads `sizes.txt` (`name test bench` per line, `#` comments).
pub fn read_programs(bench_dir: &Path, set: &str, quick: bool) -> anyhow::Result<Vec<Program>> {
    let path = bench_dir.join("sizes.txt");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut programs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, test, bench] = fields[..] else {
            bail!("{}:{}: expected `name test bench`", path.display(), n + 1);
        };
        let (arg, size) = if quick {
            (test, "test")
        } else {
            (bench, "bench")
        };
        programs.push(Program {
            name: name.to_owned(),
            dir: bench_dir.to_path_buf(),
            set: set.to_owned(),
            arg: arg.to_owned(),
            size,
        });
    }
    if programs.is_empty() {
        bail!("{} lists no programs", path.display());
    }
    Ok(programs)
}

/// The two builds of one program, or why a build is missing.
pub struct Outcome {
    pub program: String,
    pub set: String,
    pub arg: String,
    pub clang: Result<Series, String>,
    pub skc: Result<Series, String>,
}

impl Outcome {
    /// skc's median time over clang's, wall and CPU, when both ran correctly.
    pub fn ratios(&self) -> Option<(f64, f64)> {
        let (Ok(c), Ok(s)) = (&self.clang, &self.skc) else {
            return None;
        };
        Some((
            s.wall().median / c.wall().median,
            s.cpu().median / c.cpu().median,
        ))
    }
}

/// Tools and places the comparison needs.
pub struct Setup<'a> {
    pub skc: &'a Path,
    pub work: &'a Path,
    pub runs: usize,
}

/// Builds and runs every program both ways; runs interleave clang, skc,
/// clang, skc… so that a change in machine load hits both alike.
pub fn compare(
    platform: Platform,
    programs: &[Program],
    setup: &Setup,
) -> anyhow::Result<Vec<Outcome>> {
    let work = setup.work.join(platform.dir_name());
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let mut outcomes = Vec::new();
    for p in programs {
        eprint!("  {:<12} building…", p.name);
        let expected_path = p.dir.join(format!("{}.expected.{}", p.name, p.size));
        let expected = std::fs::read_to_string(&expected_path)
            .with_context(|| format!("cannot read {}", expected_path.display()))?;
        let clang_exe = work.join(format!("{}.clang{}", p.name, platform.executable_suffix()));
        let skc_exe = work.join(format!("{}.skc{}", p.name, platform.executable_suffix()));
        let c_src = p.dir.join(format!("{}.c", p.name));
        let il_src = p.dir.join(format!("{}.ssa", p.name));
        let clang_built = build(clang_command(platform, &c_src, &clang_exe), &work);
        let skc_built = build(skc_command(platform, setup.skc, &il_src, &skc_exe), &work);
        let mut clang = clang_built.map(|()| Series::default());
        let mut skc = skc_built.map(|()| Series::default());
        eprint!(" running");
        for _ in 0..setup.runs {
            run_and_check(&mut clang, platform, &clang_exe, p, &expected, &work);
            run_and_check(&mut skc, platform, &skc_exe, p, &expected, &work);
            eprint!(".");
        }
        eprintln!();
        outcomes.push(Outcome {
            program: p.name.clone(),
            set: p.set.clone(),
            arg: p.arg.clone(),
            clang,
            skc,
        });
    }
    Ok(outcomes)
}

fn clang_command(platform: Platform, src: &Path, exe: &Path) -> Command {
    let mut cmd = Command::new("clang-19");
    if platform == Platform::Wasm32 {
        cmd.args(["--target=wasm32-wasi", "--sysroot=/usr"]);
    }
    cmd.arg("-O2").arg(src).arg("-o").arg(exe);
    cmd
}

fn skc_command(platform: Platform, skc: &Path, src: &Path, exe: &Path) -> Command {
    let mut cmd = Command::new(skc);
    if platform == Platform::Wasm32 {
        cmd.args(["--target", "wasm32"]);
    }
    cmd.arg("-O2").arg(src).arg("-o").arg(exe);
    cmd
}

fn build(mut cmd: Command, work: &Path) -> Result<(), String> {
    run_once(&mut cmd, work)
        .map(|_| ())
        .map_err(|e| format!("build failed: {e}"))
}

/// Runs one build once, adding the time to `series`; a wrong output or a
/// failed run replaces the series by the reason (later runs are skipped).
fn run_and_check(
    series: &mut Result<Series, String>,
    platform: Platform,
    exe: &PathBuf,
    p: &Program,
    expected: &str,
    work: &Path,
) {
    let Ok(s) = series else { return };
    let mut cmd = match platform {
        Platform::Native => Command::new(exe),
        Platform::Wasm32 => {
            let mut c = Command::new("wasmtime");
            c.arg("run").arg(exe);
            c
        }
    };
    cmd.arg(&p.arg);
    match run_once(&mut cmd, work) {
        Ok(run) if run.stdout == expected => s.push(&run),
        Ok(run) => {
            let got = first_line(&run.stdout).unwrap_or_else(|| "(no output)".into());
            *series = Err(format!("wrong output: {got}"));
        }
        Err(e) => *series = Err(format!("run failed: {e}")),
    }
}

/// The comparison as a Markdown table with a geometric-mean row.
pub fn table(outcomes: &[Outcome], runs: usize) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| program | arg | clang wall s | skc wall s | wall ratio | clang CPU s | skc CPU s | CPU ratio |"
    );
    let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for o in outcomes {
        let cell = |r: &Result<Series, String>, f: fn(&Series) -> String| match r {
            Ok(s) => f(s),
            Err(e) => e.clone(),
        };
        let (wall_ratio, cpu_ratio) = match o.ratios() {
            Some((w, c)) => {
                walls.push(w);
                cpus.push(c);
                (format!("{w:.2}×"), format!("{c:.2}×"))
            }
            None => ("—".into(), "—".into()),
        };
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            o.program,
            o.arg,
            cell(&o.clang, |s| s.wall().seconds()),
            cell(&o.skc, |s| s.wall().seconds()),
            wall_ratio,
            cell(&o.clang, |s| s.cpu().seconds()),
            cell(&o.skc, |s| s.cpu().seconds()),
            cpu_ratio,
        );
    }
    let missing = outcomes.len() - walls.len();
    let _ = writeln!(
        t,
        "| **geometric mean** | | | | **{:.2}×** | | | **{:.2}×** |",
        geomean(&walls),
        geomean(&cpus)
    );
    let mut sets: Vec<&str> = Vec::new();
    for o in outcomes {
        if !sets.contains(&o.set.as_str()) {
            sets.push(&o.set);
        }
    }
    if sets.len() > 1 {
        for set in sets {
            let (w, c): (Vec<f64>, Vec<f64>) = outcomes
                .iter()
                .filter(|o| o.set == set)
                .filter_map(Outcome::ratios)
                .unzip();
            let _ = writeln!(
                t,
                "| geometric mean, `{set}` | | | | {:.2}× | | | {:.2}× |",
                geomean(&w),
                geomean(&c)
            );
        }
    }
    let _ = writeln!(
        t,
        "\nMedian of {runs} interleaved runs (min–max in brackets); ratio = skc / clang medians; \
         {} of {} programs compared{}.",
        walls.len(),
        outcomes.len(),
        if missing > 0 {
            ", the others failed as shown and are left out of the mean"
        } else {
            ""
        }
    );
    t
}
