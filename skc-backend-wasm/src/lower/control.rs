//! Control flow: the structured walk over the dominator tree (`block`,
//! `loop`, `if`), branches and `br_table`s, the dispatch loop of
//! irreducible functions, phi copies on edges, selects, and returns.

use anyhow::{anyhow, bail, Result};
use skc_ir::ir::{AbiType, BaseType, Block, Function, Operand, Phi, Terminator};
use wasm_encoder::{BlockType, Instruction as I, ValType};

use super::{FunctionCodegen, Label, MainKind, Place, Task, MAX_SELECTS, SHORT_PHI};
use crate::abi::{self, AggPassing};
use crate::ir_passes::switch_table;

impl<'a> FunctionCodegen<'a> {
    pub(super) fn run(&mut self, params: &[ValType]) -> Result<()> {
        if self.uses_frame {
            self.sp0 = self.new_local(ValType::I32);
            self.fp = self.new_local(ValType::I32);
        }
        self.bind_params(params)?;
        self.assign_value_locals();
        if self.st.reducible {
            self.do_tree(0)?;
        } else {
            self.dispatch()?;
        }
        // Every path has left through a branch or return already.
        self.ins(I::Unreachable);
        self.ins(I::End);
        Ok(())
    }

    /// Emits the subtree of the dominator tree rooted at `root`. Work is
    /// kept on an explicit stack rather than by recursion, so deep
    /// dominator trees (long chains of blocks) cannot exhaust the stack.
    pub(super) fn do_tree(&mut self, root: usize) -> Result<()> {
        let mut tasks = vec![Task::Tree(root)];
        while let Some(task) = tasks.pop() {
            match task {
                Task::Tree(x) => {
                    let merges = self.st.children[x]
                        .iter()
                        .filter(|&&c| self.st.merge[c])
                        .count();
                    if self.st.loop_header[x] {
                        self.ins(I::Loop(BlockType::Empty));
                        self.ctx.push(Label::LoopHeadedBy(x));
                        tasks.push(Task::Close);
                    }
                    tasks.push(Task::Within(x, merges));
                }
                Task::Within(x, open) => {
                    if open > 0 {
                        // The merge child with the highest reverse
                        // post-order number gets the outermost block.
                        let last = self.st.children[x]
                            .iter()
                            .copied()
                            .filter(|&c| self.st.merge[c])
                            .nth(open - 1)
                            .ok_or_else(|| anyhow!("internal error: merge child missing"))?;
                        self.ins(I::Block(BlockType::Empty));
                        self.ctx.push(Label::BlockFollowedBy(last));
                        tasks.push(Task::Tree(last));
                        tasks.push(Task::Close);
                        tasks.push(Task::Within(x, open - 1));
                    } else {
                        self.block_body(x)?;
                        self.terminator(x, &mut tasks)?;
                        self.check_no_pending()?;
                    }
                }
                Task::Close => {
                    self.ctx.pop();
                    self.ins(I::End);
                }
                Task::Else => self.ins(I::Else),
                Task::Branch(from, to) => self.branch(from, to, &mut tasks)?,
                Task::Jump(from, to) => self.jump(from, to, &mut tasks)?,
            }
        }
        Ok(())
    }

    pub(super) fn depth_of(&self, label: Label) -> Result<u32> {
        self.ctx
            .iter()
            .rev()
            .position(|&l| l == label)
            .map(|p| p as u32)
            .ok_or_else(|| anyhow!("internal error: branch target not in scope"))
    }

    /// Whether taking `from → to` is a `br` rather than inline code.
    pub(super) fn ends_in_br(&self, from: usize, to: usize) -> bool {
        self.dispatch_label.is_some() || self.st.is_backward(from, to) || self.st.merge[to]
    }

