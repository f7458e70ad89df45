//! A flat LP64 byte-addressed memory of separate allocations with bounds.
//!
//! An address is `tag << 32 | (start + offset)`: every data item, stack
//! slot and heap block is its own region, so adding and subtracting
//! integers and addresses works as on integers (the IL may compute
//! `$a + ($b - $a)`) while an access can still be checked against the one
//! allocation it falls in. Tags are the region numbers scattered over 31
//! bits and offsets start past `BASE`, so an address made by anything else
//! (`$a | ($b - $a)`, `$a * $b`), whose target depends on where a real
//! linker put things, almost never lands in an allocation and is reported
//! instead of being given an arbitrary meaning. For the same reason a
//! region starts at an odd multiple of its alignment: aligned as the IL
//! asked and no more, so masking or flipping address bits the alignment
//! does not cover leaves the region. Tag 0 is never allocated: the null
//! page and small integers.

use super::stop::Stop;

/// Regions start past this offset (the largest alignment the IL has).
const BASE: u64 = 0x1_0000;

/// Regions whose number is at least this hold no bytes: they stand for
/// functions (see [`Memory::function_address`]).
const FUNCTION_REGIONS: u64 = 0xffff_0000;

/// Tags are region numbers scattered by a bijection modulo 2^31 (adding a
/// constant, odd multipliers and a xor-shift by more than half the width
/// are each invertible), so tags are distinct and the difference of two
/// tags says nothing simple about a third. Tag 0 is never a region's.
const SCATTER: [u64; 2] = [0x9e37_79b1, 0x5bd1_e995];
const OFFSET: u64 = 0x2545_f491;

/// The inverse of an odd number modulo 2^31 (Newton's iteration doubles
/// the correct low bits each step).
const fn inverse(odd: u64) -> u64 {
    let mut x = odd;
    let mut i = 0;
    while i < 5 {
        x = x.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(x)));
        i += 1;
    }
    x & MASK
}

const MASK: u64 = 0x7fff_ffff;
const GATHER: [u64; 2] = [inverse(SCATTER[0]), inverse(SCATTER[1])];

/// The tag of the `n`th region (from 1).
fn tag(n: u64) -> u64 {
    let x = (n.wrapping_mul(SCATTER[0]) + OFFSET) & MASK;
    let x = x ^ (x >> 16);
    let x = x.wrapping_mul(SCATTER[1]) & MASK;
    x ^ (x >> 16)
}

/// The region number of a tag.
fn untag(t: u64) -> u64 {
    let x = t ^ (t >> 16);
    let x = x.wrapping_mul(GATHER[1]) & MASK;
    let x = x ^ (x >> 16);
    (x.wrapping_sub(OFFSET) & MASK).wrapping_mul(GATHER[0]) & MASK
}

struct Region {
    /// The low 32 bits of its first byte's address.
    start: u64,
    /// Its size, kept when it is freed.
    size: u64,
    /// The alignment it was allocated with.
    align: u64,
    /// Per byte, whether it was ever written (`None`: all of them, as for
    /// data); stack slots and `malloc` blocks start unwritten.
    written: Option<Vec<bool>>,
    bytes: Vec<u8>,
    live: bool,
    /// What it is, for messages (`$data`, `stack slot`, `malloc`).
    what: &'static str,
}

impl Region {
    /// Which bytes were written, tracked from now on if they were not.
    fn written_mut(&mut self) -> &mut Vec<bool> {
        let len = self.bytes.len();
        self.written.get_or_insert_with(|| vec![true; len])
    }
}

/// All allocations of a run.
#[derive(Default)]
pub struct Memory {
    regions: Vec<Region>,
    /// Bytes allocated and not freed.
    in_use: u64,
    /// The most `in_use` may reach.
    pub limit: u64,
}

impl Memory {
    /// An empty memory that may hold `limit` bytes at once.
    pub fn new(limit: u64) -> Self {
        Memory {
            limit,
            ..Memory::default()
        }
    }

    /// A new region of `size` zero bytes aligned to 16; its address.
    pub fn allocate(&mut self, size: u64, what: &'static str) -> Result<u64, Stop> {
        self.allocate_aligned(size, 16, what)
    }

    /// A new region whose bytes count as never written until they are
    /// (a stack slot, a `malloc` block); its address.
    pub fn allocate_unwritten(
        &mut self,
        size: u64,
        align: u64,
        what: &'static str,
    ) -> Result<u64, Stop> {
        let at = self.allocate_aligned(size, align, what)?;
        self.regions.last_mut().expect("just allocated").written = Some(vec![false; size as usize]);
        Ok(at)
    }

