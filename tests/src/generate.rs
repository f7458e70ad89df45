//! Random IL programs without undefined behaviour that print a hash of
//! every value they compute.
//!
//! A program is a handful of functions `$f0 … $fN`, each taking the same
//! four parameters (`l`, `l`, `w`, `d`) and returning an `l` hash of its
//! values, and a `main` that calls each one on a few argument sets and
//! prints the hashes. Bodies nest straight-line code, if/else diamonds
//! joined by phis and counted loops with phis; they use every integer and
//! float operation, comparisons, conversions of every kind (float to
//! integer saturates, per docs/ir.md), stack slots with stores and
//! sub-word loads, and calls of earlier functions, directly and through
//! a table of function addresses in data.
//!
//! Undefined behaviour is avoided by construction: divisors are forced
//! into 1..=32767, shift amounts are defined modulo the width, loops run a
//! constant number of times, calls only go to earlier functions, and
//! every slot is written before it is read. Floats are hashed through
//! their bits with NaN mapped to one value, since a NaN's sign and
//! payload are not the same on every target.

use std::fmt::Write as _;

use crate::rng::Rng;

/// The base types values have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    W,
    L,
    S,
    D,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::W => "w",
            Ty::L => "l",
            Ty::S => "s",
            Ty::D => "d",
        }
    }

    fn is_int(self) -> bool {
        matches!(self, Ty::W | Ty::L)
    }
}

/// How much a program may contain.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    /// Functions besides `main` and the helpers.
    pub functions: usize,
    /// Instructions per straight-line run.
    pub run: usize,
    /// Nesting of diamonds and loops.
    pub depth: usize,
}

impl Default for Size {
    fn default() -> Self {
        Size {
            functions: 4,
            run: 8,
            depth: 3,
        }
    }
}

/// A field of an aggregate type: its letter and byte offset.
#[derive(Clone, Copy, Debug)]
struct Field {
    letter: char,
    offset: u32,
}

impl Field {
    fn width(self) -> u32 {
        match self.letter {
            'b' => 1,
            'h' => 2,
            'w' | 's' => 4,
            _ => 8,
        }
    }
}

/// An aggregate type `:aK` and its transforming function `$tK`.
#[derive(Clone, Debug)]
struct Aggregate {
    fields: Vec<Field>,
    /// The size rounded up to its alignment.
    size: u32,
}

impl Aggregate {
    fn random(rng: &mut Rng) -> Aggregate {
        let count = 1 + rng.below(5);
        let mut fields = Vec::new();
        let (mut offset, mut align) = (0u32, 1u32);
        for _ in 0..count {
            let letter = *rng.pick(&['b', 'h', 'w', 'l', 's', 'd', 'd', 'l']);
            let field = Field { letter, offset: 0 };
            let width = field.width();
            offset = offset.div_ceil(width) * width;
            align = align.max(width);
            fields.push(Field { letter, offset });
            offset += width;
        }
        Aggregate {
            fields,
            size: offset.div_ceil(align) * align,
        }
    }

    fn definition(&self, k: usize) -> String {
        let letters: Vec<String> = self.fields.iter().map(|f| f.letter.to_string()).collect();
        format!("type :a{k} = {{ {} }}\n", letters.join(", "))
    }
}

/// The fixed layout of a program's aggregates and variadic functions.
struct Shared {
    aggregates: Vec<Aggregate>,
    /// Per variadic function `$vK`, the types of the arguments it reads.
    variadics: Vec<Vec<Ty>>,
}

/// Writes the program of `seed`.
pub fn program(seed: u64, size: Size) -> String {
    program_with_entry(seed, size, "main")
}

/// Writes the program of `seed` with `entry` in place of `main`: every
/// other symbol is local to the file, so programs with distinct entries
/// can be built together (see [`crate::batch`]).
pub fn program_with_entry(seed: u64, size: Size, entry: &str) -> String {
    let mut rng = Rng::new(seed, 0x5eed_d1ff_7e57_0001);
    let mut out = String::new();
    let shared = Shared {
        aggregates: (0..1 + rng.below(3))
            .map(|_| Aggregate::random(&mut rng))
            .collect(),
        variadics: (0..2)
            .map(|_| {
                (0..1 + rng.below(7))
                    .map(|_| *rng.pick(&[Ty::W, Ty::L, Ty::D]))
                    .collect()
            })
            .collect(),
    };
    for (k, a) in shared.aggregates.iter().enumerate() {
        out.push_str(&a.definition(k));
        write_transform(k, a, &mut out);
    }
    for (k, types) in shared.variadics.iter().enumerate() {
        write_variadic(k, types, &mut out);
    }
    out.push_str(SUB_WORD);
    let _ = writeln!(out, "# difftest program, seed {seed}");
    // What `dbgloc` lines refer to (QBE needs it before any of them).
    let _ = writeln!(out, "dbgfile \"difftest-{seed}.c\"");
    let _ = writeln!(out, "data $fmt = {{ b \"%016lx\\n\", b 0 }}");
    let _ = write!(out, "data $table = {{");
    for f in 0..size.functions {
        let _ = write!(out, " l $f{f},");
    }
    let _ = writeln!(out, " }}");
    let _ = writeln!(
        out,
        "data $bytes = {{ b 1 2 250 4 128 6 7 255, h 40000 3, w 2147483647 -9, l -1 }}"
    );
    for f in 0..size.functions {
        FunctionWriter::new(&mut rng, f, size, &shared).write(&mut out);
    }
    write_main(&mut rng, size, entry, &mut out);
    out
}

/// The load that reads a field, with the type of its result.
fn field_load(letter: char) -> (&'static str, Ty) {
    match letter {
        'b' => ("loadsb", Ty::W),
        'h' => ("loaduh", Ty::W),
        'w' => ("loadw", Ty::W),
        'l' => ("loadl", Ty::L),
        's' => ("loads", Ty::S),
        _ => ("loadd", Ty::D),
    }
}

fn field_store(letter: char) -> &'static str {
    match letter {
        'b' => "storeb",
        'h' => "storeh",
        'w' => "storew",
        'l' => "storel",
        's' => "stores",
        _ => "stored",
    }
}

