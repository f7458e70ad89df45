//! Reads an IL file through the full reading pipeline (parse, normalise,
//! SSA, verify) and prints item counts: the program `cargo xtask bench-ir`
//! times.
//!
//! usage: check [--print] FILE
//!
//! Prints `functions=N data=N types=N dbgfiles=N blocks=N instructions=N`
//! on stdout; diagnostics go to stderr and make the exit status 1. With
//! `--print`, prints the items as read (in SSA form, canonical text)
//! instead of the counts.

use std::fs::File;
use std::io::{BufReader, Write};
use std::process::ExitCode;

use skc_ir::backend::ItemSource;
use skc_ir::ir::Item;
use skc_ir::printer::print_item;
use skc_ir::reader::ItemReader;

#[derive(Default)]
struct Counts {
    functions: u64,
    data: u64,
    types: u64,
    dbgfiles: u64,
    blocks: u64,
    instructions: u64,
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let print = args.first().is_some_and(|a| a == "--print");
    if print {
        args.remove(0);
    }
    let [path] = args.as_slice() else {
        eprintln!("usage: check [--print] FILE");
        return ExitCode::from(2);
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot open {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let input = BufReader::with_capacity(1 << 16, file);
    let mut reader = ItemReader::new(Box::new(input), path, Box::new(std::io::stderr()), false);
    let mut counts = Counts::default();
    let result = loop {
        match reader.next_item() {
            Ok(Some(item)) if print => {
                let mut text = String::new();
                if print_item(&mut text, &item, reader.types()).is_err() {
                    break Ok(());
                }
                let mut out = std::io::stdout().lock();
                if out.write_all(text.as_bytes()).is_err() {
                    break Ok(());
                }
            }
            Ok(Some(item)) => match item {
                Item::Function(f) => {
                    counts.functions += 1;
                    counts.blocks += f.blocks.len() as u64;
                    counts.instructions += f
                        .blocks
                        .iter()
                        .map(|b| (b.phis.len() + b.insts.len() + 1) as u64)
                        .sum::<u64>();
                }
                Item::Data(_) => counts.data += 1,
                Item::Type(_) => counts.types += 1,
                Item::DbgFile(_) => counts.dbgfiles += 1,
            },
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    if !print {
        println!(
            "functions={} data={} types={} dbgfiles={} blocks={} instructions={}",
            counts.functions,
            counts.data,
            counts.types,
            counts.dbgfiles,
            counts.blocks,
            counts.instructions
        );
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
