//! `skc --interpret`: IL run by the reference interpreter from the
//! command line, with the program's arguments, several files as one
//! module, and undefined behaviour reported with exit status 125.

mod common;

use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn a_program_runs_with_its_arguments_and_its_status() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.ssa",
        "data $fmt = { b \"%d %s\\n\", b 0 }\n\
         export function w $main(w %argc, l %argv) {\n@s\n\
         \t%p =l add %argv, 16\n\t%s =l loadl %p\n\
         \t%n =w call $twice(w %argc)\n\
         \tcall $printf(l $fmt, ..., w %n, l %s)\n\tret 7\n}\n",
    );
    write(
        dir.path(),
        "lib.ssa",
        "export function w $twice(w %x) {\n@s\n\t%y =w mul %x, 2\n\tret %y\n}\n",
    );
    let out = common::run_in(
        dir.path(),
        &[
            "--interpret",
            "main.ssa",
            "lib.ssa",
            "--arg",
            "-first",
            "--arg",
            "second",
        ],
    );
    assert_eq!(out.status.code(), Some(7), "{}", common::transcript(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "6 second\n");
}

#[test]
fn undefined_behaviour_stops_the_program_with_status_125() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ub.ssa",
        "export function w $main() {\n@s\n\t%p =l alloc4 4\n\t%q =l add %p, 2\n\t%v =w loadw %q\n\tret %v\n}\n",
    );
    let out = common::run_in(dir.path(), &["--interpret", "ub.ssa"]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("undefined behaviour: access of 4 byte(s)")
            && err.contains("outside the stack slot of 4 bytes")
            && err.contains("in `main`, line 5"),
        "{err}"
    );
}

#[test]
fn c_inputs_cannot_be_interpreted() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "p.ssa",
        "export function w $main() {\n@s\n\tret 0\n}\n",
    );
    write(dir.path(), "c.c", "int f(void) { return 1; }\n");
    let out = common::run_in(dir.path(), &["--interpret", "p.ssa", "c.c"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--interpret runs IL only"));
}
