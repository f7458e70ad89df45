//! `skc`: compiles skc-ir to native executables and wasm32-wasi modules.
//!
//! The pipeline has two phases with a hard boundary between them:
//! [`compile::compile`] reads the IL and runs the backend, returning only a
//! [`skc_ir::plan::LinkPlan`]; every compile-phase allocation is gone when
//! it returns. Only then does [`execute::execute`] run the plan, so the peak
//! memory of a build is the larger of compiler and linker, not their sum.

// Linked for their `inventory` registrations only: the driver never names a
// target itself.
use skc_backend_native as _;
use skc_backend_wasm as _;

mod chain;
mod cleanup;
mod cli;
mod compile;
mod emit_ir;
mod execute;
mod il_source;
mod interpret;
mod memory;
mod qbe_cli;
mod tool_versions;
mod toolchain;

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};

use cli::{CliError, Invocation, LinkMode, PlanUse, Request};
use execute::RunSettings;
use toolchain::DiscoveredToolchain;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("skc: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args
        .get(1)
        .is_some_and(|a| a == skc_ir::backend::BACKEND_STEP_FLAG)
    {
        run_backend_step(&args[2..])?;
        return Ok(ExitCode::SUCCESS);
    }
    let args = if qbe_cli::is_qbe_invocation(&args) {
        match qbe_cli::translate(&args)? {
            qbe_cli::QbeRequest::Build { args, notes } => {
                for note in notes {
                    eprintln!("skc: note: {note}");
                }
                args
            }
            qbe_cli::QbeRequest::PrintDefaultTarget => {
                println!("{}", qbe_cli::DEFAULT_TARGET);
                return Ok(ExitCode::SUCCESS);
            }
            qbe_cli::QbeRequest::Help => {
                print!("{}", qbe_cli::USAGE);
                return Ok(ExitCode::SUCCESS);
            }
        }
    } else {
        args
    };
    // `skc -v` alone, as `clang -v`: the version and the tools.
    if args.len() == 2 && args[1] == "-v" {
        print_version()?;
        return Ok(ExitCode::SUCCESS);
    }
    let invocation = match cli::parse(args) {
        Ok(Request::Build(invocation)) => invocation,
        Ok(Request::PrintTargets) => {
            print_targets()?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(CliError::Clap(error)) if error.kind() == clap::error::ErrorKind::DisplayVersion => {
            print_version()?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(CliError::Clap(error)) => {
            // Help and version go to stdout and succeed; usage errors fail.
            let _ = error.print();
            let code = if error.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
            return Ok(code);
        }
        Err(CliError::Invalid(error)) => return Err(error),
    };
    build(*invocation)
}

/// `skc --backend-step TARGET NAME ARGS…`: one of a backend's own plan
/// steps, run by the plan executor as a separate process (not for users).
fn run_backend_step(args: &[std::ffi::OsString]) -> Result<()> {
    let [target, name, rest @ ..] = args else {
        anyhow::bail!("usage: skc --backend-step TARGET NAME [ARGS...]");
    };
    let target = target.to_string_lossy();
    let backend = skc_ir::backend::registered_backends()
        .into_iter()
        .find(|b| b.name() == target)
        .with_context(|| format!("no target named `{target}`"))?;
    backend.run_step(&name.to_string_lossy(), rest)
}

/// `skc --version`: skc's version, then the tools a build would use.
fn print_version() -> Result<()> {
    let toolchain = DiscoveredToolchain::new(toolchain::ToolOverrides::from_environment());
    let mut out = std::io::stdout().lock();
    writeln!(out, "skc {}", env!("CARGO_PKG_VERSION"))
        .and_then(|()| {
            toolchain
                .describe()
                .iter()
                .try_for_each(|line| writeln!(out, "{line}"))
        })
        .context("cannot write to standard output")
}

fn print_targets() -> Result<()> {
    let mut out = std::io::stdout().lock();
    for backend in skc_ir::backend::registered_backends() {
        let aliases = backend.aliases();
        let also = if aliases.is_empty() {
            String::new()
        } else {
            format!(" (also: {})", aliases.join(", "))
        };
        writeln!(
            out,
            "{:<10} {}{also}",
            backend.name(),
            backend.description()
        )
        .context("cannot write to standard output")?;
    }
    Ok(())
}

fn build(invocation: Invocation) -> Result<ExitCode> {
    if invocation.product == cli::Product::Interpret {
        return interpret::run(&invocation);
    }
    let toolchain = DiscoveredToolchain::new(invocation.tools.clone());
    let started = Instant::now();

    let compile::Compiled { plan, stdout_copy } = compile::compile(&invocation, &toolchain)?;
    // The reader, the IR and the backend's state were dropped inside
    // `compile`; from here on only the plan and the settings are alive.

    if invocation.stats {
        eprintln!(
            "skc: stats: compile: {:.1} ms, peak RSS {}",
            started.elapsed().as_secs_f64() * 1e3,
            memory::format_kib(memory::peak_rss_kib())
        );
    }
    match invocation.plan_use {
        PlanUse::PrintShell => {
            for note in &plan.notes {
                eprintln!("skc: note: {note}");
            }
            std::io::stdout()
                .lock()
                .write_all(&plan.to_shell())
                .context("cannot write to standard output")?;
            Ok(ExitCode::SUCCESS)
        }
        PlanUse::PrintJson => {
            let mut json = plan.describe().to_json();
            json.push('\n');
            std::io::stdout()
                .lock()
                .write_all(json.as_bytes())
                .context("cannot write to standard output")?;
            Ok(ExitCode::SUCCESS)
        }
        PlanUse::Run => {
            let settings = RunSettings {
                // The output must be copied after the step, so skc cannot
                // become the step.
                link_mode: match stdout_copy {
                    Some(_) => LinkMode::Spawn,
                    None => invocation.link_mode,
                },
                verbose: invocation.verbose,
                stats: invocation.stats,
            };
            drop(invocation);
            let code = execute::execute(plan, &settings)?;
            if let Some(path) = stdout_copy {
                if code == ExitCode::SUCCESS {
                    copy_to_stdout(&path)?;
                }
            }
            Ok(code)
        }
    }
}

fn copy_to_stdout(path: &std::path::Path) -> Result<()> {
    let mut file = std::fs::File::open(path).context("cannot read back the output")?;
    std::io::copy(&mut file, &mut std::io::stdout().lock())
        .context("cannot write to standard output")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_backends_are_registered() {
        let names: Vec<&str> = skc_ir::backend::registered_backends()
            .iter()
            .map(|b| b.name())
            .collect();
        assert_eq!(names, ["native", "wasm32"]);
    }
}
