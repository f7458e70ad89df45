//! Function-table slots 1 and 2 kept from real functions where wasm-ld
//! has no `--table-base`.
//!
//! LP64 IL passes glibc's `SIG_IGN` and `SIG_HOLD` to `signal` as the
//! numbers 1 and 2, where function pointers go, so no function may have
//! those table indices (docs/wasm32-libc.md). wasm-ld 19 starts the table
//! where `--table-base` says; older ones (Debian 12 has 14, 15 and 16)
//! always start it at 1 and hand out indices in the order they meet
//! function addresses, object by object in link order. This object,
//! linked first, takes the addresses of two functions of its own in a
//! constructor (constructors are always kept), so they get 1 and 2.

use anyhow::Result;

use crate::object::leb;
use crate::object::{CodeReloc, CodeRelocKind, EncodedFunction, Object};

/// The wasm-ld major version from which `--table-base` is used.
pub const TABLE_BASE_FLAG_SINCE: u32 = 19;

/// The wasm-ld argument that keeps indices 1 and 2 free, where it has one.
pub const TABLE_BASE_FLAG: &str = "--table-base=3";

/// The object that occupies slots 1 and 2, to be linked before any other.
pub fn object() -> Result<Vec<u8>> {
    let mut o = Object::new();
    let no_values = o.type_index(&[], &[]);
    // No locals; `unreachable`, `end`.
    let trap = |sym| EncodedFunction {
        sym,
        aliases: Vec::new(),
        type_index: no_values,
        locals: vec![0x00],
        code: vec![0x00, 0x0b],
        relocs: Vec::new(),
    };
    let slots = [
        o.symbol("__skc_table_slot_1"),
        o.symbol("__skc_table_slot_2"),
    ];
    for slot in slots {
        o.define_function(trap(slot), true)?;
    }
    let mut code = Vec::new();
    let mut relocs = Vec::new();
    for slot in slots {
        code.push(0x41); // i32.const
        relocs.push(CodeReloc {
            offset: code.len() as u32,
            kind: CodeRelocKind::Address(slot, 0),
        });
        code.extend_from_slice(&leb::padded_i32(0));
        code.push(0x1a); // drop
    }
    code.push(0x0b); // end
    let reserve = o.symbol("__skc_reserve_table_slots");
    o.define_function(
        EncodedFunction {
            sym: reserve,
            aliases: Vec::new(),
            type_index: no_values,
            locals: vec![0x00],
            code,
            relocs,
        },
        true,
    )?;
    // Before every other constructor, though it does nothing at run time.
    o.add_init_func(0, reserve);
    o.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_object_is_valid_wasm() {
        let bytes = super::object().expect("object");
        wasmparser::Validator::new()
            .validate_all(&bytes)
            .expect("a valid module");
    }
}
