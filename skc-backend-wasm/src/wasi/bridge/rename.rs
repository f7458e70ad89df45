//! Renaming function symbols in a relocatable wasm object.
//!
//! Only two places hold a function symbol's name: the symbol table in the
//! `linking` section (for definitions and for imports with an explicit
//! name) and, for other imports, the import's field name. Both sections
//! are rewritten; every other section is copied byte for byte, so section
//! indices and the offsets relocations refer to stay as they were.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context, Result};
use wasmparser::{BinaryReader, Imports, SectionLimited};

use crate::object::leb;
use crate::object::SOURCES_SECTION;

const SECTION_CUSTOM: u8 = 0;
const SECTION_IMPORT: u8 = 2;
const SYMTAB_SUBSECTION: u8 = 8;
const SYMTAB_FUNCTION: u8 = 0;
const SYMTAB_DATA: u8 = 1;
const SYMTAB_GLOBAL: u8 = 2;
const SYMTAB_SECTION: u8 = 3;
const SYMTAB_EVENT: u8 = 4;
const SYMTAB_TABLE: u8 = 5;
const FLAG_UNDEFINED: u32 = 0x10;
const FLAG_EXPLICIT_NAME: u32 = 0x40;
const IMPORT_FUNCTION: u8 = 0;

/// A copy of the relocatable object `object` in which every function
/// symbol (defined or undefined) named by a key of `renames` carries the
/// mapped name instead, without the section only the bridge reads.
pub fn rename_functions(object: &[u8], renames: &HashMap<String, String>) -> Result<Vec<u8>> {
    let sections = sections(object)?;
    let only_for_the_bridge = |s: &Section<'_>| s.custom_name == Some(SOURCES_SECTION);
    if renames.is_empty() && !sections.iter().any(only_for_the_bridge) {
        return Ok(object.to_vec());
    }
    // Function imports named by their field (no explicit symbol name).
    let mut renamed_imports: Vec<bool> = Vec::new();
    let mut symtab: Option<Vec<u8>> = None;
    for s in &sections {
        if s.id == SECTION_CUSTOM && s.custom_name == Some("linking") {
            let (table, imports) = rename_in_linking(object, s, renames)?;
            symtab = Some(table);
            renamed_imports = imports;
        }
    }
    let Some(linking) = symtab else {
        bail!("the object has no `linking` section: it is not relocatable");
    };
    let mut out = object[..8].to_vec();
    for s in &sections {
        if only_for_the_bridge(s) {
            // It comes last: no section index changes.
            continue;
        }
        if s.id == SECTION_CUSTOM && s.custom_name == Some("linking") {
            write_section(&mut out, SECTION_CUSTOM, &linking);
        } else if s.id == SECTION_IMPORT && renamed_imports.iter().any(|&r| r) {
            let payload = rename_imports(object, s, &renamed_imports, renames)?;
            write_section(&mut out, SECTION_IMPORT, &payload);
        } else {
            out.extend_from_slice(&object[s.start..s.end]);
        }
    }
    Ok(out)
}

/// One section: its id, its whole bytes (header included) and payload.
struct Section<'a> {
    id: u8,
    start: usize,
    end: usize,
    payload: usize,
    custom_name: Option<&'a str>,
}

fn sections(object: &[u8]) -> Result<Vec<Section<'_>>> {
    if object.len() < 8 || &object[..4] != b"\0asm" {
        bail!("not a wasm object");
    }
    let mut r = BinaryReader::new(&object[8..], 8);
    let mut out = Vec::new();
    while !r.eof() {
        let start = r.original_position() as usize;
        let id = r.read_u8()?;
        let size = r.read_var_u32()? as usize;
        let payload = r.original_position() as usize;
        let end = payload
            .checked_add(size)
            .filter(|&e| e <= object.len())
            .ok_or_else(|| anyhow!("a section runs past the end of the object"))?;
        r.read_bytes(size)?;
        let custom_name = if id == SECTION_CUSTOM {
            Some(BinaryReader::new(&object[payload..end], payload as u64).read_string()?)
        } else {
            None
        };
        out.push(Section {
            id,
            start,
            end,
            payload,
            custom_name,
        });
    }
    Ok(out)
}

fn write_section(out: &mut Vec<u8>, id: u8, payload: &[u8]) {
    out.push(id);
    leb::write_u32(out, payload.len() as u32);
    out.extend_from_slice(payload);
}

fn write_name(out: &mut Vec<u8>, name: &str) {
    leb::write_u32(out, name.len() as u32);
    out.extend_from_slice(name.as_bytes());
}

/// The `linking` section's new payload, and for each function import
/// whether its field must be renamed.
fn rename_in_linking(
    object: &[u8],
    s: &Section<'_>,
    renames: &HashMap<String, String>,
) -> Result<(Vec<u8>, Vec<bool>)> {
    let bytes = &object[s.payload..s.end];
    let mut r = BinaryReader::new(bytes, s.payload as u64);
    let mut out = Vec::new();
    write_name(&mut out, r.read_string()?);
    let version = r.read_var_u32()?;
    leb::write_u32(&mut out, version);
    let mut imports = Vec::new();
    while !r.eof() {
        let kind = r.read_u8()?;
        let len = r.read_var_u32()? as usize;
        let body = r.read_bytes(len)?;
        let body = if kind == SYMTAB_SUBSECTION {
            rename_symbols(body, renames, &mut imports).context("malformed symbol table")?
        } else {
            body.to_vec()
        };
        out.push(kind);
        leb::write_u32(&mut out, body.len() as u32);
        out.extend_from_slice(&body);
    }
    Ok((out, imports))
}

