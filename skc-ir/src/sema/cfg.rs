//! Control-flow facts: block order, predecessors, dominators, loops.
//!
//! [`normalize`] puts a parsed function into the shape every later pass
//! assumes (an entry block nobody jumps to, no unreachable blocks, blocks in
//! reverse post-order). [`ControlFlow::compute`] then derives, with block ids
//! as indices into plain vectors:
//!
//! - predecessors and successors;
//! - immediate dominators (Lengauer–Tarjan, near-linear even on deep loop
//!   nests), the dominator tree, and pre/post numbers of that tree so
//!   [`ControlFlow::dominates`] is O(1);
//! - loops: every back edge (an edge to a block that dominates its source)
//!   makes its target a loop header; blocks are assigned to their innermost
//!   loop with a union-find walk so nested loops cost near-linear time.
//!   A retreating edge whose target does not dominate its source enters a
//!   cycle in the middle: such cycles are *irreducible*, and their entry
//!   blocks are flagged for backends that need structured control flow.
//!
//! Over 900 lines because of its unit tests and the function builder they
//! share with other modules' tests (`testing`, about 520 lines in all).

use std::collections::HashSet;

use crate::ir::{Block, BlockData, Function, Name, Terminator};

/// Normalises a parsed function's control flow: inserts a fresh entry block
/// when the first block is a jump target (or has phis), removes unreachable
/// blocks (and the phi operands that came from them) and stores blocks in
/// reverse post-order, renumbering block ids everywhere. Deterministic,
/// and keeps the written order of the arms of a `jnz`.
pub fn normalize(f: &mut Function) {
    if f.blocks.is_empty() {
        return;
    }
    if entry_needs_fresh_block(f) {
        insert_entry_block(f);
    }
    let order = reverse_post_order(f);
    if order.iter().enumerate().all(|(i, b)| b.index() == i) && order.len() == f.blocks.len() {
        return;
    }
    let mut new_id: Vec<Option<Block>> = vec![None; f.blocks.len()];
    for (i, b) in order.iter().enumerate() {
        new_id[b.index()] = Some(Block(i as u32));
    }
    let mut old_blocks: Vec<Option<BlockData>> = std::mem::take(&mut f.blocks)
        .into_iter()
        .map(Some)
        .collect();
    // Successors of reachable blocks are reachable; a label outside the
    // function stays outside it, for the verifier to report.
    let renumber = |b: Block| match new_id.get(b.index()) {
        Some(Some(n)) => *n,
        _ => Block(u32::MAX),
    };
    f.blocks = order
        .iter()
        .map(|b| {
            let mut data = old_blocks[b.index()]
                .take()
                .expect("each block appears once in the order");
            match &mut data.term {
                Terminator::Jmp(t) => *t = renumber(*t),
                Terminator::Jnz { nonzero, zero, .. } => {
                    *nonzero = renumber(*nonzero);
                    *zero = renumber(*zero);
                }
                Terminator::Ret(_) | Terminator::Hlt => {}
            }
            for phi in &mut data.phis {
                phi.args
                    .retain_mut(|(pred, _)| match new_id.get(pred.index()) {
                        Some(Some(n)) => {
                            *pred = *n;
                            true
                        }
                        // An operand from an unreachable block can never be
                        // selected; an out-of-range label is left for the
                        // verifier to report.
                        Some(None) => false,
                        None => true,
                    });
            }
            data
        })
        .collect();
}

fn entry_needs_fresh_block(f: &Function) -> bool {
    !f.blocks[0].phis.is_empty()
        || f.blocks
            .iter()
            .any(|b| b.term.successors().any(|s| s.index() == 0))
}

/// Puts a new block that jumps to the old entry at index 0, shifting every
/// other id up by one.
fn insert_entry_block(f: &mut Function) {
    let shift = |b: &mut Block| b.0 = b.0.saturating_add(1);
    for data in &mut f.blocks {
        match &mut data.term {
            Terminator::Jmp(t) => shift(t),
            Terminator::Jnz { nonzero, zero, .. } => {
                shift(nonzero);
                shift(zero);
            }
            Terminator::Ret(_) | Terminator::Hlt => {}
        }
        for phi in &mut data.phis {
            for (pred, _) in &mut phi.args {
                shift(pred);
            }
        }
    }
    let taken: HashSet<&str> = f.blocks.iter().map(|b| b.name.as_str()).collect();
    let name = fresh_name("start", &taken);
    let pos = f.blocks[0].pos;
    f.blocks.insert(
        0,
        BlockData {
            name,
            phis: Vec::new(),
            insts: Vec::new(),
            term: Terminator::Jmp(Block(1)),
            term_pos: pos,
            pos,
        },
    );
}

