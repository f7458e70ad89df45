//! Counter steps that cannot wrap, proven from a loop's own exit test.
//!
//! IL integers wrap, so a backend that hands arithmetic to an optimiser
//! with "no signed wrap" flags (LLVM's `nsw`, `nuw`) may only set them
//! where the IL itself proves them. A loop tested at its header gives such
//! a proof: in
//!
//! ```text
//! @head  %j =w phi @start 0, @body %j2
//!        %c =w csltw %j, %n
//!        jnz %c, @body, @done
//! @body  ...
//!        %j2 =w add %j, 1
//! ```
//!
//! every block of the loop other than the header runs after the header's
//! test passed for the current `%j` (the header's only arm into the loop
//! is taken when `%j < %n`, and SSA values keep their value until the
//! header runs again). So `%j` is below the largest `w` there and
//! `%j + 1` cannot wrap. An inclusive test (`cslew %j, %n`) proves the
//! same only when `%n` is below the largest value: a constant that is, or
//! a value every entry into the loop has checked (the guard
//! [`crate::transform::version`] puts before a copy of the loop).
//!
//! The facts, by the relation that holds inside the loop:
//!
//! | holds in the loop                 | so `x` is not  | step without wrap       |
//! |-----------------------------------|----------------|-------------------------|
//! | `x < y`, or `x <= y` with y ≠ MAX | the signed max | `add x, 1`: nsw         |
//! | `x > y`, or `x >= y` with y ≠ MIN | the signed min | `sub x, 1`, `add x, -1`: nsw |
//! | `x <u y`, or `x <=u y` with y ≠ UMAX | all ones    | `add x, 1`: nuw         |
//! | `x >u y`, or `x >=u y` with y ≠ 0 | zero           | `sub x, 1`: nuw         |
//!
//! A larger step up, `add x, k` with `1 < k <= 2^16` under a signed `x < y`
//! or `x <= y`, cannot wrap when `y` leaves room for it: `y <= MAX - k + 1`
//! for the strict test, `y <= MAX - k` for the inclusive one — a constant
//! that does, or a value every entry has compared with a constant on the
//! arm that says so (the guard `version` puts before its copy is
//! `y > MAX - k`, to the original). Such a guard also keeps `y` off the
//! maximum, which proves steps of one.
//!
//! Functions with irreducible control flow are left alone: the argument
//! needs the header to be the only way into its loop.

use crate::ir::{
    BaseType, BinOp, Block, BlockData, CmpOp, Const, Function, InstKind, Operand, Terminator, Value,
};
use crate::sema::cfg::ControlFlow;

/// The result of an `add` or `sub` cannot wrap as a signed number.
pub const NSW: u8 = 1;
/// The result of an `add` or `sub` cannot wrap as an unsigned number.
pub const NUW: u8 = 2;

/// Per value of a function, [`NSW`] and [`NUW`] bits for the `add` and
/// `sub` instructions proven not to wrap (0 for every other value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoWrap {
    flags: Vec<u8>,
}

impl NoWrap {
    /// The flags proven for the instruction defining `v`.
    pub fn of(&self, v: Value) -> u8 {
        self.flags.get(v.index()).copied().unwrap_or(0)
    }

    /// Whether anything was proven.
    pub fn any(&self) -> bool {
        self.flags.iter().any(|&f| f != 0)
    }
}

/// A loop header's exit test, turned so that `x op y` holds on the arm
/// that stays in the loop.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LoopTest {
    /// The tested value.
    pub x: Value,
    /// An integer comparison (never `eq`/`ne`).
    pub op: CmpOp,
    /// What `x` is compared with.
    pub y: Operand,
    /// The width compared (`x` has this type).
    pub ty: BaseType,
}

/// The value `x` cannot have inside a loop, given the test that holds there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limit {
    SignedMax,
    SignedMin,
    UnsignedMax,
    Zero,
}

