//! Lowering of one IL function to an LLVM IR function definition.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use skc_ir::ir::{
    AbiType, BaseType, BinOp, Block, CallArg, CmpOp, Const, Function, Inst, InstKind, LoadKind,
    Operand, Phi, StoreKind, SubWord, Terminator, UnOp, Value,
};
use skc_ir::no_wrap::{NoWrap, NSW, NUW};
use skc_ir::switches::Switches;
use skc_ir::types::TypeTable;

use crate::abi::{classify, AggClass, RegBudget};
use crate::libc;
use crate::module::{linkage_prefix, ModuleState, Sig, SigParam, SigText};
use crate::repr::{analyse, CalleeInfo, Repr, Reprs};
use crate::text::{
    push_double_literal, push_float_literal, push_global_name, push_i64, push_u64, Buf, Global,
    Token,
};

const MEMMOVE: &str = "declare void @llvm.memmove.p0.p0.i64(ptr, ptr, i64, i1)";
const MEMCPY: &str = "declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)";
const TRAP: &str = "declare void @llvm.trap()";
const VA_START: &str = "declare void @llvm.va_start(ptr)";
const STACKSAVE: &str = "declare ptr @llvm.stacksave()";
const STACKRESTORE: &str = "declare void @llvm.stackrestore(ptr)";
const TLS_ADDRESS: &str = "declare ptr @llvm.threadlocal.address.p0(ptr)";

/// How one IL parameter or argument maps to LLVM parameters.
enum ArgLowering {
    /// One scalar; `Repr` is its in-body representation.
    Scalar(Repr),
    /// A sub-word integer, truncated/extended at the boundary.
    SubWord(SubWord),
    /// Aggregate in registers: one LLVM parameter per piece.
    Pieces(Vec<crate::abi::Piece>, u64, u32),
    /// Aggregate in memory, passed `byval`.
    ByVal(u64, u32),
    /// Zero-sized aggregate: nothing passed.
    Empty,
}

/// How a return value travels.
enum RetLowering {
    Void,
    Scalar(Repr),
    SubWord(SubWord),
    Pieces(Vec<crate::abi::Piece>),
    Sret(u64, u32),
}

fn subword_llvm(s: SubWord) -> (&'static str, &'static str) {
    let ty = if s.size() == 1 { "i8" } else { "i16" };
    let attr = if s.is_signed() { "signext" } else { "zeroext" };
    (ty, attr)
}

fn ret_lowering(ret: Option<AbiType>, types: &TypeTable, ptr_ret: bool) -> RetLowering {
    match ret {
        None => RetLowering::Void,
        Some(AbiType::Base(BaseType::L)) if ptr_ret => RetLowering::Scalar(Repr::Ptr),
        Some(AbiType::Base(b)) => RetLowering::Scalar(Repr::of(b)),
        Some(AbiType::SubWord(s)) => RetLowering::SubWord(s),
        Some(AbiType::Agg(id)) => {
            let def = types.get(id);
            match classify(def) {
                AggClass::Empty => RetLowering::Void,
                AggClass::Regs(p) => RetLowering::Pieces(p),
                AggClass::Memory => RetLowering::Sret(def.size, def.align.max(8)),
            }
        }
    }
}

impl RetLowering {
    fn llvm_type(&self) -> (SigText, SigText) {
        match self {
            RetLowering::Void | RetLowering::Sret(..) => ("void".into(), "".into()),
            RetLowering::Scalar(r) => (r.llvm().into(), "".into()),
            RetLowering::SubWord(s) => {
                let (t, _) = subword_llvm(*s);
                let attr = if s.is_signed() {
                    "signext "
                } else {
                    "zeroext "
                };
                (t.into(), attr.into())
            }
            RetLowering::Pieces(p) => (pieces_type(p), "".into()),
        }
    }
}

fn pieces_type(p: &[crate::abi::Piece]) -> SigText {
    if p.len() == 1 {
        p[0].ty.clone()
    } else {
        let tys: Vec<&str> = p.iter().map(|p| p.ty.as_ref()).collect();
        format!("{{ {} }}", tys.join(", ")).into()
    }
}

fn arg_lowering(ty: AbiType, repr: Repr, types: &TypeTable, budget: &mut RegBudget) -> ArgLowering {
    match ty {
        AbiType::Base(b) => {
            budget.take_scalar(b.is_float());
            ArgLowering::Scalar(repr)
        }
        AbiType::SubWord(s) => {
            budget.take_scalar(false);
            ArgLowering::SubWord(s)
        }
        AbiType::Agg(id) => {
            let def = types.get(id);
            let class = classify(def);
            match &class {
                AggClass::Empty => ArgLowering::Empty,
                AggClass::Regs(p) if budget.take_agg(&class) => {
                    ArgLowering::Pieces(p.clone(), def.size, def.align)
                }
                _ => ArgLowering::ByVal(def.size, def.align.max(8)),
            }
        }
    }
}

/// Looks signatures up for the provenance analysis.
struct Callees<'m> {
    module: &'m ModuleState,
}

fn direct_callee(op: &Operand) -> Option<&str> {
    match op {
        Operand::Const(Const::Addr { sym, offset: 0 }) | Operand::Const(Const::Extern(sym)) => {
            Some(sym)
        }
        _ => None,
    }
}

impl CalleeInfo for Callees<'_> {
    fn param_is_ptr(&self, callee: &Operand, index: usize) -> bool {
        let Some(name) = direct_callee(callee) else {
            return false;
        };
        match libc::known_shape(name) {
            Some(_) => libc::param_is_ptr(name, index),
            None => self.module.param_used_as_ptr(name, index),
        }
    }

    fn returns_ptr(&self, callee: &Operand) -> bool {
        let Some(name) = direct_callee(callee) else {
            return false;
        };
        match libc::known_shape(name) {
            Some(_) => libc::returns_ptr(name),
            None => self.module.returns_ptr_value(name),
        }
    }
}

/// Whether an `l` parameter (`index`) or result (`None`) of the function
/// `name` (`None`: called through a pointer) is `ptr` in its LLVM
/// signature; otherwise it is `i64`.
///
/// The answer depends on nothing but the name and the position, so the
/// definition, every direct call and every declaration agree whatever the
/// provenance analysis decided inside each body: LLVM treats a call whose
/// type differs from its callee's as undefined behaviour. Known C library
/// functions keep their C prototype, so LLVM recognises them (`malloc`'s
/// fresh memory, `memcpy`'s effects); every other `l` is `ptr`, which
/// costs nothing in machine code and, once a call is inlined, folds away
/// (`ptrtoint (inttoptr x)` is `x`) where `i64` would leave a pointer
/// without provenance (`inttoptr (ptrtoint p)` is not `p`).
fn l_is_ptr_at_boundary(name: Option<&str>, index: Option<usize>) -> bool {
    match name.and_then(libc::known_shape) {
        Some(shape) => shape.get(index.map_or(0, |i| i + 1)) == Some(&b'p'),
        None => true,
    }
}

fn boundary_repr(name: Option<&str>, index: Option<usize>) -> Repr {
    if l_is_ptr_at_boundary(name, index) {
        Repr::Ptr
    } else {
        Repr::I64
    }
}

/// Buffers one function's lowering leaves behind for the next, so that
/// their allocations are made once per module rather than per function.
#[derive(Default)]
pub struct Scratch {
    call_text: Buf,
    call_args: Buf,
    dbg_lines: String,
    stack_base: Vec<Option<Value>>,
    reprs: Reprs,
}

/// Lowers `f`, appending its text (definition plus its metadata) to `out`.
pub fn lower_function(
    f: &Function,
    no_wrap: &NoWrap,
    types: &TypeTable,
    m: &mut ModuleState,
    scratch: &mut Scratch,
    out: &mut Buf,
) {
    m.define_with(&f.name, &f.linkage, true);
    // Decide which `l` parameters the body uses as `ptr` (the signature
    // does not depend on it: see `l_is_ptr_at_boundary`).
    let callees = Callees { module: m };
    let mut reprs = std::mem::take(&mut scratch.reprs);
    analyse(
        f,
        |demanded, param_ptr| {
            param_ptr.extend(f.params.iter().map(|p| match p.ty {
                AbiType::Agg(_) => true,
                AbiType::Base(BaseType::L) => demanded[p.value.index()],
                _ => false,
            }))
        },
        &callees,
        &mut reprs,
    );
    // Hints for later callers' analyses (not their signatures): which
    // parameters this body uses as addresses, and whether it returns one.
    let returns_ptr = matches!(f.ret, Some(AbiType::Base(BaseType::L)))
        && f.blocks.iter().all(|b| match &b.term {
            Terminator::Ret(Some(Operand::Value(v))) => reprs.repr[v.index()] == Repr::Ptr,
            Terminator::Ret(Some(Operand::Const(c))) => !matches!(c, Const::Int(_)),
            _ => true,
        });
    m.record_body_use(&f.name, &reprs.param_ptr, returns_ptr);
    let mut cx = FnCx {
        f,
        types,
        repr: std::mem::take(&mut reprs.repr),
        body: std::mem::take(out),
        tmp: 0,
        m,
        dbg: None,
        dbg_scope: None,
        dbg_locs: HashMap::new(),
        dbg_lines: std::mem::take(&mut scratch.dbg_lines),
        call_slots: HashMap::new(),
        call_text: std::mem::take(&mut scratch.call_text),
        call_args: std::mem::take(&mut scratch.call_args),
        stack_save: false,
        ret: RetLowering::Void,
        sret_name: None,
        stack_base: std::mem::take(&mut scratch.stack_base),
        comparing: false,
        switches: Switches::find(f),
        no_wrap,
    };
    cx.dbg_lines.clear();
    stack_bases(f, &mut cx.stack_base);
    cx.lower(&reprs.param_ptr);
    *out = cx.body;
    reprs.repr = cx.repr;
    *scratch = Scratch {
        call_text: cx.call_text,
        call_args: cx.call_args,
        dbg_lines: cx.dbg_lines,
        stack_base: cx.stack_base,
        reprs,
    };
}