/// `base`, or `base.N` for the smallest N that is not taken.
pub(crate) fn fresh_name(base: &str, taken: &HashSet<&str>) -> Name {
    if !taken.contains(base) {
        return Name::new(base);
    }
    (1u64..)
        .map(|n| compact_str::format_compact!("{base}.{n}"))
        .find(|name| !taken.contains(name.as_str()))
        .expect("some suffix is free")
}

/// Blocks reachable from block 0 in reverse post-order of a depth-first
/// search that visits successors last to first, so that where the order
/// is free (the two arms of a `jnz`) the first-named arm comes first, as
/// it is usually written.
fn reverse_post_order(f: &Function) -> Vec<Block> {
    let n = f.blocks.len();
    let mut visited = vec![false; n];
    let mut post = Vec::with_capacity(n);
    // (block, number of successors already pushed)
    let mut stack: Vec<(Block, u8)> = Vec::with_capacity(n);
    stack.push((Block(0), 0));
    visited[0] = true;
    while let Some(top) = stack.last_mut() {
        let (b, next) = *top;
        let term = &f.blocks[b.index()].term;
        let count = term.successors().count();
        let succ = (usize::from(next) < count)
            .then(|| term.successors().nth(count - 1 - usize::from(next)))
            .flatten();
        match succ {
            Some(s) => {
                top.1 += 1;
                if s.index() < n && !visited[s.index()] {
                    visited[s.index()] = true;
                    stack.push((s, 0));
                }
            }
            None => {
                post.push(b);
                stack.pop();
            }
        }
    }
    post.reverse();
    post
}

/// Predecessors, dominator tree and loop nesting of a normalised function.
#[derive(Clone, Debug, Default)]
pub struct ControlFlow {
    /// Predecessors of each block, in increasing block order (a block that
    /// reaches another through both arms of a `jnz` is listed twice).
    pub preds: Vec<Vec<Block>>,
    /// Immediate dominator of each block (`None` for the entry).
    pub idom: Vec<Option<Block>>,
    /// Loop nesting depth of each block (0 outside loops).
    pub loop_depth: Vec<u32>,
    /// Children of each block in the dominator tree, in increasing order.
    pub dom_children: Vec<Vec<Block>>,
    /// Whether each block is the header of a natural loop (the target of a
    /// back edge).
    pub loop_header: Vec<bool>,
    /// The header of the innermost loop containing each block; for a header
    /// itself, the header of the loop around its own loop.
    pub loop_parent: Vec<Option<Block>>,
    /// Blocks entered by a retreating edge from a block they do not
    /// dominate: entries of irreducible cycles.
    pub irreducible_entry: Vec<bool>,
    /// Whether the function has any irreducible control flow.
    pub irreducible: bool,
    dom_pre: Vec<u32>,
    dom_post: Vec<u32>,
    /// Working memory of [`ControlFlow::recompute`].
    scratch: Scratch,
}

/// Working memory of the analyses, kept so that recomputing for the next
/// function allocates nothing once it has grown to size.
#[derive(Clone, Debug, Default)]
struct Scratch {
    dfnum: Vec<u32>,
    vertex: Vec<u32>,
    parent: Vec<u32>,
    dfs_stack: Vec<(u32, u8)>,
    semi: Vec<u32>,
    best: Vec<u32>,
    ancestor: Vec<u32>,
    idom: Vec<u32>,
    samedom: Vec<u32>,
    bucket_head: Vec<u32>,
    bucket_next: Vec<u32>,
    path: Vec<u32>,
    tree_stack: Vec<(usize, usize)>,
    union_find: Vec<u32>,
    in_loop_of: Vec<u32>,
    work: Vec<Block>,
}

/// Empties `v` and fills it with `n` copies of `x`, keeping its memory.
fn reset<T: Clone>(v: &mut Vec<T>, n: usize, x: T) {
    v.clear();
    v.resize(n, x);
}

/// Makes `rows` hold `n` empty rows, keeping the memory of existing ones.
fn reset_rows<T>(rows: &mut Vec<Vec<T>>, n: usize) {
    rows.truncate(n);
    rows.iter_mut().for_each(Vec::clear);
    rows.resize_with(n, Vec::new);
}

impl ControlFlow {
    /// Computes the facts for `f` (which must be normalised: block ids
    /// are positions in reverse post-order and every block is reachable).
    pub fn compute(f: &Function) -> Self {
        let mut cf = ControlFlow::default();
        cf.recompute(f);
        cf
    }

