//! End-to-end corpus: every program in `tests/corpus/` and every benchmark in
//! `../shared/bench/` and `tests/bench/` is compiled by `skc` for each registered target at
//! `-O0` and `-O2` (or the levels its `# opt:` line names), run with the arguments `a b c` (benchmarks: their test
//! size), and its stdout and exit status compared with the expectations in
//! the file (see `skc_tests::case`).
//!
//! Test names are `TARGET/OPT/NAME`, e.g. `native/O2/arith_add` or
//! `wasm32/O0/bench/fft`.
//!
//! Environment:
//! - `SKC`: the `skc` binary to test. Without it the harness builds
//!   `skc-driver`'s `skc` with the cargo that runs the tests (`$CARGO`), in
//!   the same target directory and profile as this test executable (which
//!   lives in `<target>/<profile>/deps/`), and uses `<target>/<profile>/skc`.
//!   A test crate cannot use `CARGO_BIN_EXE_skc`: that only exists for
//!   binaries of the package under test.
//! - `SKC_TARGETS`: comma-separated targets to test (default: every target
//!   `skc --print-targets` lists).
//! - `WASMTIME`: the wasm runtime (default `wasmtime`).
//! - `SKC_OLDER_LLVM`: comma-separated LLVM versions (default `15,16`)
//!   under which a subset of the corpus runs again, with `--clang
//!   clang-N --wasm-ld wasm-ld-N`: test names `llvm-N/TARGET/OPT/NAME`.
//!   Empty: none. A version whose tools are missing is one failing test.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use libtest_mimic::{Arguments, Failed, Trial};
use skc_tests::case::{self, Expectations, ExpectedExit};
use skc_tests::diff;

/// Optimisation levels every program is compiled at.
const OPT_LEVELS: [&str; 2] = ["O0", "O2"];
/// Arguments corpus programs run with.
const PROGRAM_ARGS: [&str; 3] = ["a", "b", "c"];
/// The older LLVM versions the corpus subset runs under by default: the
/// oldest skc supports and the other one Debian 12 ships.
const OLDER_LLVM: [u32; 2] = [15, 16];
/// Within each group of corpus programs sharing a name prefix (`agg_`,
/// `c_`, ...), every this-many-th runs under older LLVM versions.
const OLDER_LLVM_STRIDE: usize = 4;
/// Generous limits, so a hang fails the test instead of blocking the suite.
const COMPILE_TIMEOUT: Duration = Duration::from_secs(120);
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn main() {
    let args = Arguments::from_args();
    let trials = match plan_trials() {
        Ok((trials, summary)) => {
            if !args.list {
                eprint!("{summary}");
            }
            trials
        }
        // A broken setup is one failing test with the reason, not a panic.
        Err(error) => {
            let message = format!("{error:#}");
            vec![Trial::test("corpus-setup", move || Err(message.into()))]
        }
    };
    libtest_mimic::run(&args, trials).exit();
}

/// One program to compile and run.
struct Program {
    /// Name in test names, e.g. `arith_add` or `bench/fft`.
    name: String,
    /// The IL file.
    source: PathBuf,
    expect: Expectations,
    args: Vec<String>,
}

/// A corpus file whose expectations cannot be read: its name and the error.
type Malformed = (String, String);

/// Everything a trial needs that is shared between trials.
struct Setup {
    skc: PathBuf,
    wasmtime: OsString,
}

