//! The reference interpreter: runs a verified module by the semantics of
//! docs/ir.md, so that "correct" has a definition independent of any
//! backend.
//!
//! Memory is LP64 and byte-addressed, each allocation with its bounds
//! ([`memory`]); arithmetic follows the semantics skc defines ([`ops`]).
//! Undefined behaviour is reported, not guessed: division by zero or of
//! the minimum by -1, an access outside every live allocation, a call of
//! something that is not a function, `hlt`. A program that reaches it is
//! not a valid differential test. External calls go to a small built-in C
//! library ([`externals`]); anything else stops the run as unsupported.
//!
//! Whole modules are held in memory: this is a reference for tests and
//! program generators, not a target.
//!
//! Close to 1,000 lines: the machine (module-wide state, calls) and one
//! activation's execution (`Frame`) call each other, so they share this
//! file rather than import each other from two.

mod externals;
mod memory;
mod ops;
mod printf;
mod stop;
mod va_list;

use std::collections::HashMap;
use std::io::Write;

use crate::ir::types::TypeTable;
use crate::ir::{
    AbiType, BaseType, Const, DataItem, DataValue, ExtType, Function, InstKind, Item, LoadKind,
    Operand, StoreKind, Terminator, Value,
};
use crate::reader::Module;

use memory::Memory;
pub use stop::Stop;
use stop::{Exit, Site};
use va_list::VarArg;

/// How far a run may go.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Instructions executed.
    pub steps: u64,
    /// Bytes allocated at once.
    pub memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            steps: 1 << 32,
            memory: 1 << 30,
        }
    }
}

/// Runs `main` with `args` (after the program name `prog`), writing what
/// it prints to `out`: its exit status (the low 8 bits of `main`'s result
/// or `exit`'s argument), or why it stopped.
pub fn run(
    module: &Module,
    args: &[&str],
    out: &mut (dyn Write + Send),
    limits: Limits,
) -> Result<i32, Stop> {
    run_to_exit(module, args, out, limits).map(|status| status & 0xff)
}

