//! Linkage keywords of definitions: exported symbols are `dso_local`
//! unless the module reaches them through `extern $sym`, which says another
//! module's definition may take their place.

mod common;

/// The line of `text` that defines `name` (data `@name = ...` or a
/// function `define ... @name(`).
fn definition<'a>(text: &'a str, name: &str) -> &'a str {
    let data = format!("@{name} = ");
    let func = format!(" @{name}(");
    text.lines()
        .find(|l| l.starts_with(&data) || (l.starts_with("define ") && l.contains(&func)))
        .unwrap_or_else(|| panic!("no definition of {name} in:\n{text}"))
}

const IL: &str = r#"
export function w $read_early() {
@start
	%p =l copy extern $early
	%v =w loadw %p
	%r =w call extern $answer()
	%s =w add %v, %r
	ret %s
}
export data $early = { w 40 }
export data $plain = { w 1 }
export function w $answer() {
@start
	ret 2
}
export common data $shared = { z 8 }
function w $use_shared() {
@start
	%p =l copy extern $shared
	%v =w loadw %p
	ret %v
}
data $private = { w 5 }
function w $use_private() {
@start
	%p =l copy extern $private
	%v =w loadw %p
	ret %v
}
export function w $main() {
@start
	%a =w call $read_early()
	%b =w call $use_shared()
	%c =w call $use_private()
	%d =w add %a, %b
	%e =w add %d, %c
	%f =w sub %e, 47
	ret %f
}
"#;

#[test]
fn extern_references_make_later_definitions_preemptible() {
    let ll = common::lower(IL, false);
    // Reached through `extern` before being defined: no `dso_local`.
    assert!(
        definition(&ll, "early").starts_with("@early = global "),
        "{ll}"
    );
    assert!(
        definition(&ll, "answer").starts_with("define i32 @answer("),
        "{ll}"
    );
    // Never reached through `extern`: still `dso_local`.
    assert!(
        definition(&ll, "plain").starts_with("@plain = dso_local global "),
        "{ll}"
    );
    assert!(
        definition(&ll, "main").starts_with("define dso_local i32 @main("),
        "{ll}"
    );
    // A common symbol referenced only after its definition keeps it.
    assert!(
        definition(&ll, "shared").starts_with("@shared = common dso_local global "),
        "{ll}"
    );
    // An internal symbol cannot be preempted, whatever the reference says.
    assert!(
        definition(&ll, "private").starts_with("@private = internal global "),
        "{ll}"
    );
}

#[test]
fn preemptible_definitions_still_link_and_run() {
    // main returns 40 + 2 + 0 + 5 - 47 = 0.
    common::check_both("linkage", IL, &[], "");
}
