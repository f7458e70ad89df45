//! The compile phase: IL in, [`LinkPlan`] out. Everything it allocates
//! (reader, IR, backend state) is dropped when [`compile`] returns; only
//! the plan, which is plain data, survives.

use anyhow::{Context, Result};
use skc_ir::backend::Options;
use skc_ir::plan::LinkPlan;

use crate::cli::{Invocation, Product};
use crate::toolchain::DiscoveredToolchain;
use crate::{emit_ir, il_source};

/// Compiles the invocation's IL input and returns what remains to run.
pub fn compile(invocation: &Invocation, toolchain: &DiscoveredToolchain) -> Result<LinkPlan> {
    let mut items = il_source::items(invocation.il_input.as_ref())?;
    let input = invocation
        .il_input
        .as_ref()
        .map_or_else(|| "the link inputs".to_owned(), |i| i.display_name());
    match invocation.product {
        Product::Ir => {
            emit_ir::write_ir(items.as_mut(), &invocation.output)
                .with_context(|| format!("cannot print {input}"))?;
            Ok(LinkPlan::nothing())
        }
        Product::Backend(emit) => {
            let options = Options {
                opt_level: invocation.opt_level,
                debug_info: invocation.debug_info,
                emit,
                output: invocation.output.clone(),
                link_inputs: invocation.link_inputs.clone(),
                keep_temps: invocation.keep_temps,
                toolchain,
            };
            invocation
                .backend
                .compile(items.as_mut(), &options)
                .with_context(|| format!("cannot build {input} for {}", invocation.backend.name()))
        }
    }
}
