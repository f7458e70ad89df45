//! Inlining of small functions defined earlier in the same file.
//!
//! C front ends pass small structures by value through memory: cproc
//! calls `cmul(a, b)` on two `{ double, double }` values with the
//! addresses of their bytes, and the callee returns the address of its
//! result. A backend that generates code itself keeps every such value in
//! stack memory unless the call disappears: once the callee's body is in
//! the caller, the copies are slots of one function that [`crate::transform::split`]
//! and [`crate::transform::promote`] turn into SSA values.
//!
//! An [`Inliner`] is shown each function after it is compiled
//! ([`Inliner::offer`]) and keeps the small ones that take or return a
//! structure by value (scalar helpers are left to the backend's own
//! inliner, wasm-opt's for wasm32); [`Inliner::inline_calls`]
//! then replaces direct calls to kept functions whose arguments match the
//! definition exactly. Only functions defined earlier are known, which is
//! the order C compilers emit `static` helpers in, and the kept bodies
//! are bounded in number and size, so memory stays proportional to the
//! largest function.
//!
//! The inlined body keeps the call's meaning: an aggregate argument is
//! copied into a slot of its own (the callee may write its parameter),
//! an aggregate result is copied out of whatever the callee returns, and
//! the callee's start-block slots move to the caller's start block, where
//! they are allocated once per call of the caller instead of once per
//! inlined call (no callee is inlined into itself, so one instance of each
//! slot is live at a time).

use std::collections::{HashMap, HashSet};

use crate::ir::types::TypeTable;
use crate::ir::{
    for_each_use_mut, returns_twice, AbiType, Block, BlockData, Const, Function, Inst, InstKind,
    Name, Operand, Phi, Pos, Terminator, Value, ValueData,
};
use crate::sema::cfg::normalize;

/// Functions with more instructions than this are not kept.
const MAX_CALLEE_INSTS: usize = 48;

/// At most this many functions are kept; the oldest go first.
const MAX_KEPT: usize = 256;

/// A caller grows by at most this many instructions through inlining.
const MAX_GROWTH: usize = 4_000;

/// The small functions seen so far, ready to be inlined.
#[derive(Default)]
pub struct Inliner {
    kept: HashMap<String, Function>,
    order: std::collections::VecDeque<String>,
}

impl Inliner {
    /// An inliner that knows no function yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every kept function (the next file's types are numbered
    /// afresh).
    pub fn clear(&mut self) {
        self.kept.clear();
        self.order.clear();
    }

    /// Keeps `f` for inlining if it is small and its body can be copied
    /// into another function without changing what it does.
    pub fn offer(&mut self, f: &Function) {
        if !can_inline(f) {
            return;
        }
        if self.kept.len() >= MAX_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.kept.remove(&old);
            }
        }
        if self.kept.insert(f.name.clone(), f.clone()).is_none() {
            self.order.push_back(f.name.clone());
        }
    }

    /// Replaces the direct calls in `f` of kept functions by their
    /// bodies. Returns the number of calls inlined. `f` must be
    /// normalised and in SSA form; it stays so.
    pub fn inline_calls(&self, f: &mut Function, types: &TypeTable) -> usize {
        if self.kept.is_empty() || f.blocks.is_empty() {
            return 0;
        }
        let mut inlined = 0;
        let mut growth = 0;
        let mut labels: HashSet<Name> = f.blocks.iter().map(|b| b.name.clone()).collect();
        // Aggregate results, each replaced by the slot it is copied into.
        let mut results: HashMap<Value, Value> = HashMap::new();
        let mut work: Vec<Block> = f.block_ids().collect();
        work.reverse();
        while let Some(b) = work.pop() {
            let mut i = 0;
            while i < f.blocks[b.index()].insts.len() {
                let Some(callee) = self.callee_at(f, b, i, types) else {
                    i += 1;
                    continue;
                };
                let size = instruction_count(callee);
                if growth + size > MAX_GROWTH {
                    i += 1;
                    continue;
                }
                growth += size;
                let rest = inline_at(f, (b, i), callee, types, &mut labels, inlined, &mut results);
                inlined += 1;
                work.push(rest);
                break;
            }
        }
        if !results.is_empty() {
            f.replace_uses(&results);
        }
        if inlined > 0 {
            normalize(f);
        }
        inlined
    }

    /// The kept function the call at `(b, i)` can be replaced by.
    fn callee_at(&self, f: &Function, b: Block, i: usize, types: &TypeTable) -> Option<&Function> {
        let inst = &f.blocks[b.index()].insts[i];
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
        if *sym == f.name {
            return None;
        }
        let callee = self.kept.get(sym)?;
        let signature_matches = args.len() == callee.params.len()
            && args.iter().zip(&callee.params).all(|(a, p)| a.ty == p.ty)
            && !callee.variadic
            && match (ret, callee.ret) {
                (None, _) => inst.result.is_none(),
                (Some(r), Some(c)) => *r == c && inst.result.is_some(),
                (Some(_), None) => false,
            };
        let layouts_known = args
            .iter()
            .map(|a| a.ty)
            .chain(*ret)
            .all(|t| aggregate_slot(t, types).is_some() || !matches!(t, AbiType::Agg(_)));
        (signature_matches && layouts_known).then_some(callee)
    }
}

