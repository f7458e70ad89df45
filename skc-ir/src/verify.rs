//! The verifier: checks every invariant a backend relies on.
//!
//! [`verify`] runs on a normalised function in SSA form and reports every
//! violation it finds (it does not stop at the first), each at the position
//! of the offending instruction, phi, jump, block or function. Checked:
//!
//! **Structure**
//! - the function has at least one block; block 0 (the entry) has no phis
//!   and no predecessors; every jump names an existing block. (A block
//!   always ends in exactly one terminator: the data model has no other
//!   way to represent it.)
//! - every value id used or defined is in range; every value has exactly
//!   one definition (parameter, `env` parameter, phi or instruction).
//! - every use is dominated by its definition: an instruction operand by a
//!   definition earlier in the same block or in a block that strictly
//!   dominates it; a phi operand by a definition that dominates the end of
//!   the corresponding predecessor.
//! - phis list exactly one operand per predecessor: none missing, none for
//!   a block that is not a predecessor, no predecessor twice.
//!
//! **Types** (an `l` value is accepted wherever a `w` is expected: its low
//! 32 bits are used; constants take the type their context expects)
//! - parameters: the value's type is the parameter's ABI value type; the
//!   `env` parameter is an `l`.
//! - phis: every operand has the result's type.
//! - `add sub mul div neg copy`: operands have the result type; `rem udiv
//!   urem and or xor`: the same, integer results only; `sar shr shl`:
//!   integer result, first operand of the result type, shift amount `w`.
//! - comparisons: integer result, both operands of the compared type, and
//!   a comparison kind that exists for that type (`slt` on integers only,
//!   `lt`, `o`, `uo` on floats only).
//! - `extsb extub extsh extuh`: integer result from a `w`; `extsw extuw`:
//!   `l` from `w`; `exts`: `d` from `s`; `truncd`: `s` from `d`;
//!   `stosi stoui`/`dtosi dtoui`: integer from `s`/`d`; `swtof uwtof`/
//!   `sltof ultof`: float from `w`/`l`; `cast`: between `w`/`s` and `l`/`d`.
//! - loads: address `l`; `loadl` gives `l`, `loads` `s`, `loadd` `d`, the
//!   narrower ones `w` or `l`. Stores: address `l`, value of the type the
//!   store kind names (`storeb`/`storeh` take a `w`).
//! - `alloc`: result `l`, size `l`, alignment 1, 2, 4, 8 or 16.
//! - `blit`: both addresses `l`, size at most 2^31 - 1 (it is a `w`).
//! - calls: callee `l`; a result is bound exactly when a return type is
//!   given and has its value type; every argument has its ABI value type;
//!   `env` operand `l`; the variadic marker is within the argument list.
//! - `vastart` only in variadic functions, no result, address `l`; `vaarg`
//!   has a result, address `l`.
//! - instructions that produce a value have a result and the others
//!   (`store`, `blit`, `vastart`, `dbgloc`) do not.
//! - `ret` has an operand exactly when the function returns something, of
//!   the return ABI value type; `jnz` tests a `w`.
//! - every aggregate type id (parameters, return, call arguments and
//!   returns) names a defined type.

use std::fmt::Write as _;

use crate::cfg::ControlFlow;
use crate::diag::Diagnostic;
use crate::ir::{
    AbiType, BaseType, BinOp, Block, CmpOp, Function, Inst, InstKind, LoadKind, Operand, Pos,
    StoreKind, Terminator, UnOp, Value,
};
use crate::ssa::{for_each_use, term_use};
use crate::types::TypeTable;

/// Checks `f` and returns every error found.
pub fn verify(f: &Function, cf: &ControlFlow, types: &TypeTable) -> Vec<Diagnostic> {
    let mut v = Verifier {
        f,
        cf,
        types,
        diags: Vec::new(),
        def_block: vec![u32::MAX; f.values.len()],
        def_index: vec![0; f.values.len()],
        def_count: vec![0; f.values.len()],
    };
    if f.blocks.is_empty() {
        v.error(f.pos, format!("function ${} has no blocks", f.name));
        return v.diags;
    }
    if cf.len() != f.blocks.len() {
        v.error(
            f.pos,
            "control-flow facts do not match the function (normalise and recompute them)",
        );
        return v.diags;
    }
    v.check_signature();
    v.collect_definitions();
    for b in f.block_ids() {
        v.check_block(b);
    }
    v.diags
}

