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

pub mod copy;
pub mod irreducible;
pub mod locals;
pub mod stack;
pub mod structure;

use anyhow::{anyhow, bail, Result};
use skc_ir::ir::{
    AbiType, BaseType, BinOp, Block, CallArg, CmpOp, Const, ExtType, Function, Inst, InstKind,
    LoadKind, Operand, Phi, StoreKind, SubWord, Terminator, UnOp, Value,
};
use skc_ir::types::TypeTable;
use wasm_encoder::{BlockType, Encode, Instruction as I, MemArg, ValType};

use crate::abi::{self, AggPassing};
use crate::ir_passes::narrow;
use crate::ir_passes::offsets;
use crate::ir_passes::result_slot;
use crate::ir_passes::setjmp::{self, Intrinsic};
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
    let resumable = setjmp::lower(f);
    if optimize && !resumable && rotate::has_loops(f) {
        // Structured loops branch to their top only: a loop tested at the
        // top costs two taken branches per iteration unless its test is
        // repeated at the bottom. The heads of switch trees stay as they
        // are, for `switch_table` to find.
        let switches = Switches::find(f);
        rotate::rotate_loops(f, |h| switches.is_node(h));
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

impl<'a> FunctionCodegen<'a> {
    /// Appends one instruction. The most frequent ones are written
    /// straight to the code (the same bytes wasm-encoder writes): going
    /// through `Instruction::encode`'s dispatch and drop for each local
    /// access and constant is a large share of the backend's time.
    #[inline(always)]
    fn ins(&mut self, i: I<'_>) {
        let code = &mut self.code;
        match i {
            I::LocalGet(l) => {
                code.push(0x20);
                leb::write_u32(code, l);
            }
            I::LocalSet(l) => {
                code.push(0x21);
                leb::write_u32(code, l);
            }
            I::LocalTee(l) => {
                code.push(0x22);
                leb::write_u32(code, l);
            }
            I::I32Const(n) => {
                code.push(0x41);
                leb::write_i32(code, n);
            }
            I::I64Const(n) => {
                code.push(0x42);
                leb::write_i64(code, n);
            }
            I::Br(d) => {
                code.push(0x0c);
                leb::write_u32(code, d);
            }
            I::BrIf(d) => {
                code.push(0x0d);
                leb::write_u32(code, d);
            }
            I::F32Const(x) => {
                code.push(0x43);
                code.extend_from_slice(&x.bits().to_le_bytes());
            }
            I::F64Const(x) => {
                code.push(0x44);
                code.extend_from_slice(&x.bits().to_le_bytes());
            }
            I::Else => code.push(0x05),
            I::End => code.push(0x0b),
            I::Drop => code.push(0x1a),
            I::I32WrapI64 => code.push(0xa7),
            I::I64ExtendI32U => code.push(0xad),
            other => other.encode(code),
        }
    }

    /// Appends the instruction of [`binary`].
    fn binary_op(&mut self, op: BinOp, t: BaseType) -> Result<()> {
        match opcode_bytes().binary.get(op as usize) {
            Some(row) if row[locals::type_slot(t)] != 0 => {
                self.code.push(row[locals::type_slot(t)])
            }
            _ => self.ins(binary(op, t)?),
        }
        Ok(())
    }

    /// Appends the instruction of [`compare`].
    fn compare_op(&mut self, op: CmpOp, t: BaseType) -> Result<()> {
        match opcode_bytes().compare.get(op as usize) {
            Some(row) if row[locals::type_slot(t)] != 0 => {
                self.code.push(row[locals::type_slot(t)])
            }
            _ => self.ins(compare(op, t)?),
        }
        Ok(())
    }

    fn new_local(&mut self, t: ValType) -> u32 {
        self.local_types.push(t);
        self.n_params + self.local_types.len() as u32 - 1
    }

    /// A local for short-lived use inside the code of one instruction.
    fn scratch(&mut self, t: ValType) -> u32 {
        if let Some(&(_, l)) = self.scratch_locals.iter().find(|(st, _)| *st == t) {
            return l;
        }
        let l = self.new_local(t);
        self.scratch_locals.push((t, l));
        l
    }

    /// Gives every value not bound to a parameter a shared local.
    fn assign_value_locals(&mut self) {
        // Parameters have their locals already; stack values need none.
        let mut fixed = std::mem::take(&mut self.fixed);
        fixed.clear();
        let result_slot = self.result_slot;
        fixed.extend(
            self.value_local
                .iter()
                .zip(&self.on_stack)
                .zip(&self.in_frame)
                .enumerate()
                .map(|(v, ((&l, &on_stack), &in_frame))| {
                    l != UNASSIGNED
                        || on_stack
                        || in_frame
                        || result_slot.is_some_and(|r| r.index() == v)
                }),
        );
        if self.resumable {
            // Resuming at a `setjmp` enters blocks whose live-in values
            // need not be defined on the way in: sharing would let
            // another value overwrite one read after resuming.
            fixed.fill(true);
        }
        let colouring = locals::colour(self.f, &self.st, &fixed);
        let mut base = [0u32; 4];
        for (slot, t) in [ValType::I32, ValType::I64, ValType::F32, ValType::F64]
            .into_iter()
            .enumerate()
        {
            base[slot] = self.n_params + self.local_types.len() as u32;
            for _ in 0..colouring.counts[slot] {
                self.new_local(t);
            }
        }
        for (v, &c) in colouring.colour.iter().enumerate() {
            if c != locals::NONE && !fixed[v] {
                let slot = locals::type_slot(self.f.values[v].ty);
                self.value_local[v] = base[slot] + c;
            }
        }
        self.fixed = fixed;
    }

    fn is_narrowed(&self, v: Value) -> bool {
        self.narrowed.get(v.index()).copied().unwrap_or(false)
    }

    fn local(&mut self, v: Value) -> u32 {
        let l = self.value_local[v.index()];
        if l != UNASSIGNED {
            return l;
        }
        let l = self.new_local(abi::val_type(self.f.value_type(v)));
        self.value_local[v.index()] = l;
        l
    }

    fn reloc_here(&mut self, kind: CodeRelocKind) {
        self.relocs.push(CodeReloc {
            offset: self.code.len() as u32,
            kind,
        });
    }

    fn stack_pointer(&mut self, set: bool) {
        self.code.push(if set { 0x24 } else { 0x23 });
        self.reloc_here(CodeRelocKind::StackPointer);
        self.code.extend_from_slice(&leb::padded_u32(0));
    }

    fn symbol_address(&mut self, sym: &str, addend: i64) -> Result<()> {
        let addend = i32::try_from(addend)
            .map_err(|_| anyhow!("offset {addend} from `${sym}` does not fit in 32 bits"))?;
        let id = self.obj.referenced(sym);
        self.symbol_id_address(id, addend);
        Ok(())
    }

    /// Pushes the address of symbol `id` plus `addend` (relocated).
    fn symbol_id_address(&mut self, id: SymId, addend: i32) {
        self.code.push(0x41);
        self.reloc_here(CodeRelocKind::Address(id, addend));
        self.code.extend_from_slice(&leb::padded_i32(0));
    }

    /// Pushes `fp + offset` (an i32 address in the frame).
    fn frame_address(&mut self, offset: u32) {
        self.ins(I::LocalGet(self.fp));
        if offset != 0 {
            self.ins(I::I32Const(offset as i32));
            self.ins(I::I32Add);
        }
    }

    fn alloc_slot(&mut self, size: u64, align: u32) -> Result<u32> {
        if !self.uses_frame {
            bail!(
                "internal error: `${}` needs a frame slot but has no frame",
                self.f.name
            );
        }
        let align = align.clamp(1, 16);
        let start = self.frame_size.div_ceil(align) * align;
        let end = u64::from(start) + size;
        if end > 1 << 30 {
            bail!("stack frame of `${}` exceeds 1 GiB", self.f.name);
        }
        self.frame_size = end as u32;
        Ok(start)
    }

    fn convert(&mut self, from: BaseType, to: BaseType) -> Result<()> {
        match (from, to) {
            _ if from == to => {}
            (BaseType::L, BaseType::W) => self.ins(I::I32WrapI64),
            (BaseType::W, BaseType::L) => self.ins(I::I64ExtendI32U),
            _ => bail!("a `{from}` value is used where a `{to}` is expected"),
        }
        Ok(())
    }

    /// Pushes an operand as a value of type `ctx`.
    fn operand(&mut self, op: &Operand, ctx: BaseType) -> Result<()> {
        match op {
            Operand::Value(v) if self.result_slot == Some(*v) => {
                let sret = self.sret_local.ok_or_else(|| {
                    anyhow!("internal error: result slot without a result pointer")
                })?;
                self.ins(I::LocalGet(sret));
                self.convert(BaseType::W, ctx)?;
            }
            Operand::Value(v) if self.in_frame.get(v.index()).copied().unwrap_or(false) => {
                let slot = self.frame_slot(*v).ok_or_else(|| {
                    anyhow!(
                        "internal error: frame slot `%{}` read before its allocation",
                        self.f.values[v.index()].name
                    )
                })?;
                self.frame_address(slot);
                self.convert(BaseType::W, ctx)?;
            }
            Operand::Value(v) => {
                if self.pending == Some(*v) {
                    // Left on the stack by the instruction just before.
                    self.pending = None;
                } else {
                    let l = self.local(*v);
                    self.ins(I::LocalGet(l));
                }
                if ctx == BaseType::L && self.is_narrowed(*v) {
                    bail!(
                        "internal error: `%{}` was narrowed to 32 bits but is read as an `l`",
                        self.f.values[v.index()].name
                    );
                }
                self.convert(self.f.value_type(*v), ctx)?;
            }
            // One `ins` per arm, so each writes its bytes directly.
            Operand::Const(c) => match c {
                Const::Int(n) => match ctx {
                    BaseType::W => self.ins(I::I32Const(*n as i32)),
                    BaseType::L => self.ins(I::I64Const(*n)),
                    BaseType::S => self.ins(I::F32Const(f32::from_bits(*n as u32).into())),
                    BaseType::D => self.ins(I::F64Const(f64::from_bits(*n as u64).into())),
                },
                Const::Single(x) => match ctx {
                    BaseType::S => self.ins(I::F32Const((*x).into())),
                    BaseType::D => self.ins(I::F64Const(f64::from(*x).into())),
                    BaseType::W => self.ins(I::I32Const(x.to_bits() as i32)),
                    BaseType::L => self.ins(I::I64Const(i64::from(x.to_bits()))),
                },
                Const::Double(x) => match ctx {
                    BaseType::D => self.ins(I::F64Const((*x).into())),
                    BaseType::S => self.ins(I::F32Const((*x as f32).into())),
                    BaseType::W => self.ins(I::I32Const(x.to_bits() as i32)),
                    BaseType::L => self.ins(I::I64Const(x.to_bits() as i64)),
                },
                Const::Addr { sym, offset } => {
                    self.symbol_address(sym, *offset)?;
                    self.convert(BaseType::W, ctx)?;
                }
                Const::Thread(sym) | Const::Extern(sym) | Const::ExternThread(sym) => {
                    self.symbol_address(sym, 0)?;
                    self.convert(BaseType::W, ctx)?;
                }
            },
        }
        Ok(())
    }

    /// Pushes an operand as an i32 address.
    fn address(&mut self, op: &Operand) -> Result<()> {
        self.operand(op, BaseType::W)
    }

    /// Pushes the address of a memory access whose instruction adds
    /// `offset`, and returns the offset the access itself must add: a
    /// frame slot's address is the frame pointer with the slot's offset
    /// folded in.
    fn access_address(&mut self, op: &Operand, offset: u32) -> Result<u32> {
        if let Operand::Value(v) = op {
            if let Some(total) = self.frame_slot(*v).and_then(|s| s.checked_add(offset)) {
                self.ins(I::LocalGet(self.fp));
                return Ok(total);
            }
        }
        self.address(op)?;
        Ok(offset)
    }

    /// The n-th scratch local of type `t` (for code needing several).
    fn nth_scratch(&mut self, t: ValType, n: usize) -> u32 {
        let have: Vec<u32> = self
            .scratch_locals
            .iter()
            .filter(|(st, _)| *st == t)
            .map(|&(_, l)| l)
            .collect();
        if let Some(&l) = have.get(n) {
            return l;
        }
        let mut l = 0;
        for _ in have.len()..=n {
            l = self.new_local(t);
            self.scratch_locals.push((t, l));
        }
        l
    }

    /// Where an address operand can be read again: a frame slot, or
    /// the `n`-th i32 scratch local it is saved in.
    fn place(&mut self, op: &Operand, n: usize) -> Result<Place> {
        if let Operand::Value(v) = op {
            if let Some(slot) = self.frame_slot(*v) {
                return Ok(Place::Frame(slot));
            }
        }
        self.address(op)?;
        let l = self.nth_scratch(ValType::I32, n);
        self.ins(I::LocalSet(l));
        Ok(Place::Local(l))
    }

    /// Pushes the base of `place` for an access at `offset` from it and
    /// returns the offset the access adds.
    fn push_place(&mut self, place: Place, offset: u32) -> u32 {
        match place {
            Place::Frame(slot) => {
                self.ins(I::LocalGet(self.fp));
                slot + offset
            }
            Place::Local(l) => {
                self.ins(I::LocalGet(l));
                offset
            }
        }
    }

    /// Copies `size` bytes from the address `src` to `dst`.
    fn copy_bytes(&mut self, dst: Place, src: &Operand, size: u32) -> Result<()> {
        let Some(pieces) = copy::pieces(u64::from(size)) else {
            self.push_place(dst, 0);
            self.address(src)?;
            self.ins(I::I32Const(size as i32));
            self.ins(I::MemoryCopy {
                src_mem: 0,
                dst_mem: 0,
            });
            return Ok(());
        };
        let src = self.place(src, 1)?;
        // Scratch i32 locals 0 and 1 may hold the addresses.
        let temp = |w: copy::Width, k: usize| match w {
            copy::Width::B8 => (ValType::I64, k),
            _ => (ValType::I32, 2 + k),
        };
        let mut temps = Vec::with_capacity(pieces.len());
        for (k, &(off, w)) in pieces.iter().enumerate() {
            let at = self.push_place(src, off);
            self.ins(match w {
                copy::Width::B8 => I::I64Load(memarg_at(3, at)),
                copy::Width::B4 => I::I32Load(memarg_at(2, at)),
                copy::Width::B2 => I::I32Load16U(memarg_at(1, at)),
                copy::Width::B1 => I::I32Load8U(memarg_at(0, at)),
            });
            let (t, n) = temp(w, k);
            let l = self.nth_scratch(t, n);
            self.ins(I::LocalSet(l));
            temps.push(l);
        }
        for (&(off, w), &l) in pieces.iter().zip(&temps) {
            let at = self.push_place(dst, off);
            self.ins(I::LocalGet(l));
            self.ins(match w {
                copy::Width::B8 => I::I64Store(memarg_at(3, at)),
                copy::Width::B4 => I::I32Store(memarg_at(2, at)),
                copy::Width::B2 => I::I32Store16(memarg_at(1, at)),
                copy::Width::B1 => I::I32Store8(memarg_at(0, at)),
            });
        }
        Ok(())
    }

    /// The frame offset of a value that stands for a constant frame slot.
    fn frame_slot(&self, v: Value) -> Option<u32> {
        self.frame_slot
            .get(v.index())
            .copied()
            .filter(|&s| s != UNASSIGNED)
    }

    fn set_result(&mut self, result: Option<Value>) {
        match result {
            Some(v) if stack::is_on_stack(&self.on_stack, v) => self.pending = Some(v),
            Some(v) => {
                let l = self.local(v);
                self.ins(I::LocalSet(l));
            }
            None => self.ins(I::Drop),
        }
    }

    fn extend_subword(&mut self, k: SubWord) {
        match k {
            SubWord::Sb => self.ins(I::I32Extend8S),
            SubWord::Sh => self.ins(I::I32Extend16S),
            SubWord::Ub => {
                self.ins(I::I32Const(0xff));
                self.ins(I::I32And);
            }
            SubWord::Uh => {
                self.ins(I::I32Const(0xffff));
                self.ins(I::I32And);
            }
        }
    }

    fn load_ext(&mut self, t: ExtType) {
        self.ins(match t {
            ExtType::B => I::I32Load8U(memarg(0)),
            ExtType::H => I::I32Load16U(memarg(1)),
            ExtType::W => I::I32Load(memarg(2)),
            ExtType::L => I::I64Load(memarg(3)),
            ExtType::S => I::F32Load(memarg(2)),
            ExtType::D => I::F64Load(memarg(3)),
        });
    }

    fn store_ext(&mut self, t: ExtType) {
        self.ins(match t {
            ExtType::B => I::I32Store8(memarg(0)),
            ExtType::H => I::I32Store16(memarg(1)),
            ExtType::W => I::I32Store(memarg(2)),
            ExtType::L => I::I64Store(memarg(3)),
            ExtType::S => I::F32Store(memarg(2)),
            ExtType::D => I::F64Store(memarg(3)),
        });
    }

    fn run(&mut self, params: &[ValType]) -> Result<()> {
        if self.uses_frame {
            self.sp0 = self.new_local(ValType::I32);
            self.fp = self.new_local(ValType::I32);
        }
        self.bind_params(params)?;
        self.assign_value_locals();
        if self.st.reducible {
            self.do_tree(0)?;
        } else {
            self.dispatch()?;
        }
        // Every path has left through a branch or return already.
        self.ins(I::Unreachable);
        self.ins(I::End);
        Ok(())
    }

    fn bind_params(&mut self, params: &[ValType]) -> Result<()> {
        let f = self.f;
        let mut next = 0u32;
        if self.main != MainKind::No {
            for (i, p) in f.params.iter().enumerate() {
                let v = p.value;
                match f.value_type(v) {
                    BaseType::W => self.value_local[v.index()] = i as u32,
                    BaseType::L if self.main == MainKind::Lp64 => {
                        self.value_local[v.index()] = i as u32
                    }
                    BaseType::L => {
                        let l = self.local(v);
                        self.ins(I::LocalGet(i as u32));
                        self.ins(I::I64ExtendI32U);
                        self.ins(I::LocalSet(l));
                    }
                    t => bail!("`main` parameter of type `{t}` is not supported"),
                }
            }
            return Ok(());
        }
        if abi::returns_via_pointer(self.types, f.ret) {
            self.sret_local = Some(next);
            next += 1;
        }
        if let Some(env) = f.env {
            // Whatever the caller left in the slot: a caller without an
            // env argument leaves the value undefined, as the IL says.
            let l = self.local(env);
            let slot = self.obj.env_slot()?;
            self.symbol_id_address(slot, 0);
            self.ins(I::I64Load(memarg(3)));
            if self.is_narrowed(env) {
                self.ins(I::I32WrapI64);
            }
            self.ins(I::LocalSet(l));
        }
        for p in &f.params {
            let v = p.value;
            match p.ty {
                AbiType::Base(_) if self.is_narrowed(v) => {
                    let l = self.local(v);
                    self.ins(I::LocalGet(next));
                    self.ins(I::I32WrapI64);
                    self.ins(I::LocalSet(l));
                }
                AbiType::Base(_) => self.value_local[v.index()] = next,
                AbiType::SubWord(k) => {
                    self.value_local[v.index()] = next;
                    self.ins(I::LocalGet(next));
                    self.extend_subword(k);
                    self.ins(I::LocalSet(next));
                }
                AbiType::Agg(id) => {
                    let l = self.local(v);
                    match abi::agg_passing(self.types, id) {
                        AggPassing::Memory => self.ins(I::LocalGet(next)),
                        AggPassing::Scalar(e) => {
                            let def = self.types.get(id);
                            let slot = self.alloc_slot(def.size, def.align)?;
                            self.frame_address(slot);
                            self.ins(I::LocalGet(next));
                            self.store_ext(e);
                            self.frame_address(slot);
                        }
                    }
                    self.convert(BaseType::W, f.value_type(v))?;
                    self.ins(I::LocalSet(l));
                }
            }
            next += 1;
        }
        if f.variadic {
            self.varargs_local = Some(next);
            next += 1;
        }
        debug_assert_eq!(next as usize, params.len());
        Ok(())
    }

    // ---- structured control flow -------------------------------------

    /// Emits the subtree of the dominator tree rooted at `root`. Work is
    /// kept on an explicit stack rather than by recursion, so deep
    /// dominator trees (long chains of blocks) cannot exhaust the stack.
    fn do_tree(&mut self, root: usize) -> Result<()> {
        let mut tasks = vec![Task::Tree(root)];
        while let Some(task) = tasks.pop() {
            match task {
                Task::Tree(x) => {
                    let merges = self.st.children[x]
                        .iter()
                        .filter(|&&c| self.st.merge[c])
                        .count();
                    if self.st.loop_header[x] {
                        self.ins(I::Loop(BlockType::Empty));
                        self.ctx.push(Label::LoopHeadedBy(x));
                        tasks.push(Task::Close);
                    }
                    tasks.push(Task::Within(x, merges));
                }
                Task::Within(x, open) => {
                    if open > 0 {
                        // The merge child with the highest reverse
                        // post-order number gets the outermost block.
                        let last = self.st.children[x]
                            .iter()
                            .copied()
                            .filter(|&c| self.st.merge[c])
                            .nth(open - 1)
                            .ok_or_else(|| anyhow!("internal error: merge child missing"))?;
                        self.ins(I::Block(BlockType::Empty));
                        self.ctx.push(Label::BlockFollowedBy(last));
                        tasks.push(Task::Tree(last));
                        tasks.push(Task::Close);
                        tasks.push(Task::Within(x, open - 1));
                    } else {
                        self.block_body(x)?;
                        self.terminator(x, &mut tasks)?;
                        self.check_no_pending()?;
                    }
                }
                Task::Close => {
                    self.ctx.pop();
                    self.ins(I::End);
                }
                Task::Else => self.ins(I::Else),
                Task::Branch(from, to) => self.branch(from, to, &mut tasks)?,
                Task::Jump(from, to) => self.jump(from, to, &mut tasks)?,
            }
        }
        Ok(())
    }

    fn depth_of(&self, label: Label) -> Result<u32> {
        self.ctx
            .iter()
            .rev()
            .position(|&l| l == label)
            .map(|p| p as u32)
            .ok_or_else(|| anyhow!("internal error: branch target not in scope"))
    }

    /// Whether taking `from → to` is a `br` rather than inline code.
    fn ends_in_br(&self, from: usize, to: usize) -> bool {
        self.dispatch_label.is_some() || self.st.is_backward(from, to) || self.st.merge[to]
    }

    /// Ends switch head `b` with its table. An entry branches straight to
    /// its target, or, when the edge has phi copies to make, to a `block`
    /// of its own after which the copies are made and the edge taken.
    fn br_table(&mut self, b: usize, tasks: &mut Vec<Task>) -> Result<()> {
        let f = self.f;
        let sw = self
            .switches
            .at_head(Block(b as u32))
            .ok_or_else(|| anyhow!("internal error: no switch at this head"))?
            .clone();
        let window = switch_table::window(&sw);
        let targets = sw.targets();
        let with_copies: Vec<usize> = targets
            .iter()
            .map(|t| t.index())
            .filter(|&t| !f.blocks[t].phis.is_empty())
            .collect();
        for &t in with_copies.iter().rev() {
            self.ins(I::Block(BlockType::Empty));
            self.ctx.push(Label::SwitchArm(t));
        }
        let scrutinee = Operand::Value(sw.scrutinee);
        match sw.ty {
            BaseType::W => {
                self.operand(&scrutinee, BaseType::W)?;
                if window.start != 0 {
                    self.ins(I::I32Const(window.start as u32 as i32));
                    self.ins(I::I32Sub);
                }
            }
            _ => {
                // The index is `x - start` when that is below the length,
                // else the length itself (the default).
                self.operand(&scrutinee, BaseType::L)?;
                if window.start != 0 {
                    self.ins(I::I64Const(window.start as i64));
                    self.ins(I::I64Sub);
                }
                let index = self.scratch(ValType::I64);
                self.ins(I::LocalTee(index));
                self.ins(I::I32WrapI64);
                self.ins(I::I32Const(window.len as i32));
                self.ins(I::LocalGet(index));
                self.ins(I::I64Const(i64::from(window.len)));
                self.ins(I::I64LtU);
                self.ins(I::Select);
            }
        }
        let depth = |cx: &mut Self, t: usize| -> Result<u32> {
            if with_copies.contains(&t) {
                cx.depth_of(Label::SwitchArm(t))
            } else if cx.st.is_backward(b, t) {
                cx.depth_of(Label::LoopHeadedBy(t))
            } else {
                cx.depth_of(Label::BlockFollowedBy(t))
            }
        };
        // One depth per target, looked up per entry.
        let mut depths = std::collections::HashMap::with_capacity(targets.len());
        for t in &targets {
            depths.insert(*t, depth(self, t.index())?);
        }
        let entries: Vec<u32> = (0..window.len)
            .map(|i| depths[&switch_table::target_at(&sw, window, i)])
            .collect();
        let default = depths[&sw.default];
        self.ins(I::BrTable(entries.into(), default));
        for &t in &with_copies {
            self.ctx.pop();
            self.ins(I::End);
            let before = tasks.len();
            self.branch(b, t, tasks)?;
            if tasks.len() != before {
                bail!("internal error: a switch target is emitted inline");
            }
        }
        Ok(())
    }

    fn branch(&mut self, from: usize, to: usize, tasks: &mut Vec<Task>) -> Result<()> {
        self.phi_copies(from, to)?;
        self.jump(from, to, tasks)
    }

    /// [`Self::branch`] once `to`'s phis are set.
    fn jump(&mut self, from: usize, to: usize, tasks: &mut Vec<Task>) -> Result<()> {
        if let Some(label_local) = self.dispatch_label {
            self.ins(I::I32Const(to as i32));
            self.ins(I::LocalSet(label_local));
            let d = self.depth_of(Label::Dispatch)?;
            self.ins(I::Br(d));
        } else if self.st.is_backward(from, to) {
            let d = self.depth_of(Label::LoopHeadedBy(to))?;
            self.ins(I::Br(d));
        } else if self.st.merge[to] {
            let d = self.depth_of(Label::BlockFollowedBy(to))?;
            self.ins(I::Br(d));
        } else {
            tasks.push(Task::Tree(to));
        }
        Ok(())
    }

    /// Runs the branch tasks of a terminator in dispatch mode, where every
    /// branch is a jump to the dispatch loop and never continues inline.
    fn run_dispatch_tasks(&mut self, mut tasks: Vec<Task>) -> Result<()> {
        while let Some(t) = tasks.pop() {
            match t {
                Task::Branch(from, to) => self.branch(from, to, &mut tasks)?,
                Task::Jump(from, to) => self.jump(from, to, &mut tasks)?,
                Task::Else => self.ins(I::Else),
                Task::Close => {
                    self.ctx.pop();
                    self.ins(I::End);
                }
                Task::Tree(_) | Task::Within(..) => {
                    bail!("internal error: inline code in dispatch mode")
                }
            }
        }
        Ok(())
    }

    /// A whole function as `loop { block … { br_table } code … }`.
    fn dispatch(&mut self) -> Result<()> {
        let n = self.f.blocks.len();
        let label = self.new_local(ValType::I32);
        self.dispatch_label = Some(label);
        self.ins(I::I32Const(0));
        self.ins(I::LocalSet(label));
        self.ins(I::Loop(BlockType::Empty));
        self.ctx.push(Label::Dispatch);
        for b in (0..n).rev() {
            self.ins(I::Block(BlockType::Empty));
            self.ctx.push(Label::BlockFollowedBy(b));
        }
        self.ins(I::LocalGet(label));
        let targets: Vec<u32> = (0..n as u32).collect();
        self.ins(I::BrTable(targets.into(), n as u32 - 1));
        for b in 0..n {
            self.ctx.pop();
            self.ins(I::End);
            self.block_body(b)?;
            let mut tasks = Vec::new();
            self.terminator(b, &mut tasks)?;
            self.check_no_pending()?;
            self.run_dispatch_tasks(tasks)?;
        }
        self.ctx.pop();
        self.ins(I::End);
        Ok(())
    }

    /// Where the operand for `from` sits in the first phi of `to`.
    fn phi_arg_position(&mut self, to: usize, from: usize) -> Option<usize> {
        let f = self.f;
        let first = f.blocks[to].phis.first()?;
        // A short list is scanned faster than a map is built and probed.
        if first.args.len() <= SHORT_PHI {
            return first.args.iter().position(|(b, _)| b.index() == from);
        }
        if self.phi_positions_for != Some(to) {
            self.phi_positions.clear();
            for (i, (b, _)) in first.args.iter().enumerate() {
                self.phi_positions.entry(b.index()).or_insert(i);
            }
            self.phi_positions_for = Some(to);
        }
        self.phi_positions.get(&from).copied()
    }

    fn phi_copies(&mut self, from: usize, to: usize) -> Result<()> {
        let f = self.f;
        let phis = &f.blocks[to].phis;
        if phis.is_empty() {
            return Ok(());
        }
        // Phis usually list their operands in the same block order, so
        // the position found for the first phi is tried first (a merge
        // node may have thousands of predecessors).
        let hint = self.phi_arg_position(to, from);
        let mut dests = std::mem::take(&mut self.phi_dests);
        dests.clear();
        for phi in phis {
            let arg = phi_operand(f, phi, from, hint)?;
            let dest = self.local(phi.result);
            // A copy into the local it comes from is no copy at all.
            if let Operand::Value(v) = arg {
                if self.frame_slot(*v).is_none()
                    && self.local(*v) == dest
                    && f.value_type(*v) == f.value_type(phi.result)
                {
                    continue;
                }
            }
            self.operand(arg, f.value_type(phi.result))?;
            dests.push(dest);
        }
        for &d in dests.iter().rev() {
            self.ins(I::LocalSet(d));
        }
        self.phi_dests = dests;
        Ok(())
    }

    /// Emits a terminator; branches that continue with inline code are
    /// pushed on `tasks` (the last pushed runs first).
    fn terminator(&mut self, b: usize, tasks: &mut Vec<Task>) -> Result<()> {
        let f = self.f;
        if self.switches.at_head(Block(b as u32)).is_some() {
            return self.br_table(b, tasks);
        }
        if let Some((cond, join, from_nonzero, from_zero)) = self.select_arms(b) {
            self.selects(cond, join, from_nonzero, from_zero)?;
            tasks.push(Task::Jump(b, join));
            return Ok(());
        }
        match &f.blocks[b].term {
            Terminator::Jmp(t) => {
                tasks.push(Task::Branch(b, t.index()));
                Ok(())
            }
            Terminator::Jnz {
                cond,
                nonzero,
                zero,
            } => {
                let (nz, z) = (nonzero.index(), zero.index());
                self.operand(cond, BaseType::W)?;
                // An edge that ends in a `br` goes in an `if` without
                // `else`; the other edge then continues after it at the
                // same depth, so chains of tests do not nest.
                if self.ends_in_br(b, z) && !self.ends_in_br(b, nz) {
                    self.ins(I::I32Eqz);
                    self.ins(I::If(BlockType::Empty));
                    self.ctx.push(Label::IfThenElse);
                    tasks.push(Task::Branch(b, nz));
                    tasks.push(Task::Close);
                    tasks.push(Task::Branch(b, z));
                } else if self.ends_in_br(b, nz) {
                    self.ins(I::If(BlockType::Empty));
                    self.ctx.push(Label::IfThenElse);
                    tasks.push(Task::Branch(b, z));
                    tasks.push(Task::Close);
                    tasks.push(Task::Branch(b, nz));
                } else {
                    self.ins(I::If(BlockType::Empty));
                    self.ctx.push(Label::IfThenElse);
                    tasks.push(Task::Close);
                    tasks.push(Task::Branch(b, z));
                    tasks.push(Task::Else);
                    tasks.push(Task::Branch(b, nz));
                }
                Ok(())
            }
            Terminator::Ret(v) => self.ret(v.as_ref()),
            Terminator::Hlt => {
                self.ins(I::Unreachable);
                Ok(())
            }
        }
    }

    /// Whether the `jnz` ending `b` only chooses the phi operands of one
    /// block: both arms lead to `join`, directly or through an empty block
    /// of their own. Returns `join` and the blocks its phis name for the
    /// non-zero and the zero arm. Such a branch becomes `select`s: the
    /// operands are already computed, and a branch on data (the `min` of
    /// a dynamic programme) is mispredicted often, a `select` never.
    fn select_arms(&self, b: usize) -> Option<(&'a Operand, usize, usize, usize)> {
        let f = self.f;
        let Terminator::Jnz {
            cond,
            nonzero,
            zero,
        } = &f.blocks[b].term
        else {
            return None;
        };
        if self.dispatch_label.is_some() {
            return None;
        }
        // (the block the arm reaches, the block it reaches it from)
        let arm = |x: usize| {
            let data = &f.blocks[x];
            match data.term {
                Terminator::Jmp(j)
                    if x != b
                        && data.phis.is_empty()
                        && data.insts.is_empty()
                        && !self.st.merge[x]
                        && !self.st.loop_header[x] =>
                {
                    (j.index(), x)
                }
                _ => (x, b),
            }
        };
        let (join, from_nonzero) = arm(nonzero.index());
        let (join_z, from_zero) = arm(zero.index());
        (join == join_z && from_nonzero != from_zero && f.blocks[join].phis.len() <= MAX_SELECTS)
            .then_some((cond, join, from_nonzero, from_zero))
    }

    /// Sets `join`'s phis to their operand from `from_nonzero` or from
    /// `from_zero`, as `cond` chooses. All operands are read before any
    /// phi is written, as on an edge.
    fn selects(
        &mut self,
        cond: &Operand,
        join: usize,
        from_nonzero: usize,
        from_zero: usize,
    ) -> Result<()> {
        let f = self.f;
        let c = self.scratch(ValType::I32);
        self.operand(cond, BaseType::W)?;
        self.ins(I::LocalSet(c));
        let mut dests = std::mem::take(&mut self.phi_dests);
        dests.clear();
        for phi in &f.blocks[join].phis {
            let t = f.value_type(phi.result);
            for from in [from_nonzero, from_zero] {
                self.operand(phi_operand(f, phi, from, None)?, t)?;
            }
            self.ins(I::LocalGet(c));
            self.ins(I::Select);
            dests.push(self.local(phi.result));
        }
        for &d in dests.iter().rev() {
            self.ins(I::LocalSet(d));
        }
        self.phi_dests = dests;
        Ok(())
    }

    fn ret(&mut self, v: Option<&Operand>) -> Result<()> {
        let f = self.f;
        if let Some(sret) = self.sret_local {
            let Some(AbiType::Agg(id)) = f.ret else {
                bail!("internal error: result pointer without aggregate return");
            };
            let v = v.ok_or_else(|| {
                anyhow!("`${}` returns an aggregate but `ret` has no value", f.name)
            })?;
            let size = i32::try_from(self.types.get(id).size)
                .map_err(|_| anyhow!("`${}` returns an aggregate too large for wasm32", f.name))?;
            let in_place = matches!(v, Operand::Value(r)
                if self.built_in_place.get(r.index()).copied().unwrap_or(false)
                    || self.result_slot == Some(*r));
            if !in_place {
                self.copy_bytes(Place::Local(sret), v, size as u32)?;
            }
        } else if self.main != MainKind::No {
            match v {
                Some(v) => self.operand(v, BaseType::W)?,
                None => self.ins(I::I32Const(0)),
            }
        } else if let (Some(v), Some(ret)) = (v, f.ret) {
            match ret {
                AbiType::Base(b) => self.operand(v, b)?,
                AbiType::SubWord(k) => {
                    self.operand(v, BaseType::W)?;
                    self.extend_subword(k);
                }
                AbiType::Agg(id) => match abi::agg_passing(self.types, id) {
                    AggPassing::Scalar(e) => {
                        self.address(v)?;
                        self.load_ext(e);
                    }
                    AggPassing::Memory => bail!("internal error: aggregate return in memory"),
                },
            }
        } else {
            for t in self.results.clone() {
                self.ins(match t {
                    ValType::I32 => I::I32Const(0),
                    ValType::I64 => I::I64Const(0),
                    ValType::F32 => I::F32Const(0.0f32.into()),
                    _ => I::F64Const(0.0f64.into()),
                });
            }
        }
        if self.uses_frame && self.moves_stack_pointer {
            self.ins(I::LocalGet(self.sp0));
            self.stack_pointer(true);
        }
        self.ins(I::Return);
        Ok(())
    }

    // ---- instructions -------------------------------------------------

    fn block_body(&mut self, b: usize) -> Result<()> {
        let f = self.f;
        let skipped = self
            .switches
            .at_head(Block(b as u32))
            .map(|sw| sw.condition);
        for (i, inst) in f.blocks[b].insts.iter().enumerate() {
            if inst.result.is_some() && inst.result == skipped {
                // The tree's first test: the table replaces it.
                continue;
            }
            let pending_before = self.pending;
            let offset = self.offsets.get(b, i);
            self.inst(inst, b == 0, offset).map_err(|e| {
                anyhow!("{}:{}: in `${}`: {e}", inst.pos.line, inst.pos.col, f.name)
            })?;
            if pending_before.is_some() && self.pending == pending_before {
                bail!("internal error: a stack value was not consumed");
            }
        }
        Ok(())
    }

    /// Fails if a value left on the stack for the terminator was not
    /// consumed by it.
    fn check_no_pending(&self) -> Result<()> {
        if self.pending.is_some() {
            bail!("internal error: a stack value was not consumed");
        }
        Ok(())
    }

    fn result_type(&self, inst: &Inst) -> Result<BaseType> {
        inst.result
            .map(|v| self.f.value_type(v))
            .ok_or_else(|| anyhow!("instruction has no result"))
    }

    /// Emits one instruction; `offset` is the constant folded into its
    /// memory access ([`offsets`]).
    fn inst(&mut self, inst: &Inst, in_entry: bool, offset: u32) -> Result<()> {
        match &inst.kind {
            InstKind::Binary { op, lhs, rhs } => {
                let t = self.result_type(inst)?;
                self.operand(lhs, t)?;
                let shift = matches!(op, BinOp::Sar | BinOp::Shr | BinOp::Shl);
                if shift {
                    self.operand(rhs, BaseType::W)?;
                    if t == BaseType::L {
                        self.ins(I::I64ExtendI32U);
                    }
                } else {
                    self.operand(rhs, t)?;
                }
                self.binary_op(*op, t)?;
                self.set_result(inst.result);
            }
            InstKind::Compare { op, ty, lhs, rhs } => {
                let t = *ty;
                match op {
                    CmpOp::O | CmpOp::Uo => {
                        let (cmp, join) = if *op == CmpOp::O {
                            (CmpOp::Eq, I::I32And)
                        } else {
                            (CmpOp::Ne, I::I32Or)
                        };
                        self.operand(lhs, t)?;
                        self.operand(lhs, t)?;
                        self.ins(compare(cmp, t)?);
                        self.operand(rhs, t)?;
                        self.operand(rhs, t)?;
                        self.ins(compare(cmp, t)?);
                        self.ins(join);
                    }
                    _ => {
                        self.operand(lhs, t)?;
                        self.operand(rhs, t)?;
                        self.compare_op(*op, t)?;
                    }
                }
                if inst.result.map(|v| self.f.value_type(v)) == Some(BaseType::L) {
                    self.ins(I::I64ExtendI32U);
                }
                self.set_result(inst.result);
            }
            InstKind::Unary { op, arg } => {
                let t = self.result_type(inst)?;
                self.unary(*op, arg, t)?;
                self.set_result(inst.result);
            }
            InstKind::Load { kind, addr } => {
                let t = self.result_type(inst)?;
                let offset = self.access_address(addr, offset)?;
                self.load(*kind, t, offset)?;
                self.set_result(inst.result);
            }
            InstKind::Store { kind, value, addr } => {
                let offset = self.access_address(addr, offset)?;
                self.operand(value, kind.value_type())?;
                self.ins(match kind {
                    StoreKind::B => I::I32Store8(memarg_at(0, offset)),
                    StoreKind::H => I::I32Store16(memarg_at(1, offset)),
                    StoreKind::W => I::I32Store(memarg_at(2, offset)),
                    StoreKind::L => I::I64Store(memarg_at(3, offset)),
                    StoreKind::S => I::F32Store(memarg_at(2, offset)),
                    StoreKind::D => I::F64Store(memarg_at(3, offset)),
                });
            }
            InstKind::Alloc { .. } if inst.result.is_some() && inst.result == self.result_slot => {
                // Lives at the result pointer: nothing to allocate.
            }
            InstKind::Alloc { align, size } => {
                let t = self.result_type(inst)?;
                match size {
                    Operand::Const(Const::Int(n)) if in_entry && *n >= 0 => {
                        let slot = self.alloc_slot(*n as u64, *align)?;
                        if let Some(r) = inst.result.filter(|r| self.in_frame[r.index()]) {
                            // Every use recomputes `fp + slot`.
                            self.frame_slot[r.index()] = slot;
                            return Ok(());
                        }
                        self.frame_address(slot);
                    }
                    _ => {
                        let tmp = self.scratch(ValType::I32);
                        self.stack_pointer(false);
                        self.operand(size, BaseType::W)?;
                        self.ins(I::I32Sub);
                        self.ins(I::I32Const(-16));
                        self.ins(I::I32And);
                        self.ins(I::LocalTee(tmp));
                        self.stack_pointer(true);
                        self.ins(I::LocalGet(tmp));
                    }
                }
                self.convert(BaseType::W, t)?;
                self.set_result(inst.result);
            }
            InstKind::Blit { src, dst, size } => {
                let n = i32::try_from(*size)
                    .map_err(|_| anyhow!("blit of {size} bytes is too large"))?;
                // The destination is pushed first (it may be on the stack).
                let dst = self.place(dst, 0)?;
                self.copy_bytes(dst, src, n as u32)?;
            }
            InstKind::Call {
                callee,
                ret,
                env,
                args,
                variadic_from,
            } => self.call(inst, callee, *ret, env.as_ref(), args, *variadic_from)?,
            InstKind::VaStart { ap } => {
                let Some(va) = self.varargs_local else {
                    bail!("`vastart` in a function that is not variadic");
                };
                self.address(ap)?;
                self.ins(I::LocalGet(va));
                self.ins(I::I32Store(memarg(2)));
            }
            InstKind::VaArg { ap } => {
                let t = self.result_type(inst)?;
                // The pointer is advanced before the result is written:
                // the result may share a local with `ap`.
                let p = self.scratch(ValType::I32);
                self.address(ap)?;
                self.ins(I::I32Load(memarg(2)));
                if t.size() == 8 {
                    self.ins(I::I32Const(7));
                    self.ins(I::I32Add);
                    self.ins(I::I32Const(-8));
                    self.ins(I::I32And);
                }
                self.ins(I::LocalSet(p));
                self.address(ap)?;
                self.ins(I::LocalGet(p));
                self.ins(I::I32Const(t.size() as i32));
                self.ins(I::I32Add);
                self.ins(I::I32Store(memarg(2)));
                self.ins(I::LocalGet(p));
                self.ins(match t {
                    BaseType::W => I::I32Load(memarg(2)),
                    BaseType::L => I::I64Load(memarg(3)),
                    BaseType::S => I::F32Load(memarg(2)),
                    BaseType::D => I::F64Load(memarg(3)),
                });
                self.set_result(inst.result);
            }
            InstKind::DbgLoc { .. } => {}
        }
        Ok(())
    }

    /// A load of `kind` into a `t` from the address on the stack plus `offset`.
    fn load(&mut self, kind: LoadKind, t: BaseType, offset: u32) -> Result<()> {
        let memarg = |align| memarg_at(align, offset);
        use BaseType::{D, L, S, W};
        let i = match (kind, t) {
            (LoadKind::Sb, W) => I::I32Load8S(memarg(0)),
            (LoadKind::Ub, W) => I::I32Load8U(memarg(0)),
            (LoadKind::Sh, W) => I::I32Load16S(memarg(1)),
            (LoadKind::Uh, W) => I::I32Load16U(memarg(1)),
            (LoadKind::Sw | LoadKind::Uw, W) => I::I32Load(memarg(2)),
            (LoadKind::Sb, L) => I::I64Load8S(memarg(0)),
            (LoadKind::Ub, L) => I::I64Load8U(memarg(0)),
            (LoadKind::Sh, L) => I::I64Load16S(memarg(1)),
            (LoadKind::Uh, L) => I::I64Load16U(memarg(1)),
            (LoadKind::Sw, L) => I::I64Load32S(memarg(2)),
            (LoadKind::Uw, L) => I::I64Load32U(memarg(2)),
            (LoadKind::L, L) => I::I64Load(memarg(3)),
            // Little-endian: the low half is the word at the address.
            (LoadKind::L, W) => I::I32Load(memarg(2)),
            (LoadKind::S, S) => I::F32Load(memarg(2)),
            (LoadKind::D, D) => I::F64Load(memarg(3)),
            (LoadKind::S, W) => I::I32Load(memarg(2)),
            (LoadKind::D, L) => I::I64Load(memarg(3)),
            _ => bail!("cannot load {kind:?} into a `{t}`"),
        };
        self.ins(i);
        Ok(())
    }

    fn unary(&mut self, op: UnOp, arg: &Operand, t: BaseType) -> Result<()> {
        use BaseType::{D, L, S, W};
        match op {
            UnOp::Neg => match t {
                W => {
                    self.ins(I::I32Const(0));
                    self.operand(arg, W)?;
                    self.ins(I::I32Sub);
                }
                L => {
                    self.ins(I::I64Const(0));
                    self.operand(arg, L)?;
                    self.ins(I::I64Sub);
                }
                S => {
                    self.operand(arg, S)?;
                    self.ins(I::F32Neg);
                }
                D => {
                    self.operand(arg, D)?;
                    self.ins(I::F64Neg);
                }
            },
            UnOp::Extsb | UnOp::Extub | UnOp::Extsh | UnOp::Extuh => {
                self.operand(arg, W)?;
                let (k, signed) = match op {
                    UnOp::Extsb => (SubWord::Sb, true),
                    UnOp::Extub => (SubWord::Ub, false),
                    UnOp::Extsh => (SubWord::Sh, true),
                    _ => (SubWord::Uh, false),
                };
                self.extend_subword(k);
                if t == L {
                    self.ins(if signed {
                        I::I64ExtendI32S
                    } else {
                        I::I64ExtendI32U
                    });
                }
            }
            UnOp::Extsw | UnOp::Extuw => {
                self.operand(arg, W)?;
                if t == L {
                    self.ins(if op == UnOp::Extsw {
                        I::I64ExtendI32S
                    } else {
                        I::I64ExtendI32U
                    });
                }
            }
            UnOp::Exts => {
                self.operand(arg, S)?;
                self.ins(I::F64PromoteF32);
            }
            UnOp::Truncd => {
                self.operand(arg, D)?;
                self.ins(I::F32DemoteF64);
            }
            UnOp::Stosi | UnOp::Stoui | UnOp::Dtosi | UnOp::Dtoui => {
                let from = if matches!(op, UnOp::Stosi | UnOp::Stoui) {
                    S
                } else {
                    D
                };
                let signed = matches!(op, UnOp::Stosi | UnOp::Dtosi);
                self.operand(arg, from)?;
                self.ins(match (from, t, signed) {
                    (S, W, true) => I::I32TruncSatF32S,
                    (S, W, false) => I::I32TruncSatF32U,
                    (S, L, true) => I::I64TruncSatF32S,
                    (S, L, false) => I::I64TruncSatF32U,
                    (D, W, true) => I::I32TruncSatF64S,
                    (D, W, false) => I::I32TruncSatF64U,
                    (D, L, true) => I::I64TruncSatF64S,
                    (D, L, false) => I::I64TruncSatF64U,
                    _ => bail!("float to integer conversion into a `{t}`"),
                });
            }
            UnOp::Swtof | UnOp::Uwtof | UnOp::Sltof | UnOp::Ultof => {
                let from = if matches!(op, UnOp::Swtof | UnOp::Uwtof) {
                    W
                } else {
                    L
                };
                let signed = matches!(op, UnOp::Swtof | UnOp::Sltof);
                self.operand(arg, from)?;
                self.ins(match (from, t, signed) {
                    (W, S, true) => I::F32ConvertI32S,
                    (W, S, false) => I::F32ConvertI32U,
                    (W, D, true) => I::F64ConvertI32S,
                    (W, D, false) => I::F64ConvertI32U,
                    (L, S, true) => I::F32ConvertI64S,
                    (L, S, false) => I::F32ConvertI64U,
                    (L, D, true) => I::F64ConvertI64S,
                    (L, D, false) => I::F64ConvertI64U,
                    _ => bail!("integer to float conversion into a `{t}`"),
                });
            }
            UnOp::Cast => {
                let from = match t {
                    W => S,
                    L => D,
                    S => W,
                    D => L,
                };
                self.operand(arg, from)?;
                self.ins(match t {
                    W => I::I32ReinterpretF32,
                    L => I::I64ReinterpretF64,
                    S => I::F32ReinterpretI32,
                    D => I::F64ReinterpretI64,
                });
            }
            UnOp::Copy => self.operand(arg, t)?,
        }
        Ok(())
    }

    /// Pushes one argument as the callee expects it.
    fn push_arg(&mut self, a: &CallArg) -> Result<()> {
        match a.ty {
            AbiType::Base(b) => self.operand(&a.value, b),
            AbiType::SubWord(k) => {
                self.operand(&a.value, BaseType::W)?;
                self.extend_subword(k);
                Ok(())
            }
            AbiType::Agg(id) => match abi::agg_passing(self.types, id) {
                AggPassing::Scalar(e) => {
                    self.address(&a.value)?;
                    self.load_ext(e);
                    Ok(())
                }
                AggPassing::Memory => {
                    let slot = self.copy_aggregate(&a.value, id)?;
                    self.frame_address(slot);
                    Ok(())
                }
            },
        }
    }

    /// Copies an aggregate into a fresh frame slot; returns the slot.
    fn copy_aggregate(&mut self, src: &Operand, id: skc_ir::types::TypeId) -> Result<u32> {
        let def = self.types.get(id);
        let (size, align) = (def.size, def.align);
        let slot = self.alloc_slot(size, align)?;
        if size <= copy::INLINE_LIMIT {
            self.copy_bytes(Place::Frame(slot), src, size as u32)?;
            return Ok(slot);
        }
        self.frame_address(slot);
        self.address(src)?;
        self.ins(I::I32Const(size as i32));
        self.ins(I::MemoryCopy {
            src_mem: 0,
            dst_mem: 0,
        });
        Ok(slot)
    }

    fn call(
        &mut self,
        inst: &Inst,
        callee: &Operand,
        ret: Option<AbiType>,
        env: Option<&Operand>,
        args: &[CallArg],
        variadic_from: Option<usize>,
    ) -> Result<()> {
        let split = variadic_from.unwrap_or(args.len()).min(args.len());
        let (fixed, varargs) = args.split_at(split);
        let direct = match callee {
            Operand::Const(Const::Addr { sym, offset: 0 }) | Operand::Const(Const::Extern(sym)) => {
                Some(sym.as_str())
            }
            _ => None,
        };
        if let Some(which) = direct.and_then(Intrinsic::from_name) {
            return self.setjmp_intrinsic(which, inst, args);
        }
        if direct.is_some_and(setjmp::is_longjmp) {
            self.longjmp(args)?;
            self.return_if_unwinding();
            return Ok(());
        }
        // A function this file defined already is its own, whatever its
        // name (a file's later definitions: see `note_library_call`).
        let library = direct.filter(|name| !self.obj.is_defined(name));
        let adapted =
            library.and_then(|name| lp64::adapt_call(name, fixed, ret, variadic_from.is_some()));
        if let (Some(name), Some(_)) = (library, &adapted) {
            self.obj.note_library_call(name);
        }
        let (mut params, mut results) = abi::signature(
            self.types,
            ret,
            fixed.iter().map(|a| a.ty),
            variadic_from.is_some(),
        );
        if let Some(a) = &adapted {
            a.adjust_params(&mut params, &mut results);
        }
        if let Some(e) = env {
            let slot = self.obj.env_slot()?;
            self.symbol_id_address(slot, 0);
            self.operand(e, BaseType::L)?;
            self.ins(I::I64Store(memarg(3)));
        }
        let in_place = inst
            .result
            .is_some_and(|r| self.built_in_place.get(r.index()).copied().unwrap_or(false));
        let sret_slot = match ret {
            Some(AbiType::Agg(_)) if in_place => {
                let sret = self
                    .sret_local
                    .ok_or_else(|| anyhow!("internal error: no result pointer to build in"))?;
                self.ins(I::LocalGet(sret));
                None
            }
            Some(AbiType::Agg(id)) if abi::returns_via_pointer(self.types, ret) => {
                let def = self.types.get(id);
                let slot = self.alloc_slot(def.size, def.align)?;
                self.frame_address(slot);
                Some(slot)
            }
            _ => None,
        };
        for (i, a) in fixed.iter().enumerate() {
            if adapted.as_ref().is_some_and(|a| a.narrows(i)) {
                // The callee takes the low half of this `l`.
                self.operand(&a.value, BaseType::W)?;
            } else {
                self.push_arg(a)?;
            }
        }
        if variadic_from.is_some() {
            self.variadic_buffer(varargs)?;
        } else if adapted.as_ref().is_some_and(|a| a.empty_varargs) {
            self.ins(I::I32Const(0));
        }
        let original = direct;
        let direct = adapted.as_ref().map(|a| a.symbol).or(direct);
        match direct {
            Some(name) => {
                let sym = self.obj.symbol(name);
                let site = self.obj.note_call(sym, &params, &results);
                if let Some(original) = original.filter(|&o| o != name) {
                    // Should the module define `original` itself, the
                    // call is its own, not the C library's.
                    self.obj.note_redirected_call(sym, site, original);
                }
                self.code.push(0x10);
                self.reloc_here(CodeRelocKind::Call(sym, site));
                self.code.extend_from_slice(&leb::padded_u32(0));
                if inst.result.is_none() && results.is_empty() {
                    self.reloc_here(CodeRelocKind::DropIfResult(sym, site));
                    self.ins(I::Nop);
                }
                if let (Some(_), [ty]) = (inst.result, results.as_slice()) {
                    let mut code = Vec::new();
                    ty.encode(&mut code);
                    let code = code.first().copied().unwrap_or(0x7f);
                    self.reloc_here(CodeRelocKind::ZeroIfNoResult(sym, code, site));
                    for _ in crate::object::zero_constant(code) {
                        self.ins(I::Nop);
                    }
                }
            }
            None => {
                self.address(callee)?;
                let ty = self.obj.type_index(&params, &results);
                self.code.push(0x11);
                self.reloc_here(CodeRelocKind::TypeIndex(ty));
                self.code.extend_from_slice(&leb::padded_u32(ty));
                self.reloc_here(CodeRelocKind::Table);
                self.code.extend_from_slice(&leb::padded_u32(0));
            }
        }
        if setjmp::may_unwind(original) {
            self.return_if_unwinding();
        }
        if in_place {
            // The result is already where `ret` would copy it.
            return Ok(());
        }
        match (inst.result, ret) {
            (Some(r), Some(AbiType::Agg(id))) => {
                let slot = match sret_slot {
                    Some(s) => s,
                    None => {
                        let AggPassing::Scalar(e) = abi::agg_passing(self.types, id) else {
                            bail!("internal error: aggregate result without a slot");
                        };
                        let tmp = self.scratch(abi::ext_val_type(e));
                        self.ins(I::LocalSet(tmp));
                        let def = self.types.get(id);
                        let slot = self.alloc_slot(def.size, def.align)?;
                        self.frame_address(slot);
                        self.ins(I::LocalGet(tmp));
                        self.store_ext(e);
                        slot
                    }
                };
                self.frame_address(slot);
                self.convert(BaseType::W, self.f.value_type(r))?;
                self.set_result(Some(r));
            }
            (Some(r), Some(_)) => {
                let widen = adapted.as_ref().and_then(|a| a.widen.clone());
                match widen {
                    // The callee's 32-bit result is the narrowed value.
                    Some(_) if self.is_narrowed(r) => {}
                    Some(widen) => self.ins(widen),
                    None if self.is_narrowed(r) => self.ins(I::I32WrapI64),
                    None => {}
                }
                self.set_result(Some(r));
            }
            (None, _) => {
                if !results.is_empty() {
                    self.ins(I::Drop);
                }
            }
            (Some(_), None) => bail!("call result bound without a return type"),
        }
        Ok(())
    }

    /// A call of the runtime's `void name(i32)`, its argument on the stack.
    fn call_runtime_with_address(&mut self, name: &str) {
        let sym = self.obj.symbol(name);
        let site = self.obj.note_call(sym, &[ValType::I32], &[]);
        self.code.push(0x10);
        self.reloc_here(CodeRelocKind::Call(sym, site));
        self.code.extend_from_slice(&leb::padded_u32(0));
    }

    /// `global.get` or `global.set` of [`setjmp::PENDING_GLOBAL`].
    fn pending_global(&mut self, set: bool) {
        self.obj.use_longjmp_pending();
        self.code.push(if set { 0x24 } else { 0x23 });
        self.reloc_here(CodeRelocKind::LongjmpPending);
        self.code.extend_from_slice(&leb::padded_u32(0));
    }

    /// After a call that can reach a `longjmp`: while one unwinds, return
    /// (with zeros; the caller does the same) or, from `main`, trap: its
    /// target's function has returned. A resumable function has its own
    /// tests, to resume rather than return.
    fn return_if_unwinding(&mut self) {
        if self.resumable {
            return;
        }
        self.pending_global(false);
        self.ins(I::If(BlockType::Empty));
        if self.main == MainKind::No {
            for t in self.results.clone() {
                self.ins(match t {
                    ValType::I64 => I::I64Const(0),
                    ValType::F32 => I::F32Const(0.0.into()),
                    ValType::F64 => I::F64Const(0.0.into()),
                    _ => I::I32Const(0),
                });
            }
            self.ins(I::Return);
        } else {
            self.ins(I::Unreachable);
        }
        self.ins(I::End);
    }

    /// `longjmp(buf, v)`: `buf` becomes the pending target, resumed with
    /// `v`, or 1 for 0.
    fn longjmp(&mut self, args: &[CallArg]) -> Result<()> {
        let zero = Operand::Const(Const::Int(0));
        let jmp_buf = args.first().map_or(&zero, |a| &a.value);
        let value = args.get(1).map_or(&zero, |a| &a.value);
        let target = self.scratch(ValType::I32);
        self.operand(jmp_buf, BaseType::W)?;
        self.ins(I::LocalTee(target));
        self.call_runtime_with_address(setjmp::c_frames::CHECK);
        self.ins(I::LocalGet(target));
        let v = self.new_local(ValType::I32);
        self.operand(value, BaseType::W)?;
        self.ins(I::LocalTee(v));
        self.ins(I::I32Const(1));
        self.ins(I::LocalGet(v));
        self.ins(I::Select);
        self.ins(I::I32Store(memarg_at(2, setjmp::buf::VALUE)));
        self.ins(I::LocalGet(target));
        self.pending_global(true);
        Ok(())
    }

    /// The operations of [`setjmp::lower`]'s rewrite.
    fn setjmp_intrinsic(&mut self, which: Intrinsic, inst: &Inst, args: &[CallArg]) -> Result<()> {
        let zero = Operand::Const(Const::Int(0));
        let arg = |i: usize| args.get(i).map_or(&zero, |a| &a.value);
        match which {
            Intrinsic::Pending => self.pending_global(false),
            Intrinsic::Record => {
                let target = self.scratch(ValType::I32);
                self.operand(arg(0), BaseType::W)?;
                self.ins(I::LocalTee(target));
                self.operand(arg(1), BaseType::W)?;
                self.ins(I::I32Store(memarg_at(2, setjmp::buf::ACTIVATION)));
                self.ins(I::LocalGet(target));
                self.operand(arg(2), BaseType::W)?;
                self.ins(I::I32Store(memarg_at(2, setjmp::buf::SITE)));
                self.ins(I::LocalGet(target));
                self.stack_pointer(false);
                self.ins(I::I32Store(memarg_at(2, setjmp::buf::STACK_POINTER)));
                self.ins(I::LocalGet(target));
                self.call_runtime_with_address(setjmp::c_frames::RECORD);
                return Ok(());
            }
            Intrinsic::Catch => {
                self.pending_global(false);
                self.ins(I::I32Load(memarg_at(2, setjmp::buf::ACTIVATION)));
                self.operand(arg(0), BaseType::W)?;
                self.ins(I::I32Eq);
                self.ins(I::If(BlockType::Result(ValType::I32)));
                self.pending_global(false);
                self.ins(I::I32Load(memarg_at(2, setjmp::buf::SITE)));
                self.ins(I::Else);
                self.ins(I::I32Const(0));
                self.ins(I::End);
            }
            Intrinsic::Resume => {
                self.pending_global(false);
                self.ins(I::I32Load(memarg_at(2, setjmp::buf::STACK_POINTER)));
                self.stack_pointer(true);
                self.pending_global(false);
                self.ins(I::I32Load(memarg_at(2, setjmp::buf::VALUE)));
                self.ins(I::I32Const(0));
                self.pending_global(true);
            }
        }
        self.set_result(inst.result);
        Ok(())
    }

    /// Lays the variadic arguments out in a frame buffer and pushes its
    /// address.
    fn variadic_buffer(&mut self, varargs: &[CallArg]) -> Result<()> {
        // (offset, how to store) for each argument.
        let mut layout = Vec::with_capacity(varargs.len());
        let mut size = 0u32;
        for a in varargs {
            let (bytes, ext) = match a.ty {
                AbiType::Base(b) => (b.size(), base_ext(b)),
                AbiType::SubWord(_) => (4, ExtType::W),
                AbiType::Agg(id) => match abi::agg_passing(self.types, id) {
                    AggPassing::Scalar(e) => (e.size().max(4), e),
                    AggPassing::Memory => (4, ExtType::W),
                },
            };
            let off = size.div_ceil(bytes) * bytes;
            layout.push((off, ext));
            size = off + bytes;
        }
        let buf = self.alloc_slot(u64::from(size), 16)?;
        for (a, &(off, ext)) in varargs.iter().zip(&layout) {
            match a.ty {
                AbiType::Agg(id) if abi::agg_passing(self.types, id) == AggPassing::Memory => {
                    let copy = self.copy_aggregate(&a.value, id)?;
                    self.frame_address(buf + off);
                    self.frame_address(copy);
                    self.ins(I::I32Store(memarg(2)));
                }
                AbiType::Agg(_) => {
                    self.frame_address(buf + off);
                    self.push_arg(a)?;
                    match ext {
                        ExtType::B | ExtType::H => self.store_ext(ExtType::W),
                        e => self.store_ext(e),
                    }
                }
                _ => {
                    self.frame_address(buf + off);
                    self.push_arg(a)?;
                    self.store_ext(ext);
                }
            }
        }
        self.frame_address(buf);
        Ok(())
    }
}

/// The operand `phi` takes on the edge from block `from`; `hint` is
/// where in its list that edge's operand usually is.
fn phi_operand<'f>(
    f: &'f Function,
    phi: &'f Phi,
    from: usize,
    hint: Option<usize>,
) -> Result<&'f Operand> {
    hint.and_then(|i| phi.args.get(i))
        .filter(|(b, _)| b.index() == from)
        .or_else(|| phi.args.iter().find(|(b, _)| b.index() == from))
        .map(|(_, op)| op)
        .ok_or_else(|| {
            anyhow!(
                "phi `%{}` in `${}` has no operand for block @{}",
                f.values[phi.result.index()].name,
                f.name,
                f.blocks[from].name
            )
        })
}

