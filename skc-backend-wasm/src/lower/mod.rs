//! One function to wasm instructions.
//!
//! Every SSA value lives in a wasm local of its type; phis become parallel
//! copies on each incoming edge, done through the operand stack (all
//! sources pushed, then all destinations popped), which is correct for
//! swaps and cycles without temporaries. Reducible control flow is
//! structured with `block`/`loop`/`if` (see [`crate::lower::structure`]);
//! loops with several entries are first given a single dispatching header
//! (see [`crate::lower::irreducible`]). Should a function still be irreducible,
//! it is emitted as a whole as a dispatch loop over a label local with
//! `br_table`.
//!
//! The shadow stack lives below the `__stack_pointer` global: a function
//! that allocates, or needs space for call arguments, saves the pointer,
//! carves a 16-byte aligned frame for its constant allocations and
//! argument buffers, and restores the pointer on every return. Dynamic
//! allocations move the pointer further down and are released at return.
//! A function that neither calls nor allocates dynamically leaves the
//! pointer alone: nothing else uses the stack below its frame meanwhile.
//!
//! This file decides what a function needs (its signature, frame, which
//! values live where) and runs the rest; `FunctionCodegen`'s methods are
//! grouped by job: `emit` (the code buffer, locals, operands, opcodes),
//! `memory` (addresses, loads, stores, copies), `insts` (one instruction),
//! `calls` (parameters, calls, the C ABI, `setjmp` unwinding) and
//! `control` (structured control flow, phi copies, selects, returns).
//! The passes beside them are whole-function facts for lowering:
//! [`structure`], [`irreducible`], [`locals`], [`stack`], [`copy`].

mod calls;
mod control;
pub mod copy;
mod emit;
mod insts;
pub mod irreducible;
pub mod locals;
mod memory;
pub mod stack;
pub mod structure;

use anyhow::Result;
use skc_ir::ir::{AbiType, Const, Function, InstKind, Operand, Terminator, Value};
use skc_ir::types::TypeTable;
use wasm_encoder::{Encode, Instruction as I, MemArg, ValType};

use crate::abi::{self, AggPassing};
use crate::ir_passes::float_moves;
use crate::ir_passes::narrow;
use crate::ir_passes::offsets;
use crate::ir_passes::result_slot;
use crate::ir_passes::setjmp;
use crate::ir_passes::switch_table;
use crate::lower::structure::Structure;
use crate::object::leb;
use crate::object::{CodeReloc, CodeRelocKind, EncodedFunction, Object, SymId};
use crate::wasi::lp64;
use skc_ir::rotate;
use skc_ir::switches::Switches;

/// A label on the structured-control stack.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    /// A `block` whose end is followed by this merge node.
    BlockFollowedBy(usize),
    /// A `loop` headed by this block.
    LoopHeadedBy(usize),
    /// An `if`/`else`.
    IfThenElse,
    /// The dispatch loop of an irreducible function.
    Dispatch,
    /// A `block` a `br_table` leaves to reach the phi copies of its edge
    /// to this block.
    SwitchArm(usize),
}

/// Pending work of the structured emitter.
#[derive(Clone, Copy)]
enum Task {
    /// Emit the dominator subtree rooted at this block.
    Tree(usize),
    /// Emit this block inside blocks for its first `n` merge children
    /// (in reverse post-order).
    Within(usize, usize),
    /// Close the innermost construct.
    Close,
    /// Switch to the `else` arm.
    Else,
    /// Take the edge `from → to`.
    Branch(usize, usize),
    /// Take the edge `from → to`, whose phis are already set.
    Jump(usize, usize),
}

/// An address a copy reads or writes repeatedly.
#[derive(Clone, Copy)]
enum Place {
    /// `fp` plus this offset.
    Frame(u32),
    /// The address held in this local.
    Local(u32),
}

/// How `main` is presented to wasi-libc's start code.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MainKind {
    /// Not `main`.
    No,
    /// `main()` as `__main_void() -> i32`.
    Void,
    /// `main(argc, argv)` or `main(argc)` as
    /// `__main_argc_argv(i32, i32) -> i32`.
    ArgcArgv,
    /// LP64 `main(w, l)` or `main(w, l, l)` called by the runtime's start
    /// code with arrays of 8-byte pointers for `argv` and `envp`
    /// ([`lp64::LP64_MAIN`]).
    Lp64,
}

const UNASSIGNED: u32 = u32::MAX;

