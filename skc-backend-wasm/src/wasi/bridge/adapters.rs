//! The adapter object: a relocatable wasm object of functions that take
//! one signature and call a function of another.

use anyhow::{bail, Result};
use wasm_encoder::{
    CodeSection, CustomSection, EntityType, FunctionSection, ImportSection, LinkingSection, Module,
    SymbolTable, TypeSection, ValType,
};

use super::signature::{Signature, Val};
use crate::ir_passes::setjmp::c_frames;
use crate::object::leb;
use crate::wasi::lp64::errno;

/// One adapter function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adapter {
    /// The adapter's symbol.
    pub name: String,
    /// Whether the symbol is hidden (seen by the link, not exported).
    pub hidden: bool,
    /// The signature its callers use.
    pub signature: Signature,
    /// The function it calls.
    pub target: String,
    /// That function's signature.
    pub target_signature: Signature,
    /// Runtime functions `void (void)` called around the call, outermost
    /// first.
    pub around: Vec<Around>,
}

/// A pair of runtime calls around an adapter's call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Around {
    /// Called before the arguments are converted.
    pub before: &'static str,
    /// Called after the result is converted.
    pub after: &'static str,
}

impl Around {
    /// Keeps `errno` in step ([`crate::wasi::lp64::errno`]).
    pub const ERRNO: Around = Around {
        before: errno::SYNC,
        after: errno::SYNC,
    };
    /// Counts a C frame that may call IL back
    /// ([`crate::ir_passes::setjmp::c_frames`]).
    pub const C_FRAME: Around = Around {
        before: c_frames::ENTER,
        after: c_frames::LEAVE,
    };
}

/// `R_WASM_FUNCTION_INDEX_LEB` in the tool-conventions linking format.
const RELOC_FUNCTION_INDEX_LEB: u8 = 0;
/// Section index of the code section: types, imports, functions, code.
const CODE_SECTION_INDEX: u32 = 3;

