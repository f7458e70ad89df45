//! `--emit=ir`: the verified SSA module in canonical text, written by the
//! driver itself (no backend).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use skc_ir::backend::{Files, ItemSource};

/// Prints every item of `items` to `output` (`-`: standard output). The
/// file appears only complete: text goes to a file from `files` that is
/// renamed (or copied to stdout) once every item was read without error.
pub fn write_ir(items: &mut dyn ItemSource, output: &Path, files: &dyn Files) -> Result<()> {
    let to_stdout = output == Path::new("-");
    let staged = if to_stdout {
        files.temporary(".ssa")?
    } else {
        files.staging(output, false)?
    };
    let mut writer = std::io::BufWriter::new(staged.as_file());
    let mut text = String::new();
    while let Some(item) = items.next_item()? {
        text.clear();
        skc_ir::printer::print_item(&mut text, &item, items.types())
            .context("cannot format an item")?;
        writer
            .write_all(text.as_bytes())
            .with_context(|| format!("cannot write `{}`", output.display()))?;
    }
    writer
        .flush()
        .with_context(|| format!("cannot write `{}`", output.display()))?;
    drop(writer);
    if to_stdout {
        let mut file = staged
            .reopen()
            .context("cannot read back the printed module")?;
        std::io::copy(&mut file, &mut std::io::stdout().lock())
            .context("cannot write to standard output")?;
    } else {
        staged
            .persist(output)
            .with_context(|| format!("cannot create `{}`", output.display()))?;
    }
    Ok(())
}
