//! What the object adds of its own before it is written: adapters for
//! calls and addresses whose signatures differ from their target's,
//! the constructor that registers destructors, and the checks that
//! every symbol is used as one kind.

use anyhow::{anyhow, bail, Result};
use wasm_encoder::{Encode, FuncType, ValType};

use super::{CodeReloc, CodeRelocKind, Definition, EncodedFunction, Object, SymId};
use crate::object::leb;
use crate::wasi::bridge::signature::Signature;

/// The constructor [`Object::register_destructors`] writes.
pub(super) const REGISTER_DESTRUCTORS: &str = "__skc_register_fini_array";

impl Object {
    /// Gives each direct call site whose signature disagrees with its
    /// callee's a local adapter to call instead: the IL lets a call pass
    /// fewer or more arguments, or other types, than the callee declares
    /// (the missing values are undefined), and calls may come before the
    /// callee's definition, so only here are both types known. Arguments
    /// and results are converted as [`crate::wasi::bridge::adapters::body`]
    /// does, with zeros where a float meets an integer.
    pub(super) fn define_call_adapters(&mut self) -> Result<()> {
        // (call sites' callee, their signature, the function called
        // instead, its type)
        let mut wanted: Vec<(SymId, u32, SymId, FuncType)> = Vec::new();
        // A C library name the module defines itself is the module's:
        // calls the LP64 boundary sent to a runtime shim go to it.
        for (&(sym, site), original) in &self.redirected_calls {
            let Some(original) = self.names.lookup(original) else {
                continue;
            };
            if let Definition::Function(i) = self.symbols[original as usize].def {
                let callee = &self.types[self.functions[i as usize].type_index as usize];
                wanted.push((sym, site, original, callee.clone()));
            }
        }
        wanted.sort_by_key(|w| (w.0, w.1));
        for sym in 0..self.symbols.len() as SymId {
            let info = &self.symbols[sym as usize];
            let callee = match info.def {
                Definition::Function(i) => {
                    &self.types[self.functions[i as usize].type_index as usize]
                }
                Definition::None => match self.call_type(sym) {
                    Some(t) => t,
                    None => continue,
                },
                Definition::Data { .. } => continue,
            };
            for &site in &info.site_types {
                let s = &self.call_types[site as usize];
                let results_agree = s.results() == callee.results()
                    || s.results().is_empty()
                    || callee.results().is_empty();
                if s.params() != callee.params() || !results_agree {
                    wanted.push((sym, site, sym, callee.clone()));
                }
            }
        }
        for (k, (sym, site, target, callee)) in wanted.into_iter().enumerate() {
            if self.call_adapters.contains_key(&(sym, site)) {
                continue;
            }
            let s = self.call_types[site as usize].clone();
            let (body, call_at) = crate::wasi::bridge::adapters::body(
                &Signature::from_encoder(s.params(), s.results()),
                &Signature::from_encoder(callee.params(), callee.results()),
                0,
                crate::wasi::bridge::adapters::Unconvertible::Zero,
            )
            .ok_or_else(|| anyhow!("internal error: a call type without an adapter"))?;
            let callee_site = self.call_type_index(callee.clone());
            let adapter = self.symbol(&format!("__skc_call.{k}.{}", self.name(target)));
            let type_index = self.type_index(s.params(), s.results());
            // The body starts with its (empty) local declarations.
            let (locals, code) = body.split_at(1);
            self.define_function(
                EncodedFunction {
                    sym: adapter,
                    aliases: Vec::new(),
                    type_index,
                    locals: locals.to_vec(),
                    code: code.to_vec(),
                    relocs: vec![CodeReloc {
                        offset: call_at - 1,
                        kind: CodeRelocKind::Call(target, callee_site),
                    }],
                },
                true,
            )?;
            self.call_adapters.insert((sym, site), adapter);
        }
        Ok(())
    }

    /// Turns the destructors into one constructor that registers them with
    /// `atexit`, which wasi-libc runs when `main` returns or `exit` is
    /// called, in reverse order of registration.
    pub(super) fn register_destructors(&mut self) -> Result<()> {
        if self.fini_funcs.is_empty() {
            return Ok(());
        }
        let mut fini = std::mem::take(&mut self.fini_funcs);
        // Stable: entries of one priority keep their order.
        fini.sort_by_key(|&(priority, _)| priority);
        let atexit = self.symbol("atexit");
        let atexit_site = self.note_call(atexit, &[ValType::I32], &[ValType::I32]);
        let mut code = Vec::new();
        let mut relocs = Vec::new();
        for &(_, sym) in &fini {
            code.push(0x41); // i32.const
            relocs.push(CodeReloc {
                offset: code.len() as u32,
                kind: CodeRelocKind::Address(sym, 0),
            });
            code.extend_from_slice(&leb::padded_i32(0));
            code.push(0x10); // call
            relocs.push(CodeReloc {
                offset: code.len() as u32,
                kind: CodeRelocKind::Call(atexit, atexit_site),
            });
            code.extend_from_slice(&leb::padded_u32(0));
            code.push(0x1a); // drop
        }
        code.push(0x0b);
        let sym = self.define_local_function(REGISTER_DESTRUCTORS, &[], &[], code, relocs)?;
        // After every constructor, as a C++ runtime registers destructors
        // once the objects they destroy exist.
        self.init_funcs.push((u32::from(u16::MAX), sym));
        Ok(())
    }