/// Whether `f`'s body is worth keeping and can be copied into callers:
/// small, taking or returning a structure by value (scalar helpers are
/// left to the backend's own inliner: copying them here gains nothing
/// and changes which functions it sees), with no sub-word parameter or
/// result, and nothing that depends on being a function of its own
/// (variable arguments, `env`, allocations of a size known only at run
/// time, calls that return twice).
fn can_inline(f: &Function) -> bool {
    let plain = |t: AbiType| !matches!(t, AbiType::SubWord(_));
    let aggregate = |t: AbiType| matches!(t, AbiType::Agg(_));
    let by_value = f.params.iter().any(|p| aggregate(p.ty)) || f.ret.is_some_and(aggregate);
    if !by_value
        || f.variadic
        || f.env.is_some()
        || f.blocks.is_empty()
        || !f.params.iter().all(|p| plain(p.ty))
        || !f.ret.is_none_or(plain)
        || instruction_count(f) > MAX_CALLEE_INSTS
    {
        return false;
    }
    f.blocks.iter().enumerate().all(|(b, data)| {
        data.insts.iter().all(|inst| match &inst.kind {
            InstKind::VaStart { .. } | InstKind::VaArg { .. } => false,
            InstKind::Alloc { size, .. } => b == 0 && matches!(size, Operand::Const(Const::Int(_))),
            InstKind::Call { callee, .. } => !may_return_twice(callee),
            _ => true,
        })
    })
}

/// Calls of functions that can return a second time (`setjmp` and its
/// relatives) depend on the frame of the function that makes them. A
/// call through a pointer might be one; so might a wrapper whose name
/// says `setjmp`.
fn may_return_twice(callee: &Operand) -> bool {
    match callee {
        Operand::Const(Const::Addr { sym, .. } | Const::Extern(sym)) => {
            returns_twice(sym) || sym.contains("setjmp")
        }
        _ => true,
    }
}

fn instruction_count(f: &Function) -> usize {
    f.blocks.iter().map(|b| b.insts.len() + b.phis.len()).sum()
}

/// The size and alignment of a slot holding an aggregate of ABI type `t`.
fn aggregate_slot(t: AbiType, types: &TypeTable) -> Option<(u64, u32)> {
    let AbiType::Agg(id) = t else { return None };
    if id.index() >= types.len() {
        return None;
    }
    let def = types.get(id);
    let align = def.align.max(4);
    (align <= 16 && def.size > 0).then_some((def.size, align))
}