struct FnCx<'a> {
    f: &'a Function,
    types: &'a TypeTable,
    repr: Vec<Repr>,
    body: Buf,
    tmp: u32,
    m: &'a mut ModuleState,
    /// `, !dbg !N` for the current position, when debug info is on.
    dbg: Option<String>,
    dbg_scope: Option<u32>,
    dbg_locs: HashMap<(u32, u32), u32>,
    dbg_lines: String,
    /// Entry-block slots for aggregate call results, by (block, inst).
    call_slots: HashMap<(usize, usize), String>,
    /// Scratch for a call's text and its argument list.
    call_text: Buf,
    call_args: Buf,
    stack_save: bool,
    ret: RetLowering,
    sret_name: Option<String>,
    /// Per value: the stack object it points into, if certain.
    stack_base: Vec<Option<Value>>,
    /// Lowering a comparison's operands.
    comparing: bool,
    /// Compare trees that become one `switch` each.
    switches: Switches,
    /// Counter steps proven free of wrap.
    no_wrap: &'a NoWrap,
}

fn val<'a>(v: Value) -> V<'a> {
    V::Val(v.0)
}

/// A block label, displayed as `bN`.
#[derive(Clone, Copy)]
struct Label(u32);

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{}", self.0)
    }
}

impl Token for Label {
    fn push_to(&self, out: &mut Buf) {
        out.push('b');
        push_u64(out, u64::from(self.0));
    }
}

fn label(b: Block) -> Label {
    Label(b.0)
}

/// An LLVM operand; prints as its text without allocating in the common
/// cases (values, temporaries, literals, symbols).
#[derive(Clone, Debug, PartialEq)]
enum V<'a> {
    /// `%vN`: an IL value.
    Val(u32),
    /// `%tN`: a temporary of the lowering.
    Tmp(u32),
    /// An integer literal.
    Int(i64),
    /// A `float` literal with these bits.
    F32(u32),
    /// A `double` literal with these bits.
    F64(u64),
    /// `null`
    Null,
    /// `poison`
    Poison,
    /// `%mP.B`: a phi operand materialised at the end of a predecessor.
    Mat(u32, u32),
    /// `@name`: a symbol's address.
    Global(&'a str),
    /// Any other text (named slots).
    Text(String),
}

impl Token for V<'_> {
    fn push_to(&self, out: &mut Buf) {
        match self {
            V::Val(n) => {
                out.push_str("%v");
                push_u64(out, u64::from(*n));
            }
            V::Tmp(n) => {
                out.push_str("%t");
                push_u64(out, u64::from(*n));
            }
            V::Int(n) => push_i64(out, *n),
            V::F32(bits) => push_float_literal(out, *bits),
            V::F64(bits) => push_double_literal(out, *bits),
            V::Null => out.push_str("null"),
            V::Poison => out.push_str("poison"),
            V::Mat(p, b) => {
                out.push_str("%m");
                push_u64(out, u64::from(*p));
                out.push('.');
                push_u64(out, u64::from(*b));
            }
            V::Global(name) => push_global_name(out, name),
            V::Text(t) => out.push_str(t),
        }
    }
}

impl fmt::Display for V<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = Buf::default();
        self.push_to(&mut s);
        f.write_str(&s.into_string())
    }
}

impl Token for Repr {
    fn push_to(&self, out: &mut Buf) {
        out.push_str(self.llvm());
    }
}

/// Appends one instruction line made of the given tokens.
macro_rules! emit_line {
    ($cx:expr; $($piece:expr),+ $(,)?) => {{
        $cx.body.push_str("  ");
        $( Token::push_to(&$piece, &mut $cx.body); )+
        $cx.end_line();
    }};
}

/// Appends `%tN = <tokens>` and evaluates to `%tN`.
macro_rules! emit_def {
    ($cx:expr; $($piece:expr),+ $(,)?) => {{
        let t = $cx.fresh();
        $cx.body.push_str("  ");
        Token::push_to(&t, &mut $cx.body);
        $cx.body.push_str(" = ");
        $( Token::push_to(&$piece, &mut $cx.body); )+
        $cx.end_line();
        t
    }};
}

/// Defines the value `res` (of representation `want`) by an instruction
/// made of the given tokens that yields representation `have`: directly
/// when they agree, else through a temporary and a conversion.
macro_rules! emit_finish_as {
    ($cx:expr, $res:expr, $have:expr, $want:expr; $($piece:expr),+ $(,)?) => {{
        let (have, want) = ($have, $want);
        let tmp = if have == want { None } else { Some($cx.fresh()) };
        $cx.body.push_str("  ");
        match &tmp {
            Some(t) => Token::push_to(t, &mut $cx.body),
            None => Token::push_to($res, &mut $cx.body),
        }
        $cx.body.push_str(" = ");
        $( Token::push_to(&$piece, &mut $cx.body); )+
        $cx.end_line();
        if let Some(t) = tmp {
            $cx.define_converted($res, &t, have, want);
        }
    }};
}

