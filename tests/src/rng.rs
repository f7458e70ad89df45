//! A small deterministic generator (SplitMix64) for the program
//! generator and the mutator: the same seed gives the same program on
//! every machine.

/// The generator's state.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for `seed`, salted so that the users of one seed
    /// number do not draw the same sequence.
    pub(crate) fn new(seed: u64, salt: u64) -> Self {
        Rng(seed ^ salt)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
