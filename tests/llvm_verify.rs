//! LLVM's own checks over the LLVM IR skc hands clang, for every program
//! of the corpus, the examples and the benchmarks (`../shared/bench`,
//! `tests/bench`), at `-O0` and `-O2`:
//!
//! - clang compiles the IR with `-mllvm -verify-machineinstrs` (the IR
//!   verifier runs when clang reads IR; the machine verifier after every
//!   code generation pass), so IR that LLVM's x86-64 backend mishandles
//!   fails here even when the program happens to print the right answer;
//! - every direct call passes the parameter types of the callee's
//!   definition: LLVM treats a call whose type differs from its callee's
//!   as undefined behaviour.
//!
//! Programs whose `# targets:` line leaves out `native` are skipped.
//! Test names are `verify/OPT/NAME`. `SKC` and `SKC_CLANG` choose the
//! binaries (default: a fresh `skc`, then `clang-19`, then `clang`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use libtest_mimic::{Arguments, Failed, Trial};

const OPT_LEVELS: [&str; 2] = ["O0", "O2"];

fn main() {
    let args = Arguments::from_args();
    let trials = plan().unwrap_or_else(|error| {
        let message = format!("{error:#}");
        vec![Trial::test("verify-setup", move || Err(message.into()))]
    });
    libtest_mimic::run(&args, trials).exit();
}

struct Tools {
    skc: PathBuf,
    clang: String,
}

fn plan() -> Result<Vec<Trial>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the tests crate has no parent directory")?
        .to_path_buf();
    let tools = Arc::new(Tools {
        skc: skc_tests::skc_binary::locate(&root)?,
        clang: find_clang()?,
    });
    let mut programs = Vec::new();
    for (dir, prefix) in [
        (root.join("tests/corpus"), ""),
        (root.join("examples"), "examples/"),
        (root.join("../shared/bench"), "bench/"),
        (root.join("tests/bench"), "bench/"),
    ] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        paths.retain(|p| p.extension().is_some_and(|e| e == "ssa"));
        paths.sort();
        for path in paths {
            // Programs the corpus runs only on other targets are not
            // meant to reach LLVM.
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if skc_tests::case::parse(&text).is_ok_and(|e| !e.runs_on("native")) {
                continue;
            }
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
            programs.push((format!("{prefix}{stem}"), path));
        }
    }
    let mut trials = vec![Trial::test("verify/call-type-check", self_check)];
    for opt in OPT_LEVELS {
        for (name, path) in &programs {
            let (tools, path) = (Arc::clone(&tools), path.clone());
            trials.push(Trial::test(format!("verify/{opt}/{name}"), move || {
                verify(&tools, &path, opt).map_err(|e| Failed::from(format!("{e:#}")))
            }));
        }
    }
    Ok(trials)
}

fn find_clang() -> Result<String> {
    if let Ok(clang) = std::env::var("SKC_CLANG") {
        return Ok(clang);
    }
    for name in ["clang-19", "clang"] {
        if Command::new(name).arg("--version").output().is_ok() {
            return Ok(name.to_string());
        }
    }
    bail!("no clang found (clang-19 or clang); set SKC_CLANG")
}

fn verify(tools: &Tools, program: &Path, opt: &str) -> Result<()> {
    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    let ll = work.path().join("out.ll");
    let emitted = Command::new(&tools.skc)
        .arg(format!("-{opt}"))
        .arg("--emit=llvm")
        .arg(program)
        .arg("-o")
        .arg(&ll)
        .output()
        .context("cannot run skc")?;
    if !emitted.status.success() {
        bail!(
            "skc --emit=llvm failed:\n{}",
            String::from_utf8_lossy(&emitted.stderr)
        );
    }
    let text = std::fs::read_to_string(&ll).context("cannot read the LLVM IR")?;
    check_call_types(&text)?;
    let compiled = Command::new(&tools.clang)
        .arg(format!("-{opt}"))
        .args([
            "-c",
            "-mllvm",
            "-verify-machineinstrs",
            "-Wno-override-module",
        ])
        .arg(&ll)
        .arg("-o")
        .arg(work.path().join("out.o"))
        .output()
        .with_context(|| format!("cannot run {}", tools.clang))?;
    if !compiled.status.success() {
        let kept = work.keep();
        bail!(
            "{} -{opt} -c -mllvm -verify-machineinstrs failed (IR kept in {}):\n{}",
            tools.clang,
            kept.join("out.ll").display(),
            String::from_utf8_lossy(&compiled.stderr)
        );
    }
    Ok(())
}

/// Fails when a direct call's parameter types differ from those of the
/// callee's definition or declaration in the same module.
fn check_call_types(ll: &str) -> Result<()> {
    let mut signatures: HashMap<&str, Vec<String>> = HashMap::new();
    for line in ll.lines() {
        let Some(rest) = line
            .strip_prefix("define ")
            .or_else(|| line.strip_prefix("declare "))
        else {
            continue;
        };
        if let Some((name, params)) = callee_and_args(rest) {
            signatures.insert(name, param_types(params));
        }
    }
    for line in ll.lines() {
        let Some(at) = line.find("call ") else {
            continue;
        };
        let call = &line[at + 5..];
        // A variadic call spells the function type out: `(ptr, ...) @f(`.
        if call.contains("...)") {
            continue;
        }
        let Some((name, args)) = callee_and_args(call) else {
            continue;
        };
        let Some(expected) = signatures.get(name) else {
            continue;
        };
        let passed = param_types(args);
        if &passed != expected {
            bail!(
                "a call passes ({}) to @{name}, which takes ({}):\n  {}",
                passed.join(", "),
                expected.join(", "),
                line.trim()
            );
        }
    }
    Ok(())
}

/// `@name(` ... `)` in `text`: the name and what is between the
/// parentheses. Skips `asm` calls and calls through values.
fn callee_and_args(text: &str) -> Option<(&str, &str)> {
    let at = text.find(" @")? + 2;
    let rest = &text[at..];
    let (name, tail) = if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"')?;
        (&quoted[..end], &quoted[end + 1..])
    } else {
        let end = rest.find('(')?;
        (&rest[..end], &rest[end..])
    };
    let inner = tail.strip_prefix('(')?;
    let mut depth = 0usize;
    for (i, c) in inner.char_indices() {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' if depth == 0 => return Some((name, &inner[..i])),
            ')' | ']' | '}' | '>' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The first token (the type) of each top-level comma-separated item,
/// `...` dropped.
fn param_types(list: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in list.char_indices() {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&list[start..]);
    items
        .into_iter()
        .map(str::trim)
        .filter(|item| !item.is_empty() && *item != "...")
        .map(|item| item.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

/// The call-type check itself: it must see a mismatch.
fn self_check() -> Result<(), Failed> {
    let mismatched =
        "define internal void @cb(ptr %v0, i64 %v1) #0 {\n  call void @cb(i64 %t1, i64 %t2)\n";
    if check_call_types(mismatched).is_ok() {
        return Err("a call passing (i64, i64) to (ptr, i64) went unnoticed".into());
    }
    let matching = "define internal void @cb(ptr %v0, i64 %v1) #0 {\n  call void @cb(ptr %t1, i64 getelementptr (i8, ptr @x, i64 8))\n";
    check_call_types(matching).map_err(|e| Failed::from(format!("{e:#}")))
}
