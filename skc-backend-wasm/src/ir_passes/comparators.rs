//! `qsort` and `bsearch` given a named IL comparator call it through one
//! adapter instead of a run-time trampoline.
//!
//! LP64 IL passes the comparator as an `l` address of a function taking
//! two `l` pointers, while wasm32's C library calls it with two 32-bit
//! pointers. The general answer is the runtime shim (`__skc_lp64_qsort`):
//! it keeps the IL comparator in a global and hands the C library a
//! trampoline that widens both pointers and calls it indirectly — two
//! indirect calls and a load per comparison. When the comparator is a
//! symbol, this pass instead writes a small function per comparator,
//! `__skc_cmp.F(w %a, w %b)`, that widens the pointers and calls `F`
//! directly, and calls the C library function itself with 32-bit
//! arguments (an `l` passed as `w` is its low 32 bits, exactly what the
//! LP64 adaptation would pass). The adapter is local to the file, and the
//! inliner may merge `F` into it.

use std::collections::HashSet;

use skc_ir::ir::{
    AbiType, BaseType, CallArg, Const, Function, Inst, InstKind, Item, Operand, UnOp,
};

/// The prefix of the adapters' names.
pub const ADAPTER_PREFIX: &str = "__skc_cmp.";

/// The C library functions taking a comparator, with its argument index
/// and the number of arguments.
const SORTS: [(&str, usize, usize); 2] = [("qsort", 3, 4), ("bsearch", 4, 5)];

/// The adapters one file has, so each is written once.
#[derive(Default)]
pub struct Comparators {
    written: HashSet<String>,
}

impl Comparators {
    /// Forgets the adapters written so far (a new file begins: they are
    /// local symbols of the file they were written for).
    pub fn clear(&mut self) {
        self.written.clear();
    }

    /// Rewrites `f`'s calls of sorting functions given a named
    /// comparator; returns the adapters the file does not have yet.
    pub fn rewrite(&mut self, f: &mut Function) -> Vec<Function> {
        let mut wanted = Vec::new();
        for b in 0..f.blocks.len() {
            let mut i = 0;
            while i < f.blocks[b].insts.len() {
                let inst = &f.blocks[b].insts[i];
                let widened = match comparator_call(inst) {
                    Some(comparator) => {
                        let adapter = format!("{ADAPTER_PREFIX}{comparator}");
                        if self.written.insert(adapter.clone()) {
                            wanted.push((adapter.clone(), comparator));
                        }
                        retarget(f, b, i, adapter)
                    }
                    None => false,
                };
                i += if widened { 2 } else { 1 };
            }
        }
        wanted
            .into_iter()
            .filter_map(|(adapter, comparator)| {
                let made = adapter_function(&adapter, &comparator);
                if made.is_none() {
                    self.written.remove(&adapter);
                }
                made
            })
            .collect()
    }
}

/// The comparator symbol of a call this pass rewrites.
fn comparator_call(inst: &Inst) -> Option<String> {
    let InstKind::Call {
        callee: Operand::Const(Const::Addr { sym, offset: 0 }),
        ret,
        env: None,
        args,
        variadic_from: None,
    } = &inst.kind
    else {
        return None;
    };
    let &(_, at, count) = SORTS.iter().find(|(name, ..)| name == sym)?;
    if args.len() != count
        || args
            .iter()
            .any(|a| !matches!(a.ty, AbiType::Base(BaseType::W | BaseType::L)))
    {
        return None;
    }
    // A `w` comparator is already a 32-bit call (ILP32 IL); an `s` or `d`
    // result is not one of these functions.
    if args[at].ty != AbiType::Base(BaseType::L) {
        return None;
    }
    match ret {
        None => {}
        Some(AbiType::Base(BaseType::W | BaseType::L)) if sym == "bsearch" => {}
        Some(_) => return None,
    }
    match &args[at].value {
        Operand::Const(Const::Addr { sym, offset: 0 } | Const::Extern(sym)) => Some(sym.clone()),
        _ => None,
    }
}