    /// Whether every byte of `address .. address + len` was written.
    pub fn is_written(&self, address: u64, len: u64) -> Result<bool, Stop> {
        let (r, start) = self.locate(address, len)?;
        Ok(match &self.regions[r].written {
            None => true,
            Some(w) => w[start..start + len as usize].iter().all(|&b| b),
        })
    }

    /// Of `address .. address + len` (at most 8 bytes), the bytes that
    /// were written: bit `i` for byte `address + i`.
    pub fn written_mask(&self, address: u64, len: u64) -> Result<u8, Stop> {
        Ok(match self.written_bits(address, len)? {
            None => (((1u16 << len.min(8)) - 1) & 0xff) as u8,
            Some(bits) => bits
                .iter()
                .take(8)
                .enumerate()
                .filter(|(_, &w)| w)
                .fold(0, |mask, (i, _)| mask | 1 << i),
        })
    }

    /// Marks `address .. address + len` (inside one live region) written
    /// or not: a store of a value that was itself never defined leaves
    /// the bytes undefined.
    pub fn mark_written(&mut self, address: u64, len: u64, written: bool) -> Result<(), Stop> {
        let (r, start) = self.locate(address, len)?;
        let region = &mut self.regions[r];
        if !written || region.written.is_some() {
            region.written_mut()[start..start + len as usize].fill(written);
        }
        Ok(())
    }

    /// Per byte of `address .. address + len`, whether it was written.
    fn written_bits(&self, address: u64, len: u64) -> Result<Option<Vec<bool>>, Stop> {
        let (r, start) = self.locate(address, len)?;
        Ok(self.regions[r]
            .written
            .as_ref()
            .map(|w| w[start..start + len as usize].to_vec()))
    }

    /// A new region of `size` zero bytes aligned to `align` (a power of
    /// two up to 65536) and not to twice that; its address.
    pub fn allocate_aligned(
        &mut self,
        size: u64,
        align: u64,
        what: &'static str,
    ) -> Result<u64, Stop> {
        let align = align.clamp(1, BASE);
        let start = if align == BASE {
            3 * BASE
        } else {
            BASE + align
        };
        if size >= (1 << 32) - 4 * BASE || self.in_use + size > self.limit {
            return Err(Stop::Limit(format!(
                "allocating {size} bytes exceeds the interpreter's memory limit"
            )));
        }
        if self.regions.len() as u64 + 1 >= 1 << 31 {
            return Err(Stop::Limit("too many allocations".into()));
        }
        self.in_use += size;
        self.regions.push(Region {
            start,
            size,
            align,
            written: None,
            bytes: vec![0; size as usize],
            live: true,
            what,
        });
        Ok(tag(self.regions.len() as u64) << 32 | start)
    }

    /// The region whose tag `address` has, whatever its low 32 bits.
    fn tagged(&self, address: u64) -> Option<usize> {
        let t = address >> 32;
        let n = untag(t);
        if t == 0 || t >= 1 << 31 || n == 0 || n > self.regions.len() as u64 {
            return None;
        }
        Some(n as usize - 1)
    }

    /// The region an address falls in and the offset inside it.
    fn split(&self, address: u64) -> Option<(usize, u64)> {
        let index = self.tagged(address)?;
        let offset = (address & 0xffff_ffff).checked_sub(self.regions[index].start)?;
        Some((index, offset))
    }

    /// The alignment of the allocation `value` points into, or near (an
    /// address computed from one that strayed up to `BASE` bytes outside).
    pub fn alignment_of(&self, value: u64) -> Option<u64> {
        let r = &self.regions[self.tagged(value)?];
        let low = value & 0xffff_ffff;
        let near = low + BASE >= r.start && low <= r.start + r.size + BASE;
        near.then_some(r.align)
    }

    /// Whether `value` is an address inside an allocation or just past
    /// its end (live or freed): what printing it would show depends on
    /// where things are placed.
    pub fn is_address(&self, value: u64) -> bool {
        self.split(value)
            .is_some_and(|(index, offset)| offset <= self.regions[index].size)
    }

    /// Ends the region at `address` (which must be its start).
    pub fn free(&mut self, address: u64, what: &str) -> Result<(), Stop> {
        let found = self.split(address);
        match found.map(|(index, offset)| (&mut self.regions[index], offset)) {
            Some((r, 0)) if r.live => {
                r.live = false;
                self.in_use -= r.bytes.len() as u64;
                r.bytes = Vec::new();
                Ok(())
            }
            _ => Err(Stop::Undefined(format!(
                "{what} of {address:#x}, which is not the start of a live allocation"
            ))),
        }
    }

    /// The size of the live region starting at `address`.
    pub fn size_at(&self, address: u64) -> Option<u64> {
        let (index, offset) = self.split(address)?;
        let r = &self.regions[index];
        (r.live && offset == 0).then_some(r.bytes.len() as u64)
    }

