//! Spelling of LLVM IR tokens: global names, float literals, byte strings.

use std::fmt::Write;

/// `@name`, quoted when the name has characters LLVM identifiers lack.
pub fn global_name(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.as_bytes()[0].is_ascii_digit()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$' | b'-'));
    if plain {
        format!("@{name}")
    } else {
        let mut s = String::from("@\"");
        push_escaped(&mut s, name.as_bytes());
        s.push('"');
        s
    }
}

/// Appends bytes escaped for a `c"..."` or quoted name: printable ASCII
/// except `"` and `\` as is, everything else as `\XX`.
pub fn push_escaped(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\{b:02X}");
        }
    }
}

/// A quoted metadata or section string.
pub fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    push_escaped(&mut out, s.as_bytes());
    out.push('"');
    out
}

/// A `double` literal with exactly these bits.
pub fn double_literal(bits: u64) -> String {
    format!("0x{bits:016X}")
}

/// A `float` literal with exactly these bits. LLVM spells float constants
/// as the double of the same value; NaN payloads are widened by hand so
/// the exact bits survive (a hardware conversion would quiet them).
pub fn float_literal(bits: u32) -> String {
    let sign = u64::from(bits >> 31) << 63;
    let exp = (bits >> 23) & 0xff;
    let mant = u64::from(bits & 0x7f_ffff);
    if exp == 0xff {
        double_literal(sign | (0x7ffu64 << 52) | (mant << 29))
    } else {
        double_literal(f64::from(f32::from_bits(bits)).to_bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_only_when_needed() {
        assert_eq!(global_name("main"), "@main");
        assert_eq!(global_name(".L1"), "@.L1");
        assert_eq!(global_name("a b"), "@\"a b\"");
        assert_eq!(global_name("1x"), "@\"1x\"");
    }

    #[test]
    fn float_literals_keep_their_bits() {
        assert_eq!(float_literal(1.5f32.to_bits()), "0x3FF8000000000000");
        // A signalling NaN keeps its payload.
        assert_eq!(float_literal(0x7f80_0001), "0x7FF0000020000000");
        assert_eq!(double_literal(0), "0x0000000000000000");
    }
}
