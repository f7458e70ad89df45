//! Whether a symbol the module does not define is a function or data.
//!
//! IL does not say: `$F` is an address either way, and wasm-ld refuses an
//! object that imports a function as data. A symbol is a function when
//!
//! 1. the module defines it as one, or calls it directly;
//! 2. an address computed from it only by copies and phis is the callee of
//!    an indirect call in some function ([`note_called_addresses`]);
//! 3. it is a C library function skc knows
//!    ([`crate::wasi::libc::is_c_library_function`]);
//! 4. a C source file of the same link declares or defines a function of
//!    that name at file scope ([`c_file_functions`]).
//!
//! Every other undefined symbol is data, as C front ends' references to
//! `extern` objects are.

use std::collections::HashSet;

use skc_ir::ir::{Const, Function, InstKind, Operand, UnOp, Value};

use crate::object::Object;

/// Marks the symbols whose address `f` calls through (rule 2 above).
pub fn note_called_addresses(f: &Function, obj: &mut Object) {
    let mut called: Vec<Value> = Vec::new();
    for bd in &f.blocks {
        for inst in &bd.insts {
            if let InstKind::Call {
                callee: Operand::Value(v),
                ..
            } = &inst.kind
            {
                called.push(*v);
            }
        }
    }
    if called.is_empty() {
        return;
    }
    // Where each value comes from, when it is a copy or a phi.
    let mut sources: Vec<Vec<&Operand>> = vec![Vec::new(); f.values.len()];
    for bd in &f.blocks {
        for p in &bd.phis {
            sources[p.result.index()].extend(p.args.iter().map(|(_, op)| op));
        }
        for inst in &bd.insts {
            if let (
                Some(r),
                InstKind::Unary {
                    op: UnOp::Copy,
                    arg,
                },
            ) = (inst.result, &inst.kind)
            {
                sources[r.index()].push(arg);
            }
        }
    }
    let mut seen = vec![false; f.values.len()];
    while let Some(v) = called.pop() {
        if std::mem::replace(&mut seen[v.index()], true) {
            continue;
        }
        for op in &sources[v.index()] {
            match op {
                Operand::Value(u) => called.push(*u),
                Operand::Const(Const::Addr { sym, offset: 0 } | Const::Extern(sym)) => {
                    let id = obj.referenced(sym);
                    obj.note_function(id);
                }
                _ => {}
            }
        }
    }
}

/// The names a C source declares or defines as functions at file scope
/// (rule 4 above): an identifier followed by `(` outside any braces and
/// parentheses, in the text without comments, literals and preprocessor
/// lines. A macro invoked at file scope is listed too, which is harmless:
/// the list only decides the kind of symbols nothing else decides.
pub fn c_file_functions(text: &[u8], into: &mut HashSet<Box<str>>) {
    let mut i = 0;
    let mut depth = 0i32;
    let mut at_line_start = true;
    let mut last_ident: Option<&[u8]> = None;
    while i < text.len() {
        let c = text[i];
        match c {
            b'\n' => {
                at_line_start = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\x0c' | b'\x0b' => {
                i += 1;
                continue;
            }
            b'#' if at_line_start => {
                // A directive runs to the end of the line, with continuations.
                while i < text.len() && text[i] != b'\n' {
                    if text[i] == b'\\' && i + 1 < text.len() {
                        i += 1;
                    }
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        at_line_start = false;
        if text[i..].starts_with(b"//") {
            while i < text.len() && text[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if text[i..].starts_with(b"/*") {
            i += 2;
            while i < text.len() && !text[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
            continue;
        }
        if c == b'"' || c == b'\'' {
            i += 1;
            while i < text.len() && text[i] != c {
                if text[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            last_ident = None;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < text.len() && (text[i].is_ascii_alphanumeric() || text[i] == b'_') {
                i += 1;
            }
            last_ident = Some(&text[start..i]);
            continue;
        }
        match c {
            b'(' => {
                if depth == 0 {
                    if let Some(name) = last_ident.and_then(|n| std::str::from_utf8(n).ok()) {
                        into.insert(name.into());
                    }
                }
                depth += 1;
            }
            b'{' => depth += 1,
            b')' | b'}' => depth = (depth - 1).max(0),
            _ => {}
        }
        last_ident = None;
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_scope_functions_are_found() {
        let mut names = HashSet::new();
        c_file_functions(
            b"#include <stdio.h>\n#define M(x) \\\n  g(x)\n/* h( */ // k(\n\
              static int F(int x) { return q(x); }\nint (*fp)(int) = 0;\n\
              int tab[3] = { 1, 2, 3 };\nchar *s = \"p(\";\nvoid G(void);\n",
            &mut names,
        );
        let mut names: Vec<_> = names.iter().map(|n| n.to_string()).collect();
        names.sort();
        // `int (*fp)(int)` lists `int`: no C symbol has that name.
        assert_eq!(names, ["F", "G", "int"]);
    }
}

#[cfg(test)]
mod object_tests {
    fn compile(text: &str) -> anyhow::Result<String> {
        let m = skc_ir::reader::read_module(text, "t.ssa").expect("parses");
        let bytes = crate::compile_object(&mut skc_ir::reader::ModuleSource::new(m))?;
        wasmparser::Validator::new_with_features(crate::wasm_features())
            .validate_all(&bytes)
            .expect("valid");
        Ok(wasmprinter::print_bytes(&bytes).expect("prints"))
    }

    #[test]
    fn an_address_called_through_is_a_function() {
        let text = compile(
            "function l $f() {\n@s\n\t%p =l copy $F\n\t%r =l call %p(l 1)\n\tret %r\n}\n\
             data $d = { l $D }\n",
        )
        .expect("compiles");
        assert!(text.contains("(import \"env\" \"F\" (func"), "{text}");
        assert!(!text.contains("\"D\" (func"), "D stays data: {text}");
    }

    #[test]
    fn c_library_addresses_get_lp64_adapters() {
        let text = compile("data $t = { l $strlen, l $printf, l $sqrt }\n").expect("compiles");
        assert!(text.contains("__skc_lp64_address.strlen"), "{text}");
        assert!(text.contains("__skc_lp64_address.printf"), "{text}");
        assert!(
            !text.contains("__skc_lp64_address.sqrt"),
            "sqrt has the same signature in both data models: {text}"
        );
    }

    #[test]
    fn a_c_library_address_without_a_known_signature_is_refused() {
        let err = compile("data $t = { l $strtok }\n").expect_err("refused");
        assert!(err.to_string().contains("`strtok`"), "{err}");
    }
}
