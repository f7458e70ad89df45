//! Canonical form of a module, for comparing parses that may differ only
//! in names and positions.
#![allow(dead_code)]

use skc_ir::ir::{
    Const, DataItem, DataValue, Function, Inst, InstKind, Item, Operand, Pos, Terminator, Value,
    ValueData,
};
use skc_ir::reader::Module;

/// A module with positions cleared and values renumbered in order of
/// first mention (parameters, then blocks in order), so two parses of
/// equivalent text compare equal.
pub fn canonical(m: &Module) -> Vec<Item> {
    m.items
        .iter()
        .map(|item| match item {
            Item::Function(f) => Item::Function(canonical_function(f)),
            Item::Data(d) => {
                let mut d = d.clone();
                d.pos = Pos::default();
                for item in &mut d.items {
                    if let DataItem::Values { values, .. } = item {
                        for v in values {
                            match v {
                                DataValue::Single(f) if f.is_nan() => {
                                    *v = DataValue::Int(i64::from(f.to_bits()))
                                }
                                DataValue::Double(f) if f.is_nan() => {
                                    *v = DataValue::Int(f.to_bits() as i64)
                                }
                                _ => {}
                            }
                        }
                    }
                }
                Item::Data(d)
            }
            other => other.clone(),
        })
        .collect()
}

fn canonical_function(f: &Function) -> Function {
    let mut f = f.clone();
    let mut order: Vec<Option<u32>> = vec![None; f.values.len()];
    let mut next = 0u32;
    let mut see = |v: &mut Value| {
        let slot = &mut order[v.index()];
        let n = *slot.get_or_insert_with(|| {
            next += 1;
            next - 1
        });
        *v = Value(n);
    };
    f.pos = Pos::default();
    if let Some(e) = &mut f.env {
        see(e);
    }
    for p in &mut f.params {
        see(&mut p.value);
    }
    for b in &mut f.blocks {
        b.pos = Pos::default();
        b.term_pos = Pos::default();
        for phi in &mut b.phis {
            phi.pos = Pos::default();
            see(&mut phi.result);
            for (_, op) in &mut phi.args {
                operand(op, &mut see);
            }
        }
        for inst in &mut b.insts {
            canonical_inst(inst, &mut see);
        }
        match &mut b.term {
            Terminator::Jnz { cond, .. } => operand(cond, &mut see),
            Terminator::Ret(Some(v)) => operand(v, &mut see),
            _ => {}
        }
    }
    let mut values = vec![
        ValueData {
            name: Default::default(),
            ty: skc_ir::ir::BaseType::W
        };
        next as usize
    ];
    for (old, new) in order.iter().enumerate() {
        if let Some(n) = new {
            values[*n as usize] = f.values[old].clone();
        }
    }
    f.values = values;
    f
}

fn operand(op: &mut Operand, see: &mut impl FnMut(&mut Value)) {
    match op {
        Operand::Value(v) => see(v),
        // A NaN has no literal; the printer writes its bits, which read
        // back as an integer constant with the same meaning.
        Operand::Const(Const::Single(f)) if f.is_nan() => {
            *op = Operand::Const(Const::Int(i64::from(f.to_bits())))
        }
        Operand::Const(Const::Double(f)) if f.is_nan() => {
            *op = Operand::Const(Const::Int(f.to_bits() as i64))
        }
        Operand::Const(_) => {}
    }
}

fn canonical_inst(inst: &mut Inst, see: &mut impl FnMut(&mut Value)) {
    inst.pos = Pos::default();
    match &mut inst.kind {
        InstKind::Binary { lhs, rhs, .. } | InstKind::Compare { lhs, rhs, .. } => {
            operand(lhs, see);
            operand(rhs, see);
        }
        InstKind::Unary { arg, .. } => operand(arg, see),
        InstKind::Load { addr, .. } => operand(addr, see),
        InstKind::Store { value, addr, .. } => {
            operand(value, see);
            operand(addr, see);
        }
        InstKind::Alloc { size, .. } => operand(size, see),
        InstKind::Blit { src, dst, .. } => {
            operand(src, see);
            operand(dst, see);
        }
        InstKind::Call {
            callee, env, args, ..
        } => {
            operand(callee, see);
            if let Some(e) = env {
                operand(e, see);
            }
            for a in args {
                operand(&mut a.value, see);
            }
        }
        InstKind::VaStart { ap } | InstKind::VaArg { ap } => operand(ap, see),
        InstKind::DbgLoc { .. } => {}
    }
    if let Some(r) = &mut inst.result {
        see(r);
    }
}
