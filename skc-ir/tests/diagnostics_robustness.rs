//! Robustness of the reader: no input may panic, hang or make memory grow
//! without bound, and reading in tiny pieces (as from a pipe) must give
//! the same items and the same diagnostics as reading all at once.

mod expect_files;
mod roundtrip_common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{BufRead, BufReader, Read};

use expect_files::ssa_files_in;
use roundtrip_common::canonical;
use skc_ir::backend::ItemSource;
use skc_ir::reader::{read_module_bytes, ItemReader, Module};

/// Counts live heap bytes per thread, so a test can bound the memory the
/// reader uses while the other tests run in parallel.
struct CountingAlloc;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Runs `f` and returns its result with the peak growth of live heap
/// bytes on this thread while it ran.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let r = f();
    let peak = PEAK.with(Cell::get);
    (r, (peak - base).max(0) as usize)
}

/// A reader producing `prefix`, then `fill` repeated `count` times, then
/// `suffix`, without holding it all in memory.
struct Generated {
    prefix: Vec<u8>,
    fill: Vec<u8>,
    count: usize,
    suffix: Vec<u8>,
    stage: usize,
    at: usize,
}

impl Generated {
    fn new(prefix: &str, fill: &str, count: usize, suffix: &str) -> Self {
        Generated {
            prefix: prefix.into(),
            fill: fill.into(),
            count,
            suffix: suffix.into(),
            stage: 0,
            at: 0,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            let src: &[u8] = match self.stage {
                0 => &self.prefix,
                1 if self.count > 0 => &self.fill,
                1 => {
                    self.stage = 2;
                    continue;
                }
                2 => &self.suffix,
                _ => break,
            };
            if self.at >= src.len() {
                self.at = 0;
                if self.stage == 1 {
                    self.count -= 1;
                } else {
                    self.stage += 1;
                }
                continue;
            }
            let k = (src.len() - self.at).min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&src[self.at..self.at + k]);
            self.at += k;
            n += k;
        }
        Ok(n)
    }
}

/// Keeps the first 64 KiB written to it, so measuring the reader's memory
/// does not count a growing diagnostics buffer.
#[derive(Default)]
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = (64 * 1024 - self.0.len().min(64 * 1024)).min(buf.len());
        self.0.extend_from_slice(&buf[..room]);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads everything from `input`; returns the items (if clean), the
/// diagnostics text (its first 64 KiB) and the error count.
fn read_stream(input: Box<dyn BufRead + '_>) -> (Option<Module>, String, usize) {
    let mut out = Capped::default();
    out.0.reserve(64 * 1024);
    let (module, count) = {
        let mut reader = ItemReader::new(input, "input.ssa", Box::new(&mut out), false);
        let mut items = Vec::new();
        loop {
            match reader.next_item() {
                Ok(Some(item)) => items.push(item),
                Ok(None) => {
                    break (
                        Some(Module {
                            types: reader.types().clone(),
                            items,
                        }),
                        0,
                    )
                }
                Err(e) => break (None, e.count),
            }
        }
    };
    (module, String::from_utf8_lossy(&out.0).into_owned(), count)
}

