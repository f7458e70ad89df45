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

fn run_with_stdin(module: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new("wasmtime")
        .arg("run")
        .arg(module)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wasmtime runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let o = child.wait_with_output().expect("wasmtime finishes");
    Output {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}

const INPUT: &str = "12 -34567890123 hello 2.5\nXthe line\nff 77\n";
const INPUT_STDOUT: &str = "scanf 4: 12 -34567890123 hello 2.500\nfgets [Xthe line\n] 10\n\
                            fscanf 2 ff 77 eof=0 err=0\nno varargs\n";

#[test]
fn glibc_scanf_stdin_and_assert() {
    let module = compile_and_link(
        "lp64-input",
        include_str!("programs/lp64_input.ssa"),
        OptLevel::O2,
    );
    let out = run_with_stdin(&module, &[], INPUT);
    assert_eq!(out.stdout, INPUT_STDOUT);
    assert_eq!(out.stderr, "");
    assert_eq!(out.code, 0);
    // With an argument the assertion fails: glibc's message, then abort.
    let out = run_with_stdin(&module, &["extra"], INPUT);
    assert_eq!(out.stdout, INPUT_STDOUT);
    let message = ": input.c:24: main: Assertion `argc == 1 && \"needs no arguments\"' failed.\n";
    assert!(out.stderr.contains(message), "{}", out.stderr);
    assert_ne!(out.code, 0);
}

#[test]
fn unbound_results_and_calls_without_varargs() {
    for opt in [OptLevel::O0, OptLevel::O2] {
        let module = compile_and_link(
            "lp64-unbound",
            include_str!("programs/lp64_unbound.ssa"),
            opt,
        );
        let out = run(&module, &[]);
        assert_eq!(
            out.stdout, "plain\nhello 12345678901 world\n-7 0 13 40\n",
            "at {opt:?}"
        );
        assert_eq!(out.stderr, "to stderr\n", "at {opt:?}");
        assert_eq!(out.code, 0, "at {opt:?}");
    }
}

#[test]
fn comparators_by_name_by_value_and_sorting_inside_a_comparator() {
    let il = include_str!("programs/named_comparators.ssa");
    let object = common::compile_il(il, "named_comparators.ssa");
    let text = wasmprinter::print_bytes(&object).expect("prints");
    // Comparators the file defines before the call reach the C library
    // through an adapter; the one passed in a value goes through the
    // runtime's trampoline.
    for import in [
        "\"__skc_lp64_qsort_adapted\"",
        "\"__skc_lp64_bsearch_adapted\"",
        "\"__skc_lp64_qsort\"",
    ] {
        assert!(text.contains(import), "{import} is not imported:\n{text}");
    }
    assert!(!text.contains("\"__skc_lp64_bsearch\""), "{text}");
    for opt in [OptLevel::O0, OptLevel::O2] {
        let module = compile_and_link("named-comparators", il, opt);
        let out = run(&module, &[]);
        assert_eq!(
            out.stdout, "1 2 3 5 8 9 \nfound 8 at 16, missing 0\n9 8 5 3 2 1 \n4 1 3 5 2 7 \n",
            "at {opt:?}"
        );
        assert_eq!(out.code, 0, "at {opt:?}");
    }
}

#[test]
fn comparators_the_file_does_not_define_first_go_through_the_trampoline() {
    // Defined after the call, or not of the comparator's shape: the call
    // keeps the runtime's trampoline, which works for any comparator.
    for comparator in [
        "function w $cmp(l %a, l %b) {\n@s\n\tret 0\n}\n",
        "function w $other(l %a, l %b) {\n@s\n\tret 0\n}\nfunction w $cmp(w %a, w %b) {\n@s\n\tret 0\n}\n",
    ] {
        let call = "export function $sort(l %p) {\n@s\n\tcall $qsort(l %p, l 3, l 4, l $cmp)\n\tret\n}\n";
        let il = if comparator.contains("$other") {
            format!("{comparator}{call}")
        } else {
            format!("{call}{comparator}")
        };
        let text = wasmprinter::print_bytes(common::compile_il(&il, "late.ssa")).expect("prints");
        assert!(text.contains("\"__skc_lp64_qsort\""), "{il}\n{text}");
        assert!(!text.contains("adapted"), "{il}\n{text}");
    }
}

#[test]
fn a_longjmp_out_of_a_comparator_the_c_library_calls_directly_is_refused() {
    // The adapter path (`__skc_lp64_qsort_adapted`) counts the C frame as
    // the trampoline does: the jump across `qsort` stops the program
    // with a message instead of resuming `main` with `qsort` half done.
    let il = "data $buf = { z 512 }\ndata $nums = { w 3, w 1, w 2 }\n\
              function w $cmp(l %a, l %b) {\n@s\n\tcall $longjmp(l $buf, w 7)\n\tret 0\n}\n\
              export function w $main() {\n@s\n\t%r =w call $setjmp(l $buf)\n\
              \tjnz %r, @done, @sort\n@sort\n\tcall $qsort(l $nums, l 3, l 4, l $cmp)\n\
              @done\n\tret %r\n}\n";
    let text = wasmprinter::print_bytes(common::compile_il(il, "jump.ssa")).expect("prints");
    assert!(text.contains("\"__skc_lp64_qsort_adapted\""), "{text}");
    for opt in [OptLevel::O0, OptLevel::O2] {
        let module = compile_and_link("comparator-longjmp", il, opt);
        let out = run(&module, &[]);
        assert!(
            out.stderr
                .contains("longjmp across the frame of a C function"),
            "at {opt:?}: {}",
            out.stderr
        );
        assert_ne!(out.code, 0, "at {opt:?}");
        assert_ne!(out.code, 7, "at {opt:?}: main resumed");
    }
}