/// A branch choosing more phi operands than this stays a branch.
const MAX_SELECTS: usize = 4;

/// Compiles `f` into `obj`. `f` is rewritten on the way: `l` values
/// whose high half is never read are retyped `w` ([`narrow`]), and when
/// `optimize` (from `-O1`), loops are rotated ([`rotate`]).
pub fn compile_function(
    f: &mut Function,
    types: &TypeTable,
    obj: &mut Object,
    optimize: bool,
) -> Result<()> {
    compile_function_knowing(f, types, obj, optimize, &|_| false)
}

/// [`compile_function`] knowing which functions write no memory when
/// called (`quiet`), so that loops calling them can still keep values
/// out of memory.
pub fn compile_function_knowing(
    f: &mut Function,
    types: &TypeTable,
    obj: &mut Object,
    optimize: bool,
    quiet: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let resumable = setjmp::lower(f);
    if optimize && !resumable && rotate::has_loops(f) {
        // Structured loops branch to their top only: a loop tested at the
        // top costs two taken branches per iteration unless its test is
        // repeated at the bottom. The heads of switch trees stay as they
        // are, for `switch_table` to find.
        let switches = Switches::find(f);
        rotate::rotate_loops(f, |h| switches.is_node(h));
        // Neither wasm-opt nor the engines keep a value stored in one
        // iteration and read back in the next out of memory.
        skc_ir::carry::carry_stored_values(f, quiet);
    }
    if optimize {
        float_moves::keep_floats_in_float_moves(f);
    }
    let narrowed = narrow::narrow_addresses(f);
    let offsets = offsets::fold_address_offsets(f);
    // A function resuming at its `setjmp`s keeps its trees: its blocks'
    // entry points are fixed by the rewrite.
    let switches = if resumable {
        Switches::default()
    } else {
        switch_table::prepare(f, &narrowed)
    };
    compile_narrowed(f, types, obj, false, resumable, narrowed, offsets, switches)
}

/// [`compile_function`] without narrowing, optionally forcing the
/// whole-function dispatch loop (the fallback for control flow the
/// rewrite could not reduce).
#[cfg(test)]
pub(crate) fn compile_function_with(
    f: &Function,
    types: &TypeTable,
    obj: &mut Object,
    force_dispatch: bool,
) -> Result<()> {
    compile_narrowed(
        f,
        types,
        obj,
        force_dispatch,
        false,
        Vec::new(),
        offsets::FoldedOffsets::default(),
        Switches::default(),
    )
}

