//! Tokens of the text form, read from a stream.
//!
//! The lexer pulls bytes from a [`BufRead`] into a fixed-size window and
//! never holds the whole input. It also keeps the text of the item being
//! read (from the first line of that item) so diagnostics can quote the
//! source line; the parser discards that text whenever a new item starts.
//!
//! Names and strings land in one reused buffer ([`Lexer::text`]), so lexing
//! allocates nothing per token.
//!
//! Number tokens are read in `numbers`; `float_text` turns a float
//! literal's text into its value.

mod float_text;
mod numbers;

use std::io::{BufRead, ErrorKind};

pub use float_text::{parse_float, parse_float32};

use crate::ir::Pos;

/// Longest name (after its sigil) or keyword accepted, in bytes.
pub const MAX_NAME_LEN: usize = 64 * 1024;
/// Longest string literal accepted, in bytes after decoding escapes.
pub const MAX_STRING_LEN: usize = 16 * 1024 * 1024;
/// Longest number literal (integer or float text) accepted, in bytes.
const MAX_NUMBER_LEN: usize = 4096;
/// Size of the read window.
const WINDOW: usize = 64 * 1024;
/// How much of a long run of skipped bytes is kept for quoting.
const SKIPPED_RUN_KEEP: usize = 512;

/// The kind of a token. Names, keywords and strings keep their text in
/// [`Lexer::text`] until the next token is read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tok {
    /// End of the input.
    Eof,
    /// A newline (comments end in one too).
    Nl,
    /// `,`
    Comma,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `=`
    Eq,
    /// `+`
    Plus,
    /// An integer literal, taken modulo 2^64.
    Int(i64),
    /// `s_…`
    Single(f32),
    /// `d_…`
    Double(f64),
    /// `%name`
    Temp,
    /// `@name`
    Label,
    /// `$name` or `$"quoted"`
    Global,
    /// `:name`
    TypeName,
    /// `"…"` with escapes decoded.
    Str,
    /// A bare word: a keyword, an instruction name or `...`.
    Ident,
    /// A malformed token; [`Lexer::error`] says why.
    Error,
}

/// A token and where it starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// Where its first byte is.
    pub pos: Pos,
}

/// Reads tokens from a byte stream.
pub struct Lexer<'a> {
    input: Box<dyn std::io::BufRead + 'a>,
    window: Box<[u8]>,
    pos: usize,
    end: usize,
    at_eof: bool,
    /// Absolute offset of `window[0]`.
    window_base: u64,
    line: u32,
    /// Absolute offset of the first byte of the current line.
    line_start: u64,
    /// Text of the current item: bytes from `item_base` up to
    /// `window_base + kept`; the rest is still in the window.
    item_text: Vec<u8>,
    /// Bytes at the start of `item_text` that are no longer part of it.
    dead: usize,
    item_base: u64,
    item_line: u32,
    /// `window[..kept]` is already in `item_text` (or was discarded).
    kept: usize,
    /// Stretches of the item not saved (absolute offset, length).
    gaps: Vec<(u64, u64)>,
    /// Start of the run of skippable bytes being read, if any.
    run_start: Option<u64>,
    /// Text of the last name, keyword or string token, unless it is
    /// `window[a..b]` (most names: no copy needed).
    text: Vec<u8>,
    text_window: Option<(usize, usize)>,
    /// Why the last [`Tok::Error`] token is malformed.
    pub error: String,
    /// Where inside that token the problem is, when not at its start.
    pub error_pos: Option<Pos>,
    /// The byte, when that token is a byte no token starts with.
    pub stray: Option<u8>,
    /// A read error, reported once by the parser.
    pub io_error: Option<String>,
}

impl<'a> Lexer<'a> {
    /// A lexer reading `input`.
    pub fn new(input: Box<dyn BufRead + 'a>) -> Self {
        Lexer {
            input,
            window: vec![0; WINDOW].into_boxed_slice(),
            pos: 0,
            end: 0,
            at_eof: false,
            window_base: 0,
            line: 1,
            line_start: 0,
            item_text: Vec::new(),
            dead: 0,
            item_base: 0,
            item_line: 1,
            kept: 0,
            gaps: Vec::new(),
            run_start: None,
            text: Vec::new(),
            text_window: None,
            error: String::new(),
            error_pos: None,
            stray: None,
            io_error: None,
        }
    }