/// Replaces the call at instruction `i` of block `b` by a copy of
/// `callee`'s body; returns the block holding what followed the call.
fn inline_at(
    f: &mut Function,
    (b, i): (Block, usize),
    callee: &Function,
    types: &TypeTable,
    labels: &mut HashSet<Name>,
    instance: usize,
    results: &mut HashMap<Value, Value>,
) -> Block {
    let call = f.blocks[b.index()].insts[i].clone();
    let InstKind::Call { args, ret, .. } = &call.kind else {
        unreachable!("callee_at checked the instruction");
    };
    let pos = call.pos;

    // The block after the call takes the instructions after it and the
    // terminator; successors' phis now come from it.
    let tail: Vec<Inst> = f.blocks[b.index()].insts.split_off(i + 1);
    f.blocks[b.index()].insts.pop();
    let after = Block(f.blocks.len() as u32);
    let old_term = std::mem::replace(&mut f.blocks[b.index()].term, Terminator::Hlt);
    for s in old_term.successors() {
        f.blocks[s.index()].rename_predecessor(b, after);
    }
    let after_name = fresh_label(labels, &f.blocks[b.index()].name, "ret");
    f.blocks.push(BlockData {
        name: after_name,
        phis: Vec::new(),
        insts: tail,
        term: old_term,
        term_pos: f.blocks[b.index()].term_pos,
        pos,
    });

    // Values: the callee's parameters stand for the arguments (aggregates
    // for copies of them); everything else gets a fresh value.
    let mut map: Vec<Option<Operand>> = vec![None; callee.values.len()];
    let mut start_allocs: Vec<Inst> = Vec::new();
    let mut before_body: Vec<Inst> = Vec::new();
    for (param, arg) in callee.params.iter().zip(args) {
        match aggregate_slot(param.ty, types) {
            Some((size, align)) => {
                let copy = new_value(f, callee, instance, param.value);
                start_allocs.push(alloc(copy, size, align, pos));
                before_body.push(Inst {
                    result: None,
                    kind: InstKind::Blit {
                        src: arg.value.clone(),
                        dst: Operand::Value(copy),
                        size,
                    },
                    pos,
                });
                map[param.value.index()] = Some(Operand::Value(copy));
            }
            None => {
                let ty = callee.values[param.value.index()].ty;
                let arg_ty = f.operand_type(&arg.value, ty);
                map[param.value.index()] = Some(if arg_ty == ty {
                    arg.value.clone()
                } else {
                    // An `l` passed for a `w` parameter: its low half.
                    let v = new_value(f, callee, instance, param.value);
                    before_body.push(copy(v, arg.value.clone(), pos));
                    Operand::Value(v)
                });
            }
        }
    }
    for (v, slot) in map.iter_mut().enumerate() {
        if slot.is_none() {
            let new = new_value(f, callee, instance, Value(v as u32));
            *slot = Some(Operand::Value(new));
        }
    }

    let remap = |op: &mut Operand| {
        if let Operand::Value(v) = op {
            if let Some(Some(new)) = map.get(v.index()) {
                *op = new.clone();
            }
        }
    };
    let value_of = |v: Value| match &map[v.index()] {
        Some(Operand::Value(n)) => *n,
        _ => unreachable!("non-parameters map to fresh values"),
    };

    // An aggregate result is copied out of what the callee returns.
    let result_slot = match (call.result, ret) {
        (Some(_), Some(t)) => aggregate_slot(*t, types).map(|(size, align)| {
            let name = format!("{}.{instance}.result", callee.name);
            let slot = f.add_value(&name, crate::ir::BaseType::L);
            start_allocs.push(alloc(slot, size, align, pos));
            (slot, size)
        }),
        _ => None,
    };

    // The body's blocks, after the existing ones.
    let first = f.blocks.len() as u32;
    let block_of = |c: Block| Block(first + c.0);
    let mut returns: Vec<(Block, Operand)> = Vec::new();
    for (k, data) in callee.blocks.iter().enumerate() {
        let me = Block(first + k as u32);
        let mut insts = Vec::with_capacity(data.insts.len());
        for inst in &data.insts {
            let mut inst = inst.clone();
            for_each_use_mut(&mut inst.kind, remap);
            inst.result = inst.result.map(value_of);
            if k == 0 && matches!(inst.kind, InstKind::Alloc { .. }) {
                start_allocs.push(inst);
            } else {
                insts.push(inst);
            }
        }
        let phis = data
            .phis
            .iter()
            .map(|phi| Phi {
                result: value_of(phi.result),
                args: phi
                    .args
                    .iter()
                    .map(|(p, op)| {
                        let mut op = op.clone();
                        remap(&mut op);
                        (block_of(*p), op)
                    })
                    .collect(),
                pos: phi.pos,
            })
            .collect();
        let term = match &data.term {
            Terminator::Jmp(t) => Terminator::Jmp(block_of(*t)),
            Terminator::Jnz {
                cond,
                nonzero,
                zero,
            } => {
                let mut cond = cond.clone();
                remap(&mut cond);
                Terminator::Jnz {
                    cond,
                    nonzero: block_of(*nonzero),
                    zero: block_of(*zero),
                }
            }
            Terminator::Ret(v) => {
                if let Some(mut v) = v.clone() {
                    remap(&mut v);
                    match result_slot {
                        Some((slot, size)) => insts.push(Inst {
                            result: None,
                            kind: InstKind::Blit {
                                src: v,
                                dst: Operand::Value(slot),
                                size,
                            },
                            pos: data.term_pos,
                        }),
                        None => {
                            let ty = call.result.map(|r| f.values[r.index()].ty);
                            match ty {
                                Some(ty) if f.operand_type(&v, ty) != ty => {
                                    let name = format!("{}.{instance}.ret.{k}", callee.name);
                                    let w = f.add_value(&name, ty);
                                    insts.push(copy(w, v, data.term_pos));
                                    returns.push((me, Operand::Value(w)));
                                }
                                _ => returns.push((me, v)),
                            }
                        }
                    }
                }
                Terminator::Jmp(after)
            }
            Terminator::Hlt => Terminator::Hlt,
        };
        let name = fresh_label(labels, &callee.name, &data.name);
        f.blocks.push(BlockData {
            name,
            phis,
            insts,
            term,
            term_pos: data.term_pos,
            pos: data.pos,
        });
    }

    // The call's block copies the arguments and enters the body.
    f.blocks[b.index()].insts.extend(before_body);
    f.blocks[b.index()].term = Terminator::Jmp(block_of(Block(0)));

    if let Some(r) = call.result {
        match result_slot {
            // Not a `copy`: a slot whose address is copied is not split.
            Some((slot, _)) => {
                results.insert(r, slot);
            }
            None => f.blocks[after.index()].phis.push(Phi {
                result: r,
                args: returns,
                pos,
            }),
        }
    }
    // Slots go first in the start block, where promotion looks for them.
    f.blocks[0].insts.splice(0..0, start_allocs);
    after
}

