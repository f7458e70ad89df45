//! Text to items, one at a time.
//!
//! [`Parser::next_item`] reads one top-level item (type, data, function or
//! `dbgfile`) and returns it as parsed: a function's blocks are in the
//! order written, a block that falls through gets an explicit `jmp`, and a
//! temporary assigned several times is still one value (SSA construction
//! splits it later). Errors are rendered as they are found; the parser then
//! skips to the next line (inside a function) or the next item and goes on,
//! so one run reports many errors. Items with errors are never returned.
//!
//! This file holds the token handling, error recovery and the choice of
//! item; `items` reads types and data, `function` a function's signature,
//! lines and labels, `instructions` one instruction line.

mod function;
mod instructions;
mod items;

use crate::ir::types::{TypeTable, MAX_AGG_SIZE};
use crate::ir::{AbiType, BlockData, Inst, Item, Linkage, Name, Pos, Section, ValueData};
use crate::lang::diag::{Diagnostic, Renderer};
use crate::lang::lexer::{Lexer, Tok, Token};
use crate::lang::names::NameMap;
pub use crate::lang::opcodes::unary_arg_type;

/// Largest alignment accepted for data and aggregate types.
pub const MAX_ALIGN: u64 = 1 << 16;
/// Largest repeat count of an aggregate field.
pub const MAX_FIELD_COUNT: i64 = u32::MAX as i64;
/// Largest size of a data definition, in bytes.
pub const MAX_DATA_SIZE: u64 = MAX_AGG_SIZE;
/// Largest number of flattened scalar fields over all aggregate types of a
/// module (each type may have up to [`crate::ir::types::MAX_SCALARS`]); types
/// stay in memory for the whole module, so their total is bounded.
pub const MAX_MODULE_SCALARS: usize = 1 << 21;
/// Largest byte count of a `blit`.
pub const MAX_BLIT: i64 = i32::MAX as i64;

/// What [`Parser::next_item`] found.
#[derive(Debug)]
pub enum Parsed {
    /// A well-formed item.
    Item(Item),
    /// An item with errors (already reported); it is skipped.
    Failed,
    /// The end of the input.
    Eof,
}

/// An error already recorded in the parser's pending diagnostics.
#[derive(Debug)]
struct Reported;

type PResult<T> = Result<T, Reported>;

/// A label of the function being parsed.
struct Label {
    name: Name,
    /// Index in the function's blocks once defined.
    block: Option<u32>,
    /// Where it was first mentioned.
    first_pos: Pos,
}

/// Per-value facts needed only while parsing.
#[derive(Clone, Copy)]
struct TempInfo {
    first_pos: Pos,
    def_pos: Option<Pos>,
}

/// Reads items from a token stream; see the module doc.
pub struct Parser<'a> {
    lex: Lexer<'a>,
    peeked: Option<Token>,
    /// Whether the last token consumed was a newline (or nothing yet).
    after_nl: bool,
    types: TypeTable,
    pending: Vec<Diagnostic>,
    renderer: Renderer<'a>,
    failed: bool,
    // Scratch state of the function being parsed, reused across functions.
    temp_map: NameMap,
    label_map: NameMap,
    values: Vec<ValueData>,
    temps: Vec<TempInfo>,
    labels: Vec<Label>,
    blocks: Vec<BlockData>,
    /// Instructions of the block being filled; moved into the block, at
    /// their final size, when the next label starts or the body ends (one
    /// allocation per block instead of a chain of regrowths).
    cur_insts: Vec<Inst>,
    /// Sizes of the last function, to allocate the next one's arenas once.
    last_values: usize,
    last_blocks: usize,
    /// Index of the block being filled and whether it has its terminator.
    cur: Option<usize>,
    cur_closed: bool,
    cur_has_insts: bool,
    fn_ret: Option<AbiType>,
    fn_variadic: bool,
    /// Flattened scalar fields over all aggregate types so far.
    type_scalars: usize,
}

/// The keywords that can start a top-level item.
fn starts_item(text: &[u8]) -> bool {
    matches!(
        text,
        b"function"
            | b"data"
            | b"type"
            | b"export"
            | b"thread"
            | b"section"
            | b"common"
            | b"dbgfile"
    )
}

