//! The function symbols a relocatable wasm object defines and imports,
//! with their signatures, read from the object's own sections.

use anyhow::{Context, Result};
use wasmparser::{
    KnownCustom, Linking, Parser, Payload, RelocationType, SymbolFlags, SymbolInfo, TypeRef,
};

use super::signature::Signature;
use crate::object::{IL_PRODUCER, IL_PRODUCER_FIELD, SOURCES_SECTION};

/// One global function symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSymbol {
    /// The symbol's name.
    pub name: String,
    /// Its wasm signature.
    pub signature: Signature,
    /// Whether its binding is weak.
    pub weak: bool,
    /// For an undefined symbol: whether the object only takes its address
    /// and never calls it directly.
    pub address_only: bool,
}

/// What one object says about its function symbols.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectFunctions {
    /// Whether skc's IL code generator wrote the object.
    pub is_il: bool,
    /// Global functions it defines.
    pub defined: Vec<FunctionSymbol>,
    /// Functions it references without defining them.
    pub undefined: Vec<FunctionSymbol>,
    /// Global data symbols it defines.
    pub data_defined: Vec<String>,
    /// Data symbols it references without defining them (not weakly).
    pub data_undefined: Vec<String>,
    /// For an object compiled from several IL inputs, the inputs using
    /// each undefined symbol (`crate::object::SOURCES_SECTION`).
    pub used_by: std::collections::BTreeMap<String, Vec<String>>,
}

/// The contents of the file at `path` if it is a wasm module or object;
/// anything else (an archive, a library) is not read beyond its first
/// bytes, and a file that cannot be read gives `None`.
pub fn read_wasm_file(path: &std::path::Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .ok()?;
    if &magic != b"\0asm" {
        return None;
    }
    std::fs::read(path).ok()
}

