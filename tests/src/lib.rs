//! Support for the end-to-end corpus: the format of a corpus program's
//! expectations ([`case`]) and the report shown when a program's output
//! differs from them ([`diff`]).
//!
//! The runner itself is `tests/corpus.rs` (a libtest-mimic harness).
#![deny(missing_docs)]

pub mod batch;
pub mod case;
pub mod coverage;
pub mod diff;
pub mod generate;
pub mod mutate;
pub mod pipelines;
pub mod reduce;
mod rng;
pub mod skc_binary;
pub mod switch_trees;