impl Limit {
    /// The limit as an IL constant of width `ty`.
    pub(crate) fn constant(self, ty: BaseType) -> i64 {
        match (self, ty) {
            (Limit::SignedMax, BaseType::W) => i32::MAX as i64,
            (Limit::SignedMax, _) => i64::MAX,
            (Limit::SignedMin, BaseType::W) => i32::MIN as i64,
            (Limit::SignedMin, _) => i64::MIN,
            (Limit::UnsignedMax, _) => -1,
            (Limit::Zero, _) => 0,
        }
    }

    /// Whether the IL constant `c`, read at width `ty`, is this limit.
    fn is(self, c: i64, ty: BaseType) -> bool {
        narrow(c, ty) == narrow(self.constant(ty), ty)
    }
}

/// `c` as a signed number of width `ty`.
pub(crate) fn narrow(c: i64, ty: BaseType) -> i64 {
    match ty {
        BaseType::W => c as i32 as i64,
        _ => c,
    }
}

impl LoopTest {
    /// The limit `x` stays clear of inside the loop, and whether that
    /// needs `y` to differ from it too (inclusive tests).
    pub(crate) fn limit(&self) -> Option<(Limit, bool)> {
        Some(match self.op {
            CmpOp::Slt => (Limit::SignedMax, false),
            CmpOp::Sle => (Limit::SignedMax, true),
            CmpOp::Sgt => (Limit::SignedMin, false),
            CmpOp::Sge => (Limit::SignedMin, true),
            CmpOp::Ult => (Limit::UnsignedMax, false),
            CmpOp::Ule => (Limit::UnsignedMax, true),
            CmpOp::Ugt => (Limit::Zero, false),
            CmpOp::Uge => (Limit::Zero, true),
            _ => return None,
        })
    }
}

/// The exit test of the loop headed by `h`: its `jnz` on a comparison
/// computed in `h`, with one arm in the loop and one outside it.
pub(crate) fn loop_test(f: &Function, cf: &ControlFlow, h: Block) -> Option<LoopTest> {
    let data = f.block(h);
    let Terminator::Jnz {
        cond: Operand::Value(c),
        nonzero,
        zero,
    } = data.term
    else {
        return None;
    };
    let holds = match (cf.in_loop(h, nonzero), cf.in_loop(h, zero)) {
        (true, false) => true,
        (false, true) => false,
        _ => return None,
    };
    let (op, ty, lhs, rhs) = compare_of(data, c)?;
    if !matches!(ty, BaseType::W | BaseType::L) {
        return None;
    }
    let op = if holds { op } else { negate(op)? };
    // The counter is the operand that is a value of the compared width;
    // with two, the one defined in the header (a phi there) is the counter.
    let defined_here = |v: &Value| data.phis.iter().any(|p| p.result == *v);
    let (x, op, y) = match (lhs, rhs) {
        (Operand::Value(a), Operand::Value(b)) if defined_here(b) && !defined_here(a) => {
            (*b, swap(op)?, lhs.clone())
        }
        (Operand::Value(a), _) => (*a, op, rhs.clone()),
        (_, Operand::Value(b)) => (*b, swap(op)?, lhs.clone()),
        _ => return None,
    };
    (f.value_type(x) == ty).then_some(LoopTest { x, op, y, ty })
}

/// The comparison in `data` that defines `c`: its kind, width and operands.
fn compare_of(data: &BlockData, c: Value) -> Option<(CmpOp, BaseType, &Operand, &Operand)> {
    data.insts.iter().find_map(|i| match &i.kind {
        InstKind::Compare { op, ty, lhs, rhs } if i.result == Some(c) => Some((*op, *ty, lhs, rhs)),
        _ => None,
    })
}

