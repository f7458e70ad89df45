//! The interpreter's C library: output, the heap, and the memory and
//! string functions test programs use. Anything else is unsupported.

use super::memory::Memory;
use super::printf::{self, Arguments};
use super::stop::{Exit, Site, Stop};
use super::va_list::{self, VarArg};

/// What the library needs of the machine that calls it. The machine
/// implements it, so that the library does not depend on the machine.
pub(super) trait Host {
    /// The memory, with the argument layouts of active variadic calls.
    fn memory_and_va_layouts(&mut self) -> (&mut Memory, &[va_list::Layout]);
    /// Where the program's output goes.
    fn output(&mut self) -> &mut dyn std::io::Write;
    /// The call being made, for `setjmp` to record.
    fn calling_from(&self) -> Option<Site>;
    /// Calls function `index` of the function table as a comparator:
    /// two scalar arguments.
    fn call_comparator(&mut self, index: usize, x: u64, y: u64) -> Result<Option<u64>, Exit>;

    /// The memory.
    fn memory(&mut self) -> &mut Memory {
        self.memory_and_va_layouts().0
    }
}

const NAMES: [&str; 31] = [
    "setjmp",
    "_setjmp",
    "__sigsetjmp",
    "sigsetjmp",
    "longjmp",
    "_longjmp",
    "siglongjmp",
    "printf",
    "vprintf",
    "puts",
    "putchar",
    "malloc",
    "calloc",
    "realloc",
    "free",
    "memcpy",
    "memmove",
    "memset",
    "memcmp",
    "strlen",
    "strcmp",
    "abort",
    "exit",
    "fflush",
    "strcpy",
    "strchr",
    "labs",
    "atoi",
    "atol",
    "atoll",
    "qsort",
];

/// What `setjmp` writes first into a `jmp_buf`; the call's site follows
/// (activation, block, instruction), so copies of the buffer work too.
const JMP_BUF_MARK: u64 = 0x4a4d_5042_5f53_4b43;

/// Whether the interpreter provides C function `name`.
pub fn exists(name: &str) -> bool {
    NAMES.contains(&name)
}

/// `printf`'s arguments: the variadic ones, in order.
struct Variadic<'a> {
    memory: &'a Memory,
    args: std::slice::Iter<'a, VarArg>,
}

impl Arguments for Variadic<'_> {
    fn next(&mut self, float: bool) -> Result<u64, Stop> {
        match (self.args.next(), float) {
            (None, _) => Err(Stop::Undefined(
                "printf reads more arguments than were passed".into(),
            )),
            (Some(VarArg::Int(v)), false) | (Some(VarArg::Float(v)), true) => Ok(*v),
            (Some(VarArg::Float(_)), false) => Err(Stop::Undefined(
                "printf reads an integer where a floating-point argument was passed".into(),
            )),
            (Some(VarArg::Int(_)), true) => Err(Stop::Undefined(
                "printf reads a floating-point argument where an integer was passed".into(),
            )),
            (Some(VarArg::Aggregate(..)), _) => Err(Stop::Undefined(
                "printf reads an argument where an aggregate was passed".into(),
            )),
        }
    }

    fn string(&mut self, address: u64) -> Result<Vec<u8>, Stop> {
        self.memory.c_string(address)
    }

    fn is_address(&self, v: u64) -> bool {
        self.memory.is_address(v)
    }
}

/// `vprintf`'s arguments: read through a `va_list`.
struct ThroughVaList<'a> {
    memory: &'a mut Memory,
    ap: u64,
    layouts: &'a [va_list::Layout],
}

impl Arguments for ThroughVaList<'_> {
    fn next(&mut self, float: bool) -> Result<u64, Stop> {
        va_list::next(self.memory, self.ap, float, self.layouts)
    }

    fn string(&mut self, address: u64) -> Result<Vec<u8>, Stop> {
        self.memory.c_string(address)
    }

    fn is_address(&self, v: u64) -> bool {
        self.memory.is_address(v)
    }
}

fn arg(args: &[u64], i: usize, name: &str) -> Result<u64, Stop> {
    args.get(i)
        .copied()
        .ok_or_else(|| Stop::Undefined(format!("`{name}` called with too few arguments")))
}

fn write(m: &mut dyn Host, bytes: &[u8]) -> Result<(), Stop> {
    m.output()
        .write_all(bytes)
        .map_err(|e| Stop::Unsupported(format!("writing the program's output: {e}")))
}

