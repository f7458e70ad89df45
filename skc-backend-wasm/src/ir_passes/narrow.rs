//! 32-bit computation of `l` values whose high half nobody reads.
//!
//! LP64 IL computes addresses in `l` (`extsw`, `mul l`, `add l`, then a
//! load), but wasm32 addresses are 32 bits wide. An `l` value every use of
//! which reads only its low 32 bits — as an address, in a `w` context, or
//! as an operand of an operation whose low result bits depend only on the
//! low bits of its operands and whose own result is narrowed — can be
//! computed in i32 from the start: the low 32 bits of `add`, `sub`, `mul`,
//! `and`, `or`, `xor`, `neg`, `copy` and `shl` by a constant below 32 are
//! those of the same i32 operation on the low halves.
//!
//! The analysis is optimistic: every `l` value whose definition can
//! produce its low half in i32 starts narrowed; a value read in a full
//! 64-bit context (stored as `l`, passed or returned as `l`, compared,
//! divided, shifted right, converted to float, …) is widened back, and
//! widening the result of an operation above widens its operands in turn,
//! up to a fixed point. Phis take part like the operations: a phi stays
//! narrow only if all its uses allow it, and then its incoming values are
//! read narrow.
//!
//! Narrowed values are retyped `w` in place, so the code generator and the
//! local allocator treat them as i32 throughout; what the code generator
//! must do differently for a narrowed definition (a parameter or a call
//! result that arrives as i64) it learns from the returned flags.

use skc_ir::ir::{
    AbiType, BaseType, BinOp, CallArg, Const, Function, InstKind, LoadKind, Operand, Terminator,
    UnOp, Value,
};

use crate::wasi::lp64;

/// Where a value is defined, for the walk from a widened result to its
/// operands.
#[derive(Clone, Copy)]
enum Def {
    /// Not an `l` value that can be narrowed.
    None,
    /// A phi: block, phi index.
    Phi(usize, usize),
    /// An instruction: block, instruction index.
    Inst(usize, usize),
    /// A parameter or another definition without operands to follow.
    Leaf,
}