fn copy(result: Value, arg: Operand, pos: Pos) -> Inst {
    Inst {
        result: Some(result),
        kind: InstKind::Unary {
            op: crate::ir::UnOp::Copy,
            arg,
        },
        pos,
    }
}

fn alloc(result: Value, size: u64, align: u32, pos: Pos) -> Inst {
    Inst {
        result: Some(result),
        kind: InstKind::Alloc {
            align,
            size: Operand::Const(Const::Int(size as i64)),
        },
        pos,
    }
}

/// A value of the caller standing for `v` of the `instance`-th inlined
/// callee.
fn new_value(f: &mut Function, callee: &Function, instance: usize, v: Value) -> Value {
    let data = &callee.values[v.index()];
    f.values.push(ValueData {
        name: format!("{}.{instance}.{}", callee.name, data.name).into(),
        ty: data.ty,
    });
    Value(f.values.len() as u32 - 1)
}

/// `base.suffix.N`, a label not yet in `labels`, which it joins.
fn fresh_label(labels: &mut HashSet<Name>, base: &str, suffix: &str) -> Name {
    let name = (0u64..)
        .map(|n| compact_str::format_compact!("{base}.{suffix}.{n}"))
        .find(|name| !labels.contains(name))
        .expect("some suffix is free");
    labels.insert(name.clone());
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Item;
    use crate::lang::printer::print_item;
    use crate::reader::read_module;

    /// Offers every function of `text` in order, inlining into each the
    /// ones before it; returns the calls inlined per function and the
    /// last function's text.
    fn inline_all(text: &str) -> (Vec<usize>, String) {
        let m = read_module(text, "t.ssa").expect("reads");
        let mut inliner = Inliner::new();
        let mut counts = Vec::new();
        let mut last = String::new();
        for item in &m.items {
            if let Item::Function(f) = item {
                let mut f = f.clone();
                counts.push(inliner.inline_calls(&mut f, &m.types));
                let cf = crate::sema::cfg::ControlFlow::compute(&f);
                let diags = crate::sema::verify::verify(&f, &cf, &m.types);
                assert!(diags.is_empty(), "{diags:?}");
                inliner.offer(&f);
                last.clear();
                print_item(&mut last, &Item::Function(f), &m.types).expect("prints");
            }
        }
        (counts, last)
    }

    /// A pair of words and three helpers: one reads a pair, one makes
    /// one, and a scalar one.
    const HELPERS: &str = "type :p = { w, w }\n\
         function w $sum(:p %s) {\n@s\n\t%a =w loadw %s\n\t%q =l add %s, 4\n\
         \t%b =w loadw %q\n\t%r =w add %a, %b\n\tret %r\n}\n\
         function :p $make(w %a) {\n@s\n\t%t =l alloc4 8\n\tstorew %a, %t\n\
         \t%q =l add %t, 4\n\tstorew 7, %q\n\tret %t\n}\n\
         function w $twice(w %x) {\n@s\n\t%y =w add %x, %x\n\tret %y\n}\n";

    #[test]
    fn small_functions_passing_structures_by_value_are_inlined() {
        let (counts, text) = inline_all(&format!(
            "{HELPERS}function w $f(w %a) {{\n@s\n\t%p =:p call $make(w %a)\n\
             \t%c =w call $sum(:p %p)\n\t%d =w call $twice(w %c)\n\tret %d\n}}\n"
        ));
        assert_eq!(counts, [0, 0, 0, 2], "{text}");
        // The scalar helper is left to the backend.
        assert_eq!(text.matches("call").count(), 1, "{text}");
        assert!(text.contains("call $twice"), "{text}");
    }

    #[test]
    fn calls_that_do_not_match_the_definition_stay_calls() {
        // An `l` argument for a structure parameter, a missing argument,
        // a structure result bound as a word, a variadic call, and a
        // function that calls itself.
        let (counts, text) = inline_all(&format!(
            "{HELPERS}function :p $r(:p %s) {{\n@s\n\t%m =:p call $r(:p %s)\n\tret %m\n}}\n\
             function w $f(l %a) {{\n@s\n\t%b =w call $sum(l %a)\n\t%c =w call $sum()\n\
             \t%d =w call $make(w %b)\n\t%e =w call $sum(:p %a, ...)\n\tret %e\n}}\n"
        ));
        assert_eq!(counts, [0, 0, 0, 0, 0], "{text}");
    }

    #[test]
    fn functions_that_need_their_own_frame_are_not_kept() {
        // Variable arguments, a run-time sized allocation, a `setjmp`.
        let (counts, _) = inline_all(
            "type :p = { w, w }\n\
             function w $v(:p %s, ...) {\n@s\n\t%ap =l alloc8 24\n\tvastart %ap\n\tret 0\n}\n\
             function w $d(:p %s, l %n) {\n@s\n\t%p =l alloc8 %n\n\tstorew 1, %p\n\
             \t%x =w loadw %p\n\tret %x\n}\n\
             function w $j(:p %s, l %b) {\n@s\n\t%r =w call $setjmp(l %b)\n\tret %r\n}\n\
             function w $f(l %s, l %b) {\n@s\n\t%x =w call $v(:p %s, ...)\n\
             \t%y =w call $d(:p %s, l %b)\n\t%z =w call $j(:p %s, l %b)\n\tret %z\n}\n",
        );
        assert_eq!(counts, [0, 0, 0, 0]);
    }
}
