//! The C boundary derived from the objects' own types.
//!
//! IL is LP64 (`l` pointers, `long`, `size_t`) while wasm32's C is ILP32,
//! so a function crossing between IL and C code often has two wasm
//! signatures that differ only in i32/i64 widths, or in trailing
//! arguments. Before wasm-ld runs, a plan step (`skc --backend-step wasm32
//! lp64-bridge …`) reads the function signatures every input defines and
//! imports, decides where the two sides disagree, and writes:
//! - an object of adapter functions converting between the signatures,
//! - copies of the IL objects whose symbols are routed through them.
//!
//! Mismatches no adapter can bridge (a float where the other side has an
//! integer) are errors before the link, naming both sides.

pub mod adapters;
pub mod archive;
pub mod rename;
pub mod signature;
