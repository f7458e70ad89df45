//! Values that can stay on the wasm operand stack instead of going
//! through a local: a value read exactly once, by the very next
//! instruction (or the block's terminator), as the first thing that
//! instruction pushes. The producer then leaves it on the stack and the
//! consumer skips its `local.get`.

use skc_ir::ir::{AbiType, CmpOp, Function, InstKind, Operand, Terminator, UnOp, Value};

use crate::lower::locals::inst_uses;

/// The operand an instruction's code pushes first, for the kinds where
/// the code generator is known to start with it.
fn first_pushed(kind: &InstKind) -> Option<&Operand> {
    match kind {
        InstKind::Binary { lhs, .. } => Some(lhs),
        InstKind::Compare { op, lhs, .. } if !matches!(op, CmpOp::O | CmpOp::Uo) => Some(lhs),
        InstKind::Unary { op, arg } if *op != UnOp::Neg => Some(arg),
        InstKind::Load { addr, .. } => Some(addr),
        InstKind::Store { addr, .. } => Some(addr),
        InstKind::Blit { dst, .. } => Some(dst),
        _ => None,
    }
}

/// Whether an instruction's code ends by storing its result (so the
/// result can be left on the stack instead).
fn ends_with_result(kind: &InstKind) -> bool {
    match kind {
        InstKind::Binary { .. }
        | InstKind::Compare { .. }
        | InstKind::Unary { .. }
        | InstKind::Load { .. } => true,
        InstKind::Call { ret, .. } => matches!(ret, Some(AbiType::Base(_) | AbiType::SubWord(_))),
        _ => false,
    }
}

/// For each value, whether it stays on the operand stack.
/// `ret_pushes_value` says a `ret` starts by pushing its operand (false
/// for results returned through a pointer, or when nothing is returned).
#[cfg(test)]
pub fn stack_values(f: &Function, ret_pushes_value: bool) -> Vec<bool> {
    stack_values_into(f, ret_pushes_value, Vec::new())
}

/// Working storage of [`stack_values_into`], kept between functions.
#[derive(Default)]
struct Scratch {
    uses: Vec<u32>,
    operands: Vec<Value>,
}

thread_local! {
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::default();
}

/// [`stack_values`], refilling `on_stack`.
pub fn stack_values_into(
    f: &Function,
    ret_pushes_value: bool,
    mut on_stack: Vec<bool>,
) -> Vec<bool> {
    let mut s = SCRATCH.with(|s| s.take());
    let (uses, scratch) = (&mut s.uses, &mut s.operands);
    uses.clear();
    uses.resize(f.values.len(), 0);
    for b in &f.blocks {
        for p in &b.phis {
            for (_, op) in &p.args {
                if let Operand::Value(v) = op {
                    uses[v.index()] += 1;
                }
            }
        }
        for i in &b.insts {
            inst_uses(&i.kind, scratch);
            for v in scratch.iter() {
                uses[v.index()] += 1;
            }
        }
        match &b.term {
            Terminator::Jnz {
                cond: Operand::Value(v),
                ..
            }
            | Terminator::Ret(Some(Operand::Value(v))) => uses[v.index()] += 1,
            _ => {}
        }
    }
    on_stack.clear();
    on_stack.resize(f.values.len(), false);
    for b in &f.blocks {
        for (i, inst) in b.insts.iter().enumerate() {
            let Some(r) = inst.result else { continue };
            if uses[r.index()] != 1 || !ends_with_result(&inst.kind) {
                continue;
            }
            let next: Option<&Operand> = match b.insts.get(i + 1) {
                Some(n) => first_pushed(&n.kind),
                None => match &b.term {
                    Terminator::Jnz { cond, .. } => Some(cond),
                    Terminator::Ret(Some(v)) if ret_pushes_value => Some(v),
                    _ => None,
                },
            };
            if next == Some(&Operand::Value(r)) {
                on_stack[r.index()] = true;
            }
        }
    }
    SCRATCH.with(|c| c.set(s));
    on_stack
}

/// True when `v` is a value marked in `on_stack`.
pub fn is_on_stack(on_stack: &[bool], v: Value) -> bool {
    on_stack.get(v.index()).copied().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::function;

    #[test]
    fn only_single_uses_consumed_first_by_the_next_instruction() {
        let f = function(
            "function w $f(w %a, w %b) {\n@s\n\t%x =w mul %a, %b\n\t%y =w add %x, 1\n\
             %z =w sub %a, %y\n\t%u =w add %z, %z\n\t%c =w csltw %u, 3\n\tjnz %c, @t, @e\n\
             @t\n\t%n =w neg %u\n\tret %n\n@e\n\tret 0\n}\n",
        );
        let on = stack_values(&f, true);
        let is = |name: &str| on[f.values.iter().position(|v| v.name == name).unwrap()];
        assert!(is("x"), "first operand of the next add");
        assert!(!is("y"), "second operand of the next sub");
        assert!(!is("z"), "used twice");
        assert!(!is("u"), "used again in another block");
        assert!(is("c"), "the jnz condition");
        assert!(is("n"), "the returned value");
        assert!(!stack_values(&f, false)[f.values.iter().position(|v| v.name == "n").unwrap()]);
    }
}
