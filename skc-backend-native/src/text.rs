//! Spelling of LLVM IR tokens: global names, integers, float literals,
//! byte strings. Everything appends to a [`Buf`] without going through
//! `core::fmt`, which dominated the cost of printing a line.

use std::fmt;

/// LLVM text being built: bytes that are always UTF-8, because only
/// `str`s and ASCII are ever appended. Appending is a plain byte copy,
/// without the `char` encoding and checks of `String`.
#[derive(Clone, Debug, Default)]
pub struct Buf(Vec<u8>);

impl Buf {
    /// Appends a string.
    #[inline]
    pub fn push_str(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }

    /// Appends a character.
    #[inline]
    pub fn push(&mut self, c: char) {
        if c.is_ascii() {
            self.0.push(c as u8);
        } else {
            self.push_str(c.encode_utf8(&mut [0; 4]));
        }
    }

    /// Appends ASCII bytes.
    #[inline]
    fn push_ascii(&mut self, bytes: &[u8]) {
        debug_assert!(bytes.is_ascii());
        self.0.extend_from_slice(bytes);
    }

    /// Empties the buffer, keeping its allocation.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The text as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text as a `String`.
    pub fn into_string(self) -> String {
        match String::from_utf8(self.0) {
            Ok(s) => s,
            // Not reached: only `str`s and ASCII are appended.
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }
}

impl fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

/// A piece of LLVM text that appends itself to a line.
pub trait Token {
    /// Appends the text to `out`.
    fn push_to(&self, out: &mut Buf);
}

impl Token for str {
    fn push_to(&self, out: &mut Buf) {
        out.push_str(self);
    }
}

impl<T: Token + ?Sized> Token for &T {
    fn push_to(&self, out: &mut Buf) {
        (**self).push_to(out);
    }
}

impl Token for String {
    fn push_to(&self, out: &mut Buf) {
        out.push_str(self);
    }
}

impl Token for Buf {
    fn push_to(&self, out: &mut Buf) {
        out.0.extend_from_slice(&self.0);
    }
}

impl Token for u32 {
    fn push_to(&self, out: &mut Buf) {
        push_u64(out, u64::from(*self));
    }
}

impl Token for u64 {
    fn push_to(&self, out: &mut Buf) {
        push_u64(out, *self);
    }
}

impl Token for usize {
    fn push_to(&self, out: &mut Buf) {
        push_u64(out, *self as u64);
    }
}

impl Token for i64 {
    fn push_to(&self, out: &mut Buf) {
        push_i64(out, *self);
    }
}

impl Token for i32 {
    fn push_to(&self, out: &mut Buf) {
        push_i64(out, i64::from(*self));
    }
}

/// Two decimal digits for every number below 100.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends `n` in decimal.
pub fn push_u64(out: &mut Buf, mut n: u64) {
    if n < 10 {
        out.push_ascii(&[b'0' + n as u8]);
        return;
    }
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        start -= 2;
        digits[start..start + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        start -= 2;
        digits[start..start + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        start -= 1;
        digits[start] = b'0' + n as u8;
    }
    out.push_ascii(&digits[start..]);
}

/// Appends `n` in decimal, with a leading `-` when negative.
pub fn push_i64(out: &mut Buf, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `0x` and the 16 upper-case hex digits of `bits`.
fn push_hex64(out: &mut Buf, bits: u64) {
    let mut text = *b"0x0000000000000000";
    for (k, digit) in text[2..].iter_mut().enumerate() {
        *digit = HEX_DIGITS[((bits >> ((15 - k) * 4)) & 0xf) as usize];
    }
    out.push_ascii(&text);
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.as_bytes()[0].is_ascii_digit()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$' | b'-'))
}

/// Appends `@name`, quoted when the name has characters LLVM identifiers
/// lack.
pub fn push_global_name(out: &mut Buf, name: &str) {
    if is_plain_name(name) {
        out.push('@');
        out.push_str(name);
    } else {
        out.push_str("@\"");
        push_escaped(out, name.as_bytes());
        out.push('"');
    }
}

/// `@name`, quoted when the name has characters LLVM identifiers lack.
pub fn global_name(name: &str) -> String {
    let mut s = Buf::default();
    push_global_name(&mut s, name);
    s.into_string()
}

/// A global symbol's name, displayed as by [`global_name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Global<'a>(pub &'a str);

impl Token for Global<'_> {
    fn push_to(&self, out: &mut Buf) {
        push_global_name(out, self.0);
    }
}

/// Appends bytes escaped for a `c"..."` or quoted name: printable ASCII
/// except `"` and `\` as is, everything else as `\XX`.
pub fn push_escaped(out: &mut Buf, bytes: &[u8]) {
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push_ascii(&[b]);
        } else {
            out.push_ascii(&[
                b'\\',
                HEX_DIGITS[usize::from(b >> 4)],
                HEX_DIGITS[usize::from(b & 0xf)],
            ]);
        }
    }
}

