//! The wasm32-wasi backend: compiles skc IR to a relocatable wasm32 object
//! (written with `wasm-encoder`, following the WebAssembly tool-conventions
//! linking format) and plans a link with `wasm-ld` against wasi-libc.
//!
//! Items are compiled one at a time: each function's encoded bytes and
//! relocations go to temporary files as soon as it is compiled, and the
//! object is assembled from them at the end ([`object::Object`]), so
//! memory does not grow with the module's code.
//!
//! The source folders are the stages a function goes through, then the
//! C boundary:
//!
//! - `ir_passes/` — rewrites of the function's IR and the facts lowering
//!   relies on (which `l` values can be 32-bit, folded offsets, a result
//!   built in place, dense switches, `setjmp`).
//! - `lower/` — instruction selection ([`lower`]): structured control flow,
//!   locals, the operand stack, small copies.
//! - `object/` — the relocatable object ([`object::Object`]): symbols,
//!   data segments, relocations, spooled bodies, LEB128.
//! - `wasi/` — LP64 IL against wasm32's ILP32 C library: calls adapted as
//!   they are compiled, known C library functions, and the link-time
//!   bridge.
//!
//! [`abi`] (the C calling convention) is shared by all of them; [`plan`]
//! is the link. Each module is also re-exported here under its own name
//! (`skc_backend_wasm::narrow`, `::codegen` for [`lower`], …).
//!
//! Target conventions:
//! - Types: `w`→i32, `l`→i64, `s`→f32, `d`→f64. Addresses are 32-bit; an
//!   `l` used as an address is wrapped to its low 32 bits.
//! - Calls follow the wasm32 C ABI ([`abi`]), so IL and C code compiled by
//!   clang for wasm32 call each other directly; where their signatures
//!   differ in integer widths or arity, the link bridge ([`bridge`])
//!   adapts them. `env` travels in memory beside the call
//!   ([`object::ENV_SLOT`]), not as a parameter.
//! - `main` becomes `__main_argc_argv(i32, i32) -> i32` when it takes one
//!   or two parameters and `__main_void() -> i32` when it takes none, as
//!   wasi-libc's start code expects; an LP64 `main(w, l)` or
//!   `main(w, l, l)` is called by the runtime with 8-byte-pointer copies
//!   of `argv` and `envp`. A `main` without a result exits with 0.
//! - Thread-local data becomes ordinary data: the modules are
//!   single-threaded. `hlt` is `unreachable`.
//! - A symbol is a function if this object defines it as one, calls it
//!   directly or through its address, if it is a known C library function
//!   or a C input of the link declares it as one ([`kinds`]); other
//!   undefined symbols are data.
//! - Debug information (`-g`) is not emitted.
//! - Local variables kept in start-block stack slots become SSA values
//!   ([`skc_ir::promote`]) before code generation, at every optimisation
//!   level; the slots that remain live in the shadow stack.
#![deny(missing_docs)]

pub mod abi;
mod ir_passes;
pub mod lower;
pub mod object;
pub mod plan;
mod wasi;

// The stages are folders; their modules keep their places in the API.
pub use ir_passes::{implicit_varargs, narrow, offsets, result_slot, setjmp, switch_table};
pub use lower as codegen;
pub use lower::{copy, irreducible, locals, stack, structure};
pub use object::{data, kinds, leb, names, spool, table_slots};
pub use wasi::{bridge, libc, lp64};

#[cfg(test)]
mod test_support {
    use skc_ir::ir::{Function, Item};

    /// The first function of an IL text, read through the whole pipeline.
    pub(crate) fn function(text: &str) -> Function {
        let m = skc_ir::reader::read_module(text, "t.ssa").expect("parses");
        m.items
            .into_iter()
            .find_map(|i| match i {
                Item::Function(f) => Some(f),
                _ => None,
            })
            .expect("a function")
    }

    /// The relocatable object of an IL text.
    pub(crate) fn object(text: &str) -> Vec<u8> {
        let m = skc_ir::reader::read_module(text, "t.ssa").expect("parses");
        let mut source = skc_ir::reader::ModuleSource::new(m);
        crate::compile_object(&mut source).expect("compiles")
    }
}

use std::io::Write;

use anyhow::Context;
use skc_ir::backend::{Backend, BackendRegistration, Emit, ItemSource, Options};
use skc_ir::ir::Item;
use skc_ir::plan::LinkPlan;

/// The wasm32-wasi target.
pub struct WasmBackend;

