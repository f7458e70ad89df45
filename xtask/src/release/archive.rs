//! A deterministic `.tar.gz` writer.
//!
//! The same entries always give the same bytes: entries are sorted by
//! path, every header carries one fixed mtime, uid/gid 0 with empty owner
//! names, and a mode chosen from the entry's kind (0755 for directories
//! and executables, 0644 otherwise) rather than from the file system. The
//! gzip header has no timestamp and no file name.

use std::io::Write;

use anyhow::{bail, Context};
use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

/// What an archive entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contents {
    /// A directory.
    Directory,
    /// A regular file and whether it is executable.
    File { bytes: Vec<u8>, executable: bool },
}

/// One archive member: a `/`-separated relative path and its contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The path inside the archive, without a trailing `/`.
    pub path: String,
    /// What it is.
    pub contents: Contents,
}

const BLOCK: usize = 512;

/// The `.tar.gz` bytes of `entries` (in any order), with every mtime set
/// to `mtime` (seconds since the epoch).
pub fn tar_gz(entries: &[Entry], mtime: u64) -> anyhow::Result<Vec<u8>> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = sorted.windows(2).find(|w| w[0].path == w[1].path) {
        bail!("the archive lists `{}` twice", pair[0].path);
    }
    let mut tar = Vec::new();
    for entry in sorted {
        write_entry(&mut tar, entry, mtime)?;
    }
    // The end of an archive: two zero blocks.
    tar.resize(tar.len() + 2 * BLOCK, 0);

    // GzBuilder writes mtime 0 and no name unless told otherwise.
    let mut gz: GzEncoder<Vec<u8>> = GzBuilder::new().write(Vec::new(), Compression::best());
    gz.write_all(&tar).context("cannot compress the archive")?;
    gz.finish().context("cannot compress the archive")
}

fn write_entry(tar: &mut Vec<u8>, entry: &Entry, mtime: u64) -> anyhow::Result<()> {
    let (name, mode, size, kind, data): (String, u32, usize, u8, &[u8]) = match &entry.contents {
        Contents::Directory => (format!("{}/", entry.path), 0o755, 0, b'5', &[]),
        Contents::File { bytes, executable } => (
            entry.path.clone(),
            if *executable { 0o755 } else { 0o644 },
            bytes.len(),
            b'0',
            bytes,
        ),
    };
    let mut header = [0u8; BLOCK];
    let (prefix, short) = split_name(&name)?;
    header[..short.len()].copy_from_slice(short.as_bytes());
    octal(&mut header[100..108], mode as u64)?;
    octal(&mut header[108..116], 0)?;
    octal(&mut header[116..124], 0)?;
    octal(&mut header[124..136], size as u64)?;
    octal(&mut header[136..148], mtime)?;
    header[156] = kind;
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    // The checksum is computed with its own field read as spaces.
    header[148..156].fill(b' ');
    let sum: u64 = header.iter().map(|&b| b as u64).sum();
    let field = format!("{sum:06o}\0 ");
    header[148..156].copy_from_slice(field.as_bytes());
    tar.extend_from_slice(&header);
    tar.extend_from_slice(data);
    let padding = (BLOCK - data.len() % BLOCK) % BLOCK;
    tar.resize(tar.len() + padding, 0);
    Ok(())
}

/// Splits a path into ustar's prefix (≤ 155 bytes) and name (≤ 100 bytes)
/// at a `/`.
fn split_name(path: &str) -> anyhow::Result<(&str, &str)> {
    if path.len() <= 100 {
        return Ok(("", path));
    }
    let body = path.trim_end_matches('/');
    for (i, _) in body.match_indices('/') {
        let (prefix, name) = (&path[..i], &path[i + 1..]);
        if prefix.len() <= 155 && name.len() <= 100 {
            return Ok((prefix, name));
        }
    }
    bail!("`{path}` is too long for a ustar header")
}

/// Writes `value` as zero-padded octal digits and a NUL into `field`.
fn octal(field: &mut [u8], value: u64) -> anyhow::Result<()> {
    let digits = format!("{value:0width$o}", width = field.len() - 1);
    if digits.len() != field.len() - 1 {
        bail!("{value} does not fit a {}-byte tar field", field.len());
    }
    field[..digits.len()].copy_from_slice(digits.as_bytes());
    field[digits.len()] = 0;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample() -> Vec<Entry> {
        vec![
            Entry {
                path: "pkg/bin/tool".into(),
                contents: Contents::File {
                    bytes: b"#!/bin/sh\necho hi\n".to_vec(),
                    executable: true,
                },
            },
            Entry {
                path: "pkg".into(),
                contents: Contents::Directory,
            },
            Entry {
                path: "pkg/README.md".into(),
                contents: Contents::File {
                    bytes: vec![b'x'; 1000],
                    executable: false,
                },
            },
        ]
    }

    #[test]
    fn the_same_entries_in_any_order_give_the_same_bytes() {
        let first = tar_gz(&sample(), 1_700_000_000).expect("archive");
        let mut reversed = sample();
        reversed.reverse();
        let second = tar_gz(&reversed, 1_700_000_000).expect("archive");
        assert_eq!(first, second);
        let other_time = tar_gz(&sample(), 1_700_000_001).expect("archive");
        assert_ne!(first, other_time);
    }

    #[test]
    fn the_gzip_header_has_no_time_and_no_name() {
        let bytes = tar_gz(&sample(), 0).expect("archive");
        assert_eq!(&bytes[..3], &[0x1f, 0x8b, 8]);
        assert_eq!(bytes[3], 0, "no FNAME or other flags");
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "mtime is zero");
    }

    /// The system `tar` must read what we write, with our modes and times.
    #[test]
    fn tar_lists_the_entries_sorted_with_fixed_metadata() {
        let bytes = tar_gz(&sample(), 1_700_000_000).expect("archive");
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut tar)
            .expect("gunzip");
        assert_eq!(tar.len() % BLOCK, 0);
        let dir = std::env::temp_dir().join(format!("xtask-archive-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("a.tar");
        std::fs::write(&file, &tar).expect("write");
        let out = std::process::Command::new("tar")
            .args(["--numeric-owner", "--full-time", "-tvf"])
            .arg(&file)
            .output()
            .expect("tar runs");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines.len(), 3, "{listing}");
        assert!(lines[0].starts_with("drwxr-xr-x 0/0") && lines[0].ends_with(" pkg/"));
        assert!(lines[1].starts_with("-rw-r--r-- 0/0") && lines[1].ends_with(" pkg/README.md"));
        assert!(lines[2].starts_with("-rwxr-xr-x 0/0") && lines[2].ends_with(" pkg/bin/tool"));
        assert!(lines[1].contains(" 1000 "), "{listing}");
        assert!(listing.contains("2023-11-14 22:13:20"), "{listing}");
    }

    #[test]
    fn long_paths_use_the_prefix_field() {
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        assert_eq!(
            split_name(&long).expect("fits"),
            (&long[..120], &long[121..])
        );
        assert!(split_name(&"x".repeat(300)).is_err());
    }
}