/// `function :aK $tK(:aK %p, l %k)`: returns a copy of `%p` with `%k`
/// mixed into every field.
fn write_transform(k: usize, a: &Aggregate, out: &mut String) {
    let _ = writeln!(
        out,
        "function :a{k} $t{k}(:a{k} %p, l %k) {{\n@start\n\t%q =l alloc8 {}\n\t%kw =w copy %k\n\t%kd =d sltof %k",
        a.size.max(8)
    );
    for (i, f) in a.fields.iter().enumerate() {
        let (load, ty) = field_load(f.letter);
        let _ = writeln!(
            out,
            "\t%in{i} =l add %p, {off}\n\t%out{i} =l add %q, {off}\n\t%f{i} ={t} {load} %in{i}",
            off = f.offset,
            t = ty.name()
        );
        let mixed = match ty {
            Ty::W => format!("%g{i} =w xor %f{i}, %kw"),
            Ty::L => format!("%g{i} =l sub %f{i}, %k"),
            Ty::S => format!("%h{i} =s truncd %kd\n\t%g{i} =s add %f{i}, %h{i}"),
            Ty::D => format!("%g{i} =d mul %f{i}, %kd"),
        };
        let _ = writeln!(out, "\t{mixed}\n\t{} %g{i}, %out{i}", field_store(f.letter));
    }
    let _ = writeln!(out, "\tret %q\n}}");
}

/// `function l $vK(w %n, ...)`: a hash of its variadic arguments, read
/// as `types`.
fn write_variadic(k: usize, types: &[Ty], out: &mut String) {
    let _ = writeln!(
        out,
        "function l $v{k}(w %n, ...) {{\n@start\n\t%ap =l alloc8 32\n\tvastart %ap\n\t%h0 =l extuw %n"
    );
    for (i, ty) in types.iter().enumerate() {
        let _ = writeln!(out, "\t%x{i} ={} vaarg %ap", ty.name());
        let bits = match ty {
            Ty::W => format!("%b{i} =l extsw %x{i}"),
            Ty::L => format!("%b{i} =l copy %x{i}"),
            _ => format!(
                "%r{i} =l cast %x{i}\n\t%o{i} =l cod %x{i}, %x{i}\n\t%b{i} =l mul %r{i}, %o{i}"
            ),
        };
        let _ = writeln!(
            out,
            "\t{bits}\n\t%m{i} =l mul %h{i}, 1099511628211\n\t%h{} =l xor %m{i}, %b{i}",
            i + 1
        );
    }
    let _ = writeln!(out, "\tret %h{}\n}}", types.len());
}

/// Sub-word parameters and result: only their low bits mean anything, so
/// each side extends them itself.
const SUB_WORD: &str = "\
function ub $narrow(sb %x, uh %y, w %z) {
@start
\t%a =w extsb %x
\t%b =w extuh %y
\t%c =w mul %a, %b
\t%d =w xor %c, %z
\tret %d
}
function sh $narrow_signed(ub %x, sh %y) {
@start
\t%a =w extub %x
\t%b =w extsh %y
\t%c =w sub %a, %b
\tret %c
}
";

fn write_main(rng: &mut Rng, size: Size, entry: &str, out: &mut String) {
    let _ = writeln!(out, "export function w ${entry}() {{\n@start");
    let mut n = 0;
    for f in 0..size.functions {
        for _ in 0..2 {
            let a = interesting_long(rng);
            let b = interesting_long(rng);
            let c = interesting_long(rng) as i32;
            let d = interesting_double(rng);
            let _ = writeln!(
                out,
                "\t%r{n} =l call $f{f}(l {a}, l {b}, w {c}, d d_{d})\n\tcall $printf(l $fmt, ..., l %r{n})"
            );
            n += 1;
        }
    }
    let _ = writeln!(out, "\tret 0\n}}");
}

fn interesting_long(rng: &mut Rng) -> i64 {
    const EDGES: [i64; 12] = [
        0,
        1,
        -1,
        2,
        7,
        255,
        65535,
        2147483647,
        -2147483648,
        4294967296,
        i64::MAX,
        i64::MIN,
    ];
    if rng.chance(40) {
        *rng.pick(&EDGES)
    } else {
        rng.next() as i64 >> rng.below(64)
    }
}

fn interesting_double(rng: &mut Rng) -> String {
    const EDGES: [&str; 10] = [
        "0",
        "-0",
        "1",
        "-1.5",
        "0.5",
        "1e300",
        "-1e300",
        "3.14159",
        "2147483648",
        "1e-310",
    ];
    if rng.chance(40) {
        rng.pick(&EDGES).to_string()
    } else {
        let v = (rng.next() as i64 >> rng.below(60)) as f64 / 1024.0;
        format!("{v:e}")
    }
}

/// One value in scope: its type and name (`%v3`).
#[derive(Clone)]
struct Val {
    ty: Ty,
    name: String,
}

struct FunctionWriter<'r> {
    rng: &'r mut Rng,
    shared: &'r Shared,
    index: usize,
    size: Size,
    text: String,
    next_value: usize,
    next_block: usize,
    /// The block being written.
    block: String,
    /// Values usable here, innermost scope last.
    scope: Vec<Val>,
    /// Stack slots: 32 bytes each, written at entry.
    slots: Vec<String>,
    /// A 2-byte slot (`alloc1` or `alloc2`), written at entry.
    small_slot: String,
}

impl<'r> FunctionWriter<'r> {
    fn new(rng: &'r mut Rng, index: usize, size: Size, shared: &'r Shared) -> Self {
        FunctionWriter {
            rng,
            shared,
            index,
            size,
            text: String::new(),
            next_value: 0,
            next_block: 0,
            block: "start".into(),
            scope: Vec::new(),
            slots: Vec::new(),
            small_slot: String::new(),
        }
    }

    fn value(&mut self) -> String {
        self.next_value += 1;
        format!("%v{}", self.next_value)
    }

    fn label(&mut self, what: &str) -> String {
        self.next_block += 1;
        format!("{what}{}", self.next_block)
    }

    fn line(&mut self, s: &str) {
        self.text.push('\t');
        self.text.push_str(s);
        self.text.push('\n');
    }

    fn start_block(&mut self, label: &str) {
        let _ = writeln!(self.text, "@{label}");
        self.block = label.to_string();
    }

    /// Defines a new value of `ty` as `rhs`.
    fn def(&mut self, ty: Ty, rhs: &str) -> Val {
        let name = self.value();
        self.line(&format!("{name} ={} {rhs}", ty.name()));
        let v = Val { ty, name };
        self.scope.push(v.clone());
        v
    }