/// Calls `name` with its fixed and variadic arguments.
pub fn call(
    m: &mut dyn Host,
    name: &str,
    args: &[u64],
    variadic: &[VarArg],
) -> Result<Option<u64>, Exit> {
    let a = |i: usize| arg(args, i, name);
    let result = match name {
        "printf" => {
            let format = m.memory().c_string(a(0)?)?;
            let text = printf::format(
                &format,
                &mut Variadic {
                    memory: m.memory(),
                    args: variadic.iter(),
                },
            )?;
            write(m, &text)?;
            text.len() as u64
        }
        "vprintf" => {
            let format = m.memory().c_string(a(0)?)?;
            let ap = a(1)?;
            let (memory, layouts) = m.memory_and_va_layouts();
            let text = printf::format(
                &format,
                &mut ThroughVaList {
                    memory,
                    ap,
                    layouts,
                },
            )?;
            write(m, &text)?;
            text.len() as u64
        }
        "puts" => {
            let mut s = m.memory().c_string(a(0)?)?;
            s.push(b'\n');
            write(m, &s)?;
            1
        }
        "putchar" => {
            let c = a(0)? as u8;
            write(m, &[c])?;
            u64::from(c)
        }
        "fflush" => 0,
        "malloc" => m
            .memory()
            .allocate_unwritten(a(0)?.max(1), 16, "malloc block")?,
        "calloc" => {
            let n = a(0)?
                .checked_mul(a(1)?)
                .ok_or_else(|| Stop::Limit("calloc size overflows".into()))?;
            m.memory().allocate(n.max(1), "malloc block")?
        }
        "realloc" => {
            let (old, size) = (a(0)?, a(1)?);
            let new = m
                .memory()
                .allocate_unwritten(size.max(1), 16, "malloc block")?;
            if old != 0 {
                let old_size = m.memory().size_at(old).ok_or_else(|| {
                    Stop::Undefined(format!("realloc of {old:#x}, not a live malloc block"))
                })?;
                m.memory().copy(old, new, old_size.min(size))?;
                m.memory().free(old, "realloc")?;
            }
            new
        }
        "free" => {
            let p = a(0)?;
            if p != 0 {
                m.memory().free(p, "free")?;
            }
            return Ok(None);
        }
        "memcpy" | "memmove" => {
            let (to, from, n) = (a(0)?, a(1)?, a(2)?);
            m.memory().copy(from, to, n)?;
            to
        }
        "memset" => {
            let (to, byte, n) = (a(0)?, a(1)? as u8, a(2)?);
            if n > 0 {
                m.memory().bytes_mut(to, n)?.fill(byte);
            }
            to
        }
        "memcmp" => {
            let n = a(2)?;
            if n == 0 {
                0
            } else {
                let x = m.memory().bytes(a(0)?, n)?.to_vec();
                let y = m.memory().bytes(a(1)?, n)?;
                compare(&x, y)
            }
        }
        "strlen" => m.memory().c_string(a(0)?)?.len() as u64,
        "strcmp" => {
            let mut x = m.memory().c_string(a(0)?)?;
            let mut y = m.memory().c_string(a(1)?)?;
            x.push(0);
            y.push(0);
            compare(&x, &y)
        }
        "strcpy" => {
            let (to, from) = (a(0)?, a(1)?);
            let mut s = m.memory().c_string(from)?;
            s.push(0);
            m.memory()
                .bytes_mut(to, s.len() as u64)?
                .copy_from_slice(&s);
            to
        }
        "strchr" => {
            let (s, c) = (a(0)?, a(1)? as u8);
            let bytes = m.memory().c_string(s)?;
            match bytes.iter().position(|&b| b == c) {
                Some(i) => s + i as u64,
                None if c == 0 => s + bytes.len() as u64,
                None => 0,
            }
        }
        "labs" => (a(0)? as i64).unsigned_abs(),
        "atoi" => u64::from(parse_integer(&m.memory().c_string(a(0)?)?) as i32 as u32),
        "atol" | "atoll" => parse_integer(&m.memory().c_string(a(0)?)?) as u64,
        "qsort" => {
            sort(m, a(0)?, a(1)?, a(2)?, a(3)?)?;
            return Ok(None);
        }
        "setjmp" | "_setjmp" | "__sigsetjmp" | "sigsetjmp" => {
            let site = m.calling_from().ok_or_else(|| {
                Stop::Unsupported("`setjmp` called other than by a call instruction".into())
            })?;
            let buf = a(0)?;
            for (i, word) in [
                JMP_BUF_MARK,
                site.frame,
                site.block as u64,
                site.inst as u64,
            ]
            .into_iter()
            .enumerate()
            {
                m.memory().write(buf + 8 * i as u64, 8, word)?;
            }
            0
        }
        "longjmp" | "_longjmp" | "siglongjmp" => {
            let buf = a(0)?;
            if m.memory().read(buf, 8)? != JMP_BUF_MARK {
                return Err(Stop::Undefined(
                    "`longjmp` with a buffer `setjmp` did not fill".into(),
                )
                .into());
            }
            let site = Site {
                frame: m.memory().read(buf + 8, 8)?,
                block: m.memory().read(buf + 16, 8)? as usize,
                inst: m.memory().read(buf + 24, 8)? as usize,
            };
            // `longjmp(b, 0)` makes `setjmp` return 1.
            let value = match a(1)? as u32 {
                0 => 1,
                v => u64::from(v),
            };
            return Err(Exit::LongJmp { site, value });
        }
        "exit" => return Err(Exit::Exited(a(0)? as i32)),
        "abort" => return Err(Exit::Exited(134)),
        other => {
            return Err(
                Stop::Unsupported(format!("`{other}` is not supported by the interpreter")).into(),
            )
        }
    };
    Ok(Some(result))
}