fn base_ext(b: BaseType) -> ExtType {
    match b {
        BaseType::W => ExtType::W,
        BaseType::L => ExtType::L,
        BaseType::S => ExtType::S,
        BaseType::D => ExtType::D,
    }
}

/// The one-byte encodings of [`binary`] and [`compare`] by operator and
/// type slot (0 where there is none), so the hot path writes a byte
/// rather than building and encoding an `Instruction`.
struct OpcodeBytes {
    binary: [[u8; 4]; 32],
    compare: [[u8; 4]; 32],
}

/// Built once from wasm-encoder's own encoding, so the bytes cannot
/// differ from it; operators not listed here take the slow path.
fn opcode_bytes() -> &'static OpcodeBytes {
    static BYTES: std::sync::OnceLock<OpcodeBytes> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        use BaseType::{D, L, S, W};
        fn one_byte(i: Result<I<'static>>) -> u8 {
            let mut out = Vec::new();
            if let Ok(i) = i {
                i.encode(&mut out);
            }
            match out[..] {
                [b] => b,
                _ => 0,
            }
        }
        let mut bytes = OpcodeBytes {
            binary: [[0; 4]; 32],
            compare: [[0; 4]; 32],
        };
        let binops = [
            BinOp::Add,
            BinOp::Sub,
            BinOp::Mul,
            BinOp::Div,
            BinOp::Rem,
            BinOp::Udiv,
            BinOp::Urem,
            BinOp::And,
            BinOp::Or,
            BinOp::Xor,
            BinOp::Sar,
            BinOp::Shr,
            BinOp::Shl,
        ];
        let cmpops = [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Sle,
            CmpOp::Slt,
            CmpOp::Sge,
            CmpOp::Sgt,
            CmpOp::Ule,
            CmpOp::Ult,
            CmpOp::Uge,
            CmpOp::Ugt,
            CmpOp::Le,
            CmpOp::Lt,
            CmpOp::Ge,
            CmpOp::Gt,
        ];
        for t in [W, L, S, D] {
            let slot = locals::type_slot(t);
            for op in binops {
                if let Some(row) = bytes.binary.get_mut(op as usize) {
                    row[slot] = one_byte(binary(op, t));
                }
            }
            for op in cmpops {
                if let Some(row) = bytes.compare.get_mut(op as usize) {
                    row[slot] = one_byte(compare(op, t));
                }
            }
        }
        bytes
    })
}