/// Makes the call at `f.blocks[b].insts[i]` pass 32-bit arguments and
/// the adapter; a bound `l` result becomes a `w` zero-extended by a new
/// instruction right after the call (returns whether one was added).
fn retarget(f: &mut Function, b: usize, i: usize, adapter: String) -> bool {
    let result = f.blocks[b].insts[i].result;
    let pos = f.blocks[b].insts[i].pos;
    let narrow = match result {
        Some(r) if f.value_type(r) == BaseType::L => {
            let name = format!("{}.w", f.values[r.index()].name);
            Some((r, f.add_value(&name, BaseType::W)))
        }
        _ => None,
    };
    let inst = &mut f.blocks[b].insts[i];
    let InstKind::Call { ret, args, .. } = &mut inst.kind else {
        unreachable!("comparator_call matched a call");
    };
    let at = args.len() - 1;
    for a in args.iter_mut() {
        a.ty = AbiType::Base(BaseType::W);
    }
    args[at] = CallArg {
        ty: AbiType::Base(BaseType::W),
        value: Operand::Const(Const::Addr {
            sym: adapter,
            offset: 0,
        }),
    };
    let Some((wide, narrow)) = narrow else {
        return false;
    };
    *ret = Some(AbiType::Base(BaseType::W));
    inst.result = Some(narrow);
    f.blocks[b].insts.insert(
        i + 1,
        Inst {
            result: Some(wide),
            kind: InstKind::Unary {
                op: UnOp::Extuw,
                arg: Operand::Value(narrow),
            },
            pos,
        },
    );
    true
}

/// `function w $ADAPTER(w %a, w %b)` calling `$COMPARATOR(l, l)`, or
/// `None` when the comparator's name cannot be written in IL.
fn adapter_function(adapter: &str, comparator: &str) -> Option<Function> {
    let text = format!(
        "function w ${adapter}(w %a, w %b) {{\n@start\n\t%pa =l extuw %a\n\t%pb =l extuw %b\n\
         \t%r =w call ${comparator}(l %pa, l %pb)\n\tret %r\n}}\n"
    );
    let module = skc_ir::reader::read_module(&text, adapter).ok()?;
    module.items.into_iter().find_map(|item| match item {
        Item::Function(f) => Some(f),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use skc_ir::types::TypeTable;

    fn print(f: &Function) -> String {
        let mut out = String::new();
        skc_ir::printer::print_item(&mut out, &Item::Function(f.clone()), &TypeTable::default())
            .expect("prints");
        out
    }

    fn rewritten(text: &str) -> (String, Vec<String>) {
        let mut f = crate::test_support::function(text);
        let mut c = Comparators::default();
        let adapters = c.rewrite(&mut f);
        (print(&f), adapters.iter().map(print).collect())
    }

    #[test]
    fn a_named_comparator_gets_an_adapter_and_the_call_32_bit_arguments() {
        let (f, adapters) = rewritten(
            "function $sort(l %p, l %n) {\n@s\n\tcall $qsort(l %p, l %n, l 16, l $by_key)\n\
             \tcall $qsort(l %p, w 3, l 16, l $by_key)\n\tret\n}\n",
        );
        assert!(
            f.contains("call $qsort(w %p, w %n, w 16, w $__skc_cmp.by_key)"),
            "{f}"
        );
        assert!(f.contains("call $qsort(w %p, w 3, w 16, w $__skc_cmp.by_key)"));
        assert_eq!(adapters.len(), 1, "one adapter per comparator");
        assert!(adapters[0].contains("function w $__skc_cmp.by_key(w %a, w %b)"));
        assert!(adapters[0].contains("call $by_key(l %pa, l %pb)"));
    }

    #[test]
    fn a_bsearch_result_is_widened_after_the_call() {
        let (f, adapters) = rewritten(
            "function l $find(l %k, l %p, l %n) {\n@s\n\
             \t%r =l call $bsearch(l %k, l %p, l %n, l 8, l $cmp)\n\tret %r\n}\n",
        );
        assert!(
            f.contains("%r.w =w call $bsearch(w %k, w %p, w %n, w 8, w $__skc_cmp.cmp)"),
            "{f}"
        );
        assert!(f.contains("%r =l extuw %r.w"), "{f}");
        assert_eq!(adapters.len(), 1);
    }

    #[test]
    fn other_comparators_and_calls_are_left_to_the_runtime() {
        for call in [
            // A comparator held in a value, or at an offset.
            "call $qsort(l %p, l %n, l 16, l %f)",
            "call $qsort(l %p, l %n, l 16, l $by_key + 4)",
            // ILP32 IL: the comparator is already 32-bit.
            "call $qsort(w %p, w %n, w 16, w $by_key)",
            // Not the C library's shape.
            "call $qsort(l %p, l %n, l $by_key)",
            "call $other(l %p, l %n, l 16, l $by_key)",
        ] {
            let text = format!("function $f(l %p, l %n, l %f) {{\n@s\n\t{call}\n\tret\n}}\n");
            let (f, adapters) = rewritten(&text);
            assert!(f.contains(call), "{call} changed:\n{f}");
            assert!(adapters.is_empty(), "{call}");
        }
    }
}
