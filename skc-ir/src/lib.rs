//! skc-ir: the skc intermediate language (compatible with QBE IL).
//!
//! The source folders are the stages, each using only those listed
//! before it:
//!
//! - `ir/` — the data: items, functions, instructions ([`ir`]), the scalar
//!   types they are written in, and aggregate layouts ([`types`]).
//! - `lang/` — the text language: [`lexer`] and [`parser`] read one item
//!   at a time, [`printer`] writes items back; [`diag`] renders
//!   file:line:col errors; [`scan`] finds a file's local definitions
//!   without reading it, for reading several files as one module.
//! - `sema/` — what a parsed function means: [`cfg`](mod@cfg) (entry block,
//!   fall-through jumps, unreachable blocks, block order, dominators,
//!   loops), [`ssa`] (temps assigned more than once become SSA values),
//!   [`verify`]; and two analyses: [`switches`], which finds compare trees
//!   that are switches, and [`no_wrap`], which proves loop counter steps
//!   free of wrap.
//! - `transform/` — optional passes for backends: [`promote`] turns the
//!   stack slots of local variables into SSA values for backends without
//!   their own promotion; [`inline`] copies small functions that take or
//!   return structures by value into their callers and [`split`] gives each
//!   field of a local structure its own slot, so those are promoted too;
//!   [`rotate`] repeats a loop's test at its bottom, for backends that emit
//!   structured loops; [`version`] copies a loop with an inclusive test
//!   behind a guard, so that [`no_wrap`] can prove its counter's step.
//! - `contract/` — what backends implement and return: [`backend::Backend`]
//!   reading from an [`backend::ItemSource`], and [`plan::LinkPlan`]. It
//!   lives here so backends depend on this crate and not on the driver.
//!
//! [`reader::ItemReader`] is the reading pipeline: text → lexer → parser →
//! cfg → ssa → verify, handing verified items to a backend one at a time,
//! so only one function is in memory at a time. [`interpreter`] runs a
//! module by the language's semantics, as the reference for tests.
//!
//! Each stage's modules are re-exported here under their own names
//! (`skc_ir::cfg`, `skc_ir::printer`, …), which is the crate's API; inside
//! the crate, code names them by their stage (`crate::sema::cfg`), and
//! `cargo xtask imports` checks that no two files import each other in a
//! circle.
#![deny(missing_docs)]

mod contract;
pub mod interpreter;
pub mod ir;
mod lang;
pub mod reader;
mod sema;
mod transform;

// The stages are folders; their modules keep their places in the API.
pub use contract::{backend, plan};
pub use ir::types;
pub use lang::opcodes::instruction_names;
pub use lang::{diag, lexer, names, parser, printer, scan};
pub use sema::{cfg, no_wrap, ssa, switches, verify};
pub use transform::{carry, inline, promote, rotate, split, version};

#[cfg(test)]
mod test_support {
    use crate::ir::{Function, Item};
    use crate::reader::{read_module, Module};

    /// `text` read through the whole pipeline, and its first function.
    pub(crate) fn first_function(text: &str) -> (Module, Function) {
        let m = read_module(text, "t.ssa").expect("parses");
        let f = m
            .items
            .iter()
            .find_map(|i| match i {
                Item::Function(f) => Some(f.clone()),
                _ => None,
            })
            .expect("a function");
        (m, f)
    }
}
