//! The text language: [`lexer`] and [`parser`] turn text into items one at
//! a time, [`printer`] writes them back; [`names`] and [`opcodes`] are the
//! spelling of names and instructions, [`diag`] the file:line:col
//! diagnostics, [`scan`] a quick look at a file's definitions.

pub mod diag;
pub mod lexer;
pub mod names;
pub(crate) mod opcodes;
pub mod parser;
pub mod printer;
pub mod scan;
