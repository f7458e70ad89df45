//! Opening the IL input as a stream of verified items.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};

use anyhow::{anyhow, Result};
use skc_ir::backend::ItemSource;
use skc_ir::reader::ItemReader;

use crate::chain::ChainedItems;
use crate::cli::IlInput;

/// The input's bytes, buffered.
fn open(input: &IlInput) -> Result<Box<dyn BufRead>> {
    Ok(match input {
        IlInput::Stdin => Box::new(BufReader::new(std::io::stdin())),
        IlInput::File(path) => {
            let file = File::open(path).map_err(|error| {
                anyhow!(
                    "cannot read input `{}`: {error}; check the file name and permissions",
                    path.display()
                )
            })?;
            Box::new(BufReader::new(file))
        }
    })
}

/// Diagnostics are coloured on a terminal unless `NO_COLOR` is set.
fn use_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Items from `inputs` read as one module (none: an empty module),
/// diagnostics to stderr. Every file is opened before anything is read.
pub fn items(inputs: &[IlInput]) -> Result<Box<dyn ItemSource>> {
    let mut readers: Vec<Box<dyn ItemSource>> = Vec::new();
    for input in inputs {
        readers.push(Box::new(ItemReader::new(
            open(input)?,
            &input.display_name(),
            Box::new(std::io::stderr()),
            use_color(),
        )));
    }
    Ok(match readers.len() {
        0 => Box::new(ItemReader::new(
            Box::new(std::io::empty()),
            "<no IL input>",
            Box::new(std::io::stderr()),
            false,
        )),
        1 => readers.remove(0),
        _ => Box::new(ChainedItems::new(readers)),
    })
}
