//! The compile phase: IL in, [`LinkPlan`] out. Everything it allocates
//! (reader, IR, backend state) is dropped when [`compile`] returns; only
//! the plan, which is plain data, survives.

use std::path::Path;

use anyhow::{Context, Result};
use skc_ir::backend::{Files, Options};
use skc_ir::plan::LinkPlan;
use tempfile::TempPath;

use crate::cleanup::SignalSafeFiles;
use crate::cli::{IlInput, Invocation, Product};
use crate::toolchain::DiscoveredToolchain;
use crate::{emit_ir, il_source};

/// What the compile phase leaves behind.
pub struct Compiled {
    /// What remains to run.
    pub plan: LinkPlan,
    /// With `-o -`: the file the backend's output goes to, copied to
    /// standard output once the plan succeeded (backends write files).
    pub stdout_copy: Option<TempPath>,
}

/// Compiles the invocation's IL input and returns what remains to run.
pub fn compile(invocation: &Invocation, toolchain: &DiscoveredToolchain) -> Result<Compiled> {
    let mut items = il_source::items(&invocation.il_inputs, Some(invocation.backend))?;
    let input = match invocation.il_inputs.as_slice() {
        [] => "the link inputs".to_owned(),
        inputs => inputs
            .iter()
            .map(IlInput::display_name)
            .collect::<Vec<_>>()
            .join(" + "),
    };
    match invocation.product {
        Product::Interpret => unreachable!("the driver interprets before compiling"),
        Product::Ir => {
            emit_ir::write_ir(items.as_mut(), &invocation.output, &SignalSafeFiles)
                .with_context(|| format!("cannot print {input}"))?;
            Ok(Compiled {
                plan: LinkPlan::nothing(),
                stdout_copy: None,
            })
        }
        Product::Backend(emit) => {
            let stdout_copy = if invocation.output == Path::new("-") {
                let file = SignalSafeFiles
                    .temporary(".out")
                    .context("cannot create a temporary file for standard output")?;
                Some(file.into_temp_path())
            } else {
                None
            };
            let output = match &stdout_copy {
                Some(temp) => temp.to_path_buf(),
                None => invocation.output.clone(),
            };
            let options = Options {
                opt_level: invocation.opt_level,
                debug_info: invocation.debug_info,
                emit,
                output,
                source_name: invocation
                    .il_inputs
                    .first()
                    .map(IlInput::display_name)
                    .unwrap_or_default(),
                link_inputs: invocation.link_inputs.clone(),
                keep_temps: invocation.keep_temps,
                stubs: invocation.stubs,
                toolchain,
                files: &SignalSafeFiles,
            };
            let plan = invocation
                .backend
                .compile(items.as_mut(), &options)
                .with_context(|| {
                    format!("cannot build {input} for {}", invocation.backend.name())
                })?;
            Ok(Compiled { plan, stdout_copy })
        }
    }
}
