//! Pointer provenance: which `l` values are lowered as LLVM `ptr`.
//!
//! IL addresses are plain `l` integers. Lowering every address through
//! `inttoptr` would hide provenance from LLVM's alias analysis, SROA and
//! vectoriser, so `l` values that carry an address are kept as `ptr` and
//! offsets become `getelementptr i8`. Two passes decide this:
//!
//! * demand (backward): a value is wanted as an address if it is used as
//!   one, or feeds (through `add`, `sub`, `copy`, phis) a value that is;
//! * plain integers (forward): an `l` is *plain* when no address can have
//!   gone into it: integer constants, values widened from 32 bits, and
//!   arithmetic, copies and phis of plain values. Parameters, call and
//!   `vaarg` results, loads from memory (except from a stack slot that
//!   never escapes and only ever holds plain values), addresses and
//!   anything computed from them are not: IL is an integer language, and
//!   `$b - $a` added to `$a` is the address of `$b`;
//! * provenance (forward): `alloc`, symbol addresses, the `env` parameter,
//!   and demanded loads, parameters and call results are pointers; `add` of
//!   one pointer and a plain integer, `sub` of a plain integer from a
//!   pointer, and copies and phis of pointers stay pointers (a
//!   `getelementptr` tells LLVM the result stays inside the pointer's
//!   object, which only a plain offset guarantees). Everything else is an
//!   integer, and conversions happen at the few uses where the two views
//!   meet: an address computed from a non-plain offset becomes `inttoptr`,
//!   a pointer that may point anywhere.

use skc_ir::ir::{
    for_each_use, term_use, BaseType, BinOp, Const, Function, InstKind, LoadKind, Operand,
    StoreKind, UnOp, Value,
};

/// How a value is represented in LLVM IR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Repr {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `ptr`
    Ptr,
    /// `float`
    F32,
    /// `double`
    F64,
}

impl Repr {
    /// The integer or float representation of a base type.
    pub fn of(ty: BaseType) -> Repr {
        match ty {
            BaseType::W => Repr::I32,
            BaseType::L => Repr::I64,
            BaseType::S => Repr::F32,
            BaseType::D => Repr::F64,
        }
    }

    /// The LLVM type name.
    pub fn llvm(self) -> &'static str {
        match self {
            Repr::I32 => "i32",
            Repr::I64 => "i64",
            Repr::Ptr => "ptr",
            Repr::F32 => "float",
            Repr::F64 => "double",
        }
    }
}

/// What the analysis needs to know about callees.
pub trait CalleeInfo {
    /// Whether the `index`th argument of a call to `callee` is a pointer in
    /// the callee's known signature.
    fn param_is_ptr(&self, callee: &Operand, index: usize) -> bool;
    /// Whether a call to `callee` returns a `ptr`.
    fn returns_ptr(&self, callee: &Operand) -> bool;
}

/// The result: a representation per value, and which values are used as
/// addresses. Kept from one function to the next, so that its vectors
/// (and the analysis's working space) are allocated once per module.
#[derive(Default)]
pub struct Reprs {
    /// Indexed by value.
    pub repr: Vec<Repr>,
    /// Indexed by value: wanted as an address somewhere.
    pub demanded: Vec<bool>,
    /// Indexed by parameter: used as `ptr` in the body.
    pub param_ptr: Vec<bool>,
    is_alloc: Vec<bool>,
    slot_loads: Vec<(usize, usize)>,
    slot_stores: Vec<(usize, usize)>,
    slot_demanded: Vec<bool>,
    /// Indexed by value: no address can have gone into it.
    pub plain: Vec<bool>,
    /// Indexed by value: an `alloc` whose address is only ever the
    /// address operand of loads and stores.
    private_slot: Vec<bool>,
}

fn is_addr_const(op: &Operand) -> bool {
    matches!(
        op,
        Operand::Const(
            Const::Addr { .. } | Const::Thread(_) | Const::Extern(_) | Const::ExternThread(_)
        )
    )
}

