//! SSA construction for temporaries assigned more than once.
//!
//! The text form lets a temporary be assigned in several places, like a
//! local variable. Such temporaries — and single-assignment ones whose
//! definition does not dominate every use, e.g. a value read in a loop
//! header before the loop body assigns it — are rewritten with the classic
//! construction of Cytron et al.: phis go at the iterated dominance frontier
//! of the definitions, a walk of the dominator tree renames definitions and
//! uses, then phis that merge a single value (trivial ones) and phis nobody
//! reads are removed. Temporaries already in SSA form are not touched.
//!
//! New values get names derived from the temporary's (`x.1`, `x.2`, …)
//! that clash with no other name in the function. The values of removed
//! phis stay in the arena, unnamed and unused by any instruction.
//!
//! Reading a temporary that no definition reaches on any path is an error.
//! Reading one that is defined on some paths only is accepted (compilers of
//! C emit this for variables initialised under the same condition as their
//! use): the paths without a definition contribute zero, a fixed choice so
//! output does not depend on register contents.
//!
//! Over 900 lines: the construction itself (definition sites, phi
//! placement by iterated dominance frontiers, renaming, removal of
//! trivial phis) is about 970 lines that share one working state, kept
//! between functions; the rest are its unit tests.

use std::collections::HashSet;

use crate::ir::{
    for_each_use, for_each_use_mut, term_use, term_use_mut, BaseType, Block, Const, Function, Name,
    Operand, Phi, Pos, Terminator, Value, ValueData,
};
use crate::lang::diag::Diagnostic;
use crate::sema::cfg::ControlFlow;

const NONE: u32 = u32::MAX;

/// Rewrites every temporary with more than one definition (or whose only
/// definition does not dominate its uses) into SSA values joined by phis.
/// Returns errors for uses no definition reaches.
pub fn construct(f: &mut Function, cf: &ControlFlow) -> Vec<Diagnostic> {
    construct_reusing(f, cf, &mut Scratch::default())
}

/// Working memory of [`construct`], kept between functions so reading a
/// module does not allocate it anew for each one.
#[derive(Default)]
pub struct Scratch {
    defs: DefSites,
    renamer: Renamer,
}

/// [`construct`] with working memory reused from earlier calls.
pub fn construct_reusing(
    f: &mut Function,
    cf: &ControlFlow,
    scratch: &mut Scratch,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    if f.blocks.is_empty() || cf.len() != f.blocks.len() {
        return diags;
    }
    let defs = &mut scratch.defs;
    defs.collect(f);
    let r = &mut scratch.renamer;
    reset(&mut r.var_of, f.values.len(), NONE);
    r.vars.clear();
    for (v, &count) in defs.count.iter().enumerate() {
        if count > 1 {
            r.var_of[v] = r.vars.len() as u32;
            r.vars.push(Value(v as u32));
        }
    }
    find_undominated_uses(f, cf, defs, &mut r.var_of, &mut r.vars, &mut diags);
    if r.vars.is_empty() {
        return diags;
    }
    r.reset(f);
    r.index_input_phi_uses(f);
    r.place_phis(f, cf);
    r.rename(f, cf, &mut diags);
    r.simplify_phis(f);
    r.name_phis(f);
    diags
}

/// Empties `v` and fills it with `n` copies of `x`, keeping its memory.
fn reset<T: Clone>(v: &mut Vec<T>, n: usize, x: T) {
    v.clear();
    v.resize(n, x);
}

/// Makes `rows` hold `n` empty rows, keeping the memory of existing ones.
fn reset_rows<T>(rows: &mut Vec<Vec<T>>, n: usize) {
    rows.truncate(n);
    rows.iter_mut().for_each(Vec::clear);
    rows.resize_with(n, Vec::new);
}

/// Where each value is defined: the block and the index of the defining
/// instruction (`PARAM_INDEX` for parameters, `PHI_INDEX` for phis), and how
/// many definitions it has.
#[derive(Default)]
struct DefSites {
    count: Vec<u32>,
    block: Vec<u32>,
    index: Vec<i64>,
}

const PARAM_INDEX: i64 = -2;
const PHI_INDEX: i64 = -1;

impl DefSites {
    fn collect(&mut self, f: &Function) {
        let n = f.values.len();
        reset(&mut self.count, n, 0);
        reset(&mut self.block, n, NONE);
        reset(&mut self.index, n, 0);
        let d = self;
        let mut add = |v: Value, b: u32, i: i64| {
            if let Some(c) = d.count.get_mut(v.index()) {
                *c += 1;
                d.block[v.index()] = b;
                d.index[v.index()] = i;
            }
        };
        for p in &f.params {
            add(p.value, 0, PARAM_INDEX);
        }
        if let Some(e) = f.env {
            add(e, 0, PARAM_INDEX);
        }
        for (b, data) in f.blocks.iter().enumerate() {
            for phi in &data.phis {
                add(phi.result, b as u32, PHI_INDEX);
            }
            for (i, inst) in data.insts.iter().enumerate() {
                if let Some(r) = inst.result {
                    add(r, b as u32, i as i64);
                }
            }
        }
    }
}

/// Adds to the rename set every single-definition value with a use its
/// definition does not dominate, and reports values used but never defined.
fn find_undominated_uses(
    f: &Function,
    cf: &ControlFlow,
    defs: &DefSites,
    var_of: &mut [u32],
    vars: &mut Vec<Value>,
    diags: &mut Vec<Diagnostic>,
) {
    let mut reported = HashSet::new();
    let mut check = |v: Value, use_block: usize, use_index: i64, pos: Pos| {
        let vi = v.index();
        if vi >= var_of.len() || var_of[vi] != NONE {
            return;
        }
        match defs.count[vi] {
            0 if reported.insert(vi) => {
                diags.push(Diagnostic::error(
                    pos,
                    format!("temporary %{} is used but never defined", f.values[vi].name),
                ));
            }
            1 => {
                let db = defs.block[vi] as usize;
                let ok = if db == use_block {
                    defs.index[vi] < use_index
                } else {
                    cf.dominates(Block(db as u32), Block(use_block as u32))
                };
                if !ok {
                    var_of[vi] = vars.len() as u32;
                    vars.push(v);
                }
            }
            _ => {}
        }
    };
    for (b, data) in f.blocks.iter().enumerate() {
        for phi in &data.phis {
            for (pred, op) in &phi.args {
                if let Operand::Value(v) = op {
                    if pred.index() < f.blocks.len() {
                        // Read at the end of the predecessor.
                        check(*v, pred.index(), i64::MAX, phi.pos);
                    }
                }
            }
        }
        for (i, inst) in data.insts.iter().enumerate() {
            for_each_use(&inst.kind, |op| {
                if let Operand::Value(v) = op {
                    check(*v, b, i as i64, inst.pos);
                }
            });
        }
        if let Some(Operand::Value(v)) = term_use(&data.term) {
            check(*v, b, i64::MAX, data.term_pos);
        }
    }
}

