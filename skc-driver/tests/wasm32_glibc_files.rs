//! LP64 IL built against glibc's headers calls file, directory and clock
//! functions with glibc's numbers (open flags, `AT_FDCWD`, clock ids) and
//! glibc's structures (`struct stat`, `struct dirent`, `struct tm`). On
//! wasm32 the runtime translates them; natively they are the real thing.
//! Both must print what gcc's build of the same C printed.

mod common;

use std::path::Path;
use std::process::Command;

/// What the C program (in the data files' comments) printed built by gcc.
const EXPECTED: &str = "open: 1
write: 6
read: 6 hello
lseek: 6
F_GETFL rdonly: 1
O_EXCL: -1 1
stat: 0 size 11 reg 1 dir 0
stat .: 0 dir 1
fstat: 0 size 11
clock_gettime: 0 nsec ok 1
gmtime: 71-0-1 0 yday 0
strftime: 1971-01-01 00:00:00
mktime: 1
readdir: 1 1
unlink: 0 access -1
";

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn check(il: &str) {
    for target in ["native", "wasm32"] {
        for opt in ["-O0", "-O2"] {
            // Each run in a directory of its own: the program creates and
            // removes `out.txt` in its working directory.
            let dir = tempfile::tempdir().expect("tempdir");
            let program = dir.path().join("prog");
            let input = data(il);
            let built = common::run_in(
                dir.path(),
                &[
                    "--target",
                    target,
                    opt,
                    input.to_str().unwrap(),
                    "-o",
                    program.to_str().unwrap(),
                ],
            );
            assert!(
                built.status.success(),
                "{}",
                String::from_utf8_lossy(&built.stderr)
            );
            let run = if target == "wasm32" {
                Command::new("wasmtime")
                    .current_dir(dir.path())
                    .args(["run", "--dir=."])
                    .arg(&program)
                    .output()
            } else {
                Command::new(&program).current_dir(dir.path()).output()
            }
            .expect("the program runs");
            assert!(run.status.success(), "{il} {target} {opt}: {run:?}");
            assert_eq!(
                String::from_utf8_lossy(&run.stdout),
                EXPECTED,
                "{il} {target} {opt}"
            );
        }
    }
}

#[test]
fn glibc_file_and_clock_calls_behave_as_with_gcc() {
    check("glibc_files.ssa");
}

#[test]
fn their_file_offset_bits_64_names_too() {
    check("glibc_files64.ssa");
}