    /// Ends switch head `b` with its table. An entry branches straight to
    /// its target, or, when the edge has phi copies to make, to a `block`
    /// of its own after which the copies are made and the edge taken.
    pub(super) fn br_table(&mut self, b: usize, tasks: &mut Vec<Task>) -> Result<()> {
        let f = self.f;
        let sw = self
            .switches
            .at_head(Block(b as u32))
            .ok_or_else(|| anyhow!("internal error: no switch at this head"))?
            .clone();
        let window = switch_table::window(&sw);
        let targets = sw.targets();
        let with_copies: Vec<usize> = targets
            .iter()
            .map(|t| t.index())
            .filter(|&t| !f.blocks[t].phis.is_empty())
            .collect();
        for &t in with_copies.iter().rev() {
            self.ins(I::Block(BlockType::Empty));
            self.ctx.push(Label::SwitchArm(t));
        }
        let scrutinee = Operand::Value(sw.scrutinee);
        match sw.ty {
            BaseType::W => {
                self.operand(&scrutinee, BaseType::W)?;
                if window.start != 0 {
                    self.ins(I::I32Const(window.start as u32 as i32));
                    self.ins(I::I32Sub);
                }
            }
            _ => {
                // The index is `x - start` when that is below the length,
                // else the length itself (the default).
                self.operand(&scrutinee, BaseType::L)?;
                if window.start != 0 {
                    self.ins(I::I64Const(window.start as i64));
                    self.ins(I::I64Sub);
                }
                let index = self.scratch(ValType::I64);
                self.ins(I::LocalTee(index));
                self.ins(I::I32WrapI64);
                self.ins(I::I32Const(window.len as i32));
                self.ins(I::LocalGet(index));
                self.ins(I::I64Const(i64::from(window.len)));
                self.ins(I::I64LtU);
                self.ins(I::Select);
            }
        }
        let depth = |cx: &mut Self, t: usize| -> Result<u32> {
            if with_copies.contains(&t) {
                cx.depth_of(Label::SwitchArm(t))
            } else if cx.st.is_backward(b, t) {
                cx.depth_of(Label::LoopHeadedBy(t))
            } else {
                cx.depth_of(Label::BlockFollowedBy(t))
            }
        };
        // One depth per target, looked up per entry.
        let mut depths = std::collections::HashMap::with_capacity(targets.len());
        for t in &targets {
            depths.insert(*t, depth(self, t.index())?);
        }
        let entries: Vec<u32> = (0..window.len)
            .map(|i| depths[&switch_table::target_at(&sw, window, i)])
            .collect();
        let default = depths[&sw.default];
        self.ins(I::BrTable(entries.into(), default));
        for &t in &with_copies {
            self.ctx.pop();
            self.ins(I::End);
            let before = tasks.len();
            self.branch(b, t, tasks)?;
            if tasks.len() != before {
                bail!("internal error: a switch target is emitted inline");
            }
        }
        Ok(())
    }

    pub(super) fn branch(&mut self, from: usize, to: usize, tasks: &mut Vec<Task>) -> Result<()> {
        self.phi_copies(from, to)?;
        self.jump(from, to, tasks)
    }

    /// [`Self::branch`] once `to`'s phis are set.
    pub(super) fn jump(&mut self, from: usize, to: usize, tasks: &mut Vec<Task>) -> Result<()> {
        if let Some(label_local) = self.dispatch_label {
            self.ins(I::I32Const(to as i32));
            self.ins(I::LocalSet(label_local));
            let d = self.depth_of(Label::Dispatch)?;
            self.ins(I::Br(d));
        } else if self.st.is_backward(from, to) {
            let d = self.depth_of(Label::LoopHeadedBy(to))?;
            self.ins(I::Br(d));
        } else if self.st.merge[to] {
            let d = self.depth_of(Label::BlockFollowedBy(to))?;
            self.ins(I::Br(d));
        } else {
            tasks.push(Task::Tree(to));
        }
        Ok(())
    }

    /// Runs the branch tasks of a terminator in dispatch mode, where every
    /// branch is a jump to the dispatch loop and never continues inline.
    pub(super) fn run_dispatch_tasks(&mut self, mut tasks: Vec<Task>) -> Result<()> {
        while let Some(t) = tasks.pop() {
            match t {
                Task::Branch(from, to) => self.branch(from, to, &mut tasks)?,
                Task::Jump(from, to) => self.jump(from, to, &mut tasks)?,
                Task::Else => self.ins(I::Else),
                Task::Close => {
                    self.ctx.pop();
                    self.ins(I::End);
                }
                Task::Tree(_) | Task::Within(..) => {
                    bail!("internal error: inline code in dispatch mode")
                }
            }
        }
        Ok(())
    }

