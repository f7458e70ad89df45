//! `gen-module`: a deterministic generator of realistic IL.
//!
//! The output looks like what a C compiler emits: many functions with
//! counted loops (an explicit phi for the counter), temporaries assigned
//! several times (so SSA construction has work), stack arrays with loads
//! and stores, integer and float arithmetic, comparisons, calls between
//! functions, and data items the code reads. Every program is valid IL
//! that the reference QBE accepts, and it terminates when run: `main`
//! calls the last function with a recursion budget of 3 and every loop
//! runs a constant number of times; its exit status is the low 7 bits of
//! that call's result, so backends can compare against the reference.
//!
//! The same seed and arguments always give the same bytes.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

pub const USAGE: &str = "\
usage: cargo xtask gen-module (--size-mb N | --one-function-insts K) [--seed S] -o FILE

  --size-mb N             write about N MiB (N may be fractional) of functions
                          and data items (about 840 bytes per function)
  --one-function-insts K  write one function with at least K instructions
                          (plus a small `main` calling it) instead
  --seed S                generator seed (default 1)
  -o FILE                 output path";

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// Many functions, until the output reaches this many bytes.
    Size(u64),
    /// One function with at least this many instructions.
    OneFunction(u64),
}

/// Figures about a generated module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Bytes written.
    pub bytes: u64,
    /// Function definitions.
    pub functions: u64,
    /// Instructions, phis and jumps.
    pub instructions: u64,
}

pub fn main(args: &[String]) -> anyhow::Result<()> {
    let mut size = None;
    let mut one_function = None;
    let mut seed = 1u64;
    let mut out: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .with_context(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match a.as_str() {
            "--size-mb" => {
                let mb: f64 = value(a)?.parse().context("--size-mb takes a number")?;
                if !(mb > 0.0 && mb <= 4096.0) {
                    bail!("--size-mb must be between 0 and 4096");
                }
                size = Some(Shape::Size((mb * 1024.0 * 1024.0) as u64));
            }
            "--one-function-insts" => {
                let k: u64 = value(a)?
                    .parse()
                    .context("--one-function-insts takes a whole number")?;
                one_function = Some(Shape::OneFunction(k));
            }
            "--seed" => seed = value(a)?.parse().context("--seed takes a whole number")?,
            "-o" => out = Some(PathBuf::from(value(a)?)),
            other => bail!("unexpected argument `{other}`\n\n{USAGE}"),
        }
    }
    // The one-function mode wins when both are given.
    let (Some(shape), Some(out)) = (one_function.or(size), out) else {
        bail!("--size-mb or --one-function-insts, and -o, are required\n\n{USAGE}");
    };
    let stats = write_module(&out, shape, seed)?;
    eprintln!(
        "wrote {}: {} bytes, {} functions, {} instructions",
        out.display(),
        stats.bytes,
        stats.functions,
        stats.instructions
    );
    Ok(())
}

/// Generates a module into `path` (written to a temporary name first, so a
/// failure leaves no partial file).
pub fn write_module(path: &Path, shape: Shape, seed: u64) -> anyhow::Result<Stats> {
    let tmp = path.with_extension("partial");
    let file = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut w = BufWriter::with_capacity(1 << 16, file);
    let mut g = Generator::new(seed);
    let result = (|| -> anyhow::Result<()> {
        match shape {
            Shape::Size(bytes) => g.many_functions(&mut w, bytes)?,
            Shape::OneFunction(k) => g.one_function(&mut w, k)?,
        }
        w.flush()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("cannot write {}", tmp.display())));
    }
    drop(w);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename to {}", path.display()))?;
    Ok(g.stats)
}

/// A small, fast, reproducible random source (PCG-style LCG).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const INT_OPS: [&str; 7] = ["add", "sub", "mul", "and", "or", "xor", "shl"];
const INT_CMPS: [&str; 6] = ["csltw", "cslew", "cugtw", "cnew", "ceqw", "csgew"];

