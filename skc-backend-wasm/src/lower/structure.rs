//! Control-flow facts for structuring: reverse post-order, dominator tree,
//! loop headers, merge nodes and reducibility.
//!
//! The emitter follows Ramsey's "Beyond Relooper" (ICFP 2022): a block
//! that is the target of a back edge opens a `loop`; a block with two or
//! more forward in-edges (a merge node) is placed after a `block` that
//! its dominator opens, so branches to it are `br` out of that `block`;
//! every other block is emitted inline at its single forward in-edge.
//!
//! One departure from the paper: a block is emitted under its nearest
//! dominator whose innermost loop contains it (its *placement parent*),
//! not always under its immediate dominator. The paper puts everything a
//! loop header dominates inside its `loop`, so the code after a loop
//! nests one level deeper than the loop, and a function of thousands of
//! consecutive loops nests thousands deep: binaryen's wasm-opt recurses
//! on nesting and crashes on such a function (8,000 loops in the
//! generated 200,000-instruction function). A block placed outside the
//! loop of its immediate dominator is a merge node: its dominator opens a
//! `block` around the loop, and the loop leaves by a `br` out of it.

use std::ops::Index;

use skc_ir::ir::{Block, Function};
use skc_ir::switches::Switches;

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
    /// Children of each block in the placement tree, in reverse
    /// post-order: the dominator tree, except that a block hangs under
    /// its nearest dominator whose innermost loop contains it (or that is
    /// in no loop), so a loop's exits are emitted after the loop.
    pub children: Adjacency,
    /// Blocks with two or more forward in-edges, and blocks placed
    /// outside the loop of their immediate dominator (branches to both
    /// are `br` out of a `block`).
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
    loops: LoopScratch,
}

/// Working storage of [`place_outside_loops`].
#[derive(Default)]
struct LoopScratch {
    /// Header of the innermost loop containing each block (a header is in
    /// its own loop), or `NONE`.
    innermost: Vec<usize>,
    /// Union-find parent while loops are collected.
    rep: Vec<usize>,
    work: Vec<usize>,
    /// Loop-forest parent of each header (`n` for outermost loops).
    pairs: Vec<(usize, usize)>,
    forest: Adjacency,
    enter: Vec<usize>,
    leave: Vec<usize>,
    stack: Vec<(usize, usize)>,
    /// Placement parent of each block.
    parent: Vec<usize>,
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
    /// The head of each of `switches` branches straight to the switch's
    /// targets (one `br_table`), so its tree's other blocks are not
    /// reached, and every target it reaches forwards is a merge node: a
    /// table entry can only be a `br` out of a `block`.
    pub fn compute(f: &Function, switches: &Switches) -> Self {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => Self::compute_with(f, switches, &mut s),
            // Only reachable by re-entry, which this never does.
            Err(_) => Self::compute_with(f, switches, &mut Scratch::default()),
        })
    }

    /// Hands the buffers back for the next [`Structure::compute`].
    pub fn recycle(self) {
        SPARE.with(|s| s.set(Some(self)));
    }

    fn compute_with(f: &Function, switches: &Switches, s: &mut Scratch) -> Self {
        let spare = SPARE.with(|s| s.take());
        let (mut succs, mut rpo_num, mut children, mut merge, mut loop_header) = match spare {
            Some(st) => (st.succs, st.rpo_num, st.children, st.merge, st.loop_header),
            None => Default::default(),
        };
        let n = f.blocks.len();
        s.pairs.clear();
        for (b, bd) in f.blocks.iter().enumerate() {
            match switches.at_head(Block(b as u32)) {
                Some(sw) => s.pairs.extend(sw.targets().iter().map(|t| (b, t.index()))),
                None => s
                    .pairs
                    .extend(bd.term.successors().map(|t: Block| (b, t.index()))),
            }
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
        merge.clear();
        merge.extend(s.forward_in.iter().map(|&c| c >= 2));
        for sw in switches.iter() {
            let h = sw.head.index();
            for &t in &succs[h] {
                if rpo_num[t] > rpo_num[h] {
                    merge[t] = true;
                }
            }
        }
        if reducible {
            place_outside_loops(
                order,
                &s.preds,
                idom,
                &rpo_num,
                &loop_header,
                &mut children,
                &mut merge,
                &mut s.pairs,
                &mut s.loops,
            );
        }
        Structure {
            succs,
            rpo_num,
            children,
            merge,
            loop_header,
            reducible,
        }
    }

    /// True when the edge `from → to` goes backwards in reverse post-order.
    pub fn is_backward(&self, from: usize, to: usize) -> bool {
        self.rpo_num[to] <= self.rpo_num[from]
    }
}

