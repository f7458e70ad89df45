//! Opening the IL input as a stream of verified items.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Seek};
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use skc_ir::backend::{Backend, ItemSource};
use skc_ir::reader::ItemReader;
use skc_ir::scan;

use crate::chain::{ChainInput, ChainedItems, LocalSuffix};
use crate::cli::IlInput;

fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|error| {
        anyhow!(
            "cannot read input `{}`: {error}; check the file name and permissions",
            path.display()
        )
    })
}

/// The input's bytes, buffered.
fn open(input: &IlInput) -> Result<Box<dyn BufRead>> {
    Ok(match input {
        IlInput::Stdin => Box::new(BufReader::new(std::io::stdin())),
        IlInput::File(path) => Box::new(BufReader::new(open_file(path)?)),
    })
}

/// Standard input in a file that can be read twice: an anonymous
/// temporary file, gone when closed whatever happens.
fn spool_stdin() -> Result<File> {
    let mut spool =
        tempfile::tempfile().context("cannot create a temporary file for standard input")?;
    std::io::copy(&mut std::io::stdin().lock(), &mut spool)
        .and_then(|_| spool.rewind())
        .context("cannot copy standard input to a temporary file")?;
    Ok(spool)
}

fn reader(input: Box<dyn BufRead>, name: &str) -> Box<dyn ItemSource> {
    Box::new(ItemReader::new(
        input,
        name,
        Box::new(std::io::stderr()),
        use_color(),
    ))
}

/// Several inputs, chained: each file is scanned for its local names
/// before it is read (see [`crate::chain`]).
fn chain(inputs: &[IlInput]) -> Result<Box<dyn ItemSource>> {
    let opened = inputs
        .iter()
        .map(|input| match input {
            IlInput::File(path) => open_file(path).map(Some),
            IlInput::Stdin => Ok(None),
        })
        .collect::<Result<Vec<_>>>()?;
    let files = opened
        .into_iter()
        .map(|file| file.map_or_else(spool_stdin, Ok))
        .collect::<Result<Vec<_>>>()?;
    chain_files(inputs, files)
}

/// [`chain`] of inputs already opened (standard input spooled).
fn chain_files(inputs: &[IlInput], files: Vec<File>) -> Result<Box<dyn ItemSource>> {
    let mut suffix = LocalSuffix::default();
    let mut chained = Vec::new();
    for (input, mut file) in inputs.iter().zip(files) {
        let name = input.display_name();
        let locals =
            scan::local_definitions(Box::new(BufReader::new(&mut file)), |sym| suffix.avoid(sym))
                .and_then(|locals| file.rewind().map(|()| locals))
                .map_err(|error| anyhow!("cannot read input `{name}`: {error}"))?;
        chained.push(ChainInput {
            items: reader(Box::new(BufReader::new(file)), &name),
            name,
            locals,
        });
    }
    Ok(Box::new(ChainedItems::new(chained, suffix)))
}

/// Diagnostics are coloured on a terminal unless `NO_COLOR` is set.
fn use_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// A single file for `backend`: read as a chain, whose local names are
/// made distinct, when it defines without `export` a name the backend
/// would otherwise take for the C library's (see
/// [`Backend::lowers_as_library`]); as it is otherwise. Standard input is
/// not scanned: it streams into the compile phase, and the backend takes
/// a local definition it has seen for the file's own (and refuses one
/// that comes after a use).
fn single_file(input: &IlInput, path: &Path, backend: &dyn Backend) -> Result<Box<dyn ItemSource>> {
    let name = input.display_name();
    let mut file = open_file(path)?;
    let locals = scan::local_definitions(Box::new(BufReader::new(&mut file)), |_| {})
        .and_then(|locals| file.rewind().map(|()| locals))
        .map_err(|error| anyhow!("cannot read input `{name}`: {error}"))?;
    if locals.iter().any(|local| backend.lowers_as_library(local)) {
        chain_files(std::slice::from_ref(input), vec![file])
    } else {
        Ok(reader(Box::new(BufReader::new(file)), &name))
    }
}

/// Items from `inputs` read as one module (none: an empty module),
/// diagnostics to stderr. Every file is opened before anything is read.
/// `backend`, when the items are for one, decides whether a single file
/// needs its local names made distinct.
pub fn items(inputs: &[IlInput], backend: Option<&dyn Backend>) -> Result<Box<dyn ItemSource>> {
    Ok(match (inputs, backend) {
        ([], _) => Box::new(ItemReader::new(
            Box::new(std::io::empty()),
            "<no IL input>",
            Box::new(std::io::stderr()),
            false,
        )),
        ([input @ IlInput::File(path)], Some(b)) if b.has_library_names() => {
            single_file(input, path, b)?
        }
        ([input], _) => reader(open(input)?, &input.display_name()),
        _ => chain(inputs)?,
    })
}
