//! `setjmp` and `longjmp` without exception handling: a `longjmp` unwinds
//! by returning, and a function that called `setjmp` resumes itself.
//!
//! WebAssembly cannot jump into a function that is still running, so
//! wasm32 code unwinds cooperatively (docs/wasm32-libc.md says why this
//! mechanism and not wasm exceptions or Asyncify):
//!
//! - `longjmp(buf, v)` stores `v` (1 for 0) in `buf` and makes `buf` the
//!   *pending* target: a mutable wasm global, [`PENDING_GLOBAL`], that is
//!   0 when nothing is unwinding.
//! - After every call that can reach a `longjmp` (anything but a C
//!   library function that never calls back), the caller tests the
//!   global and, if set, returns at once with zeros: the frames between
//!   the `longjmp` and its target return one by one. The code generator
//!   adds that test; no block is added for it.
//! - A function that calls `setjmp` is rewritten here, before code
//!   generation. Its `setjmp` records in the `jmp_buf` the identity of
//!   this activation (the address of a frame slot, distinct for every
//!   live activation), the site's number and the stack pointer, and
//!   returns 0. After each call that can reach a `longjmp`, a test jumps
//!   to a landing block: if the pending target was recorded by this
//!   activation, the landing clears it, restores the stack pointer and
//!   continues after the recorded `setjmp` with the `longjmp`'s value;
//!   otherwise the function returns as any other would.
//!
//! The new edges go back to the `setjmp`, so the values of the resumed
//! function are those its locals hold when the `longjmp` happens: what C
//! promises for `volatile` variables, and a valid choice for the others,
//! whose values are indeterminate. Those edges do not respect SSA
//! dominance (a value defined after a `setjmp` may be read after resuming
//! from a call that did not pass its definition), so such a function keeps
//! one wasm local per value (see [`crate::lower`]).
//!
//! The operations the rewrite needs are written as calls to the reserved
//! names in [`Intrinsic`], which the code generator expands inline.

use skc_ir::ir::{
    AbiType, BaseType, Block, CallArg, CmpOp, Const, Function, Inst, InstKind, Operand, Phi, Pos,
    Terminator, UnOp, Value,
};

/// The wasm global holding the `jmp_buf` being unwound to, or 0.
pub const PENDING_GLOBAL: &str = "__skc_longjmp_pending";

/// Byte offsets inside a `jmp_buf` (glibc's is 200 bytes on LP64, so
/// IL allocates at least that much; these use the first 16).
pub mod buf {
    /// The activation that recorded it (the address of its frame slot).
    pub const ACTIVATION: u32 = 0;
    /// The number of the `setjmp` site, from 1.
    pub const SITE: u32 = 4;
    /// The shadow stack pointer when `setjmp` was called.
    pub const STACK_POINTER: u32 = 8;
    /// The value `setjmp` returns when resumed.
    pub const VALUE: u32 = 12;
    /// The count of [`super::c_frames`] when `setjmp` was called (the
    /// runtime writes and reads it).
    pub const C_FRAMES: u32 = 16;
}

/// Refusing a `longjmp` across a C function's frame, which would go on
/// running as if its callee had returned: the runtime
/// (`runtime/longjmp_c_frames.c`) counts IL calls in progress of C
/// functions that can call IL back, the link bridge wraps such calls in
/// [`ENTER`](c_frames::ENTER) and [`LEAVE`](c_frames::LEAVE), `setjmp`
/// records the count and `longjmp` stops the program if it differs.
pub mod c_frames {
    /// `void (jmp_buf)`: records the count in a `jmp_buf`.
    pub const RECORD: &str = "__skc_sjlj_record";
    /// `void (jmp_buf)`: stops the program if the count differs.
    pub const CHECK: &str = "__skc_sjlj_check";
    /// `void (void)`: before an IL call of such a C function.
    pub const ENTER: &str = "__skc_c_enter";
    /// `void (void)`: after it.
    pub const LEAVE: &str = "__skc_c_leave";
    /// C library functions that call back into IL through a pointer and
    /// go on running after the callback returns (after LP64 adaptation,
    /// the runtime's shims of `qsort` and `bsearch`).
    pub const CALLING_BACK: &[&str] = &[
        "__skc_lp64_bsearch",
        "__skc_lp64_bsearch_adapted",
        "__skc_lp64_qsort",
        "__skc_lp64_qsort_adapted",
        "bsearch",
        "lfind",
        "lsearch",
        "qsort",
        "tdelete",
        "tfind",
        "tsearch",
        "twalk",
    ];
}

