//! Splitting a structure's stack slot into one slot per field.
//!
//! C front ends keep a local structure in one start-block `alloc`, read
//! and written field by field at constant offsets (`add %s, 8`) and copied
//! whole with `blit`. [`crate::transform::promote`] only promotes slots accessed at
//! their start with one width, so such a slot would stay in memory.
//! [`split_slots`] turns it into one slot per field when nothing else can
//! see the bytes:
//!
//! - the slot's address is used only as a load or store address, at
//!   constant offsets (directly or through one `add` of a constant whose
//!   result is only used so), or as either end of a `blit` of at most
//!   [`MAX_BYTES`];
//! - the accesses do not overlap: every access starting at one offset
//!   has the same size, and none reaches into the next.
//!
//! Each `blit` touching such a slot first becomes loads of all its bytes
//! followed by stores of them, in pieces that follow the slot's fields
//! (or of 8, 4, 2 and 1 bytes where the fields do not tile the copy);
//! both ends may be such slots, or one end any address. Every access then
//! goes to the slot of its field, which [`crate::transform::promote`] can promote.

use crate::ir::{
    for_each_use, term_use, BaseType, BinOp, Const, Function, Inst, InstKind, LoadKind, Operand,
    StoreKind, Value,
};

/// Slots and copies larger than this are left alone.
pub const MAX_BYTES: u64 = 64;

const NONE: u32 = u32::MAX;

/// Splits the function's structure slots into field slots (see the module
/// doc). Returns the number of slots split. `f` must be normalised and in
/// SSA form; it stays so.
pub fn split_slots(f: &mut Function) -> usize {
    let Some(mut scan) = Scan::new(f) else {
        return 0;
    };
    scan.classify(f);
    if !scan.slots.iter().any(|s| s.splits()) {
        return 0;
    }
    if expand_blits(f, &scan) {
        let Some(rescan) = Scan::new(f) else {
            return 0;
        };
        scan = rescan;
        scan.classify(f);
    }
    rewrite(f, &scan)
}

/// One candidate slot.
struct Slot {
    alloc: Value,
    size: u64,
    align: u32,
    /// (offset, size) of each load and store, in program order.
    accesses: Vec<(u64, u64)>,
    blits: usize,
    /// An access through an `add` (without one the slot is promoted as
    /// it is, or not at all).
    offset_accesses: usize,
    escapes: bool,
}

impl Slot {
    /// Whether the slot can be split and splitting changes something.
    fn splits(&self) -> bool {
        !self.escapes && (self.blits > 0 || self.offset_accesses > 0)
    }

    /// The fields, (offset, size) in offset order, if the accesses do not
    /// overlap.
    fn fields(&self) -> Option<Vec<(u64, u64)>> {
        let mut fields = self.accesses.clone();
        fields.sort_unstable();
        fields.dedup();
        for pair in fields.windows(2) {
            let ((o1, s1), (o2, _)) = (pair[0], pair[1]);
            if o1 + s1 > o2 {
                return None;
            }
        }
        Some(fields)
    }
}

/// Which values are the address of a candidate slot plus a constant.
struct Scan {
    slots: Vec<Slot>,
    /// Per value: (slot, offset) it addresses, or (`NONE`, _).
    address: Vec<(u32, u64)>,
}

impl Scan {
    fn new(f: &Function) -> Option<Scan> {
        let mut address = Vec::new();
        let mut slots = Vec::new();
        for inst in &f.blocks.first()?.insts {
            let (
                Some(r),
                InstKind::Alloc {
                    size: Operand::Const(Const::Int(size)),
                    align,
                },
            ) = (inst.result, &inst.kind)
            else {
                continue;
            };
            if *size <= 0 || *size as u64 > MAX_BYTES {
                continue;
            }
            if address.is_empty() {
                address = vec![(NONE, 0); f.values.len()];
            }
            address[r.index()] = (slots.len() as u32, 0);
            slots.push(Slot {
                alloc: r,
                size: *size as u64,
                align: *align,
                accesses: Vec::new(),
                blits: 0,
                offset_accesses: 0,
                escapes: false,
            });
        }
        if slots.is_empty() {
            return None;
        }
        // Addresses inside a slot: `add` of a slot's own address and a
        // constant within it.
        for data in &f.blocks {
            for inst in &data.insts {
                let (
                    Some(r),
                    InstKind::Binary {
                        op: BinOp::Add,
                        lhs,
                        rhs,
                    },
                ) = (inst.result, &inst.kind)
                else {
                    continue;
                };
                let (base, c) = match (lhs, rhs) {
                    (Operand::Value(v), Operand::Const(Const::Int(c)))
                    | (Operand::Const(Const::Int(c)), Operand::Value(v)) => (*v, *c),
                    _ => continue,
                };
                let (s, 0) = address[base.index()] else {
                    continue;
                };
                if s != NONE
                    && f.values[r.index()].ty == BaseType::L
                    && (0..slots[s as usize].size as i64).contains(&c)
                {
                    address[r.index()] = (s, c as u64);
                }
            }
        }
        Some(Scan { slots, address })
    }

