//! Promotion of stack slots to SSA values.
//!
//! C compilers that emit this IL keep every local variable in a stack slot:
//! an `alloc` in the start block, written by stores and read by loads. A
//! backend that hands the function to LLVM gets those slots promoted there;
//! one that generates code itself would leave every access in memory.
//! [`promote_slots`] turns such a slot into an SSA variable when nothing can
//! observe that it lives in memory:
//!
//! - the `alloc` is in the start block (so it runs once per call) and has a
//!   constant size;
//! - its address is used only as the address operand of loads and stores:
//!   never stored as a value, passed to a call, used in arithmetic, a phi,
//!   a comparison, a jump, `blit`, `vastart` or `vaarg`;
//! - every access has the same width, no wider than the slot: stores of
//!   one size, and loads reading that many bytes. Integers and floats of
//!   one size may mix (a structure copied as `l` pieces and read as `d`
//!   fields): the variable takes the class of the first access, and an
//!   access of the other class becomes a `cast`, provided each store's
//!   value has its store's type and no word load is extended to an `l`.
//!
//! Each store becomes a definition of a fresh variable (`copy` of the stored
//! value), each load a use of it: a `copy`, or the extension the load
//! performed (`storeb` then `loadsb` reads `extsb` of the stored word;
//! `storew` then `loadsw` into an `l` reads `extsw`). The start block
//! defines the variable as zero first, so a read that no store reaches
//! yields 0: in C such a read is of an uninitialised variable, whose value
//! is indeterminate, and zero is the deterministic choice [`crate::sema::ssa`]
//! makes for temporaries defined on some paths only. SSA form is then
//! rebuilt with [`crate::sema::ssa::construct`], and the copies the rewrite
//! introduced are propagated into their uses and removed where the types
//! allow (a `w` variable stored from an `l` keeps its `copy`, which takes
//! the low 32 bits). A slot that is stored to but never loaded from is
//! simply deleted with its stores.
//!
//! The control flow is unchanged. The work is linear in the size of the
//! function, plus the SSA construction for the promoted variables.
//!
//! Over 900 lines because of its unit tests (about 740 lines: each
//! condition a slot must meet, and what is left alone); the pass is
//! about 470.

use crate::ir::{
    for_each_use, for_each_use_mut, term_use, BaseType, Const, Function, Inst, InstKind, LoadKind,
    Operand, StoreKind, Terminator, UnOp, Value, ValueData,
};
use crate::sema::cfg::ControlFlow;
use crate::sema::ssa;

const NONE: u32 = u32::MAX;

/// What [`promote_slots`] changed in a function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Promoted {
    /// Slots removed (promoted to variables, or never read).
    pub slots: usize,
    /// Loads replaced by uses of a variable.
    pub loads: usize,
    /// Stores replaced by definitions of a variable (or dropped).
    pub stores: usize,
}

/// Promotes the function's non-escaping, uniformly accessed start-block
/// slots to SSA values (see the module doc). `f` must be as
/// [`crate::reader::ItemReader`] delivers it: normalised and in SSA form;
/// it stays so.
pub fn promote_slots(f: &mut Function) -> Promoted {
    let Some((mut slots, slot_of)) = find_candidates(f) else {
        return Promoted::default();
    };
    classify_uses(f, &mut slots, &slot_of);
    if !slots.iter().any(|s| s.promotable()) {
        return Promoted::default();
    }
    let vars = create_variables(f, &slots);
    let (done, copies) = rewrite(f, &slots, &slot_of, &vars);
    if vars.iter().any(|v| v.is_some()) {
        let cf = ControlFlow::compute(f);
        let diags = ssa::construct(f, &cf);
        // Every variable is defined at the top of the start block, which
        // dominates every use, so construction has nothing to report.
        debug_assert!(diags.is_empty(), "{diags:?}");
        propagate_copies(f, &copies);
    }
    done
}

/// The width and class of one access to a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Width {
    Byte,
    Half,
    Word,
    Long,
    Single,
    Double,
}

impl Width {
    fn of_store(kind: StoreKind) -> Width {
        match kind {
            StoreKind::B => Width::Byte,
            StoreKind::H => Width::Half,
            StoreKind::W => Width::Word,
            StoreKind::L => Width::Long,
            StoreKind::S => Width::Single,
            StoreKind::D => Width::Double,
        }
    }

    fn of_load(kind: LoadKind) -> Width {
        match kind {
            LoadKind::Sb | LoadKind::Ub => Width::Byte,
            LoadKind::Sh | LoadKind::Uh => Width::Half,
            LoadKind::Sw | LoadKind::Uw => Width::Word,
            LoadKind::L => Width::Long,
            LoadKind::S => Width::Single,
            LoadKind::D => Width::Double,
        }
    }