impl<'a> Parser<'a> {
    /// A parser reading `lex`, reporting through `renderer`.
    pub fn new(lex: Lexer<'a>, renderer: Renderer<'a>) -> Self {
        Parser {
            lex,
            peeked: None,
            after_nl: true,
            types: TypeTable::new(),
            pending: Vec::new(),
            renderer,
            failed: false,
            temp_map: NameMap::default(),
            label_map: NameMap::default(),
            values: Vec::new(),
            temps: Vec::new(),
            labels: Vec::new(),
            blocks: Vec::new(),
            cur_insts: Vec::new(),
            last_values: 0,
            last_blocks: 0,
            cur: None,
            cur_closed: false,
            cur_has_insts: false,
            fn_ret: None,
            fn_variadic: false,
            type_scalars: 0,
        }
    }

    /// The aggregate types defined so far.
    pub fn types(&self) -> &TypeTable {
        &self.types
    }

    /// How many errors have been reported.
    pub fn error_count(&self) -> usize {
        self.renderer.count()
    }

    /// Reports errors about the item just returned (found by later passes),
    /// quoting its text.
    pub fn report(&mut self, diags: Vec<Diagnostic>) {
        self.pending.extend(diags);
        self.flush();
    }

    fn flush(&mut self) {
        for d in std::mem::take(&mut self.pending) {
            let (text, _, _, index) = self.lex.item_text(d.pos.offset);
            let index = if d.pos == Pos::default() { None } else { index };
            self.renderer.emit(&d, text, index);
        }
    }

    // ----- tokens -----

    fn peek(&mut self) -> Token {
        match self.peeked {
            Some(t) => t,
            None => {
                let t = self.lex.next_token();
                self.peeked = Some(t);
                t
            }
        }
    }

    fn next(&mut self) -> Token {
        let t = match self.peeked.take() {
            Some(t) => t,
            None => self.lex.next_token(),
        };
        self.after_nl = matches!(t.tok, Tok::Nl);
        t
    }

    /// The next token that is not a newline.
    fn next_nl(&mut self) -> Token {
        loop {
            let t = self.next();
            if !matches!(t.tok, Tok::Nl) {
                return t;
            }
        }
    }

    fn is_ident(&self, t: Token, word: &[u8]) -> bool {
        matches!(t.tok, Tok::Ident) && self.lex.text() == word
    }

    /// Describes token `t` (the last one read) for a message.
    fn describe(&self, t: Token) -> String {
        let text = String::from_utf8_lossy(self.lex.text());
        let clip = |s: &str| -> String {
            if s.len() > 40 {
                let mut end = 40;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{}…", &s[..end])
            } else {
                s.to_string()
            }
        };
        match t.tok {
            Tok::Eof => "end of input".into(),
            Tok::Nl => "end of line".into(),
            Tok::Comma => "`,`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::Eq => "`=`".into(),
            Tok::Plus => "`+`".into(),
            Tok::Int(n) => format!("`{n}`"),
            Tok::Single(f) => format!("`s_{f}`"),
            Tok::Double(f) => format!("`d_{f}`"),
            Tok::Temp => format!("`%{}`", clip(&text)),
            Tok::Label => format!("`@{}`", clip(&text)),
            Tok::Global => format!("`${}`", clip(&text)),
            Tok::TypeName => format!("`:{}`", clip(&text)),
            Tok::Str => format!("string \"{}\"", clip(&text.escape_debug().to_string())),
            Tok::Ident => format!("`{}`", clip(&text)),
            Tok::Error => "a malformed token".into(),
        }
    }

    /// Records an error at `pos`.
    fn error_at<T>(&mut self, pos: Pos, message: impl Into<String>) -> PResult<T> {
        self.failed = true;
        self.pending.push(Diagnostic::error(pos, message));
        Err(Reported)
    }

    /// Records "expected WHAT, found TOKEN" for token `t` (the last read);
    /// a malformed token reports its own problem instead.
    fn expected<T>(&mut self, t: Token, what: &str) -> PResult<T> {
        if let (Tok::Error, Some(b)) = (t.tok, self.lex.stray) {
            let found = crate::lang::lexer::describe_byte(b);
            return self.error_at(t.pos, format!("expected {what}, found {found}"));
        }
        if matches!(t.tok, Tok::Error) {
            let msg = std::mem::take(&mut self.lex.error);
            let pos = self.lex.error_pos.take().unwrap_or(t.pos);
            return self.error_at(pos, msg);
        }
        let found = self.describe(t);
        self.error_at(t.pos, format!("expected {what}, found {found}"))
    }

    fn expect(&mut self, t: Token, want: Tok, what: &str) -> PResult<()> {
        // Only kinds without a payload are expected, so comparing kinds
        // is equality (and cheaper than the derived comparison).
        if std::mem::discriminant(&t.tok) == std::mem::discriminant(&want) {
            Ok(())
        } else {
            self.expected(t, what)
        }
    }