    /// A whole function as `loop { block … { br_table } code … }`.
    pub(super) fn dispatch(&mut self) -> Result<()> {
        let n = self.f.blocks.len();
        let label = self.new_local(ValType::I32);
        self.dispatch_label = Some(label);
        self.ins(I::I32Const(0));
        self.ins(I::LocalSet(label));
        self.ins(I::Loop(BlockType::Empty));
        self.ctx.push(Label::Dispatch);
        for b in (0..n).rev() {
            self.ins(I::Block(BlockType::Empty));
            self.ctx.push(Label::BlockFollowedBy(b));
        }
        self.ins(I::LocalGet(label));
        let targets: Vec<u32> = (0..n as u32).collect();
        self.ins(I::BrTable(targets.into(), n as u32 - 1));
        for b in 0..n {
            self.ctx.pop();
            self.ins(I::End);
            self.block_body(b)?;
            let mut tasks = Vec::new();
            self.terminator(b, &mut tasks)?;
            self.check_no_pending()?;
            self.run_dispatch_tasks(tasks)?;
        }
        self.ctx.pop();
        self.ins(I::End);
        Ok(())
    }

    /// Where the operand for `from` sits in the first phi of `to`.
    pub(super) fn phi_arg_position(&mut self, to: usize, from: usize) -> Option<usize> {
        let f = self.f;
        let first = f.blocks[to].phis.first()?;
        // A short list is scanned faster than a map is built and probed.
        if first.args.len() <= SHORT_PHI {
            return first.args.iter().position(|(b, _)| b.index() == from);
        }
        if self.phi_positions_for != Some(to) {
            self.phi_positions.clear();
            for (i, (b, _)) in first.args.iter().enumerate() {
                self.phi_positions.entry(b.index()).or_insert(i);
            }
            self.phi_positions_for = Some(to);
        }
        self.phi_positions.get(&from).copied()
    }

    pub(super) fn phi_copies(&mut self, from: usize, to: usize) -> Result<()> {
        let f = self.f;
        let phis = &f.blocks[to].phis;
        if phis.is_empty() {
            return Ok(());
        }
        // Phis usually list their operands in the same block order, so
        // the position found for the first phi is tried first (a merge
        // node may have thousands of predecessors).
        let hint = self.phi_arg_position(to, from);
        let mut dests = std::mem::take(&mut self.phi_dests);
        dests.clear();
        for phi in phis {
            let arg = phi_operand(f, phi, from, hint)?;
            let dest = self.local(phi.result);
            // A copy into the local it comes from is no copy at all.
            if let Operand::Value(v) = arg {
                if self.frame_slot(*v).is_none()
                    && self.local(*v) == dest
                    && f.value_type(*v) == f.value_type(phi.result)
                {
                    continue;
                }
            }
            self.operand(arg, f.value_type(phi.result))?;
            dests.push(dest);
        }
        for &d in dests.iter().rev() {
            self.ins(I::LocalSet(d));
        }
        self.phi_dests = dests;
        Ok(())
    }