/// Calls the rewrite writes, expanded inline by the code generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intrinsic {
    /// `=w (…)`: the pending target, 0 when nothing is unwinding.
    Pending,
    /// `(l buf, l activation, w site)`: records a `setjmp`.
    Record,
    /// `=w (l activation)`: the pending target's site if this activation
    /// recorded it, else 0.
    Catch,
    /// `=w ()`: ends the unwinding (clears the pending target, restores
    /// the stack pointer it recorded) and yields the `longjmp`'s value.
    Resume,
}

impl Intrinsic {
    const ALL: [Intrinsic; 4] = [
        Intrinsic::Pending,
        Intrinsic::Record,
        Intrinsic::Catch,
        Intrinsic::Resume,
    ];

    /// Its reserved name (a `.` keeps it apart from C's names).
    pub fn name(self) -> &'static str {
        match self {
            Intrinsic::Pending => "__skc_sj.pending",
            Intrinsic::Record => "__skc_sj.record",
            Intrinsic::Catch => "__skc_sj.catch",
            Intrinsic::Resume => "__skc_sj.resume",
        }
    }

    /// The intrinsic a callee name stands for.
    pub fn from_name(name: &str) -> Option<Intrinsic> {
        if !name.starts_with("__skc_sj.") {
            return None;
        }
        Self::ALL.into_iter().find(|i| i.name() == name)
    }
}

/// Whether `name` is one of the C library's `setjmp` functions.
pub fn is_setjmp(name: &str) -> bool {
    matches!(name, "setjmp" | "_setjmp" | "sigsetjmp" | "__sigsetjmp")
}

/// Whether `name` is one of the C library's `longjmp` functions.
pub fn is_longjmp(name: &str) -> bool {
    matches!(
        name,
        "longjmp" | "_longjmp" | "siglongjmp" | "__longjmp_chk"
    )
}

/// Whether a call to `callee` (`None`: through a pointer) may return
/// with a `longjmp` unwinding.
pub fn may_unwind(callee: Option<&str>) -> bool {
    match callee {
        None => true,
        Some(name) if is_longjmp(name) => true,
        Some(name) if Intrinsic::from_name(name).is_some() || is_setjmp(name) => false,
        // `raise` runs a signal handler, which may `longjmp`, and returns
        // as soon as it is done: unwinding may pass through it.
        Some(name) => {
            !crate::wasi::libc::is_c_library_function(name)
                || c_frames::CALLING_BACK.contains(&name)
                || name == "raise"
        }
    }
}

/// The direct callee of a call, if any.
pub fn direct_callee(kind: &InstKind) -> Option<Option<&str>> {
    let InstKind::Call { callee, .. } = kind else {
        return None;
    };
    Some(match callee {
        Operand::Const(Const::Addr { sym, offset: 0 }) | Operand::Const(Const::Extern(sym)) => {
            Some(sym.as_str())
        }
        _ => None,
    })
}

/// A `setjmp` site after the rewrite.
struct Site {
    /// The block that continues after the `setjmp`.
    resumed: Block,
    /// The `setjmp`'s result, now a phi of `resumed`.
    result: Option<Value>,
}