fn plan_trials() -> Result<(Vec<Trial>, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the tests crate has no parent directory")?
        .to_path_buf();
    let skc = skc_tests::skc_binary::locate(&root)?;
    let (registered, targets) = selected_targets(&skc)?;
    let setup = Arc::new(Setup {
        skc,
        wasmtime: std::env::var_os("WASMTIME").unwrap_or_else(|| "wasmtime".into()),
    });

    let (mut programs, mut malformed) = corpus_programs(&root.join("tests/corpus"), "")?;
    let (examples, malformed_examples) = corpus_programs(&root.join("examples"), "examples/")?;
    programs.extend(examples);
    malformed.extend(malformed_examples);
    programs.extend(bench_programs(&root.join("../shared/bench"))?);
    programs.extend(bench_programs(&root.join("tests/bench"))?);

    let mut trials = Vec::new();
    // A misspelt target in `# targets:` would silently drop the program.
    for program in &programs {
        if let Some(restriction) = &program.expect.targets {
            if let Some(unknown) = restriction.targets.iter().find(|t| !registered.contains(t)) {
                malformed.push((
                    program.name.clone(),
                    format!(
                        "{}: `# targets:` names `{unknown}`, which skc does not register (it has: {})",
                        program.source.display(),
                        registered.join(", ")
                    ),
                ));
            }
        }
    }
    for (name, error) in malformed {
        trials.push(Trial::test(format!("format/{name}"), move || {
            Err(error.into())
        }));
    }
    // target -> (reason -> programs not run there)
    let mut not_run: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let programs: Vec<Arc<Program>> = programs.into_iter().map(Arc::new).collect();
    for target in &targets {
        for program in &programs {
            let skip_reason = if !program.expect.runs_on(target) {
                program
                    .expect
                    .targets
                    .as_ref()
                    .map(|r| format!("restricted by `# targets:` ({})", r.reason))
            } else {
                None
            };
            if let Some(reason) = skip_reason {
                not_run
                    .entry(target.clone())
                    .or_default()
                    .entry(reason)
                    .or_default()
                    .push(program.name.clone());
                continue;
            }
            let opt_levels: Vec<String> = match &program.expect.opt_levels {
                Some(levels) => levels.clone(),
                None => OPT_LEVELS.iter().map(|l| l.to_string()).collect(),
            };
            for opt in opt_levels {
                let (setup, program, target_name) =
                    (Arc::clone(&setup), Arc::clone(program), target.clone());
                let name = format!("{target}/{opt}/{}", program.name);
                trials.push(Trial::test(name, move || {
                    run_case(&setup, &program, &target_name, &opt, None).map_err(Failed::from)
                }));
            }
        }
    }
    let older = older_llvm_versions()?;
    let subset = older_llvm_subset(&programs);
    for &version in &older {
        if let Some(missing) = missing_llvm_tools(version) {
            trials.push(Trial::test(format!("llvm-{version}/setup"), move || {
                Err(missing.into())
            }));
            continue;
        }
        for target in &targets {
            for program in subset.iter().filter(|p| p.expect.runs_on(target)) {
                let opt_levels: Vec<String> = match &program.expect.opt_levels {
                    Some(levels) => levels.clone(),
                    None => OPT_LEVELS.iter().map(|l| l.to_string()).collect(),
                };
                for opt in opt_levels {
                    let (setup, program, target_name) =
                        (Arc::clone(&setup), Arc::clone(program), target.clone());
                    let name = format!("llvm-{version}/{target}/{opt}/{}", program.name);
                    trials.push(Trial::test(name, move || {
                        run_case(&setup, &program, &target_name, &opt, Some(version))
                            .map_err(Failed::from)
                    }));
                }
            }
        }
    }

    let mut summary = format!(
        "corpus: {} programs, targets {}, {} cases\n",
        programs.len(),
        targets.join(", "),
        trials.len()
    );
    if !older.is_empty() {
        let versions: Vec<String> = older.iter().map(u32::to_string).collect();
        let _ = writeln!(
            summary,
            "corpus: {} programs also under LLVM {} (SKC_OLDER_LLVM)",
            subset.len(),
            versions.join(", ")
        );
    }
    for (target, reasons) in &not_run {
        for (reason, names) in reasons {
            let count = names.len();
            let noun = if count == 1 { "program" } else { "programs" };
            let _ = writeln!(
                summary,
                "corpus: {count} {noun} not run on {target}: {reason}: {}",
                names.join(" ")
            );
        }
    }
    Ok((trials, summary))
}

/// `SKC_OLDER_LLVM`, or [`OLDER_LLVM`].
fn older_llvm_versions() -> Result<Vec<u32>> {
    let Some(wanted) = std::env::var_os("SKC_OLDER_LLVM") else {
        return Ok(OLDER_LLVM.to_vec());
    };
    wanted
        .to_string_lossy()
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse()
                .map_err(|_| anyhow!("SKC_OLDER_LLVM: `{v}` is not an LLVM major version"))
        })
        .collect()
}

/// The corpus programs run under older LLVM versions: within each group
/// sharing a name prefix, the first and every [`OLDER_LLVM_STRIDE`]-th
/// after it, so that every kind of program is among them.
fn older_llvm_subset(programs: &[Arc<Program>]) -> Vec<Arc<Program>> {
    let mut seen_in_group: BTreeMap<&str, usize> = BTreeMap::new();
    let mut subset = Vec::new();
    for program in programs {
        // The benchmarks and examples are large; the corpus covers what
        // they use.
        if program.name.contains('/') {
            continue;
        }
        let group = program.name.split('_').next().unwrap_or(&program.name);
        let seen = seen_in_group.entry(group).or_default();
        if seen.is_multiple_of(OLDER_LLVM_STRIDE) {
            subset.push(Arc::clone(program));
        }
        *seen += 1;
    }
    subset
}

