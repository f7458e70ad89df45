//! One instruction at a time: from an IR instruction to the emitters of
//! its family, and the one-operand operations.

use anyhow::{anyhow, bail, Result};
use skc_ir::ir::{
    BaseType, BinOp, CmpOp, Const, Inst, InstKind, Operand, StoreKind, SubWord, UnOp,
};
use wasm_encoder::{Instruction as I, ValType};

use super::emit::compare;
use super::{memarg, memarg_at, FunctionCodegen};

impl<'a> FunctionCodegen<'a> {
    /// Emits one instruction; `offset` is the constant folded into its
    /// memory access ([`offsets`]).
    pub(super) fn inst(&mut self, inst: &Inst, in_entry: bool, offset: u32) -> Result<()> {
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

    pub(super) fn unary(&mut self, op: UnOp, arg: &Operand, t: BaseType) -> Result<()> {
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
}