struct Generator {
    rng: Rng,
    stats: Stats,
    /// Data items defined so far.
    tables: u64,
    buf: String,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Generator {
            rng: Rng(seed ^ 0x5eed_5eed_5eed_5eed),
            stats: Stats::default(),
            tables: 0,
            buf: String::with_capacity(4096),
        }
    }

    fn flush(&mut self, w: &mut impl Write) -> std::io::Result<()> {
        self.stats.bytes += self.buf.len() as u64;
        self.stats.instructions += self.buf.lines().filter(|l| l.starts_with('\t')).count() as u64;
        w.write_all(self.buf.as_bytes())?;
        self.buf.clear();
        Ok(())
    }

    fn data_item(&mut self) {
        let n = self.tables;
        self.tables += 1;
        let _ = write!(self.buf, "data $tbl{n} = {{ w");
        for _ in 0..8 {
            let _ = write!(self.buf, " {}", self.rng.below(1000));
        }
        let _ = writeln!(self.buf, ", b \"tbl{n}\\n\", b 0 }}\n");
    }

    fn many_functions(&mut self, w: &mut impl Write, bytes: u64) -> std::io::Result<()> {
        self.buf.push_str("type :pair = { l, w }\n\n");
        let mut i = 0u64;
        while self.stats.bytes + self.buf.len() as u64 + 200 < bytes || i == 0 {
            if i & 15 == 0 {
                self.data_item();
            }
            self.function(i);
            i += 1;
            self.flush(w)?;
        }
        self.main(&format!("f{}", i - 1));
        self.flush(w)
    }

    fn one_function(&mut self, w: &mut impl Write, insts: u64) -> std::io::Result<()> {
        self.data_item();
        self.buf
            .push_str("export function w $big(w %n, l %p) {\n@start\n");
        self.buf.push_str("\t%s =w copy %n\n\t%arr =l alloc4 64\n");
        let mut seg = 0u64;
        loop {
            let extra = 2 + self.rng.below(8);
            self.loop_segment(&format!("s{seg}"), extra);
            seg += 1;
            // Segments are written out as they are made, so a huge
            // function never sits in memory.
            self.flush(w)?;
            if self.stats.instructions >= insts {
                break;
            }
        }
        self.buf.push_str("\tret %s\n}\n\n");
        self.stats.functions += 1;
        self.main("big");
        self.flush(w)
    }

    fn main(&mut self, callee: &str) {
        let _ = write!(
            self.buf,
            "export function w $main() {{\n@start\n\t%r =w call ${callee}(w 3, l 0)\n\t%e =w and %r, 127\n\tret %e\n}}\n"
        );
    }

    /// One function `$f{i}(w %n, l %p)`: a counted loop over a stack array,
    /// a float detour, a guarded call to an earlier function.
    fn function(&mut self, i: u64) {
        let export = if self.rng.below(4) == 0 {
            "export "
        } else {
            ""
        };
        let _ = write!(
            self.buf,
            "{export}function w $f{i}(w %n, l %p) {{\n@start\n\t%s =w copy {}\n\t%arr =l alloc4 64\n",
            self.rng.below(100)
        );
        let extra = 1 + self.rng.below(5);
        self.loop_segment("l", extra);
        // A float detour.
        let _ = write!(
            self.buf,
            "\t%fd =d swtof %s\n\t%fd =d mul %fd, d_0.5\n\t%fd =d add %fd, d_{}.25\n\t%s =w dtosi %fd\n",
            self.rng.below(10)
        );
        // Data table read.
        if self.tables > 0 {
            let t = self.tables - 1;
            let _ = write!(self.buf, "\t%tv =w loadw $tbl{t}\n\t%s =w add %s, %tv\n");
        }
        // Guarded call to an earlier function (recursion budget in %n).
        if i > 0 {
            let callee = i - 1 - self.rng.below(i.min(8));
            let _ = write!(
                self.buf,
                "\t%stop =w cslew %n, 0\n\tjnz %stop, @out, @call\n@call\n\t%n1 =w sub %n, 1\n\t%r =w call $f{callee}(w %n1, l %p)\n\t%s =w add %s, %r\n\tjmp @out\n@out\n"
            );
        }
        self.buf.push_str("\tret %s\n}\n\n");
        self.stats.functions += 1;
    }

    /// A loop of 16 iterations: explicit phi for the counter, a store and
    /// a load through a stack array, `extra` arithmetic steps on the
    /// reassigned `%s`, and an if/else that assigns `%s` on both arms.
    fn loop_segment(&mut self, l: &str, extra: u64) {
        let before = if l == "l" || l == "s0" {
            "start".to_string()
        } else {
            // The previous segment's exit block.
            let n: u64 = l[1..].parse().unwrap_or(1);
            format!("s{}_done", n - 1)
        };
        let b = &mut self.buf;
        let _ = write!(
            b,
            "\tjmp @{l}_head\n@{l}_head\n\t%{l}k =w phi @{before} 0, @{l}_next %{l}k1\n\t%{l}c =w csltw %{l}k, 16\n\tjnz %{l}c, @{l}_body, @{l}_done\n@{l}_body\n\t%o =l extsw %{l}k\n\t%o =l mul %o, 4\n\t%a =l add %arr, %o\n\t%v =w mul %{l}k, {}\n\tstorew %v, %a\n\t%ld =w loadw %a\n\t%s =w add %s, %ld\n",
            1 + self.rng.below(9)
        );
        for _ in 0..extra {
            let op = INT_OPS[self.rng.below(INT_OPS.len() as u64) as usize];
            let k = if op == "shl" {
                self.rng.below(4)
            } else {
                1 + self.rng.below(50)
            };
            let _ = writeln!(self.buf, "\t%s =w {op} %s, {k}");
        }
        let cmp = INT_CMPS[self.rng.below(INT_CMPS.len() as u64) as usize];
        let k = self.rng.below(64);
        let _ = write!(
            self.buf,
            "\t%t =w {cmp} %s, {k}\n\tjnz %t, @{l}_then, @{l}_else\n@{l}_then\n\t%s =w sub %s, {k}\n\tjmp @{l}_next\n@{l}_else\n\t%s =w xor %s, {}\n\tjmp @{l}_next\n@{l}_next\n\t%{l}k1 =w add %{l}k, 1\n\tjmp @{l}_head\n@{l}_done\n",
            self.rng.below(255)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(shape: Shape, seed: u64, name: &str) -> (Stats, String) {
        let dir = std::env::temp_dir().join(format!("skc-gen-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let stats = write_module(&path, shape, seed).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        (stats, text)
    }

    #[test]
    fn same_seed_same_bytes_and_stats_match_the_text() {
        let (a, text_a) = generate(Shape::Size(64 * 1024), 7, "a.ssa");
        let (b, text_b) = generate(Shape::Size(64 * 1024), 7, "b.ssa");
        assert_eq!(text_a, text_b);
        assert_eq!((a.bytes, a.functions), (b.bytes, b.functions));
        assert_eq!(a.bytes, text_a.len() as u64);
        assert!(a.bytes >= 64 * 1024 - 200 && a.bytes < 64 * 1024 + 2048);
        assert_eq!(
            text_a.matches("function w $f").count() as u64,
            a.functions,
            "every generated function is counted"
        );
        let (_, other) = generate(Shape::Size(64 * 1024), 8, "c.ssa");
        assert_ne!(text_a, other, "the seed matters");
    }

    #[test]
    fn generated_modules_are_accepted_and_need_ssa_construction() {
        for (shape, name) in [
            (Shape::Size(128 * 1024), "many.ssa"),
            (Shape::OneFunction(5_000), "one.ssa"),
        ] {
            let (stats, text) = generate(shape, 1, name);
            let module = skc_ir::reader::read_module(&text, name)
                .unwrap_or_else(|e| panic!("{name} rejected:\n{e}"));
            let functions: Vec<&skc_ir::ir::Function> = module
                .items
                .iter()
                .filter_map(|i| match i {
                    skc_ir::ir::Item::Function(f) => Some(f),
                    _ => None,
                })
                .collect();
            // The generated functions plus `main`.
            assert_eq!(functions.len() as u64, stats.functions + 1);
            // Reassigned temporaries became SSA values joined by phis.
            let derived = functions
                .iter()
                .flat_map(|f| f.values.iter())
                .filter(|v| v.name.starts_with("s."))
                .count();
            assert!(derived > 0, "{name}: no temporary was renamed");
        }
        let (stats, _) = generate(Shape::OneFunction(5_000), 1, "count.ssa");
        assert!(stats.instructions >= 5_000 && stats.functions == 1);
    }
}
