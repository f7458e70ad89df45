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
            let id = obj.symbol(crate::lp64::data_symbol(sym));
            relocs.push((bytes.len() as u32, id, addend));
            bytes.resize(bytes.len() + size, 0);
        }
    }
    Ok(())
}
