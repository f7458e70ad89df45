//! The native backend: skc IR → LLVM IR text, then one clang step that
//! compiles (and links) it for the host, following the System V x86-64 C ABI.
//!
//! Items stream through [`emit::write_module`]: each function is lowered,
//! written and dropped, so memory stays proportional to the largest
//! function. The LLVM text goes to an unlinked temporary file that clang
//! reads as `/dev/fd/N` (see [`plan`]).
#![deny(missing_docs)]

pub mod abi;
pub mod asm_data;
pub mod counters;
pub mod dialect;
pub mod emit;
pub mod libc;
pub mod lower;
pub mod module;
pub mod plan;
pub mod repr;
pub mod text;

use skc_ir::backend::{Backend, BackendRegistration, ItemSource, Options};
use skc_ir::plan::LinkPlan;

/// The host target triple LLVM code is generated for.
pub const HOST_TRIPLE: &str = module::TRIPLE;

/// The native (host) backend.
pub struct NativeBackend;

impl Backend for NativeBackend {
    fn name(&self) -> &'static str {
        "native"
    }

    fn aliases(&self) -> Vec<String> {
        [
            "x86_64-linux-gnu",
            "x86_64-unknown-linux-gnu",
            "x86_64-pc-linux-gnu",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn triple(&self) -> String {
        HOST_TRIPLE.to_string()
    }

    fn description(&self) -> &'static str {
        "the host (x86-64 Linux) via LLVM IR and clang"
    }

    fn default_output(&self) -> &'static str {
        "a.out"
    }

    fn compile(
        &self,
        items: &mut dyn ItemSource,
        options: &Options<'_>,
    ) -> anyhow::Result<LinkPlan> {
        plan::compile(items, options)
    }
}

inventory::submit!(BackendRegistration(&NativeBackend));
