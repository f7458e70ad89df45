//! Loop versioning: a loop whose inclusive test could let its counter
//! wrap gets a copy for the usual case, where it cannot.
//!
//! `for (j = 1; j <= n; j++)` in IL is
//!
//! ```text
//! @head  %j =w phi @start 1, @body %j2
//!        %c =w cslew %j, %n
//!        jnz %c, @body, @done
//! @body  ...
//!        %j2 =w add %j, 1
//!        jmp @head
//! ```
//!
//! With `%n` the largest `w` the test never fails and `%j2` wraps, so
//! nothing proves `%j + 1` free of wrap (C's "signed overflow is
//! undefined", which lets clang assume it, is not in the IL). An
//! optimiser that must allow for the wrap cannot widen the counter or
//! treat `j` and `j - 1` as neighbours. [`version_loops`] puts a guard
//! before such a loop and a copy of the loop on its "`%n` is not the
//! limit" arm:
//!
//! ```text
//! @guard  %g =w ceqw %n, 2147483647
//!         jnz %g, @head, @head.v     # the original loop, or its copy
//! ```
//!
//! Both loops compute the same thing, so the function means what it
//! meant; in the copy [`crate::sema::no_wrap`] can now prove the step
//! free of wrap. The copy's values are the originals' names defined a
//! second time; SSA construction then renames them and joins the two
//! loops' results where they meet after the loop.
//!
//! A loop stepping its counter up by more than one (`for (j = a; j <= n;
//! j += 2)`), under a strict test too, wraps whenever `%n` is within the
//! step of the limit; its copy is guarded by `%n <= MAX - k` instead
//! (`csgtw %n, 2147483645` to the original for a step of two and `<=`),
//! the room [`crate::sema::no_wrap`] needs for the largest such step.
//!
//! Only innermost loops are copied (a copy of an outer loop would copy
//! every loop inside it), only small ones, and only when the tested value
//! is stepped towards the bound inside the loop (by one, with an inclusive
//! test, or by more up): otherwise the copy would buy nothing.

use std::collections::HashSet;

use crate::ir::{
    BaseType, Block, BlockData, CmpOp, Const, Function, Inst, InstKind, Name, Operand, Terminator,
};
use crate::sema::cfg::{normalize, ControlFlow};
use crate::sema::no_wrap::{
    constant_step, guards, guards_at_most, largest_safe_bound, loop_test, narrow, step_flag, Limit,
    LoopTest,
};
use crate::sema::ssa;

/// Loops with more instructions than this are not copied.
const MAX_LOOP_INSTS: usize = 160;

/// At most this many loops of one function are copied.
const MAX_LOOPS: usize = 8;

/// Copies the small innermost loops of `f` whose inclusive exit test
/// (`x <= y`, `x >= y`, signed or unsigned, `y` a value defined before the
/// loop) could let the stepped counter wrap, behind a guard that runs the
/// copy whenever `y` is not the limit. Returns how many loops were copied.
/// `f` must be normalised and in SSA form; it stays both.
pub fn version_loops(f: &mut Function) -> usize {
    let cf = ControlFlow::compute(f);
    if cf.irreducible {
        return 0;
    }
    let candidates: Vec<Candidate> = f
        .block_ids()
        .filter(|&h| cf.loop_header[h.index()])
        .filter_map(|h| candidate(f, &cf, h))
        .take(MAX_LOOPS)
        .collect();
    if candidates.is_empty() {
        return 0;
    }
    let mut names: HashSet<Name> = f.blocks.iter().map(|b| b.name.clone()).collect();
    let mut value_names: HashSet<Name> = f.values.iter().map(|v| v.name.clone()).collect();
    for c in &candidates {
        copy_loop(f, c, &mut names, &mut value_names);
    }
    normalize(f);
    let cf = ControlFlow::compute(f);
    let diags = ssa::construct(f, &cf);
    debug_assert!(
        diags.is_empty(),
        "versioning keeps every use defined: {diags:?}"
    );
    candidates.len()
}