    fn size(self) -> u64 {
        match self {
            Width::Byte => 1,
            Width::Half => 2,
            Width::Word | Width::Single => 4,
            Width::Long | Width::Double => 8,
        }
    }

    /// The type of the variable holding what was stored.
    fn var_type(self) -> BaseType {
        match self {
            Width::Byte | Width::Half | Width::Word => BaseType::W,
            Width::Long => BaseType::L,
            Width::Single => BaseType::S,
            Width::Double => BaseType::D,
        }
    }
}

/// What the use scan learnt about one candidate slot.
struct Slot {
    alloc: Value,
    size: u64,
    /// The width of every access so far (`None` before the first).
    width: Option<Width>,
    /// Some use rules promotion out.
    escapes: bool,
    loads: usize,
    /// Accessed both as integers and as floats of one size.
    punned: bool,
    /// Some access cannot be reinterpreted with one `cast`: a store of a
    /// value of another type than the store's, or a word load extended
    /// to an `l`.
    not_castable: bool,
}

impl Slot {
    fn promotable(&self) -> bool {
        let uncastable = self.punned && self.not_castable;
        !self.escapes && !uncastable
    }

    fn access(&mut self, width: Width) {
        match self.width {
            None if width.size() <= self.size => self.width = Some(width),
            Some(w) if w == width => {}
            Some(w) if w.size() == width.size() && w.size() >= 4 => self.punned = true,
            _ => self.escapes = true,
        }
    }
}

/// The constant-size allocs of the start block, and for each value the
/// index of the slot it is the address of (`NONE` for other values).
fn find_candidates(f: &Function) -> Option<(Vec<Slot>, Vec<u32>)> {
    let start = f.blocks.first()?;
    let mut slots = Vec::new();
    let mut slot_of: Vec<u32> = Vec::new();
    for inst in &start.insts {
        let (Some(r), InstKind::Alloc { size, .. }) = (inst.result, &inst.kind) else {
            continue;
        };
        let Operand::Const(Const::Int(size)) = *size else {
            continue;
        };
        if size <= 0 || r.index() >= f.values.len() {
            continue;
        }
        if slot_of.is_empty() {
            slot_of = vec![NONE; f.values.len()];
        }
        slot_of[r.index()] = slots.len() as u32;
        slots.push(Slot {
            alloc: r,
            size: size as u64,
            width: None,
            escapes: false,
            loads: 0,
            punned: false,
            not_castable: false,
        });
    }
    (!slots.is_empty()).then_some((slots, slot_of))
}

/// The slot an operand is the address of, if any.
fn slot_index(slot_of: &[u32], op: &Operand) -> Option<usize> {
    match op {
        Operand::Value(v) => match slot_of.get(v.index()) {
            Some(&s) if s != NONE => Some(s as usize),
            _ => None,
        },
        Operand::Const(_) => None,
    }
}

/// Marks slots whose address is used other than as a load or store
/// address, and records the width of every access.
fn classify_uses(f: &Function, slots: &mut [Slot], slot_of: &[u32]) {
    let escape = |op: &Operand, slots: &mut [Slot]| {
        if let Some(s) = slot_index(slot_of, op) {
            slots[s].escapes = true;
        }
    };
    for data in &f.blocks {
        for phi in &data.phis {
            for (_, op) in &phi.args {
                escape(op, slots);
            }
        }
        for inst in &data.insts {
            match &inst.kind {
                InstKind::Load { kind, addr } => {
                    if let Some(s) = slot_index(slot_of, addr) {
                        slots[s].access(Width::of_load(*kind));
                        slots[s].loads += 1;
                        let widened = inst.result.is_some_and(|r| {
                            f.values[r.index()].ty != Width::of_load(*kind).var_type()
                        });
                        slots[s].not_castable |= widened;
                    }
                }
                InstKind::Store { kind, value, addr } => {
                    escape(value, slots);
                    if let Some(s) = slot_index(slot_of, addr) {
                        let width = Width::of_store(*kind);
                        slots[s].access(width);
                        let natural = width.var_type();
                        slots[s].not_castable |= f.operand_type(value, natural) != natural;
                    }
                }
                other => for_each_use(other, |op| escape(op, slots)),
            }
        }
        if let Some(op) = term_use(&data.term) {
            escape(op, slots);
        }
    }
}

/// A fresh variable for each promotable slot that is read (`None` for the
/// others). It takes the slot's name; the dead alloc's value loses it.
fn create_variables(f: &mut Function, slots: &[Slot]) -> Vec<Option<Value>> {
    slots
        .iter()
        .map(|slot| {
            if !slot.promotable() || slot.loads == 0 {
                return None;
            }
            let ty = slot.width.map_or(BaseType::W, Width::var_type);
            let name = std::mem::take(&mut f.values[slot.alloc.index()].name);
            let v = Value(f.values.len() as u32);
            f.values.push(ValueData { name, ty });
            Some(v)
        })
        .collect()
}