/// `!(a op b)` as `a op' b`.
fn negate(op: CmpOp) -> Option<CmpOp> {
    Some(match op {
        CmpOp::Slt => CmpOp::Sge,
        CmpOp::Sge => CmpOp::Slt,
        CmpOp::Sle => CmpOp::Sgt,
        CmpOp::Sgt => CmpOp::Sle,
        CmpOp::Ult => CmpOp::Uge,
        CmpOp::Uge => CmpOp::Ult,
        CmpOp::Ule => CmpOp::Ugt,
        CmpOp::Ugt => CmpOp::Ule,
        _ => return None,
    })
}

/// `a op b` as `b op' a`.
fn swap(op: CmpOp) -> Option<CmpOp> {
    Some(match op {
        CmpOp::Slt => CmpOp::Sgt,
        CmpOp::Sgt => CmpOp::Slt,
        CmpOp::Sle => CmpOp::Sge,
        CmpOp::Sge => CmpOp::Sle,
        CmpOp::Ult => CmpOp::Ugt,
        CmpOp::Ugt => CmpOp::Ult,
        CmpOp::Ule => CmpOp::Uge,
        CmpOp::Uge => CmpOp::Ule,
        _ => return None,
    })
}

/// Whether `y` differs from `limit` whenever the loop headed by `h` runs:
/// a constant that does, or a value every entry into the loop has
/// compared with the limit and came in on the "differs" arm.
fn bound_clear_of(f: &Function, cf: &ControlFlow, h: Block, test: &LoopTest, limit: Limit) -> bool {
    let y = match &test.y {
        Operand::Const(Const::Int(c)) => return !limit.is(*c, test.ty),
        Operand::Const(_) => return false,
        Operand::Value(y) => *y,
    };
    // A guard leaving room below the signed maximum (see
    // [`guards_at_most`]) keeps `y` off it too.
    let below_max = |p: Block| {
        limit == Limit::SignedMax
            && guards_at_most(f, p, h, y, test.ty, limit.constant(test.ty) - 1)
    };
    every_entry(cf, h, |p| {
        guards(f, p, h, y, test.ty, limit) || below_max(p)
    })
}

/// Whether the loop headed by `h` has an entry and `holds` of each of
/// its entries (the predecessors outside it).
fn every_entry(cf: &ControlFlow, h: Block, holds: impl Fn(Block) -> bool) -> bool {
    let mut entries = cf.preds[h.index()]
        .iter()
        .filter(|&&p| !cf.in_loop(h, p))
        .peekable();
    entries.peek().is_some() && entries.all(|&p| holds(p))
}

/// The comparison block `p` ends by branching on, and its two distinct
/// targets: `(op, width, lhs, rhs, nonzero, zero)`.
fn branch_compare(
    f: &Function,
    p: Block,
) -> Option<(CmpOp, BaseType, &Operand, &Operand, Block, Block)> {
    let data = f.block(p);
    let Terminator::Jnz {
        cond: Operand::Value(g),
        nonzero,
        zero,
    } = data.term
    else {
        return None;
    };
    if nonzero == zero {
        return None;
    }
    let (op, ty, lhs, rhs) = compare_of(data, g)?;
    Some((op, ty, lhs, rhs, nonzero, zero))
}

/// Whether block `p` reaches `h` only on the arm where `y`, at width
/// `ty`, differs from `limit`.
pub(crate) fn guards(
    f: &Function,
    p: Block,
    h: Block,
    y: Value,
    ty: BaseType,
    limit: Limit,
) -> bool {
    let Some((op, cty, lhs, rhs, nonzero, zero)) = branch_compare(f, p) else {
        return false;
    };
    let compares_y_with_limit = cty == ty
        && match (lhs, rhs) {
            (Operand::Value(a), Operand::Const(Const::Int(c)))
            | (Operand::Const(Const::Int(c)), Operand::Value(a)) => *a == y && limit.is(*c, ty),
            _ => false,
        };
    compares_y_with_limit
        && match op {
            CmpOp::Eq => zero == h,
            CmpOp::Ne => nonzero == h,
            _ => false,
        }
}