/// A loop worth copying.
struct Candidate {
    header: Block,
    /// Its blocks, the header among them.
    body: Vec<Block>,
    /// The one block outside the loop that jumps to its header.
    entry: Block,
    test: LoopTest,
    /// What the copy may assume of the bound.
    guard: Guard,
}

/// The fact about the bound `y` that the guard checks before the copy.
#[derive(Clone, Copy)]
enum Guard {
    /// `y` is not the limit (a step of one, inclusive test).
    NotLimit(Limit),
    /// `y <= b`, signed (a larger step up).
    AtMost(i64),
}

/// The loop headed by `h`, if it is worth copying.
fn candidate(f: &Function, cf: &ControlFlow, h: Block) -> Option<Candidate> {
    let test = loop_test(f, cf, h)?;
    let (limit, inclusive) = test.limit()?;
    let Operand::Value(y) = test.y else {
        // A constant bound is proven or refuted as it is.
        return None;
    };
    let body: Vec<Block> = f.block_ids().filter(|&b| cf.in_loop(h, b)).collect();
    let innermost = body.iter().all(|&b| b == h || !cf.loop_header[b.index()]);
    let size: usize = body
        .iter()
        .map(|&b| f.block(b).insts.len() + f.block(b).phis.len())
        .sum();
    let entries: Vec<Block> = cf.preds[h.index()]
        .iter()
        .copied()
        .filter(|&p| !cf.in_loop(h, p))
        .collect();
    let defined_in_loop = |v| {
        body.iter().any(|&b| {
            let d = f.block(b);
            d.phis.iter().any(|p| p.result == v) || d.insts.iter().any(|i| i.result == Some(v))
        })
    };
    let steps = || {
        body.iter()
            .filter(|&&b| b != h)
            .flat_map(|&b| &f.block(b).insts)
            .filter(|i| i.result.map(|r| f.value_type(r)) == Some(test.ty))
            .filter_map(|i| match &i.kind {
                InstKind::Binary { op, lhs, rhs } => Some((*op, lhs, rhs)),
                _ => None,
            })
    };
    let by_one =
        steps().any(|(op, lhs, rhs)| step_flag(op, lhs, rhs, test.x, test.ty, limit).is_some());
    // Larger steps up: the bound must leave room for the largest of them.
    let at_most = steps()
        .filter_map(|(op, lhs, rhs)| {
            largest_safe_bound(&test, narrow(constant_step(op, lhs, rhs, test.x)?, test.ty))
        })
        .min();
    // `y <= b` also keeps `y` off the limit, so steps of one are proven
    // under either guard.
    let guard = match at_most {
        Some(b) => Guard::AtMost(b),
        None if inclusive && by_one => Guard::NotLimit(limit),
        None => return None,
    };
    let &[entry] = entries.as_slice() else {
        return None;
    };
    let unguarded = match guard {
        Guard::NotLimit(limit) => !guards(f, entry, h, y, test.ty, limit),
        Guard::AtMost(b) => !guards_at_most(f, entry, h, y, test.ty, b),
    };
    let ok = innermost && size <= MAX_LOOP_INSTS && unguarded && !defined_in_loop(y);
    ok.then_some(Candidate {
        header: h,
        body,
        entry,
        test,
        guard,
    })
}

/// A block name not yet in `names`, derived from `base`.
fn fresh(names: &mut HashSet<Name>, base: &str) -> Name {
    let name = (0u64..)
        .map(|n| match n {
            0 => compact_str::format_compact!("{base}.v"),
            n => compact_str::format_compact!("{base}.v.{n}"),
        })
        .find(|name| !names.contains(name))
        .expect("some suffix is free");
    names.insert(name.clone());
    name
}

