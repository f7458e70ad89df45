//! The native backend: skc IR → LLVM IR text, then one clang step that
//! compiles (and links) it for the host, following the System V x86-64 C ABI.
#![deny(missing_docs)]

use skc_ir::backend::{Backend, BackendRegistration, ItemSource, Options};
use skc_ir::plan::LinkPlan;

/// The host target triple LLVM code is generated for.
pub const HOST_TRIPLE: &str = "x86_64-unknown-linux-gnu";

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
        _items: &mut dyn ItemSource,
        _options: &Options<'_>,
    ) -> anyhow::Result<LinkPlan> {
        anyhow::bail!("native backend: not implemented yet")
    }
}

inventory::submit!(BackendRegistration(&NativeBackend));