/// [`run`], with all 32 bits of `main`'s result or `exit`'s argument
/// (WASI refuses statuses outside 0..=125 where a process keeps the low
/// 8 bits, so whether a status is portable depends on all of them).
pub fn run_to_exit(
    module: &Module,
    args: &[&str],
    out: &mut (dyn Write + Send),
    limits: Limits,
) -> Result<i32, Stop> {
    // Each call of the program is a few calls of the interpreter: a
    // thread of its own with room for `MAX_DEPTH` of them, whatever the
    // caller's stack.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("skc-interpreter".into())
            .stack_size(INTERPRETER_STACK)
            .spawn_scoped(scope, || run_here(module, args, out, limits))
            .map_err(|e| Stop::Limit(format!("cannot start the interpreter's thread: {e}")))?
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// How deep calls may nest: deeper than C programs recurse in practice,
/// and what the interpreter's stack holds even unoptimised.
const MAX_DEPTH: u32 = 30_000;

/// The interpreter thread's stack (address space; pages are used as the
/// calls reach them).
const INTERPRETER_STACK: usize = 1 << 30;

fn run_here(
    module: &Module,
    args: &[&str],
    out: &mut (dyn Write + Send),
    limits: Limits,
) -> Result<i32, Stop> {
    let mut machine = Machine::new(module, out, limits)?;
    let main = *machine
        .functions
        .get("main")
        .ok_or_else(|| Stop::Unsupported("the module defines no `main`".into()))?;
    // argv: the strings, then the array of pointers, ending in null.
    let mut pointers = Vec::new();
    for a in std::iter::once("prog").chain(args.iter().copied()) {
        // Aligned no more than C promises: a string to 1, an array of
        // pointers to 8.
        let p = machine
            .memory
            .allocate_aligned(a.len() as u64 + 1, 1, "argument")?;
        machine
            .memory
            .bytes_mut(p, a.len() as u64)?
            .copy_from_slice(a.as_bytes());
        pointers.push(p);
    }
    let argv = machine
        .memory
        .allocate_aligned(8 * (pointers.len() as u64 + 1), 8, "argv")?;
    for (i, p) in pointers.iter().enumerate() {
        machine.memory.write(argv + 8 * i as u64, 8, *p)?;
    }
    let argc = pointers.len() as u64;
    // An empty environment.
    let envp = machine.memory.allocate_aligned(8, 8, "envp")?;
    let result = machine
        .run_array(".init_array", false)
        .and_then(|()| {
            let args = [Arg::Scalar(argc), Arg::Scalar(argv), Arg::Scalar(envp)];
            machine.call(main, &args, &[])
        })
        .map(|v| v.unwrap_or(0) as i32)
        .or_else(|e| match e {
            Exit::Exited(status) => Ok(status),
            other => Err(other),
        })
        .and_then(|status| machine.run_array(".fini_array", true).map(|()| status));
    machine.out.flush().ok();
    match result {
        Ok(status) | Err(Exit::Exited(status)) => Ok(status),
        Err(Exit::Stopped(stop)) => Err(stop),
        Err(Exit::LongJmp { .. }) => Err(longjmp_to_returned()),
    }
}

fn longjmp_to_returned() -> Stop {
    Stop::Undefined("`longjmp` to a `setjmp` whose function has returned".into())
}

fn placement_dependent() -> Stop {
    Stop::Unsupported(
        "a bitwise operation on an address that depends on where its allocation is placed".into(),
    )
}

/// What the message about an unset value calls it.
const LEFT_UNDEFINED: &str = "an undefined value (read from memory never written, or bound from a \
     call of a function that returns nothing)";

/// An argument as a call passes it.
#[derive(Clone, Copy)]
enum Arg {
    Scalar(u64),
    /// The address of an aggregate's bytes and their size.
    Aggregate(u64, u64),
}

impl Arg {
    fn bits(self) -> u64 {
        match self {
            Arg::Scalar(v) | Arg::Aggregate(v, _) => v,
        }
    }
}

struct Machine<'m> {
    items: &'m [Item],
    types: &'m TypeTable,
    /// Defined functions by name, as indices into `bodies`.
    functions: HashMap<&'m str, usize>,
    bodies: Vec<&'m Function>,
    /// Data symbols' addresses.
    data: HashMap<&'m str, u64>,
    /// Names of external functions that have been given an address.
    externals: Vec<String>,
    memory: Memory,
    out: &'m mut dyn Write,
    steps_left: u64,
    /// The argument layouts of active variadic calls.
    va_layouts: Vec<va_list::Layout>,
    /// Activations begun so far, which numbers them.
    activations: u64,
    /// Activations under way.
    depth: u32,
    /// The call being made, for `setjmp` to record.
    calling_from: Option<Site>,
}

impl<'m> Machine<'m> {
    fn new(module: &'m Module, out: &'m mut dyn Write, limits: Limits) -> Result<Self, Stop> {
        let mut m = Machine {
            items: &module.items,
            types: &module.types,
            functions: HashMap::new(),
            bodies: Vec::new(),
            data: HashMap::new(),
            externals: Vec::new(),
            memory: Memory::new(limits.memory),
            out,
            steps_left: limits.steps,
            va_layouts: Vec::new(),
            activations: 0,
            depth: 0,
            calling_from: None,
        };
        for item in &module.items {
            match item {
                Item::Function(f) => {
                    m.functions.insert(f.name.as_str(), m.bodies.len());
                    m.bodies.push(f);
                }
                Item::Data(d) => {
                    let size = d.size().max(1);
                    // Without `align`, the 8 bytes targets give data.
                    let align = d.align.map_or(8, u64::from);
                    let address = m.memory.allocate_aligned(size, align, "data item")?;
                    m.data.insert(d.name.as_str(), address);
                }
                _ => {}
            }
        }
        // Contents after every address is known.
        for item in &module.items {
            if let Item::Data(d) = item {
                let mut at = m.data[d.name.as_str()];
                for piece in &d.items {
                    match piece {
                        DataItem::Zero(n) => at += n,
                        DataItem::Values { ty, values } => {
                            for v in values {
                                at += m.write_data_value(at, *ty, v)?;
                            }
                        }
                    }
                }
            }
        }
        Ok(m)
    }