/// Decides the representation of every value of `f` into `out`.
/// `param_ptr` says, given which values are wanted as addresses, which
/// parameters arrive as `ptr` (fills one flag per `f.params`).
pub fn analyse(
    f: &Function,
    param_ptr: impl FnOnce(&[bool], &mut Vec<bool>),
    callees: &dyn CalleeInfo,
    out: &mut Reprs,
) {
    let n = f.values.len();
    let mut demanded = std::mem::take(&mut out.demanded);
    demanded.clear();
    demanded.resize(n, false);
    let mark = |d: &mut Vec<bool>, op: &Operand| {
        if let Operand::Value(v) = op {
            if f.value_type(*v) == BaseType::L {
                d[v.index()] = true;
            }
        }
    };
    for b in &f.blocks {
        for inst in &b.insts {
            match &inst.kind {
                InstKind::Load { addr, .. } | InstKind::Store { addr, .. } => {
                    mark(&mut demanded, addr)
                }
                InstKind::Blit { src, dst, .. } => {
                    mark(&mut demanded, src);
                    mark(&mut demanded, dst);
                }
                InstKind::VaStart { ap } | InstKind::VaArg { ap } => mark(&mut demanded, ap),
                InstKind::Call { callee, args, .. } => {
                    mark(&mut demanded, callee);
                    for (i, a) in args.iter().enumerate() {
                        if callees.param_is_ptr(callee, i) {
                            mark(&mut demanded, &a.value);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // Stack slots (allocs) hold pointers too: when a load from a slot is
    // wanted as an address, so are the values stored into it.
    let mut is_alloc = std::mem::take(&mut out.is_alloc);
    is_alloc.clear();
    is_alloc.resize(n, false);
    for b in &f.blocks {
        for inst in &b.insts {
            if let (Some(r), InstKind::Alloc { .. }) = (inst.result, &inst.kind) {
                is_alloc[r.index()] = true;
            }
        }
    }
    let slot = |op: &Operand| match op {
        Operand::Value(v) if is_alloc[v.index()] => Some(v.index()),
        _ => None,
    };
    let mut slot_loads = std::mem::take(&mut out.slot_loads);
    let mut slot_stores = std::mem::take(&mut out.slot_stores);
    slot_loads.clear();
    slot_stores.clear();
    for b in &f.blocks {
        for inst in &b.insts {
            match &inst.kind {
                InstKind::Load {
                    kind: LoadKind::L,
                    addr,
                } => {
                    if let (Some(s), Some(r)) = (slot(addr), inst.result) {
                        slot_loads.push((s, r.index()));
                    }
                }
                InstKind::Store {
                    kind: StoreKind::L,
                    value: Operand::Value(v),
                    addr,
                } => {
                    if let Some(s) = slot(addr) {
                        slot_stores.push((s, v.index()));
                    }
                }
                _ => {}
            }
        }
    }
    let mut slot_demanded = std::mem::take(&mut out.slot_demanded);
    slot_demanded.clear();
    slot_demanded.resize(n, false);
    // Propagate demand backwards through address arithmetic until stable.
    loop {
        let mut changed = false;
        // Every access of a pointer slot uses `ptr`, so SROA promotes it
        // to a pointer rather than an integer.
        for &(s, r) in slot_loads.iter().chain(&slot_stores) {
            if demanded[r] {
                slot_demanded[s] = true;
            }
        }
        for &(s, v) in slot_loads.iter().chain(&slot_stores) {
            if slot_demanded[s] && !demanded[v] {
                demanded[v] = true;
                changed = true;
            }
        }
        for b in f.blocks.iter().rev() {
            for inst in b.insts.iter().rev() {
                let Some(r) = inst.result else { continue };
                if !demanded[r.index()] {
                    continue;
                }
                let sources: [Option<&Operand>; 2] = match &inst.kind {
                    InstKind::Binary {
                        op: BinOp::Add,
                        lhs,
                        rhs,
                    } => [Some(lhs), Some(rhs)],
                    InstKind::Binary {
                        op: BinOp::Sub,
                        lhs,
                        ..
                    } => [Some(lhs), None],
                    InstKind::Unary {
                        op: UnOp::Copy,
                        arg,
                    } => [Some(arg), None],
                    _ => [None, None],
                };
                for s in sources.into_iter().flatten() {
                    if let Operand::Value(v) = s {
                        if f.value_type(*v) == BaseType::L && !demanded[v.index()] {
                            demanded[v.index()] = true;
                            changed = true;
                        }
                    }
                }
            }
            for phi in &b.phis {
                if demanded[phi.result.index()] {
                    for (_, a) in &phi.args {
                        if let Operand::Value(v) = a {
                            if f.value_type(*v) == BaseType::L && !demanded[v.index()] {
                                demanded[v.index()] = true;
                                changed = true;
                            }
                        }
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }

    let mut private_slot = std::mem::take(&mut out.private_slot);
    let mut plain = std::mem::take(&mut out.plain);
    find_plain(f, &is_alloc, &mut private_slot, &mut plain);

    let mut param_flags = std::mem::take(&mut out.param_ptr);
    param_flags.clear();
    param_ptr(&demanded, &mut param_flags);
    let param_ptr = param_flags;
    let mut repr = std::mem::take(&mut out.repr);
    repr.clear();
    repr.extend(f.values.iter().map(|v| Repr::of(v.ty)));
    let is_l = |v: Value| f.value_type(v) == BaseType::L;
    if let Some(e) = f.env {
        repr[e.index()] = Repr::Ptr;
    }
    for (p, &ptr) in f.params.iter().zip(&param_ptr) {
        if is_l(p.value) && (ptr || demanded[p.value.index()]) {
            repr[p.value.index()] = Repr::Ptr;
        }
    }
    // Optimistic start for values wanted as addresses that are computed
    // from other values (phis, offsets, copies): pointer until an input
    // says otherwise, so loop-carried pointers (`%p1 = add %p, 8` feeding
    // the phi `%p`) can stay pointers.
    for b in &f.blocks {
        for phi in &b.phis {
            if is_l(phi.result) && demanded[phi.result.index()] {
                repr[phi.result.index()] = Repr::Ptr;
            }
        }
        for inst in &b.insts {
            let derived = matches!(
                inst.kind,
                InstKind::Binary {
                    op: BinOp::Add | BinOp::Sub,
                    ..
                } | InstKind::Unary { op: UnOp::Copy, .. }
            );
            if let Some(r) = inst.result {
                if derived && is_l(r) && demanded[r.index()] {
                    repr[r.index()] = Repr::Ptr;
                }
            }
        }
    }
    // The rules are not monotone (`add` of two pointers is an integer), so
    // bound the rounds; any assignment is correct, conversions are
    // inserted wherever representations meet.
    for _round in 0..32 {
        let mut changed = false;
        let ptr_op = |repr: &Vec<Repr>, op: &Operand| match op {
            Operand::Value(v) => repr[v.index()] == Repr::Ptr,
            Operand::Const(_) => is_addr_const(op),
        };
        let plain_op = |op: &Operand| match op {
            Operand::Value(v) => plain[v.index()],
            Operand::Const(c) => matches!(c, Const::Int(_)),
        };
        for b in &f.blocks {
            for phi in &b.phis {
                let r = phi.result;
                if !is_l(r) {
                    continue;
                }
                let all = phi.args.iter().all(|(_, a)| match a {
                    Operand::Value(v) => repr[v.index()] == Repr::Ptr,
                    Operand::Const(Const::Int(_)) => true,
                    Operand::Const(_) => is_addr_const(a),
                });
                let any = phi.args.iter().any(|(_, a)| ptr_op(&repr, a));
                let new = if all && any { Repr::Ptr } else { Repr::I64 };
                if repr[r.index()] != new {
                    repr[r.index()] = new;
                    changed = true;
                }
            }
            for inst in &b.insts {
                let Some(r) = inst.result else { continue };
                if !is_l(r) {
                    continue;
                }
                let d = demanded[r.index()];
                let ptr = match &inst.kind {
                    InstKind::Alloc { .. } => true,
                    InstKind::Load { .. } | InstKind::VaArg { .. } => d,
                    InstKind::Call { callee, ret, .. } => {
                        matches!(ret, Some(skc_ir::ir::AbiType::Agg(_)))
                            || d
                            || callees.returns_ptr(callee)
                    }
                    InstKind::Unary {
                        op: UnOp::Copy,
                        arg,
                    } => match arg {
                        Operand::Value(_) => ptr_op(&repr, arg),
                        Operand::Const(Const::Int(_)) => false,
                        Operand::Const(_) => is_addr_const(arg),
                    },
                    InstKind::Binary {
                        op: BinOp::Add,
                        lhs,
                        rhs,
                    } => {
                        (ptr_op(&repr, lhs) && plain_op(rhs))
                            || (ptr_op(&repr, rhs) && plain_op(lhs))
                    }
                    InstKind::Binary {
                        op: BinOp::Sub,
                        lhs,
                        rhs,
                    } => ptr_op(&repr, lhs) && plain_op(rhs),
                    _ => false,
                };
                let new = if ptr { Repr::Ptr } else { Repr::I64 };
                if repr[r.index()] != new {
                    repr[r.index()] = new;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    *out = Reprs {
        repr,
        demanded,
        param_ptr,
        is_alloc,
        slot_loads,
        slot_stores,
        slot_demanded,
        plain,
        private_slot,
    };
}

/// Marks in `plain` the values no address can have gone into (see the
/// module doc). Starts from "plain" and takes it away from the sources of
/// addresses and everything they reach, so loop-carried integers stay
/// plain; `private_slot` is working space.
fn find_plain(
    f: &Function,
    is_alloc: &[bool],
    private_slot: &mut Vec<bool>,
    plain: &mut Vec<bool>,
) {
    let n = f.values.len();
    // A slot is private when its address is never anything but the
    // address operand of a load or store.
    private_slot.clear();
    private_slot.extend_from_slice(is_alloc);
    let escape = |op: &Operand, private_slot: &mut Vec<bool>| {
        if let Operand::Value(v) = op {
            private_slot[v.index()] = false;
        }
    };
    for b in &f.blocks {
        for phi in &b.phis {
            for (_, a) in &phi.args {
                escape(a, private_slot);
            }
        }
        for inst in &b.insts {
            match &inst.kind {
                InstKind::Load { .. } => {}
                InstKind::Store { value, .. } => escape(value, private_slot),
                kind => for_each_use(kind, |op| escape(op, private_slot)),
            }
        }
        if let Some(op) = term_use(&b.term) {
            escape(op, private_slot);
        }
    }
    plain.clear();
    plain.resize(n, true);
    let is_l = |v: Value| f.value_type(v) == BaseType::L;
    for p in &f.params {
        if is_l(p.value) {
            plain[p.value.index()] = false;
        }
    }
    if let Some(e) = f.env {
        plain[e.index()] = false;
    }
    let plain_op = |plain: &[bool], op: &Operand| match op {
        Operand::Value(v) => plain[v.index()],
        Operand::Const(c) => matches!(c, Const::Int(_)),
    };
    loop {
        let mut changed = false;
        for b in &f.blocks {
            for phi in &b.phis {
                let r = phi.result.index();
                if plain[r] && is_l(phi.result) && !phi.args.iter().all(|(_, a)| plain_op(plain, a))
                {
                    plain[r] = false;
                    changed = true;
                }
            }
            for inst in &b.insts {
                match &inst.kind {
                    // A store into a private slot of something that may be
                    // an address makes the slot's loads non-plain.
                    InstKind::Store {
                        kind,
                        value,
                        addr: Operand::Value(slot),
                    } if private_slot[slot.index()] && plain[slot.index()] => {
                        let keeps = match kind {
                            StoreKind::L => plain_op(plain, value),
                            StoreKind::B | StoreKind::H | StoreKind::W => true,
                            // Bits of a float can be read back as an `l`.
                            StoreKind::S | StoreKind::D => false,
                        };
                        if !keeps {
                            plain[slot.index()] = false;
                            changed = true;
                        }
                    }
                    _ => {}
                }
                let Some(r) = inst.result else { continue };
                if !plain[r.index()] || !is_l(r) {
                    continue;
                }
                let keeps = match &inst.kind {
                    // A private slot's address never flows as a value, so
                    // its flag stands for its contents: cleared by a store
                    // of something that may be an address.
                    InstKind::Alloc { .. } => private_slot[r.index()],
                    InstKind::Binary { lhs, rhs, .. } => {
                        plain_op(plain, lhs) && plain_op(plain, rhs)
                    }
                    InstKind::Unary { op, arg } => match op {
                        UnOp::Copy | UnOp::Neg => plain_op(plain, arg),
                        // From 32 bits, or from a float's value.
                        UnOp::Extsw
                        | UnOp::Extuw
                        | UnOp::Extsb
                        | UnOp::Extub
                        | UnOp::Extsh
                        | UnOp::Extuh
                        | UnOp::Stosi
                        | UnOp::Stoui
                        | UnOp::Dtosi
                        | UnOp::Dtoui => true,
                        // A float's bits may be an address's.
                        _ => matches!(arg, Operand::Const(_)),
                    },
                    InstKind::Compare { .. } => true,
                    // The slot's own flag says whether every value stored
                    // into it was plain.
                    InstKind::Load { kind, addr } => match kind {
                        LoadKind::L => matches!(
                            addr,
                            Operand::Value(s) if private_slot[s.index()] && plain[s.index()]
                        ),
                        _ => true,
                    },
                    _ => false,
                };
                if !keeps {
                    plain[r.index()] = false;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}
