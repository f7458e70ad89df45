//! Switch recovery: finds the trees of comparisons by which front ends
//! lower C's `switch` (QBE IL has no multi-way branch), so that a backend
//! can emit one multi-way branch instead (an LLVM `switch`, a wasm
//! `br_table`), which its own code generator turns into a jump table.
//!
//! A tree starts at a *head*: a block ending in `jnz` on a comparison of a
//! value (the scrutinee) with a constant. Its other *nodes* are blocks whose
//! only predecessor is their parent in the tree and that hold nothing but
//! another comparison of the same scrutinee at the same width feeding their
//! `jnz`, or nothing but a `jmp` to a block without phis. The first block on a path that is not a
//! node is a *target*. Walking the tree from the head with the set of values
//! the scrutinee can have on each edge (exact sets of intervals, signed and
//! unsigned comparisons alike) gives every target the values that reach it,
//! so the recovered switch goes where the tree went for every value,
//! including values outside every case.
//!
//! The analysis does not change the function: a backend that uses a
//! [`Switch`] ends the head with it, leaves the nodes out and, in the
//! targets' phis, reads an operand coming from any block of the tree as
//! coming from the head ([`Switches::tree_of`]). A tree is recovered only
//! when that is sound: a target's phis receive the same operand on every
//! edge from the tree, and no comparison result is used elsewhere.
//!
//! Over 900 lines because of its unit tests (about 380 lines); the
//! recovery is about 690.

use crate::ir::{
    for_each_use, term_use, BaseType, Block, CmpOp, Const, Function, InstKind, Operand, Terminator,
    Value,
};

/// At most this many case values per switch; a tree reaching more values
/// through its non-default targets stays a tree.
pub const MAX_CASES: u128 = 2048;

/// Fewer comparisons than this are an `if`, not a switch.
const MIN_COMPARES: usize = 2;

/// A tree of more blocks than this is not walked to its end.
const MAX_TREE_BLOCKS: usize = 4 * MAX_CASES as usize + 64;

/// Work (blocks visited plus intervals of the value sets handled) the
/// search may do per block of the function, plus a fixed amount. Both can
/// grow quadratically without a bound: a tree refused from its head is
/// tried again from each of its blocks (a subtree may qualify), and along
/// a chain of equality tests the set of remaining values gains an
/// interval per test. The bound still lets a chain of `MAX_CASES` tests
/// be recovered; the search stops when the budget is spent.
const WORK_PER_BLOCK: usize = 512;

/// The fixed part of the budget.
const WORK_BASE: usize = 1 << 22;

/// A recovered switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switch {
    /// The block whose `jnz` the switch replaces.
    pub head: Block,
    /// The value switched on.
    pub scrutinee: Value,
    /// The result of the head's comparison: only its `jnz` reads it, so
    /// a backend ending the head with the switch may leave it out.
    pub condition: Value,
    /// The width compared: `W` (the scrutinee's low 32 bits) or `L`.
    pub ty: BaseType,
    /// Case values (bit patterns at the width, zero-extended), ascending,
    /// each with its target; no value twice.
    pub cases: Vec<(u64, Block)>,
    /// Where every other value goes.
    pub default: Block,
    /// The tree's blocks other than the head: no longer reached.
    pub nodes: Vec<Block>,
    /// Every edge from a block of the tree (head or node) to a target that
    /// some value takes, as (from, target), sorted.
    pub edges: Vec<(Block, Block)>,
}

impl Switch {
    /// How many edges of the switch lead to `target`: one per case value
    /// plus one if it is the default (an LLVM phi needs one entry each).
    pub fn edges_to(&self, target: Block) -> usize {
        self.cases.iter().filter(|&&(_, t)| t == target).count()
            + usize::from(self.default == target)
    }

    /// The distinct targets: the default first, then by first case value.
    pub fn targets(&self) -> Vec<Block> {
        let mut seen = std::collections::HashSet::with_capacity(self.cases.len() + 1);
        seen.insert(self.default);
        let mut out = vec![self.default];
        out.extend(
            self.cases
                .iter()
                .map(|&(_, t)| t)
                .filter(|&t| seen.insert(t)),
        );
        out
    }

