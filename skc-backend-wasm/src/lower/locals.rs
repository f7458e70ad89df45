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

use crate::lower::structure::Structure;

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

/// Working storage of [`colour`], kept between functions so that
/// compiling many small functions does not allocate for each one.
#[derive(Default)]
struct Scratch {
    def_block: Vec<u32>,
    /// Predecessors of block `b`: `preds[pred_start[b]..pred_start[b + 1]]`.
    pred_start: Vec<u32>,
    preds: Vec<u32>,
    /// Blocks where value `v` is used: `uses[use_start[v]..use_start[v + 1]]`,
    /// each with whether the use is at the block's end (a phi operand).
    use_start: Vec<u32>,
    uses: Vec<(u32, bool)>,
    /// Values each instruction reads, in block order:
    /// `operands[op_start[i]..op_start[i + 1]]` for the i-th instruction.
    op_start: Vec<u32>,
    operands: Vec<Value>,
    /// Values each terminator reads, by block, as for instructions.
    term_start: Vec<u32>,
    term_operands: Vec<Value>,
    in_stamp: Vec<u32>,
    out_stamp: Vec<u32>,
    /// (block, value) pairs found by the liveness walk, then grouped by
    /// block into `live_in`/`live_out` with `*_start` offsets.
    in_pairs: Vec<(u32, Value)>,
    out_pairs: Vec<(u32, Value)>,
    live_in_start: Vec<u32>,
    live_in: Vec<Value>,
    live_out_start: Vec<u32>,
    live_out: Vec<Value>,
    work: Vec<u32>,
    busy: [Vec<bool>; 4],
    is_live_out: Vec<bool>,
    last_use: Vec<u32>,
    uses_of_inst: Vec<Value>,
    /// Reachable blocks in reverse post-order.
    order: Vec<usize>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Refills `v` with `n` copies of `x`, keeping its allocation.
fn reset<T: Clone>(v: &mut Vec<T>, n: usize, x: T) {
    v.clear();
    v.resize(n, x);
}

/// Groups `pairs` by block (stable) into `items`, with `start[b]..start[b + 1]`
/// the range of block `b`.
fn group_by_block(pairs: &[(u32, Value)], nb: usize, start: &mut Vec<u32>, items: &mut Vec<Value>) {
    reset(start, nb + 1, 0);
    for &(b, _) in pairs {
        start[b as usize + 1] += 1;
    }
    for b in 0..nb {
        start[b + 1] += start[b];
    }
    reset(items, pairs.len(), Value(0));
    // `start[b]` serves as the fill cursor of block `b`, then is restored.
    for &(b, v) in pairs {
        let at = &mut start[b as usize];
        items[*at as usize] = v;
        *at += 1;
    }
    for b in (1..=nb).rev() {
        start[b] = start[b - 1];
    }
    start[0] = 0;
}

/// Colours every value not marked `fixed`.
pub fn colour(f: &Function, st: &Structure, fixed: &[bool]) -> Colouring {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => colour_with(f, st, fixed, &mut s),
        // Only reachable by re-entry, which colouring never does.
        Err(_) => colour_with(f, st, fixed, &mut Scratch::default()),
    })
}

