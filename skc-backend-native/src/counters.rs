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
//! before, and its own `mem2reg` does the promotion.

use skc_ir::ir::Function;
use skc_ir::no_wrap::{self, NoWrap};

/// At `-O1` and above: proves what it can about `f`'s loop counters,
/// replacing `f` with its promoted, versioned form when that proved
/// something. Returns the proven steps (none when `f` is unchanged).
pub fn prove(f: &mut Function) -> NoWrap {
    if !skc_ir::rotate::has_loops(f) {
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