#[derive(Default)]
struct Renamer {
    /// Rename-set index of each original value, `NONE` if left alone.
    var_of: Vec<u32>,
    /// The original value of each renamed variable.
    vars: Vec<Value>,
    /// Whether the original value id has been reused for a definition.
    original_used: Vec<bool>,
    /// Next suffix to try for each variable's derived names.
    next_suffix: Vec<u64>,
    /// Whether any input value name contains a dot, as derived names do.
    any_dotted: bool,
    /// Hashes of the dotted value names in the function and of the names
    /// derived so far, to keep derived names unique. A hash match counts as
    /// taken (the next suffix is tried), so collisions cost a skipped
    /// number, never a clash; storing hashes avoids copying names.
    taken: HashSet<u64, BuildIdentity>,
    /// Inserted phis are the values `phi_base..phi_end`.
    phi_base: u32,
    phi_end: u32,
    /// The variable each inserted phi merges.
    phi_var: Vec<u32>,
    /// The reaching definition of each variable during renaming.
    current: Vec<Option<Value>>,
    /// How many definitions (including inserted phis) renaming will see.
    definitions: usize,
    /// Per block, the index of its first inserted phi (those after it
    /// get one operand per predecessor during renaming).
    first_inserted_phi: Vec<u32>,
    /// Input phi operands to rewrite, grouped by predecessor: those of
    /// block `b` are `input_uses[input_uses_start[b]..input_uses_start[b + 1]]`,
    /// each as (block, phi index, operand index).
    input_uses_start: Vec<u32>,
    input_uses: Vec<(u32, u32, u32)>,
    /// Working memory of the passes below, kept between functions.
    bufs: Buffers,
}

/// Per-pass working memory (contents are meaningless between uses).
#[derive(Default)]
struct Buffers {
    input_entries: Vec<(u32, u32, u32, u32)>,
    def_blocks: Vec<Vec<u32>>,
    global: Vec<bool>,
    defined_in: Vec<u32>,
    placed: Vec<(u32, u32)>,
    frontiers: FrontierBufs,
    undo: Vec<(usize, Option<Value>)>,
    stack: Vec<(usize, usize, usize)>,
    succs: Vec<Block>,
    location: Vec<(u32, u32)>,
    readers: Vec<Vec<u32>>,
    replacement: Vec<Option<Operand>>,
    work: Vec<u32>,
    live: Vec<bool>,
    live_work: Vec<usize>,
}

impl Renamer {
    /// Prepares for `f`, whose rename set is `var_of` and `vars`.
    fn reset(&mut self, f: &Function) {
        let n = self.vars.len();
        self.taken.clear();
        self.taken.extend(
            f.values
                .iter()
                .filter(|v| v.name.as_bytes().contains(&b'.'))
                .map(|v| name_hash(&v.name)),
        );
        reset(&mut self.original_used, n, false);
        reset(&mut self.next_suffix, n, 1);
        self.any_dotted = !self.taken.is_empty();
        self.phi_base = f.values.len() as u32;
        self.phi_end = f.values.len() as u32;
        self.phi_var.clear();
        reset(&mut self.current, n, None);
        self.definitions = 0;
        self.first_inserted_phi.clear();
        self.first_inserted_phi
            .extend(f.blocks.iter().map(|b| b.phis.len() as u32));
        self.input_uses_start.clear();
        self.input_uses.clear();
    }

    fn var(&self, v: Value) -> Option<usize> {
        match self.var_of.get(v.index()) {
            Some(&k) if k != NONE => Some(k as usize),
            _ => None,
        }
    }

    fn fresh_value(&mut self, f: &mut Function, k: usize) -> Value {
        let name = self.derived_name(f, k);
        let ty = f.values[self.vars[k].index()].ty;
        let v = Value(f.values.len() as u32);
        f.values.push(ValueData { name, ty });
        v
    }

    /// The next unused `base.N` name for variable `k`.
    fn derived_name(&mut self, f: &Function, k: usize) -> Name {
        let data = &f.values[self.vars[k].index()];
        loop {
            // Built in place: inline (no allocation) up to 24 bytes.
            let mut name = Name::with_capacity(data.name.len() + 8);
            name.push_str(&data.name);
            name.push('.');
            push_decimal(&mut name, self.next_suffix[k]);
            self.next_suffix[k] += 1;
            // Derived names all contain a dot; without dotted names in the
            // input, `base.N` is unique per variable and counter.
            if !self.any_dotted || self.taken.insert(name_hash(&name)) {
                return name;
            }
        }
    }

    /// The value a new definition of variable `k` gets: the original id the
    /// first time, so names stay as written where possible.
    fn definition_value(&mut self, f: &mut Function, k: usize) -> Value {
        if self.original_used[k] {
            self.fresh_value(f, k)
        } else {
            self.original_used[k] = true;
            self.vars[k]
        }
    }

