//! The link plan: one clang step reading the LLVM text as `/dev/fd/N`.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use skc_ir::backend::{Emit, ItemSource, LinkInput, OptLevel, Options, Tool};
use skc_ir::ir::Item;
use skc_ir::plan::{LinkPlan, PlanAction, Step};
use skc_ir::types::TypeTable;

use crate::dialect::Dialect;
use crate::emit::write_module;
use crate::text::quoted;

/// Compiles every item and returns the plan.
pub fn compile(items: &mut dyn ItemSource, options: &Options<'_>) -> anyhow::Result<LinkPlan> {
    let optimized = options.opt_level != OptLevel::O0;
    match options.emit {
        Emit::Wat => anyhow::bail!("--emit=wat is only available for the wasm32 target"),
        Emit::Llvm => {
            write_llvm_output(items, options, optimized)?;
            return Ok(LinkPlan::nothing());
        }
        Emit::Executable | Emit::Object | Emit::Assembly => {}
    }
    let clang = options.toolchain.tool(Tool::Clang)?;
    let mut plan_files = Vec::new();
    let ir_path: PathBuf;
    let mut inputs = Vec::new();
    if options.keep_temps {
        let tmp = options.files.temporary(".ll")?;
        write_to(items, tmp.as_file(), options, optimized)?;
        let (_, path) = tmp.keep().context("keeping the LLVM IR file")?;
        inputs.push(path.clone());
        ir_path = path;
    } else {
        let file = tempfile::tempfile().context("creating a temporary file for LLVM IR")?;
        write_to(items, &file, options, optimized)?;
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
        // GNU as rejects the address-significance table's directives.
        Emit::Assembly => args.extend(["-S".into(), "-fno-addrsig".into()]),
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
    options: &Options<'_>,
    optimized: bool,
) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, file);
    // Without it clang names the module after the file it reads, so
    // assembly and objects would say `.file "4"` (from `/dev/fd/4`) or name
    // a temporary `.ll`.
    writeln!(out, "source_filename = {}", quoted(&options.source_name))
        .context("writing LLVM IR")?;
    let mut items = NamedSource::new(items, &options.source_name);
    write_module(
        &mut items,
        &mut out,
        options.debug_info,
        optimized,
        dialect(options),
    )?;
    out.flush().context("writing LLVM IR")?;
    Ok(())
}

/// `items` with a `dbgfile` naming the IL input before the first function
/// when none came before it, so that debug information gives the IL file
/// (not `<stdin>`) for functions the IL does not place in a source file.
struct NamedSource<'a> {
    items: &'a mut dyn ItemSource,
    name: &'a str,
    file_known: bool,
    held: Option<Item>,
}

impl<'a> NamedSource<'a> {
    fn new(items: &'a mut dyn ItemSource, name: &'a str) -> Self {
        NamedSource {
            items,
            name,
            file_known: name.is_empty(),
            held: None,
        }
    }
}

impl ItemSource for NamedSource<'_> {
    fn next_item(&mut self) -> Result<Option<Item>, skc_ir::backend::InputErrors> {
        if let Some(item) = self.held.take() {
            return Ok(Some(item));
        }
        let item = self.items.next_item()?;
        match item {
            Some(Item::DbgFile(_)) => self.file_known = true,
            Some(Item::Function(_)) if !self.file_known => {
                self.file_known = true;
                self.held = item;
                return Ok(Some(Item::DbgFile(self.name.to_owned())));
            }
            _ => {}
        }
        Ok(item)
    }

    fn types(&self) -> &TypeTable {
        self.items.types()
    }
}

/// `--emit=llvm`: the text appears at the output atomically.
fn write_llvm_output(
    items: &mut dyn ItemSource,
    options: &Options<'_>,
    optimized: bool,
) -> anyhow::Result<()> {
    let output = &options.output;
    let tmp = options.files.staging(output, false)?;
    write_to(items, tmp.as_file(), options, optimized)?;
    tmp.persist(output)
        .with_context(|| format!("writing {}", output.display()))?;
    Ok(())
}

/// The LLVM IR of the clang a build would use: the one that compiles it,
/// or for `--emit=llvm` the one found, if any.
fn dialect(options: &Options<'_>) -> Dialect {
    let toolchain = options.toolchain;
    match toolchain.optional_tool(Tool::Clang) {
        Some(_) => Dialect::for_llvm(toolchain.tool_version(Tool::Clang)),
        None => Dialect::NEWEST,
    }
}
