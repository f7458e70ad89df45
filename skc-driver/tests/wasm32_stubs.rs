//! Functions WASI lacks: a note names the stand-ins a wasm32 link uses,
//! and `--no-stubs` makes them an error before anything is written.

mod common;

const CALLS_SYSTEM: &str = r#"
data $cmd = { b "true", b 0 }
export function w $main() {
@start
	%a =w call $system(l 0)
	%b =w call $system(l $cmd)
	call $flockfile(l 0)
	%r =w add %a, %b
	ret %r
}
"#;

#[test]
fn a_stubbed_function_is_linked_with_a_note_or_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("sys.ssa"), CALLS_SYSTEM).expect("write");
    let out = common::run_in(
        dir.path(),
        &["--target", "wasm32", "sys.ssa", "-o", "sys.wasm"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("note:") && stderr.contains("`system` (sys.ssa)"),
        "{stderr}"
    );
    // A stand-in that works is not worth a note.
    assert!(!stderr.contains("flockfile"), "{stderr}");
    assert!(dir.path().join("sys.wasm").is_file());

    let out = common::run_in(
        dir.path(),
        &[
            "--target",
            "wasm32",
            "--no-stubs",
            "sys.ssa",
            "-o",
            "refused.wasm",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("error:"), "{stderr}");
    for name in ["`system` (sys.ssa)", "`flockfile` (sys.ssa)", "--no-stubs"] {
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    assert!(!dir.path().join("refused.wasm").exists());
}

/// `a.ssa` calls `popen` and an undefined function; `b.ssa` calls
/// `tmpfile` and reads undefined data; `c.c` calls `popen` too.
const USES_POPEN: &str = r#"
export function w $main() {
@start
	%p =l call $popen(l 0, l 0)
	%r =w call $frobnicate()
	%q =w call $b_part()
	ret 0
}
"#;
const USES_TMPFILE: &str = r#"
export function w $b_part() {
@start
	%f =l call $tmpfile()
	%v =w loadw $undefined_table
	ret %v
}
"#;
const C_USES_POPEN: &str = "void *popen(const char *, const char *);\n\
void c_part(void) { popen(\"ls\", \"r\"); }\n";

fn in_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

#[test]
fn notes_and_undefined_symbols_name_the_input_that_uses_them() {
    let dir = in_dir(&[
        ("a.ssa", USES_POPEN),
        ("b.ssa", USES_TMPFILE),
        ("c.c", C_USES_POPEN),
    ]);
    let out = common::run_in(
        dir.path(),
        &[
            "--target", "wasm32", "a.ssa", "b.ssa", "c.c", "-o", "p.wasm",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    for expected in [
        "`popen` (a.ssa, c.c)",
        "`tmpfile` (b.ssa)",
        "`frobnicate` (used by a.ssa)",
        "`undefined_table` (used by b.ssa)",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    assert!(
        !stderr.contains("/tmp") && !stderr.contains(".o:"),
        "no temporary file is named: {stderr}"
    );
    assert!(!dir.path().join("p.wasm").exists());
}

#[test]
fn linker_arguments_leave_undefined_symbols_to_wasm_ld() {
    let dir = in_dir(&[("a.ssa", USES_POPEN), ("b.ssa", USES_TMPFILE)]);
    // wasm-ld's `--allow-undefined` accepts both: so must the bridge.
    let out = common::run_in(
        dir.path(),
        &[
            "--target",
            "wasm32",
            "a.ssa",
            "b.ssa",
            "-Wl,--allow-undefined",
            "-o",
            "p.wasm",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("undefined symbol"), "{stderr}");
    assert!(dir.path().join("p.wasm").is_file());
}
