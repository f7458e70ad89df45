//! Values a loop stores and reads back one iteration later, carried in a
//! phi instead of through memory.
//!
//! `cur[j] = min(cur[j - 1] + 1, …)` stores to `cur + 4j` and, in the next
//! iteration, loads the same word back as `cur[j - 1]`. Through memory,
//! every iteration's critical path includes a store-to-load forwarding
//! (several cycles on x86-64); in a phi the value stays in a register.
//! LLVM does this for native code; the wasm code generator and the engines
//! compiling its output do not.
//!
//! Handled: an innermost loop with one entry edge and one back edge whose
//! only memory write is one store that runs in every iteration, and loads
//! that run in every iteration before it (and before the loop can be
//! left) whose address in iteration k + 1 is provably the store's address
//! in iteration k, with the same width. Addresses are
//! compared as sums of terms (`add`, `sub`, `copy`, `mul` and `shl` by
//! constants, `extsw`/`extuw` of such a `w` sum) over values the loop does
//! not change, symbols, and counters stepped by a constant: the load's
//! address with every counter advanced by its step must be the store's
//! address, term for term. The first iteration's value is loaded on the
//! loop's entry edge (a new block), from the address the first iteration
//! loads: the loop reads it there before any write of its own, and the
//! entry edge runs only when the loop does.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::ir::{
    for_each_use_mut, BaseType, BinOp, Block, Const, Function, Inst, InstKind, LoadKind, Name,
    Operand, Phi, StoreKind, Terminator, UnOp, Value,
};
use crate::sema::cfg::{normalize, ControlFlow};
use crate::sema::no_wrap::constant_step;

/// Carries stored values around the innermost loops of `f` (see the
/// module documentation); returns the number of loads replaced.
/// `quiet` says of a function's name whether a call of it writes no
/// memory (say, a helper [`writes_no_memory`] found so).
pub fn carry_stored_values(f: &mut Function, quiet: &dyn Fn(&str) -> bool) -> usize {
    let cf = ControlFlow::compute(f);
    if cf.irreducible {
        return 0;
    }
    let plans: Vec<Plan> = f
        .block_ids()
        .filter(|&h| cf.loop_header[h.index()])
        .filter_map(|h| plan(f, &cf, h, quiet))
        .collect();
    if plans.is_empty() {
        return 0;
    }
    let mut names = Names::new(f);
    let mut carried = 0;
    for p in &plans {
        carried += apply(f, p, &mut names);
    }
    normalize(f);
    carried
}

/// An instruction: its block and index there.
type At = (Block, usize);

/// What to do in one loop.
struct Plan {
    header: Block,
    /// The one predecessor outside the loop.
    entry: Block,
    /// The one predecessor inside it.
    latch: Block,
    /// Counters: phi value → value on entry.
    counters: HashMap<Value, Operand>,
    /// Instructions of the loop by result, for the first address.
    defs: HashMap<Value, At>,
    /// One-input phis of the loop: their input.
    forward: HashMap<Value, Operand>,
    /// The loads to replace.
    loads: Vec<At>,
    /// The store whose value they get.
    store: At,
}