/// The relocatable wasm object defining `adapters`.
pub fn write_object(adapters: &[Adapter]) -> Result<Vec<u8>> {
    let mut types: Vec<&Signature> = Vec::new();
    let mut targets: Vec<(&str, &Signature)> = Vec::new();
    let mut imports = ImportSection::new();
    let mut adapter_types = Vec::with_capacity(adapters.len());
    let mut target_index = Vec::with_capacity(adapters.len());
    for a in adapters {
        let i = match targets.iter().position(|(n, _)| *n == a.target) {
            Some(i) => {
                if targets[i].1 != &a.target_signature {
                    bail!(
                        "internal error: two signatures for the adapters' target `{}`",
                        a.target
                    );
                }
                i
            }
            None => {
                let ty = index_of(&mut types, &a.target_signature);
                imports.import("env", &a.target, EntityType::Function(ty));
                targets.push((&a.target, &a.target_signature));
                targets.len() - 1
            }
        };
        target_index.push(i as u32);
        adapter_types.push(index_of(&mut types, &a.signature));
    }
    let no_signature = Signature {
        params: Vec::new(),
        results: Vec::new(),
    };
    let mut runtime_index = std::collections::HashMap::new();
    for name in adapters
        .iter()
        .flat_map(|a| &a.around)
        .flat_map(|w| [w.before, w.after])
    {
        if runtime_index.contains_key(name) {
            continue;
        }
        let ty = index_of(&mut types, &no_signature);
        imports.import("env", name, EntityType::Function(ty));
        targets.push((name, &no_signature));
        runtime_index.insert(name, targets.len() as u32 - 1);
    }

    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    // Relocation sites, as offsets in the code section's payload.
    let mut relocs: Vec<(u32, u32)> = Vec::new();
    let mut offset = leb_len(adapters.len() as u32);
    for ((a, &ty), &target) in adapters.iter().zip(&adapter_types).zip(&target_index) {
        functions.function(ty);
        let (mut body, call_at) = adapter_body(a, target)?;
        let mut calls = vec![(call_at, target)];
        for w in a.around.iter().rev() {
            let (before, after) = (runtime_index[w.before], runtime_index[w.after]);
            (body, calls) = around_with_calls(&body, &calls, before, after);
        }
        let mut size = Vec::new();
        leb::write_u32(&mut size, body.len() as u32);
        for (at, target) in calls {
            relocs.push((offset + size.len() as u32 + at, target));
        }
        offset += (size.len() + body.len()) as u32;
        code.raw(&body);
    }

    let mut symbols = SymbolTable::new();
    for (i, _) in targets.iter().enumerate() {
        symbols.function(SymbolTable::WASM_SYM_UNDEFINED, i as u32, None);
    }
    for (i, a) in adapters.iter().enumerate() {
        let flags = if a.hidden {
            SymbolTable::WASM_SYM_VISIBILITY_HIDDEN
        } else {
            0
        };
        symbols.function(flags, (targets.len() + i) as u32, Some(&a.name));
    }
    let mut linking = LinkingSection::new();
    linking.symbol_table(&symbols);

    let mut reloc_payload = Vec::new();
    leb::write_u32(&mut reloc_payload, CODE_SECTION_INDEX);
    leb::write_u32(&mut reloc_payload, relocs.len() as u32);
    for &(at, symbol) in &relocs {
        reloc_payload.push(RELOC_FUNCTION_INDEX_LEB);
        leb::write_u32(&mut reloc_payload, at);
        leb::write_u32(&mut reloc_payload, symbol);
    }

    let mut type_section = TypeSection::new();
    for s in &types {
        type_section.ty().function(
            s.params
                .iter()
                .map(|&v| val_type(v))
                .collect::<Result<Vec<_>>>()?,
            s.results
                .iter()
                .map(|&v| val_type(v))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    let mut module = Module::new();
    module.section(&type_section);
    module.section(&imports);
    module.section(&functions);
    module.section(&code);
    module.section(&linking);
    if !relocs.is_empty() {
        module.section(&CustomSection {
            name: "reloc.CODE".into(),
            data: reloc_payload.into(),
        });
    }
    Ok(module.finish())
}

/// `body` (no locals, ending in `end`) with a call of function `before`
/// first and of `after` last, and its call sites moved to match.
fn around_with_calls(
    body: &[u8],
    calls: &[(u32, u32)],
    before: u32,
    after: u32,
) -> (Vec<u8>, Vec<(u32, u32)>) {
    let call = |b: &mut Vec<u8>, f: u32| {
        b.push(CALL);
        let at = b.len() as u32;
        b.extend(leb::padded_u32(f));
        at
    };
    let (locals, code) = body.split_at(1);
    let code = &code[..code.len() - 1]; // without `end`
    let mut b = locals.to_vec();
    let first = call(&mut b, before);
    let shift = b.len() as u32 - 1;
    b.extend(code);
    let last = call(&mut b, after);
    b.push(END);
    let mut sites = vec![(first, before)];
    sites.extend(calls.iter().map(|&(at, t)| (at + shift, t)));
    sites.push((last, after));
    (b, sites)
}

fn index_of<'a>(types: &mut Vec<&'a Signature>, s: &'a Signature) -> u32 {
    match types.iter().position(|t| *t == s) {
        Some(i) => i as u32,
        None => {
            types.push(s);
            (types.len() - 1) as u32
        }
    }
}

fn leb_len(v: u32) -> u32 {
    let mut b = Vec::new();
    leb::write_u32(&mut b, v);
    b.len() as u32
}

fn val_type(v: Val) -> Result<ValType> {
    Ok(match v {
        Val::I32 => ValType::I32,
        Val::I64 => ValType::I64,
        Val::F32 => ValType::F32,
        Val::F64 => ValType::F64,
        Val::Other => bail!("internal error: an adapter for a vector or reference type"),
    })
}

// Opcodes written directly: the call's index must be a padded LEB at a
// known offset for its relocation.
const LOCAL_GET: u8 = 0x20;
const CALL: u8 = 0x10;
const DROP: u8 = 0x1a;
const END: u8 = 0x0b;
const I32_CONST: u8 = 0x41;
const I64_CONST: u8 = 0x42;
const F32_CONST: u8 = 0x43;
const F64_CONST: u8 = 0x44;
const I32_WRAP_I64: u8 = 0xa7;
const I64_EXTEND_I32_S: u8 = 0xac;
const F32_DEMOTE_F64: u8 = 0xb6;
const F64_PROMOTE_F32: u8 = 0xbb;

/// What an adapter does with a value no width change converts (a float
/// against an integer, `f32` against `f64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unconvertible {
    /// Refuse: the link bridge reports such pairs before writing anything.
    Refuse,
    /// Convert between float widths, and pass a zero for a float against
    /// an integer: for calls within one IL object whose types disagree,
    /// where the IL leaves the value undefined.
    Zero,
}

/// The body of one adapter (locals and code) calling function `target`,
/// and the offset of the call's function index in it.
fn adapter_body(a: &Adapter, target: u32) -> Result<(Vec<u8>, u32)> {
    body(
        &a.signature,
        &a.target_signature,
        target,
        Unconvertible::Refuse,
    )
    .ok_or_else(|| {
        anyhow::anyhow!(
            "internal error: no adapter converts {} (`{}`) to {} (`{}`)",
            a.signature,
            a.name,
            a.target_signature,
            a.target
        )
    })
}

