//! Running LP64 IL (pointers, `long` and `size_t` as `l`) against
//! wasm32-wasi's ILP32 C library.
//!
//! The decision is made per call: a call to a function in the prototype
//! [`table`] is adapted when the IL passes an `l` where the C parameter is
//! 32 bits wide (pointer, `int`, `long`, `size_t`), or binds an `l` result
//! where the C result is 32 bits wide. Such an `l` argument is wrapped to
//! its low 32 bits and such a result is widened (pointers and unsigned
//! values zero-extended, signed ones sign-extended), so the import has the
//! real ILP32 signature. Functions whose arguments or results C code would
//! read or write with LP64 shapes (formatted I/O, `qsort`'s comparator,
//! `strtol`'s end pointer) go to runtime shims instead. A call that passes
//! only `w` values where C expects 32-bit ones is left alone, so ILP32 IL
//! keeps calling libc directly. Calls outside the table pass IL types
//! through.
//!
//! The libc streams `stdout`, `stderr`, `stdin` are 8-byte slots holding
//! the zero-extended `FILE *` (runtime symbols `__skc_lp64_stdout`, …), so
//! both `loadl $stdout` and `loadw $stdout` read the pointer.

pub mod errno;
pub mod runtime;
pub mod stubs;
pub mod table;

use skc_ir::ir::{AbiType, BaseType, CallArg, Function, InstKind, LoadKind, Operand, UnOp};
use wasm_encoder::{Instruction, ValType};

use table::CType;

/// How one call to a C library function is adapted.
#[derive(Clone, Debug)]
pub struct CallAdaptation {
    /// The symbol actually called.
    pub symbol: &'static str,
    /// For each fixed argument, whether an `l` is wrapped to 32 bits.
    pub narrow: Vec<bool>,
    /// The instruction widening the 32-bit result to the IL's `l`.
    pub widen: Option<Instruction<'static>>,
    /// The IL calls a variadic C function without `...`: the callee still
    /// takes the hidden variadic buffer address, passed as null.
    pub empty_varargs: bool,
    /// The callee's wasm result when the IL binds none: the import must
    /// still declare it (the call site drops it).
    pub unbound_result: Option<ValType>,
}

impl CallAdaptation {
    /// Rewrites the wasm signature the call would have without adaptation
    /// into the signature of the adapted callee.
    pub fn adjust_signature(&self, params: &mut [ValType], results: &mut [ValType]) {
        for (p, &n) in params.iter_mut().zip(&self.narrow) {
            if n {
                *p = ValType::I32;
            }
        }
        if self.widen.is_some() {
            if let Some(r) = results.first_mut() {
                *r = ValType::I32;
            }
        }
    }

    /// [`CallAdaptation::adjust_signature`] for a signature that may gain
    /// the hidden variadic buffer parameter.
    pub fn adjust_params(&self, params: &mut Vec<ValType>, results: &mut Vec<ValType>) {
        self.adjust_signature(params, results);
        if self.empty_varargs {
            params.push(ValType::I32);
        }
        if results.is_empty() {
            results.extend(self.unbound_result);
        }
    }

    /// Whether fixed argument `i` is wrapped.
    pub fn narrows(&self, i: usize) -> bool {
        self.narrow.get(i).copied().unwrap_or(false)
    }
}

/// Whether an `l` argument for a `c` parameter is wrapped to 32 bits.
/// LP64 `long` stays 64 bits wide: the shims of functions taking or
/// returning `long` work on `long long`.
fn is_narrow(c: CType) -> bool {
    matches!(c, CType::Int | CType::Uint | CType::Ptr | CType::Size)
}

/// Whether an `l` in a `c` position shows the call is LP64.
fn shows_lp64(c: CType) -> bool {
    is_narrow(c) || c == CType::Long
}

