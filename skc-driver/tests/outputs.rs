//! What skc leaves on disk: files other tools accept (GNU `as`, `cc`), the
//! modes every compiler gives its outputs, and nothing else, even when a
//! signal ends the compile phase.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{entries, skc};

/// Data, a call and an address taken: what `.addrsig` would list.
const HELLO: &str = "data $greeting = { b \"hello\", b 0 }\n\
export function w $main() {\n@start\n\t%r =w call $puts(l $greeting)\n\tret 7\n}\n";

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("prog.ssa"), HELLO).expect("write program");
    std::fs::create_dir(dir.path().join("tmp")).expect("mkdir tmp");
    dir
}

/// `skc ARGS` in `dir` under `umask`, with TMPDIR inside `dir`.
fn skc_in(dir: &Path, umask: u32, args: &[&str]) -> Command {
    let mut command = skc();
    command
        .current_dir(dir)
        .env("TMPDIR", dir.join("tmp"))
        .args(args);
    let mask = nix::sys::stat::Mode::from_bits_truncate(umask as nix::libc::mode_t);
    // SAFETY: umask(2) is async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            nix::sys::stat::umask(mask);
            Ok(())
        });
    }
    command
}

fn succeed(mut command: Command) {
    let output = command.output().expect("runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        common::transcript(&output)
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn assembly_is_accepted_by_gnu_as_and_names_the_il_file() {
    let ws = workspace();
    let dir = ws.path();
    for opt in ["-O0", "-O2"] {
        for debug in [false, true] {
            let mut args = vec![opt, "-S", "prog.ssa", "-o", "prog.s"];
            if debug {
                args.push("-g");
            }
            succeed(skc_in(dir, 0o022, &args));
            let text = std::fs::read_to_string(dir.join("prog.s")).expect("assembly");
            let what = format!("skc {}", args.join(" "));
            assert!(!text.contains("/dev/fd"), "{what}:\n{text}");
            assert!(text.contains(".file\t\"prog.ssa\""), "{what}:\n{text}");
            if debug {
                assert!(text.contains(".file\t0 \"prog.ssa\""), "{what}:\n{text}");
            }
            let mut gnu_as = Command::new("/usr/bin/as");
            gnu_as.current_dir(dir).args(["prog.s", "-o", "prog.o"]);
            succeed(gnu_as);
        }
    }
}

#[test]
fn objects_link_with_cc() {
    let ws = workspace();
    let dir = ws.path();
    for opt in ["-O0", "-O2"] {
        succeed(skc_in(
            dir,
            0o022,
            &[opt, "-g", "-c", "prog.ssa", "-o", "prog.o"],
        ));
        let mut cc = Command::new("cc");
        cc.current_dir(dir).args(["prog.o", "-o", "prog"]);
        succeed(cc);
        let run = Command::new(dir.join("prog")).output().expect("runs");
        assert_eq!(run.status.code(), Some(7));
        assert_eq!(String::from_utf8_lossy(&run.stdout), "hello\n");
    }
}

#[test]
fn outputs_get_the_modes_the_umask_allows() {
    let ws = workspace();
    let dir = ws.path();
    // (arguments, whether the product is a program)
    let products: &[(&[&str], bool)] = &[
        (&["prog.ssa", "-o", "native.out"], true),
        (&["-c", "prog.ssa", "-o", "native.o"], false),
        (&["-S", "prog.ssa", "-o", "native.s"], false),
        (&["--emit=llvm", "prog.ssa", "-o", "native.ll"], false),
        (&["--emit=ir", "prog.ssa", "-o", "prog.ir"], false),
        (
            &["--target=wasm32", "-O0", "prog.ssa", "-o", "o0.wasm"],
            true,
        ),
        (
            &["--target=wasm32", "-O2", "prog.ssa", "-o", "o2.wasm"],
            true,
        ),
        (
            &["--target=wasm32", "-c", "prog.ssa", "-o", "wasm.o"],
            false,
        ),
        (
            &["--target=wasm32", "-S", "prog.ssa", "-o", "wasm.s"],
            false,
        ),
        (
            &[
                "--target=wasm32",
                "--emit=wat",
                "prog.ssa",
                "-o",
                "wasm.wat",
            ],
            false,
        ),
    ];
    for umask in [0o022, 0o077, 0o002] {
        for (args, program) in products {
            let out = dir.join(args.last().expect("output"));
            // A new file each time: an existing one keeps its mode when
            // a tool writes it in place.
            let _ = std::fs::remove_file(&out);
            succeed(skc_in(dir, umask, args));
            let expected = if *program { 0o777 } else { 0o666 } & !umask;
            assert_eq!(
                mode(&out),
                expected,
                "skc {} under umask {umask:03o}",
                args.join(" ")
            );
        }
    }
    let left: Vec<PathBuf> = entries(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.as_encoded_bytes()[0] == b'.')
        })
        .collect();
    assert!(left.is_empty(), "staging files left: {left:?}");
    assert!(entries(&dir.join("tmp")).is_empty(), "temporaries left");
}

/// Starts `skc ARGS` reading IL from a pipe the test holds open, so the
/// compile phase cannot end before the test signals it; writes the first
/// function so compilation is under way.
fn start_compiling(dir: &Path, args: &[&str]) -> std::process::Child {
    let mut child = skc_in(dir, 0o022, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("skc starts");
    let stdin = child.stdin.as_mut().expect("stdin");
    stdin.write_all(HELLO.as_bytes()).expect("write IL");
    stdin.flush().expect("flush IL");
    child
}

/// Waits until `seen` holds (bounded), sends SIGINT, and checks that skc
/// died of it.
fn interrupt_when(mut child: std::process::Child, what: &str, seen: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen() {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("skc ended ({status}) before {what} appeared");
        }
        assert!(Instant::now() < deadline, "{what} never appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("signal skc");
    let status = child.wait().expect("skc ends");
    assert_eq!(status.signal(), Some(2), "skc re-raised SIGINT");
}

#[test]
fn sigint_while_compiling_leaves_no_staging_file() {
    let products: &[&[&str]] = &[
        &["--emit=llvm", "-", "-o", "out/prog.ll"],
        &["--emit=ir", "-", "-o", "out/prog.ir"],
    ];
    for args in products {
        let ws = workspace();
        let out = ws.path().join("out");
        std::fs::create_dir(&out).expect("mkdir out");
        let child = start_compiling(ws.path(), args);
        interrupt_when(child, "a staging file", || !entries(&out).is_empty());
        assert!(
            entries(&out).is_empty(),
            "skc {} left {:?}",
            args.join(" "),
            entries(&out)
        );
    }
}

#[test]
fn sigint_while_compiling_for_standard_output_leaves_no_temporary() {
    let products: &[&[&str]] = &[
        &["-c", "-", "-o", "-"],
        &["--emit=ir", "-", "-o", "-"],
        &["--target=wasm32", "-c", "-", "-o", "-"],
    ];
    for args in products {
        let ws = workspace();
        let tmp = ws.path().join("tmp");
        let child = start_compiling(ws.path(), args);
        interrupt_when(child, "a temporary file", || !entries(&tmp).is_empty());
        assert!(
            entries(&tmp).is_empty(),
            "skc {} left {:?}",
            args.join(" "),
            entries(&tmp)
        );
    }
}
