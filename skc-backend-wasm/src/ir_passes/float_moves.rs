//! Floats that the IL moves through memory as integers stay floats.
//!
//! C front ends copy structures field by field or in 8-byte pieces with
//! `loadl`/`storel`, whatever the fields are; once slot promotion has
//! turned a copied `struct { double re, im; }` into values, its doubles
//! arrive as `l` values read back with `cast`. On wasm that is an
//! `i64.load` and an `f64.reinterpret_i64` per field, which the engines
//! compile to a load into an integer register and a move across to a
//! float register on the path of every use.
//!
//! Here a web of `l` (or `w`) values joined by phis and copies becomes
//! `d` (or `s`) when its values are only loaded from memory, cast from
//! floats, read by `cast` to a float or stored whole: the loads and
//! stores then move the float itself (wasm's float loads and stores keep
//! every bit, NaN payloads included), and the casts become copies. Any
//! other use (arithmetic, an address, a comparison, a call, a constant
//! joining the web) leaves the web as it is.

use skc_ir::cfg::UnionFind;
use skc_ir::ir::{BaseType, Function, InstKind, LoadKind, Operand, StoreKind, UnOp, Value};

/// Retypes the webs described above; returns whether any changed.
pub fn keep_floats_in_float_moves(f: &mut Function) -> bool {
    let n = f.values.len();
    let integer = |f: &Function, v: Value| matches!(f.value_type(v), BaseType::L | BaseType::W);
    let mut webs = Webs::new(n);
    // `false` once a value is defined or used other than as above.
    let mut movable = vec![true; n];
    // Whether a web touches a float at all (otherwise nothing is gained).
    let mut meets_float = vec![false; n];
    let operand_value = |op: &Operand| match op {
        Operand::Value(v) => Some(*v),
        Operand::Const(_) => None,
    };
    for b in &f.blocks {
        for phi in &b.phis {
            if !integer(f, phi.result) {
                continue;
            }
            for (_, arg) in &phi.args {
                match operand_value(arg) {
                    Some(v) => webs.join(phi.result, v),
                    None => movable[phi.result.index()] = false,
                }
            }
        }
        for inst in &b.insts {
            let result_integer = inst.result.is_some_and(|r| integer(f, r));
            match &inst.kind {
                InstKind::Load { kind, addr } => {
                    if let Some(r) = inst.result.filter(|_| result_integer) {
                        let whole = matches!(
                            (f.value_type(r), kind),
                            (BaseType::L, LoadKind::L) | (BaseType::W, LoadKind::Sw | LoadKind::Uw)
                        );
                        movable[r.index()] &= whole;
                    }
                    if let Some(v) = operand_value(addr) {
                        movable[v.index()] = false;
                    }
                }
                InstKind::Store { kind, value, addr } => {
                    if let Some(v) = operand_value(value) {
                        let whole = matches!(
                            (f.value_type(v), kind),
                            (BaseType::L, StoreKind::L) | (BaseType::W, StoreKind::W)
                        );
                        movable[v.index()] &= whole;
                    }
                    if let Some(v) = operand_value(addr) {
                        movable[v.index()] = false;
                    }
                }
                InstKind::Unary {
                    op: UnOp::Copy,
                    arg,
                } if result_integer => {
                    let r = inst.result.expect("an integer result");
                    match operand_value(arg) {
                        Some(v) if f.value_type(v) == f.value_type(r) => webs.join(r, v),
                        _ => movable[r.index()] = false,
                    }
                }
                InstKind::Unary {
                    op: UnOp::Cast,
                    arg,
                } => {
                    let Some(r) = inst.result else { continue };
                    match operand_value(arg) {
                        // Integer to float: a use that wants the float.
                        Some(v) if integer(f, v) => meets_float[v.index()] = true,
                        // Float to integer: a definition that has it.
                        Some(_) if result_integer => meets_float[r.index()] = true,
                        _ if result_integer => movable[r.index()] = false,
                        _ => {}
                    }
                }
                kind => {
                    if let Some(r) = inst.result.filter(|_| result_integer) {
                        movable[r.index()] = false;
                    }
                    skc_ir::ir::for_each_use(kind, |op| {
                        if let Some(v) = operand_value(op) {
                            movable[v.index()] = false;
                        }
                    });
                }
            }
        }
        if let Some(Operand::Value(v)) = skc_ir::ir::term_use(&b.term) {
            movable[v.index()] = false;
        }
    }
    for p in f.params.iter().map(|p| p.value).chain(f.env) {
        movable[p.index()] = false;
    }
    // A web moves only as a whole.
    let mut web_movable = vec![true; n];
    let mut web_meets_float = vec![false; n];
    for v in 0..n {
        let root = webs.root(v);
        web_movable[root] &= movable[v];
        web_meets_float[root] |= meets_float[v];
    }
    let moves: Vec<bool> = (0..n)
        .map(|v| {
            let root = webs.root(v);
            integer(f, Value(v as u32)) && web_movable[root] && web_meets_float[root]
        })
        .collect();
    if !moves.contains(&true) {
        return false;
    }
    let moved = |v: &Operand| matches!(v, Operand::Value(v) if moves[v.index()]);
    for b in &mut f.blocks {
        for inst in &mut b.insts {
            let result_moves = inst.result.is_some_and(|r| moves[r.index()]);
            match &mut inst.kind {
                InstKind::Load { kind, .. } if result_moves => {
                    *kind = if *kind == LoadKind::L {
                        LoadKind::D
                    } else {
                        LoadKind::S
                    };
                }
                InstKind::Store { kind, value, .. } if moved(value) => {
                    *kind = if *kind == StoreKind::L {
                        StoreKind::D
                    } else {
                        StoreKind::S
                    };
                }
                // The float is already there: from it, or to it.
                InstKind::Unary { op, arg }
                    if *op == UnOp::Cast && (result_moves || moved(arg)) =>
                {
                    *op = UnOp::Copy;
                }
                _ => {}
            }
        }
    }
    for (v, data) in f.values.iter_mut().enumerate() {
        if moves[v] {
            data.ty = match data.ty {
                BaseType::L => BaseType::D,
                _ => BaseType::S,
            };
        }
    }
    true
}

