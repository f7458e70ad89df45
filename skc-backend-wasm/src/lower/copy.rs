//! Small constant-size memory copies as plain loads and stores.
//!
//! `memory.copy` is a call into the runtime in common wasm engines, far
//! more expensive than the two loads and two stores that copy a 16-byte
//! aggregate. Copies up to [`INLINE_LIMIT`] bytes are split into 8-byte
//! pieces and a 4-, 2- and 1-byte tail; all pieces are loaded before any
//! is stored, so an identical source and destination are fine too.

/// The largest copy done inline.
pub const INLINE_LIMIT: u64 = 64;

/// The width of one piece of a copy, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// One byte.
    B1,
    /// Two bytes.
    B2,
    /// Four bytes.
    B4,
    /// Eight bytes.
    B8,
}

impl Width {
    /// The width in bytes.
    pub fn bytes(self) -> u32 {
        match self {
            Width::B1 => 1,
            Width::B2 => 2,
            Width::B4 => 4,
            Width::B8 => 8,
        }
    }
}

/// The pieces (offset, width) of an inline copy of `size` bytes, or
/// `None` when the copy is too large to inline.
pub fn pieces(size: u64) -> Option<Vec<(u32, Width)>> {
    if size > INLINE_LIMIT {
        return None;
    }
    let mut out = Vec::new();
    let mut off = 0u32;
    let mut left = size as u32;
    for w in [Width::B8, Width::B4, Width::B2, Width::B1] {
        while left >= w.bytes() {
            out.push((off, w));
            off += w.bytes();
            left -= w.bytes();
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_copy_exactly_once() {
        for size in 0..=INLINE_LIMIT {
            let p = pieces(size).expect("inline");
            let mut next = 0;
            for &(off, w) in &p {
                assert_eq!(off, next);
                next += w.bytes();
            }
            assert_eq!(u64::from(next), size);
        }
        assert_eq!(pieces(16), Some(vec![(0, Width::B8), (8, Width::B8)]));
        assert_eq!(
            pieces(7),
            Some(vec![(0, Width::B4), (4, Width::B2), (6, Width::B1)])
        );
        assert_eq!(pieces(INLINE_LIMIT + 1), None);
    }
}