    /// Inserts empty phis at the iterated dominance frontier of each
    /// variable's definitions.
    fn place_phis(&mut self, f: &mut Function, cf: &ControlFlow) {
        let n = f.blocks.len();
        let nvars = self.vars.len();
        let bufs = &mut self.bufs;
        let def_blocks = &mut bufs.def_blocks;
        reset_rows(def_blocks, nvars);
        // Semi-pruned form (Briggs et al.): only a variable read in some
        // block before that block assigns it can need a phi. Temporaries
        // reassigned but always set before use within each block (common in
        // generated code) get none, which saves creating and then deleting
        // many dead phis.
        let global = &mut bufs.global;
        reset(global, nvars, false);
        let defined_in = &mut bufs.defined_in;
        reset(defined_in, nvars, NONE);
        let mut definitions = 0usize;
        let var_of = &self.var_of;
        let var = |v: Value| match var_of.get(v.index()) {
            Some(&k) if k != NONE => Some(k as usize),
            _ => None,
        };
        let define = |k: usize, b: u32, def_blocks: &mut [Vec<u32>], defined_in: &mut [u32]| {
            defined_in[k] = b;
            if def_blocks[k].last() != Some(&b) {
                def_blocks[k].push(b);
            }
        };
        for v in f.params.iter().map(|p| p.value).chain(f.env) {
            if let Some(k) = var(v) {
                definitions += 1;
                define(k, 0, def_blocks, defined_in);
            }
        }
        for (b, data) in f.blocks.iter().enumerate() {
            let b32 = b as u32;
            for phi in &data.phis {
                for (_, op) in &phi.args {
                    if let Some(k) = operand_var(op, var) {
                        global[k] = true;
                    }
                }
                if let Some(k) = var(phi.result) {
                    definitions += 1;
                    define(k, b32, def_blocks, defined_in);
                }
            }
            for inst in &data.insts {
                for_each_use(&inst.kind, |op| {
                    if let Some(k) = operand_var(op, var) {
                        global[k] |= defined_in[k] != b32;
                    }
                });
                if let Some(k) = inst.result.and_then(var) {
                    definitions += 1;
                    define(k, b32, def_blocks, defined_in);
                }
            }
            if let Some(k) = term_use(&data.term).and_then(|op| operand_var(op, var)) {
                global[k] |= defined_in[k] != b32;
            }
        }
        for (blocks, &g) in def_blocks.iter_mut().zip(global.iter()) {
            if !g {
                blocks.clear();
            }
        }
        let placed = &mut bufs.placed;
        iterated_frontiers(cf, n, def_blocks, &mut bufs.frontiers, placed);
        f.values.reserve(definitions + placed.len());
        self.definitions = definitions + placed.len();
        // Deterministic value numbering: by block, then variable.
        placed.sort_unstable();
        self.phi_base = f.values.len() as u32;
        for &(b, k) in placed.iter() {
            // Named only if it survives simplification (see `name_phis`):
            // most inserted phis are dead or trivial.
            let ty = f.values[self.vars[k as usize].index()].ty;
            let v = Value(f.values.len() as u32);
            f.values.push(ValueData {
                name: Name::default(),
                ty,
            });
            let pos = f.blocks[b as usize].pos;
            f.blocks[b as usize].phis.push(Phi {
                result: v,
                args: Vec::with_capacity(cf.preds[b as usize].len()),
                pos,
            });
            self.phi_var.push(k);
        }
        self.phi_end = f.values.len() as u32;
    }

    /// Gives the inserted phis that survived simplification their derived
    /// names, in block order.
    fn name_phis(&mut self, f: &mut Function) {
        for b in 0..f.blocks.len() {
            for i in self.first_inserted_phi[b] as usize..f.blocks[b].phis.len() {
                let r = f.blocks[b].phis[i].result;
                if let Some(k) = self.inserted_phi_var(r) {
                    f.values[r.index()].name = self.derived_name(f, k);
                }
            }
        }
    }

    fn inserted_phi_var(&self, v: Value) -> Option<usize> {
        (v.0 >= self.phi_base && v.0 < self.phi_end)
            .then(|| self.phi_var[(v.0 - self.phi_base) as usize] as usize)
    }

    /// Walks the dominator tree, giving each definition its own value and
    /// pointing each use at the definition that reaches it.
    fn rename(&mut self, f: &mut Function, cf: &ControlFlow, diags: &mut Vec<Diagnostic>) {
        let mut undo = std::mem::take(&mut self.bufs.undo);
        undo.clear();
        undo.reserve(self.definitions);
        for p in 0..f.params.len() {
            let v = f.params[p].value;
            if let Some(k) = self.var(v) {
                let nv = self.definition_value(f, k);
                f.params[p].value = nv;
                self.current[k] = Some(nv);
            }
        }
        if let Some(e) = f.env {
            if let Some(k) = self.var(e) {
                let nv = self.definition_value(f, k);
                f.env = Some(nv);
                self.current[k] = Some(nv);
            }
        }
        // (block, next child, undo-log length on entry)
        let mut stack = std::mem::take(&mut self.bufs.stack);
        stack.clear();
        let mut succs = std::mem::take(&mut self.bufs.succs);
        stack.push((0, 0, 0));
        self.enter_block(f, 0, &mut undo, &mut succs, diags);
        while let Some(top) = stack.last_mut() {
            let (b, next, mark) = *top;
            if let Some(&c) = cf.dom_children[b].get(next) {
                top.1 += 1;
                let mark = undo.len();
                stack.push((c.index(), 0, mark));
                self.enter_block(f, c.index(), &mut undo, &mut succs, diags);
            } else {
                for (k, old) in undo.drain(mark..).rev() {
                    self.current[k] = old;
                }
                stack.pop();
            }
        }
        self.bufs.undo = undo;
        self.bufs.stack = stack;
        self.bufs.succs = succs;
    }

    fn define(&mut self, k: usize, v: Value, undo: &mut Vec<(usize, Option<Value>)>) {
        undo.push((k, self.current[k]));
        self.current[k] = Some(v);
    }

    fn enter_block(
        &mut self,
        f: &mut Function,
        b: usize,
        undo: &mut Vec<(usize, Option<Value>)>,
        succs: &mut Vec<Block>,
        diags: &mut Vec<Diagnostic>,
    ) {
        // Inserted phis first: where the input has its own phi for the
        // same variable, that phi is the definition that must win (the
        // inserted one then has no reader and is removed later).
        let first_inserted = self.first_inserted_phi[b] as usize;
        for i in first_inserted..f.blocks[b].phis.len() {
            let r = f.blocks[b].phis[i].result;
            if let Some(k) = self.inserted_phi_var(r) {
                self.define(k, r, undo);
            }
        }
        for i in 0..first_inserted {
            let r = f.blocks[b].phis[i].result;
            if let Some(k) = self.var(r) {
                let nv = self.definition_value(f, k);
                f.blocks[b].phis[i].result = nv;
                self.define(k, nv, undo);
            }
        }
        let mut insts = std::mem::take(&mut f.blocks[b].insts);
        for inst in &mut insts {
            let pos = inst.pos;
            for_each_use_mut(&mut inst.kind, |op| self.rewrite_use(f, op, pos, diags));
            if let Some(r) = inst.result {
                if let Some(k) = self.var(r) {
                    let nv = self.definition_value(f, k);
                    inst.result = Some(nv);
                    self.define(k, nv, undo);
                }
            }
        }
        f.blocks[b].insts = insts;
        let term_pos = f.blocks[b].term_pos;
        let mut term = std::mem::replace(&mut f.blocks[b].term, Terminator::Hlt);
        if let Some(op) = term_use_mut(&mut term) {
            self.rewrite_use(f, op, term_pos, diags);
        }
        succs.clear();
        for s in term.successors() {
            if s.index() < f.blocks.len() && !succs.contains(&s) {
                succs.push(s);
            }
        }
        f.blocks[b].term = term;
        let pred = Block(b as u32);
        for &s in succs.iter() {
            let first_inserted = self.first_inserted_phi[s.index()] as usize;
            for phi in &mut f.blocks[s.index()].phis[first_inserted..] {
                if let Some(k) = self.inserted_phi_var(phi.result) {
                    let ty = f.values[phi.result.index()].ty;
                    let op = self.reaching(k, ty);
                    phi.args.push((pred, op));
                }
            }
        }
        let (start, end) = match self.input_uses_start.get(b..b + 2) {
            Some(&[start, end]) => (start, end),
            _ => (0, 0),
        };
        for i in start..end {
            let (s, p, a) = self.input_uses[i as usize];
            let op = &mut f.blocks[s as usize].phis[p as usize].args[a as usize].1;
            if let Operand::Value(v) = op {
                if let Some(k) = self.var(*v) {
                    let ty = f.values[v.index()].ty;
                    *op = self.reaching(k, ty);
                }
            }
        }
    }