    fn at(&self, op: &Operand) -> Option<(usize, u64)> {
        match op {
            Operand::Value(v) => match self.address.get(v.index()) {
                Some(&(s, o)) if s != NONE => Some((s as usize, o)),
                _ => None,
            },
            Operand::Const(_) => None,
        }
    }

    fn escape(&mut self, op: &Operand) {
        if let Some((s, _)) = self.at(op) {
            self.slots[s].escapes = true;
        }
    }

    fn access(&mut self, addr: &Operand, size: u64) {
        if let Some((s, o)) = self.at(addr) {
            let slot = &mut self.slots[s];
            if o + size > slot.size {
                slot.escapes = true;
            }
            slot.accesses.push((o, size));
            if o != 0 || !matches!(addr, Operand::Value(v) if *v == slot.alloc) {
                slot.offset_accesses += 1;
            }
        }
    }

    fn blit_end(&mut self, op: &Operand, size: u64) {
        if let Some((s, o)) = self.at(op) {
            let slot = &mut self.slots[s];
            if o + size > slot.size || size > MAX_BYTES {
                slot.escapes = true;
            }
            slot.blits += 1;
        }
    }

    /// Records every access and marks the slots whose address escapes.
    fn classify(&mut self, f: &Function) {
        for data in &f.blocks {
            for phi in &data.phis {
                for (_, op) in &phi.args {
                    self.escape(op);
                }
            }
            for inst in &data.insts {
                match &inst.kind {
                    InstKind::Load { kind, addr } => self.access(addr, kind.size().into()),
                    InstKind::Store { kind, value, addr } => {
                        self.escape(value);
                        self.access(addr, kind.size().into());
                    }
                    InstKind::Blit { src, dst, size } => {
                        self.blit_end(src, *size);
                        self.blit_end(dst, *size);
                    }
                    // The definition of an address inside a slot.
                    InstKind::Binary { op: BinOp::Add, .. }
                        if inst
                            .result
                            .is_some_and(|r| self.address[r.index()].0 != NONE) => {}
                    other => for_each_use(other, |op| self.escape(op)),
                }
            }
            if let Some(op) = term_use(&data.term) {
                self.escape(op);
            }
        }
    }
}

/// The pieces a copy of `size` bytes is made in: the fields of a
/// splittable end when they tile the copied range, else the largest
/// power-of-two pieces (up to 8) the offset allows.
fn pieces(scan: &Scan, ends: [&Operand; 2], size: u64) -> Vec<(u64, u64)> {
    for end in ends {
        let Some((s, o)) = scan.at(end) else { continue };
        let slot = &scan.slots[s];
        if !slot.splits() {
            continue;
        }
        let Some(fields) = slot.fields() else {
            continue;
        };
        let inside: Vec<(u64, u64)> = fields
            .iter()
            .filter(|&&(fo, fs)| fo >= o && fo + fs <= o + size)
            .map(|&(fo, fs)| (fo - o, fs))
            .collect();
        let mut at = 0;
        let tiles = inside.iter().all(|&(po, ps)| {
            let ok = po == at;
            at += ps;
            ok
        }) && at == size;
        if tiles && !inside.is_empty() {
            return inside;
        }
    }
    let mut out = Vec::new();
    let mut at = 0;
    while at < size {
        let piece = [8, 4, 2, 1]
            .into_iter()
            .find(|&p| at % p == 0 && at + p <= size)
            .expect("1 always fits");
        out.push((at, piece));
        at += piece;
    }
    out
}