fn plan(f: &Function, cf: &ControlFlow, h: Block, quiet: &dyn Fn(&str) -> bool) -> Option<Plan> {
    let body: Vec<Block> = f.block_ids().filter(|&b| cf.in_loop(h, b)).collect();
    if body.iter().any(|&b| b != h && cf.loop_header[b.index()]) {
        return None;
    }
    let preds = &cf.preds[h.index()];
    let (inside, outside): (Vec<Block>, Vec<Block>) =
        preds.iter().partition(|&&p| cf.in_loop(h, p));
    let ([latch], [entry]) = (&inside[..], &outside[..]) else {
        return None;
    };
    let (latch, entry) = (*latch, *entry);
    let mut writers = body.iter().flat_map(|&b| {
        f.block(b)
            .insts
            .iter()
            .enumerate()
            .filter(|(_, i)| writes_memory(&i.kind, quiet))
            .map(move |(i, inst)| ((b, i), inst))
    });
    let (store, store_inst) = writers.next()?;
    if writers.next().is_some() || !cf.dominates(store.0, latch) {
        return None;
    }
    let InstKind::Store {
        kind: store_kind,
        value: stored,
        addr: store_addr,
    } = &store_inst.kind
    else {
        return None;
    };
    let exits: Vec<Block> = body
        .iter()
        .copied()
        .filter(|&b| f.block(b).term.successors().any(|s| !cf.in_loop(h, s)))
        .collect();
    let mut defs = HashMap::new();
    let mut phis = HashSet::new();
    let mut forward = HashMap::new();
    for &b in &body {
        let bd = f.block(b);
        for p in &bd.phis {
            match &p.args[..] {
                [(_, only)] if b != h => {
                    forward.insert(p.result, only.clone());
                }
                _ => {
                    phis.insert(p.result);
                }
            }
        }
        for (i, inst) in bd.insts.iter().enumerate() {
            if let Some(r) = inst.result {
                defs.insert(r, (b, i));
            }
        }
    }
    let counters = counters(f, h, entry, latch, &defs, &forward);
    let view = LoopView {
        f,
        defs: &defs,
        phis: &phis,
        forward: &forward,
        counters: &counters,
    };
    let store_at = view.address(store_addr)?;
    let mut loads = Vec::new();
    for &b in &body {
        // The load runs in every iteration before the store, and before
        // the loop can be left.
        let before_store = b != store.0 && cf.dominates(b, store.0);
        if !(before_store || b == store.0) || !exits.iter().all(|&e| cf.dominates(b, e)) {
            continue;
        }
        for (i, inst) in f.block(b).insts.iter().enumerate() {
            if b == store.0 && i >= store.1 {
                break;
            }
            let (Some(r), InstKind::Load { kind, addr }) = (inst.result, &inst.kind) else {
                continue;
            };
            let ty = f.value_type(r);
            if same_width(*store_kind, *kind, ty)
                && f.operand_type(stored, ty) == ty
                && view.address(addr).map(|a| view.advanced(&a)) == Some(store_at.clone())
            {
                loads.push((b, i));
            }
        }
    }
    if loads.is_empty() {
        return None;
    }
    let counters = counters
        .into_iter()
        .map(|(v, (init, _))| (v, init))
        .collect();
    Some(Plan {
        header: h,
        entry,
        latch,
        counters,
        defs,
        forward,
        loads,
        store,
    })
}

/// Whether an instruction may write memory.
fn writes_memory(kind: &InstKind, quiet: &dyn Fn(&str) -> bool) -> bool {
    match kind {
        InstKind::Call {
            callee: Operand::Const(Const::Addr { sym, offset: 0 }),
            ..
        } => !quiet(sym),
        InstKind::Store { .. }
        | InstKind::Blit { .. }
        | InstKind::Call { .. }
        | InstKind::VaStart { .. }
        | InstKind::VaArg { .. } => true,
        _ => false,
    }
}

/// Whether calling `f` writes no memory: it stores nothing and calls
/// nothing (reading memory, trapping and looping are allowed).
pub fn writes_no_memory(f: &Function) -> bool {
    f.blocks
        .iter()
        .flat_map(|b| &b.insts)
        .all(|i| !writes_memory(&i.kind, &|_| false))
}

/// Whether a load of `kind` with a `ty` result reads back exactly what a
/// store of `store` wrote.
fn same_width(store: StoreKind, kind: LoadKind, ty: BaseType) -> bool {
    match store {
        StoreKind::W => matches!(kind, LoadKind::Sw | LoadKind::Uw) && ty == BaseType::W,
        StoreKind::L => kind == LoadKind::L && ty == BaseType::L,
        StoreKind::S => kind == LoadKind::S && ty == BaseType::S,
        StoreKind::D => kind == LoadKind::D && ty == BaseType::D,
        StoreKind::B | StoreKind::H => false,
    }
}

