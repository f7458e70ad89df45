//! Interned symbol names, stored compactly: every name lives once in a
//! shared text buffer, and the lookup table holds only a 64-bit hash and
//! an index per name. A module's symbol count grows with its size, so a
//! `String` per name (twice, with a map keyed by it) was a large share
//! of the compiler's memory on big modules.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Index of a name, in order of first appearance.
pub type NameId = u32;

/// A hasher for keys that already are well-mixed 64-bit hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// 64-bit FNV-1a followed by a final mix, so the low bits the table
/// uses depend on every byte.
fn hash(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// The interned names.
#[derive(Default)]
pub struct Names {
    text: String,
    /// (start, length) of each name in `text`.
    spans: Vec<(u32, u32)>,
    /// First name with each hash.
    by_hash: HashMap<u64, NameId, BuildHasherDefault<PassThrough>>,
    /// Names whose hash an earlier, different name already has.
    clashes: HashMap<Box<str>, NameId>,
}

impl Names {
    /// The id of `name` and whether it is new.
    pub fn intern(&mut self, name: &str) -> (NameId, bool) {
        let h = hash(name);
        if let Some(&id) = self.by_hash.get(&h) {
            if self.get(id) == name {
                return (id, false);
            }
            if let Some(&id) = self.clashes.get(name) {
                return (id, false);
            }
            let id = self.push(name);
            self.clashes.insert(name.into(), id);
            return (id, true);
        }
        let id = self.push(name);
        self.by_hash.insert(h, id);
        (id, true)
    }

    /// The id of `name`, if it is interned.
    pub fn lookup(&self, name: &str) -> Option<NameId> {
        match self.by_hash.get(&hash(name)) {
            Some(&id) if self.get(id) == name => Some(id),
            Some(_) => self.clashes.get(name).copied(),
            None => None,
        }
    }

    fn push(&mut self, name: &str) -> NameId {
        let id = self.spans.len() as NameId;
        self.spans.push((self.text.len() as u32, name.len() as u32));
        self.text.push_str(name);
        id
    }

    /// The name with id `id`.
    pub fn get(&self, id: NameId) -> &str {
        let (start, len) = self.spans[id as usize];
        &self.text[start as usize..(start + len) as usize]
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no names.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_name_gets_the_same_id() {
        let mut n = Names::default();
        assert_eq!(n.intern("printf"), (0, true));
        assert_eq!(n.intern("main"), (1, true));
        assert_eq!(n.intern("printf"), (0, false));
        assert_eq!(n.get(1), "main");
        assert_eq!(n.len(), 2);
    }

    #[test]
    fn names_with_the_same_hash_stay_apart() {
        let mut n = Names::default();
        let (a, _) = n.intern("a");
        // Pretend "b" hashes like "a".
        n.by_hash.insert(hash("b"), a);
        assert_eq!(n.intern("b"), (1, true));
        assert_eq!(n.intern("b"), (1, false));
        assert_eq!(n.intern("a"), (a, false));
        assert_eq!(n.get(1), "b");
        assert_eq!(n.get(a), "a");
    }
}