impl<'a> FnCx<'a> {
    fn fresh(&mut self) -> V<'a> {
        self.tmp += 1;
        V::Tmp(self.tmp)
    }

    /// Ends the current line: the debug location, if any, and a newline.
    fn end_line(&mut self) {
        if let Some(d) = &self.dbg {
            self.body.push_str(d);
        }
        self.body.push('\n');
    }

    /// Appends one instruction line (for the rarer shapes of line).
    fn line(&mut self, text: fmt::Arguments<'_>) {
        self.body.push_str("  ");
        let _ = self.body.write_fmt(text);
        self.end_line();
    }

    /// `%t = <text>`; returns `%t`.
    fn def(&mut self, text: fmt::Arguments<'_>) -> V<'a> {
        let t = self.fresh();
        self.line(format_args!("{t} = {text}"));
        t
    }

    /// `res = bitcast` of `x` converted from `have` to `want`: gives the
    /// converted value the IL value's name.
    fn define_converted(&mut self, res: &V<'a>, x: &V<'a>, have: Repr, want: Repr) {
        let c = self.convert(x, have, want);
        emit_line!(self; res, " = bitcast ", want, " ", c, " to ", want);
    }

    fn lower(&mut self, param_ptr: &[bool]) {
        let f = self.f;
        let types = self.types;
        let name = Some(f.name.as_str());
        self.ret = ret_lowering(f.ret, types, l_is_ptr_at_boundary(name, None));
        let (ret_ty, ret_attrs) = self.ret.llvm_type();
        let mut params: Vec<SigParam> = Vec::new();
        let mut names: Vec<V<'a>> = Vec::new();
        let mut prologue: Vec<String> = Vec::new();
        let mut budget = RegBudget::new(matches!(self.ret, RetLowering::Sret(..)));
        // Parameters whose body representation differs from the
        // signature's: (LLVM parameter index, body representation).
        let mut conversions: Vec<(usize, Repr)> = Vec::new();
        if let RetLowering::Sret(size, align) = self.ret {
            params.push(SigParam {
                ty: "ptr".into(),
                attrs: format!("sret([{size} x i8]) align {align}").into(),
            });
            names.push(V::Text("%sret".into()));
            self.sret_name = Some("%sret".into());
        }
        if let Some(e) = f.env {
            params.push(SigParam {
                ty: "ptr".into(),
                attrs: "nest".into(),
            });
            names.push(val(e));
        }
        for (i, p) in f.params.iter().enumerate() {
            let v = p.value;
            let repr = if param_ptr[i] {
                Repr::Ptr
            } else {
                Repr::of(p.ty.value_type())
            };
            match arg_lowering(p.ty, repr, types, &mut budget) {
                ArgLowering::Scalar(r) => {
                    let at_boundary = match p.ty {
                        AbiType::Base(BaseType::L) => boundary_repr(name, Some(i)),
                        _ => r,
                    };
                    if at_boundary != r {
                        conversions.push((params.len(), r));
                    }
                    params.push(SigParam {
                        ty: at_boundary.llvm().into(),
                        attrs: "".into(),
                    });
                    names.push(val(v));
                }
                ArgLowering::SubWord(s) => {
                    let (t, a) = subword_llvm(s);
                    params.push(SigParam {
                        ty: t.into(),
                        attrs: a.into(),
                    });
                    let pn = format!("%p{i}");
                    names.push(V::Text(pn.clone()));
                    let ext = if s.is_signed() { "sext" } else { "zext" };
                    prologue.push(format!("{} = {ext} {t} {pn} to i32", val(v)));
                }
                ArgLowering::Pieces(pieces, size, align) => {
                    prologue.push(format!(
                        "{} = alloca [{size} x i8], align {}",
                        val(v),
                        align.max(8)
                    ));
                    for (k, piece) in pieces.iter().enumerate() {
                        let pn = format!("%p{i}.{k}");
                        params.push(SigParam {
                            ty: piece.ty.clone(),
                            attrs: "".into(),
                        });
                        names.push(V::Text(pn.clone()));
                        prologue.push(format!(
                            "%p{i}.{k}.a = getelementptr i8, ptr {}, i64 {}",
                            val(v),
                            piece.offset
                        ));
                        prologue.push(format!("store {} {pn}, ptr %p{i}.{k}.a", piece.ty));
                    }
                }
                ArgLowering::ByVal(size, align) => {
                    params.push(SigParam {
                        ty: "ptr".into(),
                        attrs: format!("byval([{size} x i8]) align {align}").into(),
                    });
                    names.push(val(v));
                }
                ArgLowering::Empty => {
                    prologue.push(format!("{} = alloca i8", val(v)));
                }
            }
        }
        let sig = Sig {
            ret: ret_ty,
            ret_attrs,
            params,
            variadic: f.variadic,
        };
        for (k, want) in conversions {
            let name = names[k].clone();
            let incoming = V::Text(format!("{name}.in"));
            let conv = if want == Repr::Ptr {
                format!("{name} = inttoptr i64 {incoming} to ptr")
            } else {
                format!("{name} = ptrtoint ptr {incoming} to i64")
            };
            prologue.insert(0, conv);
            names[k] = incoming;
        }
        // The definition's signature is the one later calls are checked
        // against, even where an earlier call site's IL types disagreed.
        self.m.set_sig(&f.name, &sig);

        let head = &mut self.body;
        let preemptible = self.m.is_preemptible(&f.name);
        // Not zero-initialised data, so never `common`.
        let linkage = linkage_prefix(&f.linkage, false, preemptible);
        head.push_str("define ");
        head.push_str(linkage);
        head.push_str(&sig.ret_attrs);
        head.push_str(&sig.ret);
        head.push(' ');
        push_global_name(head, &f.name);
        head.push('(');
        for (k, (p, n)) in sig.params.iter().zip(&names).enumerate() {
            if k > 0 {
                head.push_str(", ");
            }
            head.push_str(&p.ty);
            head.push(' ');
            if !p.attrs.is_empty() {
                head.push_str(&p.attrs);
                head.push(' ');
            }
            n.push_to(head);
        }
        if f.variadic {
            head.push_str(if sig.params.is_empty() {
                "..."
            } else {
                ", ..."
            });
        }
        head.push_str(") #0");
        if let Some(s) = &f.linkage.section {
            let _ = write!(head, " section {}", crate::text::quoted(&s.name));
        }
        if let Some(d) = self.m.debug.as_mut() {
            let head = &mut self.body;
            let sp = d.fresh();
            let first_line = f
                .blocks
                .iter()
                .flat_map(|b| &b.insts)
                .find_map(|i| match i.kind {
                    InstKind::DbgLoc { line, .. } => Some(line),
                    _ => None,
                })
                .unwrap_or(0);
            let _ = write!(head, " !dbg !{sp}");
            let _ = writeln!(
                self.dbg_lines,
                "!{sp} = distinct !DISubprogram(name: {}, scope: !{file}, file: !{file}, line: {first_line}, type: !{}, scopeLine: {first_line}, spFlags: DISPFlagDefinition{}, unit: !{})",
                crate::text::quoted(&f.name),
                d.subroutine_type(),
                if d.optimized { " | DISPFlagOptimized" } else { "" },
                d.cu(),
                file = d.current_file,
            );
            self.dbg_scope = Some(sp);
            self.set_loc(first_line, 0);
        }
        self.body.push_str(" {\n");

        // Entry: prologue, slots for aggregate call results, dynamic-alloc
        // bookkeeping, then the blocks.
        self.body.push_str("b0:\n");
        for p in prologue {
            self.line(format_args!("{p}"));
        }
        self.prepare_slots();
        if self.stack_save {
            self.m.use_intrinsic(STACKSAVE);
            self.line(format_args!("%stack = call ptr @llvm.stacksave()"));
        }
        for (bi, b) in f.blocks.iter().enumerate() {
            let this = Block(bi as u32);
            if self.switches.is_node(this) {
                // Its comparison is part of the head's `switch`.
                continue;
            }
            if bi > 0 {
                label(this).push_to(&mut self.body);
                self.body.push_str(":\n");
            }
            for phi in &b.phis {
                self.phi(this, phi);
            }
            for (ii, inst) in b.insts.iter().enumerate() {
                self.inst(bi, ii, inst);
            }
            self.materialize_phi_operands(this);
            match self.switches.at_head(this) {
                Some(_) => self.switch(this),
                None => self.terminator(&b.term),
            }
        }
        self.body.push_str("}\n");
        self.body.push_str(&self.dbg_lines);
    }

    fn set_loc(&mut self, line: u32, col: u32) {
        let Some(scope) = self.dbg_scope else { return };
        let id = match self.dbg_locs.get(&(line, col)) {
            Some(&id) => id,
            None => {
                let Some(d) = self.m.debug.as_mut() else {
                    return;
                };
                let id = d.fresh();
                let _ = writeln!(
                    self.dbg_lines,
                    "!{id} = !DILocation(line: {line}, column: {col}, scope: !{scope})"
                );
                self.dbg_locs.insert((line, col), id);
                id
            }
        };
        self.dbg = Some(format!(", !dbg !{id}"));
    }

    /// Entry-block slots: aggregate call results, and whether any alloc is
    /// dynamic.
    fn prepare_slots(&mut self) {
        let f = self.f;
        for (bi, b) in f.blocks.iter().enumerate() {
            for (ii, inst) in b.insts.iter().enumerate() {
                match &inst.kind {
                    InstKind::Call {
                        ret: Some(AbiType::Agg(id)),
                        ..
                    } => {
                        let def = self.types.get(*id);
                        let name = format!("%slot{bi}.{ii}");
                        self.line(format_args!(
                            "{name} = alloca [{} x i8], align {}",
                            def.size.max(1),
                            def.align.max(8)
                        ));
                        self.call_slots.insert((bi, ii), name);
                    }
                    InstKind::Alloc { size, .. }
                        if bi != 0 || !matches!(size, Operand::Const(Const::Int(_))) =>
                    {
                        self.stack_save = true;
                    }
                    _ => {}
                }
            }
        }
    }

    fn phi(&mut self, b: Block, phi: &'a Phi) {
        let r = self.repr[phi.result.index()];
        self.body.push_str("  ");
        val(phi.result).push_to(&mut self.body);
        self.body.push_str(" = phi ");
        r.push_to(&mut self.body);
        self.body.push(' ');
        let mut first = true;
        let mut heads_done: Vec<Block> = Vec::new();
        for (pred, arg) in &phi.args {
            // An edge from a compare tree comes from its head's `switch`,
            // once per case (and default) leading here: the operand is the
            // same on every live edge (`Switches` checks it).
            let (from, times) = match self.switches.tree_of(*pred) {
                Some(sw) => {
                    if !sw.is_live_edge(*pred, b) || heads_done.contains(&sw.head) {
                        continue;
                    }
                    heads_done.push(sw.head);
                    (sw.head, sw.edges_to(b))
                }
                None => (*pred, 1),
            };
            let a = self.phi_operand(phi.result, from, arg, r);
            for _ in 0..times {
                if !first {
                    self.body.push_str(", ");
                }
                first = false;
                self.body.push_str("[ ");
                a.push_to(&mut self.body);
                self.body.push_str(", %");
                label(from).push_to(&mut self.body);
                self.body.push_str(" ]");
            }
        }
        self.end_line();
    }

    /// Ends compare-tree head `b` with the `switch` that replaces its tree.
    fn switch(&mut self, b: Block) {
        let sw = self.switches.at_head(b).expect("a switch head").clone();
        let (r, ty) = match sw.ty {
            BaseType::W => (Repr::I32, "i32"),
            _ => (Repr::I64, "i64"),
        };
        let have = self.repr[sw.scrutinee.index()];
        let x = self.convert(&val(sw.scrutinee), have, r);
        self.body.push_str("  switch ");
        self.body.push_str(ty);
        self.body.push(' ');
        x.push_to(&mut self.body);
        self.body.push_str(", label %");
        label(sw.default).push_to(&mut self.body);
        self.body.push_str(" [");
        for &(value, target) in &sw.cases {
            self.body.push_str("\n    ");
            self.body.push_str(ty);
            self.body.push(' ');
            // Printed signed: LLVM reads literals as signed at the width.
            let v = match sw.ty {
                BaseType::W => i64::from(value as u32 as i32),
                _ => value as i64,
            };
            push_i64(&mut self.body, v);
            self.body.push_str(", label %");
            label(target).push_to(&mut self.body);
        }
        self.body.push_str("\n  ]");
        self.end_line();
    }

    /// The text of a phi operand coming from `pred`: a name or literal, or
    /// the name of a conversion materialised at the end of `pred`.
    fn phi_operand(&mut self, phi: Value, pred: Block, arg: &'a Operand, r: Repr) -> V<'a> {
        match simple_operand(arg, r, &self.repr) {
            Some(s) => {
                if let Operand::Const(Const::Addr { sym, .. }) = arg {
                    self.m.reference_data(sym, false);
                }
                s
            }
            None => V::Mat(phi.0, pred.0),
        }
    }

    fn materialize_phi_operands(&mut self, b: Block) {
        let f = self.f;
        if let Some(sw) = self.switches.at_head(b) {
            // The operands of every edge out of the tree, at its head.
            let sw = sw.clone();
            for t in sw.targets() {
                for phi in &f.block(t).phis {
                    let r = self.repr[phi.result.index()];
                    let arg = phi
                        .args
                        .iter()
                        .find(|(p, _)| sw.contains(*p) && sw.is_live_edge(*p, t));
                    if let Some((_, arg)) = arg {
                        if simple_operand(arg, r, &self.repr).is_none() {
                            let x = self.operand(arg, r);
                            let name = V::Mat(phi.result.0, b.0);
                            emit_line!(self; name, " = bitcast ", r, " ", x, " to ", r);
                        }
                    }
                }
            }
            return;
        }
        let mut seen: Option<Block> = None;
        for s in f.block(b).term.successors() {
            // A block has at most two successors: skipping a repeat of
            // the first is enough.
            if seen == Some(s) {
                continue;
            }
            seen = Some(s);
            for phi in &f.block(s).phis {
                let r = self.repr[phi.result.index()];
                for (pred, arg) in &phi.args {
                    if *pred == b && simple_operand(arg, r, &self.repr).is_none() {
                        let x = self.operand(arg, r);
                        // A no-op cast gives the value the name the phi uses.
                        let name = V::Mat(phi.result.0, b.0);
                        emit_line!(self; name, " = bitcast ", r, " ", x, " to ", r);
                    }
                }
            }
        }
    }

    /// An operand converted to `want`.
    fn operand(&mut self, op: &'a Operand, want: Repr) -> V<'a> {
        match op {
            Operand::Value(v) => {
                let have = self.repr[v.index()];
                self.convert(&val(*v), have, want)
            }
            Operand::Const(c) => self.constant(c, want),
        }
    }

    fn convert(&mut self, x: &V<'a>, have: Repr, want: Repr) -> V<'a> {
        use Repr::*;
        if have == want {
            return x.clone();
        }
        match (have, want) {
            (Ptr, I64 | I32) => emit_def!(self; "ptrtoint ptr ", x, " to ", want),
            (I64 | I32, Ptr) => emit_def!(self; "inttoptr ", have, " ", x, " to ptr"),
            (I64, I32) => emit_def!(self; "trunc i64 ", x, " to i32"),
            (I32, I64) => emit_def!(self; "zext i32 ", x, " to i64"),
            (I32, F32) | (I64, F64) | (F32, I32) | (F64, I64) => {
                emit_def!(self; "bitcast ", have, " ", x, " to ", want)
            }
            (F64, F32) => emit_def!(self; "fptrunc double ", x, " to float"),
            (F32, F64) => emit_def!(self; "fpext float ", x, " to double"),
            (I32, F64) | (F32, I64) => {
                let w = self.convert(x, have, if have == I32 { F32 } else { I32 });
                self.convert(&w, if have == I32 { F32 } else { I32 }, want)
            }
            (I64, F32) | (F64, I32) => {
                let w = self.convert(x, have, if have == I64 { I32 } else { I64 });
                self.convert(&w, if have == I64 { I32 } else { I64 }, want)
            }
            (Ptr, F32 | F64) => {
                let w = self.convert(x, Ptr, I64);
                self.convert(&w, I64, want)
            }
            (F32 | F64, Ptr) => {
                let w = self.convert(x, have, I64);
                self.convert(&w, I64, Ptr)
            }
            _ => x.clone(),
        }
    }

    fn symbol_addr(&mut self, sym: &'a str, offset: i64) -> V<'a> {
        self.m.reference_data(sym, false);
        if offset == 0 {
            V::Global(sym)
        } else {
            emit_def!(self; "getelementptr i8, ptr ", Global(sym), ", i64 ", offset)
        }
    }

    fn constant(&mut self, c: &'a Const, want: Repr) -> V<'a> {
        match c {
            Const::Int(n) => match want {
                Repr::I32 => V::Int(i64::from(*n as i32)),
                Repr::I64 => V::Int(*n),
                Repr::F32 => V::F32(*n as u32),
                Repr::F64 => V::F64(*n as u64),
                Repr::Ptr if *n == 0 => V::Null,
                Repr::Ptr => emit_def!(self; "inttoptr i64 ", n, " to ptr"),
            },
            Const::Single(x) => match want {
                Repr::F32 => V::F32(x.to_bits()),
                Repr::F64 => V::F64(f64::from(*x).to_bits()),
                Repr::I32 => V::Int(i64::from(x.to_bits() as i32)),
                _ => V::Int(i64::from(x.to_bits())),
            },
            Const::Double(x) => match want {
                Repr::F64 => V::F64(x.to_bits()),
                Repr::F32 => V::F32((*x as f32).to_bits()),
                Repr::I32 => V::Int(i64::from(x.to_bits() as i32)),
                _ => V::Int(x.to_bits() as i64),
            },
            Const::Addr { sym, offset } => {
                let p = self.symbol_addr(sym, *offset);
                self.address_constant_as(&p, want)
            }
            Const::Extern(sym) => {
                self.m.reference_extern(sym);
                let p = self.symbol_addr(sym, 0);
                self.address_constant_as(&p, want)
            }
            Const::Thread(sym) | Const::ExternThread(sym) => {
                if matches!(c, Const::ExternThread(_)) {
                    self.m.reference_initial_exec(sym);
                } else {
                    self.m.reference_data(sym, true);
                }
                let p = if self.m.dialect.threadlocal_address {
                    self.m.use_intrinsic(TLS_ADDRESS);
                    emit_def!(self; "call ptr @llvm.threadlocal.address.p0(ptr ", Global(sym), ")")
                } else {
                    V::Global(sym)
                };
                self.convert(&p, Repr::Ptr, want)
            }
        }
    }

    /// A symbol's address in representation `want`. As an integer it goes
    /// through an empty `asm` that LLVM cannot see through: integer
    /// arithmetic on two symbols' addresses (`$a + ($b - $a)`) otherwise
    /// folds into a constant expression, and LLVM 19's x86-64 instruction
    /// selection (position-independent code) takes an address computed
    /// that way for one inside `$a` and moves loads of `$b` across stores
    /// through it. Comparisons, which access no memory, keep the plain
    /// conversion (see `compare_operand`).
    fn address_constant_as(&mut self, p: &V<'a>, want: Repr) -> V<'a> {
        match want {
            Repr::I64 | Repr::I32 if !self.comparing => {
                let x = emit_def!(self; "call i64 asm \"\", \"=r,0\"(ptr ", p, ")");
                self.convert(&x, Repr::I64, want)
            }
            _ => self.convert(p, Repr::Ptr, want),
        }
    }

    /// An operand of a comparison.
    fn compare_operand(&mut self, op: &'a Operand, want: Repr) -> V<'a> {
        self.comparing = true;
        let x = self.operand(op, want);
        self.comparing = false;
        x
    }

    /// The stack object (an `alloc`, or the slot of an aggregate call
    /// result) an address points into, when that is certain.
    fn stack_object(&self, op: &Operand) -> Option<Value> {
        let Operand::Value(v) = op else { return None };
        self.stack_base.get(v.index()).copied().flatten()
    }

    fn result_repr(&self, inst: &Inst) -> Repr {
        inst.result.map_or(Repr::I32, |r| self.repr[r.index()])
    }

    fn inst(&mut self, bi: usize, ii: usize, inst: &'a Inst) {
        let f = self.f;
        let res = inst.result.map(val);
        let rr = self.result_repr(inst);
        let rty = inst.result.map_or(BaseType::W, |r| f.value_type(r));
        match &inst.kind {
            InstKind::DbgLoc { line, col } => self.set_loc(*line, *col),
            InstKind::Binary { op, lhs, rhs } => {
                let Some(result) = inst.result else { return };
                self.binary(result, *op, lhs, rhs);
            }
            InstKind::Compare { op, ty, lhs, rhs } => {
                let Some(res) = res else { return };
                let r = Repr::of(*ty);
                let a = self.compare_operand(lhs, r);
                let b = self.compare_operand(rhs, r);
                let c = if ty.is_float() {
                    let pred = match op {
                        CmpOp::Eq => "oeq",
                        CmpOp::Ne => "une",
                        CmpOp::Lt => "olt",
                        CmpOp::Le => "ole",
                        CmpOp::Gt => "ogt",
                        CmpOp::Ge => "oge",
                        CmpOp::O => "ord",
                        CmpOp::Uo => "uno",
                        // Integer kinds on floats do not verify; ordered
                        // equivalents keep the output well-formed.
                        CmpOp::Slt | CmpOp::Ult => "olt",
                        CmpOp::Sle | CmpOp::Ule => "ole",
                        CmpOp::Sgt | CmpOp::Ugt => "ogt",
                        CmpOp::Sge | CmpOp::Uge => "oge",
                    };
                    emit_def!(self; "fcmp ", pred, " ", r, " ", a, ", ", b)
                } else {
                    let pred = match op {
                        CmpOp::Eq => "eq",
                        CmpOp::Ne => "ne",
                        CmpOp::Slt | CmpOp::Lt => "slt",
                        CmpOp::Sle | CmpOp::Le => "sle",
                        CmpOp::Sgt | CmpOp::Gt => "sgt",
                        CmpOp::Sge | CmpOp::Ge => "sge",
                        CmpOp::Ult => "ult",
                        CmpOp::Ule => "ule",
                        CmpOp::Ugt => "ugt",
                        CmpOp::Uge => "uge",
                        CmpOp::O => "eq",
                        CmpOp::Uo => "ne",
                    };
                    emit_def!(self; "icmp ", pred, " ", r, " ", a, ", ", b)
                };
                let rint = if rr == Repr::Ptr { Repr::I64 } else { rr };
                emit_finish_as!(self, &res, rint, rr; "zext i1 ", c, " to ", rint);
            }
            InstKind::Unary { op, arg } => {
                let Some(res) = res else { return };
                self.unary(&res, rr, rty, *op, arg);
            }
            InstKind::Load { kind, addr } => {
                let Some(res) = res else { return };
                let p = self.operand(addr, Repr::Ptr);
                let (mty, align) = match kind {
                    LoadKind::Sb | LoadKind::Ub => ("i8", 1),
                    LoadKind::Sh | LoadKind::Uh => ("i16", 2),
                    LoadKind::Sw | LoadKind::Uw => ("i32", 4),
                    LoadKind::L => (if rr == Repr::Ptr { "ptr" } else { "i64" }, 8),
                    LoadKind::S => ("float", 4),
                    LoadKind::D => ("double", 8),
                };
                let mrepr = match mty {
                    "ptr" => Repr::Ptr,
                    "i64" => Repr::I64,
                    "float" => Repr::F32,
                    "double" => Repr::F64,
                    _ => Repr::I32,
                };
                if mty == rr.llvm() {
                    emit_line!(self; res, " = load ", mty, ", ptr ", p, ", align ", align);
                    return;
                }
                let x = emit_def!(self; "load ", mty, ", ptr ", p, ", align ", align);
                let signed = matches!(kind, LoadKind::Sb | LoadKind::Sh | LoadKind::Sw);
                let x = if matches!(mty, "i8" | "i16") {
                    let ext = if signed { "sext" } else { "zext" };
                    let want = if rr == Repr::I64 || rr == Repr::Ptr {
                        "i64"
                    } else {
                        "i32"
                    };
                    let e = emit_def!(self; ext, " ", mty, " ", x, " to ", want);
                    if want == rr.llvm() {
                        emit_line!(self; res, " = bitcast ", want, " ", e, " to ", want);
                        return;
                    }
                    (e, if want == "i64" { Repr::I64 } else { Repr::I32 })
                } else if mty == "i32" && matches!(rr, Repr::I64 | Repr::Ptr) {
                    let ext = if signed { "sext" } else { "zext" };
                    (emit_def!(self; ext, " i32 ", x, " to i64"), Repr::I64)
                } else {
                    (x, mrepr)
                };
                self.define_converted(&res, &x.0, x.1, rr);
            }
            InstKind::Store { kind, value, addr } => {
                let (v, ty) = match kind {
                    StoreKind::B => {
                        let w = self.operand(value, Repr::I32);
                        (emit_def!(self; "trunc i32 ", w, " to i8"), "i8")
                    }
                    StoreKind::H => {
                        let w = self.operand(value, Repr::I32);
                        (emit_def!(self; "trunc i32 ", w, " to i16"), "i16")
                    }
                    StoreKind::W => (self.operand(value, Repr::I32), "i32"),
                    StoreKind::L => {
                        let is_ptr = matches!(value, Operand::Value(v) if self.repr[v.index()] == Repr::Ptr)
                            || matches!(value, Operand::Const(c) if !matches!(c, Const::Int(_) | Const::Single(_) | Const::Double(_)));
                        if is_ptr {
                            (self.operand(value, Repr::Ptr), "ptr")
                        } else {
                            (self.operand(value, Repr::I64), "i64")
                        }
                    }
                    StoreKind::S => (self.operand(value, Repr::F32), "float"),
                    StoreKind::D => (self.operand(value, Repr::F64), "double"),
                };
                let p = self.operand(addr, Repr::Ptr);
                emit_line!(self; "store ", ty, " ", v, ", ptr ", p, ", align ", kind.size());
            }
            InstKind::Alloc { align, size } => {
                let Some(res) = res else { return };
                let align = (*align).max(1);
                let target = if rr == Repr::Ptr {
                    res.clone()
                } else {
                    self.fresh()
                };
                match size {
                    Operand::Const(Const::Int(n)) if bi == 0 => {
                        emit_line!(self; target, " = alloca [", (*n).max(0), " x i8], align ", align);
                    }
                    _ => {
                        let n = self.operand(size, Repr::I64);
                        emit_line!(self; target, " = alloca i8, i64 ", n, ", align ", align);
                    }
                }
                if rr != Repr::Ptr {
                    self.define_converted(&res, &target, Repr::Ptr, rr);
                }
            }
            InstKind::Blit { src, dst, size } => {
                let disjoint = match (self.stack_object(src), self.stack_object(dst)) {
                    (Some(a), Some(b)) => a != b,
                    _ => false,
                };
                let s = self.operand(src, Repr::Ptr);
                let d = self.operand(dst, Repr::Ptr);
                let name = if disjoint { "memcpy" } else { "memmove" };
                self.m
                    .use_intrinsic(if disjoint { MEMCPY } else { MEMMOVE });
                self.line(format_args!(
                    "call void @llvm.{name}.p0.p0.i64(ptr {d}, ptr {s}, i64 {size}, i1 false)"
                ));
            }
            InstKind::VaStart { ap } => {
                let p = self.operand(ap, Repr::Ptr);
                self.m.use_intrinsic(VA_START);
                self.line(format_args!("call void @llvm.va_start(ptr {p})"));
            }
            InstKind::VaArg { ap } => {
                let p = self.operand(ap, Repr::Ptr);
                let float = rty.is_float();
                let addr = self.va_arg_address(&p, float);
                let Some(res) = res else { return };
                let (ty, align) = match rty {
                    BaseType::W => ("i32", 4),
                    BaseType::S => ("float", 4),
                    BaseType::D => ("double", 8),
                    BaseType::L if rr == Repr::Ptr => ("ptr", 8),
                    BaseType::L => ("i64", 8),
                };
                self.line(format_args!("{res} = load {ty}, ptr {addr}, align {align}"));
            }
            InstKind::Call {
                callee,
                ret,
                env,
                args,
                variadic_from,
            } => self.call(
                bi,
                ii,
                inst.result,
                callee,
                *ret,
                env.as_ref(),
                args,
                *variadic_from,
            ),
        }
    }

    /// The address of the next variadic argument of `va_list` `ap`, and
    /// `ap` advanced past it: the System V x86-64 `va_arg` algorithm
    /// written out, as clang does, because LLVM's own `va_arg` instruction
    /// is miscompiled by its x86-64 backend at -O0. The register and
    /// overflow cases are chosen with `select` rather than branches so
    /// that the IL block stays one LLVM block (phis name it).
    fn va_arg_address(&mut self, ap: &V<'a>, float: bool) -> V<'a> {
        // va_list: { i32 gp_offset, i32 fp_offset, ptr overflow_arg_area,
        // ptr reg_save_area }. The save area holds 6 general registers
        // (8 bytes each), then 8 vector registers (16 bytes each).
        let (offset_field, last_in_regs, step) = if float { (4, 160, 16) } else { (0, 40, 8) };
        let offset_addr = self.def(format_args!(
            "getelementptr i8, ptr {ap}, i64 {offset_field}"
        ));
        let offset = self.def(format_args!("load i32, ptr {offset_addr}, align 4"));
        let in_regs = self.def(format_args!("icmp ule i32 {offset}, {last_in_regs}"));
        let overflow_addr = self.def(format_args!("getelementptr i8, ptr {ap}, i64 8"));
        let overflow = self.def(format_args!("load ptr, ptr {overflow_addr}, align 8"));
        let save_addr = self.def(format_args!("getelementptr i8, ptr {ap}, i64 16"));
        let save = self.def(format_args!("load ptr, ptr {save_addr}, align 8"));
        let offset64 = self.def(format_args!("zext i32 {offset} to i64"));
        let in_save = self.def(format_args!("getelementptr i8, ptr {save}, i64 {offset64}"));
        let addr = self.def(format_args!(
            "select i1 {in_regs}, ptr {in_save}, ptr {overflow}"
        ));
        let next_offset = self.def(format_args!("add i32 {offset}, {step}"));
        let new_offset = self.def(format_args!(
            "select i1 {in_regs}, i32 {next_offset}, i32 {offset}"
        ));
        self.line(format_args!(
            "store i32 {new_offset}, ptr {offset_addr}, align 4"
        ));
        let next_overflow = self.def(format_args!("getelementptr i8, ptr {overflow}, i64 8"));
        let new_overflow = self.def(format_args!(
            "select i1 {in_regs}, ptr {overflow}, ptr {next_overflow}"
        ));
        self.line(format_args!(
            "store ptr {new_overflow}, ptr {overflow_addr}, align 8"
        ));
        addr
    }

    fn binary(&mut self, result: Value, op: BinOp, lhs: &'a Operand, rhs: &'a Operand) {
        let res = &val(result);
        let rr = self.repr[result.index()];
        let rty = self.f.value_type(result);
        let no_wrap = self.no_wrap.of(result);
        let is_ptr = |s: &Self, o: &Operand| match o {
            Operand::Value(v) => s.repr[v.index()] == Repr::Ptr,
            Operand::Const(c) => !matches!(c, Const::Int(_) | Const::Single(_) | Const::Double(_)),
        };
        if rr == Repr::Ptr && matches!(op, BinOp::Add | BinOp::Sub) {
            let (base, off, neg) = if is_ptr(self, lhs) {
                (lhs, rhs, op == BinOp::Sub)
            } else {
                (rhs, lhs, false)
            };
            let b = self.operand(base, Repr::Ptr);
            let mut o = self.operand(off, Repr::I64);
            if neg {
                o = match off {
                    Operand::Const(Const::Int(n)) => V::Int(n.wrapping_neg()),
                    _ => emit_def!(self; "sub i64 0, ", o),
                };
            }
            emit_line!(self; res, " = getelementptr i8, ptr ", b, ", i64 ", o);
            return;
        }
        let r = Repr::of(rty);
        if rty.is_float() {
            let name = match op {
                BinOp::Add => "fadd",
                BinOp::Sub => "fsub",
                BinOp::Mul => "fmul",
                BinOp::Div | BinOp::Udiv => "fdiv",
                _ => "frem",
            };
            let a = self.operand(lhs, r);
            let b = self.operand(rhs, r);
            emit_finish_as!(self, res, r, rr; name, " ", r, " ", a, ", ", b);
            return;
        }
        let a = self.operand(lhs, r);
        match op {
            BinOp::Shl | BinOp::Shr | BinOp::Sar => {
                let amt = self.operand(rhs, Repr::I32);
                let mask = if r == Repr::I64 { 63 } else { 31 };
                let masked = match rhs {
                    Operand::Const(Const::Int(n)) => V::Int(i64::from((*n as i32) & mask)),
                    _ => emit_def!(self; "and i32 ", amt, ", ", mask),
                };
                let masked = if r == Repr::I64 {
                    match rhs {
                        Operand::Const(_) => masked,
                        _ => emit_def!(self; "zext i32 ", masked, " to i64"),
                    }
                } else {
                    masked
                };
                let name = match op {
                    BinOp::Shl => "shl",
                    BinOp::Shr => "lshr",
                    _ => "ashr",
                };
                emit_finish_as!(self, res, r, rr; name, " ", r, " ", a, ", ", masked);
            }
            _ => {
                let b = self.operand(rhs, r);
                // Only steps proven free of wrap carry the flags
                // (`skc_ir::no_wrap`); IL arithmetic otherwise wraps.
                let name = match (op, no_wrap & NUW != 0, no_wrap & NSW != 0) {
                    (BinOp::Add, false, false) => "add",
                    (BinOp::Add, false, true) => "add nsw",
                    (BinOp::Add, true, false) => "add nuw",
                    (BinOp::Add, true, true) => "add nuw nsw",
                    (BinOp::Sub, false, false) => "sub",
                    (BinOp::Sub, false, true) => "sub nsw",
                    (BinOp::Sub, true, false) => "sub nuw",
                    (BinOp::Sub, true, true) => "sub nuw nsw",
                    _ => match op {
                        BinOp::Mul => "mul",
                        BinOp::Div => "sdiv",
                        BinOp::Rem => "srem",
                        BinOp::Udiv => "udiv",
                        BinOp::Urem => "urem",
                        BinOp::And => "and",
                        BinOp::Or => "or",
                        _ => "xor",
                    },
                };
                emit_finish_as!(self, res, r, rr; name, " ", r, " ", a, ", ", b);
            }
        }
    }

    fn unary(&mut self, res: &V<'a>, rr: Repr, rty: BaseType, op: UnOp, arg: &'a Operand) {
        let r = Repr::of(rty);
        let rint = r.llvm();
        match op {
            UnOp::Copy => {
                let x = self.operand(arg, rr);
                emit_line!(self; res, " = bitcast ", rr, " ", x, " to ", rr);
            }
            UnOp::Neg => {
                let x = self.operand(arg, r);
                if rty.is_float() {
                    emit_finish_as!(self, res, r, rr; "fneg ", rint, " ", x)
                } else {
                    emit_finish_as!(self, res, r, rr; "sub ", rint, " 0, ", x)
                }
            }
            UnOp::Extsb | UnOp::Extub | UnOp::Extsh | UnOp::Extuh => {
                let x = self.operand(arg, Repr::I32);
                let narrow = if matches!(op, UnOp::Extsb | UnOp::Extub) {
                    "i8"
                } else {
                    "i16"
                };
                let ext = if matches!(op, UnOp::Extsb | UnOp::Extsh) {
                    "sext"
                } else {
                    "zext"
                };
                let t = emit_def!(self; "trunc i32 ", x, " to ", narrow);
                emit_finish_as!(self, res, r, rr; ext, " ", narrow, " ", t, " to ", rint)
            }
            UnOp::Extsw | UnOp::Extuw => {
                let x = self.operand(arg, Repr::I32);
                if r == Repr::I32 {
                    emit_finish_as!(self, res, r, rr; "bitcast i32 ", x, " to i32")
                } else {
                    let ext = if op == UnOp::Extsw { "sext" } else { "zext" };
                    emit_finish_as!(self, res, r, rr; ext, " i32 ", x, " to i64")
                }
            }
            UnOp::Exts => {
                let x = self.operand(arg, Repr::F32);
                emit_finish_as!(self, res, r, rr; "fpext float ", x, " to double")
            }
            UnOp::Truncd => {
                let x = self.operand(arg, Repr::F64);
                emit_finish_as!(self, res, r, rr; "fptrunc double ", x, " to float")
            }
            UnOp::Stosi | UnOp::Stoui | UnOp::Dtosi | UnOp::Dtoui => {
                let (src, sname) = if matches!(op, UnOp::Stosi | UnOp::Stoui) {
                    (Repr::F32, "f32")
                } else {
                    (Repr::F64, "f64")
                };
                let kind = if matches!(op, UnOp::Stosi | UnOp::Dtosi) {
                    "fptosi"
                } else {
                    "fptoui"
                };
                let x = self.operand(arg, src);
                self.m.use_intrinsic(sat_decl(kind, rint, sname));
                emit_finish_as!(self, res, r, rr;
                    "call ", rint, " @llvm.", kind, ".sat.", rint, ".", sname, "(", src, " ", x, ")")
            }
            UnOp::Swtof | UnOp::Uwtof | UnOp::Sltof | UnOp::Ultof => {
                let src = if matches!(op, UnOp::Swtof | UnOp::Uwtof) {
                    Repr::I32
                } else {
                    Repr::I64
                };
                let kind = if matches!(op, UnOp::Swtof | UnOp::Sltof) {
                    "sitofp"
                } else {
                    "uitofp"
                };
                let x = self.operand(arg, src);
                emit_finish_as!(self, res, r, rr; kind, " ", src, " ", x, " to ", rint)
            }
            UnOp::Cast => {
                let src = match rty {
                    BaseType::W => Repr::F32,
                    BaseType::L => Repr::F64,
                    BaseType::S => Repr::I32,
                    BaseType::D => Repr::I64,
                };
                let x = self.operand(arg, src);
                emit_finish_as!(self, res, r, rr; "bitcast ", src, " ", x, " to ", rint)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        bi: usize,
        ii: usize,
        result: Option<Value>,
        callee: &'a Operand,
        ret: Option<AbiType>,
        env: Option<&'a Operand>,
        args: &'a [CallArg],
        variadic_from: Option<usize>,
    ) {
        let types = self.types;
        let direct = direct_callee(callee);
        let rl = ret_lowering(ret, types, l_is_ptr_at_boundary(direct, None));
        let (ret_ty, ret_attrs) = rl.llvm_type();
        let mut params: Vec<SigParam> = Vec::new();
        let mut values: Vec<V> = Vec::new();
        let slot = self.call_slots.get(&(bi, ii)).cloned();
        if let RetLowering::Sret(size, align) = rl {
            params.push(SigParam {
                ty: "ptr".into(),
                attrs: format!("sret([{size} x i8]) align {align}").into(),
            });
            values.push(slot.clone().map_or(V::Null, V::Text));
        }
        if let Some(e) = env {
            let e = self.operand(e, Repr::Ptr);
            params.push(SigParam {
                ty: "ptr".into(),
                attrs: "nest".into(),
            });
            values.push(e);
        }
        let mut budget = RegBudget::new(matches!(rl, RetLowering::Sret(..)));
        let fixed_count = variadic_from.unwrap_or(args.len());
        let mut fixed_params = 0;
        for (i, a) in args.iter().enumerate() {
            if i == fixed_count {
                fixed_params = params.len();
            }
            let own = match &a.value {
                Operand::Value(v) => self.repr[v.index()],
                Operand::Const(c) if matches!(a.ty, AbiType::Base(BaseType::L)) => {
                    if matches!(c, Const::Int(_)) {
                        Repr::I64
                    } else {
                        Repr::Ptr
                    }
                }
                Operand::Const(_) => Repr::of(a.ty.value_type()),
            };
            let repr = match a.ty {
                AbiType::Base(BaseType::L) if i < fixed_count => boundary_repr(direct, Some(i)),
                // Variadic arguments are not part of the callee's type.
                AbiType::Base(BaseType::L) if own == Repr::Ptr => Repr::Ptr,
                _ => Repr::of(a.ty.value_type()),
            };
            match arg_lowering(a.ty, repr, types, &mut budget) {
                ArgLowering::Scalar(r) => {
                    let x = self.operand(&a.value, r);
                    params.push(SigParam {
                        ty: r.llvm().into(),
                        attrs: "".into(),
                    });
                    values.push(x);
                }
                ArgLowering::SubWord(s) => {
                    let (t, attr) = subword_llvm(s);
                    let x = self.operand(&a.value, Repr::I32);
                    let x = emit_def!(self; "trunc i32 ", x, " to ", t);
                    params.push(SigParam {
                        ty: t.into(),
                        attrs: attr.into(),
                    });
                    values.push(x);
                }
                ArgLowering::Pieces(pieces, _, _) => {
                    let base = self.operand(&a.value, Repr::Ptr);
                    for p in pieces {
                        let addr = if p.offset == 0 {
                            base.clone()
                        } else {
                            self.def(format_args!(
                                "getelementptr i8, ptr {base}, i64 {}",
                                p.offset
                            ))
                        };
                        let x = self.def(format_args!("load {}, ptr {addr}, align 1", p.ty));
                        params.push(SigParam {
                            ty: p.ty.clone(),
                            attrs: "".into(),
                        });
                        values.push(x);
                    }
                }
                ArgLowering::ByVal(size, align) => {
                    let base = self.operand(&a.value, Repr::Ptr);
                    params.push(SigParam {
                        ty: "ptr".into(),
                        attrs: format!("byval([{size} x i8]) align {align}").into(),
                    });
                    values.push(base);
                }
                ArgLowering::Empty => {}
            }
        }
        if variadic_from.is_none() || fixed_count >= args.len() {
            fixed_params = params.len();
        }
        let site = Sig {
            ret: ret_ty,
            ret_attrs,
            params: params[..fixed_params].to_vec(),
            variadic: variadic_from.is_some(),
        };
        // Adapt to the signature this symbol was given first.
        let mut fixed = None;
        if let Some(name) = direct {
            self.m.reference_function(name);
            if matches!(callee, Operand::Const(Const::Extern(_))) {
                self.m.reference_extern(name);
            }
            match self.m.sig(name) {
                Some(fx) => fixed = Some(fx),
                None => self.m.fix_sig(name, &site),
            }
        }
        let use_sig: &Sig = match &fixed {
            Some(fx) if site.conforms_to(fx) => fx,
            _ => &site,
        };
        // The argument list is built aside: converting arguments may emit
        // lines before the call.
        let mut arg_list = std::mem::take(&mut self.call_args);
        arg_list.clear();
        for (k, x) in values.iter().enumerate() {
            let (ty, attrs) = if k < fixed_params {
                (&use_sig.params[k].ty, &use_sig.params[k].attrs)
            } else {
                (&params[k].ty, &params[k].attrs)
            };
            let x = match (params[k].ty.as_ref(), ty.as_ref()) {
                ("ptr", "i64") => self.convert(x, Repr::Ptr, Repr::I64),
                ("i64", "ptr") => self.convert(x, Repr::I64, Repr::Ptr),
                _ => x.clone(),
            };
            if k > 0 {
                arg_list.push_str(", ");
            }
            arg_list.push_str(ty);
            arg_list.push(' ');
            if !attrs.is_empty() {
                arg_list.push_str(attrs);
                arg_list.push(' ');
            }
            x.push_to(&mut arg_list);
        }
        // The IL lets a call pass an environment the callee does not take,
        // or leave out one it does (the `nest` register carries it outside
        // the argument list, so the machine code agrees either way), and
        // QBE accepts calls with other arguments than the callee's. LLVM
        // would take such a direct call for one of the wrong type, which
        // is undefined behaviour, so it calls through an address LLVM
        // cannot see through. (A call that comes before a definition it
        // disagrees with keeps the direct form: the text is written.) A
        // call through a pointer with an environment goes through such an
        // address too: LLVM turns a call through a pointer it knows into a
        // direct call, whose types may then disagree in the same way.
        let type_differs = match (direct, &fixed) {
            (Some(_), _) if env.is_some() => true,
            (Some(_), Some(fx)) => {
                !site.conforms_to(fx) || fx.params.first().is_some_and(|p| p.attrs == "nest")
            }
            _ => false,
        };
        let target = match direct {
            Some(name) if type_differs => {
                emit_def!(self; "call ptr asm \"\", \"=r,0\"(ptr ", V::Global(name), ")")
            }
            Some(name) => V::Global(name),
            None if env.is_some() => {
                let p = self.operand(callee, Repr::Ptr);
                emit_def!(self; "call ptr asm \"\", \"=r,0\"(ptr ", p, ")")
            }
            None => self.operand(callee, Repr::Ptr),
        };
        let mut call = std::mem::take(&mut self.call_text);
        call.clear();
        call.push_str("call ");
        call.push_str(&use_sig.ret_attrs);
        if use_sig.variadic {
            use_sig.push_fn_type(&mut call);
        } else {
            call.push_str(&use_sig.ret);
        }
        call.push(' ');
        target.push_to(&mut call);
        call.push('(');
        arg_list.push_to(&mut call);
        call.push(')');
        if direct.is_some_and(skc_ir::ir::returns_twice) {
            call.push_str(" returns_twice");
        }
        // Without it LLVM lays error paths out inside hot loops: an
        // interpreter's dispatch loop, whose stack check ends in `exit`,
        // then takes two jumps per instruction instead of one.
        if direct.is_some_and(libc::never_returns) {
            call.push_str(" cold");
        }
        self.call_args = arg_list;
        let ret_actual = match use_sig.ret.as_ref() {
            "ptr" => Repr::Ptr,
            "i64" => Repr::I64,
            _ => Repr::I32,
        };
        match (rl, result) {
            (RetLowering::Void, _) | (_, None) => emit_line!(self; call),
            (RetLowering::Sret(..), Some(r)) => {
                emit_line!(self; call);
                let s = slot.map_or(V::Null, V::Text);
                self.define_value(r, &s, Repr::Ptr);
            }
            (RetLowering::Scalar(sr), Some(r)) => {
                let have = if matches!(sr, Repr::I64 | Repr::Ptr) {
                    ret_actual
                } else {
                    sr
                };
                let t = emit_def!(self; call);
                self.define_value(r, &t, have);
            }
            (RetLowering::SubWord(s), Some(r)) => {
                let (t, _) = subword_llvm(s);
                let x = emit_def!(self; call);
                let ext = if s.is_signed() { "sext" } else { "zext" };
                let e = self.def(format_args!("{ext} {t} {x} to i32"));
                self.define_value(r, &e, Repr::I32);
            }
            (RetLowering::Pieces(pieces), Some(r)) => {
                let x = emit_def!(self; call);
                let s = slot.map_or(V::Null, V::Text);
                let n = pieces.len();
                for (k, p) in pieces.iter().enumerate() {
                    let part = if n == 1 {
                        x.clone()
                    } else {
                        self.def(format_args!(
                            "extractvalue {} {x}, {k}",
                            pieces_type(&pieces)
                        ))
                    };
                    let addr = if p.offset == 0 {
                        s.clone()
                    } else {
                        self.def(format_args!("getelementptr i8, ptr {s}, i64 {}", p.offset))
                    };
                    self.line(format_args!("store {} {part}, ptr {addr}, align 1", p.ty));
                }
                self.define_value(r, &s, Repr::Ptr);
            }
        }
        self.call_text = call;
    }

    fn define_value(&mut self, r: Value, x: &V<'a>, have: Repr) {
        let want = self.repr[r.index()];
        self.define_converted(&val(r), x, have, want);
    }

    fn terminator(&mut self, t: &'a Terminator) {
        match t {
            Terminator::Jmp(b) => emit_line!(self; "br label %", label(*b)),
            Terminator::Jnz {
                cond,
                nonzero,
                zero,
            } => {
                if nonzero == zero {
                    emit_line!(self; "br label %", label(*nonzero));
                    return;
                }
                let c = self.operand(cond, Repr::I32);
                let t = emit_def!(self; "icmp ne i32 ", c, ", 0");
                emit_line!(self; "br i1 ", t, ", label %", label(*nonzero), ", label %", label(*zero));
            }
            Terminator::Hlt => {
                self.m.use_intrinsic(TRAP);
                self.line(format_args!("call void @llvm.trap()"));
                self.line(format_args!("unreachable"));
            }
            Terminator::Ret(v) => self.ret(v.as_ref()),
        }
    }

    fn restore_stack(&mut self) {
        if self.stack_save {
            self.m.use_intrinsic(STACKRESTORE);
            self.line(format_args!("call void @llvm.stackrestore(ptr %stack)"));
        }
    }

    fn ret(&mut self, v: Option<&'a Operand>) {
        let rl = std::mem::replace(&mut self.ret, RetLowering::Void);
        match (&rl, v) {
            (RetLowering::Void, _) => {
                self.restore_stack();
                self.line(format_args!("ret void"));
            }
            (RetLowering::Scalar(r), Some(v)) => {
                let x = self.operand(v, *r);
                self.restore_stack();
                emit_line!(self; "ret ", r, " ", x);
            }
            (RetLowering::SubWord(s), Some(v)) => {
                let (t, _) = subword_llvm(*s);
                let x = self.operand(v, Repr::I32);
                let x = self.def(format_args!("trunc i32 {x} to {t}"));
                self.restore_stack();
                self.line(format_args!("ret {t} {x}"));
            }
            (RetLowering::Pieces(pieces), Some(v)) => {
                let base = self.operand(v, Repr::Ptr);
                let ty = pieces_type(pieces);
                let mut agg = V::Poison;
                let mut single = V::Poison;
                for (k, p) in pieces.iter().enumerate() {
                    let addr = if p.offset == 0 {
                        base.clone()
                    } else {
                        self.def(format_args!(
                            "getelementptr i8, ptr {base}, i64 {}",
                            p.offset
                        ))
                    };
                    let x = self.def(format_args!("load {}, ptr {addr}, align 1", p.ty));
                    if pieces.len() == 1 {
                        single = x;
                    } else {
                        agg = self.def(format_args!("insertvalue {ty} {agg}, {} {x}, {k}", p.ty));
                    }
                }
                self.restore_stack();
                let x = if pieces.len() == 1 { single } else { agg };
                self.line(format_args!("ret {ty} {x}"));
            }
            (RetLowering::Sret(size, _), Some(v)) => {
                let base = self.operand(v, Repr::Ptr);
                let dst = self.sret_name.clone().unwrap_or_else(|| "null".into());
                self.m.use_intrinsic(MEMCPY);
                self.line(format_args!(
                    "call void @llvm.memcpy.p0.p0.i64(ptr {dst}, ptr {base}, i64 {size}, i1 false)"
                ));
                self.restore_stack();
                self.line(format_args!("ret void"));
            }
            (other, None) => {
                let (ty, _) = other.llvm_type();
                self.restore_stack();
                if ty == "void" {
                    self.line(format_args!("ret void"));
                } else {
                    self.line(format_args!("ret {ty} poison"));
                }
            }
        }
        self.ret = rl;
    }
}

fn sat_decl(kind: &str, rint: &str, sname: &str) -> &'static str {
    match (kind, rint, sname) {
        ("fptosi", "i32", "f32") => "declare i32 @llvm.fptosi.sat.i32.f32(float)",
        ("fptosi", "i32", "f64") => "declare i32 @llvm.fptosi.sat.i32.f64(double)",
        ("fptosi", "i64", "f32") => "declare i64 @llvm.fptosi.sat.i64.f32(float)",
        ("fptosi", "i64", "f64") => "declare i64 @llvm.fptosi.sat.i64.f64(double)",
        ("fptoui", "i32", "f32") => "declare i32 @llvm.fptoui.sat.i32.f32(float)",
        ("fptoui", "i32", "f64") => "declare i32 @llvm.fptoui.sat.i32.f64(double)",
        ("fptoui", "i64", "f32") => "declare i64 @llvm.fptoui.sat.i64.f32(float)",
        _ => "declare i64 @llvm.fptoui.sat.i64.f64(double)",
    }
}

/// The operand as a literal or name usable directly in a phi, if it needs
/// no instruction.
fn simple_operand<'a>(arg: &'a Operand, r: Repr, repr: &[Repr]) -> Option<V<'a>> {
    match arg {
        Operand::Value(v) if repr[v.index()] == r => Some(val(*v)),
        Operand::Value(_) => None,
        Operand::Const(Const::Int(n)) => match r {
            Repr::I32 => Some(V::Int(i64::from(*n as i32))),
            Repr::I64 => Some(V::Int(*n)),
            Repr::F32 => Some(V::F32(*n as u32)),
            Repr::F64 => Some(V::F64(*n as u64)),
            Repr::Ptr if *n == 0 => Some(V::Null),
            Repr::Ptr => None,
        },
        Operand::Const(Const::Single(x)) if r == Repr::F32 => Some(V::F32(x.to_bits())),
        Operand::Const(Const::Double(x)) if r == Repr::F64 => Some(V::F64(x.to_bits())),
        Operand::Const(Const::Addr { sym, offset: 0 }) if r == Repr::Ptr => Some(V::Global(sym)),
        Operand::Const(_) => None,
    }
}

/// For each value, the stack object it certainly points into: `alloc`
/// results and aggregate call results are objects of their own; constant
/// offsets from them (`add`/`sub` of an integer constant) and copies stay
/// inside. Only used to tell blits between distinct objects apart, which
/// is exact when both are objects and their offsets keep in bounds, as
/// the IL's `blit` requires.
fn stack_bases(f: &Function, base: &mut Vec<Option<Value>>) {
    base.clear();
    base.resize(f.values.len(), None);
    for b in &f.blocks {
        for inst in &b.insts {
            let Some(r) = inst.result else { continue };
            let of = |op: &Operand, base: &Vec<Option<Value>>| match op {
                Operand::Value(v) => base[v.index()],
                Operand::Const(_) => None,
            };
            base[r.index()] = match &inst.kind {
                InstKind::Alloc { .. }
                | InstKind::Call {
                    ret: Some(AbiType::Agg(_)),
                    ..
                } => Some(r),
                InstKind::Binary {
                    op: BinOp::Add | BinOp::Sub,
                    lhs,
                    rhs: Operand::Const(Const::Int(_)),
                } => of(lhs, base),
                InstKind::Binary {
                    op: BinOp::Add,
                    lhs: Operand::Const(Const::Int(_)),
                    rhs,
                } => of(rhs, base),
                InstKind::Unary {
                    op: UnOp::Copy,
                    arg,
                } => of(arg, base),
                _ => None,
            };
        }
    }
}
