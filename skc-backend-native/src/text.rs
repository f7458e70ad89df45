//! Spelling of LLVM IR tokens: global names, integers, float literals,
//! byte strings. Everything appends to a `String` without going through
//! `core::fmt`, which dominated the cost of printing a line.

/// A piece of LLVM text that appends itself to a line.
pub trait Token {
    /// Appends the text to `out`.
    fn push_to(&self, out: &mut String);
}

impl Token for str {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl<T: Token + ?Sized> Token for &T {
    fn push_to(&self, out: &mut String) {
        (**self).push_to(out);
    }
}

impl Token for String {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Token for u32 {
    fn push_to(&self, out: &mut String) {
        push_u64(out, u64::from(*self));
    }
}

impl Token for u64 {
    fn push_to(&self, out: &mut String) {
        push_u64(out, *self);
    }
}

impl Token for usize {
    fn push_to(&self, out: &mut String) {
        push_u64(out, *self as u64);
    }
}

impl Token for i64 {
    fn push_to(&self, out: &mut String) {
        push_i64(out, *self);
    }
}

impl Token for i32 {
    fn push_to(&self, out: &mut String) {
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
pub fn push_u64(out: &mut String, mut n: u64) {
    if n < 10 {
        out.push(char::from(b'0' + n as u8));
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
    // Only ASCII digits were written, so this never falls back.
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or("?"));
}

/// Appends `n` in decimal, with a leading `-` when negative.
pub fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `0x` and the 16 upper-case hex digits of `bits`.
fn push_hex64(out: &mut String, bits: u64) {
    out.push_str("0x");
    for shift in (0..16).rev() {
        out.push(char::from(
            HEX_DIGITS[((bits >> (shift * 4)) & 0xf) as usize],
        ));
    }
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
pub fn push_global_name(out: &mut String, name: &str) {
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
    let mut s = String::with_capacity(name.len() + 3);
    push_global_name(&mut s, name);
    s
}

/// A global symbol's name, displayed as by [`global_name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Global<'a>(pub &'a str);

impl Token for Global<'_> {
    fn push_to(&self, out: &mut String) {
        push_global_name(out, self.0);
    }
}

/// Appends bytes escaped for a `c"..."` or quoted name: printable ASCII
/// except `"` and `\` as is, everything else as `\XX`.
pub fn push_escaped(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(b as char);
        } else {
            out.push('\\');
            out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
            out.push(char::from(HEX_DIGITS[usize::from(b & 0xf)]));
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

/// Appends a `double` literal with exactly these bits.
pub fn push_double_literal(out: &mut String, bits: u64) {
    push_hex64(out, bits);
}

/// Appends a `float` literal with exactly these bits. LLVM spells float
/// constants as the double of the same value; NaN payloads are widened by
/// hand so the exact bits survive (a hardware conversion would quiet them).
pub fn push_float_literal(out: &mut String, bits: u32) {
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
    let mut s = String::with_capacity(18);
    push_double_literal(&mut s, bits);
    s
}

/// A `float` literal with exactly these bits (see [`push_float_literal`]).
pub fn float_literal(bits: u32) -> String {
    let mut s = String::with_capacity(18);
    push_float_literal(&mut s, bits);
    s
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
    }

    #[test]
    fn float_literals_keep_their_bits() {
        assert_eq!(float_literal(1.5f32.to_bits()), "0x3FF8000000000000");
        // A signalling NaN keeps its payload.
        assert_eq!(float_literal(0x7f80_0001), "0x7FF0000020000000");
        assert_eq!(double_literal(0), "0x0000000000000000");
        assert_eq!(double_literal(u64::MAX), "0xFFFFFFFFFFFFFFFF");
    }

    #[test]
    fn integers_print_like_display() {
        let edges = [0i64, 7, 9, 10, 99, 100, 12345, -1, -10, i64::MIN, i64::MAX];
        for n in (-1000..3000).chain(edges) {
            let mut s = String::new();
            push_i64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        let mut s = String::new();
        push_u64(&mut s, u64::MAX);
        assert_eq!(s, u64::MAX.to_string());
    }
}