/// C's `atol` of well-formed input: spaces, a sign, decimal digits
/// (wrapping where C would be undefined).
fn parse_integer(s: &[u8]) -> i64 {
    let mut i = 0;
    while s.get(i).is_some_and(|c| b" \t\n\r\x0b\x0c".contains(c)) {
        i += 1;
    }
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let mut v: i64 = 0;
    while let Some(d) = s.get(i).filter(|d| d.is_ascii_digit()) {
        v = v.wrapping_mul(10).wrapping_add(i64::from(d - b'0'));
        i += 1;
    }
    if negative {
        v.wrapping_neg()
    } else {
        v
    }
}

/// `qsort` as glibc does it for arrays that fit in memory: a stable merge
/// sort, so that equal elements keep their order as they do there.
fn sort(m: &mut dyn Host, base: u64, count: u64, size: u64, compare: u64) -> Result<(), Exit> {
    let function = Memory::function_at(compare).ok_or_else(|| {
        Stop::Undefined(format!(
            "qsort with comparator {compare:#x}, not a function"
        ))
    })?;
    let elements: Vec<Vec<u8>> = (0..count)
        .map(|i| m.memory().bytes(base + i * size, size).map(<[u8]>::to_vec))
        .collect::<Result<_, _>>()?;
    let left = m.memory().allocate(size.max(1), "qsort element")?;
    let right = m.memory().allocate(size.max(1), "qsort element")?;
    let mut call = |x: &[u8], y: &[u8]| -> Result<std::cmp::Ordering, Exit> {
        m.memory().bytes_mut(left, size)?.copy_from_slice(x);
        m.memory().bytes_mut(right, size)?.copy_from_slice(y);
        let r = m.call_comparator(function, left, right)?;
        Ok((r.unwrap_or(0) as u32 as i32).cmp(&0))
    };
    // Which order a C library's qsort leaves elements in depends on its
    // algorithm unless the comparator is an ordering and tells every two
    // different elements apart: each comparison is checked both ways.
    let mut ordered = |x: &[u8], y: &[u8]| -> Result<std::cmp::Ordering, Exit> {
        let forward = call(x, y)?;
        if call(y, x)? != forward.reverse() {
            return Err(Stop::Undefined(
                "qsort's comparator is not an ordering (a < b and b < a, or a = b and a < b)"
                    .into(),
            )
            .into());
        }
        if forward == std::cmp::Ordering::Equal && x != y {
            return Err(Stop::Undefined(
                "qsort of elements that compare equal but differ: the order it leaves them in \
                 is unspecified"
                    .into(),
            )
            .into());
        }
        Ok(forward)
    };
    let elements = merge_sort(elements, &mut ordered)?;
    m.memory().free(left, "qsort")?;
    m.memory().free(right, "qsort")?;
    for (i, e) in elements.iter().enumerate() {
        m.memory()
            .bytes_mut(base + i as u64 * size, size)?
            .copy_from_slice(e);
    }
    Ok(())
}

/// A comparison that can fail (the comparator is IL).
type Comparison<'a> = dyn FnMut(&[u8], &[u8]) -> Result<std::cmp::Ordering, Exit> + 'a;

/// A stable merge sort.
fn merge_sort(mut items: Vec<Vec<u8>>, compare: &mut Comparison) -> Result<Vec<Vec<u8>>, Exit> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let back = items.split_off(items.len() / 2);
    let front = merge_sort(items, compare)?;
    let back = merge_sort(back, compare)?;
    let mut merged = Vec::with_capacity(front.len() + back.len());
    let (mut front, mut back) = (front.into_iter().peekable(), back.into_iter().peekable());
    while let (Some(x), Some(y)) = (front.peek(), back.peek()) {
        // Equal elements keep their order: the front one first.
        if compare(x, y)? == std::cmp::Ordering::Greater {
            merged.extend(back.next());
        } else {
            merged.extend(front.next());
        }
    }
    merged.extend(front);
    merged.extend(back);
    Ok(merged)
}

/// `memcmp`'s sign: the first differing byte, as unsigned.
fn compare(x: &[u8], y: &[u8]) -> u64 {
    match x.iter().zip(y).find(|(a, b)| a != b) {
        Some((a, b)) => (i32::from(*a) - i32::from(*b)) as u32 as u64,
        None => 0,
    }
}