/// Compiles `f`, whose values flagged in `narrowed` were `l` values
/// retyped `w`, and whose memory accesses add `offsets`. A `resumable`
/// function was rewritten by [`setjmp::lower`]; `switches` end their
/// heads with a `br_table` ([`switch_table::prepare`]).
#[allow(clippy::too_many_arguments)]
fn compile_narrowed(
    f: &Function,
    types: &TypeTable,
    obj: &mut Object,
    force_dispatch: bool,
    resumable: bool,
    narrowed: Vec<bool>,
    offsets: offsets::FoldedOffsets,
    switches: Switches,
) -> Result<()> {
    let mut st = Structure::compute(f, &switches);
    let rewritten;
    let f = if st.reducible || force_dispatch {
        f
    } else {
        let mut g = f.clone();
        irreducible::make_reducible(&mut g);
        // `switch_table::prepare` found none in an irreducible function.
        st = Structure::compute(&g, &switches);
        rewritten = g;
        &rewritten
    };
    let main = if f.name == "main" {
        match f.params.len() {
            _ if f.env.is_some() || f.variadic => MainKind::No,
            0 => MainKind::Void,
            1 => MainKind::ArgcArgv,
            2 | 3 if lp64::main_is_lp64(f) => MainKind::Lp64,
            2 => MainKind::ArgcArgv,
            _ => MainKind::No,
        }
    } else {
        MainKind::No
    };
    let (params, results) = match main {
        MainKind::Void => (vec![], vec![ValType::I32]),
        MainKind::ArgcArgv => (vec![ValType::I32, ValType::I32], vec![ValType::I32]),
        MainKind::Lp64 => (
            vec![ValType::I32, ValType::I64, ValType::I64],
            vec![ValType::I32],
        ),
        MainKind::No => abi::signature(types, f.ret, f.params.iter().map(|p| p.ty), f.variadic),
    };
    let type_index = obj.type_index(&params, &results);
    let result_slot = match main {
        MainKind::No => result_slot::returned_slot(f, types, &offsets),
        _ => None,
    };
    let mut spare = SPARE.with(|s| s.take());
    spare.code.clear();
    spare.code.reserve(code_size_estimate(f));
    spare.relocs.clear();
    spare.local_types.clear();
    reset(&mut spare.value_local, f.values.len(), UNASSIGNED);
    reset(&mut spare.frame_slot, f.values.len(), UNASSIGNED);
    spare.ctx.clear();
    spare.scratch_locals.clear();
    let built_in_place =
        results_built_in_place(f, types, std::mem::take(&mut spare.built_in_place));
    let mut in_frame = frame_slot_values(f, std::mem::take(&mut spare.in_frame));
    if let Some(r) = result_slot {
        in_frame[r.index()] = false;
    }
    let mut gen = FunctionCodegen {
        f,
        types,
        obj,
        code: spare.code,
        relocs: spare.relocs,
        n_params: params.len() as u32,
        local_types: spare.local_types,
        value_local: spare.value_local,
        frame_size: 0,
        uses_frame: needs_frame(f, types, result_slot, &built_in_place),
        moves_stack_pointer: makes_calls_or_grows_stack(f),
        sp0: 0,
        fp: 0,
        ctx: spare.ctx,
        st,
        main,
        results,
        sret_local: None,
        varargs_local: None,
        dispatch_label: None,
        scratch_locals: spare.scratch_locals,
        phi_positions: std::collections::HashMap::new(),
        phi_positions_for: None,
        phi_dests: spare.phi_dests,
        on_stack: stack::stack_values_into(
            f,
            main != MainKind::No || (f.ret.is_some() && !abi::returns_via_pointer(types, f.ret)),
            spare.on_stack,
        ),
        pending: None,
        narrowed,
        offsets,
        in_frame,
        built_in_place,
        frame_slot: spare.frame_slot,
        fixed: spare.fixed,
        result_slot,
        resumable,
        switches,
    };
    if force_dispatch {
        gen.st.reducible = false;
    }
    gen.run(&params)?;
    let FunctionCodegen {
        code,
        relocs,
        local_types,
        frame_size,
        uses_frame,
        moves_stack_pointer,
        sp0,
        fp,
        value_local,
        ctx,
        scratch_locals,
        phi_dests,
        in_frame,
        built_in_place,
        frame_slot,
        fixed,
        st,
        on_stack,
        ..
    } = gen;
    st.recycle();
    // The frame size is only known now, so the prologue goes in front.
    let mut prologue = Vec::with_capacity(PROLOGUE_MAX + code.len());
    let mut all_relocs = Vec::with_capacity(relocs.len() + 2);
    if uses_frame {
        let frame = frame_size.div_ceil(16) * 16;
        prologue.push(0x23);
        all_relocs.push(CodeReloc {
            offset: prologue.len() as u32,
            kind: CodeRelocKind::StackPointer,
        });
        prologue.extend_from_slice(&leb::padded_u32(0));
        if moves_stack_pointer {
            I::LocalTee(sp0).encode(&mut prologue);
        }
        I::I32Const(frame as i32).encode(&mut prologue);
        I::I32Sub.encode(&mut prologue);
        I::I32Const(-16).encode(&mut prologue);
        I::I32And.encode(&mut prologue);
        if moves_stack_pointer {
            I::LocalTee(fp).encode(&mut prologue);
            prologue.push(0x24);
            all_relocs.push(CodeReloc {
                offset: prologue.len() as u32,
                kind: CodeRelocKind::StackPointer,
            });
            prologue.extend_from_slice(&leb::padded_u32(0));
        } else {
            // Nothing runs below this frame before the function returns,
            // so the stack pointer can stay where it is.
            I::LocalSet(fp).encode(&mut prologue);
        }
    }
    let shift = prologue.len() as u32;
    all_relocs.extend(relocs.iter().map(|r| CodeReloc {
        offset: r.offset + shift,
        kind: r.kind,
    }));
    prologue.extend_from_slice(&code);
    // Locals are declared as runs of one type.
    let mut locals = Vec::with_capacity(16);
    let n_runs = local_types
        .iter()
        .enumerate()
        .filter(|&(i, t)| i == 0 || local_types[i - 1] != *t)
        .count();
    leb::write_u32(&mut locals, n_runs as u32);
    let mut rest = &local_types[..];
    while let Some(&t) = rest.first() {
        let n = rest.iter().take_while(|&&u| u == t).count();
        leb::write_u32(&mut locals, n as u32);
        t.encode(&mut locals);
        rest = &rest[n..];
    }
    SPARE.with(|s| {
        s.replace(Spare {
            code,
            relocs,
            local_types,
            value_local,
            frame_slot,
            in_frame,
            built_in_place,
            fixed,
            on_stack,
            ctx,
            scratch_locals,
            phi_dests,
        })
    });
    let (sym_name, aliases): (&str, &[&str]) = match main {
        MainKind::No => (f.name.as_str(), &[]),
        MainKind::Void => ("__main_void", &["main"]),
        MainKind::ArgcArgv => ("__main_argc_argv", &["main"]),
        MainKind::Lp64 => (lp64::LP64_MAIN, &["main"]),
    };
    let sym = obj.symbol(sym_name);
    let aliases: Vec<SymId> = aliases.iter().map(|a| obj.symbol(a)).collect();
    let local = main == MainKind::No && !f.linkage.export;
    obj.define_function(
        EncodedFunction {
            sym,
            aliases,
            type_index,
            locals,
            code: prologue,
            relocs: all_relocs,
        },
        local,
    )
}

