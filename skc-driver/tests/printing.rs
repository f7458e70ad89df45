//! `-###` and `--print-link-plan=json`: printed plans that really build.

mod common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{skc, RETURN_42};
use skc_ir::plan::PlanDescription;

/// A directory holding `prog.ssa` (main returns 42).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("prog.ssa"), RETURN_42).expect("write program");
    dir
}

/// An output name that needs every kind of quoting: a space, a quote, a
/// leading dash and a byte that is not UTF-8.
fn awkward_name() -> OsString {
    OsString::from_vec(b"-it's a \xff prog".to_vec())
}

#[test]
fn shell_commands_reproduce_the_native_build() {
    let dir = workspace();
    let printed = skc()
        .current_dir(dir.path())
        .env("TMPDIR", dir.path())
        .arg("-###")
        .arg("prog.ssa")
        .arg("-o")
        .arg(awkward_name())
        .output()
        .expect("skc runs");
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let program = dir.path().join(awkward_name());
    assert!(!program.exists(), "-### runs nothing");

    let mut shell = Command::new("sh")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh starts");
    use std::io::Write;
    shell
        .stdin
        .take()
        .expect("stdin")
        .write_all(&printed.stdout)
        .expect("feed sh");
    assert!(shell.wait().expect("sh ends").success());
    let status = Command::new(&program).status().expect("the program runs");
    assert_eq!(status.code(), Some(42));
}

#[test]
fn json_plan_reads_back_exactly() {
    let dir = workspace();
    let printed = skc()
        .current_dir(dir.path())
        .env("TMPDIR", dir.path())
        .arg("--print-link-plan=json")
        .arg("prog.ssa")
        .arg("-o")
        .arg(awkward_name())
        .output()
        .expect("skc runs");
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let text = String::from_utf8(printed.stdout).expect("JSON is UTF-8");
    let plan = PlanDescription::from_json(&text).expect("valid plan");
    assert_eq!(plan.to_json(), text.trim_end());
    let step = &plan.steps[0];
    let args: Vec<OsString> = step.args.iter().map(|a| a.to_os_string()).collect();
    assert!(
        args.contains(&PathBuf::from("./").join(awkward_name()).into_os_string()),
        "{text}"
    );
}

#[test]
fn shell_commands_reproduce_the_wasm_chain() {
    let dir = workspace();
    let printed = skc()
        .current_dir(dir.path())
        .env("TMPDIR", dir.path())
        .args(["-###", "--target=wasm32", "prog.ssa", "-o", "it's.wasm"])
        .output()
        .expect("skc runs");
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let text = String::from_utf8(printed.stdout.clone()).expect("utf-8");
    assert!(text.lines().any(|l| l.starts_with("mv -f -- ")), "{text}");
    assert!(!dir.path().join("it's.wasm").exists(), "-### runs nothing");
    let status = Command::new("sh")
        .current_dir(dir.path())
        .arg("-e")
        .arg("-c")
        .arg(&text)
        .status()
        .expect("sh runs");
    assert!(status.success());
    let module = std::fs::read(dir.path().join("it's.wasm")).expect("module built");
    assert!(module.starts_with(b"\0asm"));
}

#[test]
fn emit_ir_prints_the_canonical_module() {
    let dir = workspace();
    let output = skc()
        .current_dir(dir.path())
        .args(["--emit=ir", "prog.ssa", "-o", "-"])
        .output()
        .expect("skc runs");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), RETURN_42);
    let to_file = skc()
        .current_dir(dir.path())
        .args(["--emit=ir", "prog.ssa"])
        .output()
        .expect("skc runs");
    assert!(to_file.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("prog.ssa")).expect("read"),
        RETURN_42
    );
}

#[test]
fn emit_ir_writes_nothing_when_the_input_has_errors() {
    let dir = workspace();
    std::fs::write(
        dir.path().join("bad.ssa"),
        format!("{RETURN_42}function $f() {{\n@a\n\tjmp @nowhere\n}}\n"),
    )
    .expect("write");
    let output = skc()
        .current_dir(dir.path())
        .args(["--emit=ir", "bad.ssa", "-o", "bad.out.ssa"])
        .output()
        .expect("skc runs");
    assert_eq!(output.status.code(), Some(1));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 2, "only the two inputs remain: {names:?}");
}

#[test]
fn backend_output_can_go_to_standard_output() {
    let dir = workspace();
    for (args, expected) in [
        (&["-S", "--target=wasm32"][..], "(module"),
        (&["--emit=llvm"][..], "define"),
    ] {
        let output = skc()
            .current_dir(dir.path())
            .env("TMPDIR", dir.path())
            .args(args)
            .args(["prog.ssa", "-o", "-"])
            .output()
            .expect("skc runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            String::from_utf8_lossy(&output.stdout).contains(expected),
            "{args:?}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("list").count(),
            1,
            "no file left: {args:?}"
        );
    }
}
