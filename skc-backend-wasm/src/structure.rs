//! Control-flow facts for structuring: reverse post-order, dominator tree,
//! loop headers, merge nodes and reducibility.
//!
//! The emitter follows Ramsey's "Beyond Relooper" (ICFP 2022): a block
//! that is the target of a back edge opens a `loop`; a block with two or
//! more forward in-edges (a merge node) is placed after a `block` that
//! its dominator opens, so branches to it are `br` out of that `block`;
//! every other block is emitted inline at its single forward in-edge.

use std::ops::Index;

use skc_ir::ir::{Block, Function};

/// Lists of blocks indexed by block, stored flat: a function's blocks
/// cost two allocations instead of one per block.
#[derive(Default)]
pub struct Adjacency {
    /// `items[start[b]..start[b + 1]]` is the list of block `b`.
    start: Vec<u32>,
    items: Vec<usize>,
}

impl Adjacency {
    /// Groups `(block, item)` pairs by block, keeping their order.
    #[cfg(test)]
    fn from_pairs(n: usize, pairs: &[(usize, usize)]) -> Self {
        let mut a = Adjacency::default();
        a.fill(n, pairs);
        a
    }

    /// Refills with `(block, item)` pairs grouped by block, keeping their
    /// order and the allocations.
    fn fill(&mut self, n: usize, pairs: &[(usize, usize)]) {
        let start = &mut self.start;
        start.clear();
        start.resize(n + 1, 0);
        for &(b, _) in pairs {
            start[b + 1] += 1;
        }
        for b in 0..n {
            start[b + 1] += start[b];
        }
        self.items.clear();
        self.items.resize(pairs.len(), 0);
        // `start[b]` is the fill cursor of block `b`, then is restored.
        for &(b, x) in pairs {
            self.items[start[b] as usize] = x;
            start[b] += 1;
        }
        for b in (1..=n).rev() {
            start[b] = start[b - 1];
        }
        start[0] = 0;
    }

    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// Whether there are no blocks.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Index<usize> for Adjacency {
    type Output = [usize];

    fn index(&self, b: usize) -> &[usize] {
        &self.items[self.start[b] as usize..self.start[b + 1] as usize]
    }
}

/// Facts about one function's blocks (indices are block ids).
pub struct Structure {
    /// Successors of each block, in terminator order.
    pub succs: Adjacency,
    /// Position of each block in reverse post-order.
    pub rpo_num: Vec<usize>,
    /// Dominator-tree children of each block, in reverse post-order.
    pub children: Adjacency,
    /// Blocks with two or more forward in-edges.
    pub merge: Vec<bool>,
    /// Targets of back edges.
    pub loop_header: Vec<bool>,
    /// False when some retreating edge targets a block that does not
    /// dominate its source (a loop with more than one entry).
    pub reducible: bool,
}

/// Working storage of [`Structure::compute`], kept between functions so
/// that compiling many small functions does not allocate for each one.
#[derive(Default)]
struct Scratch {
    pairs: Vec<(usize, usize)>,
    preds: Adjacency,
    visited: Vec<bool>,
    order: Vec<usize>,
    stack: Vec<(usize, usize)>,
    enter: Vec<usize>,
    leave: Vec<usize>,
    forward_in: Vec<u32>,
    dominators: DominatorScratch,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
    /// A finished-with result whose buffers the next computation refills.
    static SPARE: std::cell::Cell<Option<Structure>> = const { std::cell::Cell::new(None) };
}

/// Refills `v` with `n` copies of `x`, keeping its allocation.
fn reset<T: Clone>(v: &mut Vec<T>, n: usize, x: T) {
    v.clear();
    v.resize(n, x);
}

