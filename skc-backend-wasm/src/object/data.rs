//! Data definitions to data segments.
//!
//! Each definition becomes its own segment (`.data.NAME`, or `.bss.NAME`
//! when every byte is zero), so the linker can drop unused ones. Address
//! items are 4-byte slots with a relocation; an `l` slot holding an
//! address gets the 32-bit address in its low half and zero in the high
//! half. Thread-local definitions become ordinary data: the modules are
//! single-threaded. `common` definitions become weak (global)
//! definitions. An explicit `section` is not carried over: wasm-ld only
//! knows its own segment naming, so the item is placed like any other.
//!
//! Except for constructors and destructors: wasm has no `.init_array`, and
//! wasm-ld takes the functions to run at start-up from the `linking`
//! section's init functions instead. Each address in a `.init_array` or
//! `.init_array.N` item becomes an init function with priority N (65535
//! without a suffix; lower runs first, as with ELF). The addresses in
//! `.fini_array` items are registered with `atexit` by a constructor the
//! object adds, so they run at exit in ELF's order. The item itself is
//! still laid out as data, in case the program reads it.

use anyhow::{bail, Result};
use skc_ir::ir::{DataDef, DataItem, DataValue, ExtType};

use crate::object::{Object, Segment};

/// Alignment of a definition without an explicit `align`.
const DEFAULT_ALIGN: u32 = 8;

/// Adds `d` to `obj`.
pub fn compile_data(d: &DataDef, obj: &mut Object) -> Result<()> {
    let mut bytes = Vec::new();
    let mut relocs = Vec::new();
    for item in &d.items {
        match item {
            DataItem::Zero(n) => {
                if *n > 1 << 31 {
                    bail!("data `${}` is too large for wasm32", d.name);
                }
                bytes.resize(bytes.len() + *n as usize, 0);
            }
            DataItem::Values { ty, values } => {
                for v in values {
                    push_value(&mut bytes, &mut relocs, *ty, v, obj, &d.name)?;
                }
            }
        }
        if bytes.len() > 1 << 31 {
            bail!("data `${}` is too large for wasm32", d.name);
        }
    }
    let align = d.align.unwrap_or(DEFAULT_ALIGN).max(1);
    if !align.is_power_of_two() {
        bail!("alignment {align} of `${}` is not a power of two", d.name);
    }
    if let Some(section) = &d.linkage.section {
        if let Some((fini, priority)) = array_section(&section.name) {
            for &(offset, sym, addend) in &relocs {
                if addend != 0 || offset % ptr_slot(d) != 0 {
                    bail!(
                        "`${}` in {}: every entry must be the address of a function",
                        d.name,
                        section.name
                    );
                }
                if fini {
                    obj.add_fini_func(priority, sym);
                } else {
                    obj.add_init_func(priority, sym);
                }
            }
            if relocs.len() as u64 * u64::from(ptr_slot(d)) != bytes.len() as u64 {
                bail!(
                    "`${}` in {}: every entry must be the address of a function",
                    d.name,
                    section.name
                );
            }
        }
    }
    let zero = relocs.is_empty() && bytes.iter().all(|&b| b == 0);
    let prefix = if zero { ".bss." } else { ".data." };
    let sym = obj.symbol(&d.name);
    obj.define_data(
        sym,
        Segment {
            name: format!("{prefix}{}", d.name),
            align_log2: align.trailing_zeros(),
            bytes,
            relocs,
        },
        // A weak definition cannot also be local to the object.
        !d.linkage.export && !d.linkage.common,
        d.linkage.common,
    )
}

/// For a constructor or destructor section, whether it is `.fini_array`
/// and its priority.
fn array_section(name: &str) -> Option<(bool, u32)> {
    let (fini, rest) = if let Some(rest) = name.strip_prefix(".init_array") {
        (false, rest)
    } else {
        (true, name.strip_prefix(".fini_array")?)
    };
    let priority = match rest {
        "" => u32::from(u16::MAX),
        _ => rest.strip_prefix('.')?.parse().ok()?,
    };
    Some((fini, priority))
}

/// The size of each entry of a constructor array: the `l` of LP64 IL, or
/// the `w` of IL written for 32-bit pointers.
fn ptr_slot(d: &DataDef) -> u32 {
    let word = d
        .items
        .iter()
        .all(|i| matches!(i, DataItem::Values { ty: ExtType::W, .. }));
    if word {
        4
    } else {
        8
    }
}

fn push_value(
    bytes: &mut Vec<u8>,
    relocs: &mut Vec<(u32, u32, i32)>,
    ty: ExtType,
    v: &DataValue,
    obj: &mut Object,
    name: &str,
) -> Result<()> {
    let size = ty.size() as usize;
    match v {
        DataValue::Int(n) => bytes.extend_from_slice(&n.to_le_bytes()[..size]),
        DataValue::Single(x) => match ty {
            ExtType::D => bytes.extend_from_slice(&f64::from(*x).to_le_bytes()),
            ExtType::S => bytes.extend_from_slice(&x.to_le_bytes()),
            _ => bytes.extend_from_slice(&u64::from(x.to_bits()).to_le_bytes()[..size]),
        },
        DataValue::Double(x) => match ty {
            ExtType::S => bytes.extend_from_slice(&(*x as f32).to_le_bytes()),
            ExtType::D => bytes.extend_from_slice(&x.to_le_bytes()),
            _ => bytes.extend_from_slice(&x.to_bits().to_le_bytes()[..size]),
        },
        DataValue::Str(s) => bytes.extend_from_slice(s),
        DataValue::Addr { sym, offset } => {
            if size < 4 {
                bail!("an address does not fit in a `{ty}` item of `${name}`");
            }
            let addend = i32::try_from(*offset)
                .map_err(|_| anyhow::anyhow!("offset {offset} from `${sym}` is too large"))?;
            let id = obj.referenced(sym);
            relocs.push((bytes.len() as u32, id, addend));
            bytes.resize(bytes.len() + size, 0);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    fn compile(text: &str) -> anyhow::Result<Vec<u8>> {
        let m = skc_ir::reader::read_module(text, "t.ssa").expect("parses");
        crate::compile_object(&mut skc_ir::reader::ModuleSource::new(m))
    }

    #[test]
    fn constructors_become_init_functions() {
        let bytes = compile(
            "function $c() {\n@s\n\tret\n}\n\
             section \".init_array.00300\" data $a = { l $c, l $d }\n",
        )
        .expect("compiles");
        wasmparser::Validator::new_with_features(crate::wasm_features())
            .validate_all(&bytes)
            .expect("valid");
        let text = wasmprinter::print_bytes(&bytes).expect("prints");
        assert!(text.contains("(import \"env\" \"d\" (func"), "{text}");
    }

    #[test]
    fn a_constructor_returning_a_value_is_refused() {
        let err = compile(
            "function w $c() {\n@s\n\tret 0\n}\nsection \".init_array\" data $a = { l $c }\n",
        )
        .expect_err("refused");
        assert!(err.to_string().contains("void f(void)"), "{err}");
    }

    #[test]
    fn section_names_give_priorities() {
        use super::array_section;
        assert_eq!(array_section(".init_array"), Some((false, 65535)));
        assert_eq!(array_section(".init_array.00101"), Some((false, 101)));
        assert_eq!(array_section(".fini_array.7"), Some((true, 7)));
        assert_eq!(array_section(".init_arrayx"), None);
        assert_eq!(array_section(".data"), None);
    }
}