/// Why LLVM `version`'s tools cannot be used, if they cannot.
fn missing_llvm_tools(version: u32) -> Option<String> {
    let missing: Vec<String> = [format!("clang-{version}"), format!("wasm-ld-{version}")]
        .into_iter()
        .filter(|tool| !on_path(tool))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "{} not on PATH: install clang-{version} and lld-{version} (.ci/install-toolchain \
             does), or leave LLVM {version} out with SKC_OLDER_LLVM",
            missing.join(" and ")
        )
    })
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The registered targets (`skc --print-targets`, the first word of each
/// line) and those to test (narrowed by `SKC_TARGETS`).
fn selected_targets(skc: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let output = Command::new(skc)
        .arg("--print-targets")
        .output()
        .with_context(|| format!("cannot run {}", skc.display()))?;
    if !output.status.success() {
        bail!(
            "`{} --print-targets` failed ({}):\n{}",
            skc.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let registered: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect();
    if registered.is_empty() {
        bail!("`{} --print-targets` lists no target", skc.display());
    }
    let Some(wanted) = std::env::var_os("SKC_TARGETS") else {
        return Ok((registered.clone(), registered));
    };
    let wanted = wanted.to_string_lossy().into_owned();
    let mut chosen = Vec::new();
    for target in wanted.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !registered.iter().any(|r| r == target) {
            bail!(
                "SKC_TARGETS names `{target}`, which skc does not register (it has: {})",
                registered.join(", ")
            );
        }
        chosen.push(target.to_string());
    }
    Ok((registered, chosen))
}

/// Every `*.ssa` in the corpus directory, by name. A file whose
/// expectations cannot be read is returned as `(name, error)`, so it fails
/// alone instead of stopping the whole corpus.
/// The programs in `dir`, named `PREFIX` + file stem. A C file
/// `STEM_driver.c` beside a program is its driver when the program has no
/// `driver` block (the examples keep their C beside the IL, for reading).
fn corpus_programs(dir: &Path, prefix: &str) -> Result<(Vec<Program>, Vec<Malformed>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot read {}", dir.display()))?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "ssa"));
    paths.sort();
    let mut programs = Vec::new();
    let mut malformed = Vec::new();
    for path in paths {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .with_context(|| format!("unreadable file name {}", path.display()))?;
        let name = format!("{prefix}{stem}");
        let driver_path = dir.join(format!("{stem}_driver.c"));
        let expect = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))
            .and_then(|text| case::parse(&text).map_err(|e| format!("{}:{e}", path.display())))
            .and_then(|mut expect| {
                if expect.driver.is_none() && driver_path.exists() {
                    let driver = std::fs::read_to_string(&driver_path)
                        .map_err(|e| format!("{}: cannot read: {e}", driver_path.display()))?;
                    expect.driver = Some(driver);
                }
                Ok(expect)
            });
        match expect {
            Ok(expect) => programs.push(Program {
                name,
                source: path,
                expect,
                args: PROGRAM_ARGS.iter().map(|s| s.to_string()).collect(),
            }),
            Err(error) => malformed.push((name, error)),
        }
    }
    Ok((programs, malformed))
}

/// The benchmarks of `dir` (the shared set, or the project's own in
/// `tests/bench`) at their test sizes (`sizes.txt`), compared with
/// `NAME.expected.test`. Their IL comes from an LP64 C compiler.
fn bench_programs(dir: &Path) -> Result<Vec<Program>> {
    let sizes_path = dir.join("sizes.txt");
    let sizes = std::fs::read_to_string(&sizes_path).with_context(|| {
        format!(
            "cannot read {} (the shared benchmarks must sit beside the repository)",
            sizes_path.display()
        )
    })?;
    let mut programs = Vec::new();
    for line in sizes
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, test_size, ..] = fields[..] else {
            bail!("{}: malformed line `{line}`", sizes_path.display());
        };
        let expected_path = dir.join(format!("{name}.expected.test"));
        let output = std::fs::read_to_string(&expected_path)
            .with_context(|| format!("cannot read {}", expected_path.display()))?;
        programs.push(Program {
            name: format!("bench/{name}"),
            source: dir.join(format!("{name}.ssa")),
            expect: Expectations {
                output,
                exit: ExpectedExit::Code(0),
                driver: None,
                targets: None,
                opt_levels: None,
                link: Vec::new(),
            },
            args: vec![test_size.to_string()],
        });
    }
    Ok(programs)
}

/// Compiles and runs one program for one target; `Err` is the full report.
/// `llvm`: the older LLVM version whose clang and wasm-ld build it.
fn run_case(
    setup: &Setup,
    program: &Program,
    target: &str,
    opt: &str,
    llvm: Option<u32>,
) -> Result<(), String> {
    let work =
        tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    run_in(setup, program, target, opt, llvm, work.path()).map_err(|report| {
        // Keep the driver source and the output so the commands above can be re-run.
        let kept = work.keep();
        let separator = if report.ends_with('\n') { "" } else { "\n" };
        format!("{report}{separator}(files kept in {})\n", kept.display())
    })
}

