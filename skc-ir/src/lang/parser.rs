//! Text to items, one at a time.
//!
//! [`Parser::next_item`] reads one top-level item (type, data, function or
//! `dbgfile`) and returns it as parsed: a function's blocks are in the
//! order written, a block that falls through gets an explicit `jmp`, and a
//! temporary assigned several times is still one value (SSA construction
//! splits it later). Errors are rendered as they are found; the parser then
//! skips to the next line (inside a function) or the next item and goes on,
//! so one run reports many errors. Items with errors are never returned.

use crate::ir::types::{Field, FieldType, TypeShape, TypeTable, MAX_AGG_SIZE};
use crate::ir::{
    AbiType, BaseType, BinOp, Block, BlockData, CallArg, Const, DataDef, DataItem, DataValue,
    ExtType, Function, Inst, InstKind, Item, Linkage, LoadKind, Name, Operand, Param, Phi, Pos,
    Section, SubWord, Terminator, Value, ValueData,
};
use crate::lang::diag::{Diagnostic, Renderer};
use crate::lang::lexer::{Lexer, Tok, Token};
use crate::lang::names::NameMap;
pub use crate::lang::opcodes::unary_arg_type;
use crate::lang::opcodes::{ext_type, Opcode};

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

    /// The last string/name token's text as UTF-8.
    fn utf8_text(&mut self, pos: Pos, what: &str) -> PResult<String> {
        match std::str::from_utf8(self.lex.text()) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => self.error_at(pos, format!("{what} is not valid UTF-8")),
        }
    }

    fn symbol(&mut self, pos: Pos) -> PResult<String> {
        self.utf8_text(pos, "symbol name")
    }

    // ----- types -----

    fn type_def(&mut self, pos: Pos) -> PResult<Item> {
        let t = self.next_nl();
        self.expect(t, Tok::TypeName, "a type name like `:name` after `type`")?;
        let name = self.utf8_text(t.pos, "type name")?;
        let t = self.next_nl();
        self.expect(t, Tok::Eq, "`=` after the type name")?;
        let mut t = self.next_nl();
        let mut align = None;
        if self.is_ident(t, b"align") {
            align = Some(self.alignment()?);
            t = self.next_nl();
        }
        self.expect(t, Tok::LBrace, "`{` to start the type body")?;
        let t = self.next_nl();
        let shape = match t.tok {
            Tok::Int(size) => {
                if align.is_none() {
                    return self.error_at(t.pos, "an opaque type needs `align N` before `{`");
                }
                if size < 0 || size as u64 > MAX_AGG_SIZE {
                    return self.error_at(
                        t.pos,
                        format!("opaque type size {size} is out of range (0 to 2^40)"),
                    );
                }
                let e = self.next_nl();
                self.expect(e, Tok::RBrace, "`}` after the opaque type size")?;
                TypeShape::Opaque { size: size as u64 }
            }
            Tok::LBrace => {
                let mut variants = Vec::new();
                let mut t = t;
                loop {
                    if matches!(t.tok, Tok::RBrace) {
                        break;
                    }
                    self.expect(t, Tok::LBrace, "`{` to start a union variant, or `}`")?;
                    let first = self.next_nl();
                    variants.push(self.fields(first)?);
                    t = self.next_nl();
                }
                TypeShape::Union(variants)
            }
            _ => TypeShape::Struct(self.fields(t)?),
        };
        if self.type_scalars > MAX_MODULE_SCALARS {
            return self.error_at(
                pos,
                format!("aggregate types of this module expand to more than {MAX_MODULE_SCALARS} scalar fields"),
            );
        }
        match self.types.define(name, align, shape, pos) {
            Ok(id) => {
                // Types live as long as the module: bound their total size.
                self.type_scalars += self.types.get(id).scalars.len();
                Ok(Item::Type(id))
            }
            Err(e) => self.error_at(pos, format!("cannot lay out this type: {e}")),
        }
    }

    /// `align N`, after the `align` keyword.
    fn alignment(&mut self) -> PResult<u32> {
        let t = self.next_nl();
        match t.tok {
            Tok::Int(n) if n > 0 && (n as u64).is_power_of_two() && n as u64 <= MAX_ALIGN => {
                Ok(n as u32)
            }
            Tok::Int(n) => self.error_at(
                t.pos,
                format!("alignment {n} is not a power of two between 1 and 65536"),
            ),
            _ => self.expected(t, "an alignment number after `align`"),
        }
    }

    /// Fields up to and including the closing `}`; `t` is the first token.
    fn fields(&mut self, mut t: Token) -> PResult<Vec<Field>> {
        let mut fields = Vec::new();
        loop {
            if matches!(t.tok, Tok::RBrace) {
                return Ok(fields);
            }
            let ty = match t.tok {
                Tok::TypeName => match std::str::from_utf8(self.lex.text())
                    .ok()
                    .and_then(|n| self.types.lookup(n))
                {
                    Some(id) => FieldType::Agg(id),
                    None => {
                        let d = self.describe(t);
                        return self.error_at(t.pos, format!("unknown type {d}"));
                    }
                },
                Tok::Ident => match ext_type(self.lex.text()) {
                    Some(e) => FieldType::Ext(e),
                    None => return self.expected(t, "a field type (b h w l s d or :name)"),
                },
                _ => return self.expected(t, "a field type (b h w l s d or :name) or `}`"),
            };
            t = self.next_nl();
            let mut count = 1;
            if let Tok::Int(n) = t.tok {
                if !(0..=MAX_FIELD_COUNT).contains(&n) {
                    return self.error_at(
                        t.pos,
                        format!("field count {n} is out of range (0 to 2^32-1)"),
                    );
                }
                count = n as u32;
                t = self.next_nl();
            }
            fields.push(Field { ty, count });
            match t.tok {
                Tok::Comma => t = self.next_nl(),
                Tok::RBrace => return Ok(fields),
                _ => return self.expected(t, "`,` or `}` after a field"),
            }
        }
    }

    // ----- data -----

    fn data(&mut self, linkage: Linkage, pos: Pos) -> PResult<DataDef> {
        let t = self.next_nl();
        self.expect(t, Tok::Global, "a symbol like `$name` after `data`")?;
        let name = self.symbol(t.pos)?;
        let t = self.next_nl();
        self.expect(t, Tok::Eq, "`=` after the data name")?;
        let mut t = self.next_nl();
        let mut align = None;
        if self.is_ident(t, b"align") {
            align = Some(self.alignment()?);
            t = self.next_nl();
        }
        self.expect(t, Tok::LBrace, "`{` to start the data contents")?;
        let mut items = Vec::new();
        let mut size: u64 = 0;
        loop {
            let t = self.next_nl();
            if matches!(t.tok, Tok::RBrace) {
                break;
            }
            let ty = if matches!(t.tok, Tok::Ident) {
                if self.lex.text() == b"z" {
                    None
                } else if let Some(ty) = ext_type(self.lex.text()) {
                    Some(ty)
                } else {
                    return self.expected(t, "a data type (b h w l s d) or `z`");
                }
            } else {
                return self.expected(t, "a data type (b h w l s d), `z` or `}`");
            };
            let mut v = self.next_nl();
            match ty {
                None => {
                    let mut any = false;
                    while let Tok::Int(n) = v.tok {
                        if n < 0 || n as u64 > MAX_DATA_SIZE {
                            return self.error_at(
                                v.pos,
                                format!("zero fill of {n} bytes is out of range (0 to 2^40)"),
                            );
                        }
                        size += n as u64;
                        if size > MAX_DATA_SIZE {
                            return self
                                .error_at(v.pos, "data definition is larger than 2^40 bytes");
                        }
                        items.push(DataItem::Zero(n as u64));
                        any = true;
                        v = self.next_nl();
                    }
                    if !any {
                        return self.expected(v, "a byte count after `z`");
                    }
                }
                Some(ty) => {
                    let mut values = Vec::new();
                    loop {
                        let value = match v.tok {
                            Tok::Int(n) => DataValue::Int(n),
                            Tok::Single(f) if ty == ExtType::S => DataValue::Single(f),
                            Tok::Single(f) => DataValue::Int(i64::from(f.to_bits())),
                            Tok::Double(f) if ty == ExtType::D => DataValue::Double(f),
                            Tok::Double(f) => DataValue::Int(f.to_bits() as i64),
                            Tok::Global => {
                                let sym = self.symbol(v.pos)?;
                                let offset = self.symbol_offset()?;
                                DataValue::Addr { sym, offset }
                            }
                            Tok::Str => DataValue::Str(self.lex.take_text()),
                            _ => break,
                        };
                        size += match &value {
                            DataValue::Str(s) => s.len() as u64,
                            _ => u64::from(ty.size()),
                        };
                        if size > MAX_DATA_SIZE {
                            return self
                                .error_at(v.pos, "data definition is larger than 2^40 bytes");
                        }
                        values.push(value);
                        v = self.next_nl();
                    }
                    if values.is_empty() {
                        return self.expected(v, &format!("a value after `{ty}`"));
                    }
                    items.push(DataItem::Values { ty, values });
                }
            }
            match v.tok {
                Tok::Comma => {}
                Tok::RBrace => break,
                _ => return self.expected(v, "`,` or `}` after a data item"),
            }
        }
        Ok(DataDef {
            name,
            linkage,
            align,
            items,
            pos,
        })
    }

    /// An optional `+ N` after a symbol.
    fn symbol_offset(&mut self) -> PResult<i64> {
        if !matches!(self.peek().tok, Tok::Plus) {
            return Ok(0);
        }
        self.next();
        let t = self.next();
        match t.tok {
            Tok::Int(n) => Ok(n),
            _ => self.expected(t, "an integer offset after `+`"),
        }
    }

    // ----- functions -----

    fn reset_function(&mut self) {
        self.temp_map.clear();
        self.label_map.clear();
        // The arenas are handed out with the function, so they cannot be
        // reused; sizing them like the last function's (bounded, so one
        // huge function does not make every later one reserve its size)
        // avoids most regrowth. Values get room for the ones SSA
        // construction adds.
        const MAX_HINT: usize = 1 << 12;
        self.values = Vec::with_capacity((2 * self.last_values).min(MAX_HINT));
        self.temps.clear();
        self.labels.clear();
        self.blocks = Vec::with_capacity(self.last_blocks.min(MAX_HINT));
        self.cur_insts.clear();
        self.cur = None;
        self.cur_closed = false;
        self.cur_has_insts = false;
    }

    fn abi_type(&mut self, t: Token, what: &str) -> PResult<AbiType> {
        match t.tok {
            Tok::Ident => match self.lex.text() {
                b"w" => Ok(AbiType::Base(BaseType::W)),
                b"l" => Ok(AbiType::Base(BaseType::L)),
                b"s" => Ok(AbiType::Base(BaseType::S)),
                b"d" => Ok(AbiType::Base(BaseType::D)),
                b"sb" => Ok(AbiType::SubWord(SubWord::Sb)),
                b"ub" => Ok(AbiType::SubWord(SubWord::Ub)),
                b"sh" => Ok(AbiType::SubWord(SubWord::Sh)),
                b"uh" => Ok(AbiType::SubWord(SubWord::Uh)),
                _ => self.expected(t, what),
            },
            Tok::TypeName => match std::str::from_utf8(self.lex.text())
                .ok()
                .and_then(|n| self.types.lookup(n))
            {
                Some(id) => Ok(AbiType::Agg(id)),
                None => {
                    let d = self.describe(t);
                    self.error_at(t.pos, format!("unknown type {d}"))
                }
            },
            _ => self.expected(t, what),
        }
    }

    /// The value for `%name` (the last token), created on first mention.
    fn temp(&mut self, pos: Pos) -> Value {
        let values = &self.values;
        let (index, fresh) =
            self.temp_map
                .get_or_insert(self.lex.text(), values.len() as u32, |i| {
                    values[i as usize].name.as_bytes()
                });
        if fresh {
            self.values.push(ValueData {
                name: name_string(self.lex.text()),
                ty: BaseType::W,
            });
            self.temps.push(TempInfo {
                first_pos: pos,
                def_pos: None,
            });
        }
        Value(index)
    }

    /// Records a definition of the temp just read, with type `ty`.
    fn define_temp(&mut self, pos: Pos, ty: BaseType) -> PResult<Value> {
        let v = self.temp(pos);
        self.define_value(v, pos, ty)
    }

    /// Records a definition of `v` at `pos`, with type `ty`.
    fn define_value(&mut self, v: Value, pos: Pos, ty: BaseType) -> PResult<Value> {
        let info = &mut self.temps[v.index()];
        match info.def_pos {
            Some(first) if self.values[v.index()].ty != ty => {
                let old = self.values[v.index()].ty;
                let name = self.values[v.index()].name.clone();
                self.error_at(
                    pos,
                    format!(
                        "temporary %{name} is assigned with type {ty} here but with type {old} at line {}",
                        first.line
                    ),
                )
            }
            Some(_) => Ok(v),
            None => {
                info.def_pos = Some(pos);
                self.values[v.index()].ty = ty;
                Ok(v)
            }
        }
    }

    /// The label index for `@name` (the last token), created on first
    /// mention. Returned as a provisional block id (remapped at the end).
    fn label(&mut self, pos: Pos) -> u32 {
        let labels = &self.labels;
        let (index, fresh) =
            self.label_map
                .get_or_insert(self.lex.text(), labels.len() as u32, |i| {
                    labels[i as usize].name.as_bytes()
                });
        if fresh {
            self.labels.push(Label {
                name: name_string(self.lex.text()),
                block: None,
                first_pos: pos,
            });
        }
        index
    }

    fn function(&mut self, linkage: Linkage, pos: Pos) -> PResult<Option<Function>> {
        self.reset_function();
        let mut t = self.next();
        let ret = if matches!(t.tok, Tok::Global) {
            None
        } else {
            let r = self.abi_type(
                t,
                "a return type or a function name like `$f` after `function`",
            )?;
            t = self.next();
            Some(r)
        };
        self.expect(t, Tok::Global, "a function name like `$f`")?;
        let name = self.symbol(t.pos)?;
        self.fn_ret = ret;
        let (env, params, variadic) = self.params()?;
        self.fn_variadic = variadic;
        let t = self.next_nl();
        self.expect(t, Tok::LBrace, "`{` to start the function body")?;
        // Body: one line at a time, recovering at the next line on error.
        let end = loop {
            match self.line() {
                Ok(Some(end)) => break end,
                Ok(None) => {}
                Err(Reported) => {
                    self.skip_rest_of_line();
                    self.flush();
                    self.lex.discard_text();
                    if matches!(self.peek().tok, Tok::Eof) {
                        return Err(Reported);
                    }
                }
            }
            if self.failed {
                self.flush();
                self.lex.discard_text();
            }
        };
        let Some(end) = end else {
            // The body ended at the start of another item (already reported).
            self.flush();
            return Ok(None);
        };
        self.store_insts();
        if self.finish_function(end).is_err() || self.failed {
            self.flush();
            return Ok(None);
        }
        self.last_values = self.values.len();
        self.last_blocks = self.blocks.len();
        let mut blocks = std::mem::take(&mut self.blocks);
        for label in &mut self.labels {
            if let Some(b) = label.block {
                blocks[b as usize].name = std::mem::take(&mut label.name);
            }
        }
        Ok(Some(Function {
            name,
            linkage,
            ret,
            env,
            params,
            variadic,
            blocks,
            values: std::mem::take(&mut self.values),
            pos,
        }))
    }

    fn params(&mut self) -> PResult<(Option<Value>, Vec<Param>, bool)> {
        let t = self.next();
        self.expect(t, Tok::LParen, "`(` after the function name")?;
        let mut env = None;
        let mut params = Vec::new();
        let mut variadic = false;
        if matches!(self.peek().tok, Tok::RParen) {
            self.next();
            return Ok((env, params, variadic));
        }
        loop {
            let t = self.next();
            if variadic {
                return self.expected(t, "`)` after `...`");
            }
            if self.is_ident(t, b"...") {
                variadic = true;
            } else {
                let is_env = self.is_ident(t, b"env");
                if is_env && (env.is_some() || !params.is_empty()) {
                    return self.error_at(t.pos, "`env` must be the first parameter");
                }
                let ty = if is_env {
                    AbiType::Base(BaseType::L)
                } else {
                    self.abi_type(
                        t,
                        "a parameter type (w l s d sb ub sh uh :name), `env` or `...`",
                    )?
                };
                let p = self.next();
                self.expect(p, Tok::Temp, "a parameter name like `%x`")?;
                if let Some(v) = self
                    .temp_map
                    .get(self.lex.text(), |i| self.values[i as usize].name.as_bytes())
                {
                    let first = self.temps[v as usize].first_pos;
                    let d = self.describe(p);
                    return self.error_at(
                        p.pos,
                        format!("duplicate parameter {d} (first at column {})", first.col),
                    );
                }
                let v = self.define_temp(p.pos, ty.value_type())?;
                if is_env {
                    env = Some(v);
                } else {
                    params.push(Param { ty, value: v });
                }
            }
            let t = self.next();
            match t.tok {
                Tok::RParen => return Ok((env, params, variadic)),
                Tok::Comma => {}
                _ => return self.expected(t, "`,` or `)` after a parameter"),
            }
        }
    }

    /// One line of a function body. `Ok(Some(Some(pos)))` at the closing
    /// `}`, `Ok(Some(None))` when another item starts instead.
    fn line(&mut self) -> PResult<Option<Option<Pos>>> {
        let t = self.next_nl();
        match t.tok {
            Tok::RBrace => Ok(Some(Some(t.pos))),
            Tok::Eof => self.error_at(
                t.pos,
                "unexpected end of input: expected `}` to close the function",
            ),
            Tok::Label => {
                self.define_label(t.pos)?;
                if matches!(self.peek().tok, Tok::Nl) {
                    self.next();
                }
                Ok(None)
            }
            Tok::Temp => {
                let (block, closed) = (self.cur, self.cur_closed);
                self.need_open_block(t, block, closed)?;
                // The value is looked up now (creating it on first mention,
                // as an operand would) and defined once the instruction's
                // type is known.
                let v = self.temp(t.pos);
                let eq = self.next();
                self.expect(eq, Tok::Eq, "`=` after the temporary")?;
                let ty_tok = self.next();
                let ret = self.result_type(ty_tok)?;
                let op_tok = self.next();
                if !matches!(op_tok.tok, Tok::Ident) {
                    return self.expected(op_tok, "an instruction name");
                }
                self.instruction(op_tok, Some((t.pos, v, ret)))?;
                Ok(None)
            }
            Tok::Ident => {
                if starts_item(self.lex.text()) {
                    // Another item starts: the `}` is missing. Leave the
                    // keyword for the next item.
                    let d = self.describe(t);
                    self.peeked = Some(t);
                    let _ = self.error_at::<()>(
                        t.pos,
                        format!("expected `}}` to close the function, found {d}"),
                    );
                    return Ok(Some(None));
                }
                let (block, closed) = (self.cur, self.cur_closed);
                self.need_open_block(t, block, closed)?;
                self.instruction(t, None)?;
                Ok(None)
            }
            _ => self.expected(t, "a label, an instruction, a jump or `}`"),
        }
    }

    /// Errors unless there is a block open for instructions.
    fn need_open_block(&mut self, t: Token, block: Option<usize>, closed: bool) -> PResult<()> {
        if block.is_none() {
            let d = self.describe(t);
            return self.error_at(
                t.pos,
                format!("expected a label like `@start` before the first instruction, found {d}"),
            );
        }
        if closed {
            let d = self.describe(t);
            return self.error_at(
                t.pos,
                format!("expected a label after the jump that ends the block, found {d}"),
            );
        }
        Ok(())
    }

    fn define_label(&mut self, pos: Pos) -> PResult<()> {
        let l = self.label(pos);
        let duplicate = self.labels[l as usize]
            .block
            .map(|b| self.blocks[b as usize].pos);
        let id = self.blocks.len() as u32;
        self.store_insts();
        if let Some(cur) = self.cur {
            if !self.cur_closed {
                // Fall through: an implicit jump to the new block.
                self.blocks[cur].term = Terminator::Jmp(Block(l));
                self.blocks[cur].term_pos = pos;
            }
        }
        if duplicate.is_none() {
            self.labels[l as usize].block = Some(id);
        }
        self.blocks.push(BlockData {
            name: Name::default(),
            phis: Vec::new(),
            insts: Vec::new(),
            term: Terminator::Hlt,
            term_pos: pos,
            pos,
        });
        self.cur = Some(id as usize);
        self.cur_closed = false;
        self.cur_has_insts = false;
        if let Some(first) = duplicate {
            // The block stays open, so the lines after it are still checked.
            let name = self.labels[l as usize].name.clone();
            return self.error_at(
                pos,
                format!(
                    "duplicate label @{name} (first defined at line {})",
                    first.line
                ),
            );
        }
        Ok(())
    }

    /// The type after `=`: a base type, or (for calls) a sub-word or
    /// aggregate type.
    fn result_type(&mut self, t: Token) -> PResult<AbiType> {
        self.abi_type(
            t,
            "a type (w l s d, or sb ub sh uh :name for calls) after `=`",
        )
    }

    fn close_block(&mut self, term: Terminator, pos: Pos) {
        if let Some(cur) = self.cur {
            self.blocks[cur].term = term;
            self.blocks[cur].term_pos = pos;
        }
        self.cur_closed = true;
    }

    fn push_inst(&mut self, inst: Inst) {
        if self.cur.is_some() {
            self.cur_insts.push(inst);
        }
        self.cur_has_insts = true;
    }

    /// Moves the instructions collected for the current block into it.
    fn store_insts(&mut self) {
        if let Some(cur) = self.cur {
            if !self.cur_insts.is_empty() {
                self.blocks[cur].insts = self.cur_insts.drain(..).collect();
            }
        }
    }

    /// An operand used where type `ctx` is expected. A float literal in a
    /// context of another type stands for its bit pattern.
    fn operand(&mut self, ctx: BaseType, what: &str) -> PResult<Operand> {
        let t = self.next();
        self.operand_from(t, ctx, what)
    }

    fn operand_from(&mut self, t: Token, ctx: BaseType, what: &str) -> PResult<Operand> {
        let c = match t.tok {
            Tok::Temp => return Ok(Operand::Value(self.temp(t.pos))),
            Tok::Int(n) => Const::Int(n),
            Tok::Single(f) => {
                if ctx == BaseType::S {
                    Const::Single(f)
                } else {
                    Const::Int(i64::from(f.to_bits()))
                }
            }
            Tok::Double(f) => {
                if ctx == BaseType::D {
                    Const::Double(f)
                } else {
                    Const::Int(f.to_bits() as i64)
                }
            }
            Tok::Global => {
                let sym = self.symbol(t.pos)?;
                let offset = self.symbol_offset()?;
                Const::Addr { sym, offset }
            }
            Tok::Ident if self.lex.text() == b"thread" => {
                let g = self.next();
                self.expect(g, Tok::Global, "a symbol like `$x` after `thread`")?;
                Const::Thread(self.symbol(g.pos)?)
            }
            Tok::Ident if self.lex.text() == b"extern" => {
                let mut g = self.next();
                let thread = self.is_ident(g, b"thread");
                if thread {
                    g = self.next();
                }
                self.expect(g, Tok::Global, "a symbol like `$x` after `extern`")?;
                let sym = self.symbol(g.pos)?;
                if thread {
                    Const::ExternThread(sym)
                } else {
                    Const::Extern(sym)
                }
            }
            _ => return self.expected(t, what),
        };
        Ok(Operand::Const(c))
    }

    fn comma(&mut self, after: &str) -> PResult<()> {
        let t = self.next();
        if matches!(t.tok, Tok::Comma) {
            Ok(())
        } else {
            self.expected(t, &format!("`,` after {after}"))
        }
    }

    fn label_ref(&mut self, what: &str) -> PResult<Block> {
        let t = self.next();
        self.expect(t, Tok::Label, what)?;
        Ok(Block(self.label(t.pos)))
    }

    /// An instruction or jump; `op` is its name token, `result` the
    /// `%name =type` before it (position, value, type).
    fn instruction(&mut self, op: Token, result: Option<(Pos, Value, AbiType)>) -> PResult<()> {
        let Some(opcode) = Opcode::from_name(self.lex.text()) else {
            let d = self.describe(op);
            return self.error_at(op.pos, format!("unknown instruction {d}"));
        };
        let pos = op.pos;
        let (res_pos, res_abi) = match result {
            Some((p, v, ty)) => (Some((p, v)), Some(ty)),
            None => (None, None),
        };
        // Result requirements.
        let needs_result = opcode.needs_result();
        match (needs_result, res_abi) {
            (Some(true), None) => {
                let d = self.describe(op);
                let op_name = name_string(self.lex.text());
                return self.error_at(
                    pos,
                    format!("{d} needs a result, like `%x =w {op_name} ...`"),
                );
            }
            (Some(false), Some(_)) => {
                let d = self.describe(op);
                return self.error_at(pos, format!("{d} has no result"));
            }
            _ => {}
        }
        let res_ty = match res_abi {
            Some(AbiType::Base(b)) => Some(b),
            Some(other) if opcode != Opcode::Call => {
                let shown = match other {
                    AbiType::SubWord(s) => s.to_string(),
                    AbiType::Agg(id) => format!(":{}", self.types.get(id).name),
                    AbiType::Base(b) => b.to_string(),
                };
                return self.error_at(
                    res_pos.map_or(pos, |(p, _)| p),
                    format!("type {shown} is only allowed for call results; expected w, l, s or d"),
                );
            }
            Some(other) => Some(other.value_type()),
            None => None,
        };
        let result = match (res_pos, res_ty) {
            (Some((p, v)), Some(ty)) => Some(self.define_value(v, p, ty)?),
            _ => None,
        };
        let rty = res_ty.unwrap_or(BaseType::W);
        let kind = match opcode {
            Opcode::Jmp => {
                let b = self.label_ref("a label like `@next` after `jmp`")?;
                self.expect_eol("the jump")?;
                self.close_block(Terminator::Jmp(b), pos);
                return Ok(());
            }
            Opcode::Jnz => {
                let cond = self.operand(BaseType::W, "a condition value after `jnz`")?;
                self.comma("the condition")?;
                let nonzero = self.label_ref("a label after `jnz` condition")?;
                self.comma("the first label")?;
                let zero = self.label_ref("a second label")?;
                self.expect_eol("the jump")?;
                self.close_block(
                    Terminator::Jnz {
                        cond,
                        nonzero,
                        zero,
                    },
                    pos,
                );
                return Ok(());
            }
            Opcode::Ret => {
                let value = if matches!(self.peek().tok, Tok::Nl) {
                    None
                } else {
                    let Some(ret) = self.fn_ret else {
                        let t = self.next();
                        return self.expected(
                            t,
                            "end of line after `ret` (the function has no return type)",
                        );
                    };
                    Some(self.operand(
                        ret.value_type(),
                        "a return value or end of line after `ret`",
                    )?)
                };
                self.expect_eol("`ret`")?;
                self.close_block(Terminator::Ret(value), pos);
                return Ok(());
            }
            Opcode::Hlt => {
                self.expect_eol("`hlt`")?;
                self.close_block(Terminator::Hlt, pos);
                return Ok(());
            }
            Opcode::Phi => {
                let Some(result) = result else {
                    return self.error_at(pos, "a phi needs a result");
                };
                if self.cur_has_insts {
                    return self.error_at(
                        pos,
                        "phi after an instruction: phis must come first in a block",
                    );
                }
                let mut args = Vec::with_capacity(2);
                loop {
                    let b = self.label_ref("a predecessor label like `@b` in the phi")?;
                    let v = self.operand(rty, "a value after the phi label")?;
                    args.push((b, v));
                    let t = self.next();
                    match t.tok {
                        Tok::Nl => break,
                        Tok::Comma => {}
                        _ => return self.expected(t, "`,` or end of line after a phi argument"),
                    }
                }
                if let Some(cur) = self.cur {
                    self.blocks[cur].phis.push(Phi { result, args, pos });
                }
                return Ok(());
            }
            Opcode::Call => return self.call(pos, result, res_abi),
            Opcode::Bin(op) => {
                let lhs = self.operand(rty, "a first operand")?;
                self.comma("the first operand")?;
                let rctx = if matches!(op, BinOp::Sar | BinOp::Shr | BinOp::Shl) {
                    BaseType::W
                } else {
                    rty
                };
                let rhs = self.operand(rctx, "a second operand")?;
                InstKind::Binary { op, lhs, rhs }
            }
            Opcode::Cmp(op, ty) => {
                let lhs = self.operand(ty, "a first operand")?;
                self.comma("the first operand")?;
                let rhs = self.operand(ty, "a second operand")?;
                InstKind::Compare { op, ty, lhs, rhs }
            }
            Opcode::Un(op) => {
                let ctx = unary_arg_type(op, rty);
                let arg = self.operand(ctx, "an operand")?;
                InstKind::Unary { op, arg }
            }
            Opcode::Load(kind) => {
                let kind = kind.unwrap_or(match rty {
                    BaseType::W => LoadKind::Sw,
                    BaseType::L => LoadKind::L,
                    BaseType::S => LoadKind::S,
                    BaseType::D => LoadKind::D,
                });
                let addr = self.operand(BaseType::L, "an address")?;
                InstKind::Load { kind, addr }
            }
            Opcode::Store(kind) => {
                let value = self.operand(kind.value_type(), "a value to store")?;
                self.comma("the stored value")?;
                let addr = self.operand(BaseType::L, "an address")?;
                InstKind::Store { kind, value, addr }
            }
            Opcode::Alloc(align) => {
                let size = self.operand(BaseType::L, "a size")?;
                InstKind::Alloc { align, size }
            }
            Opcode::Blit => {
                let src = self.operand(BaseType::L, "a source address")?;
                self.comma("the source address")?;
                let dst = self.operand(BaseType::L, "a destination address")?;
                self.comma("the destination address")?;
                let t = self.next();
                let size = match t.tok {
                    Tok::Int(n) if (0..=MAX_BLIT).contains(&n) => n as u64,
                    Tok::Int(n) => {
                        return self.error_at(
                            t.pos,
                            format!("blit size {n} is out of range (0 to 2^31-1)"),
                        )
                    }
                    _ => return self.expected(t, "a constant byte count"),
                };
                InstKind::Blit { src, dst, size }
            }
            Opcode::VaStart => {
                if !self.fn_variadic {
                    return self.error_at(pos, "`vastart` in a function without `...`");
                }
                let ap = self.operand(BaseType::L, "a va_list address")?;
                InstKind::VaStart { ap }
            }
            Opcode::VaArg => {
                let ap = self.operand(BaseType::L, "a va_list address")?;
                InstKind::VaArg { ap }
            }
            Opcode::DbgLoc => {
                let line = self.small_int("a line number after `dbgloc`")?;
                let col = if matches!(self.peek().tok, Tok::Comma) {
                    self.next();
                    self.small_int("a column number")?
                } else {
                    0
                };
                InstKind::DbgLoc { line, col }
            }
        };
        let t = self.next();
        if !matches!(t.tok, Tok::Nl) {
            let what = if matches!(t.tok, Tok::Comma) {
                "end of line: too many operands"
            } else {
                "end of line after the instruction"
            };
            return self.expected(t, what);
        }
        self.push_inst(Inst { result, kind, pos });
        Ok(())
    }

    fn small_int(&mut self, what: &str) -> PResult<u32> {
        let t = self.next();
        match t.tok {
            Tok::Int(n) if (0..=i64::from(u32::MAX)).contains(&n) => Ok(n as u32),
            Tok::Int(n) => self.error_at(t.pos, format!("{n} is out of range (0 to 2^32-1)")),
            _ => self.expected(t, what),
        }
    }

    fn call(&mut self, pos: Pos, result: Option<Value>, ret: Option<AbiType>) -> PResult<()> {
        let callee = self.operand(BaseType::L, "a function to call (`$f` or a temporary)")?;
        let t = self.next();
        self.expect(t, Tok::LParen, "`(` after the callee")?;
        let mut env = None;
        let mut args = Vec::new();
        let mut variadic_from = None;
        if matches!(self.peek().tok, Tok::RParen) {
            self.next();
        } else {
            loop {
                let t = self.next();
                if self.is_ident(t, b"...") {
                    if variadic_from.is_some() {
                        return self.error_at(t.pos, "only one `...` is allowed in a call");
                    }
                    variadic_from = Some(args.len());
                } else if self.is_ident(t, b"env") {
                    if env.is_some() || !args.is_empty() || variadic_from.is_some() {
                        return self.error_at(t.pos, "`env` must be the first argument");
                    }
                    env = Some(self.operand(BaseType::L, "an environment value after `env`")?);
                } else {
                    let ty = self.abi_type(
                        t,
                        "an argument type (w l s d sb ub sh uh :name), `env`, `...` or `)`",
                    )?;
                    let value = self.operand(ty.value_type(), "an argument value")?;
                    args.push(CallArg { ty, value });
                }
                let t = self.next();
                match t.tok {
                    Tok::RParen => break,
                    Tok::Comma => {}
                    _ => return self.expected(t, "`,` or `)` after call argument"),
                }
            }
        }
        self.expect_eol("the call")?;
        self.push_inst(Inst {
            result,
            kind: InstKind::Call {
                callee,
                ret: if result.is_some() { ret } else { None },
                env,
                args,
                variadic_from,
            },
            pos,
        });
        Ok(())
    }

    /// Checks labels and temporaries once the body is complete, and
    /// turns provisional label indices into block ids.
    fn finish_function(&mut self, end: Pos) -> PResult<()> {
        if self.failed {
            // Lines skipped after an error would cause follow-on reports
            // (missing jumps, undefined names): say nothing more.
            return Err(Reported);
        }
        if self.blocks.is_empty() {
            return self.error_at(end, "a function needs at least one block");
        }
        if !self.cur_closed {
            let name = self
                .labels
                .iter()
                .find(|l| l.block == Some(self.blocks.len() as u32 - 1))
                .map(|l| l.name.clone())
                .unwrap_or_default();
            let _ = self.error_at::<()>(
                end,
                format!("the last block @{name} must end with `jmp`, `jnz`, `ret` or `hlt`"),
            );
        }
        if self.failed {
            // Names on skipped lines would show up as undefined: say nothing.
            return Err(Reported);
        }
        let mut undefined = Vec::new();
        for l in &self.labels {
            if l.block.is_none() {
                undefined.push((
                    l.first_pos,
                    format!("label @{} is used but never defined", l.name),
                ));
            }
        }
        for (i, t) in self.temps.iter().enumerate() {
            if t.def_pos.is_none() {
                undefined.push((
                    t.first_pos,
                    format!(
                        "temporary %{} is used but never defined",
                        self.values[i].name
                    ),
                ));
            }
        }
        undefined.sort_by_key(|(p, _)| p.offset);
        for (p, m) in undefined {
            let _ = self.error_at::<()>(p, m);
        }
        if self.failed {
            return Err(Reported);
        }
        let map: Vec<u32> = self.labels.iter().map(|l| l.block.unwrap_or(0)).collect();
        let remap = |b: &mut Block| *b = Block(map[b.index()]);
        for block in &mut self.blocks {
            match &mut block.term {
                Terminator::Jmp(b) => remap(b),
                Terminator::Jnz { nonzero, zero, .. } => {
                    remap(nonzero);
                    remap(zero);
                }
                Terminator::Ret(_) | Terminator::Hlt => {}
            }
            for phi in &mut block.phis {
                for (b, _) in &mut phi.args {
                    remap(b);
                }
            }
        }
        Ok(())
    }
}

/// A name's text as a `String` (names are ASCII by construction).
fn name_string(text: &[u8]) -> Name {
    match std::str::from_utf8(text) {
        Ok(s) => Name::new(s),
        Err(_) => Name::from(String::from_utf8_lossy(text)),
    }
}