/// Where the rewrite put `copy` instructions that may be propagated: (block,
/// instruction index), in storage order.
type CopySites = Vec<(u32, u32)>;

/// Replaces promoted slots' allocs, stores and loads, and defines each
/// variable as zero at the top of the start block.
fn rewrite(
    f: &mut Function,
    slots: &[Slot],
    slot_of: &[u32],
    vars: &[Option<Value>],
) -> (Promoted, CopySites) {
    let mut done = Promoted::default();
    let mut copies = CopySites::new();
    let promoted = |op: &Operand| slot_index(slot_of, op).filter(|&s| slots[s].promotable());
    for b in 0..f.blocks.len() {
        let old = std::mem::take(&mut f.blocks[b].insts);
        let mut insts = Vec::with_capacity(old.len());
        if b == 0 {
            for var in vars.iter().flatten() {
                let var = *var;
                let pos = f.blocks[0].pos;
                copies.push((0, insts.len() as u32));
                insts.push(Inst {
                    result: Some(var),
                    kind: InstKind::Unary {
                        op: UnOp::Copy,
                        arg: zero(f.values[var.index()].ty),
                    },
                    pos,
                });
            }
        }
        for mut inst in old {
            match &mut inst.kind {
                InstKind::Alloc { .. } => {
                    let slot = inst.result.and_then(|r| promoted(&Operand::Value(r)));
                    if slot.is_some() {
                        done.slots += 1;
                        continue;
                    }
                }
                InstKind::Store { kind, value, addr } => {
                    if let Some(s) = promoted(addr) {
                        done.stores += 1;
                        let Some(var) = vars[s] else { continue };
                        let value = std::mem::replace(value, zero(BaseType::W));
                        let op = if slots[s].punned
                            && Width::of_store(*kind).var_type() != f.values[var.index()].ty
                        {
                            UnOp::Cast
                        } else {
                            copies.push((b as u32, insts.len() as u32));
                            UnOp::Copy
                        };
                        inst = Inst {
                            result: Some(var),
                            kind: InstKind::Unary { op, arg: value },
                            pos: inst.pos,
                        };
                    }
                }
                InstKind::Load { kind, addr } => {
                    if let (Some(s), Some(r)) = (promoted(addr), inst.result) {
                        done.loads += 1;
                        if let Some(var) = vars[s] {
                            let op = if slots[s].punned
                                && Width::of_load(*kind).var_type() != f.values[var.index()].ty
                            {
                                UnOp::Cast
                            } else {
                                load_conversion(*kind, f.values[r.index()].ty)
                            };
                            if op == UnOp::Copy {
                                copies.push((b as u32, insts.len() as u32));
                            }
                            inst.kind = InstKind::Unary {
                                op,
                                arg: Operand::Value(var),
                            };
                        }
                    }
                }
                _ => {}
            }
            insts.push(inst);
        }
        f.blocks[b].insts = insts;
    }
    (done, copies)
}

/// The operation that turns the stored value into what a load of `kind`
/// with a result of type `result` reads back.
fn load_conversion(kind: LoadKind, result: BaseType) -> UnOp {
    match (kind, result) {
        (LoadKind::Sb, _) => UnOp::Extsb,
        (LoadKind::Ub, _) => UnOp::Extub,
        (LoadKind::Sh, _) => UnOp::Extsh,
        (LoadKind::Uh, _) => UnOp::Extuh,
        (LoadKind::Sw, BaseType::L) => UnOp::Extsw,
        (LoadKind::Uw, BaseType::L) => UnOp::Extuw,
        _ => UnOp::Copy,
    }
}

fn zero(ty: BaseType) -> Operand {
    Operand::Const(match ty {
        BaseType::W | BaseType::L => Const::Int(0),
        BaseType::S => Const::Single(0.0),
        BaseType::D => Const::Double(0.0),
    })
}

