//! Variadic arguments in the System V x86-64 layout, which IL from C
//! front ends assumes (it copies a `va_list` with `blit`, passes it to
//! other functions, and may read its fields itself):
//!
//! ```text
//! offset 0   u32  gp_offset          next integer register in the save area (0..48)
//! offset 4   u32  fp_offset          next SSE register in the save area (48..176)
//! offset 8   ptr  overflow_arg_area  next argument passed in memory
//! offset 16  ptr  reg_save_area      6 integer registers, then 8 SSE ones of 16 bytes
//! ```
//!
//! `vastart` lays the call's arguments out the way the caller's registers
//! and stack would hold them: named parameters use registers first, then
//! each variadic argument takes the next register of its class or goes to
//! the overflow area. `vaarg` is the ABI's algorithm. Reading past the
//! arguments that were passed is reported, for save areas the
//! interpreter made.

use crate::ir::types::{round_up, TypeDef, TypeTable};
use crate::ir::{AbiType, BaseType, ExtType, Function};

use super::memory::Memory;
use super::stop::Stop;

const GP_REGS: u64 = 6;
const FP_REGS: u64 = 8;
/// Where the SSE registers start in the save area, and its size.
const FP_START: u64 = 8 * GP_REGS;
const SAVE_AREA: u64 = FP_START + 16 * FP_REGS;

/// A variadic argument as the caller passed it.
#[derive(Clone, Copy, Debug)]
pub enum VarArg {
    /// An integer or pointer (any integer ABI type).
    Int(u64),
    /// A `d`, or the bits of an `s` (C promotes, IL need not).
    Float(u64),
    /// An aggregate's address and size, and its type.
    Aggregate(u64, crate::ir::types::TypeId),
}

/// Each eightbyte of an aggregate passed in registers: `true` for SSE.
/// `None`: in memory.
fn eightbytes(def: &TypeDef) -> Option<Vec<bool>> {
    if def.size == 0 || def.size > 16 {
        return None;
    }
    let n = def.size.div_ceil(8) as usize;
    // None yet / integer / SSE, per eightbyte.
    let mut class = [None::<bool>; 2];
    if def.scalars.is_empty() {
        class = [Some(false); 2];
    }
    for s in &def.scalars {
        let sse = matches!(s.ty, ExtType::S | ExtType::D);
        let slot = &mut class[(s.offset / 8) as usize];
        *slot = Some(slot.unwrap_or(true) && sse);
    }
    Some(class[..n].iter().map(|c| c.unwrap_or(false)).collect())
}

/// Registers in use while arguments are assigned left to right.
#[derive(Clone, Copy, Default)]
struct Used {
    gp: u64,
    fp: u64,
}

impl Used {
    /// Takes registers for eightbytes of these classes if all fit.
    fn take(&mut self, classes: &[bool]) -> bool {
        let sse = classes.iter().filter(|&&c| c).count() as u64;
        let int = classes.len() as u64 - sse;
        if self.gp + int > GP_REGS || self.fp + sse > FP_REGS {
            return false;
        }
        self.gp += int;
        self.fp += sse;
        true
    }
}

/// Registers the named parameters of `f` occupy (with the hidden
/// pointer of an aggregate returned in memory).
fn named(f: &Function, types: &TypeTable) -> Used {
    let mut used = Used::default();
    if let Some(AbiType::Agg(t)) = f.ret {
        if eightbytes(types.get(t)).is_none() {
            used.gp += 1;
        }
    }
    for p in &f.params {
        match p.ty {
            AbiType::Agg(t) => {
                if let Some(classes) = eightbytes(types.get(t)) {
                    used.take(&classes);
                }
            }
            AbiType::Base(BaseType::S | BaseType::D) => {
                used.take(&[true]);
            }
            _ => {
                used.take(&[false]);
            }
        }
    }
    used
}

/// A save area the interpreter laid out: how far its arguments go.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// The register save area.
    pub save_area: u64,
    /// The overflow area and its end.
    pub overflow: u64,
    overflow_end: u64,
    /// `gp_offset`/`fp_offset` at the start and past the last argument.
    gp_start: u64,
    fp_start: u64,
    gp_end: u64,
    fp_end: u64,
}