fn piece_kinds(size: u64) -> (LoadKind, StoreKind, BaseType) {
    match size {
        8 => (LoadKind::L, StoreKind::L, BaseType::L),
        4 => (LoadKind::Uw, StoreKind::W, BaseType::W),
        2 => (LoadKind::Uh, StoreKind::H, BaseType::W),
        _ => (LoadKind::Ub, StoreKind::B, BaseType::W),
    }
}

/// Replaces each `blit` with an end in a splittable slot by loads then
/// stores. Returns whether any changed.
fn expand_blits(f: &mut Function, scan: &Scan) -> bool {
    let splittable = |op: &Operand| scan.at(op).is_some_and(|(s, _)| scan.slots[s].splits());
    let mut changed = false;
    for b in 0..f.blocks.len() {
        let has_blit = f.blocks[b].insts.iter().any(|inst| {
            matches!(&inst.kind, InstKind::Blit { src, dst, .. } if splittable(src) || splittable(dst))
        });
        if !has_blit {
            continue;
        }
        changed = true;
        let old = std::mem::take(&mut f.blocks[b].insts);
        let mut insts = Vec::with_capacity(old.len() + 8);
        for inst in old {
            let InstKind::Blit { src, dst, size } = &inst.kind else {
                insts.push(inst);
                continue;
            };
            if !(splittable(src) || splittable(dst)) {
                insts.push(inst);
                continue;
            }
            let pos = inst.pos;
            let parts = pieces(scan, [dst, src], *size);
            let mut loaded = Vec::with_capacity(parts.len());
            for &(o, n) in &parts {
                let (load, _, ty) = piece_kinds(n);
                let addr = offset_address(f, &mut insts, src, o, pos);
                let v = f.add_value("", ty);
                insts.push(Inst {
                    result: Some(v),
                    kind: InstKind::Load { kind: load, addr },
                    pos,
                });
                loaded.push(v);
            }
            for (&(o, n), v) in parts.iter().zip(loaded) {
                let (_, store, _) = piece_kinds(n);
                let addr = offset_address(f, &mut insts, dst, o, pos);
                insts.push(Inst {
                    result: None,
                    kind: InstKind::Store {
                        kind: store,
                        value: Operand::Value(v),
                        addr,
                    },
                    pos,
                });
            }
        }
        f.blocks[b].insts = insts;
    }
    if changed {
        name_unnamed(f);
    }
    changed
}

/// `base + offset` as an operand, adding the `add` to `insts` if needed.
fn offset_address(
    f: &mut Function,
    insts: &mut Vec<Inst>,
    base: &Operand,
    offset: u64,
    pos: crate::ir::Pos,
) -> Operand {
    if offset == 0 {
        return base.clone();
    }
    if let Operand::Const(Const::Addr { sym, offset: o }) = base {
        return Operand::Const(Const::Addr {
            sym: sym.clone(),
            offset: o + offset as i64,
        });
    }
    let v = f.add_value("", BaseType::L);
    insts.push(Inst {
        result: Some(v),
        kind: InstKind::Binary {
            op: BinOp::Add,
            lhs: base.clone(),
            rhs: Operand::Const(Const::Int(offset as i64)),
        },
        pos,
    });
    Operand::Value(v)
}

/// Gives the values this pass created names no other value has.
fn name_unnamed(f: &mut Function) {
    let mut n = 0u64;
    let taken: std::collections::HashSet<crate::ir::Name> =
        f.values.iter().map(|v| v.name.clone()).collect();
    for v in &mut f.values {
        if v.name.is_empty() {
            v.name = loop {
                n += 1;
                let name = compact_str::format_compact!("split.{n}");
                if !taken.contains(&name) {
                    break name;
                }
            };
        }
    }
}

