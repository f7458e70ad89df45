//! The link plan: one clang step reading the LLVM text as `/dev/fd/N`.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use skc_ir::backend::{Emit, ItemSource, LinkInput, OptLevel, Options, Tool};
use skc_ir::plan::{LinkPlan, PlanAction, Step};

use crate::emit::write_module;

/// Compiles every item and returns the plan.
pub fn compile(items: &mut dyn ItemSource, options: &Options<'_>) -> anyhow::Result<LinkPlan> {
    let optimized = options.opt_level != OptLevel::O0;
    match options.emit {
        Emit::Wat => anyhow::bail!("--emit=wat is only available for the wasm32 target"),
        Emit::Llvm => {
            write_llvm_output(items, &options.output, options.debug_info, optimized)?;
            return Ok(LinkPlan::nothing());
        }
        Emit::Executable | Emit::Object | Emit::Assembly => {}
    }
    let clang = options.toolchain.tool(Tool::Clang)?;
    let mut plan_files = Vec::new();
    let ir_path: PathBuf;
    let mut inputs = Vec::new();
    if options.keep_temps {
        let tmp = tempfile::Builder::new()
            .prefix("skc-")
            .suffix(".ll")
            .tempfile()
            .context("creating a temporary file for LLVM IR")?;
        write_to(items, tmp.as_file(), options.debug_info, optimized)?;
        let (_, path) = tmp.keep().context("keeping the LLVM IR file")?;
        inputs.push(path.clone());
        ir_path = path;
    } else {
        let file = tempfile::tempfile().context("creating a temporary file for LLVM IR")?;
        write_to(items, &file, options.debug_info, optimized)?;
        ir_path = PathBuf::from(format!("/dev/fd/{}", raw_fd(&file)));
        plan_files.push(file);
    }
    let mut args: Vec<OsString> = vec![options.opt_level.flag().into()];
    if options.debug_info {
        args.push("-g".into());
    }
    args.push("-ffp-contract=off".into());
    args.extend(["-x".into(), "ir".into(), ir_path.into_os_string()]);
    if options
        .link_inputs
        .iter()
        .any(|i| matches!(i, LinkInput::CSource(_) | LinkInput::File(_)))
    {
        // Later inputs are typed by their extension again.
        args.extend(["-x".into(), "none".into()]);
    }
    for input in &options.link_inputs {
        match input {
            LinkInput::CSource(p) | LinkInput::File(p) => {
                inputs.push(p.clone());
                args.push(p.clone().into_os_string());
            }
            LinkInput::Lib(name) => args.push(prefixed("-l", name)),
            LinkInput::LibDir(dir) => args.push(prefixed("-L", dir.as_os_str())),
            LinkInput::LinkerArg(a) => args.push(prefixed("-Wl,", a)),
        }
    }
    match options.emit {
        Emit::Object => args.push("-c".into()),
        Emit::Assembly => args.push("-S".into()),
        _ => {}
    }
    args.push("-o".into());
    args.push(options.output.clone().into_os_string());
    let step = Step {
        name: "clang".into(),
        program: clang,
        args,
        env: Vec::new(),
        inputs,
        outputs: vec![options.output.clone()],
    };
    let mut plan = LinkPlan::new(PlanAction::Exec(step));
    plan.inherited_files = plan_files;
    Ok(plan)
}

fn prefixed(prefix: &str, rest: &std::ffi::OsStr) -> OsString {
    let mut s = OsString::from(prefix);
    s.push(rest);
    s
}

fn raw_fd(file: &File) -> i32 {
    use std::os::unix::io::AsRawFd;
    file.as_raw_fd()
}

fn write_to(
    items: &mut dyn ItemSource,
    file: &File,
    debug: bool,
    optimized: bool,
) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, file);
    write_module(items, &mut out, debug, optimized)?;
    out.flush().context("writing LLVM IR")?;
    Ok(())
}

/// `--emit=llvm`: the text appears at `output` atomically.
fn write_llvm_output(
    items: &mut dyn ItemSource,
    output: &Path,
    debug: bool,
    optimized: bool,
) -> anyhow::Result<()> {
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".skc-")
        .suffix(".ll.tmp")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    write_to(items, tmp.as_file(), debug, optimized)?;
    tmp.persist(output)
        .with_context(|| format!("writing {}", output.display()))?;
    Ok(())
}
