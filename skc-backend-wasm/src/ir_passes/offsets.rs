//! Constant address offsets folded into the memory access.
//!
//! `%a =w add %p, 16` followed by `loadw %a` becomes `i32.load offset=16`
//! on `%p`: the load's address operand is rewritten to `%p` and the offset
//! is kept beside the instruction; an `add` left without uses is removed.
//! wasm adds the offset to the address without wrapping at 2^32, where the
//! `add` would wrap: the two differ when the base itself lies near the top
//! of the address space. A real address does not (objects end below the
//! memory size), but IL may step below an object and back
//! (`%p =l sub $G, 4096`, then `add %p, 4104`): the intermediate value is
//! no address, it wraps below zero, and only the wrapping sum brings it
//! back. So a value computed by stepping down by a constant (`sub %x, C`,
//! `add %x, -C`) is never used as a folded base; every other base is taken
//! to be an address, as IL loads and stores do with their operands. Only
//! offsets in `0..2^31` are folded (a negative offset cannot be expressed;
//! cproc writes `add %p, 0` for a first field), and only `w` additions, so
//! this runs after [`crate::ir_passes::narrow`] has turned LP64 address arithmetic
//! into `w`.

use skc_ir::ir::{BaseType, BinOp, Const, Function, InstKind, Operand, Terminator, Value};

/// The offset folded into each instruction's memory access.
#[derive(Default)]
pub struct FoldedOffsets {
    /// Per block, per instruction (empty for a block without folds).
    per_block: Vec<Vec<u32>>,
}

impl FoldedOffsets {
    /// The offset of instruction `inst` of block `block` (0 if none).
    pub fn get(&self, block: usize, inst: usize) -> u32 {
        self.per_block
            .get(block)
            .and_then(|b| b.get(inst))
            .copied()
            .unwrap_or(0)
    }
}

/// The largest offset folded, so that sums of folded offsets stay in `u32`.
const MAX_OFFSET: i64 = (1 << 31) - 1;

/// Folds `add %p, C` address computations into the loads and stores that
/// use them (see the module documentation).
pub fn fold_address_offsets(f: &mut Function) -> FoldedOffsets {
    let nv = f.values.len();
    // For each `w` value defined as `add %p, C`: (p, C).
    let mut base_plus: Vec<Option<(Value, u32)>> = vec![None; nv];
    // Values computed by stepping down from another by a constant.
    let mut below = vec![false; nv];
    let mut any = false;
    for bd in &f.blocks {
        for inst in &bd.insts {
            let Some(r) = inst.result else { continue };
            if let InstKind::Binary {
                op: op @ (BinOp::Add | BinOp::Sub),
                rhs: Operand::Const(Const::Int(c)),
                ..
            } = &inst.kind
            {
                below[r.index()] = *c != 0 && (*op == BinOp::Sub) == (*c > 0);
            }
            if f.values[r.index()].ty != BaseType::W {
                continue;
            }
            if let InstKind::Binary {
                op: BinOp::Add,
                lhs,
                rhs,
            } = &inst.kind
            {
                let folded = match (lhs, rhs) {
                    (Operand::Value(p), Operand::Const(Const::Int(c)))
                    | (Operand::Const(Const::Int(c)), Operand::Value(p)) => {
                        (0..=MAX_OFFSET).contains(c).then_some((*p, *c as u32))
                    }
                    _ => None,
                };
                if folded.is_some() {
                    base_plus[r.index()] = folded;
                    any = true;
                }
            }
        }
    }
    if !any {
        return FoldedOffsets::default();
    }
    let mut uses = use_counts(f);
    let mut per_block = vec![Vec::new(); f.blocks.len()];
    for (b, bd) in f.blocks.iter_mut().enumerate() {
        for (i, inst) in bd.insts.iter_mut().enumerate() {
            let addr = match &mut inst.kind {
                InstKind::Load { addr, .. } | InstKind::Store { addr, .. } => addr,
                _ => continue,
            };
            let mut offset = 0u32;
            // Follow chains of additions (`add (add %p, 8), 4`).
            while let Operand::Value(a) = *addr {
                let Some((p, c)) = base_plus[a.index()] else {
                    break;
                };
                if below[p.index()] {
                    break;
                }
                let Some(sum) = offset.checked_add(c).filter(|&s| s <= MAX_OFFSET as u32) else {
                    break;
                };
                offset = sum;
                uses[a.index()] -= 1;
                uses[p.index()] += 1;
                *addr = Operand::Value(p);
            }
            if offset != 0 {
                let offsets = &mut per_block[b];
                offsets.resize(i + 1, 0);
                offsets[i] = offset;
            }
        }
    }
    // Remove the additions no longer used, keeping the offsets beside the
    // instructions that remain. A removed addition may free its own base
    // (`add (add %p, 8), 4`), so this repeats until nothing changes.
    loop {
        let mut removed = false;
        for (b, bd) in f.blocks.iter_mut().enumerate() {
            let dead = |inst: &skc_ir::ir::Inst, uses: &[u32]| {
                inst.result
                    .is_some_and(|r| base_plus[r.index()].is_some() && uses[r.index()] == 0)
            };
            if !bd.insts.iter().any(|i| dead(i, &uses)) {
                continue;
            }
            let offsets = std::mem::take(&mut per_block[b]);
            let mut kept_offsets = Vec::with_capacity(offsets.len());
            let mut kept = Vec::with_capacity(bd.insts.len());
            for (i, inst) in std::mem::take(&mut bd.insts).into_iter().enumerate() {
                if dead(&inst, &uses) {
                    if let InstKind::Binary { lhs, rhs, .. } = &inst.kind {
                        for op in [lhs, rhs] {
                            if let Operand::Value(v) = op {
                                uses[v.index()] -= 1;
                            }
                        }
                    }
                    removed = true;
                    continue;
                }
                if let Some(&o) = offsets.get(i) {
                    kept_offsets.push(o);
                }
                kept.push(inst);
            }
            bd.insts = kept;
            per_block[b] = kept_offsets;
        }
        if !removed {
            break;
        }
    }
    FoldedOffsets { per_block }
}

