//! A function: its signature and parameters, its lines, block labels and
//! temporaries, and what is checked once its closing brace is read.

use crate::ir::{
    AbiType, BaseType, Block, BlockData, Function, Inst, Linkage, Name, Param, Pos, SubWord,
    Terminator, Value, ValueData,
};
use crate::lang::lexer::{Tok, Token};

use super::{name_string, starts_item, Label, PResult, Parser, Reported, TempInfo};

impl<'a> Parser<'a> {
    pub(super) fn reset_function(&mut self) {
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

    pub(super) fn abi_type(&mut self, t: Token, what: &str) -> PResult<AbiType> {
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
    pub(super) fn temp(&mut self, pos: Pos) -> Value {
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
    pub(super) fn define_temp(&mut self, pos: Pos, ty: BaseType) -> PResult<Value> {
        let v = self.temp(pos);
        self.define_value(v, pos, ty)
    }

    /// Records a definition of `v` at `pos`, with type `ty`.
    pub(super) fn define_value(&mut self, v: Value, pos: Pos, ty: BaseType) -> PResult<Value> {
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
    pub(super) fn label(&mut self, pos: Pos) -> u32 {
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

    pub(super) fn function(&mut self, linkage: Linkage, pos: Pos) -> PResult<Option<Function>> {
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

    pub(super) fn params(&mut self) -> PResult<(Option<Value>, Vec<Param>, bool)> {
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
    pub(super) fn line(&mut self) -> PResult<Option<Option<Pos>>> {
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
    pub(super) fn need_open_block(
        &mut self,
        t: Token,
        block: Option<usize>,
        closed: bool,
    ) -> PResult<()> {
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

    pub(super) fn define_label(&mut self, pos: Pos) -> PResult<()> {
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
    pub(super) fn result_type(&mut self, t: Token) -> PResult<AbiType> {
        self.abi_type(
            t,
            "a type (w l s d, or sb ub sh uh :name for calls) after `=`",
        )
    }

    pub(super) fn close_block(&mut self, term: Terminator, pos: Pos) {
        if let Some(cur) = self.cur {
            self.blocks[cur].term = term;
            self.blocks[cur].term_pos = pos;
        }
        self.cur_closed = true;
    }

    pub(super) fn push_inst(&mut self, inst: Inst) {
        if self.cur.is_some() {
            self.cur_insts.push(inst);
        }
        self.cur_has_insts = true;
    }

    /// Moves the instructions collected for the current block into it.
    pub(super) fn store_insts(&mut self) {
        if let Some(cur) = self.cur {
            if !self.cur_insts.is_empty() {
                self.blocks[cur].insts = self.cur_insts.drain(..).collect();
            }
        }
    }

    /// Checks labels and temporaries once the body is complete, and
    /// turns provisional label indices into block ids.
    pub(super) fn finish_function(&mut self, end: Pos) -> PResult<()> {
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