/// The phis of header `h` that step by a constant each iteration: value
/// → (value on entry from `entry`, step). The value from the latch may
/// reach the phi through copies and one-input phis.
fn counters(
    f: &Function,
    h: Block,
    entry: Block,
    latch: Block,
    defs: &HashMap<Value, At>,
    forward: &HashMap<Value, Operand>,
) -> HashMap<Value, (Operand, i64)> {
    let mut found = HashMap::new();
    for phi in &f.block(h).phis {
        let (Some((_, init)), Some((_, next))) = (
            phi.args.iter().find(|(p, _)| *p == entry),
            phi.args.iter().find(|(p, _)| *p == latch),
        ) else {
            continue;
        };
        let mut next = next.clone();
        let mut def = None;
        for _ in 0..MAX_DEPTH {
            let Operand::Value(v) = next else { break };
            if let Some(only) = forward.get(&v) {
                next = only.clone();
                continue;
            }
            let Some(&(b, i)) = defs.get(&v) else { break };
            match &f.block(b).insts[i].kind {
                InstKind::Unary {
                    op: UnOp::Copy,
                    arg,
                } => next = arg.clone(),
                kind => {
                    def = Some(kind);
                    break;
                }
            }
        }
        let Some(def) = def else { continue };
        let InstKind::Binary { op, lhs, rhs } = def else {
            continue;
        };
        let Some(step) = constant_step(*op, lhs, rhs, phi.result) else {
            continue;
        };
        found.insert(phi.result, (init.clone(), step));
    }
    found
}

/// A term of an address sum.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Term {
    /// A value the loop does not change, or one of its counters.
    Value(Value),
    /// The address of a symbol.
    Symbol(String),
    /// `extsw` (signed) or `extuw` of a `w` sum.
    Extended { signed: bool, of: Sum },
}

/// `constant + Σ coefficient × term`, in `l` arithmetic when `wide`, else
/// in `w` (coefficients and constant kept as sign-extended 32-bit values).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Sum {
    wide: bool,
    terms: BTreeMap<Term, i64>,
    constant: i64,
}

impl Sum {
    fn constant(wide: bool, c: i64) -> Sum {
        Sum {
            wide,
            terms: BTreeMap::new(),
            constant: c,
        }
        .normalized()
    }

    fn term(wide: bool, t: Term) -> Sum {
        Sum {
            wide,
            terms: BTreeMap::from([(t, 1)]),
            constant: 0,
        }
    }

    fn wrap(&self, x: i64) -> i64 {
        if self.wide {
            x
        } else {
            x as i32 as i64
        }
    }

    fn normalized(mut self) -> Sum {
        self.constant = self.wrap(self.constant);
        let wide = self.wide;
        self.terms.retain(|_, c| {
            if !wide {
                *c = *c as i32 as i64;
            }
            *c != 0
        });
        self
    }

    fn plus(mut self, other: Sum, sign: i64) -> Sum {
        self.constant = self
            .constant
            .wrapping_add(sign.wrapping_mul(other.constant));
        for (t, c) in other.terms {
            let e = self.terms.entry(t).or_insert(0);
            *e = e.wrapping_add(sign.wrapping_mul(c));
        }
        self.normalized()
    }

    fn times(mut self, k: i64) -> Sum {
        self.constant = self.constant.wrapping_mul(k);
        for c in self.terms.values_mut() {
            *c = c.wrapping_mul(k);
        }
        self.normalized()
    }

    fn as_constant(&self) -> Option<i64> {
        self.terms.is_empty().then_some(self.constant)
    }
}

/// Reads addresses in one loop.
struct LoopView<'a> {
    f: &'a Function,
    /// Instruction results defined in the loop.
    defs: &'a HashMap<Value, At>,
    /// Phi results defined in the loop with more than one input.
    phis: &'a HashSet<Value>,
    /// Phis of the loop with one input (left by rotation): that input.
    forward: &'a HashMap<Value, Operand>,
    counters: &'a HashMap<Value, (Operand, i64)>,
}

/// How deep an address expression is followed.
const MAX_DEPTH: u32 = 24;