/// Per-function buffers of [`FunctionCodegen`], kept between functions
/// so that compiling many small functions does not allocate each anew.
#[derive(Default)]
struct Spare {
    code: Vec<u8>,
    relocs: Vec<CodeReloc>,
    local_types: Vec<ValType>,
    value_local: Vec<u32>,
    frame_slot: Vec<u32>,
    in_frame: Vec<bool>,
    built_in_place: Vec<bool>,
    fixed: Vec<bool>,
    on_stack: Vec<bool>,
    ctx: Vec<Label>,
    scratch_locals: Vec<(ValType, u32)>,
    phi_dests: Vec<u32>,
}

thread_local! {
    static SPARE: std::cell::Cell<Spare> = std::cell::Cell::default();
}

/// Refills `v` with `n` copies of `x`, keeping its allocation.
fn reset<T: Clone>(v: &mut Vec<T>, n: usize, x: T) {
    v.clear();
    v.resize(n, x);
}

/// Phis with at most this many operands are searched without a map.
const SHORT_PHI: usize = 32;

/// Upper bound of the prologue's size in bytes.
const PROLOGUE_MAX: usize = 40;

/// A guess of the code size of `f` in bytes, so the code buffer rarely
/// grows (growing copies it each time).
fn code_size_estimate(f: &Function) -> usize {
    f.blocks
        .iter()
        .map(|b| 6 * (b.insts.len() + b.phis.len()) + 8)
        .sum()
}

/// The results of constant-size allocations in the entry block: frame
/// slots at a constant offset from the frame pointer.
fn frame_slot_values(f: &Function, mut in_frame: Vec<bool>) -> Vec<bool> {
    reset(&mut in_frame, f.values.len(), false);
    if let Some(entry) = f.blocks.first() {
        for inst in &entry.insts {
            if let (
                Some(r),
                InstKind::Alloc {
                    size: Operand::Const(Const::Int(n)),
                    ..
                },
            ) = (inst.result, &inst.kind)
            {
                in_frame[r.index()] = *n >= 0;
            }
        }
    }
    in_frame
}

/// The aggregate results of calls that end a block returning them as this
/// function's own aggregate result through the hidden result pointer:
/// the callee can write them there directly. Nothing else can read or
/// write that space meanwhile (the caller allocated it for this call).
fn results_built_in_place(f: &Function, types: &TypeTable, mut in_place: Vec<bool>) -> Vec<bool> {
    reset(&mut in_place, f.values.len(), false);
    if f.name == "main" || !abi::returns_via_pointer(types, f.ret) {
        return in_place;
    }
    for bd in &f.blocks {
        let Terminator::Ret(Some(Operand::Value(r))) = &bd.term else {
            continue;
        };
        if let Some(last) = bd.insts.last() {
            if let (Some(res), InstKind::Call { ret, .. }) = (last.result, &last.kind) {
                if res == *r && *ret == f.ret {
                    in_place[r.index()] = true;
                }
            }
        }
    }
    in_place
}

/// Whether the function calls anything or allocates on the stack at run
/// time (both use the stack below its frame).
fn makes_calls_or_grows_stack(f: &Function) -> bool {
    f.blocks.iter().enumerate().any(|(b, bd)| {
        bd.insts.iter().any(|i| match &i.kind {
            InstKind::Call { .. } => true,
            InstKind::Alloc { size, .. } => {
                b != 0 || !matches!(size, Operand::Const(Const::Int(n)) if *n >= 0)
            }
            _ => false,
        })
    })
}