    /// Like [`ControlFlow::compute`], reusing this value's memory: a reader
    /// going through many functions keeps one `ControlFlow` and recomputes
    /// it for each.
    pub fn recompute(&mut self, f: &Function) {
        let n = f.blocks.len();
        reset_rows(&mut self.preds, n);
        for b in f.block_ids() {
            for s in f.block(b).term.successors() {
                if s.index() < n {
                    self.preds[s.index()].push(b);
                }
            }
        }
        immediate_dominators(f, &self.preds, &mut self.scratch, &mut self.idom);
        reset_rows(&mut self.dom_children, n);
        for (b, d) in self.idom.iter().enumerate() {
            if let Some(d) = d {
                self.dom_children[d.index()].push(Block(b as u32));
            }
        }
        number_tree(
            &self.dom_children,
            &mut self.scratch.tree_stack,
            &mut self.dom_pre,
            &mut self.dom_post,
        );
        reset(&mut self.loop_depth, n, 0);
        reset(&mut self.loop_header, n, false);
        reset(&mut self.loop_parent, n, None);
        reset(&mut self.irreducible_entry, n, false);
        self.irreducible = false;
        self.find_loops();
    }

    /// Number of blocks described.
    pub fn len(&self) -> usize {
        self.preds.len()
    }

    /// True for a function without blocks.
    pub fn is_empty(&self) -> bool {
        self.preds.is_empty()
    }

    /// Whether block `b` is in the loop headed by `h` (at any depth of
    /// nesting; a header is in its own loop).
    pub fn in_loop(&self, h: Block, b: Block) -> bool {
        let mut cur = if self.loop_header[b.index()] {
            Some(b)
        } else {
            self.loop_parent[b.index()]
        };
        while let Some(c) = cur {
            if c == h {
                return true;
            }
            cur = self.loop_parent[c.index()];
        }
        false
    }

    /// Whether `a` dominates `b` (every block dominates itself). Blocks not
    /// reachable from the entry are dominated by nothing.
    pub fn dominates(&self, a: Block, b: Block) -> bool {
        let (Some(&pa), Some(&pb)) = (self.dom_pre.get(a.index()), self.dom_pre.get(b.index()))
        else {
            return false;
        };
        if pa == u32::MAX || pb == u32::MAX {
            return false;
        }
        pa <= pb && self.dom_post[b.index()] <= self.dom_post[a.index()]
    }

    /// Whether `a` dominates `b` and differs from it.
    pub fn strictly_dominates(&self, a: Block, b: Block) -> bool {
        a != b && self.dominates(a, b)
    }

    /// Marks loop headers, innermost loops and irreducible entries, then
    /// derives nesting depths.
    fn find_loops(&mut self) {
        let n = self.len();
        let mut uf = UnionFind::new(std::mem::take(&mut self.scratch.union_find), n);
        let mut in_loop_of = std::mem::take(&mut self.scratch.in_loop_of);
        reset(&mut in_loop_of, n, u32::MAX);
        let mut work = std::mem::take(&mut self.scratch.work);
        // Inner headers come later in reverse post-order than the headers
        // of loops around them, so walking backwards finds inner loops
        // first and collapses them (union-find) before outer loops see them.
        for h in (0..n).rev() {
            let header = Block(h as u32);
            work.clear();
            for &p in &self.preds[h] {
                if self.dominates(header, p) {
                    self.loop_header[h] = true;
                    let r = uf.find(p.index());
                    if r != h {
                        work.push(Block(r as u32));
                    }
                } else if p.index() >= h {
                    // A retreating edge that is not a back edge.
                    self.irreducible_entry[h] = true;
                    self.irreducible = true;
                }
            }
            while let Some(x) = work.pop() {
                let xi = x.index();
                if in_loop_of[xi] == h as u32 || self.loop_parent[xi].is_some() {
                    continue;
                }
                in_loop_of[xi] = h as u32;
                self.loop_parent[xi] = Some(header);
                uf.union_into(xi, h);
                for &q in &self.preds[xi] {
                    // Only blocks the header dominates belong to its natural
                    // loop; an edge from elsewhere is an irreducible entry,
                    // already flagged where it retreats.
                    if !self.dominates(header, q) {
                        continue;
                    }
                    let r = uf.find(q.index());
                    if r != h && in_loop_of[r] != h as u32 {
                        work.push(Block(r as u32));
                    }
                }
            }
        }
        for b in 0..n {
            let parent_depth = self.loop_parent[b].map_or(0, |p| self.loop_depth[p.index()]);
            self.loop_depth[b] = parent_depth + u32::from(self.loop_header[b]);
        }
        self.scratch.union_find = uf.parent;
        self.scratch.in_loop_of = in_loop_of;
        self.scratch.work = work;
    }
}

