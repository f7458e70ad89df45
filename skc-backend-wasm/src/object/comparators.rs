//! Comparators the C library can call directly.
//!
//! LP64 IL hands `qsort` and `bsearch` a comparator taking two `l`
//! pointers, while wasm32's C library calls it with two 32-bit ones. In
//! general the runtime's shim keeps the IL comparator in a global and
//! gives the C library a trampoline calling it through the table: two
//! indirect calls and a load per comparison. For a comparator this file
//! defines, the object instead gets an adapter `__skc_cmp.NAME(i32, i32)
//! -> i32` that widens both pointers and calls it directly (wasm-opt may
//! merge the two), and the call passes the adapter beside the comparator
//! (see [`crate::wasi::lp64::sort_with_adapter`]).

use anyhow::Result;
use wasm_encoder::ValType;

use super::{leb, CodeReloc, CodeRelocKind, Definition, Object, SymId};

impl Object {
    /// The adapter of `comparator` for the C library, written on first
    /// use; `None` unless this object already defines `comparator` as a
    /// function `(i64, i64) -> i32`.
    pub fn comparator_adapter(&mut self, comparator: &str) -> Result<Option<SymId>> {
        let Some(sym) = self.names.lookup(comparator) else {
            return Ok(None);
        };
        if let Some(&adapter) = self.comparator_adapters.get(&sym) {
            return Ok(Some(adapter));
        }
        let Definition::Function(i) = self.symbols[sym as usize].def else {
            return Ok(None);
        };
        let ty = &self.types[self.functions[i as usize].type_index as usize];
        if ty.params() != [ValType::I64, ValType::I64] || ty.results() != [ValType::I32] {
            return Ok(None);
        }
        let site = self.note_call(sym, &[ValType::I64, ValType::I64], &[ValType::I32]);
        let mut code = Vec::new();
        for param in 0..2 {
            code.push(0x20); // local.get
            leb::write_u32(&mut code, param);
            code.push(0xad); // i64.extend_i32_u
        }
        code.push(0x10); // call
        let relocs = vec![CodeReloc {
            offset: code.len() as u32,
            kind: CodeRelocKind::Call(sym, site),
        }];
        code.extend_from_slice(&leb::padded_u32(0));
        code.push(0x0b); // end
        let adapter = self.define_local_function(
            &format!("__skc_cmp.{comparator}"),
            &[ValType::I32, ValType::I32],
            &[ValType::I32],
            code,
            relocs,
        )?;
        self.comparator_adapters.insert(sym, adapter);
        Ok(Some(adapter))
    }
}
