//! Control-flow facts for structuring: reverse post-order, dominator tree,
//! loop headers, merge nodes and reducibility.
//!
//! The emitter follows Ramsey's "Beyond Relooper" (ICFP 2022): a block
//! that is the target of a back edge opens a `loop`; a block with two or
//! more forward in-edges (a merge node) is placed after a `block` that
//! its dominator opens, so branches to it are `br` out of that `block`;
//! every other block is emitted inline at its single forward in-edge.

use skc_ir::ir::{Block, Function};

/// Facts about one function's blocks (indices are block ids).
pub struct Structure {
    /// Successors of each block, in terminator order.
    pub succs: Vec<Vec<usize>>,
    /// Position of each block in reverse post-order.
    pub rpo_num: Vec<usize>,
    /// Dominator-tree children of each block, in reverse post-order.
    pub children: Vec<Vec<usize>>,
    /// Blocks with two or more forward in-edges.
    pub merge: Vec<bool>,
    /// Targets of back edges.
    pub loop_header: Vec<bool>,
    /// False when some retreating edge targets a block that does not
    /// dominate its source (a loop with more than one entry).
    pub reducible: bool,
}

impl Structure {
    /// Computes the facts for `f` (every block reachable from block 0).
    pub fn compute(f: &Function) -> Self {
        let n = f.blocks.len();
        let succs: Vec<Vec<usize>> = f
            .blocks
            .iter()
            .map(|b| b.term.successors().map(|s: Block| s.index()).collect())
            .collect();
        // Iterative depth-first search for the post-order.
        let mut visited = vec![false; n];
        let mut post = Vec::with_capacity(n);
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        visited[0] = true;
        while let Some(top) = stack.last_mut() {
            let (b, i) = *top;
            if i < succs[b].len() {
                top.1 += 1;
                let s = succs[b][i];
                if !visited[s] {
                    visited[s] = true;
                    stack.push((s, 0));
                }
            } else {
                post.push(b);
                stack.pop();
            }
        }
        let order: Vec<usize> = post.into_iter().rev().collect();
        let mut rpo_num = vec![usize::MAX; n];
        for (i, &b) in order.iter().enumerate() {
            rpo_num[b] = i;
        }
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (b, ss) in succs.iter().enumerate() {
            if rpo_num[b] == usize::MAX {
                continue;
            }
            for &s in ss {
                preds[s].push(b);
            }
        }
        // Dominators (Cooper, Harvey and Kennedy's iterative scheme).
        let mut idom = vec![usize::MAX; n];
        idom[0] = 0;
        let intersect = |idom: &[usize], mut a: usize, mut b: usize| {
            while a != b {
                while rpo_num[a] > rpo_num[b] {
                    a = idom[a];
                }
                while rpo_num[b] > rpo_num[a] {
                    b = idom[b];
                }
            }
            a
        };
        let mut changed = true;
        while changed {
            changed = false;
            for &b in order.iter().skip(1) {
                let mut new = usize::MAX;
                for &p in &preds[b] {
                    if idom[p] == usize::MAX {
                        continue;
                    }
                    new = if new == usize::MAX {
                        p
                    } else {
                        intersect(&idom, p, new)
                    };
                }
                if new != idom[b] {
                    idom[b] = new;
                    changed = true;
                }
            }
        }
        let dominates = |a: usize, mut b: usize| loop {
            if a == b {
                return true;
            }
            if b == 0 {
                return false;
            }
            b = idom[b];
        };
        let mut children = vec![Vec::new(); n];
        for &b in order.iter().skip(1) {
            children[idom[b]].push(b);
        }
        for c in &mut children {
            c.sort_by_key(|&b| rpo_num[b]);
        }
        let mut forward_in = vec![0u32; n];
        let mut loop_header = vec![false; n];
        let mut reducible = true;
        for &b in &order {
            for &s in &succs[b] {
                if rpo_num[s] > rpo_num[b] {
                    forward_in[s] += 1;
                } else {
                    loop_header[s] = true;
                    if !dominates(s, b) {
                        reducible = false;
                    }
                }
            }
        }
        Structure {
            succs,
            rpo_num,
            children,
            merge: forward_in.iter().map(|&c| c >= 2).collect(),
            loop_header,
            reducible,
        }
    }

    /// True when the edge `from → to` goes backwards in reverse post-order.
    pub fn is_backward(&self, from: usize, to: usize) -> bool {
        self.rpo_num[to] <= self.rpo_num[from]
    }
}