fn run_in(
    setup: &Setup,
    program: &Program,
    target: &str,
    opt: &str,
    llvm: Option<u32>,
    work: &Path,
) -> Result<(), String> {
    let output_path = work.join(match target {
        "wasm32" => "out.wasm",
        _ => "out",
    });
    let mut compile = Command::new(&setup.skc);
    compile
        .arg("--target")
        .arg(target)
        .arg(format!("-{opt}"))
        .arg(&program.source);
    if let Some(version) = llvm {
        compile
            .arg("--clang")
            .arg(format!("clang-{version}"))
            .arg("--wasm-ld")
            .arg(format!("wasm-ld-{version}"));
    }
    if let Some(driver) = &program.expect.driver {
        let driver_path = work.join("driver.c");
        std::fs::write(&driver_path, driver)
            .map_err(|e| format!("cannot write {}: {e}", driver_path.display()))?;
        compile.arg(&driver_path);
    }
    compile.args(&program.expect.link);
    compile.arg("-o").arg(&output_path);
    let compile_line = command_line(&compile);
    let compiled = run_with_timeout(&mut compile, COMPILE_TIMEOUT)
        .map_err(|e| format!("cannot run skc: {e}\n  command: {compile_line}"))?;
    if !compiled.status.success() {
        return Err(format!(
            "skc failed ({})\n  command: {compile_line}\n--- skc stderr ---\n{}",
            describe_status(&compiled.status),
            String::from_utf8_lossy(&compiled.stderr)
        ));
    }

    let mut run = match target {
        "native" => Command::new(&output_path),
        "wasm32" => {
            if let Err(error) = validate_wasm(&output_path) {
                return Err(format!(
                    "skc produced an invalid wasm module: {error}\n  command: {compile_line}"
                ));
            }
            let mut command = Command::new(&setup.wasmtime);
            command.arg("run").arg(&output_path);
            command
        }
        other => {
            return Err(format!(
                "the harness does not know how to run a `{other}` program"
            ))
        }
    };
    run.args(&program.args).current_dir(work);
    let run_line = command_line(&run);
    let ran = run_with_timeout(&mut run, RUN_TIMEOUT)
        .map_err(|e| format!("cannot run the program: {e}\n  command: {run_line}"))?;

    let stdout = String::from_utf8_lossy(&ran.stdout);
    let mut problems = Vec::new();
    if !exit_matches(program.expect.exit, &ran, target) {
        problems.push(format!(
            "expected {}, got {}",
            program.expect.exit,
            describe_status(&ran.status)
        ));
    }
    if let Some(difference) = diff::describe(&program.expect.output, &stdout) {
        problems.push(difference);
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut report = String::new();
    let _ = writeln!(report, "  compile: {compile_line}");
    let _ = writeln!(report, "  run:     {run_line}");
    for problem in problems {
        let _ = writeln!(report, "{problem}");
    }
    let stderr = String::from_utf8_lossy(&ran.stderr);
    if !stderr.is_empty() {
        let shown: String = stderr.lines().take(30).collect::<Vec<_>>().join("\n");
        let _ = writeln!(report, "--- program stderr ---\n{shown}");
    }
    Err(report)
}

/// Natively a trap is death by a signal; wasmtime reports a trap on stderr
/// and exits with 134.
fn exit_matches(expected: ExpectedExit, ran: &Output, target: &str) -> bool {
    use std::os::unix::process::ExitStatusExt;
    match expected {
        ExpectedExit::Code(code) => ran.status.code() == Some(code),
        ExpectedExit::Trap if target == "wasm32" => {
            ran.status.code() == Some(134)
                && String::from_utf8_lossy(&ran.stderr).contains("wasm trap")
        }
        ExpectedExit::Trap => ran.status.signal().is_some(),
    }
}

fn describe_status(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => status.to_string(),
    }
}

fn validate_wasm(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    wasmparser::Validator::new()
        .validate_all(&bytes)
        .map(|_| ())
        .map_err(|e| anyhow!("{e}"))
}

/// The command as a shell line, for copying into a terminal.
fn command_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|arg| {
            let text = arg.to_string_lossy();
            if !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=+,:".contains(c))
            {
                text.into_owned()
            } else {
                format!("'{}'", text.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs to completion, killing the process after `limit`.
fn run_with_timeout(command: &mut Command, limit: Duration) -> std::io::Result<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("killed after {} s", limit.as_secs()),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}