/// Immediate dominators by the Lengauer–Tarjan algorithm with path
/// compression ("simple" version, O(E log V)), iterative throughout so deep
/// graphs cannot overflow the stack. The iterative algorithm of Cooper,
/// Harvey and Kennedy is simpler but goes quadratic on deep loop nests (its
/// intersections walk the whole nest for each header). Blocks the entry
/// does not reach get `None`.
fn immediate_dominators(
    f: &Function,
    preds: &[Vec<Block>],
    scratch: &mut Scratch,
    result: &mut Vec<Option<Block>>,
) {
    const NONE: u32 = u32::MAX;
    let n = preds.len();
    reset(result, n, None);
    if n == 0 {
        return;
    }
    let Scratch {
        dfnum,
        vertex,
        parent,
        dfs_stack: stack,
        semi,
        best,
        ancestor,
        idom,
        samedom,
        bucket_head,
        bucket_next,
        path,
        ..
    } = scratch;
    // Depth-first preorder numbering: `dfnum[block]`, `vertex[number]`,
    // `parent[number]` (all further arrays are indexed by number).
    reset(dfnum, n, NONE);
    vertex.clear();
    parent.clear();
    stack.clear();
    stack.push((0, 0));
    dfnum[0] = 0;
    vertex.push(0);
    parent.push(NONE);
    while let Some(top) = stack.last_mut() {
        let (b, next) = *top;
        match f.blocks[b as usize].term.successors().nth(next as usize) {
            Some(s) => {
                top.1 += 1;
                if s.index() < n && dfnum[s.index()] == NONE {
                    dfnum[s.index()] = vertex.len() as u32;
                    parent.push(dfnum[b as usize]);
                    vertex.push(s.0);
                    stack.push((s.0, 0));
                }
            }
            None => {
                stack.pop();
            }
        }
    }
    let count = vertex.len();
    semi.clear();
    semi.extend(0..count as u32);
    best.clear();
    best.extend(0..count as u32);
    reset(ancestor, count, NONE);
    reset(idom, count, NONE);
    reset(samedom, count, NONE);
    // Buckets as linked lists: `bucket_head[s]` → `bucket_next[v]` → ...
    reset(bucket_head, count, NONE);
    reset(bucket_next, count, NONE);

    // The vertex with the smallest semidominator on the ancestor path of
    // `v`, compressing that path.
    let eval =
        |v: u32, ancestor: &mut [u32], best: &mut [u32], semi: &[u32], path: &mut Vec<u32>| {
            path.clear();
            let mut u = v;
            while ancestor[u as usize] != NONE && ancestor[ancestor[u as usize] as usize] != NONE {
                path.push(u);
                u = ancestor[u as usize];
            }
            for &w in path.iter().rev() {
                let a = ancestor[w as usize];
                let b = best[a as usize];
                ancestor[w as usize] = ancestor[a as usize];
                if semi[b as usize] < semi[best[w as usize] as usize] {
                    best[w as usize] = b;
                }
            }
            best[v as usize]
        };

    for i in (1..count).rev() {
        let p = parent[i];
        let mut s = p;
        for pred in &preds[vertex[i] as usize] {
            let dv = dfnum[pred.index()];
            if dv == NONE {
                continue;
            }
            let candidate = if dv as usize <= i {
                dv
            } else {
                semi[eval(dv, ancestor, best, semi, path) as usize]
            };
            s = s.min(candidate);
        }
        semi[i] = s;
        bucket_next[i] = bucket_head[s as usize];
        bucket_head[s as usize] = i as u32;
        ancestor[i] = p;
        let mut v = std::mem::replace(&mut bucket_head[p as usize], NONE);
        while v != NONE {
            let y = eval(v, ancestor, best, semi, path);
            if semi[y as usize] == semi[v as usize] {
                idom[v as usize] = p;
            } else {
                samedom[v as usize] = y;
            }
            v = bucket_next[v as usize];
        }
    }
    for i in 1..count {
        if samedom[i] != NONE {
            idom[i] = idom[samedom[i] as usize];
        }
    }
    for i in 1..count {
        result[vertex[i] as usize] = Some(Block(vertex[idom[i] as usize]));
    }
}

/// Pre- and post-order numbers of the dominator tree (iterative, so deep
/// trees do not overflow the stack). Blocks the entry does not reach
/// keep `u32::MAX`.
fn number_tree(
    children: &[Vec<Block>],
    stack: &mut Vec<(usize, usize)>,
    pre: &mut Vec<u32>,
    post: &mut Vec<u32>,
) {
    let n = children.len();
    reset(pre, n, u32::MAX);
    reset(post, n, u32::MAX);
    if n == 0 {
        return;
    }
    let (mut pre_n, mut post_n) = (1u32, 0u32);
    pre[0] = 0;
    stack.clear();
    stack.push((0, 0));
    while let Some(top) = stack.last_mut() {
        let (b, i) = *top;
        if let Some(c) = children[b].get(i) {
            top.1 += 1;
            pre[c.index()] = pre_n;
            pre_n += 1;
            stack.push((c.index(), 0));
        } else {
            post[b] = post_n;
            post_n += 1;
            stack.pop();
        }
    }
}