    /// Emits a terminator; branches that continue with inline code are
    /// pushed on `tasks` (the last pushed runs first).
    pub(super) fn terminator(&mut self, b: usize, tasks: &mut Vec<Task>) -> Result<()> {
        let f = self.f;
        if self.switches.at_head(Block(b as u32)).is_some() {
            return self.br_table(b, tasks);
        }
        if let Some((cond, join, from_nonzero, from_zero)) = self.select_arms(b) {
            self.selects(cond, join, from_nonzero, from_zero)?;
            tasks.push(Task::Jump(b, join));
            return Ok(());
        }
        match &f.blocks[b].term {
            Terminator::Jmp(t) => {
                tasks.push(Task::Branch(b, t.index()));
                Ok(())
            }
            Terminator::Jnz {
                cond,
                nonzero,
                zero,
            } => {
                let (nz, z) = (nonzero.index(), zero.index());
                self.operand(cond, BaseType::W)?;
                // An edge that ends in a `br` goes in an `if` without
                // `else`; the other edge then continues after it at the
                // same depth, so chains of tests do not nest.
                if self.ends_in_br(b, z) && !self.ends_in_br(b, nz) {
                    self.ins(I::I32Eqz);
                    self.ins(I::If(BlockType::Empty));
                    self.ctx.push(Label::IfThenElse);
                    tasks.push(Task::Branch(b, nz));
                    tasks.push(Task::Close);
                    tasks.push(Task::Branch(b, z));
                } else if self.ends_in_br(b, nz) {
                    self.ins(I::If(BlockType::Empty));
                    self.ctx.push(Label::IfThenElse);
                    tasks.push(Task::Branch(b, z));
                    tasks.push(Task::Close);
                    tasks.push(Task::Branch(b, nz));
                } else {
                    self.ins(I::If(BlockType::Empty));
                    self.ctx.push(Label::IfThenElse);
                    tasks.push(Task::Close);
                    tasks.push(Task::Branch(b, z));
                    tasks.push(Task::Else);
                    tasks.push(Task::Branch(b, nz));
                }
                Ok(())
            }
            Terminator::Ret(v) => self.ret(v.as_ref()),
            Terminator::Hlt => {
                self.ins(I::Unreachable);
                Ok(())
            }
        }
    }

    /// Whether the `jnz` ending `b` only chooses the phi operands of one
    /// block: both arms lead to `join`, directly or through an empty block
    /// of their own. Returns `join` and the blocks its phis name for the
    /// non-zero and the zero arm. Such a branch becomes `select`s: the
    /// operands are already computed, and a branch on data (the `min` of
    /// a dynamic programme) is mispredicted often, a `select` never.
    pub(super) fn select_arms(&self, b: usize) -> Option<(&'a Operand, usize, usize, usize)> {
        let f = self.f;
        let Terminator::Jnz {
            cond,
            nonzero,
            zero,
        } = &f.blocks[b].term
        else {
            return None;
        };
        if self.dispatch_label.is_some() {
            return None;
        }
        // (the block the arm reaches, the block it reaches it from)
        let arm = |x: usize| {
            let data = &f.blocks[x];
            match data.term {
                Terminator::Jmp(j)
                    if x != b
                        && data.phis.is_empty()
                        && data.insts.is_empty()
                        && !self.st.merge[x]
                        && !self.st.loop_header[x] =>
                {
                    (j.index(), x)
                }
                _ => (x, b),
            }
        };
        let (join, from_nonzero) = arm(nonzero.index());
        let (join_z, from_zero) = arm(zero.index());
        (join == join_z && from_nonzero != from_zero && f.blocks[join].phis.len() <= MAX_SELECTS)
            .then_some((cond, join, from_nonzero, from_zero))
    }

    /// Sets `join`'s phis to their operand from `from_nonzero` or from
    /// `from_zero`, as `cond` chooses. All operands are read before any
    /// phi is written, as on an edge.
    pub(super) fn selects(
        &mut self,
        cond: &Operand,
        join: usize,
        from_nonzero: usize,
        from_zero: usize,
    ) -> Result<()> {
        let f = self.f;
        let c = self.scratch(ValType::I32);
        self.operand(cond, BaseType::W)?;
        self.ins(I::LocalSet(c));
        let mut dests = std::mem::take(&mut self.phi_dests);
        dests.clear();
        for phi in &f.blocks[join].phis {
            let t = f.value_type(phi.result);
            for from in [from_nonzero, from_zero] {
                self.operand(phi_operand(f, phi, from, None)?, t)?;
            }
            self.ins(I::LocalGet(c));
            self.ins(I::Select);
            dests.push(self.local(phi.result));
        }
        for &d in dests.iter().rev() {
            self.ins(I::LocalSet(d));
        }
        self.phi_dests = dests;
        Ok(())
    }

