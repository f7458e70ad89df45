//! LP64 IL (cproc output for `programs/lp64_libc.c` on a glibc system)
//! calling the C library with 8-byte pointers, `long` and `size_t`:
//! formatted output with every conversion, streams, qsort/bsearch with IL
//! comparators, malloc-heavy code, string functions, strto*/sscanf,
//! glibc's ctype tables and errno, math. Its stdout, stderr and exit code
//! on wasm32 must equal what the native build (QBE + cc) printed, stored
//! beside it.

mod common;

use std::path::Path;
use std::process::Command;

use skc_ir::backend::OptLevel;

struct Output {
    stdout: String,
    stderr: String,
    code: i32,
}

fn run(module: &Path, args: &[&str]) -> Output {
    let o = Command::new("wasmtime")
        .arg("run")
        .arg(module)
        .args(args)
        .output()
        .expect("wasmtime runs");
    Output {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}

fn compile_and_link(name: &str, il: &str, opt: OptLevel) -> std::path::PathBuf {
    let obj = common::compile_il(il, name);
    let module = common::link(&obj, &format!("{name}-{opt:?}"), &[], opt);
    common::validate(&std::fs::read(&module).expect("module"));
    module
}

#[test]
fn libc_calls_match_native_output() {
    for opt in [OptLevel::O0, OptLevel::O2] {
        let module = compile_and_link("lp64-libc", include_str!("programs/lp64_libc.ssa"), opt);
        let out = run(&module, &["first"]);
        assert_eq!(
            out.stdout,
            include_str!("programs/lp64_libc.stdout"),
            "stdout at {opt:?}"
        );
        assert_eq!(
            out.stderr,
            include_str!("programs/lp64_libc.stderr"),
            "stderr at {opt:?}"
        );
        assert_eq!(out.code, 3, "exit code at {opt:?}");
    }
}
