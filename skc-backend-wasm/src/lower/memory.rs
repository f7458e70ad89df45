//! Memory access: addresses with their folded offsets, loads and stores
//! of every width, sub-word extension, and copies of bytes between
//! places.

use anyhow::{bail, Result};
use skc_ir::ir::{BaseType, ExtType, LoadKind, Operand, SubWord, Value};
use wasm_encoder::{Instruction as I, ValType};

use super::{copy, memarg, memarg_at, FunctionCodegen, Place, UNASSIGNED};

impl<'a> FunctionCodegen<'a> {
    /// Pushes an operand as an i32 address.
    pub(super) fn address(&mut self, op: &Operand) -> Result<()> {
        self.operand(op, BaseType::W)
    }

    /// Pushes the address of a memory access whose instruction adds
    /// `offset`, and returns the offset the access itself must add: a
    /// frame slot's address is the frame pointer with the slot's offset
    /// folded in.
    pub(super) fn access_address(&mut self, op: &Operand, offset: u32) -> Result<u32> {
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
    pub(super) fn nth_scratch(&mut self, t: ValType, n: usize) -> u32 {
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
    pub(super) fn place(&mut self, op: &Operand, n: usize) -> Result<Place> {
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
    pub(super) fn push_place(&mut self, place: Place, offset: u32) -> u32 {
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
    pub(super) fn copy_bytes(&mut self, dst: Place, src: &Operand, size: u32) -> Result<()> {
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
    pub(super) fn frame_slot(&self, v: Value) -> Option<u32> {
        self.frame_slot
            .get(v.index())
            .copied()
            .filter(|&s| s != UNASSIGNED)
    }

    pub(super) fn extend_subword(&mut self, k: SubWord) {
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

    pub(super) fn load_ext(&mut self, t: ExtType) {
        self.ins(match t {
            ExtType::B => I::I32Load8U(memarg(0)),
            ExtType::H => I::I32Load16U(memarg(1)),
            ExtType::W => I::I32Load(memarg(2)),
            ExtType::L => I::I64Load(memarg(3)),
            ExtType::S => I::F32Load(memarg(2)),
            ExtType::D => I::F64Load(memarg(3)),
        });
    }

    pub(super) fn store_ext(&mut self, t: ExtType) {
        self.ins(match t {
            ExtType::B => I::I32Store8(memarg(0)),
            ExtType::H => I::I32Store16(memarg(1)),
            ExtType::W => I::I32Store(memarg(2)),
            ExtType::L => I::I64Store(memarg(3)),
            ExtType::S => I::F32Store(memarg(2)),
            ExtType::D => I::F64Store(memarg(3)),
        });
    }

    /// A load of `kind` into a `t` from the address on the stack plus `offset`.
    pub(super) fn load(&mut self, kind: LoadKind, t: BaseType, offset: u32) -> Result<()> {
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
}