    fn write_data_value(&mut self, at: u64, ty: ExtType, v: &DataValue) -> Result<u64, Stop> {
        let size = u64::from(ty.size());
        let bits = match v {
            DataValue::Str(s) => {
                self.memory
                    .bytes_mut(at, s.len() as u64)?
                    .copy_from_slice(s);
                return Ok(s.len() as u64);
            }
            DataValue::Int(n) => *n as u64,
            DataValue::Single(x) => u64::from(x.to_bits()),
            DataValue::Double(x) if ty == ExtType::S => u64::from((*x as f32).to_bits()),
            DataValue::Double(x) => x.to_bits(),
            DataValue::Addr { sym, offset } => {
                self.symbol_address(sym)?.wrapping_add(*offset as u64)
            }
        };
        self.memory.write(at, size, bits)?;
        Ok(size)
    }

    /// Calls every function whose address is in a data item placed in
    /// `section` or `section.N`: lower priorities N first (65535 without
    /// one), in order within an item; `reverse` for destructors, which run
    /// higher priorities first and each item's last entry first.
    fn run_array(&mut self, section: &str, reverse: bool) -> Result<(), Exit> {
        let mut entries: Vec<(u32, usize, u64)> = Vec::new();
        for item in self.items {
            let Item::Data(d) = item else { continue };
            let Some(s) = &d.linkage.section else {
                continue;
            };
            let priority = match s.name.strip_prefix(section) {
                Some("") => 65535,
                Some(rest) => match rest.strip_prefix('.').and_then(|n| n.parse().ok()) {
                    Some(p) => p,
                    None => continue,
                },
                None => continue,
            };
            let base = self.data[d.name.as_str()];
            for k in 0..d.size() / 8 {
                let f = self.memory.read(base + 8 * k, 8)?;
                entries.push((priority, entries.len(), f));
            }
        }
        entries.sort();
        if reverse {
            entries.reverse();
        }
        for (_, _, f) in entries {
            let index = Memory::function_at(f).ok_or_else(|| {
                Stop::Undefined(format!("{section} holds {f:#x}, which is not a function"))
            })?;
            self.call(index, &[], &[])?;
        }
        Ok(())
    }

    /// A symbol's address: data, a defined function, or a C function of
    /// the built-in library.
    fn symbol_address(&mut self, name: &str) -> Result<u64, Stop> {
        if let Some(&a) = self.data.get(name) {
            return Ok(a);
        }
        if let Some(&i) = self.functions.get(name) {
            return Ok(Memory::function_address(i));
        }
        if externals::exists(name) {
            let i = match self.externals.iter().position(|e| e == name) {
                Some(i) => i,
                None => {
                    self.externals.push(name.to_string());
                    self.externals.len() - 1
                }
            };
            return Ok(Memory::function_address(self.bodies.len() + i));
        }
        Err(Stop::Unsupported(format!(
            "`{name}` is neither defined in the module nor in the interpreter's C library"
        )))
    }

    /// Calls function `index` (a body, or past them an external).
    fn call(
        &mut self,
        index: usize,
        args: &[Arg],
        variadic: &[VarArg],
    ) -> Result<Option<u64>, Exit> {
        if index >= self.bodies.len() {
            let name = self.externals[index - self.bodies.len()].clone();
            return self.call_external(&name, args, variadic);
        }
        let f = self.bodies[index];
        if self.depth >= MAX_DEPTH {
            return Err(Stop::Limit(format!("calls nested more than {MAX_DEPTH} deep")).into());
        }
        self.depth += 1;
        let result = Frame::new(self, f)
            .map_err(Exit::from)
            .and_then(|frame| frame.run(self, args, variadic));
        self.depth -= 1;
        result
    }

    fn call_external(
        &mut self,
        name: &str,
        args: &[Arg],
        variadic: &[VarArg],
    ) -> Result<Option<u64>, Exit> {
        let scalars: Vec<u64> = args.iter().map(|a| a.bits()).collect();
        externals::call(self, name, &scalars, variadic)
    }
}

impl externals::Host for Machine<'_> {
    fn memory_and_va_layouts(&mut self) -> (&mut Memory, &[va_list::Layout]) {
        (&mut self.memory, &self.va_layouts)
    }

    fn output(&mut self) -> &mut dyn Write {
        self.out
    }

    fn calling_from(&self) -> Option<Site> {
        self.calling_from
    }

    fn call_comparator(&mut self, index: usize, x: u64, y: u64) -> Result<Option<u64>, Exit> {
        self.call(index, &[Arg::Scalar(x), Arg::Scalar(y)], &[])
    }
}

