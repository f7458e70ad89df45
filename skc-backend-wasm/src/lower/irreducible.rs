//! Making irreducible control flow reducible, confined to the offending
//! loops.
//!
//! A strongly connected region entered at more than one block (C's goto
//! into a loop) gets a single new header: every edge into one of its
//! entries is routed through its own edge block to the header, which
//! carries a phi for the entry number and one phi per entry phi (the
//! value for that edge, zero on edges bound for other entries), then a
//! chain of comparisons jumps to the requested entry. The header
//! dominates the whole region, so the usual structuring applies; only
//! the edges into the region pay for the dispatch. Regions nested inside
//! a single-entry loop are found by removing its header and looking again.

use skc_ir::ir::{
    BaseType, Block, CmpOp, Const, Function, Inst, InstKind, Operand, Phi, Pos, Terminator, Value,
};

/// Rewrites `f` until no region has more than one entry.
pub fn make_reducible(f: &mut Function) {
    // Each rewrite removes one multi-entry region; the bound only guards
    // against a mistake turning into an endless loop.
    for _ in 0..f.blocks.len() + 1 {
        let succs = successors(f);
        let preds = predecessors(&succs);
        let all: Vec<usize> = reachable(&succs);
        match find_multi_entry(&succs, &preds, &all) {
            Some((_, entries)) => reroute(f, &entries, &preds),
            None => return,
        }
    }
}

fn successors(f: &Function) -> Vec<Vec<usize>> {
    f.blocks
        .iter()
        .map(|b| b.term.successors().map(|s| s.index()).collect())
        .collect()
}

fn predecessors(succs: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut preds = vec![Vec::new(); succs.len()];
    for (b, ss) in succs.iter().enumerate() {
        for &s in ss {
            // Successors are at most two, so a repeat is the last entry.
            if preds[s].last() != Some(&b) {
                preds[s].push(b);
            }
        }
    }
    preds
}

fn reachable(succs: &[Vec<usize>]) -> Vec<usize> {
    let mut seen = vec![false; succs.len()];
    let mut stack = vec![0];
    seen[0] = true;
    let mut out = Vec::new();
    while let Some(b) = stack.pop() {
        out.push(b);
        for &s in &succs[b] {
            if !seen[s] {
                seen[s] = true;
                stack.push(s);
            }
        }
    }
    out.sort_unstable();
    out
}

/// Strongly connected components of the subgraph induced by `nodes`
/// (iterative Tarjan).
fn sccs(succs: &[Vec<usize>], nodes: &[usize]) -> Vec<Vec<usize>> {
    let n = succs.len();
    let mut inside = vec![false; n];
    for &b in nodes {
        inside[b] = true;
    }
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for &root in nodes {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut i)) = call.last_mut() {
            if *i < succs[v].len() {
                let w = succs[v][*i];
                *i += 1;
                if !inside[w] {
                    continue;
                }
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                call.pop();
                if let Some(&(parent, _)) = call.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    out.push(comp);
                }
            }
        }
    }
    out
}

/// A cyclic region with more than one entry, and its entries.
fn find_multi_entry(
    succs: &[Vec<usize>],
    preds: &[Vec<usize>],
    nodes: &[usize],
) -> Option<(Vec<usize>, Vec<usize>)> {
    for comp in sccs(succs, nodes) {
        let cyclic = comp.len() > 1 || succs[comp[0]].contains(&comp[0]);
        if !cyclic {
            continue;
        }
        let mut in_comp = vec![false; succs.len()];
        for &b in &comp {
            in_comp[b] = true;
        }
        let mut entries: Vec<usize> = comp
            .iter()
            .copied()
            .filter(|&b| preds[b].iter().any(|&p| !in_comp[p]))
            .collect();
        entries.sort_unstable();
        if entries.len() > 1 {
            return Some((comp, entries));
        }
        if let Some(&header) = entries.first() {
            let rest: Vec<usize> = comp.iter().copied().filter(|&b| b != header).collect();
            if let Some(found) = find_multi_entry(succs, preds, &rest) {
                return Some(found);
            }
        }
    }
    None
}

/// A new block ending in `term`, by index.
fn new_block(f: &mut Function, name: String, term: Terminator) -> usize {
    let b = f.add_block(&name, Pos::default());
    f.blocks[b.index()].term = term;
    b.index()
}