    /// The position of the next unread byte.
    pub fn here(&self) -> Pos {
        let offset = self.window_base + self.pos as u64;
        Pos {
            line: self.line,
            col: col_of(offset, self.line_start),
            offset,
        }
    }

    /// Text of the last name, keyword or string token read (decoded for
    /// strings). Valid until the next token is read.
    #[inline]
    pub fn text(&self) -> &[u8] {
        match self.text_window {
            Some((a, b)) => &self.window[a..b],
            None => &self.text,
        }
    }

    /// Takes the text of the last token, leaving an empty buffer.
    pub fn take_text(&mut self) -> Vec<u8> {
        self.materialize_text();
        std::mem::take(&mut self.text)
    }

    /// Exchanges the text of the last token with `other`.
    pub fn swap_text(&mut self, other: &mut Vec<u8>) {
        self.materialize_text();
        std::mem::swap(&mut self.text, other);
    }

    /// Copies text that still lives in the window into the text buffer.
    fn materialize_text(&mut self) {
        if let Some((a, b)) = self.text_window.take() {
            self.text.clear();
            self.text.extend_from_slice(&self.window[a..b]);
        }
    }

    /// Refills the window; returns false at the end of the input.
    #[cold]
    fn refill(&mut self) -> bool {
        if self.at_eof {
            return false;
        }
        self.materialize_text();
        self.save_window_tail();
        self.window_base += self.end as u64;
        self.pos = 0;
        self.end = 0;
        self.kept = 0;
        loop {
            match self.input.read(&mut self.window) {
                Ok(0) => {
                    self.at_eof = true;
                    return false;
                }
                Ok(n) => {
                    self.end = n;
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.io_error = Some(e.to_string());
                    self.at_eof = true;
                    return false;
                }
            }
        }
    }

    /// Moves the unsaved part of the window into the item text, except the
    /// part of a long run of skippable bytes (blanks, comments, a line
    /// skipped after an error) beyond its first few hundred bytes: that part
    /// becomes a gap, so memory stays bounded however long the run is.
    fn save_window_tail(&mut self) {
        let from = self.window_base + self.kept as u64;
        let to = self.window_base + self.end as u64;
        let save_to = match self.run_start {
            Some(start) => to.min(start + SKIPPED_RUN_KEEP as u64).max(from),
            None => to,
        };
        let lo = self.kept;
        let hi = (save_to - self.window_base) as usize;
        self.item_text.extend_from_slice(&self.window[lo..hi]);
        if save_to < to {
            match self.gaps.last_mut() {
                Some(g) if g.0 + g.1 == save_to => g.1 += to - save_to,
                _ => self.gaps.push((save_to, to - save_to)),
            }
        }
        self.kept = self.end;
    }

    /// The next byte without consuming it.
    #[inline]
    fn peek_byte(&mut self) -> Option<u8> {
        if self.pos < self.end || self.refill() {
            Some(self.window[self.pos])
        } else {
            None
        }
    }

    /// Consumes one byte (which must have been peeked).
    #[inline]
    fn bump(&mut self, b: u8) {
        self.pos += 1;
        if b == b'\n' {
            self.line += 1;
            self.line_start = self.window_base + self.pos as u64;
        }
    }

    /// Starts a new item at the line holding `pos`: the text of everything
    /// before that line is dropped.
    pub fn start_item_at(&mut self, pos: Pos) {
        let line_start = pos.offset - u64::from(pos.col.saturating_sub(1));
        self.trim_text_before(line_start, pos.line);
    }

    /// Drops all kept text before the current line (used between items
    /// and after errors, so only what a diagnostic may quote is kept).
    pub fn discard_text(&mut self) {
        self.trim_text_before(self.line_start, self.line);
    }