    /// Decides the kind of undefined symbols whose address alone is used
    /// (see [`crate::object::kinds`]), and gives each C library function whose
    /// address is used an adapter to call it through.
    pub(super) fn settle_address_kinds(&mut self) -> Result<()> {
        for sym in 0..self.symbols.len() as SymId {
            let info = &self.symbols[sym as usize];
            if info.def != Definition::None || !info.address_taken {
                continue;
            }
            let name = self.name(sym);
            if crate::wasi::libc::is_c_library_function(name) {
                self.symbols[sym as usize].function = true;
                if let Some(adapter) = self.address_adapter(sym)? {
                    self.address_adapters.insert(sym, adapter);
                }
            } else if self.functions_elsewhere.contains(name) {
                self.symbols[sym as usize].function = true;
            }
        }
        Ok(())
    }

    /// An adapter for the address of C library function `sym`: a function
    /// with the LP64 signature that LP64 IL calls through a pointer, which
    /// calls `sym` (or its shim) the way an adapted direct call does.
    /// `None` when the C signature already is the LP64 one.
    pub(super) fn address_adapter(&mut self, sym: SymId) -> Result<Option<SymId>> {
        use crate::wasi::lp64::table::CType;
        use skc_ir::ir::{AbiType, BaseType, CallArg, Const, Operand};
        let name = self.name(sym).to_string();
        let Some(proto) = crate::wasi::lp64::table::lookup(&name) else {
            let doubles_only = matches!(
                crate::wasi::libc::known_result(&name),
                Some(ValType::F64 | ValType::F32)
            ) && !name.starts_with("ato")
                && !name.starts_with("strto");
            if doubles_only {
                return Ok(None);
            }
            bail!(
                "the address of C library function `{name}` is used, but skc does not know \
                 its C signature to call it through a pointer on wasm32; call it directly, \
                 or through a function of your own"
            );
        };
        let lp64 = |c: CType| match c {
            CType::Int | CType::Uint => Some(BaseType::W),
            CType::Ptr | CType::Long | CType::Size | CType::LongLong => Some(BaseType::L),
            CType::Double => Some(BaseType::D),
            CType::Void => None,
        };
        let args: Vec<CallArg> = proto
            .params
            .iter()
            .map(|&c| CallArg {
                ty: AbiType::Base(lp64(c).unwrap_or(BaseType::W)),
                value: Operand::Const(Const::Int(0)),
            })
            .collect();
        let ret = lp64(proto.ret).map(AbiType::Base);
        let Some(a) = crate::wasi::lp64::adapt_call(&name, &args, ret, proto.variadic) else {
            return Ok(None);
        };
        let val = |b: BaseType| match b {
            BaseType::W => ValType::I32,
            BaseType::L => ValType::I64,
            BaseType::S => ValType::F32,
            BaseType::D => ValType::F64,
        };
        let mut params: Vec<ValType> = proto
            .params
            .iter()
            .filter_map(|&c| lp64(c))
            .map(val)
            .collect();
        if proto.variadic {
            // The hidden address of the variadic buffer.
            params.push(ValType::I32);
        }
        let results: Vec<ValType> = lp64(proto.ret).map(val).into_iter().collect();
        let (mut callee_params, mut callee_results) = (params.clone(), results.clone());
        a.adjust_params(&mut callee_params, &mut callee_results);
        let target = self.symbol(a.symbol);
        let target_site = self.note_call(target, &callee_params, &callee_results);
        // The function itself is still a function symbol of the object:
        // its import must have its C signature.
        let c_val = |c: CType| match c {
            CType::LongLong => Some(ValType::I64),
            CType::Double => Some(ValType::F64),
            CType::Void => None,
            _ => Some(ValType::I32),
        };
        let mut c_params: Vec<ValType> = proto.params.iter().filter_map(|&c| c_val(c)).collect();
        if proto.variadic {
            c_params.push(ValType::I32);
        }
        let c_results: Vec<ValType> = c_val(proto.ret).into_iter().collect();
        self.note_call(sym, &c_params, &c_results);

        let mut code = Vec::new();
        let mut relocs = Vec::new();
        for (i, _) in params.iter().enumerate() {
            code.push(0x20); // local.get
            leb::write_u32(&mut code, i as u32);
            if a.narrows(i) {
                code.push(0xa7); // i32.wrap_i64
            }
        }
        code.push(0x10); // call
        relocs.push(CodeReloc {
            offset: code.len() as u32,
            kind: CodeRelocKind::Call(target, target_site),
        });
        code.extend_from_slice(&leb::padded_u32(0));
        if results.is_empty() && !callee_results.is_empty() {
            code.push(0x1a); // drop
        }
        if let Some(w) = &a.widen {
            w.encode(&mut code);
        }
        code.push(0x0b);
        let adapter = self.define_local_function(
            &format!("__skc_lp64_address.{name}"),
            &params,
            &results,
            code,
            relocs,
        )?;
        Ok(Some(adapter))
    }

    /// The symbol an address of `sym` resolves to.
    pub(super) fn address_target(&self, sym: SymId) -> SymId {
        self.address_adapters.get(&sym).copied().unwrap_or(sym)
    }

    /// Constructors and destructors are called as `void f(void)`.
    pub(super) fn check_init_funcs(&self) -> Result<()> {
        for &(_, sym) in &self.init_funcs {
            let ty = match self.symbols[sym as usize].def {
                Definition::Function(i) => {
                    &self.types[self.functions[i as usize].type_index as usize]
                }
                Definition::Data { .. } => {
                    bail!("constructor `{}` is data, not a function", self.name(sym))
                }
                Definition::None => match self.call_type(sym) {
                    Some(t) => t,
                    None => continue,
                },
            };
            if !ty.params().is_empty() || !ty.results().is_empty() {
                bail!(
                    "`{}` is listed in .init_array or .fini_array but takes parameters or \
                     returns a value; wasm32 calls constructors and destructors as `void f(void)`",
                    self.name(sym)
                );
            }
        }
        Ok(())
    }
}