    /// Defines a value that is not hashed or reused (an address, which
    /// differs between targets).
    fn temp(&mut self, ty: Ty, rhs: &str) -> String {
        self.temp_of(ty.name(), rhs)
    }

    /// [`Self::temp`] of any ABI type (`:a0` for an aggregate's address).
    fn temp_of(&mut self, abi_type: &str, rhs: &str) -> String {
        let name = self.value();
        self.line(&format!("{name} ={abi_type} {rhs}"));
        name
    }

    /// A value of `ty` in scope, or a constant.
    fn operand(&mut self, ty: Ty) -> String {
        let candidates: Vec<usize> = (0..self.scope.len())
            .filter(|&i| self.scope[i].ty == ty)
            .collect();
        if candidates.is_empty() || self.rng.chance(15) {
            return match ty {
                Ty::W => (interesting_long(self.rng) as i32).to_string(),
                Ty::L => interesting_long(self.rng).to_string(),
                Ty::S => format!("s_{}", interesting_double(self.rng)),
                Ty::D => format!("d_{}", interesting_double(self.rng)),
            };
        }
        // Recent values more often, so chains of computation form.
        let k = candidates.len();
        let i = if self.rng.chance(60) {
            k - 1 - self.rng.below(k.min(4))
        } else {
            self.rng.below(k)
        };
        self.scope[candidates[i]].name.clone()
    }

    fn write(mut self, out: &mut String) {
        let f = self.index;
        let _ = writeln!(out, "function l $f{f}(l %a, l %b, w %c, d %x) {{\n@start");
        for (ty, name) in [(Ty::L, "%a"), (Ty::L, "%b"), (Ty::W, "%c"), (Ty::D, "%x")] {
            self.scope.push(Val {
                ty,
                name: name.into(),
            });
        }
        let small = self.value();
        let small_alloc = *self.rng.pick(&["alloc1", "alloc2"]);
        self.line(&format!("{small} =l {small_alloc} 2"));
        let v = self.operand(Ty::W);
        self.line(&format!("storeh {v}, {small}"));
        self.small_slot = small;
        for _ in 0..2 {
            let slot = self.value();
            let alloc = *self.rng.pick(&["alloc4", "alloc8", "alloc16"]);
            self.line(&format!("{slot} =l {alloc} 32"));
            for off in [0, 8, 16, 24] {
                let at = self.address(&slot, off);
                let v = self.operand(Ty::L);
                self.line(&format!("storel {v}, {at}"));
            }
            self.slots.push(slot);
        }
        let h = self.sequence(self.size.depth);
        self.line(&format!("ret {}", h.name));
        out.push_str(&self.text);
        out.push_str("}\n");
    }

    /// `slot + off` as an operand (a new value unless `off` is 0).
    fn address(&mut self, slot: &str, off: u32) -> String {
        if off == 0 {
            return slot.to_string();
        }
        let name = self.value();
        self.line(&format!("{name} =l add {slot}, {off}"));
        name
    }

    /// Code at the current point; returns an `l` hash of every value it
    /// defined, which are out of scope afterwards.
    fn sequence(&mut self, depth: usize) -> Val {
        let mark = self.scope.len();
        let steps = 1 + self.rng.below(self.size.run);
        for _ in 0..steps {
            match self.rng.below(20) {
                0..=1 if depth > 0 => {
                    self.diamond(depth - 1);
                }
                2 if depth > 0 && self.rng.chance(50) => {
                    self.counted_loop(depth - 1);
                }
                2 if depth > 0 => self.tested_loop(depth - 1),
                3 if self.rng.chance(20) => self.row_loop(),
                3 => self.memory(),
                4 if self.index > 0 => self.call(),
                5 => self.aggregate(),
                6 => self.variadic_call(),
                7 => self.sub_word_call(),
                8 if depth > 0 => self.irreducible_loop(),
                9 if depth > 0 && self.rng.chance(50) => self.compare_chain(depth - 1),
                9 if depth > 0 => self.compare_tree(depth - 1),
                10 => self.position(),
                11 if self.rng.chance(30) => self.guarded_halt(),
                _ => self.arithmetic(),
            }
        }
        let defined: Vec<Val> = self.scope[mark..].to_vec();
        let h = self.hash(&defined);
        self.scope.truncate(mark);
        self.scope.push(h.clone());
        h
    }

    /// Folds `values` into one `l`.
    fn hash(&mut self, values: &[Val]) -> Val {
        let mut h = self.def(Ty::L, "copy 1469598103934665603");
        for v in values {
            let bits = self.bits(v);
            let mixed = self.def(Ty::L, &format!("mul {}, 1099511628211", h.name));
            h = self.def(Ty::L, &format!("xor {}, {}", mixed.name, bits.name));
        }
        h
    }

    /// The value as an `l`, NaNs all alike.
    fn bits(&mut self, v: &Val) -> Val {
        match v.ty {
            Ty::L => v.clone(),
            Ty::W => self.def(Ty::L, &format!("extuw {}", v.name)),
            Ty::D | Ty::S => {
                let (raw, ordered) = if v.ty == Ty::D {
                    (
                        self.def(Ty::L, &format!("cast {}", v.name)),
                        self.def(Ty::L, &format!("cod {}, {}", v.name, v.name)),
                    )
                } else {
                    let w = self.def(Ty::W, &format!("cast {}", v.name));
                    (
                        self.def(Ty::L, &format!("extuw {}", w.name)),
                        self.def(Ty::L, &format!("cos {}, {}", v.name, v.name)),
                    )
                };
                self.def(Ty::L, &format!("mul {}, {}", raw.name, ordered.name))
            }
        }
    }

    fn arithmetic(&mut self) {
        let ty = *self.rng.pick(&[Ty::W, Ty::L, Ty::L, Ty::W, Ty::D, Ty::S]);
        if ty.is_int() {
            self.integer(ty)
        } else {
            self.float(ty)
        }
    }