    /// Indexes, by predecessor, the operands of the input's phis that read
    /// a renamed variable, so each is rewritten when renaming leaves that
    /// predecessor without scanning every phi of every successor.
    fn index_input_phi_uses(&mut self, f: &Function) {
        let n = f.blocks.len();
        let entries = &mut self.bufs.input_entries;
        entries.clear();
        for (b, data) in f.blocks.iter().enumerate() {
            for (p, phi) in data.phis.iter().enumerate() {
                for (a, (from, op)) in phi.args.iter().enumerate() {
                    if let Operand::Value(v) = op {
                        if from.index() < n
                            && self.var_of.get(v.index()).is_some_and(|&k| k != NONE)
                        {
                            entries.push((from.0, b as u32, p as u32, a as u32));
                        }
                    }
                }
            }
        }
        if entries.is_empty() {
            // `enter_block` treats an empty index as "nothing to rewrite".
            return;
        }
        entries.sort_unstable();
        let start = &mut self.input_uses_start;
        reset(start, n + 1, 0);
        for e in entries.iter() {
            start[e.0 as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        self.input_uses.clear();
        self.input_uses
            .extend(entries.iter().map(|&(_, b, p, a)| (b, p, a)));
    }

    /// The definition of variable `k` reaching the current point, or the
    /// zero that stands for "not defined on this path".
    fn reaching(&self, k: usize, ty: BaseType) -> Operand {
        match self.current[k] {
            Some(v) => Operand::Value(v),
            None => undefined(ty),
        }
    }

    fn rewrite_use(&self, f: &Function, op: &mut Operand, pos: Pos, diags: &mut Vec<Diagnostic>) {
        let Operand::Value(v) = op else { return };
        let Some(k) = self.var(*v) else { return };
        match self.current[k] {
            Some(d) => *v = d,
            None => diags.push(Diagnostic::error(
                pos,
                format!(
                    "temporary %{} is used before any definition reaches it",
                    f.values[v.index()].name
                ),
            )),
        }
    }

    /// Removes inserted phis that merge one value (replacing their uses
    /// with it) and inserted phis whose result nothing reads.
    fn simplify_phis(&mut self, f: &mut Function) {
        let count = (self.phi_end - self.phi_base) as usize;
        if count == 0 {
            return;
        }
        let base = self.phi_base;
        let slot =
            |v: Value| (v.0 >= base && v.0 < base + count as u32).then(|| (v.0 - base) as usize);
        // Location of each inserted phi, and which inserted phis read it.
        let bufs = &mut self.bufs;
        let location = &mut bufs.location;
        reset(location, count, (0, 0));
        let readers = &mut bufs.readers;
        reset_rows(readers, count);
        for (b, data) in f.blocks.iter().enumerate() {
            for (i, phi) in data.phis.iter().enumerate() {
                if let Some(s) = slot(phi.result) {
                    location[s] = (b as u32, i as u32);
                    for (_, op) in &phi.args {
                        if let Operand::Value(v) = op {
                            if let Some(t) = slot(*v) {
                                readers[t].push(s as u32);
                            }
                        }
                    }
                }
            }
        }
        let replacement = &mut bufs.replacement;
        reset(replacement, count, None);
        let work = &mut bufs.work;
        work.clear();
        work.extend((0..count as u32).rev());
        while let Some(s) = work.pop() {
            let s = s as usize;
            if replacement[s].is_some() {
                continue;
            }
            let (b, i) = location[s];
            let phi = &f.blocks[b as usize].phis[i as usize];
            let me = phi.result;
            let mut same: Option<Operand> = None;
            let mut trivial = true;
            for (_, op) in &phi.args {
                let op = resolve(replacement, slot, op);
                if op == Operand::Value(me) || same.as_ref() == Some(&op) {
                    continue;
                }
                if same.is_some() {
                    trivial = false;
                    break;
                }
                same = Some(op);
            }
            if trivial {
                let ty = f.values[me.index()].ty;
                replacement[s] = Some(same.unwrap_or_else(|| undefined(ty)));
                work.extend(readers[s].iter().copied());
            }
        }
        // Liveness: an inserted phi survives if something other than a dead
        // inserted phi reads it.
        let replacement = &*replacement;
        let live = &mut bufs.live;
        reset(live, count, false);
        let work = &mut bufs.live_work;
        work.clear();
        let mark = |op: &Operand, live: &mut Vec<bool>, work: &mut Vec<usize>| {
            if !matches!(op, Operand::Value(_)) {
                return;
            }
            if let Operand::Value(v) = resolve(replacement, slot, op) {
                if let Some(t) = slot(v) {
                    if !live[t] {
                        live[t] = true;
                        work.push(t);
                    }
                }
            }
        };
        for data in &f.blocks {
            for phi in &data.phis {
                if slot(phi.result).is_none() {
                    for (_, op) in &phi.args {
                        mark(op, live, work);
                    }
                }
            }
            for inst in &data.insts {
                for_each_use(&inst.kind, |op| mark(op, live, work));
            }
            if let Some(op) = term_use(&data.term) {
                mark(op, live, work);
            }
        }
        while let Some(s) = work.pop() {
            let (b, i) = location[s];
            for (_, op) in &f.blocks[b as usize].phis[i as usize].args {
                mark(op, live, work);
            }
        }
        let any_replaced = replacement.iter().any(Option::is_some);
        let fix = |op: &mut Operand| {
            if let Operand::Value(v) = op {
                if slot(*v).is_some_and(|s| replacement[s].is_some()) {
                    *op = resolve(replacement, slot, op);
                }
            }
        };
        for data in &mut f.blocks {
            data.phis.retain(|phi| match slot(phi.result) {
                Some(s) => live[s] && replacement[s].is_none(),
                None => true,
            });
            if !any_replaced {
                continue;
            }
            for phi in &mut data.phis {
                for (_, op) in &mut phi.args {
                    fix(op);
                }
            }
            for inst in &mut data.insts {
                for_each_use_mut(&mut inst.kind, fix);
            }
            if let Some(op) = term_use_mut(&mut data.term) {
                fix(op);
            }
        }
    }
}

/// The renamed variable an operand reads, if any.
fn operand_var(op: &Operand, var: impl Fn(Value) -> Option<usize>) -> Option<usize> {
    match op {
        Operand::Value(v) => var(*v),
        Operand::Const(_) => None,
    }
}

/// Appends `n` in decimal (cheaper than the formatting machinery).
fn push_decimal(out: &mut Name, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&d| char::from(d)));
}