/// Whether the function needs a shadow-stack frame.
fn needs_frame(
    f: &Function,
    types: &TypeTable,
    result_slot: Option<Value>,
    built_in_place: &[bool],
) -> bool {
    let spilled_param = f.params.iter().any(|p| match p.ty {
        AbiType::Agg(id) => abi::agg_passing(types, id) != AggPassing::Memory,
        _ => false,
    });
    spilled_param
        || f.blocks
            .iter()
            .flat_map(|b| &b.insts)
            .any(|i| match &i.kind {
                InstKind::Alloc { .. } => result_slot.is_none() || i.result != result_slot,
                InstKind::Call {
                    ret,
                    args,
                    variadic_from,
                    ..
                } => {
                    let in_place = i
                        .result
                        .is_some_and(|r| built_in_place.get(r.index()).copied().unwrap_or(false));
                    variadic_from.is_some()
                        || (matches!(ret, Some(AbiType::Agg(_))) && !in_place)
                        || args.iter().any(|a| matches!(a.ty, AbiType::Agg(_)))
                }
                _ => false,
            })
}

fn memarg(align_log2: u32) -> MemArg {
    memarg_at(align_log2, 0)
}

fn memarg_at(align_log2: u32, offset: u32) -> MemArg {
    MemArg {
        offset: u64::from(offset),
        align: align_log2,
        target: Default::default(),
        ordering: None,
    }
}

