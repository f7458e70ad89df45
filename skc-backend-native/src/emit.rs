//! Writing a whole module: header, items as they stream in, declarations.

use std::io::Write;

use anyhow::Context;
use skc_ir::backend::ItemSource;
use skc_ir::ir::Item;
use skc_ir::no_wrap::NoWrap;

use crate::counters;

use crate::dialect::Dialect;
use crate::lower::{lower_function, Scratch};
use crate::module::ModuleState;
use crate::text::Buf;

/// Lowers every item from `items` and writes the LLVM module to `out`.
/// `debug` turns on line tables; `optimized` is recorded in them;
/// `dialect` is what the clang that reads the module accepts.
pub fn write_module(
    items: &mut dyn ItemSource,
    out: &mut dyn Write,
    debug: bool,
    optimized: bool,
    dialect: Dialect,
) -> anyhow::Result<()> {
    let mut m = ModuleState::new(debug, optimized, dialect);
    // One buffer and one set of scratch space, reused by every function.
    let mut text = Buf::default();
    let mut scratch = Scratch::default();
    m.write_header(out).context("writing LLVM IR")?;
    while let Some(item) = items.next_item()? {
        match item {
            Item::Type(_) => {}
            Item::Data(d) => m.write_data(&d, out).context("writing LLVM IR")?,
            Item::Function(mut f) => {
                text.clear();
                let no_wrap = if optimized {
                    counters::prove(&mut f)
                } else {
                    NoWrap::default()
                };
                lower_function(&f, &no_wrap, items.types(), &mut m, &mut scratch, &mut text);
                out.write_all(text.as_bytes()).context("writing LLVM IR")?;
            }
            Item::DbgFile(name) => m.set_debug_file(&name, out).context("writing LLVM IR")?,
        }
    }
    m.finish(out).context("writing LLVM IR")?;
    Ok(())
}

/// Lowers a module to a string (tests and small inputs).
pub fn module_to_string(
    items: &mut dyn ItemSource,
    debug: bool,
    optimized: bool,
    dialect: Dialect,
) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    write_module(items, &mut buf, debug, optimized, dialect)?;
    String::from_utf8(buf).context("LLVM IR is not UTF-8")
}