/// Puts the guard and the copy of candidate `c` (found before any loop
/// was copied) in place. The copy defines the same values as the loop:
/// SSA construction sorts them out afterwards.
fn copy_loop(
    f: &mut Function,
    c: &Candidate,
    names: &mut HashSet<Name>,
    value_names: &mut HashSet<Name>,
) {
    let (h, body, entry, test) = (c.header, &c.body, c.entry, &c.test);
    let first_copy = f.blocks.len() as u32;
    let copy_of = |b: Block| -> Block {
        match body.iter().position(|&x| x == b) {
            Some(i) => Block(first_copy + i as u32),
            None => b,
        }
    };
    let guard = Block(first_copy + body.len() as u32);
    let mut exits = Vec::new();
    for &b in body {
        let mut data = f.block(b).clone();
        data.name = fresh(names, &data.name);
        for s in f.block(b).term.successors() {
            if !body.contains(&s) && !exits.contains(&(s, b)) {
                exits.push((s, b));
            }
        }
        retarget_all(&mut data.term, &copy_of);
        // The copy is entered from the guard only (edges added to the
        // header since `cf` was computed, by another loop's copy, stay
        // with the original).
        for phi in &mut data.phis {
            phi.args.retain(|(p, _)| *p == entry || body.contains(p));
            for (p, _) in &mut phi.args {
                *p = if *p == entry { guard } else { copy_of(*p) };
            }
        }
        f.blocks.push(data);
    }
    // An exit reached from a block of the loop is reached from its copy
    // too, with the same operands (renamed by SSA construction).
    for &(s, from) in &exits {
        for phi in &mut f.blocks[s.index()].phis {
            let extra: Vec<(Block, Operand)> = phi
                .args
                .iter()
                .filter(|(p, _)| *p == from)
                .map(|(_, op)| (copy_of(from), op.clone()))
                .collect();
            phi.args.extend(extra);
        }
    }
    let pos = f.block(h).term_pos;
    let gname = fresh(names, &f.block(h).name);
    let g = {
        let base = "vg";
        let name = (0u64..)
            .map(|n| compact_str::format_compact!("{base}.{n}"))
            .find(|n| !value_names.contains(n))
            .expect("some suffix is free");
        value_names.insert(name.clone());
        f.add_value(&name, BaseType::W)
    };
    f.blocks.push(BlockData {
        name: gname,
        phis: Vec::new(),
        insts: vec![Inst {
            result: Some(g),
            kind: match c.guard {
                Guard::NotLimit(limit) => InstKind::Compare {
                    op: CmpOp::Eq,
                    ty: test.ty,
                    lhs: test.y.clone(),
                    rhs: Operand::Const(Const::Int(limit.constant(test.ty))),
                },
                Guard::AtMost(b) => InstKind::Compare {
                    op: CmpOp::Sgt,
                    ty: test.ty,
                    lhs: test.y.clone(),
                    rhs: Operand::Const(Const::Int(b)),
                },
            },
            pos,
        }],
        term: Terminator::Jnz {
            cond: Operand::Value(g),
            nonzero: h,
            zero: copy_of(h),
        },
        term_pos: pos,
        pos,
    });
    f.blocks[entry.index()].term.retarget(h, guard);
    f.blocks[h.index()].rename_predecessor(entry, guard);
}

