//! Which symbols a file keeps to itself, from its tokens alone.
//!
//! A function or data definition without `export` is local to its file
//! (like `static` in C), and a reference to it may come before the
//! definition. Whoever reads several files as one module has to know every
//! file's local names before handing out the file's first item, so
//! [`local_definitions`] lexes a file once without parsing it: it follows
//! brace depth to find the top-level `function` and `data` keywords and
//! takes the first `$name` after each. Memory is proportional to the
//! number of local names, not to the file. Malformed input gives a
//! best-effort answer; the reader reports the errors when it reads the
//! file.

use std::collections::HashSet;
use std::io::{self, BufRead};

use crate::ir::Symbol;
use crate::lang::lexer::{Lexer, Tok};

/// The names of the functions and data `input` defines without `export`
/// or `common` (a `common` definition is merged with the other files', so
/// it is never local). `each_symbol` sees the text of every `$name` in the
/// file, definitions and references alike.
pub fn local_definitions(
    input: Box<dyn BufRead + '_>,
    mut each_symbol: impl FnMut(&[u8]),
) -> io::Result<HashSet<Symbol>> {
    let mut lex = Lexer::new(input);
    let mut local = HashSet::new();
    let mut depth = 0usize;
    // Linkage keywords since the last top-level item.
    let (mut export, mut common) = (false, false);
    // After `function` or `data`: the next top-level `$name` is defined.
    let mut defining = false;
    loop {
        let token = lex.next_token();
        match token.tok {
            Tok::Eof => break,
            // Nothing is quoted from the text, so none of it is kept.
            Tok::Nl => lex.discard_text(),
            // Not every malformed token is consumed whole; skipping the
            // line guarantees progress.
            Tok::Error => {
                lex.skip_line();
                lex.discard_text();
            }
            Tok::LBrace => depth += 1,
            Tok::RBrace => depth = depth.saturating_sub(1),
            Tok::Ident if depth == 0 => match lex.text() {
                b"export" => export = true,
                b"common" => common = true,
                b"function" | b"data" => defining = true,
                _ => {}
            },
            Tok::Global => {
                each_symbol(lex.text());
                if depth == 0 && defining {
                    if !export && !common {
                        if let Ok(name) = std::str::from_utf8(lex.text()) {
                            local.insert(name.to_owned());
                        }
                    }
                    (export, common, defining) = (false, false, false);
                }
            }
            _ => {}
        }
    }
    match lex.io_error.take() {
        Some(error) => Err(io::Error::other(error)),
        None => Ok(local),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locals(text: &str) -> Vec<String> {
        let mut names: Vec<String> = local_definitions(Box::new(text.as_bytes()), |_| {})
            .expect("in memory")
            .into_iter()
            .collect();
        names.sort();
        names
    }

    #[test]
    fn definitions_without_export_are_local() {
        let text = "function w $scale(w %v) {\n@start\n\tret %v\n}\n\
            export function w $main() {\n@start\n\t%r =w call $scale(w 2)\n\tret %r\n}\n\
            data $fmt = { b \"%d\\n\", b 0 }\n\
            export data $shared = { w 1 }\n";
        assert_eq!(locals(text), ["fmt", "scale"]);
    }

    #[test]
    fn linkage_may_span_lines_and_carry_sections() {
        let text = "export\n  section \".text.hot\" \"ax\"\nfunction $hot() {\n@s\n\tret\n}\n\
            section \".rodata\" data $ro = { b 1 }\n\
            thread data $tls = { w 0 }\n\
            export thread data $etls = { w 0 }\n\
            common data $tentative = { z 8 }\n";
        assert_eq!(locals(text), ["ro", "tls"]);
    }

    #[test]
    fn references_inside_bodies_and_data_are_not_definitions() {
        let text = "type :u = { { w } { l, l } }\n\
            data $tab = { l $helper, l $other + 8 }\n\
            export function :u $f(l %p) {\n@start\n\
            \t%a =l loadl thread $tab\n\tcall $helper(l extern $x)\n\tret %p\n}\n\
            function $helper() {\n@s\n\tret\n}\n\
            dbgfile \"function.c\"\n";
        assert_eq!(locals(text), ["helper", "tab"]);
    }

    #[test]
    fn quoted_names_and_every_symbol_are_seen() {
        let text = "data $\"a b\" = { l $\"c#1\" }\nfunction w $f() {\n@s\n\tret 0\n}\n";
        let mut seen = Vec::new();
        let local = local_definitions(Box::new(text.as_bytes()), |name| {
            seen.push(String::from_utf8_lossy(name).into_owned())
        })
        .expect("in memory");
        assert_eq!(seen, ["a b", "c#1", "f"]);
        assert!(local.contains("a b") && local.contains("f"));
    }
}
