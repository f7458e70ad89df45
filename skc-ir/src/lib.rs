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
//! variables into SSA values.
//!
//! The backend contract ([`backend::Backend`], [`plan::LinkPlan`]) lives
//! here too, so backends depend on this crate and not on the driver.
#![deny(missing_docs)]

pub mod backend;
pub mod cfg;
pub mod diag;
pub mod interpreter;
pub mod ir;
pub mod lexer;
pub mod names;
mod opcodes;
pub mod parser;
pub mod plan;
pub mod printer;
pub mod promote;
pub mod reader;
pub mod scan;
pub mod ssa;
pub mod switches;
pub mod types;
pub mod verify;

pub use opcodes::instruction_names;