    fn integer(&mut self, ty: Ty) {
        const BINARY: [&str; 8] = ["add", "sub", "mul", "and", "or", "xor", "add", "sub"];
        const SHIFT: [&str; 3] = ["shl", "shr", "sar"];
        const DIVIDE: [&str; 4] = ["div", "rem", "udiv", "urem"];
        const COMPARE: [&str; 10] = [
            "eq", "ne", "sle", "slt", "sge", "sgt", "ule", "ult", "uge", "ugt",
        ];
        match self.rng.below(10) {
            0..=3 => {
                let (a, b) = (self.operand(ty), self.operand(ty));
                let op = *self.rng.pick(&BINARY);
                self.def(ty, &format!("{op} {a}, {b}"));
            }
            4 => {
                let (a, n) = (self.operand(ty), self.operand(Ty::W));
                let op = *self.rng.pick(&SHIFT);
                self.def(ty, &format!("{op} {a}, {n}"));
            }
            5 => {
                // A divisor in 1..=32767: never zero, never -1.
                let (a, b) = (self.operand(ty), self.operand(ty));
                let low = self.def(ty, &format!("and {b}, 32767"));
                let divisor = self.def(ty, &format!("or {}, 1", low.name));
                let op = *self.rng.pick(&DIVIDE);
                self.def(ty, &format!("{op} {a}, {}", divisor.name));
            }
            6 => {
                let operand_ty = *self.rng.pick(&[Ty::W, Ty::L]);
                let (a, b) = (self.operand(operand_ty), self.operand(operand_ty));
                let cmp = *self.rng.pick(&COMPARE);
                self.def(ty, &format!("c{cmp}{} {a}, {b}", operand_ty.name()));
            }
            7 => {
                let a = self.operand(ty);
                self.def(ty, &format!("neg {a}"));
            }
            8 => self.integer_conversion(ty),
            _ => {
                let from = *self.rng.pick(&[Ty::S, Ty::D]);
                let a = self.operand(from);
                let op = match (from, self.rng.chance(50)) {
                    (Ty::S, true) => "stosi",
                    (Ty::S, false) => "stoui",
                    (_, true) => "dtosi",
                    (_, false) => "dtoui",
                };
                self.def(ty, &format!("{op} {a}"));
            }
        }
    }

    fn integer_conversion(&mut self, ty: Ty) {
        let w = self.operand(Ty::W);
        let op = *self
            .rng
            .pick(&["extsb", "extub", "extsh", "extuh", "extsw", "extuw", "copy"]);
        match (ty, op) {
            (Ty::W, "extsw" | "extuw") => {
                // `l` in a `w` context: its low 32 bits.
                let l = self.operand(Ty::L);
                self.def(Ty::W, &format!("copy {l}"));
            }
            (Ty::L, "copy") => {
                self.def(Ty::L, &format!("extsw {w}"));
            }
            _ => {
                self.def(ty, &format!("{op} {w}"));
            }
        }
    }

    fn float(&mut self, ty: Ty) {
        const COMPARE: [&str; 8] = ["eq", "ne", "le", "lt", "ge", "gt", "o", "uo"];
        match self.rng.below(8) {
            0..=3 => {
                let (a, b) = (self.operand(ty), self.operand(ty));
                let op = *self.rng.pick(&["add", "sub", "mul", "div"]);
                self.def(ty, &format!("{op} {a}, {b}"));
            }
            4 => {
                let a = self.operand(ty);
                self.def(ty, &format!("neg {a}"));
            }
            5 => {
                let other = if ty == Ty::D { Ty::S } else { Ty::D };
                let a = self.operand(other);
                let op = if ty == Ty::D { "exts" } else { "truncd" };
                self.def(ty, &format!("{op} {a}"));
            }
            6 => {
                let from = *self.rng.pick(&[Ty::W, Ty::L]);
                let a = self.operand(from);
                let op = match (from, self.rng.chance(50)) {
                    (Ty::W, true) => "swtof",
                    (Ty::W, false) => "uwtof",
                    (_, true) => "sltof",
                    (_, false) => "ultof",
                };
                self.def(ty, &format!("{op} {a}"));
            }
            _ => {
                let (a, b) = (self.operand(ty), self.operand(ty));
                let cmp = *self.rng.pick(&COMPARE);
                let result = *self.rng.pick(&[Ty::W, Ty::L]);
                self.def(result, &format!("c{cmp}{} {a}, {b}", ty.name()));
            }
        }
    }

    fn memory(&mut self) {
        if self.rng.chance(15) {
            return self.small_memory();
        }
        if self.rng.chance(15) {
            return self.float_copy();
        }
        let slot = self.rng.pick(&self.slots).clone();
        let off = [0u32, 1, 2, 4, 6, 8, 12, 16, 24][self.rng.below(9)];
        let at = self.address(&slot, off);
        if self.rng.chance(45) {
            let room = 32 - off;
            let (store, ty) = match self.rng.below(6) {
                0 => ("storeb", Ty::W),
                1 if room >= 2 => ("storeh", Ty::W),
                2 if room >= 4 => ("storew", Ty::W),
                3 if room >= 4 => ("stores", Ty::S),
                4 if room >= 8 && off <= 24 => ("stored", Ty::D),
                _ if room >= 8 && off <= 24 => ("storel", Ty::L),
                _ => ("storeb", Ty::W),
            };
            let mut v = self.operand(ty);
            if matches!(ty, Ty::S | Ty::D) {
                v = self.without_nan(ty, &v);
            }
            self.line(&format!("{store} {v}, {at}"));
            return;
        }
        let (load, ty) = match self.rng.below(10) {
            0 => ("loadsb", Ty::W),
            1 => ("loadub", Ty::L),
            2 => ("loadsh", Ty::L),
            3 => ("loaduh", Ty::W),
            4 => ("loadsw", Ty::L),
            5 => ("loaduw", Ty::L),
            6 => ("loadw", Ty::W),
            7 => ("loads", Ty::S),
            8 => ("loadd", Ty::D),
            _ => ("loadl", Ty::L),
        };
        let width = match load {
            "loadsb" | "loadub" => 1,
            "loadsh" | "loaduh" => 2,
            "loadsw" | "loaduw" | "loadw" | "loads" => 4,
            _ => 8,
        };
        if off + width > 32 {
            let v = self.operand(Ty::W);
            self.line(&format!("storeb {v}, {at}"));
            return;
        }
        // The bare `load` reads what its result type says.
        let load = match load {
            "loadl" | "loads" | "loadd" if self.rng.chance(25) => "load",
            other => other,
        };
        if self.rng.chance(20) {
            // Data the program defines, at a symbol offset.
            let data_off = self.rng.below(25 - width as usize);
            let at = self.temp(Ty::L, &format!("add $bytes, {data_off}"));
            self.def(ty, &format!("{load} {at}"));
        } else {
            self.def(ty, &format!("{load} {at}"));
        }
    }