/// Replaces the uses of the rewrite's copies by what they copy, where that
/// has the copy's type (or is a constant, which takes its context's type as
/// it did in the copy), and removes those copies.
fn propagate_copies(f: &mut Function, copies: &CopySites) {
    let mut replacement: Vec<Option<Operand>> = vec![None; f.values.len()];
    let resolve = |replacement: &[Option<Operand>], op: &Operand| -> Operand {
        let mut cur = op.clone();
        // Each replacement is final when stored (see below), so one step
        // suffices; the loop only matters if storage order were not a
        // dominator order, and is bounded all the same.
        for _ in 0..replacement.len() {
            match &cur {
                Operand::Value(v) => match replacement.get(v.index()).and_then(Option::as_ref) {
                    Some(next) => cur = next.clone(),
                    None => break,
                },
                Operand::Const(_) => break,
            }
        }
        cur
    };
    // Storage order is reverse post-order, where a definition comes before
    // the uses it dominates, so an operand's replacement is already known.
    let mut any = false;
    for &(b, i) in copies {
        let inst = &mut f.blocks[b as usize].insts[i as usize];
        let (
            Some(r),
            InstKind::Unary {
                op: UnOp::Copy,
                arg,
            },
        ) = (inst.result, &mut inst.kind)
        else {
            continue;
        };
        let resolved = resolve(&replacement, arg);
        let same_type = match &resolved {
            Operand::Const(_) => true,
            Operand::Value(v) => f.values[v.index()].ty == f.values[r.index()].ty,
        };
        if same_type {
            replacement[r.index()] = Some(resolved);
            any = true;
        } else {
            *arg = resolved;
        }
    }
    if !any {
        return;
    }
    let fix = |op: &mut Operand| {
        if let Operand::Value(v) = op {
            if replacement[v.index()].is_some() {
                *op = resolve(&replacement, op);
            }
        }
    };
    for data in &mut f.blocks {
        data.insts
            .retain(|inst| inst.result.is_none_or(|r| replacement[r.index()].is_none()));
        for phi in &mut data.phis {
            for (_, op) in &mut phi.args {
                fix(op);
            }
        }
        for inst in &mut data.insts {
            for_each_use_mut(&mut inst.kind, fix);
        }
        match &mut data.term {
            Terminator::Jnz { cond, .. } => fix(cond),
            Terminator::Ret(Some(op)) => fix(op),
            Terminator::Ret(None) | Terminator::Jmp(_) | Terminator::Hlt => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Item;
    use crate::reader::read_module;

    /// Reads the first function of `text`, promotes its slots, checks the
    /// verifier accepts the result and returns it printed.
    fn promote(text: &str) -> (String, Promoted) {
        let (m, mut f) = crate::test_support::first_function(text);
        let done = promote_slots(&mut f);
        let cf = ControlFlow::compute(&f);
        let errors = crate::sema::verify::verify(&f, &cf, &m.types);
        assert!(errors.is_empty(), "verifier: {errors:?}");
        let mut out = String::new();
        crate::lang::printer::print_item(&mut out, &Item::Function(f), &m.types).expect("prints");
        (out, done)
    }

    /// Promotes `text` and checks the printed result is `expected`.
    fn check(text: &str, expected: &str, done: Promoted) {
        let (out, got) = promote(text);
        assert_eq!(out, expected, "promoted:\n{out}");
        assert_eq!(got, done);
    }

    fn counts(slots: usize, loads: usize, stores: usize) -> Promoted {
        Promoted {
            slots,
            loads,
            stores,
        }
    }

    #[test]
    fn word_slot_becomes_the_stored_value() {
        check(
            "function w $f(w %a) {
@start
    %x =l alloc4 4
    storew %a, %x
    %y =w loadw %x
    %z =w add %y, 1
    ret %z
}
",
            "function w $f(w %a) {
@start
	%z =w add %a, 1
	ret %z
}
",
            counts(1, 1, 1),
        );
    }

    #[test]
    fn integer_and_float_accesses_of_one_size_become_casts() {
        check(
            "function d $f(l %a, s %x) {
@start
    %y =l alloc8 8
    %z =l alloc4 4
    storel %a, %y
    %d =d loadd %y
    stores %x, %z
    %w =w loadw %z
    %e =d swtof %w
    %r =d add %d, %e
    ret %r
}
",
            "function d $f(l %a, s %x) {
@start
	%d =d cast %a
	%w =w cast %x
	%e =d swtof %w
	%r =d add %d, %e
	ret %r
}
",
            counts(2, 2, 2),
        );
    }

    /// Checks that promotion leaves `text` exactly as the reader gives it.
    fn unchanged(text: &str) {
        let m = read_module(text, "t.ssa").expect("parses");
        let before = crate::lang::printer::print_module(&m);
        let (after, done) = promote(text);
        assert_eq!(after, before);
        assert_eq!(done, Promoted::default());
    }

    #[test]
    fn address_passed_to_a_call_escapes() {
        unchanged(
            "function w $f(w %a) {
@start
    %x =l alloc4 4
    storew %a, %x
    call $g(l %x)
    %y =w loadw %x
    ret %y
}
",
        );
    }

    #[test]
    fn address_stored_as_a_value_escapes() {
        unchanged(
            "function w $f(w %a, l %p) {
@start
    %x =l alloc4 4
    storew %a, %x
    storel %x, %p
    %y =w loadw %x
    ret %y
}
",
        );
    }

    #[test]
    fn address_arithmetic_escapes() {
        unchanged(
            "function w $f(w %a) {
@start
    %x =l alloc4 8
    storew %a, %x
    %q =l add %x, 4
    storew 1, %q
    %y =w loadw %x
    ret %y
}
",
        );
    }

    #[test]
    fn address_in_a_phi_blit_or_return_escapes() {
        unchanged(
            "function l $f(w %p, l %q) {
@start
    %x =l alloc8 8
    %y =l alloc8 8
    %z =l alloc8 8
    storel 1, %x
    storel 2, %y
    storel 3, %z
    blit %z, %q, 8
    jnz %p, @a, @b
@a
    jmp @b
@b
    %r =l phi @start %x, @a %q
    %v =l loadl %r
    %w =l loadl %y
    jnz %p, @c, @d
@c
    ret %y
@d
    ret %v
}
",
        );
    }

    #[test]
    fn mixed_widths_or_classes_stay_in_memory() {
        // A word read as a byte, a word stored from a long read as a
        // float, a byte store read back as a word, and a word too wide
        // for its slot.
        unchanged(
            "function w $f(w %a) {
@start
    %x =l alloc4 4
    %y =l alloc4 4
    %z =l alloc4 4
    %n =l alloc4 2
    %al =l extsw %a
    storew %a, %x
    %b =w loadub %x
    storew %al, %y
    %s =s loads %y
    %c =w stosi %s
    storeb %a, %z
    %d =w loadw %z
    storew %a, %n
    %e =w loadw %n
    %r1 =w add %b, %c
    %r2 =w add %r1, %d
    %r3 =w add %r2, %e
    ret %r3
}
",
        );
    }

    #[test]
    fn slots_outside_the_start_block_or_of_variable_size_stay() {
        unchanged(
            "function w $f(w %a, l %n) {
@start
    %v =l alloc4 %n
    storew %a, %v
@body
    %x =l alloc4 4
    storew %a, %x
    %y =w loadw %x
    %z =w loadw %v
    %r =w add %y, %z
    ret %r
}
",
        );
    }

    #[test]
    fn sub_word_loads_extend_the_stored_word() {
        check(
            "function w $f(w %a) {
@start
    %x =l alloc4 1
    %h =l alloc4 2
    storeb %a, %x
    storeh %a, %h
    %y =w loadsb %x
    %z =w loadub %x
    %u =l loadsh %h
    %v =w loaduh %h
    %s =w add %y, %z
    %t =w add %s, %v
    %w =w copy %u
    %r =w add %t, %w
    ret %r
}
",
            "function w $f(w %a) {
@start
	%y =w extsb %a
	%z =w extub %a
	%u =l extsh %a
	%v =w extuh %a
	%s =w add %y, %z
	%t =w add %s, %v
	%w =w copy %u
	%r =w add %t, %w
	ret %r
}
",
            counts(2, 4, 2),
        );
    }

    #[test]
    fn words_widen_longs_narrow_floats_copy_and_unread_slots_go() {
        // `storew` of an `l` keeps the copy that takes the low 32 bits;
        // `loadsw`/`loaduw` into an `l` extend; a slot never read is
        // deleted with its store.
        check(
            "function l $f(l %a, d %d, s %s) {
@start
    %x =l alloc4 4
    %dead =l alloc8 8
    %fd =l alloc8 8
    %fs =l alloc4 4
    storew %a, %x
    storel %a, %dead
    stored %d, %fd
    stores %s, %fs
    %y =l loadsw %x
    %z =l loaduw %x
    %e =d loadd %fd
    %g =s loads %fs
    %k =l dtosi %e
    %m =l stosi %g
    %r =l add %y, %z
    %r2 =l add %r, %k
    %r3 =l add %r2, %m
    ret %r3
}
",
            "function l $f(l %a, d %d, s %s) {
@start
	%x.1 =w copy %a
	%y =l extsw %x.1
	%z =l extuw %x.1
	%k =l dtosi %d
	%m =l stosi %s
	%r =l add %y, %z
	%r2 =l add %r, %k
	%r3 =l add %r2, %m
	ret %r3
}
",
            counts(4, 4, 4),
        );
    }

    #[test]
    fn loop_variables_get_phis_at_the_header() {
        // int i = 0, s = 0; while (i < n) { s += i; i++; } return s;
        check(
            "function w $sum(w %n) {
@start
    %i =l alloc4 4
    %s =l alloc4 4
    storew 0, %i
    storew 0, %s
@head
    %iv =w loadw %i
    %c =w csltw %iv, %n
    jnz %c, @body, @done
@body
    %sv =w loadw %s
    %iv2 =w loadw %i
    %s2 =w add %sv, %iv2
    storew %s2, %s
    %i2 =w add %iv2, 1
    storew %i2, %i
    jmp @head
@done
    %r =w loadw %s
    ret %r
}
",
            "function w $sum(w %n) {
@start
	jmp @head
@head
	%i.3 =w phi @start 0, @body %i2
	%s.3 =w phi @start 0, @body %s2
	%c =w csltw %i.3, %n
	jnz %c, @body, @done
@body
	%s2 =w add %s.3, %i.3
	%i2 =w add %i.3, 1
	jmp @head
@done
	ret %s.3
}
",
            counts(2, 4, 4),
        );
    }

    #[test]
    fn reads_no_store_reaches_give_zero() {
        // %y is never stored; %x only on one path.
        check(
            "function w $f(w %p) {
@start
    %x =l alloc4 4
    %y =l alloc4 4
    %u =w loadw %y
    jnz %p, @set, @join
@set
    storew 7, %x
@join
    %v =w loadw %x
    %r =w add %u, %v
    ret %r
}
",
            "function w $f(w %p) {
@start
	jnz %p, @set, @join
@set
	jmp @join
@join
	%x.2 =w phi @start 0, @set 7
	%r =w add 0, %x.2
	ret %r
}
",
            counts(2, 2, 1),
        );
    }

    #[test]
    fn variable_first_set_inside_a_loop_reads_zero_on_entry() {
        check(
            "function d $f(w %n) {
@start
    %x =l alloc8 8
    %i =l alloc4 4
    storew 0, %i
@head
    %iv =w loadw %i
    %c =w csltw %iv, %n
    jnz %c, @body, @done
@body
    %xv =d loadd %x
    %x2 =d add %xv, d_1.5
    stored %x2, %x
    %i2 =w add %iv, 1
    storew %i2, %i
    jmp @head
@done
    %r =d loadd %x
    ret %r
}
",
            "function d $f(w %n) {
@start
	jmp @head
@head
	%x.2 =d phi @start d_0, @body %x2
	%i.3 =w phi @start 0, @body %i2
	%c =w csltw %i.3, %n
	jnz %c, @body, @done
@body
	%x2 =d add %x.2, d_1.5
	%i2 =w add %i.3, 1
	jmp @head
@done
	ret %x.2
}
",
            counts(2, 3, 3),
        );
    }

    #[test]
    fn promoted_and_escaping_slots_side_by_side() {
        // Only %a escapes; the value loaded through %b into %a's store
        // is the one stored into %b.
        check(
            "function w $f(w %v) {
@start
    %a =l alloc4 4
    %b =l alloc4 4
    storew %v, %b
    %t =w loadw %b
    storew %t, %a
    call $g(l %a)
    %r =w loadw %a
    ret %r
}
",
            "function w $f(w %v) {
@start
	%a =l alloc4 4
	storew %v, %a
	call $g(l %a)
	%r =w loadsw %a
	ret %r
}
",
            counts(1, 1, 1),
        );
    }

    /// Runs an integer function with its slots in a zero-filled byte
    /// memory, counting block visits against a budget so random control
    /// flow always ends. Returns the result, or None when the budget runs
    /// out.
    fn run(f: &Function, p: i64) -> Option<i64> {
        let mut regs = vec![0i64; f.values.len()];
        let mut memory = vec![0u8; 4096];
        let mut next_slot = 64usize;
        if let Some(param) = f.params.first() {
            regs[param.value.index()] = p;
        }
        let norm = |x: i64, ty: BaseType| match ty {
            BaseType::W => i64::from(x as i32),
            _ => x,
        };
        let eval = |regs: &[i64], op: &Operand, ty: BaseType| match op {
            Operand::Value(v) => norm(regs[v.index()], ty),
            Operand::Const(Const::Int(i)) => norm(*i, ty),
            Operand::Const(c) => unreachable!("integer programs only: {c:?}"),
        };
        let (mut b, mut prev) = (0usize, 0usize);
        for _ in 0..200 {
            let data = &f.blocks[b];
            let incoming: Vec<(Value, i64)> = data
                .phis
                .iter()
                .map(|phi| {
                    let (_, op) = phi.args.iter().find(|(from, _)| from.index() == prev)?;
                    Some((phi.result, eval(&regs, op, f.value_type(phi.result))))
                })
                .collect::<Option<_>>()
                .expect("a phi operand per predecessor");
            for (v, x) in incoming {
                regs[v.index()] = x;
            }
            for inst in &data.insts {
                let ty = inst.result.map(|r| f.value_type(r));
                let x = match &inst.kind {
                    InstKind::Alloc { .. } => {
                        next_slot += 16;
                        (next_slot - 16) as i64
                    }
                    InstKind::Binary { op, lhs, rhs } => {
                        let ty = ty.expect("a result");
                        let (l, r) = (eval(&regs, lhs, ty), eval(&regs, rhs, ty));
                        match op {
                            crate::ir::BinOp::Add => l.wrapping_add(r),
                            crate::ir::BinOp::Sub => l.wrapping_sub(r),
                            crate::ir::BinOp::Mul => l.wrapping_mul(r),
                            crate::ir::BinOp::Xor => l ^ r,
                            other => unreachable!("{other:?}"),
                        }
                    }
                    InstKind::Unary { op, arg } => {
                        let w = eval(&regs, arg, BaseType::W);
                        match op {
                            UnOp::Copy => eval(&regs, arg, ty.expect("a result")),
                            UnOp::Extsb => i64::from(w as i8),
                            UnOp::Extub => i64::from(w as u8),
                            UnOp::Extsh => i64::from(w as i16),
                            UnOp::Extuh => i64::from(w as u16),
                            UnOp::Extsw => w,
                            UnOp::Extuw => i64::from(w as u32),
                            other => unreachable!("{other:?}"),
                        }
                    }
                    InstKind::Load { kind, addr } => {
                        let a = eval(&regs, addr, BaseType::L) as usize;
                        let n = kind.size() as usize;
                        let mut bytes = [0u8; 8];
                        bytes[..n].copy_from_slice(&memory[a..a + n]);
                        let raw = i64::from_le_bytes(bytes);
                        match kind {
                            LoadKind::Sb => i64::from(raw as i8),
                            LoadKind::Sh => i64::from(raw as i16),
                            LoadKind::Sw => i64::from(raw as i32),
                            _ => raw,
                        }
                    }
                    InstKind::Store { kind, value, addr } => {
                        let a = eval(&regs, addr, BaseType::L) as usize;
                        let v = eval(&regs, value, kind.value_type());
                        let n = kind.size() as usize;
                        memory[a..a + n].copy_from_slice(&v.to_le_bytes()[..n]);
                        continue;
                    }
                    other => unreachable!("{other:?}"),
                };
                let r = inst.result.expect("a result");
                regs[r.index()] = norm(x, f.value_type(r));
            }
            prev = b;
            match &data.term {
                Terminator::Jmp(t) => b = t.index(),
                Terminator::Jnz {
                    cond,
                    nonzero,
                    zero,
                } => {
                    b = if eval(&regs, cond, BaseType::W) != 0 {
                        nonzero.index()
                    } else {
                        zero.index()
                    }
                }
                Terminator::Ret(op) => {
                    return Some(op.as_ref().map_or(0, |op| eval(&regs, op, BaseType::W)))
                }
                Terminator::Hlt => return None,
            }
        }
        None
    }

    /// A small deterministic generator of pseudo-random numbers.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    /// IL text of a random integer function with slots of every width
    /// (one of them accessed at mixed widths, one through address
    /// arithmetic), random control flow, and loads and stores in every
    /// block.
    fn random_program(seed: u64) -> String {
        use std::fmt::Write as _;
        let mut rng = Rng(seed);
        // (alloc size, store, loads)
        let slot_kinds: [(u32, &str, &[&str]); 6] = [
            (1, "storeb", &["loadsb", "loadub"]),
            (2, "storeh", &["loadsh", "loaduh"]),
            (4, "storew", &["loadw", "loadsw", "loaduw"]),
            (8, "storel", &["loadl"]),
            // Mixed widths: stays in memory.
            (4, "storeh", &["loadw", "loadub"]),
            (4, "storew", &["loadsb", "loadw"]),
        ];
        let nslots = 3 + rng.next(4) as usize;
        let slots: Vec<usize> = (0..nslots)
            .map(|_| rng.next(slot_kinds.len() as u64) as usize)
            .collect();
        let nblocks = 1 + rng.next(6) as usize;
        let mut t = String::from("function w $f(w %p) {\n@start\n");
        for (i, &k) in slots.iter().enumerate() {
            let _ = writeln!(t, "%s{i} =l alloc8 {}", slot_kinds[k].0);
        }
        t.push_str("%e =l alloc8 8\n%e4 =l add %e, 4\njmp @b0\n");
        for b in 0..nblocks {
            let _ = writeln!(t, "@b{b}");
            // Temporaries of this block only, so every read is defined.
            let mut temps = vec!["%p".to_string()];
            for k in 0..2 + rng.next(6) {
                let name = format!("%t{b}_{k}");
                let pick = |rng: &mut Rng, temps: &[String]| match rng.next(4) {
                    0 => (rng.next(300) as i64 - 100).to_string(),
                    _ => temps[rng.next(temps.len() as u64) as usize].clone(),
                };
                match rng.next(5) {
                    0 | 1 => {
                        let s = rng.next(nslots as u64) as usize;
                        let loads = slot_kinds[slots[s]].2;
                        let load = loads[rng.next(loads.len() as u64) as usize];
                        let ty = if load == "loadl" || rng.next(3) == 0 {
                            'l'
                        } else {
                            'w'
                        };
                        let _ = writeln!(t, "{name}.v ={ty} {load} %s{s}");
                        let _ = writeln!(t, "{name} =w copy {name}.v");
                    }
                    2 => {
                        let (a, c) = (pick(&mut rng, &temps), pick(&mut rng, &temps));
                        let op = ["add", "sub", "mul", "xor"][rng.next(4) as usize];
                        let _ = writeln!(t, "{name} =w {op} {a}, {c}");
                    }
                    3 => {
                        let s = rng.next(nslots as u64) as usize;
                        let store = slot_kinds[slots[s]].1;
                        let v = pick(&mut rng, &temps);
                        if store == "storel" {
                            let _ = writeln!(t, "{name}.l =l extsw {v}\nstorel {name}.l, %s{s}");
                        } else {
                            let _ = writeln!(t, "{store} {v}, %s{s}");
                        }
                        continue;
                    }
                    _ => {
                        let addr = ["%e", "%e4"][rng.next(2) as usize];
                        if rng.next(2) == 0 {
                            let v = pick(&mut rng, &temps);
                            let _ = writeln!(t, "storew {v}, {addr}");
                            continue;
                        }
                        let _ = writeln!(t, "{name} =w loadw {addr}");
                    }
                }
                temps.push(name);
            }
            let last = temps.last().expect("at least %p").clone();
            let target = |rng: &mut Rng| rng.next(nblocks as u64);
            match rng.next(4) {
                0 => {
                    let _ = writeln!(t, "ret {last}");
                }
                1 => {
                    let _ = writeln!(t, "jmp @b{}", target(&mut rng));
                }
                _ => {
                    let (x, y) = (target(&mut rng), target(&mut rng));
                    let _ = writeln!(t, "jnz {last}, @b{x}, @b{y}");
                }
            }
        }
        t.push_str("}\n");
        t
    }

    #[test]
    fn random_programs_compute_the_same_after_promotion() {
        let (mut compared, mut promoted) = (0, 0);
        for seed in 0..2000 {
            let text = random_program(seed);
            let m = read_module(&text, "t.ssa").unwrap_or_else(|e| panic!("{e}\n{text}"));
            let Some(Item::Function(before)) = m.items.into_iter().next() else {
                panic!("a function")
            };
            let mut after = before.clone();
            promoted += promote_slots(&mut after).slots;
            let cf = ControlFlow::compute(&after);
            let errors = crate::sema::verify::verify(&after, &cf, &m.types);
            assert!(errors.is_empty(), "seed {seed}: {errors:?}\n{text}");
            for p in [0, 1, -7, 300] {
                let expected = run(&before, p);
                assert_eq!(run(&after, p), expected, "seed {seed}, p = {p}\n{text}");
                compared += usize::from(expected.is_some());
            }
        }
        assert!(compared > 2000, "only {compared} runs ended");
        assert!(promoted > 4000, "only {promoted} slots promoted");
    }

    /// `loops` loops in sequence over 20 slot variables, each loop body
    /// reading and writing every one: about 100 instructions per loop.
    fn sequential_loops(loops: u32) -> Function {
        use std::fmt::Write as _;
        let mut t = String::from("function w $f(w %n) {\n@start\n");
        for k in 0..20 {
            let _ = writeln!(t, "%s{k} =l alloc4 4\nstorew {k}, %s{k}");
        }
        for l in 0..loops {
            let _ = writeln!(t, "@h{l}\n%c =w loadw %s0\n%d =w csltw %c, %n");
            let _ = writeln!(t, "jnz %d, @b{l}, @x{l}\n@b{l}");
            for k in 0..20 {
                let next = (k + 1) % 20;
                let _ = writeln!(t, "%a =w loadw %s{k}\n%b =w loadw %s{next}");
                let _ = writeln!(t, "%a =w add %a, %b\nstorew %a, %s{k}");
            }
            let _ = writeln!(t, "jmp @h{l}\n@x{l}");
        }
        t.push_str("%r =w loadw %s1\nret %r\n}\n");
        let m = read_module(&t, "t.ssa").expect("parses");
        match m.items.into_iter().next() {
            Some(Item::Function(f)) => f,
            _ => panic!("a function"),
        }
    }

    #[test]
    fn large_function_in_linear_time() {
        let mut f = sequential_loops(500);
        let done = promote_slots(&mut f);
        assert_eq!(done.slots, 20);
        let phis: usize = f.blocks.iter().map(|b| b.phis.len()).sum();
        assert_eq!(phis, 500 * 20);
        crate::sema::cfg::testing::assert_scales_linearly(
            sequential_loops,
            |mut f| {
                promote_slots(&mut f);
            },
            125,
        );
    }
}