/// Points every successor `s` of `term` at `map(s)`.
fn retarget_all(term: &mut Terminator, map: &impl Fn(Block) -> Block) {
    let targets: Vec<Block> = term.successors().collect();
    for s in targets {
        let to = map(s);
        if to != s {
            term.retarget(s, to);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Item;
    use crate::lang::printer::print_item;
    use crate::reader::read_module;
    use crate::sema::no_wrap::{self, NSW, NUW};
    use crate::sema::verify::verify;
    use crate::transform::test_support::assert_runs_alike;

    /// Versions every function of `text` and checks that the result
    /// verifies and prints what the original prints. Returns the loops
    /// copied, the flags then proven for `$f` (by value name) and the
    /// versioned module's text.
    fn version_module(text: &str) -> (usize, Vec<(String, u8)>, String) {
        let m = read_module(text, "t.ssa").expect("reads");
        let mut count = 0;
        let mut printed = String::new();
        let mut items = Vec::new();
        let mut flags = Vec::new();
        for item in &m.items {
            let mut item = item.clone();
            if let Item::Function(f) = &mut item {
                count += version_loops(f);
                let cf = ControlFlow::compute(f);
                let diags = verify(f, &cf, &m.types);
                assert!(diags.is_empty(), "{diags:?}");
                if f.name == "f" {
                    let found = no_wrap::find(f, &cf);
                    flags = (0..f.values.len() as u32)
                        .map(crate::ir::Value)
                        .filter(|&v| found.of(v) != 0)
                        .map(|v| (f.values[v.index()].name.to_string(), found.of(v)))
                        .collect();
                }
            }
            print_item(&mut printed, &item, &m.types).expect("prints");
            items.push(item);
        }
        assert_runs_alike(&m, items, &printed);
        (count, flags, printed)
    }

    /// `for (j = from; j TEST n; j STEP) { s += j; if (j == stop) break; }`
    /// at width `T`, returning `s * 3 + j` (both read after the loop),
    /// called with the bounds in `CALLS` (`n, from, stop`).
    fn counting(ty: &str, test: &str, step: &str, calls: &[Call]) -> String {
        let mut text = format!(
            "
export function {ty} $f({ty} %n, {ty} %from, {ty} %stop) {{
@start
	jmp @head
@head
	%j ={ty} phi @start %from, @next %j2
	%s ={ty} phi @start 0, @next %s2
	%c =w {test}
	jnz %c, @body, @done
@body
	%s2 ={ty} add %s, %j
	%b =w ceq{ty} %j, %stop
	jnz %b, @done, @next
@next
	%j2 ={ty} {step}
	jmp @head
@done
	%r ={ty} mul %s, 3
	%r2 ={ty} add %r, %j
	ret %r2
}}
data $fmt = {{ b \"%lld\\n\", b 0 }}
export function w $main() {{
@start
"
        );
        for (i, (n, from, stop)) in calls.iter().enumerate() {
            text += &format!(
                "\t%r{i} ={ty} call $f({ty} {n}, {ty} {from}, {ty} {stop})\n\
                 \t%x{i} =l {} %r{i}\n\
                 \tcall $printf(l $fmt, ..., l %x{i})\n",
                if ty == "w" { "extsw" } else { "copy" }
            );
        }
        text + "\tret 0\n}\n"
    }

    /// `(n, from, stop)` of one call of [`counting`]'s function.
    type Call = (i64, i64, i64);

    const MAX: i64 = i32::MAX as i64;
    const MIN: i64 = i32::MIN as i64;

    #[test]
    fn an_inclusive_loop_gets_a_copy_with_a_step_free_of_wrap() {
        // The last call's bound is the limit: the counter wraps, and the
        // loop ends at the break.
        let calls = [
            (5, 1, 99),
            (0, 1, 99),
            (-3, 1, 99),
            (7, 1, 4),
            (MAX, MAX - 2, MIN + 2),
        ];
        let text = counting("w", "cslew %j, %n", "add %j, 1", &calls);
        let (count, flags, printed) = version_module(&text);
        assert_eq!(count, 1, "{printed}");
        assert_eq!(flags.len(), 1, "{printed}");
        assert_eq!(flags[0].1, NSW, "{printed}");
        assert!(printed.contains("ceqw %n, 2147483647"), "{printed}");
    }

    #[test]
    fn every_inclusive_kind_and_width_is_copied() {
        let cases: [(&str, &str, &str, Vec<Call>, u8); 5] = [
            (
                "w",
                "csgew %j, %n",
                "sub %j, 1",
                vec![(1, 5, 99), (MIN, MIN + 2, MAX - 1)],
                NSW,
            ),
            (
                "w",
                "culew %j, %n",
                "add %j, 1",
                vec![(9, 1, 99), (-1, -3, 1)],
                NUW,
            ),
            (
                "w",
                "cugew %j, %n",
                "sub %j, 1",
                vec![(2, 9, 99), (0, 2, -2)],
                NUW,
            ),
            (
                "l",
                "cslel %j, %n",
                "add %j, 1",
                vec![(9, 1, 99), (i64::MAX, i64::MAX - 1, i64::MIN + 1)],
                NSW,
            ),
            (
                "w",
                "cslew %n, %j",
                "sub %j, 1",
                vec![(1, 5, 99), (MIN, MIN + 1, MAX)],
                NSW,
            ),
        ];
        for (ty, test, step, calls, flag) in cases {
            let text = counting(ty, test, step, &calls);
            let (count, flags, printed) = version_module(&text);
            assert_eq!(count, 1, "{test}\n{printed}");
            assert_eq!(
                flags.iter().map(|f| f.1).collect::<Vec<_>>(),
                vec![flag],
                "{test}\n{printed}"
            );
        }
    }

    #[test]
    fn loops_that_would_gain_nothing_are_not_copied() {
        for (test, step) in [
            ("csltw %j, %n", "add %j, 1"),
            ("cslew %j, 100", "add %j, 1"),
            ("csltw %j, 100", "add %j, 2"),
            ("csltw %j, %n", "add %j, 65537"),
            ("cultw %j, %n", "add %j, 2"),
            ("csgtw %j, %n", "sub %j, 2"),
            ("cslew %j, %n", "sub %j, 1"),
            ("cnew %j, %n", "add %j, 1"),
        ] {
            let text = counting("w", test, step, &[(5, 1, -3)]);
            let (count, _, printed) = version_module(&text);
            assert_eq!(count, 0, "{test} / {step}\n{printed}");
        }
    }

    #[test]
    fn a_larger_step_up_gets_a_copy_guarded_by_room_below_the_limit() {
        // (test, step, guard, calls): the calls run the copy, the
        // original at the bound one above the guard's (where the counter
        // wraps and the loop ends at the break), and the original again.
        let cases: [(&str, &str, &str, &str, Vec<Call>); 4] = [
            (
                "w",
                "cslew %j, %n",
                "add %j, 2",
                "csgtw %n, 2147483645",
                vec![(9, 1, 99), (MAX - 2, MAX - 6, 99), (MAX - 1, MAX - 5, MIN)],
            ),
            (
                "w",
                "csltw %j, %n",
                "add %j, 3",
                "csgtw %n, 2147483645",
                vec![(10, 0, 99), (MAX - 2, MAX - 8, 99), (MAX, MAX - 5, MIN)],
            ),
            (
                "w",
                "csltw %j, %n",
                "sub %j, -2",
                "csgtw %n, 2147483646",
                vec![(7, -4, 99), (MAX, MAX - 1, MIN)],
            ),
            (
                "l",
                "cslel %j, %n",
                "add %j, 2",
                "csgtl %n, 9223372036854775805",
                vec![(9, 1, 99), (i64::MAX, i64::MAX - 4, i64::MIN + 1)],
            ),
        ];
        for (ty, test, step, guard, calls) in cases {
            let text = counting(ty, test, step, &calls);
            let (count, flags, printed) = version_module(&text);
            assert_eq!(count, 1, "{test} / {step}\n{printed}");
            assert_eq!(
                flags.iter().map(|f| f.1).collect::<Vec<_>>(),
                vec![NSW],
                "{test} / {step}\n{printed}"
            );
            assert!(printed.contains(guard), "{guard}\n{printed}");
        }
    }

    #[test]
    fn only_the_innermost_of_nested_loops_is_copied() {
        let text = "
export function w $f(w %n) {
@start
	jmp @outer
@outer
	%i =w phi @start 0, @outer.next %i2
	%s =w phi @start 0, @outer.next %t
	%c =w cslew %i, %n
	jnz %c, @inner.start, @done
@inner.start
	jmp @inner
@inner
	%j =w phi @inner.start 0, @inner.body %j2
	%t =w phi @inner.start %s, @inner.body %t2
	%d =w cslew %j, %i
	jnz %d, @inner.body, @outer.next
@inner.body
	%p =w mul %i, %j
	%t2 =w add %t, %p
	%j2 =w add %j, 1
	jmp @inner
@outer.next
	%i2 =w add %i, 1
	jmp @outer
@done
	ret %s
}
data $fmt = { b \"%d %d %d\\n\", b 0 }
export function w $main() {
@start
	%a =w call $f(w 0)
	%b =w call $f(w 2)
	%c =w call $f(w 6)
	call $printf(l $fmt, ..., w %a, w %b, w %c)
	ret 0
}
";
        let (count, flags, printed) = version_module(text);
        assert_eq!(count, 1, "{printed}");
        assert_eq!(flags.len(), 1, "{printed}");
        assert!(flags[0].0.starts_with("j2"), "{flags:?}\n{printed}");
    }
}