/// One activation of a function.
struct Frame<'m> {
    f: &'m Function,
    values: Vec<u64>,
    /// Stack allocations, freed at return.
    slots: Vec<u64>,
    /// Where this call's arguments are, if it is variadic.
    va_layout: Option<va_list::Layout>,
    /// Values whose bits are unspecified: results bound from calls of
    /// functions that return nothing, and what is computed from them.
    unset: Vec<bool>,
    /// For an unset value read from memory or copied from one: which of
    /// its bytes (bit `i` for byte `i`) were written. A structure copied
    /// in pieces that include padding carries its written bytes along;
    /// only a use of the value other than storing it is undefined.
    written_bytes: Vec<u8>,
    /// Whether the instruction just executed left its result undefined
    /// (a load of bytes never written, a call of a function that returns
    /// nothing).
    result_undefined: bool,
    /// Of a load that left its result undefined: the bytes it read that
    /// were written.
    result_written_bytes: u8,
    /// This activation's number.
    id: u64,
}

impl<'m> Frame<'m> {
    fn new(machine: &mut Machine<'m>, f: &'m Function) -> Result<Self, Stop> {
        machine.activations += 1;
        Ok(Frame {
            id: machine.activations,
            f,
            values: vec![0; f.values.len()],
            unset: vec![false; f.values.len()],
            written_bytes: vec![0; f.values.len()],
            result_undefined: false,
            result_written_bytes: 0,
            slots: Vec::new(),
            va_layout: None,
        })
    }

    fn run(
        mut self,
        m: &mut Machine<'m>,
        args: &[Arg],
        variadic: &[VarArg],
    ) -> Result<Option<u64>, Exit> {
        let mut result = self.body(m, args, variadic);
        // A returned aggregate usually lives in a slot about to be freed:
        // it leaves in a block of its own, which the caller frees.
        if let (Ok(Some(at)), Some(AbiType::Agg(t))) = (&result, self.f.ret) {
            let size = m.types.get(t).size;
            let moved = m.memory.allocate(size, "returned aggregate")?;
            m.memory.copy(*at, moved, size)?;
            result = Ok(Some(moved));
        }
        for slot in std::mem::take(&mut self.slots) {
            m.memory
                .free(slot, "leaving a function: freeing a stack slot")?;
        }
        if let Some(layout) = self.va_layout {
            m.va_layouts.retain(|l| l.save_area != layout.save_area);
            m.memory.free(layout.save_area, "leaving a function")?;
            m.memory.free(layout.overflow, "leaving a function")?;
        }
        result
    }

