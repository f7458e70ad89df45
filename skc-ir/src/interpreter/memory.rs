//! A flat LP64 byte-addressed memory of separate allocations with bounds.
//!
//! An address is `region << 32 | offset`: every data item, stack slot and
//! heap block is its own region, so arithmetic on addresses works as on
//! integers (the IL may compute `$a + ($b - $a)`) while an access can still
//! be checked against the one allocation it falls in. Region 0 is never
//! allocated: the null page.

use super::Stop;

/// Regions whose number is at least this hold no bytes: they stand for
/// functions (see [`Memory::function_address`]).
const FUNCTION_REGIONS: u64 = 0xffff_0000;

struct Region {
    bytes: Vec<u8>,
    live: bool,
    /// What it is, for messages (`$data`, `stack slot`, `malloc`).
    what: &'static str,
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

    /// A new region of `size` zero bytes; its address.
    pub fn allocate(&mut self, size: u64, what: &'static str) -> Result<u64, Stop> {
        if size >= 1 << 32 || self.in_use + size > self.limit {
            return Err(Stop::Limit(format!(
                "allocating {size} bytes exceeds the interpreter's memory limit"
            )));
        }
        if self.regions.len() as u64 + 1 >= FUNCTION_REGIONS {
            return Err(Stop::Limit("too many allocations".into()));
        }
        self.in_use += size;
        self.regions.push(Region {
            bytes: vec![0; size as usize],
            live: true,
            what,
        });
        Ok((self.regions.len() as u64) << 32)
    }

    /// Ends the region at `address` (which must be its start).
    pub fn free(&mut self, address: u64, what: &str) -> Result<(), Stop> {
        let (index, offset) = split(address);
        match self.regions.get_mut(index.wrapping_sub(1) as usize) {
            Some(r) if r.live && offset == 0 => {
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
        let (index, offset) = split(address);
        let r = self.regions.get(index.wrapping_sub(1) as usize)?;
        (r.live && offset == 0).then_some(r.bytes.len() as u64)
    }

    /// The bytes `address .. address + len`, all inside one live region.
    pub fn bytes(&self, address: u64, len: u64) -> Result<&[u8], Stop> {
        let (r, start) = self.locate(address, len)?;
        Ok(&self.regions[r].bytes[start..start + len as usize])
    }

    /// The same, to write.
    pub fn bytes_mut(&mut self, address: u64, len: u64) -> Result<&mut [u8], Stop> {
        let (r, start) = self.locate(address, len)?;
        Ok(&mut self.regions[r].bytes[start..start + len as usize])
    }

    fn locate(&self, address: u64, len: u64) -> Result<(usize, usize), Stop> {
        let (index, offset) = split(address);
        let out_of_bounds =
            |why: &str| Stop::Undefined(format!("access of {len} byte(s) at {address:#x}: {why}"));
        if index == 0 {
            return Err(out_of_bounds("a null or small-integer address"));
        }
        let Some(r) = self.regions.get(index as usize - 1) else {
            return Err(out_of_bounds("no allocation there"));
        };
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
        Ok((index as usize - 1, offset as usize))
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
        self.bytes_mut(to, len)?.copy_from_slice(&data);
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
        let (index, offset) = split(address);
        (index >= FUNCTION_REGIONS && offset == 0).then(|| (index - FUNCTION_REGIONS) as usize)
    }
}

fn split(address: u64) -> (u64, u64) {
    (address >> 32, address & 0xffff_ffff)
}
