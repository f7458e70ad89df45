//! Data placed with `section "name" "flags"`: LLVM IR has no way to give a
//! section's flags, and LLVM would pick its own (writable data gets `aw`),
//! so such an item is written as module-level assembly, with the flags
//! passed to the assembler as written, the way the IL defines them. The
//! module refers to the symbol through an external declaration.

use skc_ir::ir::{DataDef, DataItem, DataValue, ExtType};

/// The assembly lines defining `d` in its section (which must have
/// flags), and every symbol its values refer to.
pub fn data_lines<'a>(d: &'a DataDef, flags: &str, section: &str) -> (Vec<String>, Vec<&'a str>) {
    let sym = asm_symbol(&d.name);
    let mut lines = vec![format!(
        ".section {},{}",
        asm_string(section.as_bytes()),
        asm_string(flags.as_bytes())
    )];
    if d.linkage.export {
        lines.push(format!(".globl {sym}"));
    }
    lines.push(format!(".type {sym},@object"));
    lines.push(format!(".balign {}", d.align.unwrap_or(8)));
    lines.push(format!("{sym}:"));
    let mut refs = Vec::new();
    for item in &d.items {
        match item {
            DataItem::Zero(n) => lines.push(format!(".zero {n}")),
            DataItem::Values { ty, values } => {
                for v in values {
                    match v {
                        DataValue::Str(s) => lines.push(format!(".ascii {}", asm_string(s))),
                        DataValue::Addr {
                            sym: target,
                            offset,
                        } => {
                            refs.push(target.as_str());
                            let directive = match ty.size() {
                                1 => ".byte",
                                2 => ".short",
                                4 => ".long",
                                _ => ".quad",
                            };
                            lines.push(format!("{directive} {}+({offset})", asm_symbol(target)));
                        }
                        number => {
                            let bytes = number_bytes(*ty, number);
                            let list: Vec<String> = bytes.iter().map(|b| b.to_string()).collect();
                            lines.push(format!(".byte {}", list.join(",")));
                        }
                    }
                }
            }
        }
    }
    lines.push(format!(".size {sym}, .-{sym}"));
    // Back to a section of the compiler's own; LLVM switches explicitly
    // before everything it emits, so this only keeps the text tidy.
    lines.push(".text".to_string());
    (lines, refs)
}

/// The little-endian bytes of a numeric data value in an item of `ty`,
/// laid out as the LLVM data writer lays them out.
fn number_bytes(ty: ExtType, v: &DataValue) -> Vec<u8> {
    let size = ty.size() as usize;
    let bytes = match v {
        DataValue::Int(i) => i.to_le_bytes().to_vec(),
        DataValue::Single(x) if ty == ExtType::D => f64::from(*x).to_le_bytes().to_vec(),
        DataValue::Single(x) => x.to_le_bytes().to_vec(),
        DataValue::Double(x) if ty == ExtType::S => (*x as f32).to_le_bytes().to_vec(),
        DataValue::Double(x) => x.to_le_bytes().to_vec(),
        DataValue::Str(_) | DataValue::Addr { .. } => Vec::new(),
    };
    bytes[..size.min(bytes.len())].to_vec()
}

/// A symbol as the assembler reads it: quoted unless plainly spelled.
fn asm_symbol(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.as_bytes()[0].is_ascii_digit()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$'));
    if plain {
        name.to_string()
    } else {
        asm_string(name.as_bytes())
    }
}

/// A quoted assembler string: printable ASCII except `"` and `\` as is,
/// every other byte as a three-digit octal escape (a hex escape would
/// swallow following hex digits).
fn asm_string(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\{b:03o}"));
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_in_octal() {
        assert_eq!(asm_string(b"a\"\\\n\x7f1"), "\"a\\042\\134\\012\\1771\"");
        assert_eq!(asm_symbol("main"), "main");
        assert_eq!(asm_symbol("a b"), "\"a b\"");
    }

    #[test]
    fn numbers_keep_their_item_size() {
        assert_eq!(number_bytes(ExtType::H, &DataValue::Int(0x1_0203)), [3, 2]);
        assert_eq!(
            number_bytes(ExtType::S, &DataValue::Single(1.5)),
            1.5f32.to_le_bytes()
        );
        assert_eq!(
            number_bytes(ExtType::S, &DataValue::Double(1.5)),
            1.5f32.to_le_bytes()
        );
    }
}