impl LoopView<'_> {
    fn address(&self, addr: &Operand) -> Option<Sum> {
        let wide = match addr {
            Operand::Value(v) => self.f.value_type(*v) == BaseType::L,
            Operand::Const(_) => true,
        };
        self.sum(addr, wide, 0)
    }

    fn sum(&self, op: &Operand, wide: bool, depth: u32) -> Option<Sum> {
        if depth > MAX_DEPTH {
            return None;
        }
        let v = match op {
            Operand::Const(Const::Int(c)) => return Some(Sum::constant(wide, *c)),
            Operand::Const(Const::Addr { sym, offset }) => {
                return Some(
                    Sum::term(wide, Term::Symbol(sym.clone()))
                        .plus(Sum::constant(wide, *offset), 1),
                )
            }
            Operand::Const(_) => return None,
            Operand::Value(v) => *v,
        };
        let ty = self.f.value_type(v);
        if ty != (if wide { BaseType::L } else { BaseType::W }) {
            return None;
        }
        if self.counters.contains_key(&v) {
            return Some(Sum::term(wide, Term::Value(v)));
        }
        if let Some(only) = self.forward.get(&v) {
            return self.sum(only, wide, depth + 1);
        }
        let Some(&(b, i)) = self.defs.get(&v) else {
            // A phi of the loop that is no counter changes in ways not
            // followed; anything defined outside does not change.
            if self.phis.contains(&v) {
                return None;
            }
            return Some(Sum::term(wide, Term::Value(v)));
        };
        let d = depth + 1;
        match &self.f.block(b).insts[i].kind {
            InstKind::Binary { op, lhs, rhs } => match op {
                BinOp::Add => Some(self.sum(lhs, wide, d)?.plus(self.sum(rhs, wide, d)?, 1)),
                BinOp::Sub => Some(self.sum(lhs, wide, d)?.plus(self.sum(rhs, wide, d)?, -1)),
                BinOp::Mul => {
                    let (a, b) = (self.sum(lhs, wide, d)?, self.sum(rhs, wide, d)?);
                    match (a.as_constant(), b.as_constant()) {
                        (_, Some(k)) => Some(a.times(k)),
                        (Some(k), _) => Some(b.times(k)),
                        _ => None,
                    }
                }
                BinOp::Shl => {
                    let Operand::Const(Const::Int(k)) = rhs else {
                        return None;
                    };
                    let bits = if wide { 64 } else { 32 };
                    if !(0..bits).contains(k) {
                        return None;
                    }
                    Some(self.sum(lhs, wide, d)?.times(1i64.wrapping_shl(*k as u32)))
                }
                _ => None,
            },
            InstKind::Unary {
                op: UnOp::Copy,
                arg,
            } => self.sum(arg, wide, d),
            InstKind::Unary {
                op: op @ (UnOp::Extsw | UnOp::Extuw),
                arg,
            } if wide => {
                let of = self.sum(arg, false, d)?;
                Some(extended(*op == UnOp::Extsw, of))
            }
            _ => None,
        }
    }

    /// The sum one iteration later: every counter advanced by its step.
    fn advanced(&self, s: &Sum) -> Sum {
        let mut out = Sum::constant(s.wide, s.constant);
        for (t, &c) in &s.terms {
            let next = match t {
                Term::Value(v) => match self.counters.get(v) {
                    Some((_, step)) => {
                        Sum::term(s.wide, t.clone()).plus(Sum::constant(s.wide, *step), 1)
                    }
                    None => Sum::term(s.wide, t.clone()),
                },
                Term::Symbol(_) => Sum::term(s.wide, t.clone()),
                Term::Extended { signed, of } => extended(*signed, self.advanced(of)),
            };
            out = out.plus(next.times(c), 1);
        }
        out
    }
}

/// `extsw`/`extuw` of a `w` sum, folded when it is a constant.
fn extended(signed: bool, of: Sum) -> Sum {
    match of.as_constant() {
        Some(c) if signed => Sum::constant(true, c as i32 as i64),
        Some(c) => Sum::constant(true, c as u32 as i64),
        None => Sum::term(true, Term::Extended { signed, of }),
    }
}

/// Fresh block and value names.
struct Names {
    blocks: HashSet<Name>,
    values: HashSet<Name>,
}

impl Names {
    fn new(f: &Function) -> Names {
        Names {
            blocks: f.blocks.iter().map(|b| b.name.clone()).collect(),
            values: f.values.iter().map(|v| v.name.clone()).collect(),
        }
    }

