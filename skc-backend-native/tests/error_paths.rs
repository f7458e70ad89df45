//! Calls to C library functions that never return (`exit`, `abort`,
//! `longjmp`, ...) mark their paths as cold, which is what C headers'
//! `noreturn` tells clang; the mark is a hint, never a change of meaning.

mod common;

#[test]
fn calls_that_end_the_program_are_cold_and_others_are_not() {
    let il = r#"
export function w $check(w %sp) {
@start
	%bad =w csltw %sp, 0
	jnz %bad, @fail, @ok
@fail
	call $exit(w 5)
	call $abort()
	call $longjmp(l 0, w 1)
	call $__assert_fail(l 0, l 0, w 0, l 0)
	call $exit_handler(w 5)
	call $puts(l 0)
	jmp @ok
@ok
	ret %sp
}
"#;
    let ll = common::lower(il, false);
    let call_of = |name: &str| {
        ll.lines()
            .find(|l| l.contains(&format!(" @{name}(")) && l.contains("call "))
            .unwrap_or_else(|| panic!("no call of {name}: {ll}"))
    };
    for name in ["exit", "abort", "longjmp", "__assert_fail"] {
        assert!(call_of(name).ends_with(") cold"), "{name}: {ll}");
    }
    for name in ["exit_handler", "puts"] {
        assert!(!call_of(name).contains("cold"), "{name}: {ll}");
    }
    // A hint on the call, not a `noreturn` on the declaration: the IL
    // does not say the callee is the C library's.
    assert!(!ll.contains("noreturn"), "{ll}");
}

#[test]
fn a_file_defining_a_returning_exit_runs_as_written() {
    // A file-local `exit` that returns: were the mark `noreturn`, LLVM
    // would delete everything after the call at -O2.
    let il = r#"
data $count = { w 0 }
function $exit(w %code) {
@start
	%c =w loadw $count
	%c1 =w add %c, %code
	storew %c1, $count
	ret
}
export function w $exits(w %n) {
@start
	jmp @head
@head
	%i =w phi @start 0, @next %i1
	%more =w csltw %i, %n
	jnz %more, @body, @done
@body
	%odd =w and %i, 1
	jnz %odd, @call, @next
@call
	call $exit(w %i)
	jmp @next
@next
	%i1 =w add %i, 1
	jmp @head
@done
	%c =w loadw $count
	ret %c
}
"#;
    let driver = r#"
#include <stdio.h>
int exits(int);
int main(void) { printf("%d\n", exits(10)); return 0; }
"#;
    // 1 + 3 + 5 + 7 + 9
    common::check_both("returning_exit", il, &[driver], "25\n");
}