/// Lays out the arguments of a call of `f` whose variadic ones are
/// `args`: two allocations the caller frees when the call returns.
pub fn lay_out(
    memory: &mut Memory,
    f: &Function,
    types: &TypeTable,
    args: &[VarArg],
) -> Result<Layout, Stop> {
    let start = named(f, types);
    let mut used = start;
    // (register slot or overflow offset, bytes) per piece.
    let mut in_regs: Vec<(u64, u64, u64)> = Vec::new();
    let mut in_memory: Vec<(u64, u64, u64)> = Vec::new();
    let mut overflow_size = 0u64;
    for a in args {
        match *a {
            VarArg::Int(v) | VarArg::Float(v) => {
                let sse = matches!(a, VarArg::Float(_));
                let slot = if sse {
                    FP_START + 16 * used.fp
                } else {
                    8 * used.gp
                };
                if used.take(&[sse]) {
                    in_regs.push((slot, v, 8));
                } else {
                    in_memory.push((overflow_size, v, 8));
                    overflow_size += 8;
                }
            }
            VarArg::Aggregate(at, t) => {
                let def = types.get(t);
                let before = used;
                match eightbytes(def) {
                    Some(classes) if used.take(&classes) => {
                        let (mut gp, mut fp) = (before.gp, before.fp);
                        for (i, sse) in classes.iter().enumerate() {
                            let offset = 8 * i as u64;
                            let len = (def.size - offset).min(8);
                            let bits = memory.read(at + offset, len)?;
                            if *sse {
                                in_regs.push((FP_START + 16 * fp, bits, 8));
                                fp += 1;
                            } else {
                                in_regs.push((8 * gp, bits, 8));
                                gp += 1;
                            }
                        }
                    }
                    _ => {
                        let align = u64::from(def.align).max(8);
                        overflow_size = round_up(overflow_size, align);
                        for offset in (0..def.size).step_by(8) {
                            let len = (def.size - offset).min(8);
                            let bits = memory.read(at + offset, len)?;
                            in_memory.push((overflow_size + offset, bits, len));
                        }
                        overflow_size += round_up(def.size, 8);
                    }
                }
            }
        }
    }
    let save_area = memory.allocate(SAVE_AREA, "register save area")?;
    let overflow = memory.allocate(overflow_size.max(1), "variadic arguments in memory")?;
    for (slot, bits, len) in in_regs {
        memory.write(save_area + slot, len, bits)?;
    }
    for (offset, bits, len) in in_memory {
        memory.write(overflow + offset, len, bits)?;
    }
    Ok(Layout {
        save_area,
        overflow,
        overflow_end: overflow + overflow_size,
        gp_start: 8 * start.gp,
        fp_start: FP_START + 16 * start.fp,
        gp_end: 8 * used.gp,
        fp_end: FP_START + 16 * used.fp,
    })
}

/// `vastart`: the `va_list` at `ap` at the first variadic argument.
pub fn start(memory: &mut Memory, ap: u64, layout: &Layout) -> Result<(), Stop> {
    memory.write(ap, 4, layout.gp_start)?;
    memory.write(ap + 4, 4, layout.fp_start)?;
    memory.write(ap + 8, 8, layout.overflow)?;
    memory.write(ap + 16, 8, layout.save_area)
}

/// `vaarg`: the next argument of class `float` from the `va_list` at
/// `ap`, as 64 bits. `layouts` are the save areas the interpreter made,
/// to report reading past the last argument.
pub fn next(memory: &mut Memory, ap: u64, float: bool, layouts: &[Layout]) -> Result<u64, Stop> {
    let past = || Stop::Undefined("`vaarg` past the last variadic argument".into());
    let gp_offset = memory.read(ap, 4)?;
    let fp_offset = memory.read(ap + 4, 4)?;
    let overflow = memory.read(ap + 8, 8)?;
    let save_area = memory.read(ap + 16, 8)?;
    let layout = layouts.iter().find(|l| l.save_area == save_area);
    if float && fp_offset < SAVE_AREA {
        if layout.is_some_and(|l| fp_offset >= l.fp_end) {
            return Err(past());
        }
        memory.write(ap + 4, 4, fp_offset + 16)?;
        return memory.read(save_area + fp_offset, 8);
    }
    if !float && gp_offset < FP_START {
        if layout.is_some_and(|l| gp_offset >= l.gp_end) {
            return Err(past());
        }
        memory.write(ap, 4, gp_offset + 8)?;
        return memory.read(save_area + gp_offset, 8);
    }
    if layout.is_some_and(|l| overflow + 8 > l.overflow_end) {
        return Err(past());
    }
    memory.write(ap + 8, 8, overflow + 8)?;
    memory.read(overflow, 8)
}