    /// Whether the edge from tree block `from` to `target` is still taken
    /// by some value (the other edges of the tree disappear with it).
    pub fn is_live_edge(&self, from: Block, target: Block) -> bool {
        self.edges.binary_search(&(from, target)).is_ok()
    }

    /// Whether `b` is the head or a node of this tree.
    pub fn contains(&self, b: Block) -> bool {
        b == self.head || self.nodes.contains(&b)
    }
}

/// The switches of one function.
#[derive(Clone, Debug, Default)]
pub struct Switches {
    list: Vec<Switch>,
    /// Per block: 1 + the index in `list` of the tree it belongs to, or 0.
    owner: Vec<u32>,
}

impl Switches {
    /// Finds the switches of `f` (in SSA form, as the reader hands it out).
    pub fn find(f: &Function) -> Self {
        let mut out = Switches {
            list: Vec::new(),
            owner: vec![0; f.blocks.len()],
        };
        // Most functions have no two blocks testing one value against
        // constants: they are not worth the use counts.
        let mut tested: Vec<Value> = f.block_ids().filter_map(|b| tested_value(f, b)).collect();
        tested.sort_unstable();
        if !tested.windows(2).any(|w| w[0] == w[1]) {
            return out;
        }
        let facts = Facts::of(f);
        let mut budget = WORK_PER_BLOCK * f.blocks.len() + WORK_BASE;
        for head in f.block_ids() {
            if out.owner[head.index()] != 0 {
                continue;
            }
            if budget == 0 {
                break;
            }
            if let Some(sw) = recover_at(f, &facts, &out.owner, head, &mut budget) {
                let id = out.list.len() as u32 + 1;
                out.owner[head.index()] = id;
                for n in &sw.nodes {
                    out.owner[n.index()] = id;
                }
                out.list.push(sw);
            }
        }
        out
    }

    /// Keeps the switches `keep` accepts; the others stay trees.
    pub fn retain(&mut self, mut keep: impl FnMut(&Switch) -> bool) {
        self.list.retain(|s| keep(s));
        self.owner.iter_mut().for_each(|o| *o = 0);
        for (i, sw) in self.list.iter().enumerate() {
            let id = i as u32 + 1;
            self.owner[sw.head.index()] = id;
            for n in &sw.nodes {
                self.owner[n.index()] = id;
            }
        }
    }

    /// Whether any switch was found.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// All switches found.
    pub fn iter(&self) -> impl Iterator<Item = &Switch> {
        self.list.iter()
    }

    /// The switch that ends block `b`, if `b` is a head.
    pub fn at_head(&self, b: Block) -> Option<&Switch> {
        self.tree_of(b).filter(|s| s.head == b)
    }

    /// Whether `b` is a node of some tree: it disappears.
    pub fn is_node(&self, b: Block) -> bool {
        self.tree_of(b).is_some_and(|s| s.head != b)
    }

    /// The tree `b` belongs to, as head or node.
    pub fn tree_of(&self, b: Block) -> Option<&Switch> {
        match self.owner.get(b.index()) {
            Some(&id) if id != 0 => Some(&self.list[id as usize - 1]),
            _ => None,
        }
    }
}

/// What the search needs to know about the whole function.
struct Facts {
    /// Distinct predecessor blocks per block.
    preds: Vec<u32>,
    /// Uses per value (instruction operands, phi operands, terminators).
    uses: Vec<u32>,
}

impl Facts {
    fn of(f: &Function) -> Self {
        let mut preds = vec![0u32; f.blocks.len()];
        let mut uses = vec![0u32; f.values.len()];
        let mut count = |op: &Operand| {
            if let Operand::Value(v) = op {
                uses[v.index()] += 1;
            }
        };
        for b in &f.blocks {
            for phi in &b.phis {
                for (_, a) in &phi.args {
                    count(a);
                }
            }
            for inst in &b.insts {
                for_each_use(&inst.kind, &mut count);
            }
            if let Some(op) = term_use(&b.term) {
                count(op);
            }
            let mut seen = None;
            for s in b.term.successors() {
                if seen != Some(s) {
                    preds[s.index()] += 1;
                }
                seen = Some(s);
            }
        }
        Facts { preds, uses }
    }
}

