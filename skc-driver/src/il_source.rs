//! Opening the IL input as a stream of verified items.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};

use anyhow::{anyhow, Result};
use skc_ir::backend::ItemSource;
use skc_ir::reader::ItemReader;

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

/// Items from `input` (no input: an empty module), diagnostics to stderr.
pub fn items(input: Option<&IlInput>) -> Result<Box<dyn ItemSource>> {
    let (reader, name): (Box<dyn BufRead>, String) = match input {
        Some(input) => (open(input)?, input.display_name()),
        None => (Box::new(std::io::empty()), "<no IL input>".to_owned()),
    };
    Ok(Box::new(ItemReader::new(
        reader,
        &name,
        Box::new(std::io::stderr()),
        use_color(),
    )))
}
