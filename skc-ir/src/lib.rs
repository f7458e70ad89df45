//! skc-ir: the skc intermediate language (compatible with QBE IL).
//!
//! Reading a file goes text → [`lexer`] → [`parser`] (one item at a time)
//! → [`cfg`] (entry block, fall-through jumps, unreachable blocks, block
//! order) → [`ssa`] (temps assigned more than once become SSA values) →
//! [`verify`]. [`reader::ItemReader`] runs that pipeline and hands verified
//! items to a backend through the [`backend::ItemSource`] trait, so only one
//! function is in memory at a time. [`printer`] writes items back as text.
//!
//! [`scan`] finds a file's local definitions without reading it, for
//! reading several files as one module.
//!
//! [`promote`] is an optional pass for backends without their own
//! memory-to-register promotion: it turns the stack slots of local
//! variables into SSA values. [`inline`] copies small functions defined
//! earlier into their callers and [`split`] gives each field of a local
//! structure its own slot, so that structures passed by value can be
//! promoted too. [`rotate`] is for backends that emit structured loops: it
//! repeats a loop's test at its bottom.
//!
//! The backend contract ([`backend::Backend`], [`plan::LinkPlan`]) lives
//! here too, so backends depend on this crate and not on the driver.
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
use lang::opcodes;
pub use lang::{diag, lexer, names, parser, printer, scan};
pub use sema::{cfg, ssa, switches, verify};
pub use transform::{inline, promote, rotate, split};

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