/// The body (locals and code) of a function with signature `site` that
/// calls function index `target` of signature `callee`: arguments are
/// converted to the callee's types (i64 to i32 wrapped, i32 to i64
/// sign-extended), missing ones are zero and extra ones dropped, and the
/// result is converted back, dropped, or zero when the callee has none.
/// Returns the body and the offset of the call's padded function index;
/// `None` when a pair is unconvertible and `policy` refuses.
pub fn body(
    site: &Signature,
    callee: &Signature,
    target: u32,
    policy: Unconvertible,
) -> Option<(Vec<u8>, u32)> {
    let mut b = vec![0]; // no locals
    for (i, &to) in callee.params.iter().enumerate() {
        match site.params.get(i) {
            Some(&from) => {
                b.push(LOCAL_GET);
                leb::write_u32(&mut b, i as u32);
                convert(&mut b, from, to, policy)?;
            }
            None => zero(&mut b, to)?,
        }
    }
    b.push(CALL);
    let call_at = b.len() as u32;
    // The import's own index, so the object validates; the linker
    // rewrites it through the relocation.
    b.extend(leb::padded_u32(target));
    match (callee.results.as_slice(), site.results.as_slice()) {
        ([], []) => {}
        ([from], [to]) => convert(&mut b, *from, *to, policy)?,
        ([], [to]) => zero(&mut b, *to)?,
        ([_], []) => b.push(DROP),
        _ => return None,
    }
    b.push(END);
    Some((b, call_at))
}

/// Converts the value on the stack from `from` to `to`.
fn convert(b: &mut Vec<u8>, from: Val, to: Val, policy: Unconvertible) -> Option<()> {
    match (from, to) {
        (Val::Other, _) | (_, Val::Other) => return None,
        (f, t) if f == t => {}
        (Val::I64, Val::I32) => b.push(I32_WRAP_I64),
        (Val::I32, Val::I64) => b.push(I64_EXTEND_I32_S),
        _ if policy == Unconvertible::Refuse => return None,
        (Val::F32, Val::F64) => b.push(F64_PROMOTE_F32),
        (Val::F64, Val::F32) => b.push(F32_DEMOTE_F64),
        _ => {
            b.push(DROP);
            zero(b, to)?;
        }
    }
    Some(())
}

