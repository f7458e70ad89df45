//! Members of a `!<arch>` archive (the common System V / GNU format that
//! `llvm-ar` writes), read from bytes in memory.

use anyhow::{bail, Context, Result};

const MAGIC: &[u8] = b"!<arch>\n";
const HEADER_LEN: usize = 60;

/// Whether `bytes` start like an archive.
pub fn is_archive(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// One archive member: its name and contents.
pub struct Member<'a> {
    /// The member's file name.
    pub name: String,
    /// The member's bytes.
    pub data: &'a [u8],
}

/// The file members of an archive, in order; the symbol index and the
/// long-name table are left out.
pub fn members(bytes: &[u8]) -> Result<Vec<Member<'_>>> {
    if !is_archive(bytes) {
        bail!("not an archive");
    }
    let mut out = Vec::new();
    let mut long_names: &[u8] = &[];
    let mut at = MAGIC.len();
    while at + HEADER_LEN <= bytes.len() {
        let header = &bytes[at..at + HEADER_LEN];
        if &header[58..60] != b"`\n" {
            bail!("malformed archive member header at byte {at}");
        }
        let size: usize = std::str::from_utf8(&header[48..58])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .with_context(|| format!("malformed archive member size at byte {at}"))?;
        let start = at + HEADER_LEN;
        let end = start
            .checked_add(size)
            .filter(|&e| e <= bytes.len())
            .with_context(|| format!("archive member at byte {at} runs past the end"))?;
        let data = &bytes[start..end];
        let raw_name = std::str::from_utf8(&header[..16]).unwrap_or("").trim_end();
        match raw_name {
            "/" | "/SYM64/" | "__.SYMDEF" | "__.SYMDEF SORTED" => {}
            "//" => long_names = data,
            _ => {
                let name = if let Some(offset) = raw_name.strip_prefix('/') {
                    let offset: usize = offset
                        .parse()
                        .with_context(|| format!("malformed archive member name {raw_name:?}"))?;
                    let rest = long_names.get(offset..).unwrap_or(&[]);
                    let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                    String::from_utf8_lossy(&rest[..len])
                        .trim_end_matches('/')
                        .to_string()
                } else {
                    raw_name.trim_end_matches('/').to_string()
                };
                out.push(Member { name, data });
            }
        }
        // Members start at even offsets.
        at = end + (end & 1);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut h = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            644,
            data.len()
        )
        .into_bytes();
        h.extend_from_slice(data);
        if data.len() % 2 == 1 {
            h.push(b'\n');
        }
        h
    }

    #[test]
    fn reads_short_and_long_names_and_skips_the_index() {
        let mut a = MAGIC.to_vec();
        a.extend(member("/", b"\0\0\0\0"));
        a.extend(member("//", b"a_rather_long_member_name.o/\n"));
        a.extend(member("short.o/", b"abc"));
        a.extend(member("/0", b"xy"));
        let m = members(&a).unwrap();
        let got: Vec<(&str, &[u8])> = m.iter().map(|m| (m.name.as_str(), m.data)).collect();
        assert_eq!(
            got,
            [
                ("short.o", &b"abc"[..]),
                ("a_rather_long_member_name.o", &b"xy"[..])
            ]
        );
    }

    #[test]
    fn a_member_past_the_end_is_an_error() {
        let mut a = MAGIC.to_vec();
        let mut m = member("x.o/", b"abcd");
        m.truncate(m.len() - 2);
        a.extend(m);
        assert!(members(&a).is_err());
    }
}
