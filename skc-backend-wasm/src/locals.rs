//! Sharing wasm locals between SSA values whose live ranges do not
//! overlap, so large functions do not declare one local per value.
//!
//! Liveness is computed per value by walking backwards from each use to
//! the definition (sparse: only the blocks a value is live in are
//! touched). Values are then coloured block by block in reverse
//! post-order (every value live into a block is defined in a dominator,
//! which comes earlier, so its colour is already known): the colours of
//! live-in values are taken, phi results get free colours, and each
//! instruction's operands that die there are released before its result
//! is coloured (the generated code reads all operands before writing the
//! result). A phi result is written on the incoming edges, where exactly
//! the block's live-in values are live, so it cannot clobber them.

use skc_ir::ir::{Function, InstKind, Operand, Terminator, Value};

use crate::structure::Structure;

/// No colour (parameters, or values in unreachable code).
pub const NONE: u32 = u32::MAX;

/// The result: a colour per value, and how many colours each type needs
/// (indexed by [`type_slot`]).
pub struct Colouring {
    /// Colour of each value within its type, or [`NONE`].
    pub colour: Vec<u32>,
    /// Colours used per type slot.
    pub counts: [u32; 4],
}

/// Index of a base type in [`Colouring::counts`].
pub fn type_slot(t: skc_ir::ir::BaseType) -> usize {
    match t {
        skc_ir::ir::BaseType::W => 0,
        skc_ir::ir::BaseType::L => 1,
        skc_ir::ir::BaseType::S => 2,
        skc_ir::ir::BaseType::D => 3,
    }
}

fn operand_values<'a>(ops: impl Iterator<Item = &'a Operand>, out: &mut Vec<Value>) {
    for op in ops {
        if let Operand::Value(v) = op {
            out.push(*v);
        }
    }
}

/// Values an instruction reads.
pub fn inst_uses(kind: &InstKind, out: &mut Vec<Value>) {
    out.clear();
    match kind {
        InstKind::Binary { lhs, rhs, .. } | InstKind::Compare { lhs, rhs, .. } => {
            operand_values([lhs, rhs].into_iter(), out)
        }
        InstKind::Unary { arg, .. } => operand_values(std::iter::once(arg), out),
        InstKind::Load { addr, .. } => operand_values(std::iter::once(addr), out),
        InstKind::Store { value, addr, .. } => operand_values([value, addr].into_iter(), out),
        InstKind::Alloc { size, .. } => operand_values(std::iter::once(size), out),
        InstKind::Blit { src, dst, .. } => operand_values([src, dst].into_iter(), out),
        InstKind::Call {
            callee, env, args, ..
        } => operand_values(
            std::iter::once(callee)
                .chain(env.iter())
                .chain(args.iter().map(|a| &a.value)),
            out,
        ),
        InstKind::VaStart { ap } | InstKind::VaArg { ap } => {
            operand_values(std::iter::once(ap), out)
        }
        InstKind::DbgLoc { .. } => {}
    }
}

fn term_uses(t: &Terminator, out: &mut Vec<Value>) {
    out.clear();
    match t {
        Terminator::Jnz { cond, .. } => operand_values(std::iter::once(cond), out),
        Terminator::Ret(Some(v)) => operand_values(std::iter::once(v), out),
        _ => {}
    }
}

