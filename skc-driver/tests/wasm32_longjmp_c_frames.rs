//! A `longjmp` out of a callback that C code called: natively it unwinds
//! the C frames like any others; on wasm32, where C frames cannot be
//! unwound, the program stops with a message before the C code would run
//! on as if its callee had returned.

mod common;

use std::path::Path;
use std::process::{Command, Output};

/// `main` sets a jmp_buf and hands `$jumps_out` to a C function, which
/// calls it; it jumps back to `main`.
const THROUGH_C_OBJECT: &str = r#"
data $outer = { z 200 }
data $caught = { b "caught", b 0 }
data $missed = { b "the C function returned", b 0 }
function $jumps_out(w %v) {
@start
	call $longjmp(l $outer, w %v)
	ret
}
export function w $main() {
@start
	%r =w call $_setjmp(l $outer)
	jnz %r, @caught, @first
@first
	call $c_calls_back(l $jumps_out, w 7)
	call $puts(l $missed)
	ret 3
@caught
	call $puts(l $caught)
	ret 0
}
"#;

const C_CALLS_BACK: &str = "void c_calls_back(void (*f)(int), int v) { f(v); }\n";

/// The same out of `qsort`'s comparator.
const THROUGH_QSORT: &str = r#"
data $outer = { z 200 }
data $items = { w 3, w 1, w 2 }
data $caught = { b "caught", b 0 }
function w $compare(l %a, l %b) {
@start
	call $longjmp(l $outer, w 5)
	ret 0
}
export function w $main() {
@start
	%r =w call $_setjmp(l $outer)
	jnz %r, @caught, @first
@first
	call $qsort(l $items, l 3, l 4, l $compare)
	ret 3
@caught
	call $puts(l $caught)
	ret 0
}
"#;

fn build_and_run(dir: &Path, target: &str, inputs: &[&str], out: &str) -> Output {
    let mut args = vec!["--target", target];
    args.extend(inputs);
    args.extend(["-o", out]);
    let built = common::run_in(dir, &args);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let program = dir.join(out);
    if target == "wasm32" {
        common::validate_wasm(&program);
        Command::new("wasmtime").arg("run").arg(&program).output()
    } else {
        Command::new(&program).output()
    }
    .expect("the program runs")
}

fn check(files: &[(&str, &str)]) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write input");
    }
    let inputs: Vec<&str> = files.iter().map(|(n, _)| *n).collect();

    let native = build_and_run(dir.path(), "native", &inputs, "prog");
    assert!(native.status.success(), "{native:?}");
    assert_eq!(String::from_utf8_lossy(&native.stdout), "caught\n");

    let wasm = build_and_run(dir.path(), "wasm32", &inputs, "prog.wasm");
    let stderr = String::from_utf8_lossy(&wasm.stderr);
    assert!(!wasm.status.success(), "{wasm:?}");
    assert!(
        stderr.contains("longjmp across the frame of a C function")
            && stderr.contains("not supported on wasm32"),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&wasm.stdout),
        "",
        "nothing after the longjmp runs"
    );
}

#[test]
fn a_longjmp_out_of_a_c_objects_callback_is_refused_on_wasm32() {
    check(&[("main.ssa", THROUGH_C_OBJECT), ("calls.c", C_CALLS_BACK)]);
}

#[test]
fn a_longjmp_out_of_a_qsort_comparator_is_refused_on_wasm32() {
    check(&[("main.ssa", THROUGH_QSORT)]);
}
