//! The code buffer of one function: instructions (the frequent ones
//! written as bytes), locals for values and scratch, operands and
//! constants, symbol and frame addresses, conversions between base types,
//! and the opcodes of binary operations and comparisons.

use anyhow::{anyhow, bail, Result};
use skc_ir::ir::{BaseType, BinOp, CmpOp, Const, ExtType, Inst, Operand, Value};
use wasm_encoder::{Encode, Instruction as I, ValType};

use super::{locals, stack, FunctionCodegen, UNASSIGNED};
use crate::abi;
use crate::object::leb;
use crate::object::{CodeReloc, CodeRelocKind, SymId};

impl<'a> FunctionCodegen<'a> {
    /// Appends one instruction. The most frequent ones are written
    /// straight to the code (the same bytes wasm-encoder writes): going
    /// through `Instruction::encode`'s dispatch and drop for each local
    /// access and constant is a large share of the backend's time.
    #[inline(always)]
    pub(super) fn ins(&mut self, i: I<'_>) {
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
    pub(super) fn binary_op(&mut self, op: BinOp, t: BaseType) -> Result<()> {
        match opcode_bytes().binary.get(op as usize) {
            Some(row) if row[locals::type_slot(t)] != 0 => {
                self.code.push(row[locals::type_slot(t)])
            }
            _ => self.ins(binary(op, t)?),
        }
        Ok(())
    }

    /// Appends the instruction of [`compare`].
    pub(super) fn compare_op(&mut self, op: CmpOp, t: BaseType) -> Result<()> {
        match opcode_bytes().compare.get(op as usize) {
            Some(row) if row[locals::type_slot(t)] != 0 => {
                self.code.push(row[locals::type_slot(t)])
            }
            _ => self.ins(compare(op, t)?),
        }
        Ok(())
    }

    pub(super) fn new_local(&mut self, t: ValType) -> u32 {
        self.local_types.push(t);
        self.n_params + self.local_types.len() as u32 - 1
    }

    /// A local for short-lived use inside the code of one instruction.
    pub(super) fn scratch(&mut self, t: ValType) -> u32 {
        if let Some(&(_, l)) = self.scratch_locals.iter().find(|(st, _)| *st == t) {
            return l;
        }
        let l = self.new_local(t);
        self.scratch_locals.push((t, l));
        l
    }

    /// Gives every value not bound to a parameter a shared local.
    pub(super) fn assign_value_locals(&mut self) {
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

    pub(super) fn is_narrowed(&self, v: Value) -> bool {
        self.narrowed.get(v.index()).copied().unwrap_or(false)
    }

    pub(super) fn local(&mut self, v: Value) -> u32 {
        let l = self.value_local[v.index()];
        if l != UNASSIGNED {
            return l;
        }
        let l = self.new_local(abi::val_type(self.f.value_type(v)));
        self.value_local[v.index()] = l;
        l
    }

    pub(super) fn reloc_here(&mut self, kind: CodeRelocKind) {
        self.relocs.push(CodeReloc {
            offset: self.code.len() as u32,
            kind,
        });
    }

    pub(super) fn stack_pointer(&mut self, set: bool) {
        self.code.push(if set { 0x24 } else { 0x23 });
        self.reloc_here(CodeRelocKind::StackPointer);
        self.code.extend_from_slice(&leb::padded_u32(0));
    }

    pub(super) fn symbol_address(&mut self, sym: &str, addend: i64) -> Result<()> {
        let addend = i32::try_from(addend)
            .map_err(|_| anyhow!("offset {addend} from `${sym}` does not fit in 32 bits"))?;
        let id = self.obj.referenced(sym);
        self.symbol_id_address(id, addend);
        Ok(())
    }

    /// Pushes the address of symbol `id` plus `addend` (relocated).
    pub(super) fn symbol_id_address(&mut self, id: SymId, addend: i32) {
        self.code.push(0x41);
        self.reloc_here(CodeRelocKind::Address(id, addend));
        self.code.extend_from_slice(&leb::padded_i32(0));
    }

    /// Pushes `fp + offset` (an i32 address in the frame).
    pub(super) fn frame_address(&mut self, offset: u32) {
        self.ins(I::LocalGet(self.fp));
        if offset != 0 {
            self.ins(I::I32Const(offset as i32));
            self.ins(I::I32Add);
        }
    }

    pub(super) fn alloc_slot(&mut self, size: u64, align: u32) -> Result<u32> {
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

    pub(super) fn convert(&mut self, from: BaseType, to: BaseType) -> Result<()> {
        match (from, to) {
            _ if from == to => {}
            (BaseType::L, BaseType::W) => self.ins(I::I32WrapI64),
            (BaseType::W, BaseType::L) => self.ins(I::I64ExtendI32U),
            _ => bail!("a `{from}` value is used where a `{to}` is expected"),
        }
        Ok(())
    }

    /// Pushes an operand as a value of type `ctx`.
    pub(super) fn operand(&mut self, op: &Operand, ctx: BaseType) -> Result<()> {
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

    pub(super) fn set_result(&mut self, result: Option<Value>) {
        match result {
            Some(v) if stack::is_on_stack(&self.on_stack, v) => self.pending = Some(v),
            Some(v) => {
                let l = self.local(v);
                self.ins(I::LocalSet(l));
            }
            None => self.ins(I::Drop),
        }
    }

    pub(super) fn result_type(&self, inst: &Inst) -> Result<BaseType> {
        inst.result
            .map(|v| self.f.value_type(v))
            .ok_or_else(|| anyhow!("instruction has no result"))
    }
}

pub(super) fn base_ext(b: BaseType) -> ExtType {
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
pub(super) struct OpcodeBytes {
    binary: [[u8; 4]; 32],
    compare: [[u8; 4]; 32],
}

/// Built once from wasm-encoder's own encoding, so the bytes cannot
/// differ from it; operators not listed here take the slow path.
pub(super) fn opcode_bytes() -> &'static OpcodeBytes {
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

pub(super) fn binary(op: BinOp, t: BaseType) -> Result<I<'static>> {
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

pub(super) fn compare(op: CmpOp, t: BaseType) -> Result<I<'static>> {
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
mod tests {
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
}