/// Disjoint sets where each set's representative is chosen by the caller
/// (the loop header absorbing a block).
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    /// `n` singleton sets, in `parent`'s memory.
    pub fn new(mut parent: Vec<u32>, n: usize) -> Self {
        parent.clear();
        parent.extend(0..n as u32);
        UnionFind { parent }
    }

    /// The representative of `x`'s set.
    pub fn find(&mut self, x: usize) -> usize {
        let mut root = x;
        while self.parent[root] as usize != root {
            root = self.parent[root] as usize;
        }
        let mut cur = x;
        while self.parent[cur] as usize != root {
            let next = self.parent[cur] as usize;
            self.parent[cur] = root as u32;
            cur = next;
        }
        root
    }

    /// Makes `into`'s set absorb `x`'s set, `into` staying representative
    /// (`into` must be a representative, of another set than `x`).
    pub fn union_into(&mut self, x: usize, into: usize) {
        let rx = self.find(x);
        self.parent[rx] = into as u32;
    }
}

/// Building functions by hand in unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use crate::ir::{
        BaseType, Block, BlockData, Function, Inst, InstKind, Linkage, Operand, Phi, Pos,
        Terminator, Value, ValueData,
    };

    /// Fails when `work` on an input of size 4n takes much more than four
    /// times as long as on size n: quadratic growth gives 16, and the bound
    /// of 12 leaves room for cache effects (sizes should be large enough
    /// that fixed costs do not dominate). Inputs are built outside the
    /// timed region.
    pub(crate) fn assert_scales_linearly<T>(make: impl Fn(u32) -> T, work: impl Fn(T), n: u32) {
        // Timing tests take turns so they do not slow each other down.
        static TURN: Mutex<()> = Mutex::new(());
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let time = |size: u32| {
            let input = make(size);
            let t = Instant::now();
            work(input);
            t.elapsed()
        };
        // Sizes alternate, so a burst of load from elsewhere tends to hit
        // both, and the fastest of five runs of each is kept.
        let (mut small, mut large) = (Duration::MAX, Duration::MAX);
        for _ in 0..5 {
            small = small.min(time(n));
            large = large.min(time(4 * n));
        }
        let small = small.max(Duration::from_micros(200));
        let ratio = large.as_secs_f64() / small.as_secs_f64();
        assert!(
            ratio < 12.0,
            "size {n} took {small:?}, size {} took {large:?}: ratio {ratio:.1}",
            4 * n
        );
    }

    /// Builds a function; every instruction, phi and terminator gets its own
    /// line number, counted from 1 in the order they are added.
    pub(crate) struct FnBuilder {
        pub(crate) f: Function,
        line: u32,
        blocks: HashMap<String, Block>,
        values: HashMap<String, Value>,
    }

    impl FnBuilder {
        pub(crate) fn new() -> Self {
            FnBuilder {
                f: Function {
                    name: "f".into(),
                    linkage: Linkage::default(),
                    ret: None,
                    env: None,
                    params: Vec::new(),
                    variadic: false,
                    blocks: Vec::new(),
                    values: Vec::new(),
                    pos: Pos::default(),
                },
                line: 0,
                blocks: HashMap::new(),
                values: HashMap::new(),
            }
        }

        pub(crate) fn next_pos(&mut self) -> Pos {
            self.line += 1;
            Pos {
                line: self.line,
                col: 1,
                offset: 0,
            }
        }

        /// The value named `name`, created with type `ty` on first mention.
        pub(crate) fn val(&mut self, name: &str, ty: BaseType) -> Value {
            if let Some(&v) = self.values.get(name) {
                return v;
            }
            self.f.values.push(ValueData {
                name: name.into(),
                ty,
            });
            let v = Value(self.f.values.len() as u32 - 1);
            self.values.insert(name.into(), v);
            v
        }

        pub(crate) fn w(&mut self, name: &str) -> Operand {
            Operand::Value(self.val(name, BaseType::W))
        }

        /// The block labelled `name`, created (ending in `hlt`) on first
        /// mention.
        pub(crate) fn block(&mut self, name: &str) -> Block {
            if let Some(&b) = self.blocks.get(name) {
                return b;
            }
            let pos = self.next_pos();
            self.f.blocks.push(BlockData {
                name: name.into(),
                phis: Vec::new(),
                insts: Vec::new(),
                term: Terminator::Hlt,
                term_pos: pos,
                pos,
            });
            let b = Block(self.f.blocks.len() as u32 - 1);
            self.blocks.insert(name.into(), b);
            b
        }

        pub(crate) fn inst(&mut self, b: Block, result: Option<Value>, kind: InstKind) -> Pos {
            let pos = self.next_pos();
            self.f.blocks[b.index()]
                .insts
                .push(Inst { result, kind, pos });
            pos
        }

        pub(crate) fn phi(&mut self, b: Block, result: Value, args: Vec<(Block, Operand)>) -> Pos {
            let pos = self.next_pos();
            self.f.blocks[b.index()]
                .phis
                .push(Phi { result, args, pos });
            pos
        }

        pub(crate) fn term(&mut self, b: Block, term: Terminator) -> Pos {
            let pos = self.next_pos();
            let data = &mut self.f.blocks[b.index()];
            data.term = term;
            data.term_pos = pos;
            pos
        }

        pub(crate) fn jmp(&mut self, from: &str, to: &str) {
            let (a, b) = (self.block(from), self.block(to));
            self.term(a, Terminator::Jmp(b));
        }

        pub(crate) fn jnz(&mut self, from: &str, cond: Operand, nonzero: &str, zero: &str) {
            let (a, t, e) = (self.block(from), self.block(nonzero), self.block(zero));
            self.term(
                a,
                Terminator::Jnz {
                    cond,
                    nonzero: t,
                    zero: e,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{assert_scales_linearly, FnBuilder};
    use super::*;
    use crate::ir::{Const, Operand, Phi, Pos};

    fn one() -> Operand {
        Operand::Const(Const::Int(1))
    }

    fn names(f: &Function) -> Vec<&str> {
        f.blocks.iter().map(|b| b.name.as_str()).collect()
    }

    fn id(f: &Function, name: &str) -> Block {
        Block(f.blocks.iter().position(|b| b.name == name).unwrap() as u32)
    }

    fn ret(b: &mut FnBuilder, name: &str) {
        let blk = b.block(name);
        b.term(blk, Terminator::Ret(None));
    }

    #[test]
    fn diamond_dominators_and_order() {
        let mut b = FnBuilder::new();
        b.jnz("a", one(), "l", "r");
        b.jmp("r", "j");
        b.jmp("l", "j");
        ret(&mut b, "j");
        let mut f = b.f;
        normalize(&mut f);
        assert_eq!(
            names(&f),
            ["a", "l", "r", "j"],
            "the jnz arms keep their order"
        );
        let cf = ControlFlow::compute(&f);
        let (a, l, r, j) = (id(&f, "a"), id(&f, "l"), id(&f, "r"), id(&f, "j"));
        assert_eq!(cf.idom[j.index()], Some(a));
        assert_eq!(cf.idom[l.index()], Some(a));
        assert_eq!(cf.idom[a.index()], None);
        assert_eq!(cf.preds[j.index()], vec![Block(1), Block(2)]);
        assert!(cf.dominates(a, j) && cf.dominates(j, j));
        assert!(!cf.dominates(l, j) && !cf.dominates(r, j) && !cf.dominates(j, a));
        assert!(!cf.strictly_dominates(a, a));
        assert_eq!(cf.dom_children[a.index()].len(), 3);
        assert_eq!(cf.loop_depth, vec![0; 4]);
        assert!(!cf.irreducible);
    }

    #[test]
    fn jump_to_first_block_gets_fresh_entry_with_unclashing_name() {
        let mut b = FnBuilder::new();
        b.jnz("start", one(), "start", "start.1");
        ret(&mut b, "start.1");
        let mut f = b.f;
        normalize(&mut f);
        assert_eq!(names(&f), ["start.2", "start", "start.1"]);
        assert_eq!(f.blocks[0].term, Terminator::Jmp(Block(1)));
        let cf = ControlFlow::compute(&f);
        assert!(cf.preds[0].is_empty());
        assert!(cf.loop_header[1]);
        assert_eq!(cf.loop_depth, vec![0, 1, 0]);
    }

    #[test]
    fn phis_in_first_block_also_get_fresh_entry() {
        let mut b = FnBuilder::new();
        let x = b.val("x", crate::ir::BaseType::W);
        let a = b.block("a");
        b.f.blocks[0].phis.push(Phi {
            result: x,
            args: vec![],
            pos: Pos::default(),
        });
        b.term(a, Terminator::Ret(None));
        let mut f = b.f;
        normalize(&mut f);
        assert_eq!(names(&f), ["start", "a"]);
    }

    #[test]
    fn unreachable_blocks_and_their_phi_operands_are_dropped() {
        let mut b = FnBuilder::new();
        let x = b.val("x", crate::ir::BaseType::W);
        b.jmp("a", "j");
        b.jmp("dead", "j");
        b.jmp("dead2", "dead");
        let j = b.block("j");
        let (a, dead) = (b.block("a"), b.block("dead"));
        b.phi(j, x, vec![(a, one()), (dead, one())]);
        b.term(j, Terminator::Ret(None));
        let mut f = b.f;
        normalize(&mut f);
        assert_eq!(names(&f), ["a", "j"]);
        assert_eq!(f.blocks[1].phis[0].args, vec![(Block(0), one())]);
        assert_eq!(f.blocks[0].term, Terminator::Jmp(Block(1)));
    }

    #[test]
    fn nested_loops_get_depths_and_parents() {
        // a -> h1 -> h2 -> body -> h2 ; h2 -> l1 -> h1 ; h1 -> out
        let mut b = FnBuilder::new();
        b.jmp("a", "h1");
        b.jnz("h1", one(), "h2", "out");
        b.jnz("h2", one(), "body", "l1");
        b.jmp("body", "h2");
        b.jmp("l1", "h1");
        ret(&mut b, "out");
        let mut f = b.f;
        normalize(&mut f);
        let cf = ControlFlow::compute(&f);
        let depth = |n: &str| cf.loop_depth[id(&f, n).index()];
        assert_eq!(
            ["a", "h1", "h2", "body", "l1", "out"].map(depth),
            [0, 1, 2, 2, 1, 0]
        );
        assert!(cf.loop_header[id(&f, "h1").index()] && cf.loop_header[id(&f, "h2").index()]);
        assert_eq!(cf.loop_parent[id(&f, "h2").index()], Some(id(&f, "h1")));
        assert_eq!(cf.loop_parent[id(&f, "body").index()], Some(id(&f, "h2")));
        assert_eq!(cf.loop_parent[id(&f, "h1").index()], None);
        assert!(!cf.irreducible);
    }

    #[test]
    fn two_entry_cycle_is_irreducible() {
        let mut b = FnBuilder::new();
        b.jnz("a", one(), "x", "y");
        b.jnz("x", one(), "y", "out");
        b.jmp("y", "x");
        ret(&mut b, "out");
        let mut f = b.f;
        normalize(&mut f);
        let cf = ControlFlow::compute(&f);
        assert!(cf.irreducible);
        assert_eq!(cf.irreducible_entry.iter().filter(|&&e| e).count(), 1);
        assert!(cf.loop_header.iter().all(|&h| !h));
    }

    #[test]
    fn jump_outside_the_function_is_reported_not_a_panic() {
        let mut b = FnBuilder::new();
        b.jnz("a", one(), "a", "b");
        b.f.blocks[0].term = Terminator::Jnz {
            cond: one(),
            nonzero: Block(0),
            zero: Block(7),
        };
        let (f, cf) = analyse(b.f);
        let diags = crate::sema::verify::verify(&f, &cf, &crate::ir::types::TypeTable::new());
        assert!(
            diags
                .iter()
                .any(|d| d.message.starts_with("jump to an unknown block")),
            "{diags:?}"
        );
    }

    #[test]
    fn normalisation_is_deterministic_and_idempotent() {
        let mut b = FnBuilder::new();
        b.jnz("a", one(), "c", "b");
        b.jmp("b", "c");
        b.jnz("c", one(), "a", "d");
        ret(&mut b, "d");
        let mut f1 = b.f.clone();
        let mut f2 = b.f;
        normalize(&mut f1);
        normalize(&mut f2);
        assert_eq!(f1, f2);
        let once = f1.clone();
        normalize(&mut f1);
        assert_eq!(f1, once);
    }

    fn chain(n: u32) -> Function {
        let mut b = FnBuilder::new();
        for i in 0..n {
            b.block(&format!("b{i}"));
        }
        b.term(Block(n - 1), Terminator::Ret(None));
        // Stored backwards so normalisation has to reorder it.
        b.f.blocks[1..].reverse();
        for (i, data) in b.f.blocks.iter_mut().enumerate() {
            if i != 1 {
                data.term = Terminator::Jmp(Block(if i == 0 { n - 1 } else { i as u32 - 1 }));
            }
        }
        b.f
    }

    fn analyse(mut f: Function) -> (Function, ControlFlow) {
        normalize(&mut f);
        let cf = ControlFlow::compute(&f);
        (f, cf)
    }

    /// The public facts of `cf`, for comparing two computations.
    fn facts(f: &Function, cf: &ControlFlow) -> String {
        let n = f.blocks.len() as u32;
        let dominance: Vec<bool> = (0..n)
            .flat_map(|a| (0..n).map(move |b| (Block(a), Block(b))))
            .map(|(a, b)| cf.dominates(a, b))
            .collect();
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {:?}",
            cf.preds,
            cf.idom,
            cf.loop_depth,
            cf.dom_children,
            cf.loop_header,
            cf.loop_parent,
            cf.irreducible_entry,
            cf.irreducible,
            dominance
        )
    }

    #[test]
    fn recompute_after_other_functions_matches_compute() {
        let functions: Vec<Function> = [loop_nest(6), chain(3), loop_nest(2), chain(9)]
            .into_iter()
            .map(|f| analyse(f).0)
            .collect();
        let mut reused = ControlFlow::default();
        for f in functions.iter().chain(functions.iter().rev()) {
            reused.recompute(f);
            assert_eq!(facts(f, &reused), facts(f, &ControlFlow::compute(f)));
        }
    }

    #[test]
    fn long_chain() {
        let n = 100_000;
        let (f, cf) = analyse(chain(n));
        assert_eq!(f.blocks[1].name, "b1");
        assert_eq!(cf.idom[n as usize - 1], Some(Block(n - 2)));
        assert!(cf.dominates(Block(0), Block(n - 1)));
        assert!(!cf.dominates(Block(n - 1), Block(0)));
        assert_scales_linearly(chain, |f| drop(analyse(f)), 25_000);
    }

    /// h0 -> h1 -> ... -> h{d-1} -> inner -> l{d-1} -> ... -> l0 -> exit,
    /// where each l_i jumps back to h_i: `d` loops nested in each other.
    fn loop_nest(d: u32) -> Function {
        let mut b = FnBuilder::new();
        b.jmp("entry", "h0");
        for i in 0..d {
            let next = if i + 1 < d {
                format!("h{}", i + 1)
            } else {
                "inner".into()
            };
            b.jmp(&format!("h{i}"), &next);
        }
        b.jmp("inner", &format!("l{}", d - 1));
        for i in (0..d).rev() {
            let out = if i > 0 {
                format!("l{}", i - 1)
            } else {
                "exit".into()
            };
            b.jnz(&format!("l{i}"), one(), &format!("h{i}"), &out);
        }
        ret(&mut b, "exit");
        b.f
    }

    #[test]
    fn deep_loop_nest() {
        let d = 20_000u32;
        let (f, cf) = analyse(loop_nest(d));
        assert_eq!(cf.loop_depth[id(&f, "inner").index()], d);
        assert_eq!(cf.loop_depth[id(&f, "l0").index()], 1);
        assert_eq!(cf.loop_depth[id(&f, "exit").index()], 0);
        assert_scales_linearly(loop_nest, |f| drop(analyse(f)), 5_000);
    }

    /// Dominator sets by the textbook fixpoint, for cross-checking.
    fn naive_dominators(f: &Function, preds: &[Vec<Block>]) -> Vec<Vec<bool>> {
        let n = f.blocks.len();
        let mut dom = vec![vec![true; n]; n];
        dom[0] = (0..n).map(|i| i == 0).collect();
        let mut changed = true;
        while changed {
            changed = false;
            for b in 1..n {
                let mut new = vec![true; n];
                for p in &preds[b] {
                    for i in 0..n {
                        new[i] &= dom[p.index()][i];
                    }
                }
                new[b] = true;
                if new != dom[b] {
                    dom[b] = new;
                    changed = true;
                }
            }
        }
        dom
    }

    #[test]
    fn dominators_match_the_textbook_fixpoint_on_random_graphs() {
        let mut state = 12345u64;
        let mut next = |m: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % m
        };
        for _ in 0..2000 {
            let n = 1 + next(12) as u32;
            let mut b = FnBuilder::new();
            for i in 0..n {
                b.block(&format!("b{i}"));
            }
            for i in 0..n {
                let term = match next(4) {
                    0 => Terminator::Ret(None),
                    1 => Terminator::Jmp(Block(next(n as u64) as u32)),
                    _ => Terminator::Jnz {
                        cond: one(),
                        nonzero: Block(next(n as u64) as u32),
                        zero: Block(next(n as u64) as u32),
                    },
                };
                b.term(Block(i), term);
            }
            let (f, cf) = analyse(b.f);
            let dom = naive_dominators(&f, &cf.preds);
            for a in f.block_ids() {
                for c in f.block_ids() {
                    assert_eq!(
                        cf.dominates(a, c),
                        dom[c.index()][a.index()],
                        "{a:?} dom {c:?} in {f:?}"
                    );
                }
                // The immediate dominator is the closest strict dominator.
                if let Some(d) = cf.idom[a.index()] {
                    assert!(cf.strictly_dominates(d, a));
                    for c in f.block_ids() {
                        if cf.strictly_dominates(c, a) {
                            assert!(cf.dominates(c, d));
                        }
                    }
                }
            }
            // Every header dominates the blocks it was given as loop body.
            for blk in f.block_ids() {
                if let Some(h) = cf.loop_parent[blk.index()] {
                    assert!(cf.loop_header[h.index()] && cf.strictly_dominates(h, blk));
                }
            }
        }
    }
}