/// Rewrites `f` if it calls `setjmp`; returns whether it did.
pub fn lower(f: &mut Function) -> bool {
    let calls_setjmp = f.blocks.iter().any(|b| {
        b.insts
            .iter()
            .any(|i| direct_callee(&i.kind).flatten().is_some_and(is_setjmp))
    });
    if !calls_setjmp {
        return false;
    }
    let pos = f.pos;
    let activation = f.add_value("sj.activation", BaseType::L);
    let land = f.add_block("sj.land", pos);
    let propagate = f.add_block("sj.propagate", pos);
    let mut sites: Vec<Site> = Vec::new();
    // Blocks that end in a test of the pending target.
    let mut tests: Vec<Block> = Vec::new();

    let original = f.blocks.len() - 2;
    for b in 0..original {
        let insts = std::mem::take(&mut f.blocks[b].insts);
        let term = std::mem::replace(&mut f.blocks[b].term, Terminator::Hlt);
        let term_pos = f.blocks[b].term_pos;
        let mut cur = b;
        for inst in insts {
            match direct_callee(&inst.kind) {
                Some(Some(name)) if is_setjmp(name) => {
                    let InstKind::Call { args, .. } = &inst.kind else {
                        unreachable!()
                    };
                    let jmp_buf = args
                        .first()
                        .map_or(Operand::Const(Const::Int(0)), |a| a.value.clone());
                    let site = sites.len() as i64 + 1;
                    f.blocks[cur].insts.push(intrinsic_call(
                        Intrinsic::Record,
                        None,
                        vec![
                            (BaseType::L, jmp_buf),
                            (BaseType::L, Operand::Value(activation)),
                            (BaseType::W, Operand::Const(Const::Int(site))),
                        ],
                        inst.pos,
                    ));
                    let resumed = f.add_block(&format!("sj.resumed.{site}"), inst.pos);
                    f.blocks[cur].term = Terminator::Jmp(resumed);
                    f.blocks[cur].term_pos = inst.pos;
                    if let Some(r) = inst.result {
                        f.blocks[resumed.index()].phis.push(Phi {
                            result: r,
                            args: vec![(Block(cur as u32), Operand::Const(Const::Int(0)))],
                            pos: inst.pos,
                        });
                    }
                    sites.push(Site {
                        resumed,
                        result: inst.result,
                    });
                    cur = resumed.index();
                }
                Some(callee) if may_unwind(callee) => {
                    let at = inst.pos;
                    f.blocks[cur].insts.push(inst);
                    let pending = f.add_value("sj.pending", BaseType::W);
                    f.blocks[cur].insts.push(intrinsic_call(
                        Intrinsic::Pending,
                        Some(pending),
                        vec![],
                        at,
                    ));
                    let next = f.add_block("sj.returned", at);
                    f.blocks[cur].term = Terminator::Jnz {
                        cond: Operand::Value(pending),
                        nonzero: land,
                        zero: next,
                    };
                    f.blocks[cur].term_pos = at;
                    tests.push(Block(cur as u32));
                    cur = next.index();
                }
                _ => f.blocks[cur].insts.push(inst),
            }
        }
        if cur != b {
            // The successors' phis now come from the last piece.
            for s in term.successors().collect::<Vec<_>>() {
                for phi in &mut f.blocks[s.index()].phis {
                    for (from, _) in &mut phi.args {
                        if from.index() == b {
                            *from = Block(cur as u32);
                        }
                    }
                }
            }
        }
        f.blocks[cur].term = term;
        f.blocks[cur].term_pos = term_pos;
    }

    // A test that no `setjmp` reaches can only see another activation's
    // target: it returns directly, which keeps the landing's cycles
    // entered through their `setjmp` alone.
    let reached = reachable_from(f, sites.iter().map(|s| s.resumed));
    for &t in &tests {
        if !reached[t.index()] {
            if let Terminator::Jnz { nonzero, .. } = &mut f.blocks[t.index()].term {
                *nonzero = propagate;
            }
        }
    }

    // The landing: is the target ours, and which site recorded it?
    let site = f.add_value("sj.site", BaseType::W);
    f.blocks[land.index()].insts.push(intrinsic_call(
        Intrinsic::Catch,
        Some(site),
        vec![(BaseType::L, Operand::Value(activation))],
        pos,
    ));
    let dispatch = f.add_block("sj.dispatch", pos);
    f.blocks[land.index()].term = Terminator::Jnz {
        cond: Operand::Value(site),
        nonzero: dispatch,
        zero: propagate,
    };
    let value = f.add_value("sj.value", BaseType::W);
    f.blocks[dispatch.index()].insts.push(intrinsic_call(
        Intrinsic::Resume,
        Some(value),
        vec![],
        pos,
    ));
    let mut from = dispatch;
    let n = sites.len();
    for (k, s) in sites.iter().enumerate() {
        let resume = f.add_block(&format!("sj.resume.{}", k + 1), pos);
        if k + 1 < n {
            let is_site = f.add_value("sj.is_site", BaseType::W);
            f.blocks[from.index()].insts.push(Inst {
                result: Some(is_site),
                kind: InstKind::Compare {
                    op: CmpOp::Eq,
                    ty: BaseType::W,
                    lhs: Operand::Value(site),
                    rhs: Operand::Const(Const::Int(k as i64 + 1)),
                },
                pos,
            });
            let next = f.add_block("sj.dispatch", pos);
            f.blocks[from.index()].term = Terminator::Jnz {
                cond: Operand::Value(is_site),
                nonzero: resume,
                zero: next,
            };
            from = next;
        } else {
            f.blocks[from.index()].term = Terminator::Jmp(resume);
        }
        if let Some(r) = s.result {
            let v = if f.value_type(r) == BaseType::L {
                let wide = f.add_value("sj.value.l", BaseType::L);
                f.blocks[resume.index()].insts.push(Inst {
                    result: Some(wide),
                    kind: InstKind::Unary {
                        op: UnOp::Extsw,
                        arg: Operand::Value(value),
                    },
                    pos,
                });
                wide
            } else {
                value
            };
            if let Some(phi) = f.blocks[s.resumed.index()].phis.first_mut() {
                phi.args.push((resume, Operand::Value(v)));
            }
        }
        f.blocks[resume.index()].term = Terminator::Jmp(s.resumed);
    }

    f.blocks[propagate.index()].term = propagation(f);
    f.blocks[0].insts.insert(
        0,
        Inst {
            result: Some(activation),
            kind: InstKind::Alloc {
                align: 4,
                size: Operand::Const(Const::Int(4)),
            },
            pos,
        },
    );
    true
}