/// Finds the `add` and `sub` instructions of `f` that step a loop's
/// tested value towards its bound by one and so cannot wrap. `cf` must
/// describe `f`.
pub fn find(f: &Function, cf: &ControlFlow) -> NoWrap {
    let mut flags = vec![0u8; f.values.len()];
    if cf.irreducible || cf.len() != f.blocks.len() {
        return NoWrap { flags };
    }
    for h in f.block_ids().filter(|h| cf.loop_header[h.index()]) {
        let Some(test) = loop_test(f, cf, h) else {
            continue;
        };
        let Some((limit, needs_bound)) = test.limit() else {
            continue;
        };
        let clear = !needs_bound || bound_clear_of(f, cf, h, &test, limit);
        for b in f.block_ids().filter(|&b| b != h && cf.in_loop(h, b)) {
            for inst in &f.block(b).insts {
                let (Some(r), InstKind::Binary { op, lhs, rhs }) = (inst.result, &inst.kind) else {
                    continue;
                };
                if f.value_type(r) != test.ty {
                    continue;
                }
                if let Some(bit) = step_flag(*op, lhs, rhs, test.x, test.ty, limit) {
                    if clear {
                        flags[r.index()] |= bit;
                    }
                    continue;
                }
                let bound = constant_step(*op, lhs, rhs, test.x)
                    .and_then(|k| largest_safe_bound(&test, narrow(k, test.ty)));
                if bound.is_some_and(|b| bound_at_most(f, cf, h, &test, b)) {
                    flags[r.index()] |= NSW;
                }
            }
        }
    }
    NoWrap { flags }
}

/// Steps above this are not proven (nor worth a guard).
const MAX_STEP: i64 = 1 << 16;

/// For a step of the tested value by `k` (1 < k <= [`MAX_STEP`]) up
/// towards a signed bound `y`, the largest `y` that keeps the step from
/// wrapping. Inside the loop `x < y` (so `x <= y - 1`) or `x <= y`, and
/// `x + k` stays a signed number of the width when `x <= MAX - k`: so `y`
/// may be at most `MAX - k + 1`, or `MAX - k` for the inclusive test.
/// (A step of one is [`step_flag`]'s case.)
pub(crate) fn largest_safe_bound(test: &LoopTest, k: i64) -> Option<i64> {
    if !(2..=MAX_STEP).contains(&k) {
        return None;
    }
    let max = Limit::SignedMax.constant(test.ty);
    match test.op {
        CmpOp::Slt => Some(max - k + 1),
        CmpOp::Sle => Some(max - k),
        _ => None,
    }
}

/// Whether `y` is at most `b` (signed, at the test's width) whenever the
/// loop headed by `h` runs: a constant that is, or a value every entry
/// into the loop has compared with a constant on the arm that says so.
pub(crate) fn bound_at_most(
    f: &Function,
    cf: &ControlFlow,
    h: Block,
    test: &LoopTest,
    b: i64,
) -> bool {
    let y = match &test.y {
        Operand::Const(Const::Int(c)) => return narrow(*c, test.ty) <= b,
        Operand::Const(_) => return false,
        Operand::Value(y) => *y,
    };
    every_entry(cf, h, |p| guards_at_most(f, p, h, y, test.ty, b))
}

