//! `section "name" "flags"`: the flags reach the assembler as written.

mod common;

use std::process::Command;

const IL: &str = r#"
data $hook_ran = { w 0 }
function $hook() {
@start
	storew 1, $hook_ran
	ret
}
export section ".init_array" "aw" data $init = { l $hook }
export section "ro_sect" "a" data $ro = { w 7, b "hi" 0, s s_1.5 }
section "rw_sect" "aw" data $rw = align 16 { l $ro + 4, h 515 }
export function w $main() {
@start
	%ran =w loadw $hook_ran
	%seven =w loadw $ro
	%p =l loadl $rw
	%h =w loadub %p
	%half =l add $rw, 8
	%x =w loaduh %half
	%a =w add %ran, %seven
	%b =w add %a, %h
	%c =w add %b, %x
	%r =w sub %c, 627
	ret %r
}
"#;

/// The flags column `readelf -S -W` shows for `section` in `object`.
fn section_flags(object: &std::path::Path, section: &str) -> String {
    let out = Command::new("readelf")
        .arg("-S")
        .arg("-W")
        .arg(object)
        .output()
        .expect("these tests need readelf");
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let row = table
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == section))
        .unwrap_or_else(|| panic!("no section {section} in:\n{table}"));
    // [Nr] Name Type Address Off Size ES Flg Lk Inf Al: the flags are
    // the fourth field from the end when present.
    let fields: Vec<&str> = row
        .split(']')
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    if fields.len() == 10 {
        fields[6].to_string()
    } else {
        String::new()
    }
}

#[test]
fn data_with_section_flags_lands_in_a_section_with_those_flags() {
    let dir = tempfile::tempdir().unwrap();
    let ll = dir.path().join("sections.ll");
    std::fs::write(&ll, common::lower(IL, false)).unwrap();
    let object = dir.path().join("sections.o");
    let status = Command::new(common::clang())
        .args(["-c", "-w", "-x", "ir"])
        .arg(&ll)
        .arg("-o")
        .arg(&object)
        .status()
        .expect("running clang");
    assert!(status.success());
    // LLVM alone would make every data section writable (`WA`).
    assert_eq!(section_flags(&object, "ro_sect"), "A");
    assert_eq!(section_flags(&object, "rw_sect"), "WA");
}

#[test]
fn data_in_flagged_sections_links_and_runs() {
    // The hook ran from .init_array (1), the read-only word (7), the
    // byte the pointer into it reaches ('h', 104) and the half word (515):
    // 1 + 7 + 104 + 515 = 627.
    common::check_both("sections", IL, &[], "");
}
