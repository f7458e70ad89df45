//! `cargo xtask`: project chores that need more than a cargo command.
//!
//! Each task is one module; `cargo xtask` without arguments lists them.

mod bench;
mod bench_ir;
mod difftest;
mod gen_module;
mod imports;
mod memwatch;
mod release;
mod rusage;
mod workspace;

use std::process::ExitCode;

/// A task: its name, a one-line summary, its usage, and its entry point.
struct Task {
    name: &'static str,
    summary: &'static str,
    usage: &'static str,
    run: fn(&[String]) -> anyhow::Result<()>,
}

const TASKS: &[Task] = &[
    Task {
        name: "gen-module",
        summary: "write a deterministic, realistic IL module of a given size",
        usage: gen_module::USAGE,
        run: gen_module::main,
    },
    Task {
        name: "bench-ir",
        summary: "measure reading speed and peak memory of the IL reader",
        usage: bench_ir::USAGE,
        run: bench_ir::main,
    },
    Task {
        name: "bench",
        summary: "compare skc with clang on the benchmark programs; compile phase at scale",
        usage: bench::USAGE,
        run: bench::main,
    },
    Task {
        name: "difftest",
        summary: "random IL programs through every pipeline; report where they disagree",
        usage: difftest::USAGE,
        run: difftest::main,
    },
    Task {
        name: "imports",
        summary: "find source files of a crate that import each other in a circle",
        usage: imports::USAGE,
        run: imports::main,
    },
    Task {
        name: "release",
        summary: "build, test, measure and package a reproducible release",
        usage: release::USAGE,
        run: release::main,
    },
];

fn list_tasks() {
    println!("usage: cargo xtask <task> [arguments]\n\ntasks:");
    for t in TASKS {
        println!("  {:<12} {}", t.name, t.summary);
    }
    println!("\n`cargo xtask <task> --help` shows a task's arguments.");
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        list_tasks();
        return ExitCode::SUCCESS;
    };
    let Some(task) = TASKS.iter().find(|t| t.name == name) else {
        eprintln!("error: unknown task `{name}`\n");
        list_tasks();
        return ExitCode::FAILURE;
    };
    let rest = &args[1..];
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        println!("{}", task.usage);
        return ExitCode::SUCCESS;
    }
    match (task.run)(rest) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
