//! Append-only byte spools in anonymous temporary files.
//!
//! The object's function bodies, data contents and relocations grow with
//! the module; spooling them to disk while items are compiled keeps the
//! compiler's memory independent of the module's size. The file is
//! created on the first write and removed by the operating system when it
//! is closed, so nothing is left behind on any exit path.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use anyhow::{Context, Result};

/// Buffer size of spool writers and readers.
const BUFFER: usize = 64 << 10;

/// An append-only spool.
#[derive(Default)]
pub struct Spool {
    file: Option<BufWriter<File>>,
    len: u64,
}

impl Spool {
    /// Appends `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let f = tempfile::tempfile().context("cannot create a temporary file")?;
                self.file.insert(BufWriter::with_capacity(BUFFER, f))
            }
        };
        file.write_all(bytes)
            .context("cannot write a temporary file")?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A reader of everything written, from the start.
    pub fn into_reader(self) -> Result<Box<dyn Read>> {
        let Some(writer) = self.file else {
            return Ok(Box::new(std::io::empty()));
        };
        let mut file = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .context("cannot write a temporary file")?;
        file.seek(SeekFrom::Start(0))
            .context("cannot read a temporary file")?;
        Ok(Box::new(BufReader::with_capacity(BUFFER, file)))
    }

    /// Copies everything written to `out`.
    pub fn copy_to(self, out: &mut dyn Write) -> Result<()> {
        let expected = self.len;
        let mut reader = self.into_reader()?;
        let copied = std::io::copy(&mut reader, out).context("cannot copy a temporary file")?;
        anyhow::ensure!(
            copied == expected,
            "a temporary file was truncated ({copied} of {expected} bytes)"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_was_written() {
        let mut s = Spool::default();
        assert!(s.is_empty());
        s.write(b"abc").unwrap();
        s.write(&[7; 100_000]).unwrap();
        assert_eq!(s.len(), 100_003);
        let mut back = Vec::new();
        s.into_reader().unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(&back[..3], b"abc");
        assert_eq!(back.len(), 100_003);
        assert!(back[3..].iter().all(|&b| b == 7));
    }

    #[test]
    fn an_unused_spool_reads_empty() {
        let mut out = Vec::new();
        Spool::default().copy_to(&mut out).unwrap();
        assert!(out.is_empty());
    }
}
