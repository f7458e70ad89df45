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
        let mut child = match command.spawn() {
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
        cleanup::set_running_child(child.id());
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
