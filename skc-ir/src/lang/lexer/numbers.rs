//! Number tokens: integers (decimal, hexadecimal, negative) and the
//! single- and double-precision float forms (`s_`/`d_` with decimal,
//! hexadecimal, `inf` and `nan` spellings).

use super::{describe_byte, parse_float, parse_float32, Lexer, Tok, MAX_NUMBER_LEN};

impl<'a> Lexer<'a> {
    /// An integer literal; most are read straight from the window.
    pub(super) fn integer(&mut self) -> Tok {
        let window = &self.window[..self.end];
        let negative = window.get(self.pos) == Some(&b'-');
        let start = self.pos + usize::from(negative);
        let mut i = start;
        let mut value: u64 = 0;
        // Nineteen digits cannot overflow 64 bits; longer literals, and
        // literals reaching the end of the window, take the general path.
        while i < window.len() && i - start < 19 && window[i].is_ascii_digit() {
            value = value * 10 + u64::from(window[i] - b'0');
            i += 1;
        }
        if i > start && i < window.len() && !window[i].is_ascii_digit() {
            self.pos = i;
            let value = if negative {
                value.wrapping_neg()
            } else {
                value
            };
            return Tok::Int(value as i64);
        }
        self.integer_general()
    }

    #[inline(never)]
    pub(super) fn integer_general(&mut self) -> Tok {
        let negative = self.peek_byte() == Some(b'-');
        if negative {
            self.pos += 1;
            match self.peek_byte() {
                Some(b'0'..=b'9') => {}
                Some(b) => {
                    self.error = format!("expected a digit after `-`, found {}", describe_byte(b));
                    return Tok::Error;
                }
                None => {
                    self.error = "expected a digit after `-`, found end of input".into();
                    return Tok::Error;
                }
            }
        }
        let mut value: u64 = 0;
        let mut overflow = false;
        while let Some(b @ b'0'..=b'9') = self.peek_byte() {
            self.pos += 1;
            match value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
            {
                Some(v) => value = v,
                None => overflow = true,
            }
        }
        if overflow {
            self.error = "integer does not fit in 64 bits".into();
            return Tok::Error;
        }
        let value = if negative {
            value.wrapping_neg()
        } else {
            value
        };
        Tok::Int(value as i64)
    }

    /// Reads the longest float literal prefix, as C's `strtod` would, after
    /// `s_` or `d_`.
    #[inline(never)]
    pub(super) fn float(&mut self, single: bool) -> Tok {
        self.text.clear();
        self.text_window = None;
        if let Some(b @ (b'-' | b'+')) = self.peek_byte() {
            self.pos += 1;
            self.text.push(b);
        }
        let first = self.peek_byte();
        let ok = match first {
            Some(b'0') => {
                self.pos += 1;
                self.text.push(b'0');
                if let Some(x @ (b'x' | b'X')) = self.peek_byte() {
                    self.pos += 1;
                    self.text.push(x);
                    self.hex_float_tail()
                } else {
                    self.decimal_tail(true)
                }
            }
            Some(b'0'..=b'9' | b'.') => self.decimal_tail(false),
            Some(b) if b.is_ascii_alphabetic() => {
                let start = self.text.len();
                self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_');
                // `nan(chars)` is one literal, as for strtod.
                if self.text[start..].eq_ignore_ascii_case(b"nan") && self.peek_byte() == Some(b'(')
                {
                    self.pos += 1;
                    self.text.push(b'(');
                    self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_');
                    if self.peek_byte() == Some(b')') {
                        self.pos += 1;
                        self.text.push(b')');
                    }
                }
                true
            }
            _ => false,
        };
        if !ok || self.text.len() > MAX_NUMBER_LEN {
            self.error = format!(
                "expected a number after `{}_`",
                if single { 's' } else { 'd' }
            );
            return Tok::Error;
        }
        let Ok(text) = std::str::from_utf8(&self.text) else {
            self.error = "malformed float literal".into();
            return Tok::Error;
        };
        match parse_float(text) {
            Some(v) => {
                if single {
                    match parse_float32(text) {
                        Some(s) => Tok::Single(s),
                        None => Tok::Single(v as f32),
                    }
                } else {
                    Tok::Double(v)
                }
            }
            None => {
                self.error = format!("malformed float literal `{text}`");
                Tok::Error
            }
        }
    }

    pub(super) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> usize {
        let mut n = 0;
        while let Some(b) = self.peek_byte() {
            if !pred(b) || self.text.len() > MAX_NUMBER_LEN {
                break;
            }
            self.pos += 1;
            self.text.push(b);
            n += 1;
        }
        n
    }

    /// Digits, optional fraction and exponent; `have_digit` when a digit
    /// was already read.
    pub(super) fn decimal_tail(&mut self, have_digit: bool) -> bool {
        let mut digits = self.take_while(|b| b.is_ascii_digit()) > 0 || have_digit;
        if self.peek_byte() == Some(b'.') {
            self.pos += 1;
            self.text.push(b'.');
            digits |= self.take_while(|b| b.is_ascii_digit()) > 0;
        }
        if !digits {
            return false;
        }
        if let Some(e @ (b'e' | b'E')) = self.peek_byte() {
            // strtod takes the exponent only if digits follow it; a lone
            // `e` ends the literal. One byte of lookahead is all we have, so
            // an `e` not followed by digits is an error here.
            self.pos += 1;
            self.text.push(e);
            if let Some(s @ (b'-' | b'+')) = self.peek_byte() {
                self.pos += 1;
                self.text.push(s);
            }
            if self.take_while(|b| b.is_ascii_digit()) == 0 {
                return false;
            }
        }
        true
    }

    pub(super) fn hex_float_tail(&mut self) -> bool {
        let mut digits = self.take_while(|b| b.is_ascii_hexdigit()) > 0;
        if self.peek_byte() == Some(b'.') {
            self.pos += 1;
            self.text.push(b'.');
            digits |= self.take_while(|b| b.is_ascii_hexdigit()) > 0;
        }
        if !digits {
            return false;
        }
        if let Some(p @ (b'p' | b'P')) = self.peek_byte() {
            self.pos += 1;
            self.text.push(p);
            if let Some(s @ (b'-' | b'+')) = self.peek_byte() {
                self.pos += 1;
                self.text.push(s);
            }
            if self.take_while(|b| b.is_ascii_digit()) == 0 {
                return false;
            }
        }
        true
    }
}