/// Pushes a zero of type `v`.
fn zero(b: &mut Vec<u8>, v: Val) -> Option<()> {
    match v {
        Val::I32 => b.extend([I32_CONST, 0]),
        Val::I64 => b.extend([I64_CONST, 0]),
        Val::F32 => {
            b.push(F32_CONST);
            b.extend(0f32.to_le_bytes());
        }
        Val::F64 => {
            b.push(F64_CONST);
            b.extend(0f64.to_le_bytes());
        }
        Val::Other => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::{KnownCustom, Linking, Parser, Payload, SymbolInfo};

    fn sig(code: &str) -> Signature {
        Signature::from_code(code).unwrap()
    }

    fn adapter(name: &str, s: &str, target: &str, t: &str) -> Adapter {
        Adapter {
            name: name.into(),
            hidden: name.starts_with("__"),
            signature: sig(s),
            target: target.into(),
            target_signature: sig(t),
            around: Vec::new(),
        }
    }

    #[test]
    fn adapters_validate_and_name_their_symbols_and_relocations() {
        let list = [
            adapter("__skc_bridge.strspn.jj_j", "jj_j", "strspn", "ii_i"),
            adapter("f", "i_i", "__skc_il.f", "j_j"),
            adapter("__skc_bridge.g.j_i", "j_i", "g", "jid_"),
            adapter("__skc_bridge.strspn.ij_j", "ij_j", "strspn", "ii_i"),
        ];
        let bytes = write_object(&list).unwrap();
        wasmparser::Validator::new()
            .validate_all(&bytes)
            .expect("valid module");
        let mut imports = Vec::new();
        let mut symbols = Vec::new();
        let mut relocs = Vec::new();
        for payload in Parser::new(0).parse_all(&bytes) {
            match payload.unwrap() {
                Payload::ImportSection(r) => {
                    for i in r.into_imports() {
                        imports.push(i.unwrap().name.to_string());
                    }
                }
                Payload::CustomSection(c) => match c.as_known() {
                    KnownCustom::Linking(l) => {
                        for sub in l.subsections() {
                            if let Linking::SymbolTable(t) = sub.unwrap() {
                                for s in t {
                                    if let SymbolInfo::Func { flags, index, name } = s.unwrap() {
                                        symbols.push((flags.bits(), index, name.map(String::from)));
                                    }
                                }
                            }
                        }
                    }
                    KnownCustom::Reloc(r) => {
                        assert_eq!(r.section_index(), CODE_SECTION_INDEX);
                        for e in r.entries() {
                            let e = e.unwrap();
                            relocs.push((e.offset, e.index));
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        assert_eq!(
            imports,
            ["strspn", "__skc_il.f", "g"],
            "one import per target"
        );
        assert_eq!(symbols[0], (0x10, 0, None));
        assert_eq!(
            symbols[3],
            (0x4, 3, Some("__skc_bridge.strspn.jj_j".into()))
        );
        assert_eq!(symbols[4], (0, 4, Some("f".into())));
        let targets: Vec<u32> = relocs.iter().map(|r| r.1).collect();
        assert_eq!(targets, [0, 1, 2, 0]);
        // Each relocated site is a `call`'s padded index of its target.
        let code = code_payload(&bytes);
        for (at, target) in relocs {
            let at = at as usize;
            assert_eq!(code[at - 1], CALL);
            assert_eq!(&code[at..at + 5], &leb::padded_u32(target));
        }
    }

    fn code_payload(bytes: &[u8]) -> Vec<u8> {
        for payload in Parser::new(0).parse_all(bytes) {
            if let Payload::CodeSectionStart {
                unchecked_range, ..
            } = payload.unwrap()
            {
                return bytes[unchecked_range.start as usize..unchecked_range.end as usize]
                    .to_vec();
            }
        }
        panic!("no code section")
    }

    /// An adapter body: `before`, a call of function 0, `after`.
    fn around_call(before: &[u8], after: &[u8]) -> Vec<u8> {
        [before, &[CALL, 0x80, 0x80, 0x80, 0x80, 0x00], after].concat()
    }

    #[test]
    fn bodies_convert_pad_and_drop() {
        let (b, at) = adapter_body(&adapter("a", "jj_j", "t", "iii_i"), 0).unwrap();
        let before = [
            0,
            LOCAL_GET,
            0,
            I32_WRAP_I64,
            LOCAL_GET,
            1,
            I32_WRAP_I64,
            I32_CONST,
            0,
        ];
        let expected = around_call(&before, &[I64_EXTEND_I32_S, END]);
        assert_eq!(b, expected);
        assert_eq!(at, 10);
        let (b, _) = adapter_body(&adapter("a", "_j", "t", "_"), 0).unwrap();
        assert_eq!(&b[b.len() - 3..], [I64_CONST, 0, END]);
        let (b, _) = adapter_body(&adapter("a", "_", "t", "_d"), 0).unwrap();
        assert_eq!(&b[b.len() - 2..], [DROP, END]);
        assert!(adapter_body(&adapter("a", "d_", "t", "j_"), 0).is_err());
        assert!(adapter_body(&adapter("a", "_f", "t", "_d"), 0).is_err());
        // Within one object, anything goes through.
        let (b, _) = body(&sig("dfi_i"), &sig("jd_f"), 0, Unconvertible::Zero).unwrap();
        let before = [
            0,
            LOCAL_GET,
            0,
            DROP,
            I64_CONST,
            0,
            LOCAL_GET,
            1,
            F64_PROMOTE_F32,
        ];
        let expected = around_call(&before, &[DROP, I32_CONST, 0, END]);
        assert_eq!(b, expected);
    }

    #[test]
    fn errno_synchronised_adapters_call_the_runtime_around_the_target() {
        let plain = adapter("__skc_bridge.f.j_j", "j_j", "f", "i_i");
        let mut synced = adapter("__skc_bridge.g.i_d", "i_d", "g", "i_d");
        synced.around = vec![Around::ERRNO];
        let mut both = adapter("__skc_bridge.h.j_", "j_", "h", "i_");
        both.around = vec![Around::C_FRAME, Around::ERRNO];
        let bytes = write_object(&[plain, synced, both]).unwrap();
        wasmparser::Validator::new()
            .validate_all(&bytes)
            .expect("valid module");
        let code = code_payload(&bytes);
        let mut relocs = Vec::new();
        for payload in Parser::new(0).parse_all(&bytes) {
            if let Payload::CustomSection(c) = payload.unwrap() {
                if let KnownCustom::Reloc(r) = c.as_known() {
                    for e in r.entries() {
                        let e = e.unwrap();
                        relocs.push((e.offset as usize, e.index));
                    }
                }
            }
        }
        // Imports: f, g, h, then sync, enter, leave. The calls: f; sync,
        // g, sync; enter, sync, h, sync, leave.
        let targets: Vec<u32> = relocs.iter().map(|r| r.1).collect();
        assert_eq!(targets, [0, 3, 1, 3, 4, 3, 2, 3, 5]);
        for (at, target) in relocs {
            assert_eq!(code[at - 1], CALL);
            assert_eq!(&code[at..at + 5], &leb::padded_u32(target));
        }
    }

    #[test]
    fn no_adapters_is_a_valid_empty_object() {
        let bytes = write_object(&[]).unwrap();
        wasmparser::Validator::new().validate_all(&bytes).unwrap();
    }
}