/// FNV-1a: a cheap hash of a value name.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A hasher for keys that are already hashes.
#[derive(Clone, Copy, Default)]
struct BuildIdentity;

struct IdentityHasher(u64);

impl std::hash::BuildHasher for BuildIdentity {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher(0)
    }
}

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Follows replacements of removed phis to the operand that stands for them.
fn resolve(
    replacement: &[Option<Operand>],
    slot: impl Fn(Value) -> Option<usize>,
    op: &Operand,
) -> Operand {
    let mut cur = op;
    // Each replacement points at an operand computed after it, so chains
    // end; the bound guards against a cycle all the same.
    for _ in 0..=replacement.len() {
        match cur {
            Operand::Value(v) => match slot(*v).and_then(|s| replacement[s].as_ref()) {
                Some(next) => cur = next,
                None => return cur.clone(),
            },
            Operand::Const(_) => return cur.clone(),
        }
    }
    cur.clone()
}

/// The operand standing for a value not defined on some path.
fn undefined(ty: BaseType) -> Operand {
    Operand::Const(match ty {
        BaseType::W | BaseType::L => Const::Int(0),
        BaseType::S => Const::Single(0.0),
        BaseType::D => Const::Double(0.0),
    })
}

/// The blocks needing a phi for each variable, as (block, variable) pairs:
/// the iterated dominance frontier of its definition blocks.
///
/// Computed with Sreedhar and Gao's DJ-graph walk rather than from
/// materialised dominance frontiers, whose total size is quadratic in deep
/// loop nests (the innermost block's frontier holds every header). Per
/// variable, blocks are taken deepest first (by dominator-tree level);
/// each walks its not yet visited dominator subtree, and every join edge
/// (a CFG edge that is not a dominator-tree edge) leaving that subtree for
/// a block no deeper than the walk's root marks that block, which then
/// joins the queue. Each block is walked at most once per variable.
fn iterated_frontiers(
    cf: &ControlFlow,
    n: usize,
    def_blocks: &[Vec<u32>],
    bufs: &mut FrontierBufs,
    placed: &mut Vec<(u32, u32)>,
) {
    let FrontierBufs {
        level,
        join_start,
        join,
        fill,
        has_phi,
        queued,
        visited,
        heap,
        walk,
    } = bufs;
    reset(level, n, 0);
    for b in 1..n {
        if let Some(d) = cf.idom[b] {
            // Normalised input: a block's idom comes earlier in storage.
            level[b] = level[d.index()] + 1;
        }
    }
    // Join edges in compressed rows: those leaving `y` are
    // `join[join_start[y]..join_start[y + 1]]`.
    reset(join_start, n + 1, 0);
    join.clear();
    for (z, preds) in cf.preds.iter().enumerate() {
        for y in preds {
            if cf.idom[z] != Some(*y) {
                join_start[y.index() + 1] += 1;
            }
        }
    }
    for y in 0..n {
        join_start[y + 1] += join_start[y];
    }
    join.resize(join_start[n] as usize, 0);
    fill.clear();
    fill.extend_from_slice(join_start);
    for (z, preds) in cf.preds.iter().enumerate() {
        for y in preds {
            if cf.idom[z] != Some(*y) {
                join[fill[y.index()] as usize] = z as u32;
                fill[y.index()] += 1;
            }
        }
    }
    placed.clear();
    reset(has_phi, n, NONE);
    reset(queued, n, NONE);
    reset(visited, n, NONE);
    walk.clear();
    for (k, blocks) in def_blocks.iter().enumerate() {
        let k32 = k as u32;
        heap.clear();
        for &b in blocks {
            if queued[b as usize] != k32 {
                queued[b as usize] = k32;
                heap.push((level[b as usize], b));
            }
        }
        while let Some((root_level, x)) = heap.pop() {
            if visited[x as usize] == k32 {
                continue;
            }
            visited[x as usize] = k32;
            walk.clear();
            walk.push(x);
            while let Some(y) = walk.pop() {
                let y = y as usize;
                for &z in &join[join_start[y] as usize..join_start[y + 1] as usize] {
                    let zi = z as usize;
                    if level[zi] <= root_level && has_phi[zi] != k32 {
                        has_phi[zi] = k32;
                        placed.push((z, k32));
                        if queued[zi] != k32 {
                            queued[zi] = k32;
                            heap.push((level[zi], z));
                        }
                    }
                }
                for c in &cf.dom_children[y] {
                    if visited[c.index()] != k32 {
                        visited[c.index()] = k32;
                        walk.push(c.0);
                    }
                }
            }
        }
    }
}

/// Working memory of [`iterated_frontiers`].
#[derive(Default)]
struct FrontierBufs {
    level: Vec<u32>,
    join_start: Vec<u32>,
    join: Vec<u32>,
    fill: Vec<u32>,
    has_phi: Vec<u32>,
    queued: Vec<u32>,
    visited: Vec<u32>,
    heap: std::collections::BinaryHeap<(u32, u32)>,
    walk: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::types::TypeTable;
    use crate::ir::{BinOp, CmpOp, InstKind, Param, UnOp};
    use crate::sema::cfg::testing::{assert_scales_linearly, FnBuilder};
    use crate::sema::cfg::{normalize, ControlFlow};

    fn int(i: i64) -> Operand {
        Operand::Const(Const::Int(i))
    }

    fn add(lhs: Operand, rhs: Operand) -> InstKind {
        InstKind::Binary {
            op: BinOp::Add,
            lhs,
            rhs,
        }
    }

    fn copy(arg: Operand) -> InstKind {
        InstKind::Unary {
            op: UnOp::Copy,
            arg,
        }
    }