    fn trim_text_before(&mut self, offset: u64, line: u32) {
        if offset <= self.item_base {
            return;
        }
        match self.text_index(offset) {
            Some(cut) if offset < self.window_base + self.kept as u64 => {
                // Drop lazily: compacting only when the dead prefix
                // outgrows the live text keeps this amortised O(1) per byte.
                self.dead += cut;
                if self.dead > self.item_text.len() / 2 {
                    self.item_text.drain(..self.dead);
                    self.dead = 0;
                    if self.item_text.capacity() > (1 << 20).max(4 * self.item_text.len()) {
                        self.item_text.shrink_to(WINDOW.max(self.item_text.len()));
                    }
                }
                self.gaps.retain(|g| g.0 >= offset);
            }
            _ => {
                self.item_text.clear();
                // Give back the memory of an unusually large item.
                if self.item_text.capacity() > 1 << 20 {
                    self.item_text.shrink_to(WINDOW);
                }
                self.dead = 0;
                self.gaps.clear();
                if offset >= self.window_base + self.kept as u64 {
                    self.kept = (offset - self.window_base).min(self.end as u64) as usize;
                }
            }
        }
        self.item_base = offset;
        self.item_line = line;
    }

    /// Where the byte at absolute `offset` is in the saved item text, if it
    /// was saved.
    fn text_index(&self, offset: u64) -> Option<usize> {
        let mut skipped = 0;
        for &(start, len) in &self.gaps {
            if offset >= start + len {
                skipped += len;
            } else if offset >= start {
                return None;
            }
        }
        offset
            .checked_sub(self.item_base + skipped)
            .map(|i| i as usize)
    }

    /// The text of the current item read so far, for quoting: the saved
    /// bytes, the absolute offset of the first, the line number of the
    /// first, and the index of `offset` in the text (if it was saved).
    pub fn item_text(&mut self, offset: u64) -> (&[u8], u64, u32, Option<usize>) {
        self.item_text
            .extend_from_slice(&self.window[self.kept..self.pos]);
        self.kept = self.pos;
        let text = &self.item_text[self.dead..];
        let index = self.text_index(offset).filter(|&i| i <= text.len());
        (text, self.item_base, self.item_line, index)
    }

