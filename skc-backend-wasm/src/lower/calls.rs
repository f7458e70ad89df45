//! Calls and the C ABI: parameters bound at entry, arguments pushed
//! (aggregates copied, variadic buffers built), direct and indirect
//! calls, and the unwinding of `setjmp`/`longjmp` around them.

use anyhow::{anyhow, bail, Result};
use skc_ir::ir::{AbiType, BaseType, CallArg, Const, ExtType, Inst, Operand};
use wasm_encoder::{BlockType, Encode, Instruction as I, ValType};

use super::emit::base_ext;
use super::{copy, memarg, memarg_at, FunctionCodegen, MainKind, Place};
use crate::abi::{self, AggPassing};
use crate::ir_passes::setjmp::{self, Intrinsic};
use crate::object::leb;
use crate::object::CodeRelocKind;
use crate::wasi::lp64;

impl<'a> FunctionCodegen<'a> {
    pub(super) fn bind_params(&mut self, params: &[ValType]) -> Result<()> {
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

    /// Pushes one argument as the callee expects it.
    pub(super) fn push_arg(&mut self, a: &CallArg) -> Result<()> {
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
    pub(super) fn copy_aggregate(
        &mut self,
        src: &Operand,
        id: skc_ir::types::TypeId,
    ) -> Result<u32> {
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

    pub(super) fn call(
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
        // `qsort`/`bsearch` given a comparator this file defines: the C
        // library calls it through an adapter, not the runtime trampoline.
        let sort = adapted
            .as_ref()
            .and_then(|a| lp64::sort_with_adapter(a.symbol));
        let comparator_adapter = match (sort, fixed.last()) {
            (
                Some(_),
                Some(CallArg {
                    value: Operand::Const(Const::Addr { sym, offset: 0 }),
                    ..
                }),
            ) => self.obj.comparator_adapter(sym)?,
            _ => None,
        };
        let (mut params, mut results) = abi::signature(
            self.types,
            ret,
            fixed.iter().map(|a| a.ty),
            variadic_from.is_some(),
        );
        if let Some(a) = &adapted {
            a.adjust_params(&mut params, &mut results);
        }
        if comparator_adapter.is_some() {
            params.push(ValType::I32);
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
        if let Some(adapter) = comparator_adapter {
            self.symbol_id_address(adapter, 0);
        }
        let original = direct;
        let direct = match comparator_adapter {
            Some(_) => sort,
            None => adapted.as_ref().map(|a| a.symbol),
        }
        .or(direct);
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
    pub(super) fn call_runtime_with_address(&mut self, name: &str) {
        let sym = self.obj.symbol(name);
        let site = self.obj.note_call(sym, &[ValType::I32], &[]);
        self.code.push(0x10);
        self.reloc_here(CodeRelocKind::Call(sym, site));
        self.code.extend_from_slice(&leb::padded_u32(0));
    }

    /// `global.get` or `global.set` of [`setjmp::PENDING_GLOBAL`].
    pub(super) fn pending_global(&mut self, set: bool) {
        self.obj.use_longjmp_pending();
        self.code.push(if set { 0x24 } else { 0x23 });
        self.reloc_here(CodeRelocKind::LongjmpPending);
        self.code.extend_from_slice(&leb::padded_u32(0));
    }

    /// After a call that can reach a `longjmp`: while one unwinds, return
    /// (with zeros; the caller does the same) or, from `main`, trap: its
    /// target's function has returned. A resumable function has its own
    /// tests, to resume rather than return.
    pub(super) fn return_if_unwinding(&mut self) {
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
    pub(super) fn longjmp(&mut self, args: &[CallArg]) -> Result<()> {
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
    pub(super) fn setjmp_intrinsic(
        &mut self,
        which: Intrinsic,
        inst: &Inst,
        args: &[CallArg],
    ) -> Result<()> {
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
    pub(super) fn variadic_buffer(&mut self, varargs: &[CallArg]) -> Result<()> {
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