impl Backend for WasmBackend {
    fn name(&self) -> &'static str {
        "wasm32"
    }

    fn has_library_names(&self) -> bool {
        true
    }

    fn lowers_as_library(&self, name: &str) -> bool {
        wasi::libc::is_c_library_function(name)
            || setjmp::Intrinsic::from_name(name).is_some()
            || setjmp::is_longjmp(name)
            || wasi::lp64::data_symbol(name) != name
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
        items: &mut dyn ItemSource,
        options: &Options<'_>,
    ) -> anyhow::Result<LinkPlan> {
        let mut obj = object::Object::new();
        let mut elsewhere = std::collections::HashSet::new();
        for input in &options.link_inputs {
            if let skc_ir::backend::LinkInput::CSource(path) = input {
                let text = std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                object::kinds::c_file_functions(&text, &mut elsewhere);
            }
        }
        obj.set_functions_elsewhere(elsewhere);
        // At -O0 every call stays a call and every loop as written, for
        // backtraces, breakpoints and compile time.
        let optimize = options.opt_level != skc_ir::backend::OptLevel::O0;
        let obj = compile_items_into(items, obj, optimize)?;
        match options.emit {
            Emit::Object => {
                write_atomically(options, |out| obj.finish_into(out))?;
                Ok(LinkPlan::nothing())
            }
            Emit::Assembly | Emit::Wat => {
                let bytes = obj.finish()?;
                let text = wasmprinter::print_bytes(&bytes)
                    .context("internal error: cannot print the object")?;
                drop(bytes);
                write_atomically(options, |out| {
                    out.write_all(text.as_bytes())
                        .with_context(|| format!("cannot write {}", options.output.display()))
                })?;
                Ok(LinkPlan::nothing())
            }
            Emit::Llvm => anyhow::bail!("--emit=llvm is not available for the wasm32 target"),
            Emit::Executable => {
                let mut plan = LinkPlan::nothing();
                let object = plan::temp_file(&mut plan, options, ".o")?;
                let file = std::fs::File::create(&object)
                    .with_context(|| format!("cannot write {}", object.display()))?;
                let mut out = std::io::BufWriter::with_capacity(64 << 10, file);
                obj.finish_into(&mut out)
                    .with_context(|| format!("cannot write {}", object.display()))?;
                drop(out);
                plan::link_plan(plan, object, options)
            }
        }
    }

    fn run_step(&self, name: &str, args: &[std::ffi::OsString]) -> anyhow::Result<()> {
        match name {
            wasi::bridge::STEP_NAME => wasi::bridge::run_step(args),
            _ => anyhow::bail!("the wasm32 target has no plan step `{name}`"),
        }
    }
}

/// The WebAssembly features generated code uses (beyond 1.0): bulk memory
/// (`memory.copy`), sign extension, saturating float-to-int conversion,
/// and the 5-byte table immediate of `call_indirect` that the linker
/// relocates.
pub fn wasm_features() -> wasmparser::WasmFeatures {
    use wasmparser::WasmFeatures as F;
    F::WASM1
        | F::BULK_MEMORY
        | F::SIGN_EXTENSION
        | F::SATURATING_FLOAT_TO_INT
        | F::CALL_INDIRECT_OVERLONG
}

/// Compiles every item into a relocatable wasm32 object in memory.
pub fn compile_object(items: &mut dyn ItemSource) -> anyhow::Result<Vec<u8>> {
    compile_items(items)?.finish()
}

/// Compiles every item; the object's bulk is spooled to temporary files
/// until it is written with [`object::Object::finish_into`].
pub fn compile_items(items: &mut dyn ItemSource) -> anyhow::Result<object::Object> {
    compile_items_into(items, object::Object::new(), true)
}

/// [`compile_items`] into an object that may already know about the
/// other inputs of the link; `optimize` (from `-O1`) lets small
/// functions defined earlier in a file be inlined into their callers
/// ([`skc_ir::inline`]) and loops be rotated ([`skc_ir::rotate`]).
pub fn compile_items_into(
    items: &mut dyn ItemSource,
    mut obj: object::Object,
    optimize: bool,
) -> anyhow::Result<object::Object> {
    let mut variadic = ir_passes::implicit_varargs::VariadicDefinitions::default();
    let mut inliner = skc_ir::inline::Inliner::new();
    // Functions of the current file, defined so far, that write no memory.
    let mut quiet: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut source: Option<String> = None;
    while let Some(item) = items.next_item()? {
        obj.set_source(items.source_name());
        if items.source_name() != source.as_deref() {
            // Type ids and local symbols belong to one file.
            inliner.clear();
            quiet.clear();
            source = items.source_name().map(str::to_owned);
        }
        match item {
            Item::Function(mut f) => {
                variadic.note(&f);
                variadic.mark_calls(&mut f);
                if optimize {
                    inliner.inline_calls(&mut f, items.types());
                    // Structures passed by value become slots of the
                    // caller once the callee is inlined.
                    skc_ir::split::split_slots(&mut f);
                }
                // At every optimisation level: without it every local
                // variable lives in shadow-stack memory.
                skc_ir::promote::promote_slots(&mut f);
                if optimize {
                    inliner.offer(&f);
                    if quiet.len() < MAX_QUIET && skc_ir::carry::writes_no_memory(&f) {
                        quiet.insert(f.name.clone());
                    }
                }
                object::kinds::note_called_addresses(&f, &mut obj);
                let is_quiet = |name: &str| quiet.contains(name);
                lower::compile_function_knowing(
                    &mut f,
                    items.types(),
                    &mut obj,
                    optimize,
                    &is_quiet,
                )?
            }
            Item::Data(d) => object::data::compile_data(&d, &mut obj)?,
            Item::Type(_) | Item::DbgFile(_) => {}
        }
    }
    Ok(obj)
}

/// How many names of functions that write no memory one file keeps (a
/// bound on memory; more are simply not known).
const MAX_QUIET: usize = 1 << 16;

/// Writes the output through a staging file beside it, renamed into place
/// only once `write` has succeeded.
fn write_atomically(
    options: &Options<'_>,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let path = &options.output;
    let tmp = options.files.staging(path, false)?;
    let mut out = std::io::BufWriter::with_capacity(64 << 10, tmp);
    write(&mut out).with_context(|| format!("cannot write {}", path.display()))?;
    let tmp = out
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

inventory::submit!(BackendRegistration(&WasmBackend));