const NONE: usize = usize::MAX;

/// Rebuilds `children` as the placement tree of a reducible function:
/// each block hangs under its nearest dominator whose innermost loop
/// contains it, or that is in no loop. A block that moves out of its
/// immediate dominator's loop this way becomes a merge node. Linear in
/// the function's size times its loop nesting depth.
#[allow(clippy::too_many_arguments)]
fn place_outside_loops(
    order: &[usize],
    preds: &Adjacency,
    idom: &[usize],
    rpo_num: &[usize],
    loop_header: &[bool],
    children: &mut Adjacency,
    merge: &mut [bool],
    pairs: &mut Vec<(usize, usize)>,
    s: &mut LoopScratch,
) {
    let n = idom.len();
    if !order.iter().any(|&b| loop_header[b]) {
        return;
    }
    // Natural loops, innermost first (an inner header comes later in
    // reverse post-order than the headers of the loops around it): walk
    // back from each back edge's source to the header; a block already
    // in an inner loop stands for that whole loop through union-find.
    reset(&mut s.innermost, n, NONE);
    s.rep.clear();
    s.rep.extend(0..n);
    // Loop-forest parents of headers, for now (`n`: outermost).
    reset(&mut s.parent, n, n);
    let find = |rep: &mut Vec<usize>, mut x: usize| {
        let mut root = x;
        while rep[root] != root {
            root = rep[root];
        }
        while rep[x] != root {
            let next = rep[x];
            rep[x] = root;
            x = next;
        }
        root
    };
    for &h in order.iter().rev().filter(|&&b| loop_header[b]) {
        s.innermost[h] = h;
        s.work.clear();
        s.work.extend(
            preds[h]
                .iter()
                .copied()
                .filter(|&p| rpo_num[p] != NONE && rpo_num[p] >= rpo_num[h]),
        );
        while let Some(x) = s.work.pop() {
            let y = find(&mut s.rep, x);
            if y == h {
                continue;
            }
            if s.innermost[y] == NONE {
                s.innermost[y] = h;
            } else {
                // `y` heads an inner loop, whose parent `h` is.
                s.parent[y] = h;
            }
            s.rep[y] = h;
            s.work
                .extend(preds[y].iter().copied().filter(|&p| rpo_num[p] != NONE));
        }
    }
    // Loop-forest intervals: `h` contains `x` when `x`'s innermost header
    // lies in `h`'s subtree. Outermost loops hang under a root `n`.
    s.pairs.clear();
    s.pairs.extend(
        order
            .iter()
            .filter(|&&b| loop_header[b])
            .map(|&h| (s.parent[h], h)),
    );
    s.forest.fill(n + 1, &s.pairs);
    reset(&mut s.enter, n + 1, 0);
    reset(&mut s.leave, n + 1, 0);
    let mut clock = 0;
    s.stack.clear();
    s.stack.push((n, 0));
    while let Some(top) = s.stack.last_mut() {
        let (h, i) = *top;
        if i < s.forest[h].len() {
            top.1 += 1;
            let c = s.forest[h][i];
            clock += 1;
            s.enter[c] = clock;
            s.stack.push((c, 0));
        } else {
            s.leave[h] = clock;
            s.stack.pop();
        }
    }
    let (innermost, enter, leave) = (&s.innermost, &s.enter, &s.leave);
    let contains = |h: usize, x: usize| {
        let i = innermost[x];
        i != NONE && enter[h] <= enter[i] && leave[i] <= leave[h]
    };
    // Climb out of every loop of the immediate dominator that does not
    // contain the block; the blocks between a dominator in loop L and L's
    // header are all in L, so each step jumps to the header's dominator.
    reset(&mut s.parent, n, NONE);
    for &b in order.iter().skip(1) {
        let mut p = idom[b];
        while innermost[p] != NONE && !contains(innermost[p], b) {
            let up = idom[innermost[p]];
            if up == innermost[p] {
                // The entry heads the loop: nowhere further out.
                break;
            }
            p = up;
        }
        if p != idom[b] {
            merge[b] = true;
        }
        s.parent[b] = p;
    }
    pairs.clear();
    pairs.extend(order.iter().skip(1).map(|&b| (s.parent[b], b)));
    children.fill(n, pairs);
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
    use crate::test_support::{function, object};

    /// The deepest nesting of `block`, `loop` and `if` in an object's code.
    fn max_nesting(bytes: &[u8]) -> usize {
        let mut deepest = 0;
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload else {
                continue;
            };
            let mut ops = body.get_operators_reader().unwrap();
            let mut depth = 0usize;
            while !ops.eof() {
                match ops.read().unwrap() {
                    wasmparser::Operator::Block { .. }
                    | wasmparser::Operator::Loop { .. }
                    | wasmparser::Operator::If { .. } => {
                        depth += 1;
                        deepest = deepest.max(depth);
                    }
                    wasmparser::Operator::End => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
        }
        deepest
    }

    #[test]
    fn code_after_a_loop_is_not_nested_in_it() {
        let mut text = String::from("export function w $f(w %n) {\n@start\n\tjmp @h0\n");
        for i in 0..300 {
            let next = i + 1;
            let entry = if i == 0 {
                "start".to_string()
            } else {
                format!("e{}", i - 1)
            };
            text.push_str(&format!(
                "@h{i}\n\t%k{i} =w phi @{entry} 0, @h{i} %j{i}\n\t%j{i} =w add %k{i}, 1\n\
                 \t%c{i} =w csltw %j{i}, %n\n\tjnz %c{i}, @h{i}, @e{i}\n@e{i}\n\tjmp @h{next}\n"
            ));
        }
        text.push_str("@h300\n\tret %j299\n}\n");
        let depth = max_nesting(&object(&text));
        assert!(depth <= 3, "300 loops in a row nest {depth} deep");
    }

    #[test]
    fn a_loop_exit_is_placed_under_the_first_dominator_outside_the_loops_it_leaves() {
        // `out` leaves both loops from the inner one; `next` leaves only
        // the inner loop.
        let f = function(
            "export function w $f(w %n) {\n@s\n\tjmp @outer\n\
             @outer\n\t%i =w phi @s 0, @next %i1\n\tjmp @inner\n\
             @inner\n\t%j =w phi @outer 0, @test %j1\n\t%j1 =w add %j, 1\n\
             \t%c =w csltw %j1, %n\n\tjnz %c, @test, @next\n\
             @test\n\tjnz %j1, @inner, @out\n\
             @next\n\t%i1 =w add %i, 1\n\t%d =w csltw %i1, %n\n\tjnz %d, @outer, @done\n\
             @done\n\tret %i1\n@out\n\tret %j1\n}\n",
        );
        let st = Structure::compute(&f, &Default::default());
        assert!(st.reducible);
        let b = |name: &str| {
            f.blocks
                .iter()
                .position(|d| d.name.as_str() == name)
                .unwrap()
        };
        let parent = |x: usize| (0..f.blocks.len()).find(|&p| st.children[p].contains(&x));
        assert_eq!(parent(b("out")), Some(b("s")));
        assert_eq!(parent(b("next")), Some(b("outer")));
        assert_eq!(parent(b("done")), Some(b("s")));
        assert_eq!(parent(b("test")), Some(b("inner")));
        for exit in ["out", "next", "done"] {
            assert!(st.merge[b(exit)], "{exit}");
        }
        assert!(!st.merge[b("test")]);
    }

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
