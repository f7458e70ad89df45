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
//! Reading a temporary that no definition reaches on any path is an error.
//! Reading one that is defined on some paths only is accepted (compilers of
//! C emit this for variables initialised under the same condition as their
//! use): the paths without a definition contribute zero, a fixed choice so
//! output does not depend on register contents.

use std::collections::HashSet;

use crate::cfg::ControlFlow;
use crate::diag::Diagnostic;
use crate::ir::{
    BaseType, Block, CallArg, Const, Function, InstKind, Operand, Phi, Pos, Terminator, Value,
    ValueData,
};

const NONE: u32 = u32::MAX;

/// Rewrites every temporary with more than one definition (or whose only
/// definition does not dominate its uses) into SSA values joined by phis.
/// Returns errors for uses no definition reaches.
pub fn construct(f: &mut Function, cf: &ControlFlow) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    if f.blocks.is_empty() || cf.len() != f.blocks.len() {
        return diags;
    }
    let defs = DefSites::collect(f);
    let mut var_of = vec![NONE; f.values.len()];
    let mut vars: Vec<Value> = Vec::new();
    for v in 0..f.values.len() {
        if defs.count[v] > 1 {
            var_of[v] = vars.len() as u32;
            vars.push(Value(v as u32));
        }
    }
    find_undominated_uses(f, cf, &defs, &mut var_of, &mut vars, &mut diags);
    if vars.is_empty() {
        return diags;
    }
    let mut renamer = Renamer::new(f, var_of, vars);
    renamer.place_phis(f, cf);
    renamer.rename(f, cf, &mut diags);
    renamer.simplify_phis(f);
    diags
}

/// Where each value is defined: the block and the index of the defining
/// instruction (`PARAM_INDEX` for parameters, `PHI_INDEX` for phis), and how
/// many definitions it has.
struct DefSites {
    count: Vec<u32>,
    block: Vec<u32>,
    index: Vec<i64>,
}

const PARAM_INDEX: i64 = -2;
const PHI_INDEX: i64 = -1;

