//! Loop counters LLVM may treat as free of wrap.
//!
//! C's `int` counters cannot overflow (it is undefined), so clang marks
//! their steps `nsw` and LLVM widens them to 64-bit induction variables,
//! which is what lets it vectorise, forward loads from one iteration to
//! the next and pick its best code for the loop. IL integers wrap, so skc
//! may only say so where the IL proves it ([`skc_ir::no_wrap`]); for
//! inclusive tests (`j <= n`), which need `n` below the limit, the loop is
//! first copied behind a guard ([`skc_ir::version`]).
//!
//! Both need the counter as an SSA value, while front ends like cproc
//! keep every C variable in a stack slot. The function is therefore
//! promoted ([`skc_ir::promote`]) on a copy, and that copy replaces it
//! only when a step was proven: every other function reaches LLVM as
//! before, and its own `mem2reg` does the promotion. Functions that call
//! `setjmp` keep their slots as they are: what a local holds after a
//! `longjmp` is LLVM's to decide there, as it was.

use skc_ir::ir::{Const, Function, InstKind, Operand};
use skc_ir::no_wrap::{self, NoWrap};

/// At `-O1` and above: proves what it can about `f`'s loop counters,
/// replacing `f` with its promoted, versioned form when that proved
/// something. Returns the proven steps (none when `f` is unchanged).
pub fn prove(f: &mut Function) -> NoWrap {
    if !skc_ir::rotate::has_loops(f) || calls_setjmp(f) {
        return NoWrap::default();
    }
    let mut g = f.clone();
    skc_ir::promote::promote_slots(&mut g);
    skc_ir::version::version_loops(&mut g);
    let cf = skc_ir::cfg::ControlFlow::compute(&g);
    let found = no_wrap::find(&g, &cf);
    if found.any() {
        *f = g;
        found
    } else {
        NoWrap::default()
    }
}

/// Whether `f` calls a function that returns twice (`setjmp`) directly.
fn calls_setjmp(f: &Function) -> bool {
    f.blocks
        .iter()
        .flat_map(|b| &b.insts)
        .any(|i| match &i.kind {
            InstKind::Call {
                callee: Operand::Const(Const::Addr { sym, .. } | Const::Extern(sym)),
                ..
            } => skc_ir::ir::returns_twice(sym),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use skc_ir::ir::Item;

    fn function(text: &str) -> Function {
        let m = skc_ir::reader::read_module(text, "t.ssa").expect("reads");
        m.items
            .into_iter()
            .find_map(|i| match i {
                Item::Function(f) => Some(f),
                _ => None,
            })
            .expect("a function")
    }

    /// A cproc-style counting loop over a stack slot; `CALL` goes first.
    fn slot_loop(call: &str) -> String {
        format!(
            "
export function w $f(w %n, l %env) {{
@start
	%slot =l alloc4 4
	storew 0, %slot
	{call}
@head
	%j =w loadw %slot
	%c =w csltw %j, %n
	jnz %c, @body, @done
@body
	%j2 =w add %j, 1
	storew %j2, %slot
	jmp @head
@done
	%r =w loadw %slot
	ret %r
}}
"
        )
    }

    #[test]
    fn a_slot_counter_is_promoted_and_its_step_proven() {
        let mut f = function(&slot_loop("%x =w call $g()"));
        let found = prove(&mut f);
        assert!(found.any());
        assert!(f.blocks.iter().all(|b| b
            .insts
            .iter()
            .all(|i| !matches!(i.kind, InstKind::Load { .. }))));
    }

    #[test]
    fn a_function_calling_setjmp_is_left_as_it_is() {
        let text = slot_loop("%x =w call $setjmp(l %env)");
        let mut f = function(&text);
        let before = f.clone();
        assert!(!prove(&mut f).any());
        assert_eq!(f, before);
    }
}