    /// `v`, or zero when it is a NaN: a NaN's sign and payload are not
    /// specified (x86 computes 0/0 as a negative NaN, constant folding
    /// gives a positive one), so a NaN's bytes must not reach memory that
    /// integer loads may read.
    fn without_nan(&mut self, ty: Ty, v: &str) -> String {
        let (t, bits) = match ty {
            Ty::S => ("s", Ty::W),
            _ => ("d", Ty::L),
        };
        let raw = self.temp(bits, &format!("cast {v}"));
        let number = self.temp(Ty::W, &format!("co{t} {v}, {v}"));
        let wide = match bits {
            Ty::W => number,
            _ => self.temp(Ty::L, &format!("extuw {number}")),
        };
        let mask = self.temp(bits, &format!("sub 0, {wide}"));
        let kept = self.temp(bits, &format!("and {raw}, {mask}"));
        self.temp(ty, &format!("cast {kept}"))
    }

    /// A float copied through memory as an integer, as C front ends copy
    /// structures: loaded whole as `l`/`w`, stored whole elsewhere in the
    /// slot, and read as the float with `cast` (whatever bits the slot
    /// held, NaN payloads included).
    fn float_copy(&mut self) {
        let slot = self.rng.pick(&self.slots).clone();
        let (load, store, bits, float, width) = if self.rng.chance(50) {
            ("loadl", "storel", Ty::L, Ty::D, 8)
        } else {
            ("loadw", "storew", Ty::W, Ty::S, 4)
        };
        let offsets = [0u32, 4, 8, 16, 24];
        let from = offsets[self.rng.below(offsets.len())];
        let to = offsets[self.rng.below(offsets.len())];
        if from + width > 32 || to + width > 32 {
            return;
        }
        let at = self.address(&slot, from);
        let x = self.temp(bits, &format!("{load} {at}"));
        let to = self.address(&slot, to);
        self.line(&format!("{store} {x}, {to}"));
        self.def(float, &format!("cast {x}"));
    }

    /// A byte or half-word access to the 2-byte slot.
    fn small_memory(&mut self) {
        let slot = self.small_slot.clone();
        let off = self.rng.below(2) as u32;
        let at = self.address(&slot, off);
        match (self.rng.below(4), off) {
            (0, _) => {
                let v = self.operand(Ty::W);
                self.line(&format!("storeb {v}, {at}"));
            }
            (1, 0) => {
                let v = self.operand(Ty::W);
                self.line(&format!("storeh {v}, {at}"));
            }
            (2, 0) => {
                let load = *self.rng.pick(&["loadsh", "loaduh"]);
                self.def(Ty::W, &format!("{load} {at}"));
            }
            _ => {
                let load = *self.rng.pick(&["loadsb", "loadub"]);
                self.def(Ty::L, &format!("{load} {at}"));
            }
        }
    }

    /// A branch to a `hlt` that a value known only at run time (`x == x`
    /// of an integer) keeps from being taken.
    fn guarded_halt(&mut self) {
        let ty = *self.rng.pick(&[Ty::W, Ty::L]);
        let x = self.operand(ty);
        let always = self.temp(Ty::W, &format!("ceq{} {x}, {x}", ty.name()));
        let (live, dead) = (self.label("live"), self.label("dead"));
        self.line(&format!("jnz {always}, @{live}, @{dead}"));
        self.start_block(&dead);
        self.line("hlt");
        self.start_block(&live);
    }

    /// A source position, as front ends write before each statement.
    fn position(&mut self) {
        let line = 1 + self.rng.below(5000);
        if self.rng.chance(50) {
            let column = 1 + self.rng.below(80);
            self.line(&format!("dbgloc {line}, {column}"));
        } else {
            self.line(&format!("dbgloc {line}"));
        }
    }

    /// Builds an aggregate in a slot, passes it by value to its
    /// transform and reads the fields of the copy returned.
    fn aggregate(&mut self) {
        let k = self.rng.below(self.shared.aggregates.len());
        let a = self.shared.aggregates[k].clone();
        let slot = self.temp(Ty::L, &format!("alloc8 {}", a.size.max(8)));
        for f in &a.fields {
            let at = self.address(&slot, f.offset);
            let (_, ty) = field_load(f.letter);
            let v = self.operand(ty);
            self.line(&format!("{} {v}, {at}", field_store(f.letter)));
        }
        let key = self.operand(Ty::L);
        let result = self.temp_of(
            &format!(":a{k}"),
            &format!("call $t{k}(:a{k} {slot}, l {key})"),
        );
        for f in &a.fields {
            let at = self.address(&result, f.offset);
            let (load, ty) = field_load(f.letter);
            self.def(ty, &format!("{load} {at}"));
        }
        if self.rng.chance(30) {
            // A copy of the bytes, read back from the copy.
            let copy = self.temp(Ty::L, &format!("alloc8 {}", a.size.max(8)));
            self.line(&format!("blit {result}, {copy}, {}", a.size));
            let f = a.fields[self.rng.below(a.fields.len())];
            let at = self.address(&copy, f.offset);
            let (load, ty) = field_load(f.letter);
            self.def(ty, &format!("{load} {at}"));
        }
    }

    fn sub_word_call(&mut self) {
        let (x, y, z) = (
            self.operand(Ty::W),
            self.operand(Ty::W),
            self.operand(Ty::W),
        );
        if self.rng.chance(50) {
            // The result's bits above the byte are unspecified.
            let r = self.value();
            self.line(&format!("{r} =ub call $narrow(sb {x}, uh {y}, w {z})"));
            self.def(Ty::W, &format!("extub {r}"));
        } else {
            let r = self.value();
            self.line(&format!("{r} =sh call $narrow_signed(ub {x}, sh {y})"));
            self.def(Ty::L, &format!("extsh {r}"));
        }
    }

