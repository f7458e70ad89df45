//! Run time of the benchmark programs: clang from C against skc from the
//! shipped IL, natively and as wasm32-wasi under wasmtime.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use super::measure::{first_line, geomean, run_once, Series, Spread};

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

/// The runs of one build of a program, one series per code placement.
#[derive(Default)]
pub struct Timings {
    pub placements: Vec<Series>,
}

impl Timings {
    /// With one placement: the median over runs, min–max over runs. With
    /// several: the geometric mean of the per-placement medians, min–max
    /// over those medians (the spread placement alone causes).
    fn summary(&self, of: fn(&Series) -> Spread) -> Spread {
        if let [one] = &self.placements[..] {
            return of(one);
        }
        let medians: Vec<f64> = self.placements.iter().map(|s| of(s).median).collect();
        Spread {
            median: geomean(&medians),
            min: medians.iter().copied().fold(f64::INFINITY, f64::min),
            max: medians.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    pub fn wall(&self) -> Spread {
        self.summary(Series::wall)
    }

    pub fn cpu(&self) -> Spread {
        self.summary(Series::cpu)
    }
}

/// The two builds of one program, or why a build is missing.
pub struct Outcome {
    pub program: String,
    pub set: String,
    pub arg: String,
    pub clang: Result<Timings, String>,
    pub skc: Result<Timings, String>,
}

impl Outcome {
    /// skc's time over clang's, wall and CPU, when both ran correctly.
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
    /// Code offsets in bytes to build each program at (native only; empty:
    /// one build, no padding).
    pub offsets: &'a [u32],
}

/// Offsets that put 16-byte-aligned code (functions and loops, as both
/// compilers align them) at each of its four places in a 64-byte cache
/// line.
pub const CACHE_LINE_OFFSETS: [u32; 4] = [0, 16, 32, 48];

/// An object whose only content is `offset` bytes of code in
/// `.text.hot`, which the GNU linker's default script places before
/// every `.text` input section: linked into a program, it moves all of
/// the program's code (crt start-up included) by `offset` bytes without
/// changing any of it.
fn padding_object(work: &Path, offset: u32) -> anyhow::Result<PathBuf> {
    let asm = work.join(format!("pad{offset}.s"));
    let obj = work.join(format!("pad{offset}.o"));
    std::fs::write(
        &asm,
        format!(
            ".section .text.hot,\"ax\",@progbits\n.p2align 6\n.globl skc_bench_pad\n\
             skc_bench_pad:\n.fill {offset},1,0xcc\n.section .note.GNU-stack,\"\",@progbits\n"
        ),
    )
    .with_context(|| format!("cannot write {}", asm.display()))?;
    let mut cmd = Command::new("clang-19");
    cmd.arg("-c").arg(&asm).arg("-o").arg(&obj);
    build(cmd, work).map_err(|e| anyhow::anyhow!("padding object: {e}"))?;
    Ok(obj)
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
    // One build per placement, or a single unpadded one.
    let pads: Vec<Option<PathBuf>> = if setup.offsets.is_empty() || platform != Platform::Native {
        vec![None]
    } else {
        setup
            .offsets
            .iter()
            .map(|&offset| padding_object(&work, offset).map(Some))
            .collect::<anyhow::Result<_>>()?
    };
    let mut outcomes = Vec::new();
    for p in programs {
        eprint!("  {:<12} ", p.name);
        let expected_path = p.dir.join(format!("{}.expected.{}", p.name, p.size));
        let expected = std::fs::read_to_string(&expected_path)
            .with_context(|| format!("cannot read {}", expected_path.display()))?;
        let c_src = p.dir.join(format!("{}.c", p.name));
        let il_src = p.dir.join(format!("{}.ssa", p.name));
        let mut clang: Result<Timings, String> = Ok(Timings::default());
        let mut skc: Result<Timings, String> = Ok(Timings::default());
        for (i, pad) in pads.iter().enumerate() {
            eprint!("building…");
            let suffix = platform.executable_suffix();
            let clang_exe = work.join(format!("{}.{i}.clang{suffix}", p.name));
            let skc_exe = work.join(format!("{}.{i}.skc{suffix}", p.name));
            let mut clang_cmd = clang_command(platform, pad.as_deref());
            clang_cmd.arg(&c_src).arg("-o").arg(&clang_exe);
            let mut skc_cmd = skc_command(platform, setup.skc, pad.as_deref());
            skc_cmd.arg(&il_src).arg("-o").arg(&skc_exe);
            let mut clang_runs = build(clang_cmd, &work).map(|()| Series::default());
            let mut skc_runs = build(skc_cmd, &work).map(|()| Series::default());
            eprint!(" running");
            for _ in 0..setup.runs {
                run_and_check(&mut clang_runs, platform, &clang_exe, p, &expected, &work);
                run_and_check(&mut skc_runs, platform, &skc_exe, p, &expected, &work);
                eprint!(".");
            }
            eprint!(" ");
            record(&mut clang, clang_runs);
            record(&mut skc, skc_runs);
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

/// Adds one placement's runs; a failure at any placement stands for the build.
fn record(timings: &mut Result<Timings, String>, runs: Result<Series, String>) {
    match (timings.as_mut(), runs) {
        (Ok(t), Ok(series)) => t.placements.push(series),
        (Ok(_), Err(e)) => *timings = Err(e),
        (Err(_), _) => {}
    }
}

/// `clang-19 -O2 [PAD]`; the caller adds the source and output.
fn clang_command(platform: Platform, pad: Option<&Path>) -> Command {
    let mut cmd = Command::new("clang-19");
    if platform == Platform::Wasm32 {
        cmd.args(["--target=wasm32-wasi", "--sysroot=/usr"]);
    }
    cmd.arg("-O2");
    cmd.args(pad);
    cmd
}

/// `skc -O2 [PAD]`; the caller adds the source and output.
fn skc_command(platform: Platform, skc: &Path, pad: Option<&Path>) -> Command {
    let mut cmd = Command::new(skc);
    if platform == Platform::Wasm32 {
        cmd.args(["--target", "wasm32"]);
    }
    cmd.arg("-O2");
    cmd.args(pad);
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
pub fn table(outcomes: &[Outcome], runs: usize, offsets: &[u32]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| program | arg | clang wall s | skc wall s | wall ratio | clang CPU s | skc CPU s | CPU ratio |"
    );
    let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for o in outcomes {
        let cell = |r: &Result<Timings, String>, f: fn(&Timings) -> Spread| match r {
            Ok(t) => f(t).seconds(),
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
            cell(&o.clang, Timings::wall),
            cell(&o.skc, Timings::wall),
            wall_ratio,
            cell(&o.clang, Timings::cpu),
            cell(&o.skc, Timings::cpu),
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
    let placed = match offsets {
        [] | [_] => format!("Median of {runs} interleaved runs (min–max in brackets); ratio = skc / clang medians"),
        _ => format!(
            "Each side built {} times, its code moved by {} bytes (a padding object linked first), \
             {runs} interleaved runs per build; a time is the geometric mean of the builds' medians \
             (min–max of those medians in brackets: the spread placement alone causes); ratio = \
             skc / clang of those means",
            offsets.len(),
            offsets.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        ),
    };
    let _ = writeln!(
        t,
        "\n{placed}; {} of {} programs compared{}.",
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