/// How a function returns while a `longjmp` unwinds through it: with a
/// zero of its type (the caller does not look at it), or, from `main`,
/// by trapping: the target's function has returned.
fn propagation(f: &Function) -> Terminator {
    if f.name == "main" {
        return Terminator::Hlt;
    }
    let zero = match f.ret {
        None => return Terminator::Ret(None),
        Some(AbiType::Base(BaseType::S)) => Const::Single(0.0),
        Some(AbiType::Base(BaseType::D)) => Const::Double(0.0),
        Some(_) => Const::Int(0),
    };
    Terminator::Ret(Some(Operand::Const(zero)))
}

fn intrinsic_call(
    which: Intrinsic,
    result: Option<Value>,
    args: Vec<(BaseType, Operand)>,
    pos: Pos,
) -> Inst {
    Inst {
        result,
        kind: InstKind::Call {
            callee: Operand::Const(Const::Addr {
                sym: which.name().to_string(),
                offset: 0,
            }),
            ret: result.map(|_| AbiType::Base(BaseType::W)),
            env: None,
            args: args
                .into_iter()
                .map(|(ty, value)| CallArg {
                    ty: AbiType::Base(ty),
                    value,
                })
                .collect(),
            variadic_from: None,
        },
        pos,
    }
}

/// Which blocks can run after any of `starts`.
fn reachable_from(f: &Function, starts: impl Iterator<Item = Block>) -> Vec<bool> {
    let mut seen = vec![false; f.blocks.len()];
    let mut work: Vec<Block> = starts.collect();
    while let Some(b) = work.pop() {
        if std::mem::replace(&mut seen[b.index()], true) {
            continue;
        }
        work.extend(f.blocks[b.index()].term.successors());
    }
    seen
}
