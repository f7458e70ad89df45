//! skc as a drop-in for qbe: the command lines a C front end (cproc) runs
//! its code generator with, IL on a pipe and assembly on a pipe into GNU
//! `as`, and each of qbe's flags.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A directory with a link named `qbe` to the skc binary.
fn qbe_link(name: &str) -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let qbe = dir.join("qbe");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_skc"), &qbe).expect("link named qbe");
    (dir, qbe)
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/qbe_mode")
        .join(name);
    std::fs::read_to_string(&path).expect("fixture")
}

/// Runs `program args` with `input` on stdin and returns its stdout,
/// asserting it succeeded.
fn pipe(program: &Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn cprocs_code_generation_commands_build_a_two_file_program() {
    let (dir, qbe) = qbe_link("qbe-cproc");
    let mut objects = Vec::new();
    for unit in ["main", "twice"] {
        // cproc's codegen stage: `qbe -t amd64_sysv -`, a pipe on each side.
        let asm = pipe(
            &qbe,
            &["-t", "amd64_sysv", "-"],
            fixture(&format!("{unit}.qbe")).as_bytes(),
        );
        let text = String::from_utf8_lossy(&asm);
        assert!(
            !text.contains(".addrsig"),
            "GNU as rejects .addrsig:\n{text}"
        );
        assert!(
            !text.contains("/tmp") && !text.contains("/dev/fd"),
            "{text}"
        );
        // cproc's assemble stage: `as -o FILE -`.
        let object = dir.join(format!("{unit}.o"));
        pipe(
            Path::new("as"),
            &["-o", object.to_str().unwrap(), "-"],
            &asm,
        );
        objects.push(object);
    }
    let prog = dir.join("prog");
    let status = Command::new("cc")
        .args(&objects)
        .arg("-o")
        .arg(&prog)
        .status()
        .expect("cc runs");
    assert!(status.success());
    let out = Command::new(&prog).output().expect("runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42 ok\n");
}

#[test]
fn output_files_inputs_by_any_name_and_the_t_flag_without_the_name() {
    let (dir, qbe) = qbe_link("qbe-files");
    let il = dir.join("twice.txt");
    std::fs::write(&il, fixture("twice.qbe")).unwrap();
    let asm = dir.join("out.s");
    let out = Command::new(&qbe)
        .args(["-o", asm.to_str().unwrap(), il.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&asm).unwrap();
    assert!(text.contains("twice:"), "{text}");
    assert!(
        text.contains(".file\t\"") && text.contains("twice.txt"),
        "{text}"
    );
    // Under its own name, `-t` alone selects qbe's command line.
    let out = pipe(
        Path::new(env!("CARGO_BIN_EXE_skc")),
        &["-t", "amd64_sysv"],
        fixture("twice.qbe").as_bytes(),
    );
    assert!(String::from_utf8_lossy(&out).contains("twice:"));
}

#[test]
fn t_question_h_d_and_refused_targets() {
    let (_dir, qbe) = qbe_link("qbe-flags");
    let out = Command::new(&qbe).args(["-t", "?"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "amd64_sysv\n");
    let out = Command::new(&qbe).arg("-h").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: qbe"));
    let mut child = Command::new(&qbe)
        .args(["-d", "PMN"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(fixture("twice.qbe").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("-d (qbe's debug output) is ignored"));
    for target in ["arm64", "rv64", "amd64_apple"] {
        let out = Command::new(&qbe)
            .args(["-t", target, "x.ssa"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(target) && err.contains("amd64_sysv"), "{err}");
    }
}

#[test]
fn wasm32_gives_a_wasm_object_on_standard_output() {
    let (_dir, qbe) = qbe_link("qbe-wasm");
    let object = pipe(&qbe, &["-t", "wasm32"], fixture("twice.qbe").as_bytes());
    assert!(object.starts_with(b"\0asm"), "a wasm object");
}
