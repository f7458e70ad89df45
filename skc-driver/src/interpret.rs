//! `--interpret`: the IL inputs, read as one module as for a build, run
//! by skc-ir's reference interpreter instead of a backend. The module is
//! held whole (the interpreter needs every function at once), unlike a
//! build, whose memory stays proportional to the largest function.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use skc_ir::interpreter::{self, Limits};
use skc_ir::reader::Module;

use crate::cli::Invocation;
use crate::il_source;

/// The status `--interpret` exits with when the interpreter stops the
/// program (undefined behaviour, an unsupported function, a limit): apart
/// from every status a program can give, as `git bisect run` reads 125.
const STOPPED: u8 = 125;

pub fn run(invocation: &Invocation) -> Result<ExitCode> {
    if !invocation.link_inputs.is_empty() {
        bail!(
            "--interpret runs IL only: C sources, objects, libraries and linker flags cannot be \
             interpreted"
        );
    }
    if invocation.il_inputs.is_empty() {
        bail!("--interpret needs an IL input");
    }
    let mut source = il_source::items(&invocation.il_inputs, None)?;
    let mut items = Vec::new();
    while let Some(item) = source.next_item().context("cannot read the IL")? {
        items.push(item);
    }
    let module = Module {
        types: source.types().clone(),
        items,
    };
    drop(source);
    let args: Vec<&str> = invocation.program_args.iter().map(String::as_str).collect();
    // The interpreter runs on a thread of its own: the handle, not a lock.
    let mut out = std::io::stdout();
    match interpreter::run(&module, &args, &mut out, Limits::default()) {
        Ok(status) => Ok(ExitCode::from(status as u8)),
        Err(stop) => {
            eprintln!("skc: the interpreter stopped the program: {stop}");
            Ok(ExitCode::from(STOPPED))
        }
    }
}
