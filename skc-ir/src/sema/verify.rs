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
//! - `ret` has no operand in a function that returns nothing; in one that
//!   returns something, an operand has the return ABI value type (a bare
//!   `ret` is accepted there, as C compilers emit it where a function falls
//!   off its end; the value is unspecified); `jnz` tests a `w`.
//! - every aggregate type id (parameters, return, call arguments and
//!   returns) names a defined type.
//!
//! Over 900 lines because of its unit tests (about 540: functions that
//! break one rule each); the checks are one pass of about 700 lines.

use std::fmt::Write as _;

use crate::ir::types::TypeTable;
use crate::ir::{
    for_each_use, term_use, AbiType, BaseType, BinOp, Block, CmpOp, Function, Inst, InstKind,
    LoadKind, Operand, Pos, Terminator, UnOp, Value,
};
use crate::lang::diag::Diagnostic;
use crate::lang::opcodes::{binop_name, cmp_name, load_name, store_name, unop_name};
use crate::sema::cfg::ControlFlow;

/// Checks `f` and returns every error found.
pub fn verify(f: &Function, cf: &ControlFlow, types: &TypeTable) -> Vec<Diagnostic> {
    verify_reusing(f, cf, types, &mut Scratch::default())
}

/// Working memory of [`verify`], kept between functions so reading a
/// module does not allocate it anew for each one.
#[derive(Default)]
pub struct Scratch {
    def_block: Vec<u32>,
    def_index: Vec<i64>,
    def_count: Vec<u32>,
    pred_mark: Vec<u32>,
    seen_mark: Vec<u32>,
}

