//! A function's own result slot placed in the caller's result space.
//!
//! cproc builds an aggregate result in a start-block slot and returns
//! that slot's address, so the return would copy the slot into the space
//! the hidden result pointer designates. When every `ret` returns the
//! same constant-size slot, and the slot's address is otherwise only the
//! address of loads and stores inside it (directly or as `add %slot, C`),
//! the slot can live in the result space itself: no frame space, no copy.
//!
//! Why this is safe: the result space belongs to the caller, which
//! allocates it for the call (the C ABI's `sret` pointer, which clang
//! marks `noalias`: nothing else the callee can reach points into it,
//! and skc's own callers pass a fresh slot or their own result space,
//! which is unreachable in the same way). The slot's address never
//! leaves the function (no call argument, no stored value, no phi), so
//! only the function's own accesses touch it, and each of them stays
//! within the aggregate's size. The only difference a caller could see
//! is in bytes the function never writes, which are indeterminate in
//! both cases.

use skc_ir::ir::{AbiType, BinOp, Const, Function, InstKind, Operand, Terminator, Value};
use skc_ir::types::TypeTable;

use crate::abi;
use crate::ir_passes::offsets::FoldedOffsets;
use crate::lower::locals::inst_uses;

/// The slot that can be placed at the hidden result pointer, if any.
pub fn returned_slot(f: &Function, types: &TypeTable, offsets: &FoldedOffsets) -> Option<Value> {
    if f.name == "main" || !abi::returns_via_pointer(types, f.ret) {
        return None;
    }
    let Some(AbiType::Agg(id)) = f.ret else {
        return None;
    };
    let result_size = types.get(id).size;
    let slot = single_returned_value(f)?;
    let slot_size = entry_alloc_size(f, slot)?;
    if slot_size > result_size {
        return None;
    }
    // Values that stand for `slot + C`, with C: the slot itself and
    // constant additions to it.
    let mut base_plus: Vec<Option<u64>> = vec![None; f.values.len()];
    base_plus[slot.index()] = Some(0);
    for bd in &f.blocks {
        for inst in &bd.insts {
            if let (
                Some(r),
                InstKind::Binary {
                    op: BinOp::Add,
                    lhs: Operand::Value(p),
                    rhs: Operand::Const(Const::Int(c)),
                }
                | InstKind::Binary {
                    op: BinOp::Add,
                    lhs: Operand::Const(Const::Int(c)),
                    rhs: Operand::Value(p),
                },
            ) = (inst.result, &inst.kind)
            {
                if *p == slot && *c >= 0 {
                    base_plus[r.index()] = Some(*c as u64);
                }
            }
        }
    }
    let derived = |v: Value| base_plus.get(v.index()).copied().flatten();
    // Every use of the slot or a derived value must be accounted for.
    let mut uses = vec![0u32; f.values.len()];
    let mut allowed = vec![0u32; f.values.len()];
    let mut scratch = Vec::new();
    let in_bounds = |at: u64, width: u32, folded: u32| {
        at.checked_add(u64::from(folded) + u64::from(width))
            .is_some_and(|end| end <= slot_size)
    };
    for (b, bd) in f.blocks.iter().enumerate() {
        for p in &bd.phis {
            for (_, op) in &p.args {
                if let Operand::Value(v) = op {
                    uses[v.index()] += 1;
                }
            }
        }
        for (i, inst) in bd.insts.iter().enumerate() {
            inst_uses(&inst.kind, &mut scratch);
            for v in &scratch {
                uses[v.index()] += 1;
            }
            let folded = offsets.get(b, i);
            match &inst.kind {
                InstKind::Load {
                    kind,
                    addr: Operand::Value(a),
                } => {
                    if let Some(at) = derived(*a) {
                        if in_bounds(at, kind.size(), folded) {
                            allowed[a.index()] += 1;
                        }
                    }
                }
                InstKind::Store {
                    kind,
                    addr: Operand::Value(a),
                    ..
                } => {
                    if let Some(at) = derived(*a) {
                        if in_bounds(at, kind.size(), folded) {
                            allowed[a.index()] += 1;
                        }
                    }
                }
                InstKind::Binary {
                    op: BinOp::Add,
                    lhs,
                    rhs,
                } if inst.result.and_then(derived).is_some() => {
                    for op in [lhs, rhs] {
                        if *op == Operand::Value(slot) {
                            allowed[slot.index()] += 1;
                        }
                    }
                }
                _ => {}
            }
        }
        match &bd.term {
            Terminator::Jnz {
                cond: Operand::Value(v),
                ..
            } => uses[v.index()] += 1,
            Terminator::Ret(Some(Operand::Value(v))) => {
                uses[v.index()] += 1;
                allowed[v.index()] += 1;
            }
            _ => {}
        }
    }
    let all_accounted = (0..f.values.len())
        .filter(|&v| base_plus[v].is_some())
        .all(|v| uses[v] == allowed[v]);
    all_accounted.then_some(slot)
}