    fn fresh(set: &mut HashSet<Name>, base: &str) -> Name {
        let mut n = 0;
        loop {
            let name: Name = format!("{base}.carry{n}").into();
            if set.insert(name.clone()) {
                return name;
            }
            n += 1;
        }
    }

    fn value(&mut self, f: &mut Function, like: Value, ty: BaseType) -> Value {
        let name = Self::fresh(&mut self.values, &f.values[like.index()].name);
        f.add_value(&name, ty)
    }
}

/// Carries `p`'s store into its loads; returns how many were replaced.
fn apply(f: &mut Function, p: &Plan, names: &mut Names) -> usize {
    let h = p.header;
    let pos = f.block(h).pos;
    let edge_name = Names::fresh(&mut names.blocks, &f.block(h).name);
    let edge = f.add_block(&edge_name, pos);
    f.blocks[edge.index()].term = Terminator::Jmp(h);
    f.blocks[p.entry.index()].term.retarget(h, edge);
    f.blocks[h.index()].rename_predecessor(p.entry, edge);

    // The first iteration's address, computed on the entry edge from the
    // counters' entry values by copies of the loop's own arithmetic.
    let (lb, li) = p.loads[0];
    let first = f.block(lb).insts[li].clone();
    let (Some(r), InstKind::Load { kind, addr }) = (first.result, first.kind) else {
        unreachable!("plan chose a load");
    };
    let ty = f.value_type(r);
    let mut order = Vec::new();
    inputs_in_order(f, p, &addr, &mut HashSet::new(), &mut order);
    let mut mapped: HashMap<Value, Operand> = p.counters.clone();
    let mut prologue = Vec::new();
    for (b, i) in order {
        let inst = f.block(b).insts[i].clone();
        let (Some(old), mut kind) = (inst.result, inst.kind) else {
            continue;
        };
        for_each_use_mut(&mut kind, |op| *op = first_value(op, &mapped, &p.forward));
        let new = names.value(f, old, f.value_type(old));
        mapped.insert(old, Operand::Value(new));
        prologue.push(Inst {
            result: Some(new),
            kind,
            pos: inst.pos,
        });
    }
    let first_addr = first_value(&addr, &mapped, &p.forward);
    let initial = names.value(f, r, ty);
    prologue.push(Inst {
        result: Some(initial),
        kind: InstKind::Load {
            kind,
            addr: first_addr,
        },
        pos: first.pos,
    });
    f.blocks[edge.index()].insts = prologue;

    let InstKind::Store { value: stored, .. } = f.block(p.store.0).insts[p.store.1].kind.clone()
    else {
        unreachable!("plan chose a store");
    };
    let carried = names.value(f, r, ty);
    f.blocks[h.index()].phis.push(Phi {
        result: carried,
        args: vec![(edge, Operand::Value(initial)), (p.latch, stored)],
        pos,
    });
    let replaced: HashMap<Value, Value> = p
        .loads
        .iter()
        .filter_map(|&(b, i)| f.block(b).insts[i].result)
        .map(|r| (r, carried))
        .collect();
    for bd in &mut f.blocks {
        bd.insts
            .retain(|inst| !inst.result.is_some_and(|r| replaced.contains_key(&r)));
    }
    f.replace_uses(&replaced);
    p.loads.len()
}

/// What `op` is on the loop's entry edge: counters their entry values,
/// copied instructions their copies, one-input phis their input.
fn first_value(
    op: &Operand,
    mapped: &HashMap<Value, Operand>,
    forward: &HashMap<Value, Operand>,
) -> Operand {
    let Operand::Value(v) = op else {
        return op.clone();
    };
    match (mapped.get(v), forward.get(v)) {
        (Some(m), _) => m.clone(),
        (None, Some(only)) => first_value(only, mapped, forward),
        (None, None) => op.clone(),
    }
}

