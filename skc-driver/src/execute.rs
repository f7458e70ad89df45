//! Running a link plan: exec, a chain of steps, or nothing; then moving
//! staged results into place. No shell is involved: programs are run with
//! their argument vectors as planned.

use std::ffi::{CString, OsStr};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use skc_ir::plan::{LinkPlan, PlanAction, Step};

use crate::cleanup;
use crate::cli::LinkMode;
use crate::memory;

/// How the plan is run.
pub struct RunSettings {
    /// `--link-mode`.
    pub link_mode: LinkMode,
    /// `-v`: echo each step first.
    pub verbose: bool,
    /// `--stats`.
    pub stats: bool,
}

/// Runs `plan`. Returns the exit code skc should end with (a spawned exec
/// step's own status); an `Exec` plan does not return on success.
pub fn execute(plan: LinkPlan, settings: &RunSettings) -> Result<ExitCode> {
    for note in &plan.notes {
        eprintln!("skc: note: {note}");
    }
    memory::release_free_memory();
    let exec_is_possible = plan.temps.is_empty() && plan.results.is_empty();
    match &plan.action {
        PlanAction::Nothing => {
            move_results_into_place(&plan)?;
            Ok(ExitCode::SUCCESS)
        }
        PlanAction::Exec(step) if settings.link_mode == LinkMode::Exec && exec_is_possible => {
            if settings.stats {
                eprintln!(
                    "skc: stats: driver RSS before exec: {}",
                    memory::format_kib(memory::current_rss_kib())
                );
            }
            let error = replace_process(step, &plan, settings.verbose);
            Err(error)
        }
        // Spawn mode, or a plan owning files that someone must remove or
        // rename after the step: run it as a child and pass its status on.
        PlanAction::Exec(step) => {
            let steps = std::slice::from_ref(step);
            let status = run_chain(steps, &plan, settings, StopAt::Never)?;
            Ok(exit_code_of(status))
        }
        PlanAction::Steps(steps) => {
            run_chain(steps, &plan, settings, StopAt::FirstFailure)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Lets the planned descriptors cross `exec`.
fn keep_open_across_exec(plan: &LinkPlan) -> Result<()> {
    for file in &plan.inherited_files {
        fcntl(file, FcntlArg::F_SETFD(FdFlag::empty()))
            .context("cannot keep an intermediate file open for the link step")?;
    }
    Ok(())
}

fn echo(step: &Step) {
    let mut line = step.to_shell();
    line.push(b'\n');
    // A closed stderr must not stop the build.
    let _ = std::io::stderr().write_all(&line);
}

fn c_string(word: &OsStr) -> Result<CString> {
    CString::new(word.as_bytes())
        .map_err(|_| anyhow!("argument `{}` contains a NUL byte", word.to_string_lossy()))
}

/// `execvp`: skc becomes the step's program. Returns only on failure.
fn replace_process(step: &Step, plan: &LinkPlan, verbose: bool) -> anyhow::Error {
    let attempt = || -> Result<std::convert::Infallible> {
        keep_open_across_exec(plan)?;
        let program = c_string(step.program.as_os_str())?;
        let mut argv = vec![program.clone()];
        for arg in &step.args {
            argv.push(c_string(arg)?);
        }
        for (name, value) in &step.env {
            std::env::set_var(name, value);
        }
        if verbose {
            echo(step);
        }
        let _ = std::io::stdout().flush();
        nix::unistd::execvp(&program, &argv)
            .with_context(|| format!("cannot run {} (`{}`)", step.name, step.program.display()))
    };
    match attempt() {
        Ok(never) => match never {},
        Err(error) => error,
    }
}

/// Whether a failing step ends the chain with an error, or its status is
/// handed back (an exec step run as a child: its status is skc's).
#[derive(Clone, Copy, PartialEq, Eq)]
enum StopAt {
    FirstFailure,
    Never,
}

/// Runs `steps` one at a time; on success renames the results into place.
/// On failure (or a signal) removes staged results; temporary files go
/// when the plan is dropped.
fn run_chain(
    steps: &[Step],
    plan: &LinkPlan,
    settings: &RunSettings,
    stop: StopAt,
) -> Result<ExitStatus> {
    let doomed = plan
        .temps
        .iter()
        .map(|t| t.as_ref())
        .chain(plan.results.iter().map(|r| r.staged.as_path()));
    cleanup::remove_on_signal(doomed)?;
    keep_open_across_exec(plan)?;
    let started = Instant::now();
    let mut last = ExitStatus::from_raw(0);
    for (index, step) in steps.iter().enumerate() {
        if settings.verbose {
            echo(step);
        }
        let mut command = Command::new(&step.program);
        command
            .args(&step.args)
            .envs(step.env.iter().map(|(k, v)| (k, v)));
        let mut child = match cleanup::spawn_recorded(&mut command) {
            Ok(child) => child,
            Err(error) => {
                remove_staged_results(plan);
                return Err(anyhow::Error::new(error).context(format!(
                    "cannot run {} (`{}`)",
                    step.name,
                    step.program.display()
                )));
            }
        };
        if settings.stats {
            eprintln!(
                "skc: stats: driver RSS while {} runs: {}",
                step.name,
                memory::format_kib(memory::current_rss_kib())
            );
        }
        let waited = child.wait();
        cleanup::set_running_child(0);
        let status = match waited {
            Ok(status) => status,
            Err(error) => {
                remove_staged_results(plan);
                return Err(
                    anyhow::Error::new(error).context(format!("lost track of {}", step.name))
                );
            }
        };
        last = status;
        if !status.success() {
            remove_staged_results(plan);
            if stop == StopAt::Never {
                return Ok(status);
            }
            bail!(
                "step {} of {} ({}) {}; stopping",
                index + 1,
                steps.len(),
                step.name,
                describe_failure(status)
            );
        }
    }
    if settings.stats {
        eprintln!(
            "skc: stats: link steps: {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    move_results_into_place(plan)?;
    Ok(last)
}

fn describe_failure(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("failed with exit status {code}");
    }
    match status.signal() {
        Some(signal) => {
            let name = nix::sys::signal::Signal::try_from(signal)
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|_| format!("signal {signal}"));
            format!("was killed by {name}")
        }
        None => format!("ended abnormally ({status})"),
    }
}

/// A child's status as skc's own exit code (128 + N for signal N, as
/// shells report it).
fn exit_code_of(status: ExitStatus) -> ExitCode {
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn remove_staged_results(plan: &LinkPlan) {
    for result in &plan.results {
        let _ = std::fs::remove_file(&result.staged);
    }
}

fn move_results_into_place(plan: &LinkPlan) -> Result<()> {
    for result in &plan.results {
        if let Err(error) = rename(&result.staged, &result.dest) {
            remove_staged_results(plan);
            return Err(error);
        }
    }
    Ok(())
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).with_context(|| {
        format!(
            "cannot move the finished `{}` into place as `{}`",
            from.display(),
            to.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use skc_ir::plan::ResultFile;

    use super::*;

    fn fake_tool(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).expect("write fake");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    fn step(name: &str, program: PathBuf, args: &[&Path]) -> Step {
        Step {
            name: name.into(),
            program,
            args: args.iter().map(|a| OsString::from(a.as_os_str())).collect(),
            env: vec![("FAKE_STEP".into(), name.into())],
            inputs: vec![],
            outputs: vec![],
        }
    }

    const QUIET: RunSettings = RunSettings {
        link_mode: LinkMode::Spawn,
        verbose: false,
        stats: false,
    };

    /// A plan of `first` then `second`, each appending its name to `log`
    /// and writing its last argument; the second writes the staged result.
    fn two_step_plan(dir: &Path, second_body: &str) -> (LinkPlan, PathBuf, PathBuf) {
        let log = dir.join("log");
        let staged = dir.join(".out.tmp");
        let dest = dir.join("out");
        let ok = fake_tool(
            dir,
            "ok-tool",
            "echo \"$FAKE_STEP\" >> \"$1\"; echo made > \"$2\"\n",
        );
        let second = fake_tool(dir, "second-tool", second_body);
        let middle = dir.join("middle");
        let plan_steps = vec![
            step("first", ok, &[&log, &middle]),
            step("second", second, &[&log, &staged]),
        ];
        let mut plan = LinkPlan::new(PlanAction::Steps(plan_steps));
        plan.results.push(ResultFile {
            staged: staged.clone(),
            dest: dest.clone(),
        });
        (plan, log, dest)
    }

    #[test]
    fn steps_run_in_order_and_the_result_moves_into_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let body = "echo \"$FAKE_STEP\" >> \"$1\"; echo final > \"$2\"\n";
        let (plan, log, dest) = two_step_plan(dir.path(), body);
        execute(plan, &QUIET).expect("chain succeeds");
        assert_eq!(
            std::fs::read_to_string(log).expect("log"),
            "first\nsecond\n"
        );
        assert_eq!(std::fs::read_to_string(dest).expect("output"), "final\n");
        assert!(!dir.path().join(".out.tmp").exists());
    }

    #[test]
    fn a_failing_step_stops_the_chain_and_leaves_no_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let body = "echo partial > \"$2\"; exit 3\n";
        let (mut plan, log, dest) = two_step_plan(dir.path(), body);
        let third = fake_tool(dir.path(), "third", "echo third >> \"$1\"\n");
        if let PlanAction::Steps(steps) = &mut plan.action {
            steps.push(step("third", third, &[&log]));
        }
        let error = execute(plan, &QUIET).expect_err("chain fails").to_string();
        assert_eq!(
            error,
            "step 2 of 3 (second) failed with exit status 3; stopping"
        );
        assert_eq!(std::fs::read_to_string(log).expect("log"), "first\n");
        assert!(!dest.exists() && !dir.path().join(".out.tmp").exists());
    }

    #[test]
    fn a_step_killed_by_a_signal_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (plan, _, dest) = two_step_plan(dir.path(), "kill -KILL $$\n");
        let error = execute(plan, &QUIET).expect_err("chain fails").to_string();
        assert!(error.contains("(second) was killed by SIGKILL"), "{error}");
        assert!(!dest.exists());
    }

    #[test]
    fn a_spawned_exec_step_passes_its_exit_status_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tool = fake_tool(dir.path(), "exit-seven", "exit 7\n");
        let plan = LinkPlan::new(PlanAction::Exec(step("clang", tool, &[])));
        let code = execute(plan, &QUIET).expect("ran");
        assert_eq!(format!("{code:?}"), format!("{:?}", ExitCode::from(7)));
    }

    #[test]
    fn a_missing_program_is_named() {
        let plan = LinkPlan::new(PlanAction::Steps(vec![step(
            "wasm-ld",
            PathBuf::from("/nonexistent/wasm-ld"),
            &[],
        )]));
        let error = format!("{:#}", execute(plan, &QUIET).expect_err("fails"));
        assert!(
            error.starts_with("cannot run wasm-ld (`/nonexistent/wasm-ld`)"),
            "{error}"
        );
    }
}