/// Reads the function symbols of a relocatable object. Objects without
/// a symbol table (not relocatable) have none.
pub fn read(bytes: &[u8]) -> Result<ObjectFunctions> {
    let mut types: Vec<Signature> = Vec::new();
    // Type of each function index: imports first, then definitions.
    let mut function_types: Vec<u32> = Vec::new();
    let mut import_names: Vec<String> = Vec::new();
    let mut out = ObjectFunctions::default();
    // Undefined function symbols by symbol index, and the symbols a
    // call's function index refers to.
    let mut imported: Vec<(u32, FunctionSymbol)> = Vec::new();
    let mut called = std::collections::HashSet::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(Signature::from_wasm(&ty?));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    if let TypeRef::Func(ty) | TypeRef::FuncExact(ty) = import.ty {
                        function_types.push(ty);
                        import_names.push(import.name.to_string());
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    function_types.push(ty?);
                }
            }
            Payload::CustomSection(custom) if custom.name() == SOURCES_SECTION => {
                out.used_by = read_sources(custom.data())
                    .with_context(|| format!("a malformed `{SOURCES_SECTION}` section"))?;
            }
            Payload::CustomSection(custom) => match custom.as_known() {
                KnownCustom::Producers(reader) => {
                    for field in reader {
                        let field = field?;
                        if field.name != IL_PRODUCER_FIELD {
                            continue;
                        }
                        for value in field.values {
                            out.is_il |= value?.name == IL_PRODUCER;
                        }
                    }
                }
                KnownCustom::Linking(reader) => {
                    for sub in reader.subsections() {
                        let Linking::SymbolTable(symbols) = sub? else {
                            continue;
                        };
                        for (symbol_index, symbol) in symbols.into_iter().enumerate() {
                            let (flags, index, name) = match symbol? {
                                SymbolInfo::Func { flags, index, name } => (flags, index, name),
                                SymbolInfo::Data { flags, name, .. } => {
                                    note_data(&mut out, flags, name);
                                    continue;
                                }
                                _ => continue,
                            };
                            if flags.contains(SymbolFlags::BINDING_LOCAL) {
                                continue;
                            }
                            let undefined = flags.contains(SymbolFlags::UNDEFINED);
                            let name = match name {
                                Some(n) => n.to_string(),
                                None if undefined => import_names
                                    .get(index as usize)
                                    .cloned()
                                    .context("a function symbol names a missing import")?,
                                None => continue,
                            };
                            let signature = function_types
                                .get(index as usize)
                                .and_then(|&t| types.get(t as usize))
                                .cloned()
                                .with_context(|| format!("function symbol `{name}` has no type"))?;
                            let symbol = FunctionSymbol {
                                name,
                                signature,
                                weak: flags.contains(SymbolFlags::BINDING_WEAK),
                                address_only: false,
                            };
                            if undefined {
                                imported.push((symbol_index as u32, symbol));
                            } else {
                                out.defined.push(symbol);
                            }
                        }
                    }
                }
                KnownCustom::Reloc(reader) => {
                    for entry in reader.entries() {
                        let entry = entry?;
                        if entry.ty == RelocationType::FunctionIndexLeb {
                            called.insert(entry.index);
                        }
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    out.undefined = imported
        .into_iter()
        .map(|(i, mut s)| {
            s.address_only = !called.contains(&i);
            s
        })
        .collect();
    Ok(out)
}

fn note_data(out: &mut ObjectFunctions, flags: SymbolFlags, name: &str) {
    if flags.contains(SymbolFlags::BINDING_LOCAL) {
        return;
    }
    if !flags.contains(SymbolFlags::UNDEFINED) {
        out.data_defined.push(name.to_string());
    } else if !flags.contains(SymbolFlags::BINDING_WEAK) {
        out.data_undefined.push(name.to_string());
    }
}

/// The payload of a `SOURCES_SECTION`: each symbol's users by name.
fn read_sources(data: &[u8]) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
    let mut r = wasmparser::BinaryReader::new(data, 0);
    let mut sources = Vec::new();
    for _ in 0..r.read_var_u32()? {
        sources.push(r.read_string()?.to_string());
    }
    let mut used_by = std::collections::BTreeMap::new();
    for _ in 0..r.read_var_u32()? {
        let name = r.read_string()?.to_string();
        let mut users = Vec::new();
        for _ in 0..r.read_var_u32()? {
            let i = r.read_var_u32()? as usize;
            users.push(
                sources
                    .get(i)
                    .context("an input index out of range")?
                    .clone(),
            );
        }
        used_by.insert(name, users);
    }
    Ok(used_by)
}

/// One line per symbol (`D|W|U|A name code`: defined, weak, undefined,
/// undefined and address only; `d|u name`: data defined, undefined; `IL`
/// first for IL objects): the form cached for system archives.
pub fn to_lines(f: &ObjectFunctions) -> String {
    let mut s = String::new();
    if f.is_il {
        s.push_str("IL\n");
    }
    for d in &f.defined {
        let kind = if d.weak { 'W' } else { 'D' };
        s.push_str(&format!("{kind} {} {}\n", d.name, d.signature.code()));
    }
    for u in &f.undefined {
        let kind = if u.address_only { 'A' } else { 'U' };
        s.push_str(&format!("{kind} {} {}\n", u.name, u.signature.code()));
    }
    for d in &f.data_defined {
        s.push_str(&format!("d {d}\n"));
    }
    for u in &f.data_undefined {
        s.push_str(&format!("u {u}\n"));
    }
    s
}

/// Reads [`to_lines`]; `None` if the text is not in that form.
pub fn from_lines(text: &str) -> Option<ObjectFunctions> {
    let mut f = ObjectFunctions::default();
    for line in text.lines() {
        if line == "IL" {
            f.is_il = true;
            continue;
        }
        let mut parts = line.split(' ');
        let (kind, name) = (parts.next()?, parts.next()?);
        match kind {
            "d" => f.data_defined.push(name.to_string()),
            "u" => f.data_undefined.push(name.to_string()),
            _ => {}
        }
        if matches!(kind, "d" | "u") {
            continue;
        }
        let code = parts.next()?;
        let symbol = FunctionSymbol {
            name: name.to_string(),
            signature: Signature::from_code(code)?,
            weak: kind == "W",
            address_only: kind == "A",
        };
        match kind {
            "D" | "W" => f.defined.push(symbol),
            "U" | "A" => f.undefined.push(symbol),
            _ => return None,
        }
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::bridge::signature::Val;

    use crate::test_support::object as il_object;

    #[test]
    fn an_il_object_says_what_it_defines_and_calls() {
        let obj = il_object(
            "data $tab = { l $only_address }\n\
             export function l $f(l %a) {\n@s\n %r =l call $ext(l %a, w 1)\n ret %r\n}\n\
             function w $local() {\n@s\n %p =l copy $only_address\n %r =w call %p()\n ret %r\n}\n",
        );
        let f = read(&obj).unwrap();
        assert!(f.is_il);
        let sig = |p: &[Val], r: &[Val]| Signature {
            params: p.to_vec(),
            results: r.to_vec(),
        };
        assert_eq!(
            f.defined,
            [FunctionSymbol {
                name: "f".into(),
                signature: sig(&[Val::I64], &[Val::I64]),
                weak: false,
                address_only: false,
            }],
            "the file-local function is not listed"
        );
        let called: Vec<_> = f.undefined.iter().filter(|u| !u.address_only).collect();
        assert_eq!(called.len(), 1);
        assert_eq!(called[0].name, "ext");
        assert_eq!(called[0].signature, sig(&[Val::I64, Val::I32], &[Val::I64]));
        assert!(f
            .undefined
            .iter()
            .any(|u| u.name == "only_address" && u.address_only));
        assert_eq!(from_lines(&to_lines(&f)), Some(f));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read(b"\0asm\x01\0\0\0\x01\xff").is_err());
        assert_eq!(from_lines("Q x i_"), None);
    }
}