/// A quoted metadata or section string.
pub fn quoted(s: &str) -> String {
    let mut out = Buf::default();
    out.push('"');
    push_escaped(&mut out, s.as_bytes());
    out.push('"');
    out.into_string()
}

/// Appends a `double` literal with exactly these bits.
pub fn push_double_literal(out: &mut Buf, bits: u64) {
    push_hex64(out, bits);
}

/// Appends a `float` literal with exactly these bits. LLVM spells float
/// constants as the double of the same value; NaN payloads are widened by
/// hand so the exact bits survive (a hardware conversion would quiet them).
pub fn push_float_literal(out: &mut Buf, bits: u32) {
    let sign = u64::from(bits >> 31) << 63;
    let exp = (bits >> 23) & 0xff;
    let mant = u64::from(bits & 0x7f_ffff);
    if exp == 0xff {
        push_hex64(out, sign | (0x7ffu64 << 52) | (mant << 29));
    } else {
        push_hex64(out, f64::from(f32::from_bits(bits)).to_bits());
    }
}

/// A `double` literal with exactly these bits.
pub fn double_literal(bits: u64) -> String {
    let mut s = Buf::default();
    push_double_literal(&mut s, bits);
    s.into_string()
}

/// A `float` literal with exactly these bits (see [`push_float_literal`]).
pub fn float_literal(bits: u32) -> String {
    let mut s = Buf::default();
    push_float_literal(&mut s, bits);
    s.into_string()
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
        assert_eq!(global_name("a\"\n"), "@\"a\\22\\0A\"");
        assert_eq!(global_name("é"), "@\"\\C3\\A9\"");
    }

    #[test]
    fn float_literals_keep_their_bits() {
        assert_eq!(float_literal(1.5f32.to_bits()), "0x3FF8000000000000");
        // A signalling NaN keeps its payload.
        assert_eq!(float_literal(0x7f80_0001), "0x7FF0000020000000");
        assert_eq!(double_literal(0), "0x0000000000000000");
        assert_eq!(double_literal(0x0123_4567_89AB_CDEF), "0x0123456789ABCDEF");
        assert_eq!(double_literal(u64::MAX), "0xFFFFFFFFFFFFFFFF");
    }

    #[test]
    fn integers_print_like_display() {
        let edges = [0i64, 7, 9, 10, 99, 100, 12345, -1, -10, i64::MIN, i64::MAX];
        for n in (-1000..3000).chain(edges) {
            let mut s = Buf::default();
            push_i64(&mut s, n);
            assert_eq!(s.into_string(), n.to_string());
        }
        let mut s = Buf::default();
        push_u64(&mut s, u64::MAX);
        assert_eq!(s.into_string(), u64::MAX.to_string());
    }

    #[test]
    fn buffers_keep_non_ascii_text() {
        let mut s = Buf::default();
        s.push_str("a→");
        s.push('é');
        assert_eq!(s.into_string(), "a→é");
    }
}
