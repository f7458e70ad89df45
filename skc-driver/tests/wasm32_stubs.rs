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