/// How many times each value is read.
fn use_counts(f: &Function) -> Vec<u32> {
    let mut uses = vec![0u32; f.values.len()];
    let mut scratch = Vec::new();
    let count = |op: &Operand, uses: &mut Vec<u32>| {
        if let Operand::Value(v) = op {
            uses[v.index()] += 1;
        }
    };
    for bd in &f.blocks {
        for p in &bd.phis {
            for (_, op) in &p.args {
                count(op, &mut uses);
            }
        }
        for inst in &bd.insts {
            crate::lower::locals::inst_uses(&inst.kind, &mut scratch);
            for v in &scratch {
                uses[v.index()] += 1;
            }
        }
        match &bd.term {
            Terminator::Jnz { cond, .. } => count(cond, &mut uses),
            Terminator::Ret(Some(op)) => count(op, &mut uses),
            _ => {}
        }
    }
    uses
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::tests::wat;
    use crate::test_support::function;

    #[test]
    fn a_field_address_becomes_the_access_offset() {
        let text = wat(
            "function w $f(l %p) {\n@s\n\t%a =l add %p, 16\n\t%b =l add %a, 8\n\
             %v =w loadw %b\n\tstorew %v, %a\n\tret %v\n}\n",
        );
        assert!(text.contains("i32.load offset=24"), "{text}");
        assert!(text.contains("i32.store offset=16"), "{text}");
        assert!(!text.contains("i32.add"), "both additions are gone: {text}");
        let first =
            wat("function d $f(l %p) {\n@s\n\t%a =l add %p, 0\n\t%v =d loadd %a\n\tret %v\n}\n");
        assert!(
            !first.contains("i32.add"),
            "a first field is the base: {first}"
        );
    }

    #[test]
    fn an_addition_with_other_uses_stays_and_negative_offsets_are_not_folded() {
        let mut f = function(
            "function w $f(l %p) {\n@s\n\t%a =l add %p, 4\n\t%b =l add %p, -4\n\
             %v =w loadw %a\n\t%u =w loadw %b\n\t%s =w add %v, %u\n\t%t =w add %s, %a\n\
             ret %t\n}\n",
        );
        crate::ir_passes::narrow::narrow_addresses(&mut f);
        let offsets = fold_address_offsets(&mut f);
        let insts = &f.blocks[0].insts;
        assert_eq!(insts.len(), 6, "nothing removed");
        assert_eq!(offsets.get(0, 2), 4, "the load through %a");
        assert_eq!(offsets.get(0, 3), 0, "the load through %b");
        assert!(
            matches!(&insts[2].kind, InstKind::Load { addr: Operand::Value(p), .. }
            if f.values[p.index()].name == "p")
        );
    }

    #[test]
    fn a_base_stepped_down_by_a_constant_is_not_folded() {
        let text = wat(
            "function l $f(l %g) {\n@s\n\t%p =l sub %g, 4096\n\t%q =l add %p, 4104\n\
             %v =l loadl %q\n\t%r =l add %g, -8\n\t%s =l add %r, 8\n\t%u =l loadl %s\n\
             %t =l add %v, %u\n\tret %t\n}\n",
        );
        assert!(!text.contains("offset="), "{text}");
        let zero = wat(
            "function l $f(l %g) {\n@s\n\t%p =l add %g, 0\n\t%q =l add %p, 8\n\
             %v =l loadl %q\n\tret %v\n}\n",
        );
        assert!(
            zero.contains("offset=8"),
            "`add %g, 0` is no step down: {zero}"
        );
    }

    #[test]
    fn frame_slots_are_the_frame_pointer_with_an_offset() {
        let text = wat(
            "function w $f(w %x) {\n@s\n\t%a =l alloc4 4\n\t%b =l alloc8 16\n\
             storew %x, %a\n\t%c =l add %b, 8\n\tstorew %x, %c\n\t%v =w loadw %a\n\
             %u =w loadw %c\n\t%s =w add %v, %u\n\tret %s\n}\n",
        );
        // %a is at 0 and %b at 8: the field %c is at 16.
        assert!(text.contains("i32.store offset=16"), "{text}");
        assert!(text.contains("i32.load offset=16"), "{text}");
        assert_eq!(text.matches("i32.add").count(), 1, "only the sum: {text}");
    }
}