    /// Two blocks that both enter a loop through each other: control
    /// flow no nesting of structured loops expresses, run a bounded
    /// number of times from either entry.
    fn irreducible_loop(&mut self) {
        let c = self.operand(Ty::W);
        let init = self.operand(Ty::L);
        let mix = self.operand(Ty::L);
        let trips = 1 + self.rng.below(5);
        let before = self.block.clone();
        let (a, b) = (self.label("left"), self.label("right"));
        let (a_out, b_out, out) = (
            self.label("left_out"),
            self.label("right_out"),
            self.label("joined"),
        );
        let [ia, ha, ia2, ha2, ib, hb, ib2, hb2, more_a, more_b, ma, mb] =
            std::array::from_fn(|_| self.value());
        self.line(&format!("jnz {c}, @{a}, @{b}"));
        let _ = write!(
            self.text,
            "@{a}\n\t{ia} =w phi @{before} {trips}, @{b} {ib2}\n\t{ha} =l phi @{before} {init}, @{b} {hb2}\n\
             \t{ia2} =w sub {ia}, 1\n\t{ma} =l mul {ha}, 31\n\t{ha2} =l xor {ma}, {mix}\n\
             \t{more_a} =w csgtw {ia2}, 0\n\tjnz {more_a}, @{b}, @{a_out}\n\
             @{b}\n\t{ib} =w phi @{before} {trips}, @{a} {ia2}\n\t{hb} =l phi @{before} {init}, @{a} {ha2}\n\
             \t{ib2} =w sub {ib}, 2\n\t{mb} =l mul {hb}, 17\n\t{hb2} =l sub {mb}, {mix}\n\
             \t{more_b} =w csgtw {ib2}, 0\n\tjnz {more_b}, @{a}, @{b_out}\n\
             @{a_out}\n\tjmp @{out}\n@{b_out}\n\tjmp @{out}\n"
        );
        self.start_block(&out);
        self.def(Ty::L, &format!("phi @{a_out} {ha2}, @{b_out} {hb2}"));
    }

    /// What a C `switch` becomes in IL without one: a chain of equality
    /// tests of one value, each leading to its own case, and a default.
    fn compare_chain(&mut self, depth: usize) {
        let v = self.operand(Ty::W);
        let cases = 1 + self.rng.below(6);
        let key = self.temp(Ty::W, &format!("and {v}, 7"));
        let join = self.label("endswitch");
        let mut arms: Vec<(String, String)> = Vec::new();
        for case in 0..=cases {
            let (body, next) = (self.label("case"), self.label("test"));
            if case < cases {
                let hit = self.temp(Ty::W, &format!("ceqw {key}, {case}"));
                self.line(&format!("jnz {hit}, @{body}, @{next}"));
            } else {
                self.line(&format!("jmp @{body}"));
            }
            self.start_block(&body);
            let h = self.sequence(depth);
            self.scope.pop();
            arms.push((self.block.clone(), h.name));
            self.line(&format!("jmp @{join}"));
            if case < cases {
                self.start_block(&next);
            }
        }
        self.start_block(&join);
        let args: Vec<String> = arms
            .iter()
            .map(|(block, value)| format!("@{block} {value}"))
            .collect();
        self.def(Ty::L, &format!("phi {}", args.join(", ")));
    }

    /// A C `switch` the way cproc writes it: a balanced tree with an
    /// equality and an ordering test (signed or unsigned, `w` or `l`) per
    /// case value, dense or spread out. The key hits a case most of the
    /// time. Either every case has an arm of code meeting in a phi of the
    /// arms' hashes, or the tests branch straight to a join whose phi
    /// takes one value from all of them.
    fn compare_tree(&mut self, depth: usize) {
        let ty = if self.rng.chance(40) { Ty::L } else { Ty::W };
        let signed = self.rng.chance(50);
        let n = 1 + self.rng.below(12);
        let base = *self
            .rng
            .pick(&[-3i64, 0, 5, 100, -2147483648, 2147483640, -9, 1 << 40]);
        let stride = *self.rng.pick(&[1i64, 1, 1, 2, 3, 1000, -7, 1 << 33]);
        let at_width = |x: i64| if ty == Ty::W { i64::from(x as i32) } else { x };
        let mut cases: Vec<i64> = Vec::new();
        for i in 0..n as i64 {
            let c = at_width(base.wrapping_add(i.wrapping_mul(stride)));
            if !cases.contains(&c) {
                cases.push(c);
            }
        }
        let t = ty.name();
        let key = if self.rng.chance(20) {
            self.operand(ty)
        } else {
            let v = self.operand(ty);
            let k = self.temp(ty, &format!("and {v}, 15"));
            let m = self.temp(ty, &format!("mul {k}, {stride}"));
            self.temp(ty, &format!("add {m}, {base}"))
        };
        let direct = self.rng.chance(30);
        let join = self.label("endtree");
        let default = if direct {
            join.clone()
        } else {
            self.label("default")
        };
        let arms: Vec<String> = (0..cases.len())
            .map(|_| {
                if direct {
                    join.clone()
                } else {
                    self.label("arm")
                }
            })
            .collect();
        let sign = if ty == Ty::W { 1u64 << 31 } else { 1u64 << 63 };
        let mask = if ty == Ty::W {
            u64::from(u32::MAX)
        } else {
            u64::MAX
        };
        let mut order: Vec<usize> = (0..cases.len()).collect();
        order.sort_by_key(|&i| {
            let v = cases[i] as u64 & mask;
            if signed {
                v ^ sign
            } else {
                v
            }
        });
        // Blocks jumping straight to the join, for its phi.
        let mut into_join: Vec<String> = Vec::new();
        let mut pending: Vec<(Vec<usize>, Option<String>)> = vec![(order, None)];
        while let Some((keys, label)) = pending.pop() {
            let here = match label {
                Some(l) => {
                    self.start_block(&l);
                    l
                }
                None => self.block.clone(),
            };
            if keys.is_empty() {
                if direct {
                    into_join.push(here);
                }
                self.line(&format!("jmp @{default}"));
                continue;
            }
            let mid = keys.len() / 2;
            let c = cases[keys[mid]];
            let e = self.temp(Ty::W, &format!("ceq{t} {key}, {c}"));
            let ne = self.label("ne");
            if direct {
                into_join.push(here.clone());
            }
            self.line(&format!("jnz {e}, @{}, @{ne}", arms[keys[mid]]));
            self.start_block(&ne);
            let (left, right) = (keys[..mid].to_vec(), keys[mid + 1..].to_vec());
            // Straight to the join from one side at most: a phi names a
            // predecessor once.
            let lt = if direct && left.is_empty() {
                into_join.push(ne.clone());
                join.clone()
            } else {
                self.label("lt")
            };
            let gt = self.label("gt");
            let order = if signed { "slt" } else { "ult" };
            let o = self.temp(Ty::W, &format!("c{order}{t} {key}, {c}"));
            self.line(&format!("jnz {o}, @{lt}, @{gt}"));
            pending.push((right, Some(gt)));
            if lt != join {
                pending.push((left, Some(lt)));
            }
        }
        let mut ends: Vec<(String, String)> = Vec::new();
        if !direct {
            let mut bodies = arms.clone();
            bodies.push(default.clone());
            for body in bodies {
                self.start_block(&body);
                let h = self.sequence(depth);
                self.scope.pop();
                ends.push((self.block.clone(), h.name));
                self.line(&format!("jmp @{join}"));
            }
        }
        self.start_block(&join);
        let args: Vec<String> = if direct {
            into_join.iter().map(|b| format!("@{b} {key}")).collect()
        } else {
            ends.iter().map(|(b, v)| format!("@{b} {v}")).collect()
        };
        let phi_ty = if direct { ty } else { Ty::L };
        self.def(phi_ty, &format!("phi {}", args.join(", ")));
    }