/// Whether block `p` reaches `h` only on an arm where `y`, a signed
/// number of width `ty`, is at most `b`.
pub(crate) fn guards_at_most(
    f: &Function,
    p: Block,
    h: Block,
    y: Value,
    ty: BaseType,
    b: i64,
) -> bool {
    let Some((op, cty, lhs, rhs, nonzero, zero)) = branch_compare(f, p) else {
        return false;
    };
    if cty != ty {
        return false;
    }
    // As `y op c`.
    let (op, c) = match (lhs, rhs) {
        (Operand::Value(a), Operand::Const(Const::Int(c))) if *a == y => (op, *c),
        (Operand::Const(Const::Int(c)), Operand::Value(a)) if *a == y => match swap(op) {
            Some(op) => (op, *c),
            None => return false,
        },
        _ => return false,
    };
    let c = narrow(c, ty);
    let min = Limit::SignedMin.constant(ty);
    // The largest `y` on the arm that reaches `h`.
    let largest = match op {
        CmpOp::Sle if nonzero == h => c,
        CmpOp::Sgt if zero == h => c,
        CmpOp::Slt if nonzero == h && c > min => c - 1,
        CmpOp::Sge if zero == h && c > min => c - 1,
        _ => return false,
    };
    largest <= b
}

/// The constant `op lhs, rhs` adds to `x` (`add x, c`, `add c, x`,
/// `sub x, c`), in wrapping 64-bit arithmetic.
pub(crate) fn constant_step(op: BinOp, lhs: &Operand, rhs: &Operand, x: Value) -> Option<i64> {
    let is_x = |o: &Operand| *o == Operand::Value(x);
    let constant = |o: &Operand| match o {
        Operand::Const(Const::Int(c)) => Some(*c),
        _ => None,
    };
    match op {
        BinOp::Add if is_x(lhs) => constant(rhs),
        BinOp::Add if is_x(rhs) => constant(lhs),
        BinOp::Sub if is_x(lhs) => Some(constant(rhs)?.wrapping_neg()),
        _ => None,
    }
}