    fn body(
        &mut self,
        m: &mut Machine<'m>,
        args: &[Arg],
        variadic: &[VarArg],
    ) -> Result<Option<u64>, Exit> {
        let f = self.f;
        if args.len() < f.params.len() {
            return Err(Stop::Undefined(format!(
                "`{}` called with {} argument(s), it takes {}",
                f.name,
                args.len(),
                f.params.len()
            ))
            .into());
        }
        for (p, a) in f.params.iter().zip(args) {
            let v = match (p.ty, *a) {
                // The callee has its own copy of an aggregate.
                (AbiType::Agg(_), Arg::Aggregate(from, size)) => {
                    let copy = m.memory.allocate(size, "aggregate argument")?;
                    self.slots.push(copy);
                    m.memory.copy(from, copy, size)?;
                    copy
                }
                (AbiType::Agg(t), Arg::Scalar(from)) => {
                    let size = m.types.get(t).size;
                    let copy = m.memory.allocate(size, "aggregate argument")?;
                    self.slots.push(copy);
                    m.memory.copy(from, copy, size)?;
                    copy
                }
                (_, a) => a.bits(),
            };
            self.values[p.value.index()] = v;
        }
        if f.variadic {
            let layout = va_list::lay_out(&mut m.memory, f, m.types, variadic)?;
            m.va_layouts.push(layout);
            self.va_layout = Some(layout);
        }
        let mut block = 0usize;
        let mut previous: Option<usize> = None;
        // Where a `longjmp` back into this activation resumes.
        let mut resume: Option<usize> = None;
        loop {
            let data = &f.blocks[block];
            if let (Some(from), None) = (previous, resume) {
                // Phis read their operands before any of them is written.
                let mut picked = Vec::with_capacity(data.phis.len());
                for phi in &data.phis {
                    let (_, op) = phi
                        .args
                        .iter()
                        .find(|(b, _)| b.index() == from)
                        .ok_or_else(|| {
                            Stop::Undefined("a phi without an operand for the edge taken".into())
                        })?;
                    let unset = self.is_unset(op);
                    let written = self.written_bytes_of(op);
                    picked.push((
                        self.operand(m, op, f.value_type(phi.result))?,
                        unset,
                        written,
                    ));
                }
                for (phi, (v, unset, written)) in data.phis.iter().zip(picked) {
                    self.values[phi.result.index()] = v;
                    self.unset[phi.result.index()] = unset;
                    self.written_bytes[phi.result.index()] = written;
                }
            }
            let mut index = resume.take().unwrap_or(0);
            while let Some(inst) = data.insts.get(index) {
                index += 1;
                if m.steps_left == 0 {
                    return Err(Stop::Limit("the step limit was reached".into()).into());
                }
                m.steps_left -= 1;
                let located = |frame: &Self, e: Exit| match e {
                    Exit::Stopped(s) => Exit::Stopped(frame.locate(s, inst.pos.line, inst.pos.col)),
                    other => other,
                };
                let unset = self
                    .unset_result(&inst.kind)
                    .map_err(|s| located(self, s.into()))?;
                if let InstKind::Call { .. } = inst.kind {
                    m.calling_from = Some(Site {
                        frame: self.id,
                        block,
                        inst: index - 1,
                    });
                }
                self.result_undefined = false;
                self.result_written_bytes = 0;
                let result = match self.execute(m, &inst.kind, inst.result) {
                    Err(Exit::LongJmp { site, value }) if site.frame == self.id => {
                        // Back to just after the `setjmp` call, which now
                        // returns `value`.
                        let call = &f.blocks[site.block].insts[site.inst];
                        if let Some(r) = call.result {
                            self.values[r.index()] = value;
                            self.unset[r.index()] = false;
                        }
                        block = site.block;
                        resume = Some(site.inst + 1);
                        break;
                    }
                    other => other.map_err(|e| located(self, e))?,
                };
                if let (Some(r), Some(v)) = (inst.result, result) {
                    self.values[r.index()] = v;
                    self.unset[r.index()] = unset || self.result_undefined;
                    self.written_bytes[r.index()] = match &inst.kind {
                        InstKind::Unary {
                            op: crate::ir::UnOp::Copy,
                            arg,
                        } => self.written_bytes_of(arg),
                        _ if unset => 0,
                        _ => self.result_written_bytes,
                    };
                }
            }
            if resume.is_some() {
                continue;
            }
            let next = match &data.term {
                Terminator::Jmp(b) => b.index(),
                Terminator::Jnz {
                    cond,
                    nonzero,
                    zero,
                } => {
                    if self.is_unset(cond) {
                        let s = Stop::Undefined(format!("a branch on {LEFT_UNDEFINED}"));
                        return Err(self.locate(s, data.term_pos.line, data.term_pos.col).into());
                    }
                    let c = self.operand(m, cond, BaseType::W)?;
                    if c as u32 != 0 {
                        nonzero.index()
                    } else {
                        zero.index()
                    }
                }
                Terminator::Ret(v) => {
                    if v.as_ref().is_some_and(|op| self.is_unset(op)) {
                        let s = Stop::Undefined(format!("returning {LEFT_UNDEFINED}"));
                        return Err(self.locate(s, data.term_pos.line, data.term_pos.col).into());
                    }
                    return match (v, f.ret) {
                        (Some(op), Some(ty)) => Ok(Some(self.operand(m, op, ty.value_type())?)),
                        _ => Ok(None),
                    };
                }
                Terminator::Hlt => {
                    let s = Stop::Undefined("`hlt` was reached".into());
                    return Err(self.locate(s, data.term_pos.line, data.term_pos.col).into());
                }
            };
            previous = Some(block);
            block = next;
        }
    }

    fn locate(&self, s: Stop, line: u32, col: u32) -> Stop {
        let at = |m: String| format!("{m} (in `{}`, line {line}:{col})", self.f.name);
        match s {
            Stop::Undefined(m) if !m.contains(" (in `") => Stop::Undefined(at(m)),
            Stop::Unsupported(m) if !m.contains(" (in `") => Stop::Unsupported(at(m)),
            other => other,
        }
    }