/// A comparison of the scrutinee with a constant, the scrutinee on the left.
#[derive(Clone, Copy, Debug)]
struct Test {
    scrutinee: Value,
    condition: Value,
    ty: BaseType,
    op: CmpOp,
    constant: u64,
}

/// The value `b`'s `jnz` tests against an integer constant, if it does
/// (found without the use counts: what every block of a tree with a test
/// has).
fn tested_value(f: &Function, b: Block) -> Option<Value> {
    let data = f.block(b);
    let Terminator::Jnz {
        cond: Operand::Value(c),
        ..
    } = data.term
    else {
        return None;
    };
    let inst = data.insts.iter().rev().find(|i| i.result == Some(c))?;
    match &inst.kind {
        InstKind::Compare { lhs, rhs, .. } => match (lhs, rhs) {
            (Operand::Value(v), Operand::Const(Const::Int(_)))
            | (Operand::Const(Const::Int(_)), Operand::Value(v)) => Some(*v),
            _ => None,
        },
        _ => None,
    }
}

/// The test deciding `b`'s `jnz`, if it is a comparison of a value with an
/// integer constant whose result nothing else uses. With `only`, the block
/// must hold nothing else (a node); otherwise other instructions may
/// precede it (a head).
fn test_of(f: &Function, facts: &Facts, b: Block, only: bool) -> Option<(Test, Block, Block)> {
    let data = f.block(b);
    let Terminator::Jnz {
        cond: Operand::Value(c),
        nonzero,
        zero,
    } = data.term
    else {
        return None;
    };
    if nonzero == zero || facts.uses[c.index()] != 1 {
        return None;
    }
    if only
        && (!data.phis.is_empty() || data.insts.iter().filter(|i| !is_marker(&i.kind)).count() != 1)
    {
        return None;
    }
    let inst = data.insts.iter().rev().find(|i| i.result == Some(c))?;
    let InstKind::Compare { op, ty, lhs, rhs } = &inst.kind else {
        return None;
    };
    if !matches!(ty, BaseType::W | BaseType::L) {
        return None;
    }
    let (v, k, op) = match (lhs, rhs) {
        (Operand::Value(v), Operand::Const(Const::Int(k))) => (*v, *k, *op),
        (Operand::Const(Const::Int(k)), Operand::Value(v)) => (*v, *k, swapped(*op)?),
        _ => return None,
    };
    let constant = match ty {
        BaseType::W => k as u64 & u64::from(u32::MAX),
        _ => k as u64,
    };
    let test = Test {
        scrutinee: v,
        condition: c,
        ty: *ty,
        op,
        constant,
    };
    Some((test, nonzero, zero))
}

fn is_marker(kind: &InstKind) -> bool {
    matches!(kind, InstKind::DbgLoc { .. })
}

/// `k OP v` as `v OP' k`.
fn swapped(op: CmpOp) -> Option<CmpOp> {
    use CmpOp::*;
    Some(match op {
        Eq => Eq,
        Ne => Ne,
        Slt => Sgt,
        Sle => Sge,
        Sgt => Slt,
        Sge => Sle,
        Ult => Ugt,
        Ule => Uge,
        Ugt => Ult,
        Uge => Ule,
        _ => return None,
    })
}

/// A set of values of one width: disjoint inclusive intervals, ascending.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Set(Vec<(u64, u64)>);

