//! One instruction line: its operands, and the forms of each kind
//! (arithmetic, memory, conversions, calls, jumps).

use crate::ir::{
    AbiType, BaseType, BinOp, Block, CallArg, Const, Inst, InstKind, LoadKind, Operand, Phi, Pos,
    Terminator, Value,
};
use crate::lang::lexer::{Tok, Token};
use crate::lang::opcodes::unary_arg_type;
use crate::lang::opcodes::Opcode;

use super::{name_string, PResult, Parser, MAX_BLIT};

impl<'a> Parser<'a> {
    /// An operand used where type `ctx` is expected. A float literal in a
    /// context of another type stands for its bit pattern.
    pub(super) fn operand(&mut self, ctx: BaseType, what: &str) -> PResult<Operand> {
        let t = self.next();
        self.operand_from(t, ctx, what)
    }

    pub(super) fn operand_from(&mut self, t: Token, ctx: BaseType, what: &str) -> PResult<Operand> {
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

    pub(super) fn comma(&mut self, after: &str) -> PResult<()> {
        let t = self.next();
        if matches!(t.tok, Tok::Comma) {
            Ok(())
        } else {
            self.expected(t, &format!("`,` after {after}"))
        }
    }

    pub(super) fn label_ref(&mut self, what: &str) -> PResult<Block> {
        let t = self.next();
        self.expect(t, Tok::Label, what)?;
        Ok(Block(self.label(t.pos)))
    }

    /// An instruction or jump; `op` is its name token, `result` the
    /// `%name =type` before it (position, value, type).
    pub(super) fn instruction(
        &mut self,
        op: Token,
        result: Option<(Pos, Value, AbiType)>,
    ) -> PResult<()> {
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

    pub(super) fn small_int(&mut self, what: &str) -> PResult<u32> {
        let t = self.next();
        match t.tok {
            Tok::Int(n) if (0..=i64::from(u32::MAX)).contains(&n) => Ok(n as u32),
            Tok::Int(n) => self.error_at(t.pos, format!("{n} is out of range (0 to 2^32-1)")),
            _ => self.expected(t, what),
        }
    }

    pub(super) fn call(
        &mut self,
        pos: Pos,
        result: Option<Value>,
        ret: Option<AbiType>,
    ) -> PResult<()> {
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
}
