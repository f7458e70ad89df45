//! Several IL inputs compile as one module.

mod common;

use std::process::Command;

use common::skc;

const CALLER: &str = "type :pair = { w, w }\n\
export function w $main() {\n@start\n\t%p =l alloc4 8\n\tstorew 40, %p\n\t%q =l add %p, 4\n\
\tstorew 2, %q\n\t%r =w call $sum(:pair %p)\n\tret %r\n}\n";

/// Defines `:pair` again: type names are per file.
const CALLEE: &str = "type :other = { l }\ntype :pair = { w, w }\n\
export function w $sum(:pair %p) {\n@start\n\t%a =w loadw %p\n\
\t%c =l add %p, 4\n\t%d =w loadw %c\n\t%s =w add %a, %d\n\tret %s\n}\n";

/// A `:pair` with another layout than the caller's.
const WIDE_PAIR: &str =
    "type :pair = { l, w, w }\nfunction w $unused(:pair %p) {\n@start\n\tret 0\n}\n";

#[test]
fn two_il_files_link_into_one_program() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.ssa"), CALLER).expect("write");
    // The callee reads its :pair at offsets 8 and 12; the caller's pair is
    // 8 bytes, so give main a copy at those offsets through a third file.
    std::fs::write(
        dir.path().join("b.ssa"),
        CALLEE
            .replace("{ l, w, w }", "{ w, w }")
            .replace("8\n", "0\n")
            .replace("12\n", "4\n"),
    )
    .expect("write");
    for target in ["native", "wasm32"] {
        let output = skc()
            .current_dir(dir.path())
            .env("TMPDIR", dir.path())
            .args(["--target", target, "a.ssa", "b.ssa", "-o", "prog"])
            .output()
            .expect("skc runs");
        assert!(
            output.status.success(),
            "{target}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let status = if target == "native" {
            Command::new(dir.path().join("prog")).status()
        } else {
            Command::new("wasmtime")
                .arg(dir.path().join("prog"))
                .status()
        }
        .expect("the program runs");
        assert_eq!(status.code(), Some(42), "{target}");
    }
}

#[test]
fn same_type_name_in_two_files_stays_distinct() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.ssa"), CALLER).expect("write");
    std::fs::write(dir.path().join("b.ssa"), WIDE_PAIR).expect("write");
    let output = skc()
        .current_dir(dir.path())
        .args(["--emit=ir", "a.ssa", "b.ssa", "-o", "-"])
        .output()
        .expect("skc runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("utf-8");
    assert!(text.contains("type :pair = { w, w }"), "{text}");
    assert!(text.contains("type :pair.2 = { l, w, w }"), "{text}");
    assert!(
        text.contains("function w $\"unused#2\"(:pair.2 %p)"),
        "{text}"
    );
}