/// The adaptation of a direct call to `callee`, or `None` when the call
/// is passed through unchanged.
pub fn adapt_call(
    callee: &str,
    fixed: &[CallArg],
    ret: Option<AbiType>,
    variadic: bool,
) -> Option<CallAdaptation> {
    let proto = table::lookup(callee)?;
    // A call without `...` to a variadic function is a call with no
    // variadic arguments.
    let empty_varargs = proto.variadic && !variadic;
    if (variadic && !proto.variadic) || fixed.len() != proto.params.len() {
        return None;
    }
    let mut narrow = Vec::with_capacity(fixed.len());
    let mut lp64 = false;
    for (a, &c) in fixed.iter().zip(proto.params) {
        match a.ty {
            AbiType::Base(BaseType::L) => {
                narrow.push(is_narrow(c));
                lp64 |= shows_lp64(c);
            }
            AbiType::Base(_) | AbiType::SubWord(_) => narrow.push(false),
            AbiType::Agg(_) => return None,
        }
    }
    let widen = match ret {
        Some(AbiType::Base(BaseType::L)) => {
            lp64 |= shows_lp64(proto.ret);
            match proto.ret {
                CType::Ptr | CType::Size | CType::Uint => Some(Instruction::I64ExtendI32U),
                CType::Int => Some(Instruction::I64ExtendI32S),
                _ => None,
            }
        }
        Some(AbiType::Agg(_)) => return None,
        _ => None,
    };
    let symbol = match (lp64, proto.lp64_shim) {
        (true, Some(shim)) => shim,
        _ if proto.always_shim => proto.lp64_shim.unwrap_or(proto.name),
        (true, None) => proto.name,
        (false, _) if empty_varargs => proto.name,
        (false, _) => return None,
    };
    let unbound_result = match (ret, proto.ret) {
        (Some(_), _) | (None, CType::Void) => None,
        (None, CType::Long | CType::LongLong) => Some(ValType::I64),
        (None, CType::Double) => Some(ValType::F64),
        (None, _) => Some(ValType::I32),
    };
    Some(CallAdaptation {
        symbol,
        narrow,
        widen,
        empty_varargs,
        unbound_result,
    })
}

/// For the shims of `qsort` and `bsearch`, the runtime function that
/// takes one more argument after the IL comparator: an adapter of it
/// with the C signature, which it hands the C library instead of the
/// trampoline (see [`crate::object::Object::comparator_adapter`]). The
/// comparator is the last fixed argument of both. The IL comparator stays
/// in its place, so should the file define the function it calls itself
/// (the call then goes to that definition), the extra argument is merely
/// ignored.
pub fn sort_with_adapter(shim: &str) -> Option<&'static str> {
    match shim {
        "__skc_lp64_qsort" => Some("__skc_lp64_qsort_adapted"),
        "__skc_lp64_bsearch" => Some("__skc_lp64_bsearch_adapted"),
        _ => None,
    }
}

/// The symbol IL references to a libc data object resolve to.
pub fn data_symbol(sym: &str) -> &str {
    match sym {
        "stdout" => "__skc_lp64_stdout",
        "stderr" => "__skc_lp64_stderr",
        "stdin" => "__skc_lp64_stdin",
        _ => sym,
    }
}

/// The symbol an LP64 `main(w, l)` or `main(w, l, l)` is renamed to,
/// with the wasm signature `(i32, i64, i64) -> i32` either way; the
/// runtime's `__main_argc_argv` calls it with arrays of 8-byte pointers
/// for `argv` and `envp`.
pub const LP64_MAIN: &str = "__skc_lp64_main";

/// Whether `main(w %argc, l %argv)` (or with `l %envp`) reads `argv` as
/// an array of 8-byte pointers. It does unless its body loads a 4-byte
/// word from an address computed from `argv` (IL written for 32-bit
/// pointers). A third parameter makes it LP64 in any case: wasi-libc's
/// start code passes no `envp`, the runtime's does.
pub fn main_is_lp64(f: &Function) -> bool {
    let [_, argv, rest @ ..] = f.params.as_slice() else {
        return false;
    };
    if argv.ty != AbiType::Base(BaseType::L) {
        return false;
    }
    if let [envp] = rest {
        return envp.ty == AbiType::Base(BaseType::L);
    }
    if !rest.is_empty() {
        return false;
    }
    let mut derived = vec![false; f.values.len()];
    derived[argv.value.index()] = true;
    let is_derived = |d: &[bool], op: &Operand| matches!(op, Operand::Value(v) if d[v.index()]);
    // Blocks are in reverse postorder, so one pass sees definitions
    // before uses except around loops; a second pass covers those.
    for _ in 0..2 {
        for b in &f.blocks {
            for inst in &b.insts {
                let Some(r) = inst.result else { continue };
                let from_argv = match &inst.kind {
                    InstKind::Binary { lhs, rhs, .. } => {
                        is_derived(&derived, lhs) || is_derived(&derived, rhs)
                    }
                    InstKind::Unary {
                        op: UnOp::Copy,
                        arg,
                    } => is_derived(&derived, arg),
                    _ => false,
                };
                if from_argv {
                    derived[r.index()] = true;
                }
            }
        }
    }
    !f.blocks.iter().flat_map(|b| &b.insts).any(|inst| {
        matches!(
            &inst.kind,
            InstKind::Load { kind: LoadKind::Sw | LoadKind::Uw, addr } if is_derived(&derived, addr)
        )
    })
}
