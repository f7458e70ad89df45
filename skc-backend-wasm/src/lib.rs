//! The wasm32-wasi backend: compiles skc IR to a relocatable wasm32 object
//! (written with `wasm-encoder`, following the WebAssembly tool-conventions
//! linking format) and plans a link with `wasm-ld` against wasi-libc.
#![deny(missing_docs)]

use skc_ir::backend::{Backend, BackendRegistration, ItemSource, Options};
use skc_ir::plan::LinkPlan;

/// The wasm32-wasi target.
pub struct WasmBackend;

impl Backend for WasmBackend {
    fn name(&self) -> &'static str {
        "wasm32"
    }

    fn aliases(&self) -> Vec<String> {
        ["wasm32-wasi", "wasm32-wasip1", "wasm32-unknown-wasi"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn triple(&self) -> String {
        "wasm32-unknown-wasi".to_string()
    }

    fn description(&self) -> &'static str {
        "WebAssembly modules for WASI (wasm32, linked with wasm-ld and wasi-libc)"
    }

    fn default_output(&self) -> &'static str {
        "a.wasm"
    }

    fn compile(
        &self,
        _items: &mut dyn ItemSource,
        _options: &Options<'_>,
    ) -> anyhow::Result<LinkPlan> {
        anyhow::bail!("the wasm32 backend is not implemented yet")
    }
}

inventory::submit!(BackendRegistration(&WasmBackend));
