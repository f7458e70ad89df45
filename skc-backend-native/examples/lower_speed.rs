//! Throughput of the LLVM IR lowering alone, apart from reading.
//!
//! `cargo run --release -p skc-backend-native --example lower_speed -- IN.ssa [OUT.ll]`
//!
//! Streams the module through the reader as `skc --emit=llvm` does, but
//! charges the thread CPU time spent inside the reader to the reader, and
//! the rest (lowering and printing, writing to OUT or to nowhere) to the
//! backend. Prints both in MiB of IL per CPU second.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::time::Duration;

use skc_backend_native::dialect::Dialect;
use skc_backend_native::emit::write_module;
use skc_ir::backend::{InputErrors, ItemSource};
use skc_ir::ir::Item;
use skc_ir::reader::ItemReader;
use skc_ir::types::TypeTable;

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a local timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Charges the time spent in the wrapped reader to `reading`.
struct TimedSource<S> {
    inner: S,
    reading: Duration,
}

impl<S: ItemSource> ItemSource for TimedSource<S> {
    fn next_item(&mut self) -> Result<Option<Item>, InputErrors> {
        let start = thread_cpu();
        let item = self.inner.next_item();
        self.reading += thread_cpu() - start;
        item
    }

    fn types(&self) -> &TypeTable {
        self.inner.types()
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(input) = args.first() else {
        anyhow::bail!("usage: lower_speed IN.ssa [OUT.ll]");
    };
    let size = std::fs::metadata(input)?.len() as f64 / (1024.0 * 1024.0);
    let reader = ItemReader::new(
        Box::new(BufReader::with_capacity(1 << 16, File::open(input)?)),
        input,
        Box::new(std::io::stderr()),
        false,
    );
    let mut source = TimedSource {
        inner: reader,
        reading: Duration::ZERO,
    };
    let mut out: Box<dyn Write> = match args.get(1) {
        Some(path) => Box::new(BufWriter::with_capacity(1 << 16, File::create(path)?)),
        None => Box::new(std::io::sink()),
    };
    let start = thread_cpu();
    write_module(&mut source, &mut out, false, true, Dialect::NEWEST)?;
    out.flush()?;
    let total = (thread_cpu() - start).as_secs_f64();
    let reading = source.reading.as_secs_f64();
    let lowering = total - reading;
    println!(
        "{size:.1} MiB: reading {reading:.3} s CPU ({:.1} MB/s), lowering+printing {lowering:.3} s CPU ({:.1} MB/s), total {:.1} MB/s",
        size / reading,
        size / lowering,
        size / total
    );
    Ok(())
}