    pub(super) fn ret(&mut self, v: Option<&Operand>) -> Result<()> {
        let f = self.f;
        if let Some(sret) = self.sret_local {
            let Some(AbiType::Agg(id)) = f.ret else {
                bail!("internal error: result pointer without aggregate return");
            };
            let v = v.ok_or_else(|| {
                anyhow!("`${}` returns an aggregate but `ret` has no value", f.name)
            })?;
            let size = i32::try_from(self.types.get(id).size)
                .map_err(|_| anyhow!("`${}` returns an aggregate too large for wasm32", f.name))?;
            let in_place = matches!(v, Operand::Value(r)
                if self.built_in_place.get(r.index()).copied().unwrap_or(false)
                    || self.result_slot == Some(*r));
            if !in_place {
                self.copy_bytes(Place::Local(sret), v, size as u32)?;
            }
        } else if self.main != MainKind::No {
            match v {
                Some(v) => self.operand(v, BaseType::W)?,
                None => self.ins(I::I32Const(0)),
            }
        } else if let (Some(v), Some(ret)) = (v, f.ret) {
            match ret {
                AbiType::Base(b) => self.operand(v, b)?,
                AbiType::SubWord(k) => {
                    self.operand(v, BaseType::W)?;
                    self.extend_subword(k);
                }
                AbiType::Agg(id) => match abi::agg_passing(self.types, id) {
                    AggPassing::Scalar(e) => {
                        self.address(v)?;
                        self.load_ext(e);
                    }
                    AggPassing::Memory => bail!("internal error: aggregate return in memory"),
                },
            }
        } else {
            for t in self.results.clone() {
                self.ins(match t {
                    ValType::I32 => I::I32Const(0),
                    ValType::I64 => I::I64Const(0),
                    ValType::F32 => I::F32Const(0.0f32.into()),
                    _ => I::F64Const(0.0f64.into()),
                });
            }
        }
        if self.uses_frame && self.moves_stack_pointer {
            self.ins(I::LocalGet(self.sp0));
            self.stack_pointer(true);
        }
        self.ins(I::Return);
        Ok(())
    }

    // ---- instructions -------------------------------------------------

    pub(super) fn block_body(&mut self, b: usize) -> Result<()> {
        let f = self.f;
        let skipped = self
            .switches
            .at_head(Block(b as u32))
            .map(|sw| sw.condition);
        for (i, inst) in f.blocks[b].insts.iter().enumerate() {
            if inst.result.is_some() && inst.result == skipped {
                // The tree's first test: the table replaces it.
                continue;
            }
            let pending_before = self.pending;
            let offset = self.offsets.get(b, i);
            self.inst(inst, b == 0, offset).map_err(|e| {
                anyhow!("{}:{}: in `${}`: {e}", inst.pos.line, inst.pos.col, f.name)
            })?;
            if pending_before.is_some() && self.pending == pending_before {
                bail!("internal error: a stack value was not consumed");
            }
        }
        Ok(())
    }

    /// Fails if a value left on the stack for the terminator was not
    /// consumed by it.
    pub(super) fn check_no_pending(&self) -> Result<()> {
        if self.pending.is_some() {
            bail!("internal error: a stack value was not consumed");
        }
        Ok(())
    }
}

/// The operand `phi` takes on the edge from block `from`; `hint` is
/// where in its list that edge's operand usually is.
pub(super) fn phi_operand<'f>(
    f: &'f Function,
    phi: &'f Phi,
    from: usize,
    hint: Option<usize>,
) -> Result<&'f Operand> {
    hint.and_then(|i| phi.args.get(i))
        .filter(|(b, _)| b.index() == from)
        .or_else(|| phi.args.iter().find(|(b, _)| b.index() == from))
        .map(|(_, op)| op)
        .ok_or_else(|| {
            anyhow!(
                "phi `%{}` in `${}` has no operand for block @{}",
                f.values[phi.result.index()].name,
                f.name,
                f.blocks[from].name
            )
        })
}