/// Gives each field of each splittable slot a slot of its own and points
/// its accesses there. Returns the number of slots split.
fn rewrite(f: &mut Function, scan: &Scan) -> usize {
    // Per slot: the field slots, by offset.
    let mut field_slots: Vec<Vec<(u64, Value)>> = vec![Vec::new(); scan.slots.len()];
    let mut new_allocs = Vec::new();
    let mut split = 0;
    for (s, slot) in scan.slots.iter().enumerate() {
        if !slot.splits() || slot.blits > 0 {
            continue;
        }
        let Some(fields) = slot.fields() else {
            continue;
        };
        split += 1;
        let base = f.values[slot.alloc.index()].name.clone();
        for (o, n) in fields {
            let v = f.add_value(&format!("{base}.f{o}"), BaseType::L);
            let align = if n >= 8 && slot.align >= 8 && o % 8 == 0 {
                8
            } else {
                4
            };
            new_allocs.push(Inst {
                result: Some(v),
                kind: InstKind::Alloc {
                    align,
                    size: Operand::Const(Const::Int(n as i64)),
                },
                pos: f.blocks[0].pos,
            });
            field_slots[s].push((o, v));
        }
    }
    if split == 0 {
        return 0;
    }
    let field_at = |op: &Operand| -> Option<Value> {
        let (s, o) = scan.at(op)?;
        field_slots[s]
            .iter()
            .find(|&&(fo, _)| fo == o)
            .map(|&(_, v)| v)
    };
    let is_split = |v: Value| {
        let (s, _) = scan.address[v.index()];
        s != NONE && !field_slots[s as usize].is_empty()
    };
    for b in 0..f.blocks.len() {
        let insts = std::mem::take(&mut f.blocks[b].insts);
        let mut kept = Vec::with_capacity(insts.len());
        for mut inst in insts {
            match &mut inst.kind {
                InstKind::Load { addr, .. } | InstKind::Store { addr, .. } => {
                    if let Some(v) = field_at(addr) {
                        *addr = Operand::Value(v);
                    }
                }
                // The slot itself and addresses inside it are no longer
                // used.
                InstKind::Alloc { .. } | InstKind::Binary { .. }
                    if inst.result.is_some_and(is_split) =>
                {
                    continue;
                }
                _ => {}
            }
            kept.push(inst);
        }
        f.blocks[b].insts = kept;
    }
    f.blocks[0].insts.splice(0..0, new_allocs);
    split
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Item;
    use crate::lang::printer::print_item;
    use crate::test_support::first_function;

    fn split(text: &str) -> (usize, String) {
        let (m, mut f) = first_function(text);
        let n = split_slots(&mut f);
        let cf = crate::sema::cfg::ControlFlow::compute(&f);
        let diags = crate::sema::verify::verify(&f, &cf, &m.types);
        assert!(diags.is_empty(), "{diags:?}");
        let mut out = String::new();
        print_item(&mut out, &Item::Function(f), &m.types).expect("prints");
        (n, out)
    }

    #[test]
    fn a_structure_copied_and_read_by_field_becomes_field_slots() {
        let (n, text) = split(
            "function d $f(l %p) {\n@s\n\t%t =l alloc8 16\n\tblit %p, %t, 16\n\
             \t%a =d loadd %t\n\t%q =l add %t, 8\n\t%b =d loadd %q\n\
             \t%r =d add %a, %b\n\tret %r\n}\n",
        );
        assert_eq!(n, 1, "{text}");
        assert!(
            !text.contains("blit") && !text.contains("alloc8 16"),
            "{text}"
        );
        assert_eq!(text.matches("alloc8 8").count(), 2, "{text}");
    }

    #[test]
    fn fields_follow_the_accesses_when_they_tile_a_copy() {
        // Three words: the copy is made in words, not in a long and a word.
        let (n, text) = split(
            "function w $f(l %p) {\n@s\n\t%t =l alloc4 12\n\tblit %p, %t, 12\n\
             \t%a =w loadw %t\n\t%q =l add %t, 4\n\t%b =w loadw %q\n\
             \t%u =l add %t, 8\n\t%c =w loadw %u\n\t%r =w add %a, %b\n\
             \t%s =w add %r, %c\n\tret %s\n}\n",
        );
        assert_eq!(n, 1, "{text}");
        assert_eq!(text.matches("alloc4 4").count(), 3, "{text}");
        assert!(!text.contains("loadl"), "{text}");
    }

    #[test]
    fn overlapping_or_escaping_slots_stay_whole() {
        // A long read over two words; an address passed to a call; an
        // offset computed at run time.
        for body in [
            "\tstorew 1, %t\n\t%q =l add %t, 4\n\tstorew 2, %q\n\t%r =l loadl %t\n\tret %r\n",
            "\t%q =l add %t, 8\n\tstorel 1, %q\n\tcall $g(l %t)\n\tret 0\n",
            "\t%q =l add %t, %i\n\tstorel 1, %q\n\t%r =l loadl %t\n\tret %r\n",
        ] {
            let text = format!("function l $f(l %i) {{\n@s\n\t%t =l alloc8 16\n{body}}}\n");
            let (n, out) = split(&text);
            assert_eq!(n, 0, "{out}");
        }
    }
}