    /// Skips the rest of the current line (after an error), keeping only
    /// its start for quoting. The newline is consumed.
    #[inline(never)]
    pub fn skip_line(&mut self) {
        self.run_start = Some(self.window_base + self.pos as u64);
        loop {
            if self.pos >= self.end && !self.refill() {
                break;
            }
            let window = &self.window[self.pos..self.end];
            match window.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.pos += i;
                    self.bump(b'\n');
                    break;
                }
                None => self.pos = self.end,
            }
        }
        self.run_start = None;
    }

    /// Reads the next token.
    pub fn next_token(&mut self) -> Token {
        self.error_pos = None;
        self.stray = None;
        let blank_end = self.skip_blanks();
        let Some(b) = blank_end else {
            return Token {
                tok: Tok::Eof,
                pos: self.here(),
            };
        };
        let pos = self.here();
        let tok = match b {
            b'\n' => {
                self.bump(b);
                Tok::Nl
            }
            b'#' => {
                self.skip_comment();
                Tok::Nl
            }
            b',' => self.single(Tok::Comma),
            b'(' => self.single(Tok::LParen),
            b')' => self.single(Tok::RParen),
            b'{' => self.single(Tok::LBrace),
            b'}' => self.single(Tok::RBrace),
            b'=' => self.single(Tok::Eq),
            b'+' => self.single(Tok::Plus),
            b'%' => self.sigil_name(Tok::Temp),
            b'@' => self.sigil_name(Tok::Label),
            b':' => self.sigil_name(Tok::TypeName),
            b'$' => {
                self.pos += 1;
                if self.peek_byte() == Some(b'"') {
                    self.pos += 1;
                    match self.string_body() {
                        Tok::Str => Tok::Global,
                        other => other,
                    }
                } else {
                    self.name_after_sigil(Tok::Global)
                }
            }
            b'"' => {
                self.pos += 1;
                self.string_body()
            }
            b'-' | b'0'..=b'9' => self.integer(),
            b's' | b'd' => {
                let start = self.pos;
                let base = self.window_base;
                self.pos += 1;
                if self.peek_byte() == Some(b'_') {
                    self.pos += 1;
                    self.float(b == b's')
                } else if self.window_base == base {
                    self.name_from(start, Tok::Ident)
                } else {
                    // The window moved on: keep the first letter by hand.
                    self.text_window = None;
                    self.text.clear();
                    self.text.push(b);
                    self.name_tail(Tok::Ident)
                }
            }
            _ if is_name_start(b) => self.name_from(self.pos, Tok::Ident),
            _ => self.stray_byte(b),
        };
        Token { tok, pos }
    }

    #[cold]
    fn stray_byte(&mut self, b: u8) -> Tok {
        self.pos += 1;
        self.error = if b.is_ascii_graphic() {
            format!("unexpected character `{}`", b as char)
        } else {
            format!("unexpected byte 0x{b:02x}")
        };
        self.stray = Some(b);
        Tok::Error
    }

    /// Skips spaces and tabs; returns the next byte (not consumed).
    #[inline]
    fn skip_blanks(&mut self) -> Option<u8> {
        let is_blank = |b: u8| CLASS[b as usize] & BLANK != 0;
        // Fast paths: the next byte, or the one after a single space (the
        // usual separator), is in the window and not blank.
        let window = &self.window[..self.end];
        if let Some(&b) = window.get(self.pos) {
            if !is_blank(b) {
                return Some(b);
            }
            if b == b' ' {
                if let Some(&next) = window.get(self.pos + 1) {
                    if !is_blank(next) {
                        self.pos += 1;
                        return Some(next);
                    }
                }
            }
        }
        let start = self.window_base + self.pos as u64;
        loop {
            let window = &self.window[self.pos..self.end];
            match window.iter().position(|&b| !is_blank(b)) {
                Some(i) => {
                    self.pos += i;
                    return Some(self.window[self.pos]);
                }
                None => {
                    self.pos = self.end;
                    // A long run of blanks is not kept whole for quoting.
                    self.run_start = Some(start);
                    let more = self.refill();
                    self.run_start = None;
                    if !more {
                        return None;
                    }
                }
            }
        }
    }

    fn single(&mut self, t: Tok) -> Tok {
        self.pos += 1;
        t
    }

    fn skip_comment(&mut self) {
        self.skip_line();
    }

    fn sigil_name(&mut self, t: Tok) -> Tok {
        self.pos += 1;
        self.name_after_sigil(t)
    }

    fn name_after_sigil(&mut self, t: Tok) -> Tok {
        match self.peek_byte() {
            Some(b) if is_name_start(b) => self.name_from(self.pos, t),
            Some(b) => {
                self.error = format!(
                    "expected a name after `{}`, found {}",
                    sigil(t),
                    describe_byte(b)
                );
                Tok::Error
            }
            None => {
                self.error = format!("expected a name after `{}`, found end of input", sigil(t));
                Tok::Error
            }
        }
    }

    /// Reads a name whose first byte is `window[start]` (at or before the
    /// current position). A name that ends inside the window is not copied.
    #[inline(always)]
    fn name_from(&mut self, start: usize, t: Tok) -> Tok {
        let window = &self.window[..self.end];
        let mut end = self.pos;
        while end < window.len() && CLASS[window[end] as usize] & NAME_CHAR != 0 {
            end += 1;
        }
        if end < window.len() && end - start <= MAX_NAME_LEN {
            self.pos = end;
            self.text_window = Some((start, end));
            return t;
        }
        self.text_window = None;
        self.text.clear();
        self.text.extend_from_slice(&self.window[start..self.pos]);
        self.name_tail(t)
    }

    /// Reads name characters into `text` (which may already hold a prefix).
    fn name_tail(&mut self, t: Tok) -> Tok {
        loop {
            if self.pos >= self.end && !self.refill() {
                break;
            }
            let window = &self.window[self.pos..self.end];
            let n = window
                .iter()
                .position(|&b| !is_name_char(b))
                .unwrap_or(window.len());
            if self.text.len() + n > MAX_NAME_LEN {
                self.pos += n;
                self.skip_name_chars();
                self.error = format!("name longer than {MAX_NAME_LEN} bytes");
                return Tok::Error;
            }
            self.text.extend_from_slice(&window[..n]);
            self.pos += n;
            if self.pos < self.end {
                break;
            }
        }
        t
    }

    fn skip_name_chars(&mut self) {
        self.run_start = Some(self.window_base + self.pos as u64);
        while let Some(b) = self.peek_byte() {
            if !is_name_char(b) {
                break;
            }
            self.pos += 1;
        }
        self.run_start = None;
    }

    /// Reads a string after its opening quote, decoding escapes into `text`.
    #[inline(never)]
    fn string_body(&mut self) -> Tok {
        self.text.clear();
        self.text_window = None;
        // Only the start of a long string is kept for quoting.
        self.run_start = Some(self.window_base + self.pos as u64);
        let tok = self.string_body_inner();
        self.run_start = None;
        tok
    }

    fn string_body_inner(&mut self) -> Tok {
        loop {
            let Some(b) = self.peek_byte() else {
                self.error = "unterminated string".into();
                return Tok::Error;
            };
            self.bump(b);
            match b {
                b'"' => return Tok::Str,
                b'\\' => {
                    let mut at = self.here();
                    at.offset -= 1;
                    at.col = at.col.saturating_sub(1);
                    if let Err(e) = self.escape() {
                        self.error_pos = Some(at);
                        self.error = e;
                        self.skip_string_rest();
                        return Tok::Error;
                    }
                }
                _ => self.text.push(b),
            }
            if self.text.len() > MAX_STRING_LEN {
                self.skip_string_rest();
                self.error = format!("string longer than {MAX_STRING_LEN} bytes");
                return Tok::Error;
            }
        }
    }

    fn skip_string_rest(&mut self) {
        self.run_start = Some(self.window_base + self.pos as u64);
        self.skip_string_body();
        self.run_start = None;
    }

    fn skip_string_body(&mut self) {
        let mut escaped = false;
        while let Some(b) = self.peek_byte() {
            self.bump(b);
            if b == b'"' && !escaped {
                return;
            }
            escaped = b == b'\\' && !escaped;
        }
    }

    fn escape(&mut self) -> Result<(), String> {
        let Some(b) = self.peek_byte() else {
            return Err("unterminated string".into());
        };
        self.bump(b);
        let decoded = match b {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'v' => 11,
            b'e' => 27,
            b'\\' | b'"' | b'\'' | b'?' => b,
            b'0'..=b'7' => {
                let mut v = u32::from(b - b'0');
                for _ in 0..2 {
                    match self.peek_byte() {
                        Some(d @ b'0'..=b'7') => {
                            self.pos += 1;
                            v = v * 8 + u32::from(d - b'0');
                        }
                        _ => break,
                    }
                }
                u8::try_from(v).map_err(|_| format!("octal escape \\{v:o} is above \\377"))?
            }
            b'x' => {
                let mut v: u32 = 0;
                let mut digits = 0;
                while let Some(d) = self.peek_byte() {
                    let Some(x) = (d as char).to_digit(16) else {
                        break;
                    };
                    self.pos += 1;
                    digits += 1;
                    v = v.saturating_mul(16).saturating_add(x);
                }
                if digits == 0 {
                    return Err("expected hexadecimal digits after `\\x`".into());
                }
                u8::try_from(v).map_err(|_| "hexadecimal escape is above \\xff".to_string())?
            }
            other => {
                return Err(format!(
                    "unknown escape `\\{}` in string",
                    if other.is_ascii_graphic() {
                        (other as char).to_string()
                    } else {
                        format!("x{other:02x}")
                    }
                ))
            }
        };
        self.text.push(decoded);
        Ok(())
    }
}