    /// Refuses a bitwise operation on an address whose result depends on
    /// where the allocation is placed: bits at or above its alignment
    /// flipped, set or partly cleared. What stays the same wherever the
    /// allocation is: the low bits below the alignment (an integer), an
    /// address with such bits changed, and rounding down with a mask that
    /// keeps every bit above them.
    fn placement_independent(
        &self,
        m: &Machine<'m>,
        op: crate::ir::BinOp,
        a: u64,
        b: u64,
    ) -> Result<(), Stop> {
        use crate::ir::BinOp;
        if !matches!(op, BinOp::And | BinOp::Or | BinOp::Xor) {
            return Ok(());
        }
        let (align, other) = match (m.memory.alignment_of(a), m.memory.alignment_of(b)) {
            (None, None) => return Ok(()),
            (Some(align), None) => (align, b),
            (None, Some(align)) => (align, a),
            (Some(_), Some(_)) => return Err(placement_dependent()),
        };
        let low = align - 1;
        let independent = match op {
            BinOp::And => other <= low || other | low == u64::MAX,
            _ => other <= low,
        };
        if independent {
            Ok(())
        } else {
            Err(placement_dependent())
        }
    }

    fn is_unset(&self, op: &Operand) -> bool {
        matches!(op, Operand::Value(v) if self.unset[v.index()])
    }

    /// The written bytes of an unset operand (see `written_bytes`).
    fn written_bytes_of(&self, op: &Operand) -> u8 {
        match op {
            Operand::Value(v) if self.unset[v.index()] => self.written_bytes[v.index()],
            _ => 0,
        }
    }

