//! A name → index map that is cleared in O(1) and reused across functions.
//!
//! The names themselves live in the caller's arena (value or label
//! names); the map stores only indices, so a lookup allocates nothing and
//! clearing bumps a generation counter instead of touching every slot.

/// Maps byte-string names to `u32` indices into a caller-owned arena.
#[derive(Debug, Default)]
pub struct NameMap {
    /// `(generation, index)`; a slot is empty unless its generation is
    /// the current one.
    slots: Vec<(u32, u32)>,
    generation: u32,
    len: usize,
}

fn hash(name: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = name.len() as u64;
    let mut chunks = name.chunks_exact(8);
    for c in &mut chunks {
        let w = c.try_into().map_or(0, u64::from_le_bytes);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    // Assemble the tail by hand: a variable-length copy would be a call.
    let mut w = 0u64;
    for (i, &b) in chunks.remainder().iter().enumerate() {
        w |= u64::from(b) << (8 * i);
    }
    h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    // Mix the high bits down: slots are picked by the low bits.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

impl NameMap {
    /// Forgets every name.
    pub fn clear(&mut self) {
        self.len = 0;
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Wrapped: old slots could look current again.
            self.slots.iter_mut().for_each(|s| *s = (0, 0));
            self.generation = 1;
        }
    }

    /// The index of `name`, if present.
    pub fn get<'n>(&self, name: &[u8], name_of: impl Fn(u32) -> &'n [u8]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = hash(name) as usize & mask;
        loop {
            let (g, idx) = self.slots[i];
            if g != self.generation {
                return None;
            }
            if name_of(idx) == name {
                return Some(idx);
            }
            i = (i + 1) & mask;
        }
    }

    /// The index of `name`, inserting `next` for it if absent; the flag
    /// says whether it was inserted.
    pub fn get_or_insert<'n>(
        &mut self,
        name: &[u8],
        next: u32,
        name_of: impl Fn(u32) -> &'n [u8],
    ) -> (u32, bool) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow(&name_of);
        }
        let mask = self.slots.len() - 1;
        let mut i = hash(name) as usize & mask;
        loop {
            let (g, idx) = self.slots[i];
            if g != self.generation {
                self.slots[i] = (self.generation, next);
                self.len += 1;
                return (next, true);
            }
            if name_of(idx) == name {
                return (idx, false);
            }
            i = (i + 1) & mask;
        }
    }

    fn grow<'n>(&mut self, name_of: &impl Fn(u32) -> &'n [u8]) {
        let new_len = (self.slots.len() * 2).max(64);
        let old = std::mem::replace(&mut self.slots, vec![(0, 0); new_len]);
        let old_generation = self.generation;
        if self.generation == 0 {
            self.generation = 1;
        }
        let mask = new_len - 1;
        for (g, idx) in old {
            if g != old_generation || old_generation == 0 {
                continue;
            }
            let mut i = hash(name_of(idx)) as usize & mask;
            while self.slots[i].0 == self.generation {
                i = (i + 1) & mask;
            }
            self.slots[i] = (self.generation, idx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_find_clear_and_grow() {
        let names: Vec<String> = (0..1000).map(|i| format!("t{i}")).collect();
        let mut m = NameMap::default();
        for round in 0..3 {
            m.clear();
            for (i, n) in names.iter().enumerate() {
                let (idx, fresh) =
                    m.get_or_insert(n.as_bytes(), i as u32, |j| names[j as usize].as_bytes());
                assert!(fresh, "round {round}");
                assert_eq!(idx, i as u32);
            }
            for (i, n) in names.iter().enumerate() {
                assert_eq!(
                    m.get(n.as_bytes(), |j| names[j as usize].as_bytes()),
                    Some(i as u32)
                );
                let (idx, fresh) =
                    m.get_or_insert(n.as_bytes(), 99999, |j| names[j as usize].as_bytes());
                assert_eq!((idx, fresh), (i as u32, false));
            }
            assert_eq!(m.get(b"nope", |j| names[j as usize].as_bytes()), None);
        }
    }
}