fn binary(op: BinOp, t: BaseType) -> Result<I<'static>> {
    use BaseType::{D, L, S, W};
    Ok(match (op, t) {
        (BinOp::Add, W) => I::I32Add,
        (BinOp::Sub, W) => I::I32Sub,
        (BinOp::Mul, W) => I::I32Mul,
        (BinOp::Div, W) => I::I32DivS,
        (BinOp::Rem, W) => I::I32RemS,
        (BinOp::Udiv, W) => I::I32DivU,
        (BinOp::Urem, W) => I::I32RemU,
        (BinOp::And, W) => I::I32And,
        (BinOp::Or, W) => I::I32Or,
        (BinOp::Xor, W) => I::I32Xor,
        (BinOp::Sar, W) => I::I32ShrS,
        (BinOp::Shr, W) => I::I32ShrU,
        (BinOp::Shl, W) => I::I32Shl,
        (BinOp::Add, L) => I::I64Add,
        (BinOp::Sub, L) => I::I64Sub,
        (BinOp::Mul, L) => I::I64Mul,
        (BinOp::Div, L) => I::I64DivS,
        (BinOp::Rem, L) => I::I64RemS,
        (BinOp::Udiv, L) => I::I64DivU,
        (BinOp::Urem, L) => I::I64RemU,
        (BinOp::And, L) => I::I64And,
        (BinOp::Or, L) => I::I64Or,
        (BinOp::Xor, L) => I::I64Xor,
        (BinOp::Sar, L) => I::I64ShrS,
        (BinOp::Shr, L) => I::I64ShrU,
        (BinOp::Shl, L) => I::I64Shl,
        (BinOp::Add, S) => I::F32Add,
        (BinOp::Sub, S) => I::F32Sub,
        (BinOp::Mul, S) => I::F32Mul,
        (BinOp::Div, S) => I::F32Div,
        (BinOp::Add, D) => I::F64Add,
        (BinOp::Sub, D) => I::F64Sub,
        (BinOp::Mul, D) => I::F64Mul,
        (BinOp::Div, D) => I::F64Div,
        _ => bail!("`{op:?}` is not defined on `{t}`"),
    })
}