/// The flag an `op lhs, rhs` earns when `x` is clear of `limit`: a step
/// of `x` by one towards the limit, which then cannot pass it.
pub(crate) fn step_flag(
    op: BinOp,
    lhs: &Operand,
    rhs: &Operand,
    x: Value,
    ty: BaseType,
    limit: Limit,
) -> Option<u8> {
    let step = narrow(constant_step(op, lhs, rhs, x)?, ty);
    match (limit, step, op) {
        (Limit::SignedMax, 1, _) => Some(NSW),
        (Limit::SignedMin, -1, _) => Some(NSW),
        (Limit::UnsignedMax, 1, BinOp::Add) => Some(NUW),
        (Limit::Zero, -1, BinOp::Sub) => Some(NUW),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Item;
    use crate::reader::read_module;

    /// The flags proven for the values of `$f` in `text`, by name.
    fn flags_of(text: &str) -> Vec<(String, u8)> {
        let m = read_module(text, "t.ssa").expect("reads");
        let f = m
            .items
            .iter()
            .find_map(|i| match i {
                Item::Function(f) if f.name == "f" => Some(f),
                _ => None,
            })
            .expect("$f");
        let found = find(f, &ControlFlow::compute(f));
        f.values
            .iter()
            .enumerate()
            .filter(|(i, _)| found.of(Value(*i as u32)) != 0)
            .map(|(i, v)| (v.name.to_string(), found.of(Value(i as u32))))
            .collect()
    }

    /// A counting loop: `TEST` compares `%j` (and `%n`), `STEP` steps it;
    /// `ARMS` are the `jnz` arms.
    fn counting(test: &str, step: &str, arms: &str) -> String {
        format!(
            "
export function w $f(w %n) {{
@start
	jmp @head
@head
	%j =w phi @start 1, @body %j2
	%early =w add %j, 1
	%c =w {test}
	jnz %c, {arms}
@body
	%j2 =w {step}
	jmp @head
@done
	ret %early
}}
"
        )
    }

    #[test]
    fn a_strict_test_proves_the_step_towards_it() {
        let up = counting("csltw %j, %n", "add %j, 1", "@body, @done");
        // The header's own `add` runs before the test: not proven.
        assert_eq!(flags_of(&up), vec![("j2".into(), NSW)]);
        let up = counting("csltw %j, %n", "add 1, %j", "@body, @done");
        assert_eq!(flags_of(&up), vec![("j2".into(), NSW)]);
        let down = counting("csgtw %j, %n", "sub %j, 1", "@body, @done");
        assert_eq!(flags_of(&down), vec![("j2".into(), NSW)]);
        let down = counting("csgtw %j, %n", "add %j, -1", "@body, @done");
        assert_eq!(flags_of(&down), vec![("j2".into(), NSW)]);
        let unsigned = counting("cultw %j, %n", "add %j, 1", "@body, @done");
        assert_eq!(flags_of(&unsigned), vec![("j2".into(), NUW)]);
        let unsigned = counting("cugtw %j, %n", "sub %j, 1", "@body, @done");
        assert_eq!(flags_of(&unsigned), vec![("j2".into(), NUW)]);
        // The bound on the left, and the loop continuing on the zero arm.
        let swapped = counting("csgtw %n, %j", "add %j, 1", "@body, @done");
        assert_eq!(flags_of(&swapped), vec![("j2".into(), NSW)]);
        let negated = counting("csgew %j, %n", "add %j, 1", "@done, @body");
        assert_eq!(flags_of(&negated), vec![("j2".into(), NSW)]);
    }

    #[test]
    fn steps_away_from_the_test_or_by_more_than_one_are_not_proven() {
        for (test, step) in [
            ("csltw %j, %n", "sub %j, 1"),
            ("csltw %j, %n", "add %j, 2"),
            ("csgtw %j, %n", "add %j, 1"),
            ("cultw %j, %n", "add %j, -1"),
            ("cugtw %j, %n", "add %j, -1"),
            ("ceqw %j, %n", "add %j, 1"),
            ("cnew %j, %n", "add %j, 1"),
        ] {
            let text = counting(test, step, "@body, @done");
            assert_eq!(flags_of(&text), vec![], "{test} / {step}");
        }
    }

    #[test]
    fn an_inclusive_test_needs_a_bound_below_the_limit() {
        let open = counting("cslew %j, %n", "add %j, 1", "@body, @done");
        assert_eq!(flags_of(&open), vec![]);
        let below = counting("cslew %j, 2147483646", "add %j, 1", "@body, @done");
        assert_eq!(flags_of(&below), vec![("j2".into(), NSW)]);
        let at = counting("cslew %j, 2147483647", "add %j, 1", "@body, @done");
        assert_eq!(flags_of(&at), vec![]);
        // As a `w`, 4294967295 is all ones: the unsigned limit.
        let at = counting("culew %j, 4294967295", "add %j, 1", "@body, @done");
        assert_eq!(flags_of(&at), vec![]);
        let down = counting("csgew %j, 0", "sub %j, 1", "@body, @done");
        assert_eq!(flags_of(&down), vec![("j2".into(), NSW)]);
        let down = counting("cugew %j, 0", "sub %j, 1", "@body, @done");
        assert_eq!(flags_of(&down), vec![]);
    }

    /// `j <= n` from 1, entered through `jnz %g, ARMS` on `%g = GUARD`;
    /// `BODY` steps `%j` to `%j2`, and the function returns `RESULT`.
    fn guarded(guard: &str, arms: &str, body: &str, result: &str) -> String {
        format!(
            "
export function w $f(w %n) {{
@start
	%g =w {guard}
	jnz %g, {arms}
@head
	%j =w phi @start 1, @body %j2
	%c =w cslew %j, %n
	jnz %c, @body, @done
@body
{body}
	jmp @head
@done
	ret {result}
@other
	ret 0
}}
"
        )
    }

    #[test]
    fn a_guard_on_every_entry_clears_an_inclusive_bound() {
        let guarded = |guard: &str, arms: &str| guarded(guard, arms, "\t%j2 =w add %j, 1", "%j");
        let ok = guarded("ceqw %n, 2147483647", "@other, @head");
        assert_eq!(flags_of(&ok), vec![("j2".into(), NSW)]);
        let ok = guarded("cnew 2147483647, %n", "@head, @other");
        assert_eq!(flags_of(&ok), vec![("j2".into(), NSW)]);
        // The wrong arm, the wrong constant.
        let wrong = guarded("ceqw %n, 2147483647", "@head, @other");
        assert_eq!(flags_of(&wrong), vec![]);
        let wrong = guarded("ceqw %n, 2147483646", "@other, @head");
        assert_eq!(flags_of(&wrong), vec![]);
    }

    #[test]
    fn a_larger_step_up_needs_room_below_the_limit() {
        let fits = |test: &str, step: &str| {
            flags_of(&counting(test, step, "@body, @done")) == vec![("j2".into(), NSW)]
        };
        // j < c: j + k fits when c <= MAX - k + 1; j <= c when c <= MAX - k.
        assert!(fits("csltw %j, 2147483646", "add %j, 2"));
        assert!(!fits("csltw %j, 2147483647", "add %j, 2"));
        assert!(fits("cslew %j, 2147483645", "add %j, 2"));
        assert!(!fits("cslew %j, 2147483646", "add %j, 2"));
        assert!(fits("cslew %j, 2147483640", "add 7, %j"));
        assert!(!fits("cslew %j, 2147483641", "add 7, %j"));
        assert!(fits("csltw %j, 100", "sub %j, -3"));
        // As a `w`, 4294967298 adds 2.
        assert!(fits("csltw %j, 2147483646", "add %j, 4294967298"));
        // An unknown bound, an unsigned or downward test, a step too large.
        assert!(!fits("csltw %j, %n", "add %j, 2"));
        assert!(!fits("cultw %j, 100", "add %j, 2"));
        assert!(!fits("csgtw %j, -100", "sub %j, 2"));
        assert!(!fits("csltw %j, 100", "add %j, 65537"));
    }

    #[test]
    fn a_guard_leaving_room_clears_a_larger_step() {
        let guarded = |guard: &str, arms: &str| {
            guarded(guard, arms, "\t%k =w add %j, 1\n\t%j2 =w add %j, 2", "%k")
        };
        // The room proven for the step of two also proves `%j + 1`; a
        // bound that is only off the limit proves `%j + 1` alone.
        let both = ["j2", "k"].as_slice();
        let one = ["k"].as_slice();
        for (guard, arms, proven) in [
            ("csgtw %n, 2147483645", "@other, @head", both),
            ("cslew %n, 2147483645", "@head, @other", both),
            ("csltw %n, 2147483646", "@head, @other", both),
            ("csgew %n, 2147483646", "@other, @head", both),
            ("csltw 2147483645, %n", "@other, @head", both),
            ("csgtw %n, 100", "@other, @head", both),
            ("csgtw %n, 2147483646", "@other, @head", one),
            ("ceqw %n, 2147483647", "@other, @head", one),
            // The wrong arm, unsigned.
            ("csgtw %n, 2147483645", "@head, @other", &[]),
            ("cugtw %n, 2147483645", "@other, @head", &[]),
        ] {
            let mut found = flags_of(&guarded(guard, arms));
            found.sort();
            let want: Vec<(String, u8)> = proven.iter().map(|v| (v.to_string(), NSW)).collect();
            assert_eq!(found, want, "{guard} / {arms}");
        }
    }

    #[test]
    fn a_long_counter_uses_the_long_limits() {
        let text = "
export function l $f(l %n) {
@start
	jmp @head
@head
	%j =l phi @start 0, @body %j2
	%c =w cslel %j, 2147483647
	jnz %c, @body, @done
@body
	%j2 =l add %j, 1
	%w =w add %j, 1
	jmp @head
@done
	ret %j
}
";
        // 2^31 - 1 is below the largest `l`; the `w` add is not the counter's width.
        assert_eq!(flags_of(text), vec![("j2".into(), NSW)]);
    }
}