/// Narrows what can be narrowed in `f` (see the module documentation) and
/// returns, per value, whether it was an `l` now computed as a `w`.
pub fn narrow_addresses(f: &mut Function) -> Vec<bool> {
    let nv = f.values.len();
    let mut def = vec![Def::None; nv];
    let is_l = |f: &Function, v: Value| f.values[v.index()].ty == BaseType::L;
    if f.name != "main" {
        for p in &f.params {
            if matches!(p.ty, AbiType::Base(BaseType::L) | AbiType::Agg(_)) && is_l(f, p.value) {
                def[p.value.index()] = Def::Leaf;
            }
        }
    }
    for (b, bd) in f.blocks.iter().enumerate() {
        for (i, p) in bd.phis.iter().enumerate() {
            if is_l(f, p.result) {
                def[p.result.index()] = Def::Phi(b, i);
            }
        }
        for (i, inst) in bd.insts.iter().enumerate() {
            let Some(r) = inst.result else { continue };
            if is_l(f, r) && low_half_in_i32(&inst.kind) {
                def[r.index()] = Def::Inst(b, i);
            }
        }
    }
    let mut narrow: Vec<bool> = def.iter().map(|d| !matches!(d, Def::None)).collect();
    if !narrow.contains(&true) {
        return narrow;
    }

    // Uses that read all 64 bits whatever is narrowed. Operands of the
    // operations that pass narrowing on are read in their result's type,
    // which is `w` while the result is narrowed: the walk below covers
    // them when the result is widened.
    let mut widened = Vec::new();
    let mut full = |op: &Operand, narrow: &mut Vec<bool>| {
        if let Operand::Value(v) = op {
            if narrow[v.index()] {
                narrow[v.index()] = false;
                widened.push(*v);
            }
        }
    };
    // `main` returns a `w` to the start code, but reading its `l` result
    // in full is the safe side.
    let ret_is_l = f.ret == Some(AbiType::Base(BaseType::L));
    // Phis need no look here: an `l` phi is always narrowable, and its
    // inputs are read in full only once it is widened (the walk below).
    for bd in &f.blocks {
        for inst in &bd.insts {
            let result_narrowable = inst
                .result
                .is_some_and(|r| !matches!(def[r.index()], Def::None));
            let result_ty = inst.result.map(|r| f.values[r.index()].ty);
            full_uses(&inst.kind, result_ty, result_narrowable, &mut |op| {
                full(op, &mut narrow)
            });
        }
        if let Terminator::Ret(Some(op)) = &bd.term {
            if ret_is_l {
                full(op, &mut narrow);
            }
        }
    }

    // A widened result of an operation passing narrowing on reads its
    // operands in full.
    while let Some(v) = widened.pop() {
        let mut widen = |op: &Operand, narrow: &mut Vec<bool>| {
            if let Operand::Value(x) = op {
                if narrow[x.index()] {
                    narrow[x.index()] = false;
                    widened.push(*x);
                }
            }
        };
        match def[v.index()] {
            Def::Phi(b, i) => {
                for (_, op) in &f.blocks[b].phis[i].args {
                    widen(op, &mut narrow);
                }
            }
            Def::Inst(b, i) => match &f.blocks[b].insts[i].kind {
                InstKind::Binary { op, lhs, rhs } => {
                    widen(lhs, &mut narrow);
                    if !is_shift(*op) {
                        widen(rhs, &mut narrow);
                    }
                }
                InstKind::Unary {
                    op: UnOp::Neg | UnOp::Copy,
                    arg,
                } => widen(arg, &mut narrow),
                _ => {}
            },
            Def::None | Def::Leaf => {}
        }
    }
    for (v, &n) in narrow.iter().enumerate() {
        if n {
            f.values[v].ty = BaseType::W;
        }
    }
    narrow
}

fn is_shift(op: BinOp) -> bool {
    matches!(op, BinOp::Sar | BinOp::Shr | BinOp::Shl)
}

/// Whether an instruction with an `l` result can compute the low half of
/// that result in i32.
fn low_half_in_i32(kind: &InstKind) -> bool {
    match kind {
        InstKind::Binary { op, rhs, .. } => match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::And | BinOp::Or | BinOp::Xor => true,
            // i32.shl takes its amount modulo 32, `shl l` modulo 64.
            BinOp::Shl => matches!(rhs, Operand::Const(Const::Int(n)) if (0..32).contains(n)),
            _ => false,
        },
        InstKind::Unary { op, .. } => matches!(
            op,
            UnOp::Neg
                | UnOp::Copy
                | UnOp::Extsb
                | UnOp::Extub
                | UnOp::Extsh
                | UnOp::Extuh
                | UnOp::Extsw
                | UnOp::Extuw
        ),
        InstKind::Compare { .. } | InstKind::Alloc { .. } => true,
        // Little-endian: the low half of a `loadl` is the word at the
        // same address.
        InstKind::Load { kind, .. } => !matches!(kind, LoadKind::S | LoadKind::D),
        InstKind::Call { ret, .. } => {
            matches!(ret, Some(AbiType::Base(BaseType::L) | AbiType::Agg(_)))
        }
        InstKind::Store { .. }
        | InstKind::Blit { .. }
        | InstKind::VaStart { .. }
        | InstKind::VaArg { .. }
        | InstKind::DbgLoc { .. } => false,
    }
}

