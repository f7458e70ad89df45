//! The link bridge with the real tools: what it refuses, and that every
//! module it lets through validates and runs.

mod common;

use skc_ir::backend::OptLevel;

#[test]
fn a_float_against_an_integer_is_refused_before_wasm_ld_naming_both_sides() {
    // IL calls frexp as if it took and returned integers.
    let obj = common::compile_il(
        "export function w $main() {\n@s\n %r =l call $frexp(l 1, l 2)\n ret 0\n}\n",
        "t.ssa",
    );
    let e = common::try_link(&obj, "bridge-float-int", &[], OptLevel::O0).unwrap_err();
    assert!(e.starts_with("lp64-bridge failed"), "{e}");
    for part in [
        "`frexp`",
        "main.ssa",
        "libc.a",
        "(i64, i64) -> i64",
        "(f64, i32) -> f64",
    ] {
        assert!(e.contains(part), "`{part}` missing from: {e}");
    }
}

#[test]
fn c_files_calling_one_il_function_two_ways_are_refused() {
    let obj = common::compile_il(
        "export function l $f(l %a) {\n@s\n ret %a\n}\n\
         export function w $main() {\n@s\n %r =w call $g()\n ret %r\n}\n",
        "t.ssa",
    );
    let a = "long f(long); int g(void) { return (int)f(1); }";
    let b = "long long f(long long); int h(void) { return (int)f(2); }";
    let e = common::try_link(&obj, "bridge-two-ways", &[a, b], OptLevel::O0).unwrap_err();
    assert!(
        e.contains("`f`") && e.contains("one definition cannot serve both"),
        "{e}"
    );
}

#[test]
fn bridged_modules_validate_and_run() {
    let obj = common::compile_il(
        "data $s = { b \"hello\", b 0 }\n\
         export function l $lenl(l %p) {\n@s\n %n =l call $strlen(l %p)\n ret %n\n}\n\
         export function w $main() {\n@s\n %n =l call $strcspn(l $s, l $s)\n\
          %m =l call $twice(l %n)\n %k =w copy %m\n ret %k\n}\n",
        "t.ssa",
    );
    // C calls the IL's `lenl` with 32-bit values and defines `twice` with them.
    let c = "long lenl(const char *); long twice(long x) { return 2 * x + lenl(\"abc\"); }";
    let module = common::link(&obj, "bridge-run", &[c], OptLevel::O2);
    let bytes = std::fs::read(&module).unwrap();
    wasmparser::Validator::new()
        .validate_all(&bytes)
        .expect("the linked module validates");
    let run = common::run_wasmtime(&module, &[]);
    assert_eq!(run.code, 3, "2 * strcspn(\"hello\", \"hello\") + 3");
}