/// The value every `ret` returns, when there is one and it is the same.
fn single_returned_value(f: &Function) -> Option<Value> {
    let mut returned = None;
    for bd in &f.blocks {
        match &bd.term {
            Terminator::Ret(Some(Operand::Value(v))) => match returned {
                None => returned = Some(*v),
                Some(r) if r == *v => {}
                Some(_) => return None,
            },
            Terminator::Ret(_) => return None,
            _ => {}
        }
    }
    returned
}

/// The size of `v` when it is a constant-size allocation in the entry
/// block.
fn entry_alloc_size(f: &Function, v: Value) -> Option<u64> {
    f.blocks
        .first()?
        .insts
        .iter()
        .find_map(|inst| match &inst.kind {
            InstKind::Alloc {
                size: Operand::Const(Const::Int(n)),
                ..
            } if inst.result == Some(v) && *n >= 0 => Some(*n as u64),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use skc_ir::ir::Item;

    fn function_with_types(text: &str) -> (Function, TypeTable) {
        let m = skc_ir::reader::read_module(text, "t.ssa").expect("parses");
        let f = m
            .items
            .into_iter()
            .find_map(|i| match i {
                Item::Function(f) => Some(f),
                _ => None,
            })
            .expect("a function");
        (f, m.types)
    }

    fn slot_name(src: &str) -> Option<String> {
        let (f, types) = function_with_types(src);
        returned_slot(&f, &types, &FoldedOffsets::default())
            .map(|v| f.values[v.index()].name.to_string())
    }

    const PAIR: &str = "type :pair = { d, d }\n";

    #[test]
    fn a_slot_only_loaded_and_stored_is_placed_in_the_result() {
        let src = format!(
            "{PAIR}function :pair $mk(d %a, d %b) {{\n@s\n\t%r =l alloc8 16\n\
             \tstored %a, %r\n\t%q =l add %r, 8\n\tstored %b, %q\n\t%x =d loadd %q\n\
             \tret %r\n}}\n"
        );
        assert_eq!(slot_name(&src).as_deref(), Some("r"));
    }

    #[test]
    fn an_escaping_or_oversized_slot_stays_in_the_frame() {
        let escapes = format!(
            "{PAIR}function :pair $mk(d %a) {{\n@s\n\t%r =l alloc8 16\n\
             \tcall $use(l %r)\n\tret %r\n}}\n"
        );
        assert_eq!(slot_name(&escapes), None, "passed to a call");
        let stored = format!(
            "{PAIR}function :pair $mk(l %p) {{\n@s\n\t%r =l alloc8 16\n\
             \tstorel %r, %p\n\tret %r\n}}\n"
        );
        assert_eq!(slot_name(&stored), None, "its address is stored");
        let past_end = format!(
            "{PAIR}function :pair $mk(d %a) {{\n@s\n\t%r =l alloc8 16\n\
             \t%q =l add %r, 12\n\tstored %a, %q\n\tret %r\n}}\n"
        );
        assert_eq!(slot_name(&past_end), None, "an access past the end");
        let big = format!(
            "{PAIR}function :pair $mk(d %a) {{\n@s\n\t%r =l alloc8 32\n\
             \tstored %a, %r\n\tret %r\n}}\n"
        );
        assert_eq!(slot_name(&big), None, "larger than the result");
        let two = format!(
            "{PAIR}function :pair $mk(w %c) {{\n@s\n\t%r =l alloc8 16\n\
             \t%t =l alloc8 16\n\tjnz %c, @a, @b\n@a\n\tret %r\n@b\n\tret %t\n}}\n"
        );
        assert_eq!(slot_name(&two), None, "two different slots returned");
    }
}
