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