struct Verifier<'a> {
    f: &'a Function,
    cf: &'a ControlFlow,
    types: &'a TypeTable,
    diags: Vec<Diagnostic>,
    /// Block of each value's definition (`u32::MAX`: none seen).
    def_block: Vec<u32>,
    /// Index of the defining instruction; -2 for parameters, -1 for phis.
    def_index: Vec<i64>,
    def_count: Vec<u32>,
}

const PARAM_INDEX: i64 = -2;
const PHI_INDEX: i64 = -1;

impl Verifier<'_> {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(pos, message));
    }

    fn name(&self, v: Value) -> String {
        match self.f.values.get(v.index()) {
            Some(d) => format!("%{}", d.name),
            None => format!("value #{}", v.0),
        }
    }

    fn value_ok(&self, v: Value) -> bool {
        v.index() < self.f.values.len()
    }

    fn check_abi(&mut self, ty: AbiType, pos: Pos, what: &str) {
        if let AbiType::Agg(id) = ty {
            if id.index() >= self.types.len() {
                self.error(
                    pos,
                    format!("{what} uses an undefined aggregate type (id {})", id.0),
                );
            }
        }
    }

    fn check_signature(&mut self) {
        let f = self.f;
        if let Some(ret) = f.ret {
            self.check_abi(ret, f.pos, "the return type");
        }
        for (i, p) in f.params.iter().enumerate() {
            self.check_abi(p.ty, f.pos, &format!("parameter {}", i + 1));
            if !self.value_ok(p.value) {
                self.error(f.pos, format!("parameter {} is an unknown value", i + 1));
                continue;
            }
            let want = p.ty.value_type();
            let have = f.value_type(p.value);
            if have != want {
                self.error(
                    f.pos,
                    format!(
                        "parameter {} has type {have}, expected {want} for its ABI type",
                        self.name(p.value)
                    ),
                );
            }
        }
        if let Some(e) = f.env {
            if !self.value_ok(e) {
                self.error(f.pos, "the env parameter is an unknown value");
            } else if f.value_type(e) != BaseType::L {
                self.error(
                    f.pos,
                    format!("env parameter {} must have type l", self.name(e)),
                );
            }
        }
    }

    fn collect_definitions(&mut self) {
        let f = self.f;
        let define = |this: &mut Self, v: Value, b: u32, i: i64, pos: Pos| {
            if !this.value_ok(v) {
                this.error(pos, format!("definition of an unknown value #{}", v.0));
                return;
            }
            this.def_count[v.index()] += 1;
            if this.def_count[v.index()] == 2 {
                let name = this.name(v);
                this.error(pos, format!("temporary {name} is defined more than once"));
            }
            this.def_block[v.index()] = b;
            this.def_index[v.index()] = i;
        };
        for p in &f.params {
            define(self, p.value, 0, PARAM_INDEX, f.pos);
        }
        if let Some(e) = f.env {
            define(self, e, 0, PARAM_INDEX, f.pos);
        }
        for (b, data) in f.blocks.iter().enumerate() {
            for phi in &data.phis {
                define(self, phi.result, b as u32, PHI_INDEX, phi.pos);
            }
            for (i, inst) in data.insts.iter().enumerate() {
                if let Some(r) = inst.result {
                    define(self, r, b as u32, i as i64, inst.pos);
                }
            }
        }
    }

    /// Checks that `op`, read in block `b` at instruction `index` (or at
    /// the block's end for `i64::MAX`), is a known value whose definition
    /// reaches it.
    fn check_use(&mut self, op: &Operand, b: Block, index: i64, pos: Pos) {
        let Operand::Value(v) = op else { return };
        if !self.value_ok(*v) {
            self.error(pos, format!("use of an unknown value #{}", v.0));
            return;
        }
        let vi = v.index();
        if self.def_count[vi] == 0 {
            let name = self.name(*v);
            self.error(pos, format!("temporary {name} is used but never defined"));
            return;
        }
        let db = self.def_block[vi];
        let ok = if db == b.0 {
            self.def_index[vi] < index
        } else {
            self.cf.strictly_dominates(Block(db), b)
        };
        if !ok {
            let name = self.name(*v);
            let def_label = &self.f.blocks[db as usize].name;
            self.error(
                pos,
                format!("temporary {name} is used where its definition (in @{def_label}) does not dominate the use"),
            );
        }
    }

    /// Whether `op` may be used where `want` is expected.
    fn accepts(&self, op: &Operand, want: BaseType) -> bool {
        match op {
            Operand::Const(_) => true,
            Operand::Value(v) => match self.f.values.get(v.index()) {
                Some(d) => d.ty == want || (d.ty == BaseType::L && want == BaseType::W),
                // Reported as an unknown value elsewhere.
                None => true,
            },
        }
    }

    fn expect(&mut self, op: &Operand, want: BaseType, what: &str, pos: Pos) {
        if !self.accepts(op, want) {
            if let Operand::Value(v) = op {
                let have = self.f.value_type(*v);
                let name = self.name(*v);
                self.error(
                    pos,
                    format!("{what} {name} has type {have}, expected {want}"),
                );
            }
        }
    }

    fn check_block(&mut self, b: Block) {
        let f = self.f;
        let data = f.block(b);
        let preds = &self.cf.preds[b.index()];
        if b.0 == 0 {
            if !preds.is_empty() {
                self.error(
                    data.pos,
                    format!("entry block @{} is a jump target", data.name),
                );
            }
            if !data.phis.is_empty() {
                self.error(data.pos, format!("entry block @{} has phis", data.name));
            }
        }
        for phi in &data.phis {
            self.check_phi(b, phi);
        }
        for (i, inst) in data.insts.iter().enumerate() {
            for_each_use(&inst.kind, |op| self.check_use(op, b, i as i64, inst.pos));
            self.check_inst(inst);
        }
        if let Some(op) = term_use(&data.term) {
            self.check_use(op, b, i64::MAX, data.term_pos);
        }
        self.check_terminator(b);
    }

    fn check_phi(&mut self, b: Block, phi: &crate::ir::Phi) {
        let f = self.f;
        if !self.value_ok(phi.result) {
            return;
        }
        let result = self.name(phi.result);
        let ty = f.value_type(phi.result);
        let preds = &self.cf.preds[b.index()];
        let mut seen: Vec<Block> = Vec::with_capacity(phi.args.len());
        for (from, op) in &phi.args {
            let label = f
                .blocks
                .get(from.index())
                .map_or_else(|| format!("#{}", from.0), |d| d.name.clone());
            if seen.contains(from) {
                self.error(
                    phi.pos,
                    format!("phi {result} lists @{label} more than once"),
                );
                continue;
            }
            seen.push(*from);
            if !preds.contains(from) {
                self.error(
                    phi.pos,
                    format!("phi {result} has an operand for @{label}, which is not a predecessor"),
                );
                continue;
            }
            self.expect(
                op,
                ty,
                &format!("phi {result}: operand for @{label},"),
                phi.pos,
            );
            self.check_use(op, *from, i64::MAX, phi.pos);
        }
        let mut missing: Vec<&Block> = preds.iter().filter(|p| !seen.contains(p)).collect();
        missing.dedup();
        if !missing.is_empty() {
            let mut list = String::new();
            for (i, p) in missing.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                let _ = write!(list, "{sep}@{}", f.block(**p).name);
            }
            self.error(
                phi.pos,
                format!("phi {result} has no operand for predecessor {list}"),
            );
        }
    }

    fn check_terminator(&mut self, b: Block) {
        let f = self.f;
        let data = f.block(b);
        let pos = data.term_pos;
        for s in data.term.successors() {
            if s.index() >= f.blocks.len() {
                self.error(pos, format!("jump to an unknown block #{}", s.0));
            }
        }
        match &data.term {
            Terminator::Jnz { cond, .. } => {
                self.expect(cond, BaseType::W, "`jnz` condition", pos);
            }
            Terminator::Ret(op) => match (f.ret, op) {
                (None, Some(_)) => self.error(
                    pos,
                    format!("`ret` has a value but ${} returns nothing", f.name),
                ),
                (Some(t), None) => self.error(
                    pos,
                    format!(
                        "`ret` without a value in ${}, which returns {}",
                        f.name,
                        abi_name(t, self.types)
                    ),
                ),
                (Some(t), Some(op)) => {
                    self.expect(op, t.value_type(), "returned value", pos);
                }
                (None, None) => {}
            },
            Terminator::Jmp(_) | Terminator::Hlt => {}
        }
    }

    fn result_type(&mut self, inst: &Inst, op: &str) -> Option<BaseType> {
        match inst.result {
            Some(r) if self.value_ok(r) => Some(self.f.value_type(r)),
            Some(_) => None,
            None => {
                self.error(inst.pos, format!("`{op}` must define a result"));
                None
            }
        }
    }

    fn no_result(&mut self, inst: &Inst, op: &str) {
        if let Some(r) = inst.result {
            let name = self.name(r);
            self.error(
                inst.pos,
                format!("`{op}` does not produce a value, but defines {name}"),
            );
        }
    }

    fn check_inst(&mut self, inst: &Inst) {
        let pos = inst.pos;
        match &inst.kind {
            InstKind::Binary { op, lhs, rhs } => {
                let name = binop_name(*op);
                let Some(ty) = self.result_type(inst, name) else {
                    return;
                };
                let int_only = !matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div);
                if int_only && ty.is_float() {
                    self.error(pos, format!("`{name}` needs an integer result, not {ty}"));
                    return;
                }
                self.expect(lhs, ty, &format!("first operand of `{name}`"), pos);
                let amount_ty = if matches!(op, BinOp::Sar | BinOp::Shr | BinOp::Shl) {
                    BaseType::W
                } else {
                    ty
                };
                self.expect(rhs, amount_ty, &format!("second operand of `{name}`"), pos);
            }
            InstKind::Compare { op, ty, lhs, rhs } => {
                let name = format!("c{}{}", cmp_name(*op), ty);
                let Some(rt) = self.result_type(inst, &name) else {
                    return;
                };
                if rt.is_float() {
                    self.error(pos, format!("`{name}` produces an integer, not {rt}"));
                }
                let int_kind = matches!(
                    op,
                    CmpOp::Sle
                        | CmpOp::Slt
                        | CmpOp::Sge
                        | CmpOp::Sgt
                        | CmpOp::Ule
                        | CmpOp::Ult
                        | CmpOp::Uge
                        | CmpOp::Ugt
                );
                let float_kind = matches!(
                    op,
                    CmpOp::Le | CmpOp::Lt | CmpOp::Ge | CmpOp::Gt | CmpOp::O | CmpOp::Uo
                );
                if (int_kind && ty.is_float()) || (float_kind && ty.is_int()) {
                    self.error(
                        pos,
                        format!("comparison `{name}` does not exist for type {ty}"),
                    );
                }
                self.expect(lhs, *ty, &format!("first operand of `{name}`"), pos);
                self.expect(rhs, *ty, &format!("second operand of `{name}`"), pos);
            }
            InstKind::Unary { op, arg } => self.check_unary(inst, *op, arg),
            InstKind::Load { kind, addr } => {
                let name = load_name(*kind);
                let Some(ty) = self.result_type(inst, name) else {
                    return;
                };
                let ok = match kind {
                    LoadKind::L => ty == BaseType::L,
                    LoadKind::S => ty == BaseType::S,
                    LoadKind::D => ty == BaseType::D,
                    _ => ty.is_int(),
                };
                if !ok {
                    self.error(pos, format!("`{name}` cannot produce a value of type {ty}"));
                }
                self.expect(addr, BaseType::L, &format!("address of `{name}`"), pos);
            }
            InstKind::Store { kind, value, addr } => {
                let name = store_name(*kind);
                self.no_result(inst, name);
                self.expect(value, kind.value_type(), &format!("value of `{name}`"), pos);
                self.expect(addr, BaseType::L, &format!("address of `{name}`"), pos);
            }
            InstKind::Alloc { align, size } => {
                let name = format!("alloc{align}");
                if let Some(ty) = self.result_type(inst, &name) {
                    if ty != BaseType::L {
                        self.error(
                            pos,
                            format!("`{name}` produces an address of type l, not {ty}"),
                        );
                    }
                }
                if !matches!(align, 1 | 2 | 4 | 8 | 16) {
                    self.error(
                        pos,
                        format!("alloc alignment {align} is not 1, 2, 4, 8 or 16"),
                    );
                }
                self.expect(size, BaseType::L, &format!("size of `{name}`"), pos);
            }
            InstKind::Blit { src, dst, size } => {
                self.no_result(inst, "blit");
                self.expect(src, BaseType::L, "source of `blit`", pos);
                self.expect(dst, BaseType::L, "destination of `blit`", pos);
                if *size > i32::MAX as u64 {
                    self.error(
                        pos,
                        format!("blit size {size} is larger than 2^31 - 1 bytes"),
                    );
                }
            }
            InstKind::Call {
                callee,
                ret,
                env,
                args,
                variadic_from,
            } => {
                self.expect(callee, BaseType::L, "callee", pos);
                match (ret, inst.result) {
                    (Some(t), Some(r)) => {
                        self.check_abi(*t, pos, "the call's return type");
                        if self.value_ok(r) && self.f.value_type(r) != t.value_type() {
                            let name = self.name(r);
                            self.error(
                                pos,
                                format!(
                                    "call result {name} has type {}, expected {} for return type {}",
                                    self.f.value_type(r),
                                    t.value_type(),
                                    abi_name(*t, self.types)
                                ),
                            );
                        }
                    }
                    (Some(_), None) => self.error(pos, "call has a return type but no result"),
                    (None, Some(r)) => {
                        let name = self.name(r);
                        self.error(pos, format!("call defines {name} but has no return type"));
                    }
                    (None, None) => {}
                }
                if let Some(e) = env {
                    self.expect(e, BaseType::L, "`env` argument", pos);
                }
                for (i, a) in args.iter().enumerate() {
                    self.check_abi(a.ty, pos, &format!("argument {}", i + 1));
                    let want = a.ty.value_type();
                    self.expect(&a.value, want, &format!("argument {}", i + 1), pos);
                }
                if let Some(v) = variadic_from {
                    if *v > args.len() {
                        self.error(pos, "the `...` marker is past the end of the arguments");
                    }
                }
            }
            InstKind::VaStart { ap } => {
                self.no_result(inst, "vastart");
                if !self.f.variadic {
                    self.error(
                        pos,
                        format!("`vastart` in ${}, which is not variadic", self.f.name),
                    );
                }
                self.expect(ap, BaseType::L, "address of `vastart`", pos);
            }
            InstKind::VaArg { ap } => {
                let _ = self.result_type(inst, "vaarg");
                self.expect(ap, BaseType::L, "address of `vaarg`", pos);
            }
            InstKind::DbgLoc { .. } => self.no_result(inst, "dbgloc"),
        }
    }

    fn check_unary(&mut self, inst: &Inst, op: UnOp, arg: &Operand) {
        use BaseType::{D, L, S, W};
        let pos = inst.pos;
        let name = unop_name(op);
        let Some(ty) = self.result_type(inst, name) else {
            return;
        };
        // The operand type required for this result type, or None when the
        // result type itself is not allowed.
        let operand: Option<BaseType> = match op {
            UnOp::Neg | UnOp::Copy => Some(ty),
            UnOp::Extsb | UnOp::Extub | UnOp::Extsh | UnOp::Extuh => ty.is_int().then_some(W),
            UnOp::Extsw | UnOp::Extuw => (ty == L).then_some(W),
            UnOp::Exts => (ty == D).then_some(S),
            UnOp::Truncd => (ty == S).then_some(D),
            UnOp::Stosi | UnOp::Stoui => ty.is_int().then_some(S),
            UnOp::Dtosi | UnOp::Dtoui => ty.is_int().then_some(D),
            UnOp::Swtof | UnOp::Uwtof => ty.is_float().then_some(W),
            UnOp::Sltof | UnOp::Ultof => ty.is_float().then_some(L),
            UnOp::Cast => Some(match ty {
                W => S,
                L => D,
                S => W,
                D => L,
            }),
        };
        match operand {
            None => self.error(pos, format!("`{name}` cannot produce a value of type {ty}")),
            Some(want) => {
                // A cast reinterprets bits, so its operand must have
                // exactly the other type of the same width.
                let ok = if op == UnOp::Cast {
                    match arg {
                        Operand::Value(v) if self.value_ok(*v) => self.f.value_type(*v) == want,
                        _ => true,
                    }
                } else {
                    self.accepts(arg, want)
                };
                if !ok {
                    if let Operand::Value(v) = arg {
                        let have = self.f.value_type(*v);
                        let vname = self.name(*v);
                        self.error(
                            pos,
                            format!("operand of `{name}` {vname} has type {have}, expected {want} for a result of type {ty}"),
                        );
                    }
                }
            }
        }
    }
}