fn rename_symbols(
    body: &[u8],
    renames: &HashMap<String, String>,
    imports: &mut Vec<bool>,
) -> Result<Vec<u8>> {
    let mut r = BinaryReader::new(body, 0);
    let mut out = Vec::new();
    let count = r.read_var_u32()?;
    leb::write_u32(&mut out, count);
    for _ in 0..count {
        let kind = r.read_u8()?;
        let flags = r.read_var_u32()?;
        out.push(kind);
        leb::write_u32(&mut out, flags);
        let undefined = flags & FLAG_UNDEFINED != 0;
        let named = !undefined || flags & FLAG_EXPLICIT_NAME != 0;
        match kind {
            SYMTAB_FUNCTION | SYMTAB_GLOBAL | SYMTAB_EVENT | SYMTAB_TABLE => {
                let index = r.read_var_u32()?;
                leb::write_u32(&mut out, index);
                let is_function = kind == SYMTAB_FUNCTION;
                if named {
                    let name = r.read_string()?;
                    let new = renames.get(name).filter(|_| is_function);
                    write_name(&mut out, new.map_or(name, String::as_str));
                } else if is_function {
                    let i = index as usize;
                    if imports.len() <= i {
                        imports.resize(i + 1, false);
                    }
                    imports[i] = true;
                }
            }
            SYMTAB_DATA => {
                write_name(&mut out, r.read_string()?);
                if !undefined {
                    for _ in 0..3 {
                        leb::write_u32(&mut out, r.read_var_u32()?);
                    }
                }
            }
            SYMTAB_SECTION => leb::write_u32(&mut out, r.read_var_u32()?),
            other => bail!("unknown symbol kind {other}"),
        }
    }
    if !r.eof() {
        bail!("bytes after the last symbol");
    }
    Ok(out)
}

/// The import section's new payload: function imports marked in
/// `by_field` (named by their field) and listed in `renames` get the new
/// field name.
fn rename_imports(
    object: &[u8],
    s: &Section<'_>,
    by_field: &[bool],
    renames: &HashMap<String, String>,
) -> Result<Vec<u8>> {
    let reader = SectionLimited::<Imports<'_>>::new(BinaryReader::new(
        &object[s.payload..s.end],
        s.payload as u64,
    ))?;
    let mut starts = Vec::new();
    let mut function = 0usize;
    let mut out = Vec::new();
    leb::write_u32(&mut out, reader.count());
    let mut entries = Vec::new();
    for group in reader.into_iter_with_offsets() {
        let (_, group) = group?;
        let Imports::Single(start, import) = group else {
            bail!("compact import encodings are not supported");
        };
        let rename = match import.ty {
            wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_) => {
                function += 1;
                by_field.get(function - 1).copied().unwrap_or(false)
            }
            _ => false,
        };
        starts.push(start as usize);
        entries.push((import, rename));
    }
    starts.push(s.end);
    for (i, (import, rename)) in entries.iter().enumerate() {
        let (start, end) = (starts[i], starts[i + 1]);
        let mut r = BinaryReader::new(&object[start..end], start as u64);
        r.read_string()?;
        r.read_string()?;
        let rest = &object[r.original_position() as usize..end];
        write_name(&mut out, import.module);
        let new = renames.get(import.name).filter(|_| *rename);
        write_name(&mut out, new.map_or(import.name, String::as_str));
        if *rename && rest.first() != Some(&IMPORT_FUNCTION) {
            bail!("internal error: a function import without the function kind");
        }
        out.extend_from_slice(rest);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::bridge::objects;

    use crate::test_support::object as il_object;

    const IL: &str = "data $d = { l $f, l $ext }\n\
        export function l $f(l %a) {\n@s\n %r =l call $ext(l %a)\n %q =l call $other()\n ret %r\n}\n";

    #[test]
    fn renames_definitions_and_imports_and_keeps_everything_else() {
        let obj = il_object(IL);
        let renames: HashMap<String, String> = [
            ("f", "__skc_il.f"),
            ("ext", "__skc_bridge.ext.j_j"),
            ("d", "x"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let renamed = rename_functions(&obj, &renames).unwrap();
        wasmparser::Validator::new().validate_all(&renamed).unwrap();
        let f = objects::read(&renamed).unwrap();
        assert!(f.is_il);
        let names =
            |v: &[objects::FunctionSymbol]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&f.defined), ["__skc_il.f"]);
        assert_eq!(names(&f.undefined), ["__skc_bridge.ext.j_j", "other"]);
        // The data symbol of the same name list is untouched, and the
        // sections after the rewritten ones are byte-identical.
        assert!(String::from_utf8_lossy(&renamed).contains("reloc.DATA"));
        let tail = |b: &[u8]| {
            let s = sections(b).unwrap();
            let first = s.iter().position(|s| s.id == 3).unwrap();
            s[first..]
                .iter()
                .filter(|s| s.custom_name != Some("linking"))
                .map(|s| b[s.start..s.end].to_vec())
                .collect::<Vec<_>>()
        };
        assert_eq!(tail(&obj), tail(&renamed));
        let back: HashMap<String, String> = [("__skc_il.f", "f"), ("__skc_bridge.ext.j_j", "ext")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(
            rename_functions(&renamed, &back).unwrap(),
            obj,
            "renaming back restores the object"
        );
    }

    #[test]
    fn no_renames_is_the_same_object_and_garbage_is_an_error() {
        let obj = il_object(IL);
        assert_eq!(rename_functions(&obj, &HashMap::new()).unwrap(), obj);
        let one: HashMap<String, String> = [("f".to_string(), "g".to_string())].into();
        assert!(rename_functions(b"\0asm\x01\0\0\0\x02\x05\x01", &one).is_err());
        assert!(rename_functions(b"junk", &one).is_err());
    }
}
