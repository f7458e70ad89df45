//! Addresses keep their provenance (`ptr` + `getelementptr`) instead of
//! round-tripping through integers, and signatures stay consistent when a
//! call comes before the definition.

mod common;

#[test]
fn pointer_walks_use_getelementptr_not_inttoptr() {
    let il = r#"
export function l $sum(l %base, w %n) {
@start
	%slot =l alloc8 8
	storel %base, %slot
	%end0 =l extsw %n
	%end1 =l mul %end0, 8
	%b =l loadl %slot
	%end =l add %b, %end1
@head
	%p =l phi @start %b, @body %p1
	%s =l phi @start 0, @body %s1
	%c =w cultl %p, %end
	jnz %c, @body, @done
@body
	%v =l loadl %p
	%s1 =l add %s, %v
	%p1 =l add %p, 8
	jmp @head
@done
	ret %s
}
"#;
    let ll = common::lower(il, false);
    let body = &ll[ll.find("define").unwrap()..];
    // Every `l` crosses the boundary as `ptr`; the integer sum is
    // converted once, for the `ret`.
    assert!(body.contains("define dso_local ptr @sum(ptr %"), "{body}");
    assert!(body.contains("phi ptr"), "{body}");
    assert!(body.contains("getelementptr i8, ptr"), "{body}");
    assert_eq!(body.matches("inttoptr").count(), 1, "{body}");
}

#[test]
fn calls_before_definitions_agree_on_the_signature() {
    let il = r#"
data $cell = { l 40 }
export function l $first() {
@start
	%a =l call $takes_ptr_later(l $cell)
	%b =l call $takes_int_later(l $cell)
	%r =l add %a, %b
	ret %r
}
function l $takes_ptr_later(l %p) {
@start
	%v =l loadl %p
	ret %v
}
function l $takes_int_later(l %x) {
@start
	%r =l and %x, 0
	%s =l add %r, 2
	ret %s
}
"#;
    let c = "#include <stdio.h>\nlong first(void);\nint main(void) { printf(\"%ld\\n\", first()); return 0; }\n";
    let ll = common::lower(il, false);
    // One signature per symbol, whatever each body does with its `l`s.
    assert!(
        ll.contains("define internal ptr @takes_int_later(ptr %"),
        "{ll}"
    );
    assert!(
        ll.contains("define internal ptr @takes_ptr_later(ptr %"),
        "{ll}"
    );
    common::check_both("forward", il, &[c], "42\n");
}

#[test]
fn setjmp_calls_are_marked_as_returning_twice() {
    // Without the mark LLVM forwards the store of 1 across the `setjmp`
    // to the load after it, though a `longjmp` resumes it after the store
    // of 7.
    let il = r#"
data $cell = { w 0 }
export function w $f(l %buf) {
@start
	storew 1, $cell
	%r =w call $_setjmp(l %buf)
	jnz %r, @after, @first
@first
	storew 7, $cell
	call $longjmp(l %buf, w 1)
	hlt
@after
	%v =w loadw $cell
	%s =w call $__sigsetjmp(l %buf, w 0)
	%t =w call $setjmp(l %buf)
	%u =w call $setjmp_not(l %buf)
	ret %v
}
"#;
    let ll = common::lower(il, true);
    let call_of = |name: &str| {
        ll.lines()
            .find(|l| l.contains(&format!("call i32 @{name}(")))
            .unwrap_or_else(|| panic!("no call of {name}: {ll}"))
    };
    for name in ["_setjmp", "__sigsetjmp", "setjmp"] {
        assert!(call_of(name).contains(") returns_twice"), "{name}: {ll}");
    }
    assert!(!call_of("setjmp_not").contains("returns_twice"), "{ll}");
}