impl Structure {
    /// Computes the facts for `f` (every block reachable from block 0).
    pub fn compute(f: &Function) -> Self {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => Self::compute_with(f, &mut s),
            // Only reachable by re-entry, which this never does.
            Err(_) => Self::compute_with(f, &mut Scratch::default()),
        })
    }

    /// Hands the buffers back for the next [`Structure::compute`].
    pub fn recycle(self) {
        SPARE.with(|s| s.set(Some(self)));
    }

    fn compute_with(f: &Function, s: &mut Scratch) -> Self {
        let spare = SPARE.with(|s| s.take());
        let (mut succs, mut rpo_num, mut children, mut merge, mut loop_header) = match spare {
            Some(st) => (st.succs, st.rpo_num, st.children, st.merge, st.loop_header),
            None => Default::default(),
        };
        let n = f.blocks.len();
        s.pairs.clear();
        for (b, bd) in f.blocks.iter().enumerate() {
            s.pairs
                .extend(bd.term.successors().map(|t: Block| (b, t.index())));
        }
        succs.fill(n, &s.pairs);
        // Iterative depth-first search for the post-order.
        reset(&mut s.visited, n, false);
        s.order.clear();
        s.stack.clear();
        s.stack.push((0, 0));
        s.visited[0] = true;
        while let Some(top) = s.stack.last_mut() {
            let (b, i) = *top;
            if i < succs[b].len() {
                top.1 += 1;
                let t = succs[b][i];
                if !s.visited[t] {
                    s.visited[t] = true;
                    s.stack.push((t, 0));
                }
            } else {
                s.order.push(b);
                s.stack.pop();
            }
        }
        s.order.reverse();
        let order = &s.order;
        reset(&mut rpo_num, n, usize::MAX);
        for (i, &b) in order.iter().enumerate() {
            rpo_num[b] = i;
        }
        s.pairs.clear();
        for b in (0..n).filter(|&b| rpo_num[b] != usize::MAX) {
            s.pairs.extend(succs[b].iter().map(|&t| (t, b)));
        }
        s.preds.fill(n, &s.pairs);
        let idom = immediate_dominators(&succs, &s.preds, &mut s.dominators);
        // Children in reverse post-order: visit blocks in that order.
        s.pairs.clear();
        s.pairs.extend(order.iter().skip(1).map(|&b| (idom[b], b)));
        children.fill(n, &s.pairs);
        // Dominator-tree intervals answer "a dominates b" in constant time.
        reset(&mut s.enter, n, 0);
        reset(&mut s.leave, n, 0);
        let (enter, leave) = (&mut s.enter, &mut s.leave);
        let mut clock = 0;
        let walk = &mut s.stack;
        walk.clear();
        walk.push((0, 0));
        while let Some(top) = walk.last_mut() {
            let (b, i) = *top;
            if i < children[b].len() {
                top.1 += 1;
                let c = children[b][i];
                clock += 1;
                enter[c] = clock;
                walk.push((c, 0));
            } else {
                leave[b] = clock;
                walk.pop();
            }
        }
        let dominates = |a: usize, b: usize| enter[a] <= enter[b] && leave[b] <= leave[a];
        reset(&mut s.forward_in, n, 0);
        reset(&mut loop_header, n, false);
        let mut reducible = true;
        for &b in order {
            for &t in &succs[b] {
                if rpo_num[t] > rpo_num[b] {
                    s.forward_in[t] += 1;
                } else {
                    loop_header[t] = true;
                    if !dominates(t, b) {
                        reducible = false;
                    }
                }
            }
        }
        Structure {
            succs,
            rpo_num,
            children,
            merge: {
                merge.clear();
                merge.extend(s.forward_in.iter().map(|&c| c >= 2));
                merge
            },
            loop_header,
            reducible,
        }
    }

    /// True when the edge `from → to` goes backwards in reverse post-order.
    pub fn is_backward(&self, from: usize, to: usize) -> bool {
        self.rpo_num[to] <= self.rpo_num[from]
    }
}

/// Working storage of [`immediate_dominators`].
#[derive(Default)]
struct DominatorScratch {
    dfnum: Vec<usize>,
    vertex: Vec<usize>,
    parent: Vec<usize>,
    stack: Vec<(usize, usize)>,
    semi: Vec<usize>,
    ancestor: Vec<usize>,
    label: Vec<usize>,
    idom: Vec<usize>,
    bucket_head: Vec<usize>,
    bucket_next: Vec<usize>,
    path: Vec<usize>,
}