    /// Whether an instruction's result is unset: arithmetic on an unset
    /// value is (unless `and` or `mul` with a zero masks it all), and any
    /// other use of one is undefined.
    fn unset_result(&self, kind: &InstKind) -> Result<bool, Stop> {
        let zero = |op: &Operand| match op {
            Operand::Const(Const::Int(0)) => true,
            Operand::Value(v) => !self.unset[v.index()] && self.values[v.index()] == 0,
            _ => false,
        };
        let used = |ops: &mut dyn Iterator<Item = &Operand>| {
            for op in ops {
                if self.is_unset(op) {
                    return Err(Stop::Undefined(format!("a use of {LEFT_UNDEFINED}")));
                }
            }
            Ok(false)
        };
        match kind {
            InstKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.is_unset(lhs), self.is_unset(rhs));
                let masks = matches!(op, crate::ir::BinOp::And | crate::ir::BinOp::Mul)
                    && ((a && zero(rhs)) || (b && zero(lhs)));
                Ok((a || b) && !masks)
            }
            InstKind::Compare { lhs, rhs, .. } => Ok(self.is_unset(lhs) || self.is_unset(rhs)),
            InstKind::Unary { arg, .. } => Ok(self.is_unset(arg)),
            InstKind::Load { addr, .. } => used(&mut [addr].into_iter()),
            // A store of an undefined value leaves the bytes undefined.
            InstKind::Store { addr, .. } => used(&mut [addr].into_iter()),
            InstKind::Alloc { size, .. } => used(&mut [size].into_iter()),
            InstKind::Blit { src, dst, .. } => used(&mut [src, dst].into_iter()),
            InstKind::Call {
                callee, env, args, ..
            } => used(
                &mut args
                    .iter()
                    .map(|a| &a.value)
                    .chain([callee])
                    .chain(env.as_ref()),
            ),
            InstKind::VaStart { ap } | InstKind::VaArg { ap } => used(&mut [ap].into_iter()),
            InstKind::DbgLoc { .. } => Ok(false),
        }
    }

    fn operand(&self, m: &mut Machine<'m>, op: &Operand, ty: BaseType) -> Result<u64, Stop> {
        Ok(match op {
            Operand::Value(v) => self.values[v.index()],
            Operand::Const(c) => match c {
                Const::Int(n) => match ty {
                    BaseType::W => u64::from(*n as u32),
                    BaseType::S => u64::from((*n as f32).to_bits()),
                    BaseType::D => (*n as f64).to_bits(),
                    BaseType::L => *n as u64,
                },
                Const::Single(x) => match ty {
                    BaseType::D => f64::from(*x).to_bits(),
                    _ => u64::from(x.to_bits()),
                },
                Const::Double(x) => match ty {
                    BaseType::S => u64::from((*x as f32).to_bits()),
                    _ => x.to_bits(),
                },
                Const::Addr { sym, offset } => m.symbol_address(sym)?.wrapping_add(*offset as u64),
                // One thread: thread-local data is ordinary data.
                Const::Thread(sym) | Const::Extern(sym) | Const::ExternThread(sym) => {
                    m.symbol_address(sym)?
                }
            },
        })
    }

    fn ty(&self, v: Option<Value>) -> BaseType {
        v.map_or(BaseType::L, |v| self.f.value_type(v))
    }

    fn execute(
        &mut self,
        m: &mut Machine<'m>,
        kind: &InstKind,
        result: Option<Value>,
    ) -> Result<Option<u64>, Exit> {
        let ty = self.ty(result);
        Ok(Some(match kind {
            InstKind::Binary { op, lhs, rhs } => {
                let a = self.operand(m, lhs, ty)?;
                let shift = matches!(
                    op,
                    crate::ir::BinOp::Sar | crate::ir::BinOp::Shr | crate::ir::BinOp::Shl
                );
                let b = self.operand(m, rhs, if shift { BaseType::W } else { ty })?;
                let b = if shift { b & 0xffff_ffff } else { b };
                if ty == BaseType::L {
                    self.placement_independent(m, *op, a, b)?;
                }
                ops::binary(*op, ty, a, b)?
            }
            InstKind::Compare {
                op,
                ty: operand_ty,
                lhs,
                rhs,
            } => {
                let a = self.operand(m, lhs, *operand_ty)?;
                let b = self.operand(m, rhs, *operand_ty)?;
                ops::compare(*op, *operand_ty, a, b)
            }
            InstKind::Unary { op, arg } => {
                let from = unary_operand_type(*op, ty, arg, self.f);
                let a = self.operand(m, arg, from)?;
                ops::unary(*op, from, ty, a)
            }
            InstKind::Load { kind, addr } => {
                let at = self.operand(m, addr, BaseType::L)?;
                let (len, signed) = match kind {
                    LoadKind::Sb => (1, true),
                    LoadKind::Ub => (1, false),
                    LoadKind::Sh => (2, true),
                    LoadKind::Uh => (2, false),
                    LoadKind::Sw => (4, true),
                    LoadKind::Uw => (4, false),
                    LoadKind::S => (4, false),
                    LoadKind::L | LoadKind::D => (8, false),
                };
                // `loadw`/`loadsw` into a `w` and `load` of the result's
                // own width read the result's width.
                let len = if matches!(kind, LoadKind::L | LoadKind::D) {
                    8
                } else {
                    len
                };
                let raw = m.memory.read(at, len)?;
                self.result_undefined = !m.memory.is_written(at, len)?;
                if self.result_undefined {
                    self.result_written_bytes = m.memory.written_mask(at, len)?;
                }
                let v = if signed {
                    let shift = 64 - 8 * len;
                    (((raw << shift) as i64) >> shift) as u64
                } else {
                    raw
                };
                match ty {
                    BaseType::W | BaseType::S => v & 0xffff_ffff,
                    _ => v,
                }
            }
            InstKind::Store { kind, value, addr } => {
                let (len, vty) = match kind {
                    StoreKind::B => (1, BaseType::W),
                    StoreKind::H => (2, BaseType::W),
                    StoreKind::W => (4, BaseType::W),
                    StoreKind::L => (8, BaseType::L),
                    StoreKind::S => (4, BaseType::S),
                    StoreKind::D => (8, BaseType::D),
                };
                let v = self.operand(m, value, vty)?;
                let at = self.operand(m, addr, BaseType::L)?;
                m.memory.write(at, len, v)?;
                if self.is_unset(value) {
                    m.memory.mark_written(at, len, false)?;
                    let written = self.written_bytes_of(value);
                    for i in (0..len).filter(|&i| written & (1 << i) != 0) {
                        m.memory.mark_written(at + i, 1, true)?;
                    }
                }
                return Ok(None);
            }
            InstKind::Alloc { size, align } => {
                let n = self.operand(m, size, BaseType::L)?;
                let at = m
                    .memory
                    .allocate_unwritten(n, u64::from(*align), "stack slot")?;
                self.slots.push(at);
                at
            }
            InstKind::Blit { src, dst, size } => {
                let from = self.operand(m, src, BaseType::L)?;
                let to = self.operand(m, dst, BaseType::L)?;
                m.memory.copy(from, to, *size)?;
                return Ok(None);
            }
            InstKind::Call {
                callee,
                ret,
                args,
                variadic_from,
                ..
            } => {
                return self.call(m, callee, *ret, args, *variadic_from);
            }
            InstKind::VaStart { ap } => {
                let at = self.operand(m, ap, BaseType::L)?;
                let layout = self.va_layout.ok_or_else(|| {
                    Stop::Undefined("`vastart` in a function that is not variadic".into())
                })?;
                va_list::start(&mut m.memory, at, &layout)?;
                return Ok(None);
            }
            InstKind::VaArg { ap } => {
                let at = self.operand(m, ap, BaseType::L)?;
                let float = ty.is_float();
                let v = va_list::next(&mut m.memory, at, float, &m.va_layouts)?;
                match ty {
                    BaseType::W | BaseType::S => v & 0xffff_ffff,
                    _ => v,
                }
            }
            InstKind::DbgLoc { .. } => return Ok(None),
        }))
    }

    fn call(
        &mut self,
        m: &mut Machine<'m>,
        callee: &Operand,
        ret: Option<AbiType>,
        args: &[crate::ir::CallArg],
        variadic_from: Option<usize>,
    ) -> Result<Option<u64>, Exit> {
        let target = self.operand(m, callee, BaseType::L)?;
        let index = Memory::function_at(target).ok_or_else(|| {
            Stop::Undefined(format!("a call of {target:#x}, which is not a function"))
        })?;
        let fixed_count = variadic_from.unwrap_or(args.len());
        let mut fixed = Vec::with_capacity(fixed_count);
        let mut variadic = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let v = self.operand(m, &a.value, a.ty.value_type())?;
            if i < fixed_count {
                fixed.push(match a.ty {
                    AbiType::Agg(t) => Arg::Aggregate(v, m.types.get(t).size),
                    _ => Arg::Scalar(v),
                });
            } else {
                variadic.push(match a.ty {
                    AbiType::Agg(t) => VarArg::Aggregate(v, t),
                    // A `s` is what C never passes (it promotes): its
                    // bits go in an SSE register all the same.
                    AbiType::Base(BaseType::S | BaseType::D) => VarArg::Float(v),
                    _ => VarArg::Int(v),
                });
            }
        }
        let result = m.call(index, &fixed, &variadic)?;
        Ok(match (ret, result) {
            // The caller gets its own copy of a returned aggregate.
            (Some(AbiType::Agg(t)), Some(from)) => {
                let size = m.types.get(t).size;
                let copy = m.memory.allocate(size, "returned aggregate")?;
                self.slots.push(copy);
                m.memory.copy(from, copy, size)?;
                m.memory.free(from, "a returned aggregate")?;
                Some(copy)
            }
            (Some(_), r) => {
                self.result_undefined = r.is_none();
                Some(r.unwrap_or(0))
            }
            (None, _) => None,
        })
    }
}

/// The type a unary operation reads its operand as.
fn unary_operand_type(
    op: crate::ir::UnOp,
    result: BaseType,
    arg: &Operand,
    f: &Function,
) -> BaseType {
    use crate::ir::UnOp::*;
    let declared = match arg {
        Operand::Value(v) => Some(f.value_type(*v)),
        Operand::Const(_) => None,
    };
    match op {
        Neg | Copy => result,
        Extsb | Extub | Extsh | Extuh | Extsw | Extuw | Swtof | Uwtof => BaseType::W,
        Sltof | Ultof => BaseType::L,
        Exts | Stosi | Stoui => BaseType::S,
        Truncd | Dtosi | Dtoui => BaseType::D,
        Cast => declared.unwrap_or(match result {
            BaseType::W => BaseType::S,
            BaseType::L => BaseType::D,
            BaseType::S => BaseType::W,
            BaseType::D => BaseType::L,
        }),
    }
}