    /// Normalises, builds SSA, and checks the verifier accepts the result.
    fn to_ssa(mut f: Function) -> (Function, Vec<Diagnostic>) {
        normalize(&mut f);
        let cf = ControlFlow::compute(&f);
        let diags = construct(&mut f, &cf);
        if diags.is_empty() {
            let errors = crate::sema::verify::verify(&f, &cf, &TypeTable::new());
            assert!(errors.is_empty(), "verifier: {errors:?}");
        }
        (f, diags)
    }

    /// Runs a function of `w` integer code with temporaries as mutable
    /// registers (so it gives the meaning of non-SSA input too); unset
    /// registers read as zero. Returns the returned value, or None when the
    /// step budget runs out.
    fn run(f: &Function, args: &[i64]) -> Option<i64> {
        let mut regs = vec![0i64; f.values.len()];
        for (p, a) in f.params.iter().zip(args) {
            regs[p.value.index()] = *a;
        }
        let eval = |regs: &[i64], op: &Operand| match op {
            Operand::Value(v) => regs[v.index()],
            Operand::Const(Const::Int(i)) => *i as i32 as i64,
            Operand::Const(_) => unreachable!("integer-only test programs"),
        };
        let mut b = 0usize;
        let mut prev: Option<Block> = None;
        for _ in 0..1000 {
            let data = &f.blocks[b];
            let incoming: Vec<(Value, i64)> = data
                .phis
                .iter()
                .map(|phi| {
                    let p = prev.expect("no phis in the entry");
                    let (_, op) = phi.args.iter().find(|(from, _)| *from == p).unwrap();
                    (phi.result, eval(&regs, op))
                })
                .collect();
            for (v, x) in incoming {
                regs[v.index()] = x;
            }
            for inst in &data.insts {
                let x = match &inst.kind {
                    InstKind::Binary { op, lhs, rhs } => {
                        let (l, r) = (eval(&regs, lhs) as i32, eval(&regs, rhs) as i32);
                        match op {
                            BinOp::Add => l.wrapping_add(r),
                            BinOp::Sub => l.wrapping_sub(r),
                            BinOp::Mul => l.wrapping_mul(r),
                            _ => unreachable!(),
                        }
                    }
                    InstKind::Compare { lhs, rhs, .. } => {
                        i32::from((eval(&regs, lhs) as i32) < (eval(&regs, rhs) as i32))
                    }
                    InstKind::Unary { arg, .. } => eval(&regs, arg) as i32,
                    _ => unreachable!(),
                };
                regs[inst.result.unwrap().index()] = i64::from(x);
            }
            prev = Some(Block(b as u32));
            match &data.term {
                Terminator::Jmp(t) => b = t.index(),
                Terminator::Jnz {
                    cond,
                    nonzero,
                    zero,
                } => {
                    b = if eval(&regs, cond) as i32 != 0 {
                        nonzero.index()
                    } else {
                        zero.index()
                    }
                }
                Terminator::Ret(op) => return Some(op.as_ref().map_or(0, |op| eval(&regs, op))),
                Terminator::Hlt => return None,
            }
        }
        None
    }

    fn count_phis(f: &Function) -> usize {
        f.blocks.iter().map(|b| b.phis.len()).sum()
    }

    #[test]
    fn reassignment_in_one_block_gets_new_values() {
        let mut b = FnBuilder::new();
        let a = b.block("a");
        let x = b.val("x", BaseType::W);
        b.inst(a, Some(x), copy(int(1)));
        let xo = b.w("x");
        b.inst(a, Some(x), add(xo.clone(), int(2)));
        b.inst(a, Some(x), add(xo.clone(), xo.clone()));
        b.term(a, Terminator::Ret(Some(xo)));
        b.f.ret = Some(crate::ir::AbiType::Base(BaseType::W));
        let (f, diags) = to_ssa(b.f);
        assert!(diags.is_empty());
        assert_eq!(count_phis(&f), 0);
        let results: Vec<&str> = f.blocks[0]
            .insts
            .iter()
            .map(|i| f.values[i.result.unwrap().index()].name.as_str())
            .collect();
        assert_eq!(results, ["x", "x.1", "x.2"]);
        assert_eq!(run(&f, &[]), Some(6));
    }

    #[test]
    fn loop_counter_gets_a_phi_at_the_header() {
        // i = 0; s = 0; while (i < n) { s = s + i; i = i + 1 } return s
        let mut b = FnBuilder::new();
        b.f.ret = Some(crate::ir::AbiType::Base(BaseType::W));
        let n = b.val("n", BaseType::W);
        b.f.params.push(Param {
            ty: crate::ir::AbiType::Base(BaseType::W),
            value: n,
        });
        let (i, s, c) = (
            b.val("i", BaseType::W),
            b.val("s", BaseType::W),
            b.val("c", BaseType::W),
        );
        let start = b.block("start");
        b.inst(start, Some(i), copy(int(0)));
        b.inst(start, Some(s), copy(int(0)));
        b.jmp("start", "head");
        let head = b.block("head");
        b.inst(
            head,
            Some(c),
            InstKind::Compare {
                op: CmpOp::Slt,
                ty: BaseType::W,
                lhs: Operand::Value(i),
                rhs: Operand::Value(n),
            },
        );
        b.jnz("head", Operand::Value(c), "body", "done");
        let body = b.block("body");
        b.inst(body, Some(s), add(Operand::Value(s), Operand::Value(i)));
        b.inst(body, Some(i), add(Operand::Value(i), int(1)));
        b.jmp("body", "head");
        let done = b.block("done");
        b.term(done, Terminator::Ret(Some(Operand::Value(s))));
        let original = b.f.clone();
        let (f, diags) = to_ssa(b.f);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(count_phis(&f), 2);
        assert_eq!(f.blocks[1].phis.len(), 2, "both phis sit in the header");
        for n in [0, 1, 5, 10] {
            assert_eq!(run(&f, &[n]), run(&original, &[n]));
        }
        assert_eq!(run(&f, &[5]), Some(10));
    }

    #[test]
    fn value_defined_on_one_path_only_reads_zero_on_the_other() {
        let mut b = FnBuilder::new();
        b.f.ret = Some(crate::ir::AbiType::Base(BaseType::W));
        let p = b.val("p", BaseType::W);
        b.f.params.push(Param {
            ty: crate::ir::AbiType::Base(BaseType::W),
            value: p,
        });
        b.jnz("a", Operand::Value(p), "set", "join");
        let set = b.block("set");
        let x = b.val("x", BaseType::W);
        b.inst(set, Some(x), copy(int(7)));
        b.jmp("set", "join");
        let join = b.block("join");
        b.term(join, Terminator::Ret(Some(Operand::Value(x))));
        let (f, diags) = to_ssa(b.f);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(count_phis(&f), 1);
        assert!(f.blocks[2].phis[0].args.contains(&(Block(0), int(0))));
        assert_eq!(run(&f, &[1]), Some(7));
        assert_eq!(run(&f, &[0]), Some(0));
    }