fn reroute(f: &mut Function, entries: &[usize], preds: &[Vec<usize>]) {
    let tag = f.blocks.len();
    let header = new_block(f, format!(".irr{tag}.head"), Terminator::Hlt);
    let label = f.add_value(&format!(".irr{tag}.entry"), BaseType::W);
    // Entry phis move to the header: (entry, phi index) → header value.
    let mut moved: Vec<Vec<Value>> = Vec::new();
    for &e in entries {
        let mut vs = Vec::new();
        for k in 0..f.blocks[e].phis.len() {
            let r = f.blocks[e].phis[k].result;
            let ty = f.values[r.index()].ty;
            let name = format!("{}.irr{tag}", f.values[r.index()].name);
            vs.push(f.add_value(&name, ty));
        }
        moved.push(vs);
    }
    let mut label_args = Vec::new();
    let mut moved_args: Vec<Vec<Vec<(Block, Operand)>>> = moved
        .iter()
        .map(|vs| vs.iter().map(|_| Vec::new()).collect())
        .collect();
    for (ei, &e) in entries.iter().enumerate() {
        for &p in &preds[e] {
            let edges = f.blocks[p]
                .term
                .successors()
                .filter(|s| s.index() == e)
                .count();
            if edges == 0 {
                continue;
            }
            let edge_block = new_block(
                f,
                format!(".irr{tag}.edge{}", f.blocks.len()),
                Terminator::Jmp(Block(header as u32)),
            );
            f.blocks[p]
                .term
                .retarget(Block(e as u32), Block(edge_block as u32));
            label_args.push((
                Block(edge_block as u32),
                Operand::Const(Const::Int(ei as i64)),
            ));
            for (ej, &other) in entries.iter().enumerate() {
                for (k, args) in moved_args[ej].iter_mut().enumerate() {
                    let arg = if other == e {
                        f.blocks[e].phis[k]
                            .args
                            .iter()
                            .find(|(b, _)| b.index() == p)
                            .map(|(_, op)| op.clone())
                            .unwrap_or(Operand::Const(Const::Int(0)))
                    } else {
                        Operand::Const(Const::Int(0))
                    };
                    args.push((Block(edge_block as u32), arg));
                }
            }
        }
    }
    f.blocks[header].phis.push(Phi {
        result: label,
        args: label_args,
        pos: Pos::default(),
    });
    for (ej, vs) in moved.iter().enumerate() {
        for (k, &v) in vs.iter().enumerate() {
            f.blocks[header].phis.push(Phi {
                result: v,
                args: std::mem::take(&mut moved_args[ej][k]),
                pos: Pos::default(),
            });
        }
    }
    // The comparison chain: block `at` tests for entry i, else moves on.
    let mut at = header;
    for (i, &e) in entries.iter().enumerate() {
        let dispatcher = at;
        if i + 1 == entries.len() {
            f.blocks[at].term = Terminator::Jmp(Block(e as u32));
        } else {
            let c = f.add_value(&format!(".irr{tag}.is{i}"), BaseType::W);
            f.blocks[at].insts.push(Inst {
                result: Some(c),
                kind: InstKind::Compare {
                    op: CmpOp::Eq,
                    ty: BaseType::W,
                    lhs: Operand::Value(label),
                    rhs: Operand::Const(Const::Int(i as i64)),
                },
                pos: Pos::default(),
            });
            let next = new_block(f, format!(".irr{tag}.test{}", i + 1), Terminator::Hlt);
            f.blocks[at].term = Terminator::Jnz {
                cond: Operand::Value(c),
                nonzero: Block(e as u32),
                zero: Block(next as u32),
            };
            at = next;
        }
        for (k, phi) in f.blocks[e].phis.iter_mut().enumerate() {
            phi.args = vec![(Block(dispatcher as u32), Operand::Value(moved[i][k]))];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::structure::Structure;
    use crate::test_support::function;

    const THREE_ENTRIES: &str = "function w $f(w %k) {\n@s\n\tjnz %k, @a, @t\n@t\n\
        %c =w ceqw %k, 2\n\tjnz %c, @b, @c\n@a\n\t%x =w phi @s 1, @c %z\n\tjmp @b\n\
        @b\n\t%y =w phi @t 2, @a %x\n\tjnz %y, @c, @out\n@c\n\t%z =w phi @t 3, @b %y\n\
        jnz %z, @a, @out\n@out\n\tret 0\n}\n";

    #[test]
    fn a_three_entry_loop_gets_one_header() {
        let mut f = function(THREE_ENTRIES);
        assert!(!Structure::compute(&f, &Default::default()).reducible);
        let before = f.blocks.len();
        make_reducible(&mut f);
        assert!(Structure::compute(&f, &Default::default()).reducible);
        // header, two comparison blocks, and one block per rerouted edge
        // (s→a, t→b, t→c, a→b, b→c, c→a)
        assert_eq!(f.blocks.len(), before + 3 + 6);
        for e in ["a", "b", "c"] {
            let b = f.blocks.iter().find(|b| b.name == e).unwrap();
            assert!(b.phis.iter().all(|p| p.args.len() == 1));
        }
    }

    #[test]
    fn reducible_functions_are_left_alone() {
        let text = "function w $f(w %n) {\n@s\n\tjmp @l\n@l\n\t%i =w phi @s 0, @l %j\n\
            %j =w add %i, 1\n\t%c =w csltw %j, %n\n\tjnz %c, @l, @e\n@e\n\tret %j\n}\n";
        let mut f = function(text);
        let before = f.clone();
        make_reducible(&mut f);
        assert_eq!(f, before);
    }

    #[test]
    fn the_dispatch_fallback_validates() {
        let f = function(THREE_ENTRIES);
        let mut obj = crate::object::Object::new();
        let types = skc_ir::types::TypeTable::new();
        crate::lower::compile_function_with(&f, &types, &mut obj, true).expect("compiles");
        let bytes = obj.finish().expect("encodes");
        wasmparser::Validator::new_with_features(crate::wasm_features())
            .validate_all(&bytes)
            .expect("valid");
        let text = wasmprinter::print_bytes(&bytes).unwrap();
        assert!(text.contains("br_table"));
    }
}