/// Colours every value not marked `fixed`.
pub fn colour(f: &Function, st: &Structure, fixed: &[bool]) -> Colouring {
    let nb = f.blocks.len();
    let nv = f.values.len();
    let mut def_block = vec![usize::MAX; nv];
    for (b, bd) in f.blocks.iter().enumerate() {
        for p in &bd.phis {
            def_block[p.result.index()] = b;
        }
        for i in &bd.insts {
            if let Some(r) = i.result {
                def_block[r.index()] = b;
            }
        }
    }
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); nb];
    for (b, ss) in st.succs.iter().enumerate() {
        if st.rpo_num[b] == usize::MAX {
            continue;
        }
        for &s in ss {
            // Successors are at most two, so a repeat is the last entry.
            if preds[s].last() != Some(&b) {
                preds[s].push(b);
            }
        }
    }
    // Uses: (value, block where it must be live-out or is used).
    let mut live_in: Vec<Vec<Value>> = vec![Vec::new(); nb];
    let mut live_out: Vec<Vec<Value>> = vec![Vec::new(); nb];
    let mut in_stamp = vec![u32::MAX; nb];
    let mut out_stamp = vec![u32::MAX; nb];
    let mut uses_by_value: Vec<Vec<(usize, bool)>> = vec![Vec::new(); nv];
    let mut scratch = Vec::new();
    for (b, bd) in f.blocks.iter().enumerate() {
        if st.rpo_num[b] == usize::MAX {
            continue;
        }
        for p in &bd.phis {
            for (pred, op) in &p.args {
                if let Operand::Value(v) = op {
                    uses_by_value[v.index()].push((pred.index(), true));
                }
            }
        }
        for i in &bd.insts {
            inst_uses(&i.kind, &mut scratch);
            for v in &scratch {
                uses_by_value[v.index()].push((b, false));
            }
        }
        term_uses(&bd.term, &mut scratch);
        for v in &scratch {
            uses_by_value[v.index()].push((b, false));
        }
    }
    let mut work = Vec::new();
    for v in 0..nv {
        if fixed[v] || def_block[v] == usize::MAX {
            continue;
        }
        let stamp = v as u32;
        let d = def_block[v];
        for &(b, at_end) in &uses_by_value[v] {
            if st.rpo_num[b] == usize::MAX {
                continue;
            }
            if at_end && out_stamp[b] != stamp {
                out_stamp[b] = stamp;
                live_out[b].push(Value(v as u32));
            }
            if b != d {
                work.push(b);
            }
        }
        while let Some(b) = work.pop() {
            if in_stamp[b] == stamp || b == d {
                continue;
            }
            in_stamp[b] = stamp;
            live_in[b].push(Value(v as u32));
            for &p in &preds[b] {
                if out_stamp[p] != stamp {
                    out_stamp[p] = stamp;
                    live_out[p].push(Value(v as u32));
                }
                if p != d && in_stamp[p] != stamp {
                    work.push(p);
                }
            }
        }
    }

    let mut colour = vec![NONE; nv];
    let mut counts = [0u32; 4];
    let mut order: Vec<usize> = (0..nb).filter(|&b| st.rpo_num[b] != usize::MAX).collect();
    order.sort_by_key(|&b| st.rpo_num[b]);
    let mut busy: [Vec<bool>; 4] = Default::default();
    let mut is_live_out = vec![false; nv];
    let mut last_use = vec![usize::MAX; nv];
    for &b in &order {
        let bd = &f.blocks[b];
        for c in &mut busy {
            c.iter_mut().for_each(|x| *x = false);
        }
        for v in &live_in[b] {
            let c = colour[v.index()];
            if c != NONE {
                busy[type_slot(f.value_type(*v))][c as usize] = true;
            }
        }
        for v in &live_out[b] {
            is_live_out[v.index()] = true;
        }
        let n = bd.insts.len();
        for (i, inst) in bd.insts.iter().enumerate() {
            inst_uses(&inst.kind, &mut scratch);
            for v in &scratch {
                last_use[v.index()] = i;
            }
        }
        term_uses(&bd.term, &mut scratch);
        for v in &scratch {
            last_use[v.index()] = n;
        }
        let mut take = |v: Value, busy: &mut [Vec<bool>; 4], colour: &mut Vec<u32>| {
            let slot = type_slot(f.value_type(v));
            let c = match busy[slot].iter().position(|x| !x) {
                Some(c) => c,
                None => {
                    busy[slot].push(false);
                    counts[slot] += 1;
                    busy[slot].len() - 1
                }
            };
            busy[slot][c] = true;
            colour[v.index()] = c as u32;
        };
        let dead_here = |v: Value, i: usize, last_use: &[usize], is_live_out: &[bool]| {
            !is_live_out[v.index()]
                && (last_use[v.index()] == usize::MAX || last_use[v.index()] <= i)
        };
        for p in &bd.phis {
            if !fixed[p.result.index()] {
                take(p.result, &mut busy, &mut colour);
            }
        }
        // Phi results nobody reads in this block or after it.
        for p in &bd.phis {
            let v = p.result;
            if !fixed[v.index()] && !is_live_out[v.index()] && last_use[v.index()] == usize::MAX {
                busy[type_slot(f.value_type(v))][colour[v.index()] as usize] = false;
            }
        }
        for (i, inst) in bd.insts.iter().enumerate() {
            inst_uses(&inst.kind, &mut scratch);
            for v in &scratch {
                let c = colour[v.index()];
                if c != NONE && !fixed[v.index()] && dead_here(*v, i, &last_use, &is_live_out) {
                    busy[type_slot(f.value_type(*v))][c as usize] = false;
                }
            }
            if let Some(r) = inst.result {
                if !fixed[r.index()] {
                    take(r, &mut busy, &mut colour);
                    if !is_live_out[r.index()] && last_use[r.index()] == usize::MAX {
                        busy[type_slot(f.value_type(r))][colour[r.index()] as usize] = false;
                    }
                }
            }
        }
        for v in &live_out[b] {
            is_live_out[v.index()] = false;
        }
        for inst in &bd.insts {
            inst_uses(&inst.kind, &mut scratch);
            for v in &scratch {
                last_use[v.index()] = usize::MAX;
            }
        }
        term_uses(&bd.term, &mut scratch);
        for v in &scratch {
            last_use[v.index()] = usize::MAX;
        }
    }
    Colouring { colour, counts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::function;

    fn colour_of(text: &str) -> (Function, Colouring) {
        let f = function(text);
        let st = Structure::compute(&f);
        let fixed: Vec<bool> = (0..f.values.len())
            .map(|v| f.params.iter().any(|p| p.value.index() == v))
            .collect();
        let c = colour(&f, &st, &fixed);
        (f, c)
    }

    #[test]
    fn a_long_chain_needs_few_locals() {
        let mut text = String::from("function l $f(l %a) {\n@s\n\t%v0 =l add %a, 1\n");
        for i in 1..2000 {
            text.push_str(&format!("\t%v{i} =l mul %v{}, 3\n", i - 1));
        }
        text.push_str("\tret %v1999\n}\n");
        let (_, c) = colour_of(&text);
        assert!(c.counts[1] <= 2, "{:?}", c.counts);
    }

    #[test]
    fn values_live_at_the_same_time_get_different_colours() {
        let text = "function w $f(w %n) {\n@s\n\t%a =w add %n, 1\n\t%b =w add %n, 2\n\
            jmp @l\n@l\n\t%i =w phi @s 0, @l %j\n\t%j =w add %i, %a\n\
            %c =w csltw %j, %b\n\tjnz %c, @l, @e\n@e\n\tret %i\n}\n";
        let (f, c) = colour_of(text);
        let id = |name: &str| f.values.iter().position(|v| v.name == name).unwrap();
        let col = |name: &str| c.colour[id(name)];
        // a, b and i are live together around the loop; i stays live to
        // the exit while j is computed.
        assert_ne!(col("a"), col("b"));
        assert_ne!(col("a"), col("i"));
        assert_ne!(col("b"), col("i"));
        assert_ne!(col("i"), col("j"));
    }
}
