//! The scalar vocabulary every item is written in: positions in the
//! input, the base types of values, sub-word types at call boundaries and
//! the extended types of data and aggregate fields. Kept apart from the
//! rest of the data model so that [`super::types`], which lays out
//! aggregates from these, does not depend on functions and instructions.

use std::fmt;

/// A position in the input: 1-based line and column, and byte offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Pos {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in bytes.
    pub col: u32,
    /// Byte offset from the start of the input.
    pub offset: u64,
}

/// The four base types every value has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BaseType {
    /// 32-bit integer (`w`).
    W,
    /// 64-bit integer (`l`); addresses are `l`.
    L,
    /// 32-bit IEEE float (`s`).
    S,
    /// 64-bit IEEE float (`d`).
    D,
}

impl BaseType {
    /// Size in bytes.
    pub fn size(self) -> u32 {
        match self {
            BaseType::W | BaseType::S => 4,
            BaseType::L | BaseType::D => 8,
        }
    }
    /// True for `s` and `d`.
    pub fn is_float(self) -> bool {
        matches!(self, BaseType::S | BaseType::D)
    }
    /// True for `w` and `l`.
    pub fn is_int(self) -> bool {
        !self.is_float()
    }
    /// The one-letter text form.
    pub fn letter(self) -> char {
        match self {
            BaseType::W => 'w',
            BaseType::L => 'l',
            BaseType::S => 's',
            BaseType::D => 'd',
        }
    }
}

impl fmt::Display for BaseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// Sub-word integer types usable at call boundaries (parameters, returns,
/// call arguments). Their value in a function body is a `w`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubWord {
    /// Signed byte (`sb`).
    Sb,
    /// Unsigned byte (`ub`).
    Ub,
    /// Signed half-word (`sh`).
    Sh,
    /// Unsigned half-word (`uh`).
    Uh,
}

impl SubWord {
    /// Size in bytes (1 or 2).
    pub fn size(self) -> u32 {
        match self {
            SubWord::Sb | SubWord::Ub => 1,
            SubWord::Sh | SubWord::Uh => 2,
        }
    }
    /// True for the sign-extended kinds.
    pub fn is_signed(self) -> bool {
        matches!(self, SubWord::Sb | SubWord::Sh)
    }
}

impl fmt::Display for SubWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubWord::Sb => "sb",
            SubWord::Ub => "ub",
            SubWord::Sh => "sh",
            SubWord::Uh => "uh",
        })
    }
}

/// Types of data items and aggregate fields: the base types plus `b`, `h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtType {
    /// Byte.
    B,
    /// Half-word.
    H,
    /// Word.
    W,
    /// Long.
    L,
    /// Single.
    S,
    /// Double.
    D,
}

impl ExtType {
    /// Size in bytes, which is also the natural alignment.
    pub fn size(self) -> u32 {
        match self {
            ExtType::B => 1,
            ExtType::H => 2,
            ExtType::W | ExtType::S => 4,
            ExtType::L | ExtType::D => 8,
        }
    }
    /// The one-letter text form.
    pub fn letter(self) -> char {
        match self {
            ExtType::B => 'b',
            ExtType::H => 'h',
            ExtType::W => 'w',
            ExtType::L => 'l',
            ExtType::S => 's',
            ExtType::D => 'd',
        }
    }
}

impl fmt::Display for ExtType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}