struct FunctionCodegen<'a> {
    f: &'a Function,
    types: &'a TypeTable,
    obj: &'a mut Object,
    code: Vec<u8>,
    relocs: Vec<CodeReloc>,
    n_params: u32,
    local_types: Vec<ValType>,
    value_local: Vec<u32>,
    frame_size: u32,
    uses_frame: bool,
    /// Whether the frame is published in `__stack_pointer` (needed when
    /// a callee or a dynamic allocation uses the stack below it).
    moves_stack_pointer: bool,
    sp0: u32,
    fp: u32,
    ctx: Vec<Label>,
    st: Structure,
    main: MainKind,
    results: Vec<ValType>,
    sret_local: Option<u32>,
    varargs_local: Option<u32>,
    dispatch_label: Option<u32>,
    scratch_locals: Vec<(ValType, u32)>,
    phi_positions: std::collections::HashMap<usize, usize>,
    phi_positions_for: Option<usize>,
    /// The locals `phi_copies` writes, kept between edges.
    phi_dests: Vec<u32>,
    /// Per value: whether it has a local outside the shared colouring.
    fixed: Vec<bool>,
    on_stack: Vec<bool>,
    pending: Option<Value>,
    /// Per value: an `l` computed as a `w` (see [`narrow`]).
    narrowed: Vec<bool>,
    /// Constants folded into memory accesses.
    offsets: offsets::FoldedOffsets,
    /// Per value: the result of a constant-size `alloc` in the entry
    /// block, which has no local: its uses recompute `fp + slot`.
    in_frame: Vec<bool>,
    /// The slot offset of each `in_frame` value, once allocated.
    frame_slot: Vec<u32>,
    /// Per value: an aggregate call result returned right away, which
    /// the callee writes straight into this function's result space.
    built_in_place: Vec<bool>,
    /// The start-block slot that lives in the result space itself
    /// ([`result_slot`]): its address is the hidden result pointer.
    result_slot: Option<Value>,
    /// Whether the function resumes at its `setjmp`s ([`setjmp::lower`]):
    /// it tests for unwinding itself, and its values keep a local each.
    resumable: bool,
    /// Compare trees whose heads end in a `br_table`.
    switches: Switches,
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::test_support::function;

    /// The wasm text of the first function of an IL text, compiled on its
    /// own (types, if any, are not available) and validated.
    pub(crate) fn wat(src: &str) -> String {
        let mut f = function(src);
        let mut obj = crate::object::Object::new();
        let types = skc_ir::types::TypeTable::new();
        super::compile_function(&mut f, &types, &mut obj, true).expect("compiles");
        let bytes = obj.finish().expect("encodes");
        wasmparser::Validator::new_with_features(crate::wasm_features())
            .validate_all(&bytes)
            .expect("valid");
        let text = wasmprinter::print_bytes(&bytes).expect("prints");
        let start = text.find("(func (;").expect("a function");
        text[start..].to_string()
    }

    #[test]
    fn a_branch_that_only_chooses_phi_operands_is_a_select() {
        // A diamond choosing a `w` and a `d`, then a triangle.
        let text = wat(
            "function w $f(w %a, w %b, d %x) {\n@s\n\t%c =w csltw %a, %b\n\
             jnz %c, @t, @e\n@t\n\tjmp @j\n@e\n\tjmp @j\n@j\n\
             %m =w phi @t %a, @e %b\n\t%y =d phi @t %x, @e d_1\n\
             %d =w dtosi %y\n\t%n =w add %m, %d\n\
             %k =w csltw %n, 7\n\tjnz %k, @u, @done\n@u\n\tjmp @done\n@done\n\
             %r =w phi @j %n, @u 3\n\tret %r\n}\n",
        );
        assert_eq!(text.matches("select").count(), 3, "{text}");
        assert!(!text.contains("(if") && !text.contains(" if "), "{text}");
    }

    #[test]
    fn a_branch_with_work_in_an_arm_stays_a_branch() {
        let text = wat("function w $f(w %a, w %b) {\n@s\n\t%c =w csltw %a, %b\n\
             jnz %c, @t, @e\n@t\n\t%a2 =w mul %a, 3\n\tjmp @j\n@e\n\tjmp @j\n@j\n\
             %m =w phi @t %a2, @e %b\n\tret %m\n}\n");
        assert!(!text.contains("select"), "{text}");
    }

    #[test]
    fn small_blits_are_loads_and_stores_large_ones_memory_copy() {
        let text = wat(
            "function $f(l %d, l %s) {\n@s\n\tblit %s, %d, 16\n\tblit %s, %d, 7\n\
             blit %s, %d, 65\n\tret\n}\n",
        );
        assert_eq!(text.matches("i64.load offset=8").count(), 1, "{text}");
        assert_eq!(text.matches("i64.store offset=8").count(), 1, "{text}");
        assert!(text.contains("i32.load16_u offset=4") && text.contains("i32.store8 offset=6"));
        assert_eq!(
            text.matches("memory.copy").count(),
            1,
            "only the 65 bytes: {text}"
        );
    }

    #[test]
    fn only_frames_below_calls_are_published_in_the_stack_pointer() {
        let leaf = wat(
            "function w $f(w %x) {\n@s\n\t%a =l alloc4 4\n\tstorew %x, %a\n\
             %v =w loadw %a\n\tret %v\n}\n",
        );
        assert_eq!(leaf.matches("global.get").count(), 1, "{leaf}");
        assert!(!leaf.contains("global.set"), "{leaf}");
        let caller = wat(
            "function w $f(w %x) {\n@s\n\t%a =l alloc4 4\n\tstorew %x, %a\n\
             %v =w call $g(l %a)\n\tret %v\n}\n",
        );
        assert_eq!(
            caller.matches("global.set").count(),
            2,
            "set and restored: {caller}"
        );
    }

    #[test]
    fn an_aggregate_returned_from_a_tail_call_is_built_in_place() {
        let text = "type :c = { d, d }\n\
            function :c $f(:c %a) {\n@s\n\t%r =:c call $g(:c %a)\n\tret %r\n}\n\
            function :c $h(:c %a) {\n@s\n\t%r =:c call $g(:c %a)\n\t%x =d loadd %r\n\
            ret %r\n}\n";
        let m = skc_ir::reader::read_module(text, "t.ssa").expect("parses");
        let mut obj = crate::object::Object::new();
        for item in m.items {
            if let skc_ir::ir::Item::Function(mut f) = item {
                super::compile_function(&mut f, &m.types, &mut obj, true).expect("compiles");
            }
        }
        let bytes = obj.finish().expect("encodes");
        wasmparser::Validator::new_with_features(crate::wasm_features())
            .validate_all(&bytes)
            .expect("valid");
        let text = wasmprinter::print_bytes(&bytes).expect("prints");
        // The import of $g, then $f and $h.
        let funcs: Vec<&str> = text.split("(func (;").skip(2).collect();
        assert_eq!(funcs.len(), 2, "{text}");
        // $f passes its own result pointer (local 0) on and copies only
        // the argument; $h also copies the result.
        assert_eq!(funcs[0].matches("i64.store").count(), 2, "{}", funcs[0]);
        assert!(funcs[0].contains("local.get 0\n"), "{}", funcs[0]);
        assert_eq!(funcs[1].matches("i64.store").count(), 4, "{}", funcs[1]);
    }
}
