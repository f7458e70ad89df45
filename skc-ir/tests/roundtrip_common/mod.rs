//! Helpers shared by the parse, round-trip and diagnostics tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use skc_ir::ir::{
    Const, DataItem, DataValue, Function, Inst, InstKind, Item, Operand, Pos, Terminator, Value,
    ValueData,
};
use skc_ir::reader::Module;

/// True when expectation files should be rewritten (`SKC_BLESS=1`).
pub fn blessing() -> bool {
    std::env::var_os("SKC_BLESS").is_some_and(|v| v != "0")
}

/// Compares `actual` with the file at `path`, or rewrites it when blessing.
pub fn check_expectation(path: &Path, actual: &str) -> Result<(), String> {
    if blessing() {
        std::fs::write(path, actual).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: {e} (run with SKC_BLESS=1 to create it)",
            path.display()
        )
    })?;
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{} differs (run with SKC_BLESS=1 to accept)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        ))
    }
}

/// The `.ssa` files in `tests/parse/<dir>`, sorted.
pub fn ssa_files(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/parse")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ssa"))
        .collect();
    files.sort();
    files
}

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
            name: String::new(),
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