    #[test]
    fn use_with_no_reaching_definition_is_an_error() {
        let mut b = FnBuilder::new();
        let a = b.block("a");
        let x = b.val("x", BaseType::W);
        let y = b.val("y", BaseType::W);
        let use_pos = b.inst(a, Some(y), add(Operand::Value(x), int(1)));
        b.inst(a, Some(x), copy(int(1)));
        b.inst(a, Some(x), copy(int(2)));
        b.term(a, Terminator::Ret(None));
        let (_, diags) = to_ssa(b.f);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].pos, use_pos);
        assert!(diags[0].message.contains("%x"), "{}", diags[0].message);
    }

    #[test]
    fn never_defined_temporary_is_an_error() {
        let mut b = FnBuilder::new();
        let a = b.block("a");
        let ghost = b.w("ghost");
        let pos = b.term(a, Terminator::Ret(Some(ghost)));
        b.f.ret = Some(crate::ir::AbiType::Base(BaseType::W));
        let (_, diags) = to_ssa(b.f);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].pos, pos);
        assert_eq!(
            diags[0].message,
            "temporary %ghost is used but never defined"
        );
    }

    #[test]
    fn input_phis_define_and_read_reassigned_temporaries() {
        // a: %x = 1; jnz %p, @l, @r   l: %x = %x + 1   r: (nothing)
        // j: %y = phi @l %x, @r %x ; %x = phi @l 10, @r 20 ; ret %y + %x
        let mut b = FnBuilder::new();
        b.f.ret = Some(crate::ir::AbiType::Base(BaseType::W));
        let p = b.val("p", BaseType::W);
        b.f.params.push(Param {
            ty: crate::ir::AbiType::Base(BaseType::W),
            value: p,
        });
        let (x, y, z) = (
            b.val("x", BaseType::W),
            b.val("y", BaseType::W),
            b.val("z", BaseType::W),
        );
        let a = b.block("a");
        b.inst(a, Some(x), copy(int(1)));
        b.jnz("a", Operand::Value(p), "l", "r");
        let l = b.block("l");
        b.inst(l, Some(x), add(Operand::Value(x), int(1)));
        b.jmp("l", "j");
        b.jmp("r", "j");
        let (r, j) = (b.block("r"), b.block("j"));
        b.phi(j, y, vec![(l, Operand::Value(x)), (r, Operand::Value(x))]);
        b.phi(j, x, vec![(l, int(10)), (r, int(20))]);
        b.inst(j, Some(z), add(Operand::Value(y), Operand::Value(x)));
        b.term(j, Terminator::Ret(Some(Operand::Value(z))));
        let (f, diags) = to_ssa(b.f);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(run(&f, &[1]), Some(12));
        assert_eq!(run(&f, &[0]), Some(21));
        assert_eq!(count_phis(&f), 2);
    }

    #[test]
    fn derived_names_skip_names_already_taken() {
        let mut b = FnBuilder::new();
        let a = b.block("a");
        let x = b.val("x", BaseType::W);
        let taken = b.val("x.1", BaseType::W);
        b.inst(a, Some(taken), copy(int(0)));
        b.inst(a, Some(x), copy(int(1)));
        b.inst(a, Some(x), copy(int(2)));
        b.term(a, Terminator::Ret(None));
        let (f, diags) = to_ssa(b.f);
        assert!(diags.is_empty());
        let r = f.blocks[0].insts[2].result.unwrap();
        assert_eq!(f.values[r.index()].name, "x.2");
    }

    /// A small deterministic generator of random integer programs whose
    /// temporaries are assigned many times.
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

    fn random_program(seed: u64) -> Function {
        let mut rng = Rng(seed);
        let mut b = FnBuilder::new();
        b.f.ret = Some(crate::ir::AbiType::Base(BaseType::W));
        let p = b.val("p", BaseType::W);
        b.f.params.push(Param {
            ty: crate::ir::AbiType::Base(BaseType::W),
            value: p,
        });
        let vars: Vec<Value> = (0..4)
            .map(|i| b.val(&format!("v{i}"), BaseType::W))
            .collect();
        let nblocks = 2 + rng.next(7) as usize;
        for i in 0..nblocks {
            b.block(&format!("b{i}"));
        }
        // Every variable is set in the entry so no read is wholly undefined.
        for &v in &vars {
            let c = int(rng.next(5) as i64);
            b.inst(Block(0), Some(v), copy(c));
        }
        for i in 0..nblocks {
            let blk = Block(i as u32);
            for _ in 0..rng.next(4) {
                let operand = |rng: &mut Rng| match rng.next(6) {
                    0 => Operand::Value(p),
                    1 => int(rng.next(3) as i64),
                    k => Operand::Value(vars[(k - 2) as usize]),
                };
                let (l, r) = (operand(&mut rng), operand(&mut rng));
                let dst = vars[rng.next(4) as usize];
                let op = [BinOp::Add, BinOp::Sub, BinOp::Mul][rng.next(3) as usize];
                b.inst(blk, Some(dst), InstKind::Binary { op, lhs: l, rhs: r });
            }
            let cond = Operand::Value(vars[rng.next(4) as usize]);
            let term = match rng.next(4) {
                0 if i > 0 => Terminator::Ret(Some(Operand::Value(vars[rng.next(4) as usize]))),
                0 | 1 => Terminator::Jmp(Block(rng.next(nblocks as u64) as u32)),
                _ => Terminator::Jnz {
                    cond,
                    nonzero: Block(rng.next(nblocks as u64) as u32),
                    zero: Block(rng.next(nblocks as u64) as u32),
                },
            };
            b.term(blk, term);
        }
        // Phis in the input define and read reassigned variables too (odd
        // seeds only, so even seeds can check that no inserted phi is
        // trivial).
        for i in (1..nblocks).filter(|_| seed % 2 == 1) {
            let mut preds: Vec<Block> = (0..nblocks)
                .map(|p| Block(p as u32))
                .filter(|p| {
                    b.f.blocks[p.index()]
                        .term
                        .successors()
                        .any(|s| s.index() == i)
                })
                .collect();
            preds.dedup();
            if preds.is_empty() || rng.next(2) == 0 {
                continue;
            }
            let dst = vars[rng.next(4) as usize];
            let args = preds
                .into_iter()
                .map(|p| {
                    let op = match rng.next(3) {
                        0 => int(rng.next(9) as i64),
                        _ => Operand::Value(vars[rng.next(4) as usize]),
                    };
                    (p, op)
                })
                .collect();
            b.phi(Block(i as u32), dst, args);
        }
        b.f
    }

    #[test]
    fn reused_scratch_gives_the_same_result_as_a_fresh_one() {
        let mut scratch = Scratch::default();
        let mut verify_scratch = crate::sema::verify::Scratch::default();
        let mut flow = ControlFlow::default();
        // Sizes vary from one program to the next, so stale contents of
        // larger earlier functions would show.
        for seed in (0..400).chain((0..400).rev()) {
            let mut fresh = random_program(seed);
            normalize(&mut fresh);
            let mut reused = fresh.clone();
            let cf = ControlFlow::compute(&fresh);
            let fresh_diags = construct(&mut fresh, &cf);
            flow.recompute(&reused);
            let reused_diags = construct_reusing(&mut reused, &flow, &mut scratch);
            assert_eq!(reused, fresh, "seed {seed}");
            assert_eq!(reused_diags, fresh_diags, "seed {seed}");
            let types = TypeTable::new();
            assert_eq!(
                crate::sema::verify::verify_reusing(&reused, &flow, &types, &mut verify_scratch),
                crate::sema::verify::verify(&fresh, &cf, &types),
                "seed {seed}"
            );
        }
    }

    #[test]
    fn random_programs_keep_their_meaning() {
        let mut compared = 0;
        for seed in 0..3000 {
            let original = random_program(seed);
            let mut normalised = original.clone();
            normalize(&mut normalised);
            let (f, diags) = to_ssa(original);
            assert!(diags.is_empty(), "seed {seed}: {diags:?}");
            for p in [0, 1, 3] {
                let before = run(&normalised, &[p]);
                assert_eq!(run(&f, &[p]), before, "seed {seed}, p = {p}");
                compared += usize::from(before.is_some());
            }
            // No inserted phi survives that merges a single value.
            for data in f.blocks.iter().filter(|_| seed % 2 == 0) {
                for phi in &data.phis {
                    let first = &phi.args[0].1;
                    let all_same = phi
                        .args
                        .iter()
                        .all(|(_, op)| op == first || *op == Operand::Value(phi.result));
                    assert!(
                        !all_same || phi.args.len() < 2,
                        "seed {seed}: trivial phi left"
                    );
                }
            }
        }
        assert!(compared > 1000, "only {compared} runs terminated");
    }

    /// `loops` loops in sequence, each with 20 variables reassigned five
    /// times in its body: 1000 loops make about 100 000 instructions.
    fn sequential_loops(loops: u32) -> Function {
        let mut b = FnBuilder::new();
        let vars: Vec<Value> = (0..20)
            .map(|i| b.val(&format!("v{i}"), BaseType::W))
            .collect();
        let c = b.val("c", BaseType::W);
        let entry = b.block("entry");
        for &v in &vars {
            b.inst(entry, Some(v), copy(int(1)));
        }
        let mut prev = "entry".to_string();
        for l in 0..loops {
            let (head, body) = (format!("h{l}"), format!("b{l}"));
            b.jmp(&prev, &head);
            let hb = b.block(&head);
            b.inst(
                hb,
                Some(c),
                InstKind::Compare {
                    op: CmpOp::Slt,
                    ty: BaseType::W,
                    lhs: Operand::Value(vars[0]),
                    rhs: int(10),
                },
            );
            let exit = format!("x{l}");
            b.jnz(&head, Operand::Value(c), &body, &exit);
            let bb = b.block(&body);
            for k in 0..vars.len() {
                let (v, w) = (vars[k], vars[(k + 1) % vars.len()]);
                b.inst(bb, Some(v), add(Operand::Value(v), Operand::Value(w)));
                b.inst(bb, Some(v), add(Operand::Value(v), int(1)));
                b.inst(bb, Some(v), add(Operand::Value(v), Operand::Value(v)));
                b.inst(bb, Some(v), add(Operand::Value(v), int(3)));
                b.inst(bb, Some(v), add(Operand::Value(v), Operand::Value(w)));
            }
            b.jmp(&body, &head);
            prev = exit;
        }
        let last = b.block(&prev);
        b.term(last, Terminator::Ret(None));
        b.f
    }

    #[test]
    fn large_function_with_many_reassigned_temporaries() {
        let (f, diags) = to_ssa(sequential_loops(1000));
        assert!(diags.is_empty());
        assert_eq!(count_phis(&f), 1000 * 20);
        assert_scales_linearly(sequential_loops, |f| drop(to_ssa(f)), 500);
    }

    /// `d` nested loops; the innermost body reassigns `%x`, which every
    /// loop tests.
    fn nest_with_counter(d: u32) -> Function {
        let mut b = FnBuilder::new();
        b.f.ret = Some(crate::ir::AbiType::Base(BaseType::W));
        let x = b.val("x", BaseType::W);
        let entry = b.block("entry");
        b.inst(entry, Some(x), copy(int(0)));
        b.jmp("entry", "h0");
        for i in 0..d {
            let next = if i + 1 < d {
                format!("h{}", i + 1)
            } else {
                "inner".into()
            };
            b.jnz(&format!("h{i}"), Operand::Value(x), &next, &format!("l{i}"));
        }
        let inner = b.block("inner");
        b.inst(inner, Some(x), add(Operand::Value(x), int(1)));
        b.jmp("inner", &format!("l{}", d - 1));
        for i in (0..d).rev() {
            let out = if i > 0 {
                format!("l{}", i - 1)
            } else {
                "exit".into()
            };
            b.jnz(&format!("l{i}"), Operand::Value(x), &format!("h{i}"), &out);
        }
        let exit = b.block("exit");
        b.term(exit, Terminator::Ret(Some(Operand::Value(x))));
        b.f
    }

    #[test]
    fn deep_loop_nest_gets_one_phi_per_header_in_linear_time() {
        let d = 2000;
        let (f, diags) = to_ssa(nest_with_counter(d));
        assert!(diags.is_empty());
        // One phi per header and one per loop exit (reached both from the
        // header, skipping the loop, and from the nest inside).
        assert_eq!(count_phis(&f), 2 * d as usize);
        assert!(f
            .blocks
            .iter()
            .filter(|b| b.name.starts_with(['h', 'l']))
            .all(|b| b.phis.len() == 1));
        assert_scales_linearly(nest_with_counter, |f| drop(to_ssa(f)), 2000);
    }
}