fn abi_name(t: AbiType, types: &TypeTable) -> String {
    match t {
        AbiType::Base(b) => b.to_string(),
        AbiType::SubWord(s) => s.to_string(),
        AbiType::Agg(id) if id.index() < types.len() => format!(":{}", types.get(id).name),
        AbiType::Agg(id) => format!("aggregate #{}", id.0),
    }
}

fn binop_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "add",
        BinOp::Sub => "sub",
        BinOp::Mul => "mul",
        BinOp::Div => "div",
        BinOp::Rem => "rem",
        BinOp::Udiv => "udiv",
        BinOp::Urem => "urem",
        BinOp::And => "and",
        BinOp::Or => "or",
        BinOp::Xor => "xor",
        BinOp::Sar => "sar",
        BinOp::Shr => "shr",
        BinOp::Shl => "shl",
    }
}

fn cmp_name(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "eq",
        CmpOp::Ne => "ne",
        CmpOp::Sle => "sle",
        CmpOp::Slt => "slt",
        CmpOp::Sge => "sge",
        CmpOp::Sgt => "sgt",
        CmpOp::Ule => "ule",
        CmpOp::Ult => "ult",
        CmpOp::Uge => "uge",
        CmpOp::Ugt => "ugt",
        CmpOp::Le => "le",
        CmpOp::Lt => "lt",
        CmpOp::Ge => "ge",
        CmpOp::Gt => "gt",
        CmpOp::O => "o",
        CmpOp::Uo => "uo",
    }
}

