//! The reading pipeline: text → parsed item → normalised, SSA, verified.
//!
//! [`ItemReader`] pulls one item at a time from a stream, so memory stays
//! proportional to the largest item, not the input. Each function goes
//! through [`cfg::normalize`], [`ssa::construct`] and [`verify::verify`];
//! an item with errors is reported and skipped, and at the end the reader
//! says how many errors there were.

use std::io::{BufRead, Write};

use crate::contract::backend::{InputErrors, ItemSource};
use crate::ir::types::TypeTable;
use crate::ir::Item;
pub use crate::ir::Module;
use crate::lang::diag::Renderer;
use crate::lang::lexer::Lexer;
use crate::lang::parser::{Parsed, Parser};
use crate::sema::cfg::{self, ControlFlow};
use crate::sema::{ssa, verify};

/// Reads verified items from a text stream; see the module doc.
pub struct ItemReader<'a> {
    parser: Parser<'a>,
    done: bool,
    /// Working memory of the passes, kept from one function to the next.
    flow: ControlFlow,
    ssa_scratch: ssa::Scratch,
    verify_scratch: verify::Scratch,
}

impl<'a> ItemReader<'a> {
    /// A reader of `input` (named `file_name` in messages) that writes
    /// diagnostics to `diagnostics`, with ANSI colours if `color`.
    pub fn new(
        input: Box<dyn BufRead + 'a>,
        file_name: &str,
        diagnostics: Box<dyn Write + 'a>,
        color: bool,
    ) -> Self {
        ItemReader {
            parser: Parser::new(
                Lexer::new(input),
                Renderer::new(diagnostics, file_name, color),
            ),
            done: false,
            flow: ControlFlow::default(),
            ssa_scratch: ssa::Scratch::default(),
            verify_scratch: verify::Scratch::default(),
        }
    }

    /// How many errors have been reported so far.
    pub fn error_count(&self) -> usize {
        self.parser.error_count()
    }
}

impl ItemSource for ItemReader<'_> {
    fn next_item(&mut self) -> Result<Option<Item>, InputErrors> {
        loop {
            if self.done {
                return self.end();
            }
            match self.parser.next_item() {
                Parsed::Eof => {
                    self.done = true;
                }
                Parsed::Failed => {}
                Parsed::Item(Item::Function(mut f)) => {
                    cfg::normalize(&mut f);
                    self.flow.recompute(&f);
                    let flow = &self.flow;
                    let mut diags = ssa::construct_reusing(&mut f, flow, &mut self.ssa_scratch);
                    if diags.is_empty() {
                        diags = verify::verify_reusing(
                            &f,
                            flow,
                            self.parser.types(),
                            &mut self.verify_scratch,
                        );
                    }
                    if diags.is_empty() {
                        return Ok(Some(Item::Function(f)));
                    }
                    self.parser.report(diags);
                }
                Parsed::Item(item) => return Ok(Some(item)),
            }
        }
    }

    fn types(&self) -> &TypeTable {
        self.parser.types()
    }
}

impl ItemReader<'_> {
    fn end(&self) -> Result<Option<Item>, InputErrors> {
        match self.parser.error_count() {
            0 => Ok(None),
            count => Err(InputErrors { count }),
        }
    }
}

/// Reads a whole module from text; `Err` holds the rendered diagnostics.
pub fn read_module(text: &str, file_name: &str) -> Result<Module, String> {
    read_module_bytes(text.as_bytes(), file_name)
}

/// Like [`read_module`] for input that may not be UTF-8.
pub fn read_module_bytes(bytes: &[u8], file_name: &str) -> Result<Module, String> {
    let mut rendered = Vec::new();
    let result = {
        let mut reader =
            ItemReader::new(Box::new(bytes), file_name, Box::new(&mut rendered), false);
        let mut items = Vec::new();
        loop {
            match reader.next_item() {
                Ok(Some(item)) => items.push(item),
                Ok(None) => {
                    break Ok(Module {
                        types: reader.types().clone(),
                        items,
                    })
                }
                Err(e) => break Err(e),
            }
        }
    };
    match result {
        Ok(m) => Ok(m),
        Err(e) => {
            let mut text = String::from_utf8_lossy(&rendered).into_owned();
            if text.is_empty() {
                text = e.to_string();
            }
            Err(text)
        }
    }
}

/// Parses a whole module without the later passes: functions are as
/// written (blocks in text order, temporaries possibly assigned several
/// times), not normalised, not in SSA form and not verified. For tools and
/// tests of the text form only; backends need [`read_module`].
pub fn parse_module_unverified(bytes: &[u8], file_name: &str) -> Result<Module, String> {
    let mut rendered = Vec::new();
    let (items, types, errors) = {
        let mut parser = Parser::new(
            Lexer::new(Box::new(bytes)),
            Renderer::new(Box::new(&mut rendered), file_name, false),
        );
        let mut items = Vec::new();
        loop {
            match parser.next_item() {
                Parsed::Item(item) => items.push(item),
                Parsed::Failed => {}
                Parsed::Eof => break,
            }
        }
        (items, parser.types().clone(), parser.error_count())
    };
    if errors == 0 {
        Ok(Module { types, items })
    } else {
        Err(String::from_utf8_lossy(&rendered).into_owned())
    }
}

/// An [`ItemSource`] over a module already in memory.
pub struct ModuleSource {
    types: TypeTable,
    items: std::vec::IntoIter<Item>,
}

impl ModuleSource {
    /// A source handing out `module`'s items in order.
    pub fn new(module: Module) -> Self {
        ModuleSource {
            types: module.types,
            items: module.items.into_iter(),
        }
    }
}

impl ItemSource for ModuleSource {
    fn next_item(&mut self) -> Result<Option<Item>, InputErrors> {
        Ok(self.items.next())
    }

    fn types(&self) -> &TypeTable {
        &self.types
    }
}