    /// The bytes `address .. address + len`, all inside one live region.
    pub fn bytes(&self, address: u64, len: u64) -> Result<&[u8], Stop> {
        let (r, start) = self.locate(address, len)?;
        Ok(&self.regions[r].bytes[start..start + len as usize])
    }

    /// The same, to write: the bytes count as written from now on.
    pub fn bytes_mut(&mut self, address: u64, len: u64) -> Result<&mut [u8], Stop> {
        let (r, start) = self.locate(address, len)?;
        let region = &mut self.regions[r];
        if let Some(w) = &mut region.written {
            w[start..start + len as usize].fill(true);
        }
        Ok(&mut region.bytes[start..start + len as usize])
    }

    fn locate(&self, address: u64, len: u64) -> Result<(usize, usize), Stop> {
        let out_of_bounds =
            |why: &str| Stop::Undefined(format!("access of {len} byte(s) at {address:#x}: {why}"));
        if address >> 32 == 0 {
            return Err(out_of_bounds("a null or small-integer address"));
        }
        let Some((index, offset)) = self.split(address) else {
            return Err(out_of_bounds("no allocation there"));
        };
        let r = &self.regions[index];
        if !r.live {
            return Err(out_of_bounds(&format!("the {} was freed", r.what)));
        }
        if offset + len > r.bytes.len() as u64 {
            return Err(out_of_bounds(&format!(
                "outside the {} of {} bytes",
                r.what,
                r.bytes.len()
            )));
        }
        Ok((index, offset as usize))
    }

    /// Reads a little-endian integer of `len` bytes.
    pub fn read(&self, address: u64, len: u64) -> Result<u64, Stop> {
        let mut v = [0u8; 8];
        v[..len as usize].copy_from_slice(self.bytes(address, len)?);
        Ok(u64::from_le_bytes(v))
    }

    /// Writes the low `len` bytes of `value`.
    pub fn write(&mut self, address: u64, len: u64, value: u64) -> Result<(), Stop> {
        self.bytes_mut(address, len)?
            .copy_from_slice(&value.to_le_bytes()[..len as usize]);
        Ok(())
    }

    /// Copies `len` bytes (the spans may overlap).
    pub fn copy(&mut self, from: u64, to: u64, len: u64) -> Result<(), Stop> {
        if len == 0 {
            return Ok(());
        }
        let data = self.bytes(from, len)?.to_vec();
        let written = self.written_bits(from, len)?;
        self.bytes_mut(to, len)?.copy_from_slice(&data);
        // Unwritten bytes stay unwritten where they are copied to.
        if let Some(bits) = written.filter(|bits| bits.contains(&false)) {
            let (r, start) = self.locate(to, len)?;
            self.regions[r].written_mut()[start..start + len as usize].copy_from_slice(&bits);
        }
        Ok(())
    }

    /// The NUL-terminated string at `address`.
    pub fn c_string(&self, address: u64) -> Result<Vec<u8>, Stop> {
        let mut s = Vec::new();
        let mut at = address;
        loop {
            let b = self.read(at, 1)? as u8;
            if b == 0 {
                return Ok(s);
            }
            s.push(b);
            at = at.wrapping_add(1);
        }
    }

    /// The address standing for function number `index`.
    pub fn function_address(index: usize) -> u64 {
        (FUNCTION_REGIONS + index as u64) << 32
    }

    /// The function an address stands for, if it is one.
    pub fn function_at(address: u64) -> Option<usize> {
        let (t, offset) = (address >> 32, address & 0xffff_ffff);
        (t >= FUNCTION_REGIONS && offset == 0).then(|| (t - FUNCTION_REGIONS) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_undone_by_the_inverse() {
        for k in 0..2 {
            assert_eq!(SCATTER[k].wrapping_mul(GATHER[k]) & MASK, 1);
        }
        for n in [0, 1, 2, 1000, MASK] {
            assert_eq!(untag(tag(n)), n);
        }
        // Nothing like `tag(2) == 2 * tag(1)`, which would make `$a | ($b -
        // $a)` land in `$a`.
        let (a, b) = (tag(1), tag(2));
        assert_ne!(a | (b.wrapping_sub(a) & MASK), a);
        assert_ne!(a | (b.wrapping_sub(a) & MASK), b);
        let mut m = Memory::new(1 << 20);
        let addresses: Vec<u64> = (0..1000).map(|_| m.allocate(4, "t").unwrap()).collect();
        for (i, a) in addresses.iter().enumerate() {
            assert_eq!(m.split(*a), Some((i, 0)));
            assert_eq!(m.split(a + 3), Some((i, 3)));
        }
        assert_eq!(m.split(addresses[5] - 1), None);
        assert_eq!(m.split(12), None);
    }
}