fn colour_with(f: &Function, st: &Structure, fixed: &[bool], s: &mut Scratch) -> Colouring {
    const NO_BLOCK: u32 = u32::MAX;
    let nb = f.blocks.len();
    let nv = f.values.len();
    let reachable = |b: usize| st.rpo_num[b] != usize::MAX;

    reset(&mut s.def_block, nv, NO_BLOCK);
    for (b, bd) in f.blocks.iter().enumerate() {
        for p in &bd.phis {
            s.def_block[p.result.index()] = b as u32;
        }
        for i in &bd.insts {
            if let Some(r) = i.result {
                s.def_block[r.index()] = b as u32;
            }
        }
    }

    // Predecessors, without repeats (a `jnz` with both arms the same).
    s.in_pairs.clear();
    for b in (0..nb).filter(|&b| reachable(b)) {
        let mut last = usize::MAX;
        for &succ in &st.succs[b] {
            if succ != last {
                s.in_pairs.push((succ as u32, Value(b as u32)));
            }
            last = succ;
        }
    }
    {
        let Scratch {
            in_pairs,
            pred_start,
            live_in,
            preds,
            ..
        } = &mut *s;
        group_by_block(in_pairs, nb, pred_start, live_in);
        preds.clear();
        preds.extend(live_in.iter().map(|v| v.0));
    }

    // Operands of every instruction and terminator, read once.
    s.op_start.clear();
    s.operands.clear();
    s.term_start.clear();
    s.term_operands.clear();
    s.op_start.push(0);
    s.term_start.push(0);
    for bd in &f.blocks {
        for i in &bd.insts {
            inst_uses(&i.kind, &mut s.uses_of_inst);
            s.operands.extend_from_slice(&s.uses_of_inst);
            s.op_start.push(s.operands.len() as u32);
        }
        term_uses(&bd.term, &mut s.uses_of_inst);
        s.term_operands.extend_from_slice(&s.uses_of_inst);
        s.term_start.push(s.term_operands.len() as u32);
    }

    // Uses by value: (block where it is used or must be live-out, at end).
    reset(&mut s.use_start, nv + 1, 0);
    let mut first_inst = 0usize;
    let mut count_or_fill = |s: &mut Scratch, fill: bool| {
        first_inst = 0;
        for (b, bd) in f.blocks.iter().enumerate() {
            let n = bd.insts.len();
            if reachable(b) {
                let note = |s: &mut Scratch, v: Value, at: u32, at_end: bool| {
                    if fill {
                        let cursor = &mut s.use_start[v.index()];
                        s.uses[*cursor as usize] = (at, at_end);
                        *cursor += 1;
                    } else {
                        s.use_start[v.index() + 1] += 1;
                    }
                };
                for p in &bd.phis {
                    for (pred, op) in &p.args {
                        if let Operand::Value(v) = op {
                            note(s, *v, pred.index() as u32, true);
                        }
                    }
                }
                let ops = s.op_start[first_inst] as usize..s.op_start[first_inst + n] as usize;
                for k in ops {
                    let v = s.operands[k];
                    note(s, v, b as u32, false);
                }
                let term = s.term_start[b] as usize..s.term_start[b + 1] as usize;
                for k in term {
                    let v = s.term_operands[k];
                    note(s, v, b as u32, false);
                }
            }
            first_inst += n;
        }
    };
    count_or_fill(s, false);
    for v in 0..nv {
        s.use_start[v + 1] += s.use_start[v];
    }
    reset(&mut s.uses, s.use_start[nv] as usize, (0, false));
    count_or_fill(s, true);
    // Filling advanced each start to the next value's start.
    for v in (1..=nv).rev() {
        s.use_start[v] = s.use_start[v - 1];
    }
    s.use_start[0] = 0;

    // Liveness, one value at a time, walking back from its uses.
    reset(&mut s.in_stamp, nb, u32::MAX);
    reset(&mut s.out_stamp, nb, u32::MAX);
    s.in_pairs.clear();
    s.out_pairs.clear();
    s.work.clear();
    for (v, &is_fixed) in fixed.iter().enumerate().take(nv) {
        if is_fixed || s.def_block[v] == NO_BLOCK {
            continue;
        }
        let stamp = v as u32;
        let value = Value(v as u32);
        let d = s.def_block[v];
        for k in s.use_start[v] as usize..s.use_start[v + 1] as usize {
            let (b, at_end) = s.uses[k];
            if !reachable(b as usize) {
                continue;
            }
            if at_end && s.out_stamp[b as usize] != stamp {
                s.out_stamp[b as usize] = stamp;
                s.out_pairs.push((b, value));
            }
            if b != d {
                s.work.push(b);
            }
        }
        while let Some(b) = s.work.pop() {
            if s.in_stamp[b as usize] == stamp || b == d {
                continue;
            }
            s.in_stamp[b as usize] = stamp;
            s.in_pairs.push((b, value));
            for k in s.pred_start[b as usize] as usize..s.pred_start[b as usize + 1] as usize {
                let p = s.preds[k];
                if s.out_stamp[p as usize] != stamp {
                    s.out_stamp[p as usize] = stamp;
                    s.out_pairs.push((p, value));
                }
                if p != d && s.in_stamp[p as usize] != stamp {
                    s.work.push(p);
                }
            }
        }
    }
    {
        let Scratch {
            in_pairs,
            out_pairs,
            live_in_start,
            live_in,
            live_out_start,
            live_out,
            ..
        } = &mut *s;
        group_by_block(in_pairs, nb, live_in_start, live_in);
        group_by_block(out_pairs, nb, live_out_start, live_out);
    }

    // Instruction numbering: the first instruction of each block.
    s.work.clear();
    let mut next = 0u32;
    for bd in &f.blocks {
        s.work.push(next);
        next += bd.insts.len() as u32;
    }

    let mut colour = vec![NONE; nv];
    let mut counts = [0u32; 4];
    // `rpo_num` numbers the reachable blocks 0.., so placing each block
    // at its number sorts them.
    reset(&mut s.order, nb, usize::MAX);
    for b in (0..nb).filter(|&b| reachable(b)) {
        s.order[st.rpo_num[b]] = b;
    }
    s.order.retain(|&b| b != usize::MAX);
    for c in &mut s.busy {
        c.clear();
    }
    reset(&mut s.is_live_out, nv, false);
    reset(&mut s.last_use, nv, u32::MAX);
    let Scratch {
        op_start,
        operands,
        term_start,
        term_operands,
        live_in_start,
        live_in,
        live_out_start,
        live_out,
        work: block_first_inst,
        busy,
        is_live_out,
        last_use,
        order,
        ..
    } = &mut *s;
    let inst_operands = |i: usize| &operands[op_start[i] as usize..op_start[i + 1] as usize];
    let term_operands =
        |b: usize| &term_operands[term_start[b] as usize..term_start[b + 1] as usize];
    for &b in order.iter() {
        let bd = &f.blocks[b];
        let first = block_first_inst[b] as usize;
        let n = bd.insts.len();
        for c in busy.iter_mut() {
            c.iter_mut().for_each(|x| *x = false);
        }
        let live_in_b = &live_in[live_in_start[b] as usize..live_in_start[b + 1] as usize];
        let live_out_b = &live_out[live_out_start[b] as usize..live_out_start[b + 1] as usize];
        for v in live_in_b {
            let c = colour[v.index()];
            if c != NONE {
                busy[type_slot(f.value_type(*v))][c as usize] = true;
            }
        }
        for v in live_out_b {
            is_live_out[v.index()] = true;
        }
        for i in 0..n {
            for v in inst_operands(first + i) {
                last_use[v.index()] = i as u32;
            }
        }
        for v in term_operands(b) {
            last_use[v.index()] = n as u32;
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
        let dead_here = |v: Value, i: usize, last_use: &[u32], is_live_out: &[bool]| {
            !is_live_out[v.index()]
                && (last_use[v.index()] == u32::MAX || last_use[v.index()] as usize <= i)
        };
        for p in &bd.phis {
            if !fixed[p.result.index()] {
                take(p.result, busy, &mut colour);
            }
        }
        // Phi results nobody reads in this block or after it.
        for p in &bd.phis {
            let v = p.result;
            if !fixed[v.index()] && !is_live_out[v.index()] && last_use[v.index()] == u32::MAX {
                busy[type_slot(f.value_type(v))][colour[v.index()] as usize] = false;
            }
        }
        for (i, inst) in bd.insts.iter().enumerate() {
            for v in inst_operands(first + i) {
                let c = colour[v.index()];
                if c != NONE && !fixed[v.index()] && dead_here(*v, i, last_use, is_live_out) {
                    busy[type_slot(f.value_type(*v))][c as usize] = false;
                }
            }
            if let Some(r) = inst.result {
                if !fixed[r.index()] {
                    take(r, busy, &mut colour);
                    if !is_live_out[r.index()] && last_use[r.index()] == u32::MAX {
                        busy[type_slot(f.value_type(r))][colour[r.index()] as usize] = false;
                    }
                }
            }
        }
        for v in live_out_b {
            is_live_out[v.index()] = false;
        }
        for i in 0..n {
            for v in inst_operands(first + i) {
                last_use[v.index()] = u32::MAX;
            }
        }
        for v in term_operands(b) {
            last_use[v.index()] = u32::MAX;
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
        let st = Structure::compute(&f, &Default::default());
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