    fn variadic_call(&mut self) {
        let k = self.rng.below(self.shared.variadics.len());
        let types = self.shared.variadics[k].clone();
        let n = self.operand(Ty::W);
        let mut args = format!("w {n}, ...");
        for ty in types {
            let v = self.operand(ty);
            let _ = write!(args, ", {} {v}", ty.name());
        }
        self.def(Ty::L, &format!("call $v{k}({args})"));
    }

    fn call(&mut self) {
        let callee = self.rng.below(self.index);
        let args = format!(
            "l {}, l {}, w {}, d {}",
            self.operand(Ty::L),
            self.operand(Ty::L),
            self.operand(Ty::W),
            self.operand(Ty::D)
        );
        if self.rng.chance(50) {
            let entry = self.temp(Ty::L, &format!("add $table, {}", 8 * callee));
            let f = self.temp(Ty::L, &format!("loadl {entry}"));
            self.def(Ty::L, &format!("call {f}({args})"));
        } else {
            self.def(Ty::L, &format!("call $f{callee}({args})"));
        }
    }

    /// `if (c) { … } else { … }` joined by a phi of the two hashes.
    fn diamond(&mut self, depth: usize) {
        let c = self.operand(Ty::W);
        let (yes, no, join) = (self.label("yes"), self.label("no"), self.label("join"));
        self.line(&format!("jnz {c}, @{yes}, @{no}"));
        self.start_block(&yes);
        let a = self.sequence(depth);
        self.scope.pop();
        let a_end = self.block.clone();
        self.line(&format!("jmp @{join}"));
        self.start_block(&no);
        let b = self.sequence(depth);
        self.scope.pop();
        let b_end = self.block.clone();
        self.start_block(&join);
        self.def(
            Ty::L,
            &format!("phi @{a_end} {}, @{b_end} {}", a.name, b.name),
        );
    }

    /// A loop tested at its top, as C front ends write `for`: a counter of
    /// either width, stepped up or down by one, compared by any integer
    /// comparison with an operand, its width's limit or a value equal to
    /// the limit or one short of it, and started at an operand or two
    /// steps short of the limit — so it may step past the limit and wrap.
    /// A second counter leaves the loop after at most 6 trips.
    fn tested_loop(&mut self, depth: usize) {
        let ty = if self.rng.chance(50) { Ty::W } else { Ty::L };
        let (signed, up, inclusive) = (
            self.rng.chance(50),
            self.rng.chance(50),
            self.rng.chance(50),
        );
        let limit: i64 = match (ty, signed, up) {
            (Ty::W, true, true) => i32::MAX.into(),
            (Ty::W, true, false) => i32::MIN.into(),
            (_, true, true) => i64::MAX,
            (_, true, false) => i64::MIN,
            (_, false, true) => -1,
            (_, false, false) => 0,
        };
        let step: i64 = if up { 1 } else { -1 };
        let t = ty.name();
        let start = if self.rng.chance(50) {
            self.operand(ty)
        } else {
            limit.wrapping_sub(2 * step).to_string()
        };
        let bound = match self.rng.below(4) {
            0 => self.operand(ty),
            1 => limit.to_string(),
            k => self.temp(
                ty,
                &format!("copy {}", limit.wrapping_sub((k as i64 - 2) * step)),
            ),
        };
        let rel = match (up, inclusive) {
            (true, true) => "le",
            (true, false) => "lt",
            (false, true) => "ge",
            (false, false) => "gt",
        };
        let sign = if signed { "s" } else { "u" };
        let (trips, init) = (1 + self.rng.below(6), self.operand(Ty::L));
        let before = self.block.clone();
        let (head, body_label, latch, exit) = (
            self.label("head"),
            self.label("body"),
            self.label("latch"),
            self.label("exit"),
        );
        let (j, j_next, trip, trip_next, acc, acc_next) = (
            self.value(),
            self.value(),
            self.value(),
            self.value(),
            self.value(),
            self.value(),
        );
        self.line(&format!("jmp @{head}"));
        self.start_block(&head);
        self.line(&format!(
            "{j} ={t} phi @{before} {start}, @{latch} {j_next}"
        ));
        self.line(&format!("{trip} =w phi @{before} 0, @{latch} {trip_next}"));
        self.line(&format!(
            "{acc} =l phi @{before} {init}, @{latch} {acc_next}"
        ));
        let test = self.value();
        if self.rng.chance(50) {
            self.line(&format!("{test} =w c{sign}{rel}{t} {j}, {bound}"));
        } else {
            let flipped = match rel {
                "le" => "ge",
                "lt" => "gt",
                "ge" => "le",
                _ => "lt",
            };
            self.line(&format!("{test} =w c{sign}{flipped}{t} {bound}, {j}"));
        }
        self.line(&format!("jnz {test}, @{body_label}, @{exit}"));
        self.start_block(&body_label);
        self.scope.push(Val {
            ty,
            name: j.clone(),
        });
        let body = self.sequence(depth);
        self.scope.pop();
        self.scope.pop();
        let body_end = self.block.clone();
        let wide = match ty {
            Ty::W => self.temp(Ty::L, &format!("extsw {j}")),
            _ => j.clone(),
        };
        let mixed = self.temp(Ty::L, &format!("mul {acc}, 31"));
        let with_j = self.temp(Ty::L, &format!("xor {mixed}, {wide}"));
        self.line(&format!("{acc_next} =l xor {with_j}, {}", body.name));
        self.line(&format!("{trip_next} =w add {trip}, 1"));
        let more = self.temp(Ty::W, &format!("csltw {trip_next}, {trips}"));
        self.line(&format!("jnz {more}, @{latch}, @{exit}"));
        self.start_block(&latch);
        let op = if up { "add" } else { "sub" };
        self.line(&format!("{j_next} ={t} {op} {j}, 1"));
        self.line(&format!("jmp @{head}"));
        self.start_block(&exit);
        let out = self.value();
        self.line(&format!(
            "{out} =l phi @{head} {acc}, @{body_end} {acc_next}"
        ));
        self.scope.push(Val {
            ty: Ty::L,
            name: out,
        });
    }