/// Immediate dominators (`usize::MAX` for unreachable blocks, the entry
/// is its own), by Lengauer and Tarjan's algorithm with path compression:
/// near-linear even where a merge node has thousands of predecessors deep
/// in the tree, which makes the simple iterative scheme quadratic.
fn immediate_dominators<'s>(
    succs: &Adjacency,
    preds: &Adjacency,
    s: &'s mut DominatorScratch,
) -> &'s [usize] {
    const NONE: usize = usize::MAX;
    let n = succs.len();
    let DominatorScratch {
        dfnum,
        vertex,
        parent,
        stack,
        semi,
        ancestor,
        label,
        idom,
        bucket_head,
        bucket_next,
        path,
    } = s;
    reset(dfnum, n, NONE);
    vertex.clear();
    reset(parent, n, NONE);
    stack.clear();
    stack.push((0, 0));
    dfnum[0] = 0;
    vertex.push(0);
    while let Some(top) = stack.last_mut() {
        let (b, i) = *top;
        if i < succs[b].len() {
            top.1 += 1;
            let t = succs[b][i];
            if dfnum[t] == NONE {
                dfnum[t] = vertex.len();
                vertex.push(t);
                parent[t] = b;
                stack.push((t, 0));
            }
        } else {
            stack.pop();
        }
    }
    semi.clear();
    semi.extend_from_slice(dfnum);
    reset(ancestor, n, NONE);
    label.clear();
    label.extend(0..n);
    reset(idom, n, NONE);
    // Buckets as linked lists: `bucket_head[b]` and `bucket_next[v]`.
    reset(bucket_head, n, NONE);
    reset(bucket_next, n, NONE);
    let eval = |v: usize,
                ancestor: &mut Vec<usize>,
                label: &mut Vec<usize>,
                semi: &[usize],
                path: &mut Vec<usize>|
     -> usize {
        if ancestor[v] == NONE {
            return v;
        }
        path.clear();
        let mut u = v;
        while ancestor[ancestor[u]] != NONE {
            path.push(u);
            u = ancestor[u];
        }
        while let Some(x) = path.pop() {
            let a = ancestor[x];
            if semi[label[a]] < semi[label[x]] {
                label[x] = label[a];
            }
            ancestor[x] = ancestor[a];
        }
        label[v]
    };
    for i in (1..vertex.len()).rev() {
        let w = vertex[i];
        for &v in &preds[w] {
            if dfnum[v] == NONE {
                continue;
            }
            let u = eval(v, ancestor, label, semi, path);
            if semi[u] < semi[w] {
                semi[w] = semi[u];
            }
        }
        let home = vertex[semi[w]];
        bucket_next[w] = bucket_head[home];
        bucket_head[home] = w;
        let p = parent[w];
        ancestor[w] = p;
        let mut v = std::mem::replace(&mut bucket_head[p], NONE);
        while v != NONE {
            let u = eval(v, ancestor, label, semi, path);
            idom[v] = if semi[u] < semi[v] { u } else { p };
            v = bucket_next[v];
        }
    }
    for &w in vertex.iter().skip(1) {
        if idom[w] != vertex[semi[w]] {
            idom[w] = idom[idom[w]];
        }
    }
    idom[0] = 0;
    idom
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dominators by the definition: a dominates b when b is unreachable
    /// from the entry once a is removed.
    fn dominates_by_definition(succs: &[Vec<usize>], a: usize, b: usize) -> bool {
        if a == b || a == 0 {
            return true;
        }
        let mut seen = vec![false; succs.len()];
        let mut stack = vec![0];
        seen[0] = true;
        seen[a] = true;
        while let Some(x) = stack.pop() {
            for &s in &succs[x] {
                if !seen[s] {
                    seen[s] = true;
                    stack.push(s);
                }
            }
        }
        !seen[b]
    }

    #[test]
    fn immediate_dominators_match_the_definition_on_random_graphs() {
        let mut seed: u64 = 0x9e3779b97f4a7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..300 {
            let n = 2 + (next() % 12) as usize;
            let succs: Vec<Vec<usize>> = (0..n)
                .map(|_| {
                    (0..(next() % 3))
                        .map(|_| 1 + (next() % (n as u64 - 1)) as usize)
                        .collect()
                })
                .collect();
            let succ_pairs: Vec<(usize, usize)> = succs
                .iter()
                .enumerate()
                .flat_map(|(b, ss)| ss.iter().map(move |&s| (b, s)))
                .collect();
            let pred_pairs: Vec<(usize, usize)> = succ_pairs.iter().map(|&(b, s)| (s, b)).collect();
            let mut scratch = DominatorScratch::default();
            let idom = immediate_dominators(
                &Adjacency::from_pairs(n, &succ_pairs),
                &Adjacency::from_pairs(n, &pred_pairs),
                &mut scratch,
            );
            let mut reach = vec![false; n];
            let mut st = vec![0];
            reach[0] = true;
            while let Some(x) = st.pop() {
                for &s in &succs[x] {
                    if !reach[s] {
                        reach[s] = true;
                        st.push(s);
                    }
                }
            }
            for b in 1..n {
                if !reach[b] || idom[b] == usize::MAX {
                    continue;
                }
                let d = idom[b];
                assert!(
                    dominates_by_definition(&succs, d, b),
                    "{succs:?}: {d} !dom {b}"
                );
                // every other dominator of b dominates d
                for (c, &reachable) in reach.iter().enumerate() {
                    if c != b && reachable && dominates_by_definition(&succs, c, b) {
                        assert!(dominates_by_definition(&succs, c, d), "{succs:?}: idom {b}");
                    }
                }
            }
        }
    }
}