/// Hands out at most one byte per read, like a slow pipe.
struct OneByte<'a>(&'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.is_empty()) {
            (Some((&b, rest)), false) => {
                buf[0] = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn byte_at_a_time_reading_matches_reading_at_once() {
    for dir in ["ok", "err"] {
        for path in ssa_files_in(&format!("parse/{dir}")) {
            let bytes = std::fs::read(&path).expect("readable");
            let (whole, whole_diags, whole_count) =
                read_stream(Box::new(BufReader::with_capacity(1 << 20, &bytes[..])));
            let (piecewise, piece_diags, piece_count) =
                read_stream(Box::new(BufReader::with_capacity(1, OneByte(&bytes))));
            assert_eq!(whole_diags, piece_diags, "{}", path.display());
            assert_eq!(whole_count, piece_count, "{}", path.display());
            assert_eq!(
                whole.as_ref().map(canonical),
                piecewise.as_ref().map(canonical),
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn every_truncation_of_the_test_files_is_handled() {
    for path in ssa_files_in("parse/ok") {
        let bytes = std::fs::read(&path).expect("readable");
        for len in 0..bytes.len() {
            // Must return (Ok or Err), never panic.
            let _ = read_module_bytes(&bytes[..len], "cut.ssa");
        }
    }
}

#[test]
fn random_and_mutated_bytes_are_handled() {
    let seeds: Vec<Vec<u8>> = ssa_files_in("parse/ok")
        .iter()
        .map(|p| std::fs::read(p).expect("readable"))
        .collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let mut input = seeds[round % seeds.len()].clone();
        for _ in 0..1 + rand() % 8 {
            let at = (rand() as usize) % input.len().max(1);
            match rand() % 4 {
                0 if !input.is_empty() => input[at] = rand() as u8,
                1 if !input.is_empty() => {
                    input.remove(at);
                }
                2 => {
                    let specials = b"{}%@$:,=\n\"\\#-+.s_d_";
                    let b = specials[(rand() as usize) % specials.len()];
                    input.insert(at.min(input.len()), b);
                }
                _ => {
                    let from = (rand() as usize) % input.len().max(1);
                    let piece: Vec<u8> = input[from..(from + 40).min(input.len())].to_vec();
                    let at = at.min(input.len());
                    input.splice(at..at, piece);
                }
            }
        }
        let _ = read_module_bytes(&input, "mutated.ssa");
    }
    for _ in 0..500 {
        let len = (rand() % 300) as usize;
        let junk: Vec<u8> = (0..len).map(|_| rand() as u8).collect();
        let _ = read_module_bytes(&junk, "junk.ssa");
    }
}

/// Reads a generated input and returns (diagnostics, error count, peak
/// heap growth).
fn read_generated(g: Generated) -> (String, usize, usize) {
    let ((_, diags, count), peak) =
        peak_heap(|| read_stream(Box::new(BufReader::with_capacity(1 << 16, g))));
    (diags, count, peak)
}

const MB: usize = 1 << 20;

#[test]
fn a_huge_name_is_an_error_in_bounded_memory() {
    let (diags, count, peak) = read_generated(Generated::new(
        "function $f() {\n@start\n\t%",
        "abcdefghijklmnop",
        2 * MB,
        "\n\tret\n}\n",
    ));
    assert_eq!(count, 1, "{diags}");
    assert!(diags.contains("name longer than 65536 bytes"), "{diags}");
    assert!(diags.contains("input.ssa:3:2"), "{diags}");
    assert!(peak < 4 * MB, "peak heap {peak}");
}

#[test]
fn a_huge_string_is_an_error_in_bounded_memory() {
    let (diags, count, peak) = read_generated(Generated::new(
        "data $x = { b \"",
        "0123456789abcdef",
        2 * MB,
        "\" }\ndata $y = { b 1 }\n",
    ));
    assert_eq!(count, 1, "{diags}");
    assert!(diags.contains("string longer than"), "{diags}");
    assert!(peak < 40 * MB, "peak heap {peak}");
}

#[test]
fn huge_comments_blanks_and_skipped_lines_use_bounded_memory() {
    for (prefix, fill) in [
        ("# ", "comment text...."),
        ("", "                "),
        ("function $f() {\n@start\n\tfoo ", "bar baz qux quux"),
        ("", "garbage ^&*!~?<>"),
    ] {
        let (diags, _count, peak) = read_generated(Generated::new(
            prefix,
            fill,
            4 * MB,
            "\nfunction $g() {\n@start\n\tret\n}\n",
        ));
        assert!(peak < 4 * MB, "{prefix:?}: peak heap {peak}");
        assert!(diags.len() < 64 * 1024, "{prefix:?}: diagnostics too long");
    }
}

#[test]
fn many_errors_are_all_reported() {
    let (diags, count, peak) = read_generated(Generated::new(
        "",
        "function $f() {\n@start\n\t%x =w add 1\n\tret\n}\n",
        20_000,
        "",
    ));
    assert_eq!(count, 20_000);
    assert!(
        diags.starts_with("error: expected `,` after the first operand"),
        "{diags}"
    );
    assert!(peak < 4 * MB, "peak heap {peak}");
}

#[test]
fn absurd_counts_and_sizes_are_errors() {
    for (text, message) in [
        ("data $x = { z 99999999999999 }\n", "out of range"),
        ("data $x = { z 1099511627776, z 1 }\n", "larger than 2^40"),
        ("type :t = { w 4294967296 }\n", "out of range"),
        ("type :t = { b 4294967295 }\n", "cannot lay out"),
        (
            "type :t = align 131072 { w }\n",
            "not a power of two between 1 and 65536",
        ),
        ("type :t = align 8 { 99999999999999999 }\n", "out of range"),
        ("data $x = align 4294967296 { w 1 }\n", "not a power of two"),
        (
            "function $f() {\n@s\n\tblit 0, 0, 99999999999\n\tret\n}\n",
            "out of range",
        ),
        (
            "function $f() {\n@s\n\tdbgloc 4294967296\n\tret\n}\n",
            "out of range",
        ),
        (
            "function $f() {\n@s\n\t%x =w copy 99999999999999999999\n\tret\n}\n",
            "does not fit in 64 bits",
        ),
    ] {
        let err = read_module_bytes(text.as_bytes(), "t.ssa").expect_err(text);
        assert!(err.contains(message), "{text}: {err}");
    }
}

#[test]
fn deep_braces_and_long_functions_are_handled() {
    let (diags, count, _) = read_generated(Generated::new("type :t = ", "{ ", 100_000, "}\n"));
    assert!(count >= 1, "{diags}");
    // A long straight-line function: linear time, one item.
    let (diags, count, _) = read_generated(Generated::new(
        "function w $f() {\n@start\n\t%x =w copy 0\n",
        "\t%x =w add %x, 1\n",
        200_000,
        "\tret %x\n}\n",
    ));
    assert_eq!(count, 0, "{diags}");
}

#[test]
fn huge_counts_of_empty_or_opaque_types_lay_out_at_once() {
    let start = std::time::Instant::now();
    let ok = read_module_bytes(b"type :e = { }\ntype :t = { :e 4294967295, w }\n", "t.ssa")
        .expect("an array of empty structs is empty");
    let t = ok.types.lookup("t").expect("defined");
    assert_eq!(ok.types.get(t).size, 4);
    let err = read_module_bytes(
        b"type :o = align 1 { 1000 }\ntype :t = { :o 4294967295 }\n",
        "t.ssa",
    )
    .expect_err("too large");
    assert!(err.contains("exceeds 2^40"), "{err}");
    let ok = read_module_bytes(
        b"type :o = align 1 { 1 }\ntype :t = { :o 4294967295 }\n",
        "t.ssa",
    )
    .expect("4 GiB is within the limit");
    assert_eq!(
        ok.types.get(ok.types.lookup("t").expect("defined")).size,
        4294967295
    );
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
}

#[test]
fn many_large_aggregates_are_bounded_per_module() {
    let (diags, count, peak) = read_generated(Generated::new(
        "type :big = { w 65535 }\n",
        "type :t = { :big }\n",
        100,
        "",
    ));
    assert!(count >= 1, "{diags}");
    assert!(diags.contains("more than 2097152 scalar fields"), "{diags}");
    assert!(peak < 48 * MB, "peak heap {peak}");
}