/// [`verify`] with working memory reused from earlier calls.
pub fn verify_reusing(
    f: &Function,
    cf: &ControlFlow,
    types: &TypeTable,
    scratch: &mut Scratch,
) -> Vec<Diagnostic> {
    let reset = |v: &mut Vec<u32>, n: usize, x: u32| {
        let mut v = std::mem::take(v);
        v.clear();
        v.resize(n, x);
        v
    };
    let mut def_index = std::mem::take(&mut scratch.def_index);
    def_index.clear();
    def_index.resize(f.values.len(), 0);
    let mut v = Verifier {
        f,
        cf,
        types,
        diags: Vec::new(),
        def_block: reset(&mut scratch.def_block, f.values.len(), u32::MAX),
        def_index,
        def_count: reset(&mut scratch.def_count, f.values.len(), 0),
        pred_mark: reset(&mut scratch.pred_mark, f.blocks.len(), 0),
        seen_mark: reset(&mut scratch.seen_mark, f.blocks.len(), 0),
        stamp: 0,
    };
    if f.blocks.is_empty() {
        v.error(f.pos, format!("function ${} has no blocks", f.name));
    } else if cf.len() != f.blocks.len() {
        v.error(
            f.pos,
            "control-flow facts do not match the function (normalise and recompute them)",
        );
    } else {
        v.check_signature();
        v.collect_definitions();
        for b in f.block_ids() {
            v.check_block(b);
        }
    }
    scratch.def_block = v.def_block;
    scratch.def_index = v.def_index;
    scratch.def_count = v.def_count;
    scratch.pred_mark = v.pred_mark;
    scratch.seen_mark = v.seen_mark;
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
    /// Per-block marks for phi checks (see `check_phi`).
    pred_mark: Vec<u32>,
    seen_mark: Vec<u32>,
    stamp: u32,
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

    /// Reports an aggregate type id with no definition; `what` names the
    /// place and is only called when reporting.
    fn check_abi(&mut self, ty: AbiType, pos: Pos, what: impl Fn() -> String) {
        if let AbiType::Agg(id) = ty {
            if id.index() >= self.types.len() {
                let what = what();
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
            self.check_abi(ret, f.pos, || "the return type".to_string());
        }
        for (i, p) in f.params.iter().enumerate() {
            self.check_abi(p.ty, f.pos, || format!("parameter {}", i + 1));
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

    /// Reports `op` if it may not be used where `want` is expected; `what`
    /// names the operand and is only called when reporting.
    fn expect(&mut self, op: &Operand, want: BaseType, what: impl Fn() -> String, pos: Pos) {
        if !self.accepts(op, want) {
            if let Operand::Value(v) = op {
                let have = self.f.value_type(*v);
                let name = self.name(*v);
                let what = what();
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
        let ty = f.value_type(phi.result);
        let result_name = &f.values[phi.result.index()].name;
        let preds = &self.cf.preds[b.index()];
        // Marks instead of searches, so a phi with thousands of operands
        // costs linear time: `pred_mark` flags this block's predecessors,
        // `seen_mark` the labels this phi already listed.
        self.stamp += 1;
        let stamp = self.stamp;
        for p in preds {
            self.pred_mark[p.index()] = stamp;
        }
        let label = |from: Block| {
            f.blocks
                .get(from.index())
                .map_or_else(|| format!("#{}", from.0), |d| d.name.to_string())
        };
        for (from, op) in &phi.args {
            let known = from.index() < f.blocks.len();
            if known && self.seen_mark[from.index()] == stamp {
                let message = format!(
                    "phi {} lists @{} more than once",
                    self.name(phi.result),
                    label(*from)
                );
                self.error(phi.pos, message);
                continue;
            }
            if !known || self.pred_mark[from.index()] != stamp {
                let message = format!(
                    "phi {} has an operand for @{}, which is not a predecessor",
                    self.name(phi.result),
                    label(*from)
                );
                self.error(phi.pos, message);
                continue;
            }
            self.seen_mark[from.index()] = stamp;
            self.expect(
                op,
                ty,
                || format!("phi %{result_name}: operand for @{},", label(*from)),
                phi.pos,
            );
            self.check_use(op, *from, i64::MAX, phi.pos);
        }
        let mut missing = String::new();
        for p in preds {
            if self.seen_mark[p.index()] != stamp {
                // Listed once even when both arms of a `jnz` lead here.
                self.seen_mark[p.index()] = stamp;
                let sep = if missing.is_empty() { "" } else { ", " };
                let _ = write!(missing, "{sep}@{}", f.block(*p).name);
            }
        }
        if !missing.is_empty() {
            let message = format!(
                "phi {} has no operand for predecessor {missing}",
                self.name(phi.result)
            );
            self.error(phi.pos, message);
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
                self.expect(cond, BaseType::W, || "`jnz` condition".to_string(), pos);
            }
            Terminator::Ret(op) => match (f.ret, op) {
                (None, Some(_)) => self.error(
                    pos,
                    format!("`ret` has a value but ${} returns nothing", f.name),
                ),
                // cproc emits a bare `ret` where a C function falls off its
                // end; QBE accepts it and the returned value is unspecified.
                (Some(_), None) => {}
                (Some(t), Some(op)) => {
                    self.expect(op, t.value_type(), || "returned value".to_string(), pos);
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
                self.expect(lhs, ty, || format!("first operand of `{name}`"), pos);
                let amount_ty = if matches!(op, BinOp::Sar | BinOp::Shr | BinOp::Shl) {
                    BaseType::W
                } else {
                    ty
                };
                self.expect(
                    rhs,
                    amount_ty,
                    || format!("second operand of `{name}`"),
                    pos,
                );
            }
            InstKind::Compare { op, ty, lhs, rhs } => {
                let mut buf = [0u8; 8];
                let name = cmp_full_name(*op, *ty, &mut buf);
                let Some(rt) = self.result_type(inst, name) else {
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
                self.expect(lhs, *ty, || format!("first operand of `{name}`"), pos);
                self.expect(rhs, *ty, || format!("second operand of `{name}`"), pos);
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
                self.expect(addr, BaseType::L, || format!("address of `{name}`"), pos);
            }
            InstKind::Store { kind, value, addr } => {
                let name = store_name(*kind);
                self.no_result(inst, name);
                self.expect(
                    value,
                    kind.value_type(),
                    || format!("value of `{name}`"),
                    pos,
                );
                self.expect(addr, BaseType::L, || format!("address of `{name}`"), pos);
            }
            InstKind::Alloc { align, size } => {
                let name = match align {
                    1 => "alloc1",
                    2 => "alloc2",
                    4 => "alloc4",
                    8 => "alloc8",
                    16 => "alloc16",
                    _ => "alloc",
                };
                if let Some(ty) = self.result_type(inst, name) {
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
                self.expect(size, BaseType::L, || format!("size of `{name}`"), pos);
            }
            InstKind::Blit { src, dst, size } => {
                self.no_result(inst, "blit");
                self.expect(src, BaseType::L, || "source of `blit`".to_string(), pos);
                self.expect(
                    dst,
                    BaseType::L,
                    || "destination of `blit`".to_string(),
                    pos,
                );
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
                self.expect(callee, BaseType::L, || "callee".to_string(), pos);
                match (ret, inst.result) {
                    (Some(t), Some(r)) => {
                        self.check_abi(*t, pos, || "the call's return type".to_string());
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
                    self.expect(e, BaseType::L, || "`env` argument".to_string(), pos);
                }
                for (i, a) in args.iter().enumerate() {
                    self.check_abi(a.ty, pos, || format!("argument {}", i + 1));
                    let want = a.ty.value_type();
                    self.expect(&a.value, want, || format!("argument {}", i + 1), pos);
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
                self.expect(ap, BaseType::L, || "address of `vastart`".to_string(), pos);
            }
            InstKind::VaArg { ap } => {
                let _ = self.result_type(inst, "vaarg");
                self.expect(ap, BaseType::L, || "address of `vaarg`".to_string(), pos);
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

/// `c` + kind + type letter, e.g. `csltw`, written into `buf`.
fn cmp_full_name(op: CmpOp, ty: BaseType, buf: &mut [u8; 8]) -> &str {
    let kind = cmp_name(op).as_bytes();
    buf[0] = b'c';
    buf[1..1 + kind.len()].copy_from_slice(kind);
    buf[1 + kind.len()] = ty.letter() as u8;
    std::str::from_utf8(&buf[..2 + kind.len()]).unwrap_or("comparison")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::types::TypeId;
    use crate::ir::{CallArg, Const, Param, Phi, StoreKind};
    use crate::sema::cfg::normalize;
    use crate::sema::cfg::testing::FnBuilder;

    use BaseType::{D, L, S, W};

    fn int(i: i64) -> Operand {
        Operand::Const(Const::Int(i))
    }

    fn errors(mut f: Function) -> Vec<Diagnostic> {
        normalize(&mut f);
        let cf = ControlFlow::compute(&f);
        verify(&f, &cf, &TypeTable::new())
    }

    /// A one-block function running `kind` into a fresh value of type `ty`
    /// (or no result); returns its errors and the instruction's position.
    fn single(
        result: Option<BaseType>,
        kind: impl FnOnce(&mut FnBuilder) -> InstKind,
    ) -> (Vec<Diagnostic>, Pos) {
        let mut b = FnBuilder::new();
        let a = b.block("a");
        let k = kind(&mut b);
        let r = result.map(|t| b.val("r", t));
        let pos = b.inst(a, r, k);
        b.term(a, Terminator::Ret(None));
        (errors(b.f), pos)
    }

    /// Defines `%name` of type `ty` by a parameter, for use as an operand.
    fn param(b: &mut FnBuilder, name: &str, ty: BaseType) -> Operand {
        let v = b.val(name, ty);
        b.f.params.push(Param {
            ty: AbiType::Base(ty),
            value: v,
        });
        Operand::Value(v)
    }

    #[track_caller]
    fn assert_one(found: (Vec<Diagnostic>, Pos), message: &str) {
        let (diags, pos) = found;
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].message, message);
        assert_eq!(diags[0].pos, pos);
    }

    #[track_caller]
    fn assert_clean(found: (Vec<Diagnostic>, Pos)) {
        assert!(found.0.is_empty(), "{:?}", found.0);
    }

    fn bin(op: BinOp, lhs: Operand, rhs: Operand) -> InstKind {
        InstKind::Binary { op, lhs, rhs }
    }

    #[test]
    fn arithmetic_operand_types() {
        assert_clean(single(Some(D), |b| {
            bin(BinOp::Add, param(b, "x", D), int(1))
        }));
        assert_one(
            single(Some(W), |b| bin(BinOp::Add, param(b, "x", D), int(1))),
            "first operand of `add` %x has type d, expected w",
        );
        assert_one(
            single(Some(S), |b| bin(BinOp::Rem, param(b, "x", S), int(1))),
            "`rem` needs an integer result, not s",
        );
        // An l is accepted where a w is expected, not the other way round.
        assert_clean(single(Some(W), |b| {
            bin(BinOp::Sub, param(b, "x", L), int(1))
        }));
        assert_one(
            single(Some(L), |b| bin(BinOp::Xor, int(1), param(b, "x", W))),
            "second operand of `xor` %x has type w, expected l",
        );
    }

    #[test]
    fn shift_amount_is_a_word() {
        assert_clean(single(Some(L), |b| {
            bin(BinOp::Shl, param(b, "x", L), param(b, "n", W))
        }));
        assert_clean(single(Some(L), |b| {
            bin(BinOp::Sar, param(b, "x", L), param(b, "n", L))
        }));
        assert_one(
            single(Some(W), |b| {
                bin(BinOp::Shr, param(b, "x", W), param(b, "n", S))
            }),
            "second operand of `shr` %n has type s, expected w",
        );
    }

    #[test]
    fn comparisons() {
        let cmp = |op, ty, lhs, rhs| InstKind::Compare { op, ty, lhs, rhs };
        assert_clean(single(Some(L), |b| {
            cmp(CmpOp::Lt, D, param(b, "x", D), int(0))
        }));
        assert_one(
            single(Some(S), |b| cmp(CmpOp::Eq, W, param(b, "x", W), int(0))),
            "`ceqw` produces an integer, not s",
        );
        assert_one(
            single(Some(W), |b| cmp(CmpOp::Slt, D, param(b, "x", D), int(0))),
            "comparison `csltd` does not exist for type d",
        );
        assert_one(
            single(Some(W), |_| cmp(CmpOp::O, W, int(1), int(0))),
            "comparison `cow` does not exist for type w",
        );
        assert_one(
            single(Some(W), |b| cmp(CmpOp::Ne, S, int(1), param(b, "y", D))),
            "second operand of `cnes` %y has type d, expected s",
        );
    }

    fn un(op: UnOp, arg: Operand) -> InstKind {
        InstKind::Unary { op, arg }
    }

    #[test]
    fn conversions() {
        assert_clean(single(Some(L), |b| un(UnOp::Extsw, param(b, "x", W))));
        assert_one(
            single(Some(W), |b| un(UnOp::Extuw, param(b, "x", W))),
            "`extuw` cannot produce a value of type w",
        );
        assert_one(
            single(Some(W), |b| un(UnOp::Extsb, param(b, "x", S))),
            "operand of `extsb` %x has type s, expected w for a result of type w",
        );
        assert_clean(single(Some(D), |b| un(UnOp::Exts, param(b, "x", S))));
        assert_one(
            single(Some(S), |b| un(UnOp::Exts, param(b, "x", S))),
            "`exts` cannot produce a value of type s",
        );
        assert_clean(single(Some(S), |b| un(UnOp::Truncd, param(b, "x", D))));
        assert_clean(single(Some(L), |b| un(UnOp::Dtosi, param(b, "x", D))));
        assert_one(
            single(Some(D), |b| un(UnOp::Stoui, param(b, "x", S))),
            "`stoui` cannot produce a value of type d",
        );
        assert_one(
            single(Some(S), |b| un(UnOp::Sltof, param(b, "x", W))),
            "operand of `sltof` %x has type w, expected l for a result of type s",
        );
        assert_clean(single(Some(D), |b| un(UnOp::Uwtof, param(b, "x", W))));
    }

    #[test]
    fn cast_needs_the_other_type_of_the_same_width() {
        assert_clean(single(Some(D), |b| un(UnOp::Cast, param(b, "x", L))));
        assert_clean(single(Some(W), |b| un(UnOp::Cast, param(b, "x", S))));
        assert_one(
            single(Some(S), |b| un(UnOp::Cast, param(b, "x", L))),
            "operand of `cast` %x has type l, expected w for a result of type s",
        );
        assert_one(
            single(Some(W), |b| un(UnOp::Cast, param(b, "x", W))),
            "operand of `cast` %x has type w, expected s for a result of type w",
        );
    }

    #[test]
    fn copy_and_neg_keep_their_type() {
        assert_clean(single(Some(S), |b| un(UnOp::Neg, param(b, "x", S))));
        assert_one(
            single(Some(D), |b| un(UnOp::Copy, param(b, "x", S))),
            "operand of `copy` %x has type s, expected d for a result of type d",
        );
    }

    #[test]
    fn memory_instructions() {
        let load = |kind, addr| InstKind::Load { kind, addr };
        assert_clean(single(Some(L), |b| load(LoadKind::Ub, param(b, "p", L))));
        assert_one(
            single(Some(W), |b| load(LoadKind::L, param(b, "p", L))),
            "`loadl` cannot produce a value of type w",
        );
        assert_one(
            single(Some(W), |b| load(LoadKind::Sw, param(b, "p", W))),
            "address of `loadsw` %p has type w, expected l",
        );
        let store = |kind, value, addr| InstKind::Store { kind, value, addr };
        assert_clean(single(None, |b| {
            store(StoreKind::B, param(b, "x", L), param(b, "p", L))
        }));
        assert_one(
            single(None, |b| {
                store(StoreKind::D, param(b, "x", S), param(b, "p", L))
            }),
            "value of `stored` %x has type s, expected d",
        );
        assert_one(
            single(Some(W), |b| store(StoreKind::W, int(1), param(b, "p", L))),
            "`storew` does not produce a value, but defines %r",
        );
        assert_one(
            single(None, |b| load(LoadKind::D, param(b, "p", L))),
            "`loadd` must define a result",
        );
    }

    #[test]
    fn alloc_and_blit() {
        let alloc = |align, size| InstKind::Alloc { align, size };
        assert_clean(single(Some(L), |_| alloc(16, int(32))));
        assert_one(
            single(Some(W), |_| alloc(4, int(8))),
            "`alloc4` produces an address of type l, not w",
        );
        assert_one(
            single(Some(L), |_| alloc(3, int(8))),
            "alloc alignment 3 is not 1, 2, 4, 8 or 16",
        );
        assert_one(
            single(Some(L), |b| alloc(8, param(b, "n", S))),
            "size of `alloc8` %n has type s, expected l",
        );
        let blit = |src, dst, size| InstKind::Blit { src, dst, size };
        assert_clean(single(None, |b| {
            blit(param(b, "s", L), param(b, "d", L), 16)
        }));
        assert_one(
            single(None, |b| blit(param(b, "s", L), param(b, "d", L), 1 << 40)),
            "blit size 1099511627776 is larger than 2^31 - 1 bytes",
        );
        assert_one(
            single(None, |b| blit(param(b, "s", W), int(0), 1)),
            "source of `blit` %s has type w, expected l",
        );
    }

    fn call(ret: Option<AbiType>, args: Vec<CallArg>) -> InstKind {
        InstKind::Call {
            callee: Operand::Const(Const::Addr {
                sym: "g".into(),
                offset: 0,
            }),
            ret,
            env: None,
            args,
            variadic_from: None,
        }
    }

    #[test]
    fn calls() {
        let arg = |ty, value| CallArg { ty, value };
        assert_clean(single(Some(W), |b| {
            call(
                Some(AbiType::SubWord(crate::ir::SubWord::Ub)),
                vec![arg(AbiType::Base(D), param(b, "x", D))],
            )
        }));
        assert_one(
            single(Some(W), |_| call(Some(AbiType::Base(L)), vec![])),
            "call result %r has type w, expected l for return type l",
        );
        assert_one(
            single(None, |_| call(Some(AbiType::Base(L)), vec![])),
            "call has a return type but no result",
        );
        assert_one(
            single(Some(W), |_| call(None, vec![])),
            "call defines %r but has no return type",
        );
        assert_one(
            single(None, |b| {
                call(None, vec![arg(AbiType::Base(S), param(b, "x", D))])
            }),
            "argument 1 %x has type d, expected s",
        );
        assert_one(
            single(None, |_| {
                call(None, vec![arg(AbiType::Agg(TypeId(3)), int(0))])
            }),
            "argument 1 uses an undefined aggregate type (id 3)",
        );
        assert_one(
            single(None, |b| {
                let mut k = call(None, vec![]);
                if let InstKind::Call { callee, env, .. } = &mut k {
                    *callee = param(b, "fp", L);
                    *env = Some(param(b, "e", W));
                }
                k
            }),
            "`env` argument %e has type w, expected l",
        );
        assert_one(
            single(None, |_| {
                let mut k = call(None, vec![]);
                if let InstKind::Call { variadic_from, .. } = &mut k {
                    *variadic_from = Some(2);
                }
                k
            }),
            "the `...` marker is past the end of the arguments",
        );
    }

    #[test]
    fn variadic_instructions() {
        assert_one(
            single(None, |b| InstKind::VaStart {
                ap: param(b, "ap", L),
            }),
            "`vastart` in $f, which is not variadic",
        );
        let mut b = FnBuilder::new();
        b.f.variadic = true;
        let a = b.block("a");
        let ap = param(&mut b, "ap", L);
        b.inst(a, None, InstKind::VaStart { ap: ap.clone() });
        let r = b.val("r", D);
        b.inst(a, Some(r), InstKind::VaArg { ap });
        b.term(a, Terminator::Ret(None));
        assert!(errors(b.f).is_empty());
        assert_one(
            single(Some(D), |b| InstKind::VaArg {
                ap: param(b, "ap", W),
            }),
            "address of `vaarg` %ap has type w, expected l",
        );
    }

    #[test]
    fn returns_and_conditions() {
        let mut b = FnBuilder::new();
        b.f.ret = Some(AbiType::Base(S));
        let a = b.block("a");
        let x = param(&mut b, "x", D);
        let pos = b.term(a, Terminator::Ret(Some(x)));
        assert_one(
            (errors(b.f.clone()), pos),
            "returned value %x has type d, expected s",
        );
        b.f.blocks[0].term = Terminator::Ret(None);
        assert!(errors(b.f.clone()).is_empty(), "a bare `ret` is allowed");
        b.f.ret = None;
        b.f.blocks[0].term = Terminator::Ret(Some(int(0)));
        assert_one(
            (errors(b.f), pos),
            "`ret` has a value but $f returns nothing",
        );

        let mut b = FnBuilder::new();
        let c = param(&mut b, "c", D);
        let a = b.block("a");
        let e = b.block("e");
        let pos = b.term(
            a,
            Terminator::Jnz {
                cond: c,
                nonzero: e,
                zero: e,
            },
        );
        b.term(e, Terminator::Ret(None));
        assert_one(
            (errors(b.f), pos),
            "`jnz` condition %c has type d, expected w",
        );
    }

    #[test]
    fn definitions_must_dominate_uses() {
        // a: jnz 1, @l, @r ; l: %x = copy 1 ; jmp @j ; r: jmp @j ; j: ret %x
        let mut b = FnBuilder::new();
        b.f.ret = Some(AbiType::Base(W));
        b.jnz("a", int(1), "l", "r");
        let l = b.block("l");
        let x = b.val("x", W);
        b.inst(l, Some(x), un(UnOp::Copy, int(1)));
        b.jmp("l", "j");
        b.jmp("r", "j");
        let j = b.block("j");
        let pos = b.term(j, Terminator::Ret(Some(Operand::Value(x))));
        assert_one(
            (errors(b.f), pos),
            "temporary %x is used where its definition (in @l) does not dominate the use",
        );

        let mut b = FnBuilder::new();
        let a = b.block("a");
        let (x, y) = (b.val("x", W), b.val("y", W));
        let pos = b.inst(a, Some(y), un(UnOp::Copy, Operand::Value(x)));
        b.inst(a, Some(x), un(UnOp::Copy, int(1)));
        b.term(a, Terminator::Ret(None));
        assert_one(
            (errors(b.f), pos),
            "temporary %x is used where its definition (in @a) does not dominate the use",
        );
    }

    #[test]
    fn each_value_is_defined_once() {
        let mut b = FnBuilder::new();
        let a = b.block("a");
        let x = b.val("x", W);
        b.inst(a, Some(x), un(UnOp::Copy, int(1)));
        let pos = b.inst(a, Some(x), un(UnOp::Copy, int(2)));
        b.term(a, Terminator::Ret(None));
        assert_one((errors(b.f), pos), "temporary %x is defined more than once");
    }

    /// `a: jnz %c, @l, @r; l: jmp @j; r: jmp @j; j: %p =w phi ...; ret`.
    fn diamond_with_phi(
        args: impl FnOnce(Block, Block, Block) -> Vec<(Block, Operand)>,
    ) -> (Vec<Diagnostic>, Pos) {
        let mut b = FnBuilder::new();
        let c = param(&mut b, "c", W);
        b.jnz("a", c, "l", "r");
        b.jmp("l", "j");
        b.jmp("r", "j");
        let (a, l, r, j) = (b.block("a"), b.block("l"), b.block("r"), b.block("j"));
        let p = b.val("p", W);
        let pos = b.phi(j, p, args(a, l, r));
        b.term(j, Terminator::Ret(None));
        (errors(b.f), pos)
    }

    #[test]
    fn phi_operands_match_predecessors() {
        assert_clean(diamond_with_phi(|_, l, r| vec![(l, int(1)), (r, int(2))]));
        assert_one(
            diamond_with_phi(|_, l, _| vec![(l, int(1))]),
            "phi %p has no operand for predecessor @r",
        );
        assert_one(
            diamond_with_phi(|_, l, r| vec![(l, int(1)), (r, int(2)), (l, int(3))]),
            "phi %p lists @l more than once",
        );
        let (diags, pos) = diamond_with_phi(|a, l, r| vec![(l, int(1)), (r, int(2)), (a, int(3))]);
        assert_eq!(diags.len(), 1);
        assert_eq!(
            diags[0].message,
            "phi %p has an operand for @a, which is not a predecessor"
        );
        assert_eq!(diags[0].pos, pos);
    }

    #[test]
    fn phi_operand_types_and_dominance() {
        let mut b = FnBuilder::new();
        let c = param(&mut b, "c", W);
        let d = param(&mut b, "d", D);
        b.jnz("a", c.clone(), "l", "r");
        let l = b.block("l");
        let y = b.val("y", W);
        b.inst(l, Some(y), un(UnOp::Copy, int(1)));
        b.jmp("l", "j");
        b.jmp("r", "j");
        let (r, j) = (b.block("r"), b.block("j"));
        let p = b.val("p", W);
        // %y comes from @r, where it is not defined; %d has the wrong type.
        let pos = b.phi(j, p, vec![(l, d), (r, Operand::Value(y))]);
        b.term(j, Terminator::Ret(None));
        let diags = errors(b.f);
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "phi %p: operand for @l, %d has type d, expected w",
                "temporary %y is used where its definition (in @l) does not dominate the use",
            ]
        );
        assert!(diags.iter().all(|d| d.pos == pos));
    }

    #[test]
    fn entry_block_rules() {
        let mut b = FnBuilder::new();
        let a = b.block("a");
        b.term(a, Terminator::Jmp(a));
        let p = b.val("p", W);
        b.f.blocks[0].phis.push(Phi {
            result: p,
            args: vec![(a, int(0))],
            pos: Pos::default(),
        });
        // Not normalised on purpose: the verifier must catch it.
        let f = b.f;
        let cf = ControlFlow::compute(&f);
        let diags = verify(&f, &cf, &TypeTable::new());
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            ["entry block @a is a jump target", "entry block @a has phis"]
        );
    }

    #[test]
    fn signature_rules() {
        let mut b = FnBuilder::new();
        let a = b.block("a");
        b.term(a, Terminator::Ret(None));
        let x = b.val("x", W);
        b.f.params.push(Param {
            ty: AbiType::Agg(TypeId(0)),
            value: x,
        });
        let e = b.val("e", W);
        b.f.env = Some(e);
        let messages: Vec<String> = errors(b.f).into_iter().map(|d| d.message).collect();
        assert_eq!(
            messages,
            [
                "parameter 1 uses an undefined aggregate type (id 0)",
                "parameter %x has type w, expected l for its ABI type",
                "env parameter %e must have type l",
            ]
        );
        let empty = FnBuilder::new().f;
        let cf = ControlFlow::compute(&empty);
        let diags = verify(&empty, &cf, &TypeTable::new());
        assert_eq!(diags[0].message, "function $f has no blocks");
    }

    #[test]
    fn all_errors_are_collected() {
        let mut b = FnBuilder::new();
        let a = b.block("a");
        let (x, y) = (param(&mut b, "x", D), b.val("y", W));
        b.inst(a, Some(y), bin(BinOp::Add, x.clone(), x));
        b.inst(a, None, InstKind::VaStart { ap: int(0) });
        b.term(a, Terminator::Ret(Some(int(1))));
        assert_eq!(errors(b.f).len(), 4);
    }
}