/// Values joined by phis and copies.
struct Webs(UnionFind);

impl Webs {
    fn new(n: usize) -> Self {
        Webs(UnionFind::new(Vec::new(), n))
    }

    fn root(&mut self, v: usize) -> usize {
        self.0.find(v)
    }

    fn join(&mut self, a: Value, b: Value) {
        let (ra, rb) = (self.0.find(a.index()), self.0.find(b.index()));
        if ra != rb {
            self.0.union_into(ra, rb);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::tests::wat;
    use crate::test_support::function;
    use skc_ir::ir::Item;
    use skc_ir::types::TypeTable;

    fn moved(text: &str) -> (bool, String) {
        let mut f = function(text);
        let changed = keep_floats_in_float_moves(&mut f);
        let mut out = String::new();
        skc_ir::printer::print_item(&mut out, &Item::Function(f), &TypeTable::default())
            .expect("prints");
        (changed, out)
    }

    #[test]
    fn a_pair_of_doubles_copied_through_a_phi_is_loaded_and_stored_as_doubles() {
        let (changed, text) = moved(
            "function d $f(l %p, l %q, w %c) {\n@s\n\t%a =l loadl %p\n\tjnz %c, @neg, @j\n\
             @neg\n\t%fa =d cast %a\n\t%n =d neg %fa\n\t%b =l cast %n\n\tjmp @j\n\
             @j\n\t%v =l phi @s %a, @neg %b\n\tstorel %v, %q\n\t%r =d cast %v\n\tret %r\n}\n",
        );
        assert!(changed);
        assert!(text.contains("%a =d loadd %p"), "{text}");
        assert!(text.contains("%b =d copy %n"), "{text}");
        assert!(text.contains("%v =d phi"), "{text}");
        assert!(text.contains("stored %v, %q"), "{text}");
        assert!(!text.contains("cast"), "{text}");
        // What the engines see: no integer load, no reinterpretation.
        let code = wat(
            "function d $f(l %p, l %q) {\n@s\n\t%a =l loadl %p\n\tstorel %a, %q\n\
             %r =d cast %a\n\tret %r\n}\n",
        );
        assert!(
            code.contains("f64.load") && code.contains("f64.store"),
            "{code}"
        );
        assert!(
            !code.contains("i64.load") && !code.contains("reinterpret"),
            "{code}"
        );
    }

    #[test]
    fn words_become_singles_the_same_way() {
        let (changed, text) = moved(
            "function s $f(l %p, l %q) {\n@s\n\t%a =w loadw %p\n\tstorew %a, %q\n\
             %r =s cast %a\n\tret %r\n}\n",
        );
        assert!(changed);
        assert!(text.contains("%a =s loads %p"), "{text}");
        assert!(text.contains("stores %a, %q"), "{text}");
    }

    #[test]
    fn webs_with_any_other_use_or_definition_stay_integers() {
        for (why, body) in [
            (
                "added",
                "\t%a =l loadl %p\n\t%x =l add %a, 1\n\tstorel %x, %q\n",
            ),
            (
                "an address",
                "\t%a =l loadl %p\n\t%x =l loadl %a\n\tstorel %x, %q\n",
            ),
            ("stored in part", "\t%a =l loadl %p\n\tstorew %a, %q\n"),
            ("loaded in part", "\t%a =l loadsw %p\n\tstorel %a, %q\n"),
            (
                "compared",
                "\t%a =l loadl %p\n\t%x =w ceql %a, 0\n\tstorew %x, %q\n",
            ),
            ("passed", "\t%a =l loadl %p\n\tcall $g(l %a)\n"),
            ("returned", "\t%a =l loadl %p\n"),
            ("a parameter", "\t%a =l copy %p\n\tstorel %a, %q\n"),
            ("never a float", "\t%a =l loadl %p\n\tstorel %a, %q\n"),
        ] {
            let ret = if why == "returned" {
                "\tret %a\n"
            } else {
                "\tret 0\n"
            };
            let text = format!(
                "function l $f(l %p, l %q) {{\n@s\n{body}\t%r =d cast %a\n\
                 stored %r, %q\n{ret}}}\n"
            );
            let text = if why == "never a float" {
                "function l $f(l %p, l %q) {\n@s\n\t%a =l loadl %p\n\tstorel %a, %q\n\tret 0\n}\n"
                    .to_string()
            } else {
                text
            };
            let (changed, printed) = moved(&text);
            assert!(!changed, "{why}: {printed}");
        }
        // A constant joining the web through a phi.
        let (changed, printed) = moved(
            "function d $f(l %p, w %c) {\n@s\n\t%a =l loadl %p\n\tjnz %c, @j, @z\n@z\n\tjmp @j\n\
             @j\n\t%v =l phi @s %a, @z 0\n\t%r =d cast %v\n\tret %r\n}\n",
        );
        assert!(!changed, "{printed}");
    }
}