/// Calls `full` on each operand an instruction reads in all 64 bits
/// whether or not its result is narrowed. `result_ty` is the result's
/// type before narrowing (`None` without a result); `result_narrowable`
/// says whether it takes part in narrowing, in which case the operands it
/// passes narrowing on are left to the caller's walk.
fn full_uses(
    kind: &InstKind,
    result_ty: Option<BaseType>,
    result_narrowable: bool,
    full: &mut dyn FnMut(&Operand),
) {
    let result_l = result_ty == Some(BaseType::L);
    match kind {
        InstKind::Binary { op, lhs, rhs } => {
            if result_l && !result_narrowable {
                full(lhs);
                if !is_shift(*op) {
                    full(rhs);
                }
            }
        }
        InstKind::Compare { ty, lhs, rhs, .. } => {
            if *ty == BaseType::L {
                full(lhs);
                full(rhs);
            }
        }
        InstKind::Unary { op, arg } => {
            let reads_l = match op {
                UnOp::Neg | UnOp::Copy => result_l && !result_narrowable,
                UnOp::Sltof | UnOp::Ultof => true,
                // `cast` to `d` reinterprets an `l`.
                UnOp::Cast => result_ty == Some(BaseType::D),
                _ => false,
            };
            if reads_l {
                full(arg);
            }
        }
        InstKind::Store { kind, value, .. } => {
            if kind.value_type() == BaseType::L {
                full(value);
            }
        }
        InstKind::Call {
            callee,
            ret,
            env,
            args,
            variadic_from,
        } => {
            if let Some(e) = env {
                full(e);
            }
            let split = variadic_from.unwrap_or(args.len()).min(args.len());
            let (fixed, varargs) = args.split_at(split);
            let adapted = match callee {
                Operand::Const(Const::Addr { sym, offset: 0 })
                | Operand::Const(Const::Extern(sym)) => {
                    lp64::adapt_call(sym, fixed, *ret, variadic_from.is_some())
                }
                _ => None,
            };
            for (i, a) in fixed.iter().enumerate() {
                if !adapted.as_ref().is_some_and(|ad| ad.narrows(i)) {
                    full_arg(a, full);
                }
            }
            for a in varargs {
                full_arg(a, full);
            }
        }
        InstKind::Load { .. }
        | InstKind::Alloc { .. }
        | InstKind::Blit { .. }
        | InstKind::VaStart { .. }
        | InstKind::VaArg { .. }
        | InstKind::DbgLoc { .. } => {}
    }
}

