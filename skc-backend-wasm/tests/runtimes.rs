//! `main` with argc/argv: arguments and the exit code pass through both
//! wasmtime and node's WASI.

mod common;

use skc_ir::backend::OptLevel;

#[test]
fn argv_and_exit_code_pass_through_wasmtime_and_node() {
    let obj = common::compile_il(include_str!("programs/args.ssa"), "args");
    for opt in [OptLevel::O0, OptLevel::O2] {
        let module = common::link(&obj, &format!("args-{}", opt.flag()), &[], opt);
        let expected = "arg 1: one\narg 2: two words\n";
        let w = common::run_wasmtime(&module, &["one", "two words"]);
        assert_eq!(w.stdout, expected);
        assert_eq!(w.code, 30);
        let n = common::run_node(&module, &["one", "two words"]);
        assert_eq!(n.stdout, expected);
        assert_eq!(n.code, 30);
    }
}

#[test]
fn programs_agree_under_node() {
    let obj = common::compile_il(include_str!("programs/control.ssa"), "control-node");
    let module = common::link(&obj, "control-node", &[], OptLevel::O2);
    let n = common::run_node(&module, &[]);
    assert_eq!(
        n.stdout,
        "nest 428\nswitch 4455\nirreducible 507446\nswap 1221\ncycle 123231\nprimes 168\n"
    );
    assert_eq!(n.code, 0);
}

#[test]
fn main_without_result_exits_zero_and_hlt_traps() {
    let void_main = "data $s = { b \"bye\", b 0 }\n\
        export function $main() {\n@start\n\tcall $puts(w $s)\n\tret\n}\n";
    let obj = common::compile_il(void_main, "void-main");
    let module = common::link(&obj, "void-main", &[], OptLevel::O0);
    let run = common::run_wasmtime(&module, &[]);
    assert_eq!((run.stdout.as_str(), run.code), ("bye\n", 0));

    let trapping = "data $s = { b \"before\", b 0 }\n\
        export function w $main() {\n@start\n\t%r =w call $puts(w $s)\n\thlt\n}\n";
    let obj = common::compile_il(trapping, "hlt");
    let module = common::link(&obj, "hlt", &[], OptLevel::O0);
    let run = common::run_wasmtime(&module, &[]);
    assert_eq!(run.stdout, "before\n");
    assert_ne!(run.code, 0, "hlt must trap");
}