    /// `a[j] = a[j - 1] OP x` (or `a[j + 1]` counting down) over a slot:
    /// what one iteration stores the next loads, the shape a row of a
    /// dynamic program has. Elements `w` or `l`, the counter `w`
    /// (sign-extended for the address) or `l`; sometimes a second store
    /// that may write the element the next iteration loads.
    fn row_loop(&mut self) {
        let slot = self.rng.pick(&self.slots).clone();
        let ty = if self.rng.chance(50) { Ty::W } else { Ty::L };
        let (size, store, load): (u32, _, _) = match ty {
            Ty::W => (4, "storew", "loadw"),
            _ => (8, "storel", "loadl"),
        };
        let n = 32 / size;
        let wide = self.rng.chance(50);
        let ct = if wide { "l" } else { "w" };
        let up = self.rng.chance(50);
        let x = self.operand(ty);
        let op = *self.rng.pick(&["add", "sub", "xor", "mul"]);
        let before = self.block.clone();
        let (head, body, exit) = (self.label("row"), self.label("cell"), self.label("rowend"));
        let (j, j_next) = (self.value(), self.value());
        let (start, step, back) = if up {
            (1, "add", "sub")
        } else {
            (n - 2, "sub", "add")
        };
        self.line(&format!("jmp @{head}"));
        self.start_block(&head);
        self.line(&format!(
            "{j} ={ct} phi @{before} {start}, @{body} {j_next}"
        ));
        let test = if up {
            self.temp(Ty::W, &format!("cslt{ct} {j}, {n}"))
        } else {
            self.temp(Ty::W, &format!("csge{ct} {j}, 0"))
        };
        self.line(&format!("jnz {test}, @{body}, @{exit}"));
        self.start_block(&body);
        let index = |g: &mut Self, of: &str| {
            let w = if wide {
                of.to_string()
            } else {
                g.temp(Ty::L, &format!("extsw {of}"))
            };
            let bytes = if g.rng.chance(50) {
                g.temp(Ty::L, &format!("mul {w}, {size}"))
            } else {
                g.temp(Ty::L, &format!("shl {w}, {}", size.trailing_zeros()))
            };
            g.temp(Ty::L, &format!("add {slot}, {bytes}"))
        };
        let prev = self.temp(if wide { Ty::L } else { Ty::W }, &format!("{back} {j}, 1"));
        let from = index(self, &prev);
        let left = self.temp(ty, &format!("{load} {from}"));
        let v = self.temp(ty, &format!("{op} {left}, {x}"));
        let to = index(self, &j);
        self.line(&format!("{store} {v}, {to}"));
        if self.rng.chance(25) {
            let other = self.rng.pick(&self.slots).clone();
            let off = size * self.rng.below(n as usize) as u32;
            let at = self.address(&other, off);
            self.line(&format!("{store} {x}, {at}"));
        }
        self.line(&format!("{j_next} ={ct} {step} {j}, 1"));
        self.line(&format!("jmp @{head}"));
        self.start_block(&exit);
        let last = self.address(&slot, size * (n - 1));
        self.def(ty, &format!("{load} {last}"));
    }

    /// A loop running 1 to 6 times, carrying a hash in a phi.
    fn counted_loop(&mut self, depth: usize) {
        let trips = 1 + self.rng.below(6);
        let init = self.operand(Ty::L);
        let before = self.block.clone();
        let (head, exit) = (self.label("loop"), self.label("exit"));
        let (i, acc) = (self.value(), self.value());
        let (i_next, acc_next) = (self.value(), self.value());
        self.line(&format!("jmp @{head}"));
        self.start_block(&head);
        // The latch is known only after the body; the phis are written
        // with a placeholder and patched.
        let phi_at = self.text.len();
        self.scope.push(Val {
            ty: Ty::W,
            name: i.clone(),
        });
        self.scope.push(Val {
            ty: Ty::L,
            name: acc.clone(),
        });
        let body = self.sequence(depth);
        self.scope.pop();
        self.scope.truncate(self.scope.len() - 2);
        let latch = self.block.clone();
        self.line(&format!("{i_next} =w add {i}, 1"));
        let mixed = self.value();
        self.line(&format!("{mixed} =l mul {acc}, 31"));
        self.line(&format!("{acc_next} =l xor {mixed}, {}", body.name));
        let more = self.value();
        self.line(&format!("{more} =w csltw {i_next}, {trips}"));
        self.line(&format!("jnz {more}, @{head}, @{exit}"));
        let phis = format!(
            "\t{i} =w phi @{before} 0, @{latch} {i_next}\n\t{acc} =l phi @{before} {init}, @{latch} {acc_next}\n"
        );
        self.text.insert_str(phi_at, &phis);
        self.start_block(&exit);
        self.scope.push(Val {
            ty: Ty::L,
            name: acc_next,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_valid_il() {
        for seed in 0..200 {
            let text = program(seed, Size::default());
            let module = skc_ir::reader::read_module(&text, "gen.ssa");
            assert!(module.is_ok(), "seed {seed}:\n{text}\n{:?}", module.err());
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_program() {
        assert_eq!(program(7, Size::default()), program(7, Size::default()));
        assert_ne!(program(7, Size::default()), program(8, Size::default()));
    }
}