fn full_arg(a: &CallArg, full: &mut dyn FnMut(&Operand)) {
    if a.ty == AbiType::Base(BaseType::L) {
        full(&a.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::tests::wat;
    use crate::test_support::function;

    fn narrowed(src: &str) -> (Function, Vec<String>) {
        let mut f = function(src);
        let n = narrow_addresses(&mut f);
        let names = n
            .iter()
            .enumerate()
            .filter(|(_, &n)| n)
            .map(|(v, _)| f.values[v].name.to_string())
            .collect();
        (f, names)
    }

    #[test]
    fn an_indexing_chain_used_as_an_address_is_narrowed() {
        let (f, names) = narrowed(
            "function w $f(l %p, w %i) {\n@s\n\t%x =l extsw %i\n\t%y =l mul %x, 4\n\
             %a =l add %p, %y\n\t%v =w loadw %a\n\tret %v\n}\n",
        );
        assert_eq!(names, ["p", "x", "y", "a"]);
        assert!(f.values.iter().all(|v| v.ty == BaseType::W));
    }

    #[test]
    fn values_read_in_full_stay_l() {
        let (_, names) = narrowed(
            "function l $f(l %p, w %i) {\n@s\n\t%x =l extsw %i\n\t%y =l mul %x, 4\n\
             %a =l add %p, %y\n\t%v =w loadw %a\n\t%q =l add %p, 8\n\tstorel %q, %a\n\
             %d =l div %y, 3\n\t%r =l add %d, %x\n\tret %r\n}\n",
        );
        // %q is stored as data (so %p, its operand, is read in full);
        // %y feeds a division and %x the returned sum.
        assert_eq!(names, ["a"]);
    }

    #[test]
    fn a_phi_narrows_only_with_all_its_uses_and_then_its_inputs() {
        let src = "function w $f(l %p, w %n) {\n@s\n\tjmp @h\n@h\n\
                   %q =l phi @s %p, @b %q2\n\t%i =w phi @s 0, @b %i2\n\
                   %c =w csltw %i, %n\n\tjnz %c, @b, @e\n@b\n\t%q2 =l add %q, 4\n\
                   %i2 =w add %i, 1\n\tjmp @h\n@e\n\t%v =w loadw %q\n\tret %v\n}\n";
        let (_, names) = narrowed(src);
        assert_eq!(names, ["p", "q", "q2"]);
        let escaped = src.replace(
            "%v =w loadw %q\n\tret %v",
            "%v =l loadl %q\n\tcall $g(l %q)\n\tret 0",
        );
        let (_, names) = narrowed(&escaped);
        assert_eq!(
            names,
            ["v"],
            "the phi escapes through the call, and so do its inputs"
        );
    }

    #[test]
    fn shifts_narrow_only_left_by_a_constant_below_32() {
        let (_, names) = narrowed(
            "function w $f(l %p, w %s) {\n@s\n\t%a =l shl %p, 3\n\t%b =l shl %p, %s\n\
             %c =l shr %p, 2\n\t%x =w loadw %a\n\t%y =w loadw %b\n\t%z =w loadw %c\n\
             %t =w add %x, %y\n\t%u =w add %t, %z\n\tret %u\n}\n",
        );
        // %p is read in full by the variable shift and the right shift.
        assert_eq!(names, ["a"]);
    }

    #[test]
    fn main_parameters_and_results_are_left_alone() {
        let (_, names) = narrowed(
            "export function l $main(w %argc, l %argv) {\n@s\n\t%v =l loadl %argv\n\
             %w =l loadsw %v\n\tret %w\n}\n",
        );
        assert_eq!(
            names,
            ["v"],
            "argv is the runtime's i64 and the result is an `l`"
        );
    }

    #[test]
    fn an_indexing_chain_compiles_without_i64() {
        let text = wat(
            "function w $f(l %p, w %i) {\n@s\n\t%x =l extsw %i\n\t%y =l mul %x, 4\n\
             %a =l add %p, %y\n\t%q =l loadl %a\n\t%v =w loadw %q\n\tret %v\n}\n",
        );
        // The i64 parameter is wrapped once on entry; nothing else is i64.
        assert_eq!(text.matches("i32.wrap_i64").count(), 1, "{text}");
        assert_eq!(
            text.matches("i64").count(),
            2,
            "the parameter and the wrap: {text}"
        );
        assert!(
            text.contains("i32.mul") && text.contains("i32.add"),
            "{text}"
        );
        assert!(
            !text.contains("i64.load"),
            "the pointer's low half is loaded: {text}"
        );
    }

    #[test]
    fn a_value_stored_as_data_keeps_its_i64_chain() {
        let text = wat(
            "function $f(l %p, w %i) {\n@s\n\t%x =l extsw %i\n\t%y =l mul %x, 4\n\
             %a =l add %p, %y\n\tstorel %a, %p\n\tret\n}\n",
        );
        for op in ["i64.extend_i32_s", "i64.mul", "i64.add", "i64.store"] {
            assert!(text.contains(op), "{op} missing: {text}");
        }
        assert!(!text.contains("i32.mul"), "{text}");
    }

    #[test]
    fn a_narrowed_call_result_is_wrapped_or_not_widened() {
        let text = wat("function w $f(l %n) {\n@s\n\t%p =l call $malloc(l %n)\n\
             %q =l call $g(l %n)\n\t%a =w loadw %p\n\t%b =w loadw %q\n\
             %c =w add %a, %b\n\tret %c\n}\n");
        // malloc's 32-bit pointer is used as it is; $g's i64 is wrapped.
        assert!(!text.contains("i64.extend_i32_u"), "{text}");
        assert_eq!(
            text.matches("i32.wrap_i64").count(),
            2,
            "%n to malloc, and $g's result: {text}"
        );
    }
}