    fn expect_eol(&mut self, after: &str) -> PResult<()> {
        let t = self.next();
        if matches!(t.tok, Tok::Nl) {
            Ok(())
        } else {
            self.expected(t, &format!("end of line after {after}"))
        }
    }

    // ----- recovery -----

    /// Consumes the rest of the current line, unless the error token was
    /// itself the newline.
    fn skip_rest_of_line(&mut self) {
        match self.peeked {
            Some(t) if matches!(t.tok, Tok::Nl) => {
                self.next();
            }
            Some(t) if matches!(t.tok, Tok::Eof) => {}
            Some(_) => {
                self.peeked = None;
                self.lex.skip_line();
                self.after_nl = true;
            }
            None if self.after_nl => {}
            None => {
                self.lex.skip_line();
                self.after_nl = true;
            }
        }
    }

    /// After an error outside a function body: skips to the next line that
    /// starts a top-level item.
    fn recover_top_level(&mut self) {
        self.skip_rest_of_line();
        self.flush();
        loop {
            self.lex.discard_text();
            let t = self.peek();
            match t.tok {
                Tok::Eof => return,
                Tok::Nl => {
                    self.next();
                }
                Tok::Ident if starts_item(self.lex.text()) => return,
                _ => self.skip_rest_of_line(),
            }
        }
    }

    // ----- items -----

    /// Reads the next item.
    pub fn next_item(&mut self) -> Parsed {
        self.failed = false;
        let t = loop {
            let t = self.next();
            if !matches!(t.tok, Tok::Nl) {
                break t;
            }
            self.lex.discard_text();
        };
        if matches!(t.tok, Tok::Eof) {
            if let Some(e) = self.lex.io_error.take() {
                self.renderer.emit_plain(&format!("read error: {e}"));
            }
            return Parsed::Eof;
        }
        self.lex.start_item_at(t.pos);
        let result = self.item(t);
        match result {
            Ok(Some(item)) if !self.failed => Parsed::Item(item),
            Ok(_) => {
                self.flush();
                Parsed::Failed
            }
            Err(Reported) => {
                self.recover_top_level();
                Parsed::Failed
            }
        }
    }

    fn item(&mut self, first: Token) -> PResult<Option<Item>> {
        let mut linkage = Linkage::default();
        let mut has_linkage = false;
        let mut t = first;
        loop {
            if !matches!(t.tok, Tok::Ident) {
                return self.expected(
                    t,
                    "`function`, `data`, `type`, `dbgfile` or a linkage keyword",
                );
            }
            match self.lex.text() {
                b"export" => linkage.export = true,
                b"thread" => linkage.thread = true,
                b"common" => linkage.common = true,
                b"section" => {
                    if linkage.section.is_some() {
                        return self.error_at(t.pos, "only one `section` is allowed");
                    }
                    let s = self.next();
                    self.expect(s, Tok::Str, "a section name string after `section`")?;
                    let name = self.utf8_text(s.pos, "section name")?;
                    let flags = if matches!(self.peek().tok, Tok::Str) {
                        let f = self.next();
                        Some(self.utf8_text(f.pos, "section flags")?)
                    } else {
                        None
                    };
                    linkage.section = Some(Section { name, flags });
                }
                b"function" => {
                    if linkage.thread {
                        return self.error_at(t.pos, "only data may have `thread` linkage");
                    }
                    return self.function(linkage, t.pos).map(|f| f.map(Item::Function));
                }
                b"data" => return self.data(linkage, t.pos).map(|d| Some(Item::Data(d))),
                b"type" if !has_linkage => return self.type_def(t.pos).map(Some),
                b"dbgfile" if !has_linkage => {
                    let s = self.next();
                    self.expect(s, Tok::Str, "a file name string after `dbgfile`")?;
                    let name = self.utf8_text(s.pos, "file name")?;
                    return Ok(Some(Item::DbgFile(name)));
                }
                b"type" | b"dbgfile" => {
                    return self.error_at(t.pos, "only data and functions have linkage")
                }
                _ => {
                    return self.expected(
                        t,
                        "`function`, `data`, `type`, `dbgfile` or a linkage keyword",
                    )
                }
            }
            has_linkage = true;
            t = self.next_nl();
        }
    }
}

/// A name's text as a `String` (names are ASCII by construction).
fn name_string(text: &[u8]) -> Name {
    match std::str::from_utf8(text) {
        Ok(s) => Name::new(s),
        Err(_) => Name::from(String::from_utf8_lossy(text)),
    }
}
