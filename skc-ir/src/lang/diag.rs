//! Diagnostics: errors tied to a position in the input, rendered with the
//! source line and a caret.

use crate::ir::Pos;

/// One error found in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where it was found.
    pub pos: Pos,
    /// What is wrong, e.g. "expected `,` or `)`, found `@b`".
    pub message: String,
    /// An optional hint on how to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `pos`.
    pub fn error(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            pos,
            message: message.into(),
            help: None,
        }
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Writes diagnostics as `error: MESSAGE` with `file:line:col`, the source
/// line and a caret, quoting from the text the lexer kept for the current
/// item (so it works for streamed input such as stdin).
pub struct Renderer<'a> {
    out: Box<dyn std::io::Write + 'a>,
    file_name: String,
    color: bool,
    count: usize,
}

/// How many bytes either side of the caret are quoted from a long line.
const QUOTE_RADIUS: usize = 160;

impl<'a> Renderer<'a> {
    /// A renderer writing to `out`, naming the input `file_name`.
    pub fn new(out: Box<dyn std::io::Write + 'a>, file_name: &str, color: bool) -> Self {
        Renderer {
            out,
            file_name: file_name.to_string(),
            color,
            count: 0,
        }
    }

    /// How many diagnostics have been written.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Writes one diagnostic. `text` is the kept source text and `index`
    /// the position of `d.pos` in it, if it was kept.
    pub fn emit(&mut self, d: &Diagnostic, text: &[u8], index: Option<usize>) {
        self.count += 1;
        let snippet = Snippet::new(&self.file_name, d.pos, text, index);
        let mut diagnostic = codespan_reporting::diagnostic::Diagnostic::error()
            .with_message(d.message.clone())
            .with_labels(vec![codespan_reporting::diagnostic::Label::primary(
                (),
                snippet.caret.clone(),
            )]);
        if let Some(help) = &d.help {
            diagnostic = diagnostic.with_notes(vec![format!("help: {help}")]);
        }
        let config = codespan_reporting::term::Config::default();
        // A failure to write diagnostics cannot itself be reported anywhere.
        let _ = if self.color {
            let mut w = codespan_reporting::term::termcolor::Ansi::new(&mut self.out);
            codespan_reporting::term::emit_to_write_style(&mut w, &config, &snippet, &diagnostic)
        } else {
            codespan_reporting::term::emit_to_io_write(
                &mut self.out,
                &config,
                &snippet,
                &diagnostic,
            )
        };
        let _ = self.out.flush();
    }

    /// Writes a message that has no position in the input.
    pub fn emit_plain(&mut self, message: &str) {
        self.count += 1;
        let _ = writeln!(self.out, "error: {}: {message}", self.file_name);
        let _ = self.out.flush();
    }
}

use std::io::Write as _;

/// One quoted line of the input, presented to `codespan-reporting` as a
/// file whose line and column numbers are those of the real input.
struct Snippet<'n> {
    name: &'n str,
    source: String,
    line: usize,
    col: usize,
    caret: std::ops::Range<usize>,
}

impl<'n> Snippet<'n> {
    fn new(name: &'n str, pos: Pos, text: &[u8], index: Option<usize>) -> Self {
        let line = pos.line.max(1) as usize;
        let col = pos.col.max(1) as usize;
        let Some(index) = index.filter(|&i| i <= text.len()) else {
            return Snippet {
                name,
                source: String::new(),
                line,
                col,
                caret: 0..0,
            };
        };
        let line_start = text[..index]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line_end = text[index..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| index + i);
        let from = line_start.max(index.saturating_sub(QUOTE_RADIUS));
        let to = line_end.min(index + QUOTE_RADIUS).max(index);
        let source = printable(&text[from..to]);
        // Clipping may have cut a multi-byte character: move to boundaries.
        let mut at = index - from;
        while at < source.len() && !source.is_char_boundary(at) {
            at += 1;
        }
        let mut end = (at + 1).min(source.len());
        while end < source.len() && !source.is_char_boundary(end) {
            end += 1;
        }
        Snippet {
            name,
            source,
            line,
            col,
            caret: at..end,
        }
    }
}

/// The text as UTF-8, one byte for one byte: invalid bytes and control
/// characters other than tab become `?` so offsets stay valid.
fn printable(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.extend_from_slice(s.as_bytes());
                break;
            }
            Err(e) => {
                let good = e.valid_up_to();
                out.extend_from_slice(&rest[..good]);
                let bad = e.error_len().unwrap_or(rest.len() - good);
                out.extend(std::iter::repeat_n(b'?', bad));
                rest = &rest[good + bad..];
            }
        }
    }
    for b in &mut out {
        if *b < 0x20 && *b != b'\t' || *b == 0x7f {
            *b = b'?';
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

impl<'f> codespan_reporting::files::Files<'f> for Snippet<'_> {
    type FileId = ();
    type Name = &'f str;
    type Source = &'f str;

    fn name(&'f self, _: ()) -> Result<&'f str, codespan_reporting::files::Error> {
        Ok(self.name)
    }

    fn source(&'f self, _: ()) -> Result<&'f str, codespan_reporting::files::Error> {
        Ok(&self.source)
    }

    fn line_index(
        &'f self,
        _: (),
        _byte: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        Ok(0)
    }

    fn line_number(
        &'f self,
        _: (),
        _line_index: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        Ok(self.line)
    }

    fn column_number(
        &'f self,
        _: (),
        _line_index: usize,
        byte: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        // Columns count bytes of the real line; the quote may be clipped.
        Ok(self.col + byte.saturating_sub(self.caret.start))
    }

    fn line_range(
        &'f self,
        _: (),
        _line_index: usize,
    ) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        Ok(0..self.source.len())
    }
}