fn unop_name(op: UnOp) -> &'static str {
    match op {
        UnOp::Neg => "neg",
        UnOp::Extsb => "extsb",
        UnOp::Extub => "extub",
        UnOp::Extsh => "extsh",
        UnOp::Extuh => "extuh",
        UnOp::Extsw => "extsw",
        UnOp::Extuw => "extuw",
        UnOp::Exts => "exts",
        UnOp::Truncd => "truncd",
        UnOp::Stosi => "stosi",
        UnOp::Stoui => "stoui",
        UnOp::Dtosi => "dtosi",
        UnOp::Dtoui => "dtoui",
        UnOp::Swtof => "swtof",
        UnOp::Uwtof => "uwtof",
        UnOp::Sltof => "sltof",
        UnOp::Ultof => "ultof",
        UnOp::Cast => "cast",
        UnOp::Copy => "copy",
    }
}

fn load_name(k: LoadKind) -> &'static str {
    match k {
        LoadKind::Sb => "loadsb",
        LoadKind::Ub => "loadub",
        LoadKind::Sh => "loadsh",
        LoadKind::Uh => "loaduh",
        LoadKind::Sw => "loadsw",
        LoadKind::Uw => "loaduw",
        LoadKind::L => "loadl",
        LoadKind::S => "loads",
        LoadKind::D => "loadd",
    }
}

fn store_name(k: StoreKind) -> &'static str {
    match k {
        StoreKind::B => "storeb",
        StoreKind::H => "storeh",
        StoreKind::W => "storew",
        StoreKind::L => "storel",
        StoreKind::S => "stores",
        StoreKind::D => "stored",
    }
}