fn compare(op: CmpOp, t: BaseType) -> Result<I<'static>> {
    use BaseType::{D, L, S, W};
    Ok(match (op, t) {
        (CmpOp::Eq, W) => I::I32Eq,
        (CmpOp::Ne, W) => I::I32Ne,
        (CmpOp::Sle, W) => I::I32LeS,
        (CmpOp::Slt, W) => I::I32LtS,
        (CmpOp::Sge, W) => I::I32GeS,
        (CmpOp::Sgt, W) => I::I32GtS,
        (CmpOp::Ule, W) => I::I32LeU,
        (CmpOp::Ult, W) => I::I32LtU,
        (CmpOp::Uge, W) => I::I32GeU,
        (CmpOp::Ugt, W) => I::I32GtU,
        (CmpOp::Eq, L) => I::I64Eq,
        (CmpOp::Ne, L) => I::I64Ne,
        (CmpOp::Sle, L) => I::I64LeS,
        (CmpOp::Slt, L) => I::I64LtS,
        (CmpOp::Sge, L) => I::I64GeS,
        (CmpOp::Sgt, L) => I::I64GtS,
        (CmpOp::Ule, L) => I::I64LeU,
        (CmpOp::Ult, L) => I::I64LtU,
        (CmpOp::Uge, L) => I::I64GeU,
        (CmpOp::Ugt, L) => I::I64GtU,
        (CmpOp::Eq, S) => I::F32Eq,
        (CmpOp::Ne, S) => I::F32Ne,
        (CmpOp::Le, S) => I::F32Le,
        (CmpOp::Lt, S) => I::F32Lt,
        (CmpOp::Ge, S) => I::F32Ge,
        (CmpOp::Gt, S) => I::F32Gt,
        (CmpOp::Eq, D) => I::F64Eq,
        (CmpOp::Ne, D) => I::F64Ne,
        (CmpOp::Le, D) => I::F64Le,
        (CmpOp::Lt, D) => I::F64Lt,
        (CmpOp::Ge, D) => I::F64Ge,
        (CmpOp::Gt, D) => I::F64Gt,
        _ => bail!("comparison `{op:?}` is not defined on `{t}`"),
    })
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
    fn operator_bytes_match_the_wasm_opcodes() {
        use skc_ir::ir::{BinOp, CmpOp};
        let bytes = super::opcode_bytes();
        // i32.add, i64.shl, f64.div; i32.eq, i64.gt_u, f32.lt (wasm spec).
        assert_eq!(bytes.binary[BinOp::Add as usize][0], 0x6a);
        assert_eq!(bytes.binary[BinOp::Shl as usize][1], 0x86);
        assert_eq!(bytes.binary[BinOp::Div as usize][3], 0xa3);
        assert_eq!(bytes.compare[CmpOp::Eq as usize][0], 0x46);
        assert_eq!(bytes.compare[CmpOp::Ugt as usize][1], 0x56);
        assert_eq!(bytes.compare[CmpOp::Lt as usize][2], 0x5d);
        // Operators without a float form have no byte there.
        assert_eq!(bytes.binary[BinOp::Xor as usize][2], 0);
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