fn col_of(offset: u64, line_start: u64) -> u32 {
    u32::try_from(offset - line_start + 1).unwrap_or(u32::MAX)
}

/// Byte classes, looked up per byte while lexing.
const NAME_START: u8 = 1;
const NAME_CHAR: u8 = 2;
const BLANK: u8 = 4;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_alphabetic() || b == b'.' || b == b'_' {
            t[i] |= NAME_START | NAME_CHAR;
        }
        if b.is_ascii_digit() || b == b'$' {
            t[i] |= NAME_CHAR;
        }
        if matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c) {
            t[i] |= BLANK;
        }
        i += 1;
    }
    t
};

/// First byte of a name: a letter, `.` or `_`.
#[inline]
pub fn is_name_start(b: u8) -> bool {
    CLASS[b as usize] & NAME_START != 0
}

/// Later bytes of a name: also digits and `$`.
#[inline]
pub fn is_name_char(b: u8) -> bool {
    CLASS[b as usize] & NAME_CHAR != 0
}

fn sigil(t: Tok) -> char {
    match t {
        Tok::Temp => '%',
        Tok::Label => '@',
        Tok::TypeName => ':',
        _ => '$',
    }
}

/// Describes a byte for a message: `` `x` `` or a hex code.
pub fn describe_byte(b: u8) -> String {
    match b {
        b'\n' => "newline".into(),
        b' ' | b'\t' => "a space".into(),
        _ if b.is_ascii_graphic() => format!("`{}`", b as char),
        _ => format!("byte 0x{b:02x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex_all(src: &str) -> Vec<Tok> {
        let mut lx = Lexer::new(Box::new(src.as_bytes()));
        let mut out = Vec::new();
        loop {
            let t = lx.next_token();
            out.push(t.tok);
            if t.tok == Tok::Eof {
                return out;
            }
        }
    }

    #[test]
    fn numbers_and_floats() {
        assert_eq!(
            lex_all("-1 18446744073709551615 s_1.5 d_-0x1p-2 d_inf"),
            vec![
                Tok::Int(-1),
                Tok::Int(-1),
                Tok::Single(1.5),
                Tok::Double(-0.25),
                Tok::Double(f64::INFINITY),
                Tok::Eof
            ]
        );
        assert_eq!(lex_all("18446744073709551616")[0], Tok::Error);
    }

    #[test]
    fn hex_floats_round_like_strtod() {
        assert_eq!(parse_float("0x1.8p3"), Some(12.0));
        assert_eq!(parse_float("0x.1p4"), Some(1.0));
        assert_eq!(parse_float("0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(parse_float("0x1p-1075"), Some(0.0));
        assert_eq!(parse_float("0x1.8p-1075"), Some(f64::from_bits(1)));
        assert_eq!(parse_float("0x1p1024"), Some(f64::INFINITY));
        assert_eq!(
            parse_float("0x1.fffffffffffff8p0"),
            Some(2.0),
            "ties round to even"
        );
        assert_eq!(
            parse_float("0x1.fffffffffffff7p0"),
            Some(f64::from_bits(0x3fff_ffff_ffff_ffff))
        );
    }

    #[test]
    fn names_strings_comments() {
        let mut lx = Lexer::new(Box::new(&b"%a.b$ @l # c\n\"x\\n\\101\\x42\" $\"q r\""[..]));
        assert_eq!(lx.next_token().tok, Tok::Temp);
        assert_eq!(lx.text(), b"a.b$");
        assert_eq!(lx.next_token().tok, Tok::Label);
        assert_eq!(lx.next_token().tok, Tok::Nl);
        let t = lx.next_token();
        assert_eq!((t.tok, t.pos.line, t.pos.col), (Tok::Str, 2, 1));
        assert_eq!(lx.text(), b"x\nAB");
        assert_eq!(lx.next_token().tok, Tok::Global);
        assert_eq!(lx.text(), b"q r");
    }
}