/// The loop's instructions `op` depends on, each after its own inputs.
fn inputs_in_order(
    f: &Function,
    p: &Plan,
    op: &Operand,
    seen: &mut HashSet<Value>,
    out: &mut Vec<At>,
) {
    let Operand::Value(v) = op else { return };
    if !seen.insert(*v) {
        return;
    }
    if let Some(only) = p.forward.get(v) {
        inputs_in_order(f, p, only, seen, out);
        return;
    }
    let Some(&(b, i)) = p.defs.get(v) else { return };
    let mut ops = Vec::new();
    crate::ir::for_each_use(&f.block(b).insts[i].kind, |o| ops.push(o.clone()));
    for o in &ops {
        inputs_in_order(f, p, o, seen, out);
    }
    out.push((b, i));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Item;
    use crate::lang::printer::print_item;
    use crate::reader::read_module;
    use crate::sema::verify::verify;
    use crate::transform::rotate::rotate_loops;
    use crate::transform::test_support::assert_runs_alike;

    /// Rotates and carries every function of `text` (`$quiet` writes no
    /// memory), checks that the result verifies and prints what the
    /// original prints. Returns the loads replaced in `$f` and its text.
    fn carry_module(text: &str) -> (usize, String) {
        let m = read_module(text, "t.ssa").expect("reads");
        let mut count = 0;
        let mut printed = String::new();
        let mut items = Vec::new();
        for item in &m.items {
            let mut item = item.clone();
            if let Item::Function(f) = &mut item {
                rotate_loops(f, |_| false);
                let n = carry_stored_values(f, &|name| name == "quiet");
                if f.name == "f" {
                    count = n;
                }
                let cf = ControlFlow::compute(f);
                let diags = verify(f, &cf, &m.types);
                assert!(diags.is_empty(), "{diags:?}");
                if f.name == "f" {
                    print_item(&mut printed, &item, &m.types).expect("prints");
                }
            }
            items.push(item);
        }
        assert_runs_alike(&m, items, &printed);
        (count, printed)
    }

    /// A module whose `$f(l %a, l %b, w %n)` runs `LOOP` (the body of a
    /// `for (j = FROM; j TEST; j STEP)` loop over `w %j`), and whose
    /// `main` fills two arrays, calls it with `CALLS` (`a, b, n`
    /// operands), and prints both arrays after each call.
    fn program(from: &str, test: &str, step: &str, body: &str, calls: &[&str]) -> String {
        let mut text = format!(
            "
data $a = {{ w 3, w 1, w 4, w 1, w 5, w 9, w 2, w 6, w 5, w 3 }}
data $b = {{ w 2, w 7, w 1, w 8, w 2, w 8, w 1, w 8, w 2, w 8 }}
data $fmt = {{ b \"%d \", b 0 }}
data $nl = {{ b \"\\n\", b 0 }}
function w $quiet(w %x, w %y) {{
@start
	%c =w csltw %x, %y
	jnz %c, @x, @y
@x
	ret %x
@y
	ret %y
}}
function w $noisy(w %x) {{
@start
	storew %x, $b
	ret %x
}}
export function $f(l %a, l %b, w %n) {{
@start
	%j =w copy {from}
	jmp @test
@test
	%go =w {test}
	jnz %go, @body, @done
@body
{body}
	%j =w {step}
	jmp @test
@done
	ret
}}
function $show(l %p) {{
@start
	%i =l copy 0
@loop
	%q =l mul %i, 4
	%r =l add %p, %q
	%v =w loadw %r
	call $printf(l $fmt, ..., w %v)
	%i =l add %i, 1
	%more =w csltl %i, 10
	jnz %more, @loop, @end
@end
	call $printf(l $nl, ...)
	ret
}}
export function w $main() {{
@start
"
        );
        for call in calls {
            text += &format!("\tcall $f({call})\n\tcall $show(l $a)\n\tcall $show(l $b)\n");
        }
        text + "\tret 0\n}\n"
    }

    /// `a[j] = op(a[j - 1], b[j])`, the shape of a dynamic-programming row.
    const ROW: &str = "
	%k =w sub %j, 1
	%ko =l extsw %k
	%kb =l mul %ko, 4
	%pa =l add %a, %kb
	%left =w loadw %pa
	%jo =l extsw %j
	%jb =l mul %jo, 4
	%pb =l add %b, %jb
	%up =w loadw %pb
	%up1 =w add %up, 1
	%v =w call $quiet(w %left, w %up1)
	%v2 =w add %v, %j
	%qa =l add %a, %jb
	storew %v2, %qa";

    #[test]
    fn a_row_reads_the_value_it_stored_one_iteration_before_from_a_phi() {
        let text = program(
            "1",
            "cslew %j, %n",
            "add %j, 1",
            ROW,
            &["l $a, l $b, w 9", "l $a, l $b, w 0", "l 0, l 0, w -4"],
        );
        let (count, printed) = carry_module(&text);
        assert_eq!(count, 1, "{printed}");
        assert_eq!(printed.matches("loadsw").count(), 2, "{printed}");
    }

    #[test]
    fn the_first_value_is_not_loaded_when_the_loop_does_not_run() {
        // `$a` is null for the calls that run no iteration: loading the
        // first value anywhere but on the loop's entry edge would fault.
        let text = program(
            "1",
            "cslew %j, %n",
            "add %j, 1",
            ROW,
            &["l 0, l 0, w 0", "l $a, l $b, w 3", "l 0, l 0, w -1"],
        );
        let (count, _) = carry_module(&text);
        assert_eq!(count, 1);
    }

    #[test]
    fn counters_down_by_pointer_and_in_branching_bodies_are_followed() {
        // Down: a[j] = a[j + 1] * 2 + b[j], j from n - 1 to 0.
        let down = "
	%k =w add %j, 1
	%ko =l extsw %k
	%kb =l shl %ko, 2
	%pa =l add %kb, %a
	%right =w loadw %pa
	%r2 =w mul %right, 2
	%jo =l extsw %j
	%jb =l shl %jo, 2
	%pb =l add %b, %jb
	%up =w loadw %pb
	%v =w add %r2, %up
	%qa =l add %a, %jb
	storew %v, %qa";
        let (count, printed) = carry_module(&program(
            "8",
            "csgew %j, 0",
            "sub %j, 1",
            down,
            &["l $a, l $b, w 0"],
        ));
        assert_eq!(count, 1, "{printed}");
        // A diamond inside: the store and the load run every iteration.
        let branching = "
	%k =w sub %j, 1
	%ko =l extsw %k
	%kb =l mul %ko, 4
	%pa =l add %a, %kb
	%left =w loadw %pa
	%odd =w and %left, 1
	jnz %odd, @odd, @even
@odd
	%o =w mul %left, 3
	jmp @join
@even
	%o2 =w sub %left, 1
@join
	%v =w phi @odd %o, @even %o2
	%jo =l extsw %j
	%jb =l mul %jo, 4
	%qa =l add %a, %jb
	storew %v, %qa";
        let (count, printed) = carry_module(&program(
            "1",
            "csltw %j, %n",
            "add %j, 1",
            branching,
            &["l $a, l $b, w 10", "l $a, l $b, w 1"],
        ));
        assert_eq!(count, 1, "{printed}");
    }

    #[test]
    fn loads_another_write_or_iteration_could_change_stay() {
        let cases = [
            // Another store, which may write the same word.
            ROW.replace("storew %v2, %qa", "storew %v2, %qa\n\tstorew %j, %pb"),
            // A call that may write memory.
            ROW.replace("call $quiet", "call $noisy(w %left)\n\t%v =w call $quiet"),
            // Two iterations back, not one.
            ROW.replace("sub %j, 1", "sub %j, 2"),
            // A narrower store than the load.
            ROW.replace("storew %v2, %qa", "storeb %v2, %qa"),
            // The load runs only in some iterations.
            ROW.replace(
                "%left =w loadw %pa",
                "%some =w and %j, 1\n\tjnz %some, @get, @skip\n@get\n\t%l1 =w loadw %pa\n\
                 \tjmp @got\n@skip\n@got\n\t%left =w phi @get %l1, @skip 0",
            ),
        ];
        for (i, body) in cases.iter().enumerate() {
            let (count, printed) = carry_module(&program(
                "2",
                "cslew %j, %n",
                "add %j, 1",
                body,
                &["l $a, l $b, w 9", "l $a, l $a, w 9"],
            ));
            assert_eq!(count, 0, "case {i}:\n{printed}");
        }
    }
}