impl DefSites {
    fn collect(f: &Function) -> Self {
        let n = f.values.len();
        let mut d = DefSites {
            count: vec![0; n],
            block: vec![NONE; n],
            index: vec![0; n],
        };
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
        d
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
            0 => {
                if reported.insert(vi) {
                    diags.push(Diagnostic::error(
                        pos,
                        format!("temporary %{} is used but never defined", f.values[vi].name),
                    ));
                }
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

struct Renamer {
    /// Rename-set index of each original value, `NONE` if left alone.
    var_of: Vec<u32>,
    /// The original value of each renamed variable.
    vars: Vec<Value>,
    /// Whether the original value id has been reused for a definition.
    original_used: Vec<bool>,
    /// Next suffix to try for each variable's derived names.
    next_suffix: Vec<u64>,
    /// Every value name in the function, to keep derived names unique.
    taken: HashSet<String>,
    /// Inserted phis are the values `phi_base..phi_end`.
    phi_base: u32,
    phi_end: u32,
    /// The variable each inserted phi merges.
    phi_var: Vec<u32>,
    /// The reaching definition of each variable during renaming.
    current: Vec<Option<Value>>,
}

impl Renamer {
    fn new(f: &Function, var_of: Vec<u32>, vars: Vec<Value>) -> Self {
        let n = vars.len();
        Renamer {
            var_of,
            vars,
            original_used: vec![false; n],
            next_suffix: vec![1; n],
            taken: f.values.iter().map(|v| v.name.clone()).collect(),
            phi_base: f.values.len() as u32,
            phi_end: f.values.len() as u32,
            phi_var: Vec::new(),
            current: vec![None; n],
        }
    }

    fn var(&self, v: Value) -> Option<usize> {
        match self.var_of.get(v.index()) {
            Some(&k) if k != NONE => Some(k as usize),
            _ => None,
        }
    }

    fn fresh_value(&mut self, f: &mut Function, k: usize) -> Value {
        let original = self.vars[k];
        let base = f.values[original.index()].name.clone();
        let ty = f.values[original.index()].ty;
        let name = loop {
            let candidate = format!("{base}.{}", self.next_suffix[k]);
            self.next_suffix[k] += 1;
            if !self.taken.contains(&candidate) {
                break candidate;
            }
        };
        self.taken.insert(name.clone());
        let v = Value(f.values.len() as u32);
        f.values.push(ValueData { name, ty });
        v
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
        let frontier = dominance_frontiers(cf);
        let mut def_blocks: Vec<Vec<u32>> = vec![Vec::new(); self.vars.len()];
        let mut note = |var_of: &[u32], v: Value, b: u32| {
            if let Some(&k) = var_of.get(v.index()) {
                if k != NONE && def_blocks[k as usize].last() != Some(&b) {
                    def_blocks[k as usize].push(b);
                }
            }
        };
        for p in &f.params {
            note(&self.var_of, p.value, 0);
        }
        if let Some(e) = f.env {
            note(&self.var_of, e, 0);
        }
        for (b, data) in f.blocks.iter().enumerate() {
            for phi in &data.phis {
                note(&self.var_of, phi.result, b as u32);
            }
            for inst in &data.insts {
                if let Some(r) = inst.result {
                    note(&self.var_of, r, b as u32);
                }
            }
        }
        let mut has_phi = vec![NONE; n];
        let mut queued = vec![NONE; n];
        let mut work: Vec<u32> = Vec::new();
        let mut placed: Vec<(u32, u32)> = Vec::new();
        for (k, blocks) in def_blocks.iter().enumerate() {
            let k32 = k as u32;
            work.clear();
            for &b in blocks {
                if queued[b as usize] != k32 {
                    queued[b as usize] = k32;
                    work.push(b);
                }
            }
            while let Some(x) = work.pop() {
                for &y in &frontier[x as usize] {
                    let yi = y.index();
                    if has_phi[yi] != k32 {
                        has_phi[yi] = k32;
                        placed.push((y.0, k32));
                        if queued[yi] != k32 {
                            queued[yi] = k32;
                            work.push(y.0);
                        }
                    }
                }
            }
        }
        // Deterministic value numbering: by block, then variable.
        placed.sort_unstable();
        self.phi_base = f.values.len() as u32;
        for (b, k) in placed {
            let v = self.fresh_value(f, k as usize);
            let pos = f.blocks[b as usize].pos;
            f.blocks[b as usize].phis.push(Phi {
                result: v,
                args: Vec::new(),
                pos,
            });
            self.phi_var.push(k);
        }
        self.phi_end = f.values.len() as u32;
    }

    fn inserted_phi_var(&self, v: Value) -> Option<usize> {
        (v.0 >= self.phi_base && v.0 < self.phi_end)
            .then(|| self.phi_var[(v.0 - self.phi_base) as usize] as usize)
    }

    /// Walks the dominator tree, giving each definition its own value and
    /// pointing each use at the definition that reaches it.
    fn rename(&mut self, f: &mut Function, cf: &ControlFlow, diags: &mut Vec<Diagnostic>) {
        let mut undo: Vec<(usize, Option<Value>)> = Vec::new();
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
        let mut stack: Vec<(usize, usize, usize)> = Vec::new();
        let mut succs: Vec<Block> = Vec::with_capacity(2);
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
        for i in 0..f.blocks[b].phis.len() {
            let r = f.blocks[b].phis[i].result;
            if let Some(k) = self.inserted_phi_var(r) {
                self.define(k, r, undo);
            } else if let Some(k) = self.var(r) {
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
            for phi in &mut f.blocks[s.index()].phis {
                if let Some(k) = self.inserted_phi_var(phi.result) {
                    let ty = f.values[phi.result.index()].ty;
                    let op = self.reaching(k, ty);
                    phi.args.push((pred, op));
                } else {
                    for (from, op) in &mut phi.args {
                        if *from != pred {
                            continue;
                        }
                        if let Operand::Value(v) = op {
                            if let Some(k) = self.var(*v) {
                                let ty = f.values[v.index()].ty;
                                *op = self.reaching(k, ty);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The definition of variable `k` reaching the current point, or the
    /// zero that stands for "not defined on this path".
    fn reaching(&self, k: usize, ty: BaseType) -> Operand {
        match self.current[k] {
            Some(v) => Operand::Value(v),
            None => undefined(ty),
        }
    }

    fn rewrite_use(
        &self,
        f: &Function,
        op: &mut Operand,
        pos: Pos,
        diags: &mut Vec<Diagnostic>,
    ) {
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
        let slot = |v: Value| (v.0 >= base && v.0 < base + count as u32).then(|| (v.0 - base) as usize);
        // Location of each inserted phi, and which inserted phis read it.
        let mut location = vec![(0u32, 0u32); count];
        let mut readers: Vec<Vec<u32>> = vec![Vec::new(); count];
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
        let mut replacement: Vec<Option<Operand>> = vec![None; count];
        let mut work: Vec<u32> = (0..count as u32).rev().collect();
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
                let op = resolve(&replacement, slot, op);
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
        let mut live = vec![false; count];
        let mut work: Vec<usize> = Vec::new();
        let mark = |op: &Operand, live: &mut Vec<bool>, work: &mut Vec<usize>| {
            if let Operand::Value(v) = resolve(&replacement, slot, op) {
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
                        mark(op, &mut live, &mut work);
                    }
                }
            }
            for inst in &data.insts {
                for_each_use(&inst.kind, |op| mark(op, &mut live, &mut work));
            }
            if let Some(op) = term_use(&data.term) {
                mark(op, &mut live, &mut work);
            }
        }
        while let Some(s) = work.pop() {
            let (b, i) = location[s];
            let args: Vec<Operand> = f.blocks[b as usize].phis[i as usize]
                .args
                .iter()
                .map(|(_, op)| op.clone())
                .collect();
            for op in &args {
                mark(op, &mut live, &mut work);
            }
        }
        for data in &mut f.blocks {
            data.phis.retain(|phi| match slot(phi.result) {
                Some(s) => live[s] && replacement[s].is_none(),
                None => true,
            });
            for phi in &mut data.phis {
                for (_, op) in &mut phi.args {
                    *op = resolve(&replacement, slot, op);
                }
            }
            for inst in &mut data.insts {
                for_each_use_mut(&mut inst.kind, |op| *op = resolve(&replacement, slot, op));
            }
            if let Some(op) = term_use_mut(&mut data.term) {
                *op = resolve(&replacement, slot, op);
            }
        }
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

/// Dominance frontier of each block (Cooper, Harvey and Kennedy's walk up
/// from each predecessor of a join point).
fn dominance_frontiers(cf: &ControlFlow) -> Vec<Vec<Block>> {
    let n = cf.len();
    let mut df: Vec<Vec<Block>> = vec![Vec::new(); n];
    for b in 0..n {
        if cf.preds[b].len() < 2 {
            continue;
        }
        let Some(stop) = cf.idom[b] else { continue };
        for &p in &cf.preds[b] {
            let mut runner = p;
            while runner != stop {
                let list = &mut df[runner.index()];
                if list.last() != Some(&Block(b as u32)) {
                    list.push(Block(b as u32));
                }
                match cf.idom[runner.index()] {
                    Some(up) => runner = up,
                    None => break,
                }
            }
        }
    }
    df
}

/// Calls `visit` on every operand an instruction reads, in text order.
pub(crate) fn for_each_use(kind: &InstKind, mut visit: impl FnMut(&Operand)) {
    match kind {
        InstKind::Binary { lhs, rhs, .. } | InstKind::Compare { lhs, rhs, .. } => {
            visit(lhs);
            visit(rhs);
        }
        InstKind::Unary { arg, .. } => visit(arg),
        InstKind::Load { addr, .. } => visit(addr),
        InstKind::Store { value, addr, .. } => {
            visit(value);
            visit(addr);
        }
        InstKind::Alloc { size, .. } => visit(size),
        InstKind::Blit { src, dst, .. } => {
            visit(src);
            visit(dst);
        }
        InstKind::Call {
            callee, env, args, ..
        } => {
            visit(callee);
            if let Some(e) = env {
                visit(e);
            }
            for CallArg { value, .. } in args {
                visit(value);
            }
        }
        InstKind::VaStart { ap } | InstKind::VaArg { ap } => visit(ap),
        InstKind::DbgLoc { .. } => {}
    }
}

/// Like [`for_each_use`], with mutable access.
pub(crate) fn for_each_use_mut(kind: &mut InstKind, mut visit: impl FnMut(&mut Operand)) {
    match kind {
        InstKind::Binary { lhs, rhs, .. } | InstKind::Compare { lhs, rhs, .. } => {
            visit(lhs);
            visit(rhs);
        }
        InstKind::Unary { arg, .. } => visit(arg),
        InstKind::Load { addr, .. } => visit(addr),
        InstKind::Store { value, addr, .. } => {
            visit(value);
            visit(addr);
        }
        InstKind::Alloc { size, .. } => visit(size),
        InstKind::Blit { src, dst, .. } => {
            visit(src);
            visit(dst);
        }
        InstKind::Call {
            callee, env, args, ..
        } => {
            visit(callee);
            if let Some(e) = env {
                visit(e);
            }
            for CallArg { value, .. } in args {
                visit(value);
            }
        }
        InstKind::VaStart { ap } | InstKind::VaArg { ap } => visit(ap),
        InstKind::DbgLoc { .. } => {}
    }
}

/// The operand a terminator reads, if any.
pub(crate) fn term_use(term: &Terminator) -> Option<&Operand> {
    match term {
        Terminator::Jnz { cond, .. } => Some(cond),
        Terminator::Ret(op) => op.as_ref(),
        Terminator::Jmp(_) | Terminator::Hlt => None,
    }
}

fn term_use_mut(term: &mut Terminator) -> Option<&mut Operand> {
    match term {
        Terminator::Jnz { cond, .. } => Some(cond),
        Terminator::Ret(op) => op.as_mut(),
        Terminator::Jmp(_) | Terminator::Hlt => None,
    }
}
