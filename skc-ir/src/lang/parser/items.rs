//! Items other than functions: aggregate type definitions with their
//! alignment and fields, and data definitions.

use crate::ir::types::{Field, FieldType, TypeShape, MAX_AGG_SIZE};
use crate::ir::{DataDef, DataItem, DataValue, ExtType, Item, Linkage, Pos};
use crate::lang::lexer::{Tok, Token};
use crate::lang::opcodes::ext_type;

use super::{PResult, Parser, MAX_ALIGN, MAX_DATA_SIZE, MAX_FIELD_COUNT, MAX_MODULE_SCALARS};

impl<'a> Parser<'a> {
    /// The last string/name token's text as UTF-8.
    pub(super) fn utf8_text(&mut self, pos: Pos, what: &str) -> PResult<String> {
        match std::str::from_utf8(self.lex.text()) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => self.error_at(pos, format!("{what} is not valid UTF-8")),
        }
    }

    pub(super) fn symbol(&mut self, pos: Pos) -> PResult<String> {
        self.utf8_text(pos, "symbol name")
    }

    // ----- types -----

    pub(super) fn type_def(&mut self, pos: Pos) -> PResult<Item> {
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
    pub(super) fn alignment(&mut self) -> PResult<u32> {
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
    pub(super) fn fields(&mut self, mut t: Token) -> PResult<Vec<Field>> {
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

    pub(super) fn data(&mut self, linkage: Linkage, pos: Pos) -> PResult<DataDef> {
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
    pub(super) fn symbol_offset(&mut self) -> PResult<i64> {
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
}