impl Set {
    fn full(max: u64) -> Set {
        Set(vec![(0, max)])
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn count(&self) -> u128 {
        self.0.iter().map(|&(lo, hi)| u128::from(hi - lo) + 1).sum()
    }

    fn intersect(&self, other: &Set) -> Set {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() && j < other.0.len() {
            let (a, b) = self.0[i];
            let (c, d) = other.0[j];
            let lo = a.max(c);
            let hi = b.min(d);
            if lo <= hi {
                out.push((lo, hi));
            }
            if b < d {
                i += 1;
            } else {
                j += 1;
            }
        }
        Set(out)
    }

    fn complement(&self, max: u64) -> Set {
        let mut out = Vec::new();
        let mut next = Some(0u64);
        for &(lo, hi) in &self.0 {
            if let Some(n) = next {
                if n < lo {
                    out.push((n, lo - 1));
                }
            }
            next = hi.checked_add(1).filter(|&n| n <= max);
        }
        if let Some(n) = next {
            out.push((n, max));
        }
        Set(out)
    }
}

/// The values `v` of width `max` for which `v OP k` holds.
fn holds(op: CmpOp, k: u64, max: u64) -> Set {
    use CmpOp::*;
    let sign = max / 2 + 1;
    let range = |lo: u64, hi: u64| Set(if lo <= hi { vec![(lo, hi)] } else { Vec::new() });
    match op {
        Eq => range(k, k),
        Ne => range(k, k).complement(max),
        Ult if k == 0 => Set(Vec::new()),
        Ult => range(0, k - 1),
        Ule => range(0, k),
        Ugt if k == max => Set(Vec::new()),
        Ugt => range(k + 1, max),
        Uge => range(k, max),
        // Signed order is unsigned order with the sign bit flipped.
        Slt | Sle | Sgt | Sge => {
            let unsigned = match op {
                Slt => Ult,
                Sle => Ule,
                Sgt => Ugt,
                _ => Uge,
            };
            flip_sign(&holds(unsigned, k ^ sign, max), sign)
        }
        Le | Lt | Ge | Gt | O | Uo => unreachable!("float comparisons are not tests"),
    }
}

/// `{ x ^ sign | x in s }`.
fn flip_sign(s: &Set, sign: u64) -> Set {
    let mut parts = Vec::new();
    for &(lo, hi) in &s.0 {
        if lo < sign {
            parts.push((lo ^ sign, hi.min(sign - 1) ^ sign));
        }
        if hi >= sign {
            parts.push((lo.max(sign) ^ sign, hi ^ sign));
        }
    }
    parts.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(parts.len());
    for (lo, hi) in parts {
        match out.last_mut() {
            Some(last) if last.1.checked_add(1) == Some(lo) => last.1 = hi,
            _ => out.push((lo, hi)),
        }
    }
    Set(out)
}

/// A tree as walked from its head.
struct Walk {
    /// The head's test.
    test: Test,
    /// Blocks other than the head.
    nodes: Vec<Block>,
    /// Edges into targets: (from, target, the values taking it), taken or
    /// not.
    reached: Vec<(Block, Block, Set)>,
    /// Comparisons in the tree, the head's included.
    compares: usize,
}

/// Walks the tree at `head`, leaving the empty blocks in `kept` as targets.
fn walk(
    f: &Function,
    facts: &Facts,
    owner: &[u32],
    head: Block,
    kept: &[Block],
    budget: &mut usize,
) -> Option<Walk> {
    let (first, _, _) = test_of(f, facts, head, false)?;
    let max = match first.ty {
        BaseType::W => u64::from(u32::MAX),
        _ => u64::MAX,
    };
    let same = |t: &Test| t.scrutinee == first.scrutinee && t.ty == first.ty;
    let mut out = Walk {
        test: first,
        nodes: Vec::new(),
        reached: Vec::new(),
        compares: 0,
    };
    let mut work = vec![(head, head, Set::full(max))];
    let mut first_visit = true;
    while let Some((b, from, set)) = work.pop() {
        let cost = 1 + set.0.len();
        if *budget < cost || out.nodes.len() > MAX_TREE_BLOCKS {
            *budget = 0;
            return None;
        }
        *budget -= cost;
        // A node has one predecessor, its parent, so only a cycle through
        // the head could reach a block twice: the head is then a target,
        // which is refused below.
        let is_head = std::mem::take(&mut first_visit);
        let is_node = is_head
            || (b != head
                && b.index() != 0
                && owner[b.index()] == 0
                && facts.preds[b.index()] == 1
                && f.block(b).phis.is_empty());
        let node_test = if is_node {
            test_of(f, facts, b, !is_head).filter(|(t, _, _)| same(t))
        } else {
            None
        };
        if let Some((t, nonzero, zero)) = node_test {
            if !is_head {
                out.nodes.push(b);
            }
            out.compares += 1;
            let yes = holds(t.op, t.constant, max);
            work.push((zero, b, set.intersect(&yes.complement(max))));
            work.push((nonzero, b, set.intersect(&yes)));
            continue;
        }
        let data = f.block(b);
        let empty = data.insts.iter().all(|i| is_marker(&i.kind));
        match data.term {
            Terminator::Jmp(next)
                if is_node && !is_head && empty && kept.binary_search(&b).is_err() =>
            {
                out.nodes.push(b);
                work.push((next, b, set));
            }
            _ => out.reached.push((from, b, set)),
        }
    }
    let mut tree = out.nodes.clone();
    tree.push(head);
    tree.sort_unstable();
    if out
        .reached
        .iter()
        .any(|&(_, t, _)| tree.binary_search(&t).is_ok())
    {
        return None;
    }
    Some(out)
}

/// A target whose phis cannot read one operand from the switch: they take
/// different operands on two edges from the tree that values take, or
/// would be left with no operand at all.
fn phi_conflict(f: &Function, walk: &Walk) -> Option<Block> {
    // (target, from, taken), sorted: one lookup per phi operand.
    let mut edges: Vec<(Block, Block, bool)> = walk
        .reached
        .iter()
        .map(|(from, t, s)| (*t, *from, !s.is_empty()))
        .collect();
    edges.sort_unstable();
    let mut targets: Vec<Block> = edges.iter().map(|e| e.0).collect();
    targets.dedup();
    for t in targets {
        let first = edges.partition_point(|e| e.0 < t);
        let into_t = &edges[first..first + edges[first..].partition_point(|e| e.0 == t)];
        let from_tree = |pred: Block| {
            into_t
                .binary_search_by(|e| e.1.cmp(&pred))
                .ok()
                .map(|i| into_t[i].2)
        };
        for phi in &f.block(t).phis {
            let mut operand = None;
            let mut entries = 0;
            for (pred, arg) in &phi.args {
                match from_tree(*pred) {
                    None => entries += 1,
                    Some(false) => {}
                    Some(true) => {
                        entries += 1;
                        match operand {
                            None => operand = Some(arg),
                            Some(o) if o == arg => {}
                            Some(_) => return Some(t),
                        }
                    }
                }
            }
            if entries == 0 {
                return Some(t);
            }
        }
    }
    None
}

/// The tree at `head`, if it is one worth a switch and can soundly become
/// one.
fn recover_at(
    f: &Function,
    facts: &Facts,
    owner: &[u32],
    head: Block,
    budget: &mut usize,
) -> Option<Switch> {
    // Empty blocks between the tests and a target are nodes too, unless
    // the target's phis take different operands along them (a join after
    // empty `case` arms): those stay targets, and the walk is redone.
    let mut kept: Vec<Block> = Vec::new();
    let walk = loop {
        let walk = walk(f, facts, owner, head, &kept, budget)?;
        match phi_conflict(f, &walk) {
            None => break walk,
            Some(target) => {
                let before = kept.len();
                kept.extend(
                    walk.nodes
                        .iter()
                        .copied()
                        .filter(|&n| f.block(n).term == Terminator::Jmp(target)),
                );
                kept.sort_unstable();
                if kept.len() == before {
                    return None;
                }
            }
        }
    };
    let Walk {
        test: first,
        nodes,
        reached,
        compares,
    } = walk;
    if compares < MIN_COMPARES {
        return None;
    }
    let max = match first.ty {
        BaseType::W => u64::from(u32::MAX),
        _ => u64::MAX,
    };
    let mut targets: Vec<(Block, Set)> = Vec::new();
    for (_, t, s) in &reached {
        match targets.iter_mut().find(|(b, _)| b == t) {
            Some((_, all)) => all.0.extend_from_slice(&s.0),
            None => targets.push((*t, s.clone())),
        }
    }
    // The tree partitions the values: the sets of one target are disjoint.
    for (_, all) in &mut targets {
        all.0.sort_unstable();
    }
    debug_assert_eq!(
        targets.iter().map(|(_, s)| s.count()).sum::<u128>(),
        u128::from(max) + 1
    );

    // The default is the target reached by the most values.
    let (default_index, _) = targets
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, s))| (s.count(), std::cmp::Reverse(*i)))?;
    let default = targets[default_index].0;
    let mut total = 0u128;
    for (t, s) in &targets {
        if *t != default {
            total += s.count();
        }
    }
    if total == 0 || total > MAX_CASES {
        return None;
    }
    let mut cases = Vec::with_capacity(total as usize);
    for (t, s) in &targets {
        if *t == default {
            continue;
        }
        for &(lo, hi) in &s.0 {
            cases.extend((lo..=hi).map(|v| (v, *t)));
        }
    }
    cases.sort_unstable();
    let mut edges: Vec<(Block, Block)> = reached
        .iter()
        .filter(|(_, _, s)| !s.is_empty())
        .map(|&(from, t, _)| (from, t))
        .collect();
    edges.sort_unstable();
    Some(Switch {
        head,
        scrutinee: first.scrutinee,
        condition: first.condition,
        ty: first.ty,
        cases,
        default,
        nodes,
        edges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    fn first_function(text: &str) -> Function {
        crate::test_support::first_function(text).1
    }

    fn block(f: &Function, name: &str) -> Block {
        f.block_ids()
            .find(|&b| &*f.block(b).name == name)
            .unwrap_or_else(|| panic!("no block {name}"))
    }

    #[test]
    fn holds_matches_direct_evaluation_on_small_widths() {
        // An 8-bit domain stands for w and l: every predicate and constant.
        let max = 255u64;
        let signed = |x: u64| x as u8 as i8;
        for op in [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Slt,
            CmpOp::Sle,
            CmpOp::Sgt,
            CmpOp::Sge,
            CmpOp::Ult,
            CmpOp::Ule,
            CmpOp::Ugt,
            CmpOp::Uge,
        ] {
            for k in 0..=max {
                let s = holds(op, k, max);
                for x in 0..=max {
                    let want = match op {
                        CmpOp::Eq => x == k,
                        CmpOp::Ne => x != k,
                        CmpOp::Slt => signed(x) < signed(k),
                        CmpOp::Sle => signed(x) <= signed(k),
                        CmpOp::Sgt => signed(x) > signed(k),
                        CmpOp::Sge => signed(x) >= signed(k),
                        CmpOp::Ult => x < k,
                        CmpOp::Ule => x <= k,
                        CmpOp::Ugt => x > k,
                        _ => x >= k,
                    };
                    let got = s.0.iter().any(|&(lo, hi)| lo <= x && x <= hi);
                    assert_eq!(got, want, "{op:?} {k} at {x}: {s:?}");
                }
                // Disjoint, ascending, not adjacent.
                for w in s.0.windows(2) {
                    assert!(w[0].1 + 1 < w[1].0, "{op:?} {k}: {s:?}");
                }
            }
        }
    }

    #[test]
    fn complement_and_intersection_at_the_edges_of_the_domain() {
        let max = u64::MAX;
        assert_eq!(Set::full(max).complement(max), Set(vec![]));
        assert_eq!(Set(vec![]).complement(max), Set::full(max));
        assert_eq!(
            Set(vec![(0, 0), (max, max)]).complement(max),
            Set(vec![(1, max - 1)])
        );
        let a = Set(vec![(0, 10), (20, 30)]);
        let b = Set(vec![(5, 25)]);
        assert_eq!(a.intersect(&b), Set(vec![(5, 10), (20, 25)]));
        assert_eq!(Set::full(max).count(), 1u128 << 64);
    }

    /// The shape cproc writes for `switch (x) { case 7: case 0: case 3: case -5: case 100: }`.
    const CPROC_SIGNED: &str = "
function w $f(w %x) {
@start
	jmp @cond
@c7
	ret 3
@c0
	ret 2
@c3
	ret 9
@cm5
	ret 1
@c100
	ret 4
@cond
	%a =w ceqw %x, 7
	jnz %a, @c7, @ne1
@ne1
	%b =w cultw %x, 7
	jnz %b, @lt1, @gt1
@lt1
	%c =w ceqw %x, 0
	jnz %c, @c0, @ne2
@ne2
	%d =w cultw %x, 0
	jnz %d, @lt2, @gt2
@lt2
	jmp @join
@gt2
	%e =w ceqw %x, 3
	jnz %e, @c3, @ne3
@ne3
	jmp @join
@gt1
	%g =w ceqw %x, 18446744073709551611
	jnz %g, @cm5, @ne4
@ne4
	%h =w cultw %x, 18446744073709551611
	jnz %h, @lt4, @join
@lt4
	%i =w ceqw %x, 100
	jnz %i, @c100, @join
@join
	ret 0
}
";

    #[test]
    fn recovers_a_cproc_tree_with_a_negative_case() {
        let f = first_function(CPROC_SIGNED);
        let s = Switches::find(&f);
        assert_eq!(s.iter().count(), 1);
        let sw = s.iter().next().unwrap();
        assert_eq!(sw.head, block(&f, "cond"));
        assert_eq!(sw.ty, BaseType::W);
        assert_eq!(sw.default, block(&f, "join"));
        let want = vec![
            (0, block(&f, "c0")),
            (3, block(&f, "c3")),
            (7, block(&f, "c7")),
            (100, block(&f, "c100")),
            (0xFFFF_FFFB, block(&f, "cm5")),
        ];
        assert_eq!(sw.cases, want);
        for n in [
            "ne1", "lt1", "ne2", "lt2", "gt2", "ne3", "gt1", "ne4", "lt4",
        ] {
            assert!(s.is_node(block(&f, n)), "{n} is a node");
        }
        assert!(!s.is_node(block(&f, "cond")));
        assert!(s.at_head(block(&f, "cond")).is_some());
        // The dead edge (x <u 0) is not live; the others are.
        assert!(!sw.is_live_edge(block(&f, "lt2"), block(&f, "join")));
        assert!(sw.is_live_edge(block(&f, "ne3"), block(&f, "join")));
        assert_eq!(sw.edges_to(block(&f, "join")), 1);
        assert_eq!(sw.edges_to(block(&f, "c3")), 1);
    }

    #[test]
    fn a_single_if_is_not_a_switch() {
        let f = first_function(
            "function w $f(w %x) {\n@s\n\t%c =w ceqw %x, 3\n\tjnz %c, @a, @b\n@a\n\tret 1\n@b\n\tret 0\n}\n",
        );
        assert!(Switches::find(&f).is_empty());
    }

    #[test]
    fn a_comparison_used_elsewhere_ends_the_tree() {
        let f = first_function(
            "function w $f(w %x) {
@s
	%c =w ceqw %x, 3
	jnz %c, @a, @n
@n
	%d =w ceqw %x, 4
	jnz %d, @b, @m
@m
	%e =w ceqw %x, 5
	jnz %e, @b, @z
@a
	ret 1
@b
	ret %d
@z
	ret 0
}
",
        );
        // `%d` is returned, so @n cannot disappear; @m alone has one compare.
        let s = Switches::find(&f);
        assert!(s.is_empty(), "{:?}", s.iter().collect::<Vec<_>>());
    }

    #[test]
    fn phis_must_agree_on_every_live_edge() {
        let text = |second: &str| {
            format!(
                "function w $f(w %x, w %y) {{
@s
	%c =w ceqw %x, 3
	jnz %c, @j, @n
@n
	%d =w ceqw %x, 4
	jnz %d, @j, @z
@z
	ret 0
@j
	%p =w phi @s %y, @n {second}
	ret %p
}}
"
            )
        };
        let same = first_function(&text("%y"));
        let s = Switches::find(&same);
        let sw = s.iter().next().expect("recovered");
        assert_eq!(sw.edges_to(block(&same, "j")), 2);
        let different = first_function(&text("1"));
        assert!(Switches::find(&different).is_empty());
    }

    #[test]
    fn long_and_signed_ranges() {
        // x <s -2 → @neg, -2..=1 by equality, x >s 1 → @big.
        let f = first_function(
            "function w $f(l %x) {
@s
	%a =w csltl %x, -2
	jnz %a, @neg, @n1
@n1
	%b =w csgtl %x, 1
	jnz %b, @big, @n2
@n2
	%c =w ceql -1, %x
	jnz %c, @m1, @n3
@n3
	%d =w ceql %x, 0
	jnz %d, @z, @other
@neg
	ret 1
@big
	ret 2
@m1
	ret 3
@z
	ret 4
@other
	ret 5
}
",
        );
        // From @s and from @n1, two targets take 2^63-2 values or more:
        // too many cases either way. From @n2 on it is a switch of -1 and 0.
        let s = Switches::find(&f);
        assert_eq!(s.iter().count(), 1);
        let sw = s.iter().next().unwrap();
        assert_eq!(sw.head, block(&f, "n2"));
        assert_eq!(sw.ty, BaseType::L);
        assert_eq!(
            sw.cases,
            vec![(0, block(&f, "z")), (u64::MAX, block(&f, "m1"))]
        );
        assert_eq!(sw.default, block(&f, "other"));
    }

    #[test]
    fn empty_arms_into_a_join_stay_targets_when_its_phi_tells_them_apart() {
        let f = first_function(
            "function w $f(w %x) {
@s
	%k =w and %x, 7
	%c0 =w ceqw %k, 0
	jnz %c0, @b0, @t1
@b0
	jmp @join
@t1
	%c1 =w ceqw %k, 1
	jnz %c1, @b1, @t2
@b1
	jmp @join
@t2
	jmp @b2
@b2
	jmp @join
@join
	%p =w phi @b0 10, @b1 20, @b2 30
	ret %p
}
",
        );
        let s = Switches::find(&f);
        let sw = s.iter().next().expect("recovered");
        assert_eq!(sw.cases, vec![(0, block(&f, "b0")), (1, block(&f, "b1"))]);
        assert_eq!(sw.default, block(&f, "b2"));
        assert_eq!(sw.nodes, vec![block(&f, "t1"), block(&f, "t2")]);
    }

    #[test]
    fn empty_blocks_into_a_join_are_nodes_when_its_phi_agrees() {
        let f = first_function(
            "function w $f(w %x, w %y) {
@s
	%c0 =w ceqw %x, 0
	jnz %c0, @b0, @t1
@b0
	jmp @join
@t1
	%c1 =w ceqw %x, 1
	jnz %c1, @b1, @d
@b1
	jmp @join
@d
	ret 0
@join
	%p =w phi @b0 %y, @b1 %y
	ret %p
}
",
        );
        let s = Switches::find(&f);
        let sw = s.iter().next().expect("recovered");
        assert_eq!(
            sw.cases,
            vec![(0, block(&f, "join")), (1, block(&f, "join"))]
        );
        assert_eq!(sw.edges_to(block(&f, "join")), 2);
        assert!(s.is_node(block(&f, "b0")) && s.is_node(block(&f, "b1")));
    }

    /// `if (x == 0) … else if (x == 3) … else if …`, `n` tests.
    fn chain(n: usize) -> String {
        let mut text = String::from("function w $f(w %x) {\n@start\n");
        for i in 0..n {
            text.push_str(&format!(
                "\t%c{i} =w ceqw %x, {}\n\tjnz %c{i}, @t{i}, @n{i}\n@t{i}\n\tret {i}\n@n{i}\n",
                3 * i
            ));
        }
        text.push_str("\tret -1\n}\n");
        text
    }

    #[test]
    fn a_chain_of_max_cases_tests_is_one_switch() {
        let f = first_function(&chain(MAX_CASES as usize));
        let s = Switches::find(&f);
        assert_eq!(s.iter().count(), 1);
        let sw = s.iter().next().unwrap();
        assert_eq!(sw.cases.len(), MAX_CASES as usize);
        assert_eq!(sw.cases[7], (21, block(&f, "t7")));
    }

    #[test]
    fn the_search_on_a_chain_too_long_for_a_switch_is_bounded() {
        // Every suffix of the chain has too many cases until the last
        // 2048. Unbounded, the search walks each suffix (quadratic in the
        // walks and in the sets: minutes) and ends up recovering the last
        // 2048 tests; with its budget it spends it on the first walk and
        // leaves the chain alone.
        let f = first_function(&chain(20_000));
        assert!(Switches::find(&f).is_empty());
    }

    #[test]
    fn a_tree_looping_back_to_its_head_is_left_alone() {
        let f = first_function(
            "function w $f(w %x) {
@s
	jmp @h
@h
	%a =w ceqw %x, 1
	jnz %a, @h, @n
@n
	%b =w ceqw %x, 2
	jnz %b, @two, @z
@two
	ret 2
@z
	ret 0
}
",
        );
        let s = Switches::find(&f);
        assert!(s.at_head(block(&f, "h")).is_none());
    }
}
