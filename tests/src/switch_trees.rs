//! IL functions in the shape C front ends without a `switch` instruction
//! give a C `switch` (a balanced tree of an equality test and an ordering
//! test per case value, as cproc writes it), a C driver that calls each
//! with every value in and around its cases and at the edges of its width,
//! and the output the driver must print, computed here from the case
//! table alone. skc recovers such trees into one multi-way branch; this is
//! what checks that the branch goes where the tree went for every value.

use std::fmt::Write as _;

use crate::rng::Rng;

/// What is switched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// A `w` parameter compared as `w`.
    W,
    /// An `l` parameter compared as `l`.
    L,
    /// An `l` parameter compared as `w` (its low 32 bits).
    LowOfL,
}

impl Width {
    fn bits(self) -> u32 {
        match self {
            Width::L => 64,
            _ => 32,
        }
    }
    fn suffix(self) -> char {
        match self {
            Width::L => 'l',
            _ => 'w',
        }
    }
    fn param(self) -> &'static str {
        match self {
            Width::W => "w",
            _ => "l",
        }
    }
    fn c_param(self) -> &'static str {
        match self {
            Width::W => "int",
            _ => "long long",
        }
    }
}

/// Where the cases lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Every case its own block returning the case's index; the default
    /// returns -1 and is reached through empty blocks, as cproc writes it.
    Returns,
    /// Cases share three targets, reached straight from the tests, whose
    /// phis take one value computed before the tree; the default too.
    Phis,
}

/// One switch function.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Symbol name.
    pub name: String,
    /// Case values, distinct at the width (as the low bits of an `i64`).
    pub cases: Vec<i64>,
    /// Ordered by signed (`cslt`) or unsigned (`cult`) comparisons.
    pub signed: bool,
    /// What is compared.
    pub width: Width,
    /// Where cases lead.
    pub style: Style,
}

const PHI_KEYS: [i64; 3] = [7, 1007, 2007];
const DEFAULT_KEY: i64 = 5555;

impl Spec {
    fn mask(&self) -> u64 {
        match self.width.bits() {
            64 => u64::MAX,
            _ => u64::from(u32::MAX),
        }
    }

    /// The value at the width, as an unsigned bit pattern.
    fn at_width(&self, x: i64) -> u64 {
        x as u64 & self.mask()
    }

    /// The argument as the function sees it (a `w` parameter is an `int`).
    fn argument(&self, probe: i64) -> i64 {
        match self.width {
            Width::W => i64::from(probe as i32),
            _ => probe,
        }
    }

    /// What the function returns for `probe`: the C semantics of the
    /// switch it stands for.
    pub fn eval(&self, probe: i64) -> i64 {
        let x = self.argument(probe);
        let hit = self
            .cases
            .iter()
            .position(|&c| self.at_width(c) == self.at_width(x));
        match (self.style, hit) {
            (Style::Returns, Some(i)) => i as i64,
            (Style::Returns, None) => -1,
            (Style::Phis, Some(i)) => x ^ PHI_KEYS[i % 3],
            (Style::Phis, None) => x ^ DEFAULT_KEY,
        }
    }

    /// Values to call it with: every case, its neighbours, and the edges
    /// of the width (and, for `LowOfL`, values differing above bit 31).
    pub fn probes(&self) -> Vec<i64> {
        let mut out = vec![0, 1, -1, 2, -2];
        let (min, max) = match self.width.bits() {
            64 => (i64::MIN, i64::MAX),
            _ => (i64::from(i32::MIN), i64::from(i32::MAX)),
        };
        out.extend([min, min + 1, max, max - 1]);
        if self.width != Width::L {
            out.extend([i64::from(u32::MAX), 1 << 32, -(1 << 32)]);
        }
        for &c in &self.cases {
            for d in [-1, 0, 1] {
                out.push(c.wrapping_add(d));
                if self.width == Width::LowOfL {
                    out.push(c.wrapping_add(d).wrapping_add(3 << 32));
                }
            }
        }
        out
    }

    /// The IL function.
    pub fn il(&self) -> String {
        let mut b = Builder {
            spec: self,
            text: String::new(),
            labels: 0,
            into: vec![Vec::new(); 4],
        };
        let w = self.width.param();
        let _ = writeln!(
            b.text,
            "export function l ${}({w} %x) {{\n@start",
            self.name
        );
        // Values the phis take, computed before the tree (in its head).
        let xl = match self.width {
            Width::W => {
                b.text.push_str("\t%xl =l extsw %x\n");
                "%xl"
            }
            _ => "%x",
        };
        if self.style == Style::Phis {
            for (j, k) in PHI_KEYS.iter().enumerate() {
                let _ = writeln!(b.text, "\t%k{j} =l xor {xl}, {k}");
            }
            let _ = writeln!(b.text, "\t%kd =l xor {xl}, {DEFAULT_KEY}");
        }
        let mut order: Vec<(usize, u64)> = self
            .cases
            .iter()
            .enumerate()
            .map(|(i, &c)| (i, self.at_width(c)))
            .collect();
        let sign = 1u64 << (self.width.bits() - 1);
        order.sort_by_key(|&(_, v)| if self.signed { v ^ sign } else { v });
        // The head: the first test is in @start itself.
        b.node(&order, None);
        match self.style {
            Style::Returns => {
                for i in 0..self.cases.len() {
                    let _ = writeln!(b.text, "@case{i}\n\tret {i}");
                }
                b.text.push_str("@dflt\n\tret -1\n");
            }
            Style::Phis => {
                for (j, preds) in b.into.clone().iter().enumerate() {
                    if preds.is_empty() {
                        continue;
                    }
                    let (label, key) = if j == 3 {
                        ("dflt".to_string(), "%kd".to_string())
                    } else {
                        (format!("t{j}"), format!("%k{j}"))
                    };
                    let args: Vec<String> = preds.iter().map(|p| format!("@{p} {key}")).collect();
                    let _ = writeln!(
                        b.text,
                        "@{label}\n\t%r{j} =l phi {}\n\tret %r{j}",
                        args.join(", ")
                    );
                }
            }
        }
        b.text.push_str("}\n");
        b.text
    }
}

struct Builder<'a> {
    spec: &'a Spec,
    text: String,
    labels: usize,
    /// Style::Phis: the blocks jumping to target 0, 1, 2 and the default.
    into: Vec<Vec<String>>,
}

impl Builder<'_> {
    fn fresh(&mut self, stem: &str) -> String {
        self.labels += 1;
        format!("{stem}{}", self.labels)
    }

    /// The edge from block `from` to the default.
    fn default_from(&mut self, from: &str) -> String {
        self.into[3].push(from.to_string());
        "dflt".into()
    }

    /// Writes the subtree testing `keys` (sorted in comparison order),
    /// starting in a new block named `label` (or continuing the current
    /// block when `None`), and returns nothing: its blocks jump to the
    /// cases or the default.
    fn node(&mut self, keys: &[(usize, u64)], label: Option<&str>) {
        let s = self.spec;
        let t = s.width.suffix();
        let here = match label {
            Some(l) => {
                let _ = writeln!(self.text, "@{l}");
                l.to_string()
            }
            None => "start".to_string(),
        };
        if keys.is_empty() {
            // An empty block before the default, as cproc writes.
            if s.style == Style::Phis {
                self.default_from(&here);
            }
            let _ = writeln!(self.text, "\tjmp @dflt");
            return;
        }
        let mid = keys.len() / 2;
        let (case, value) = keys[mid];
        let literal = value as i64; // the bit pattern; reread at the width
        let e = self.fresh("%e");
        let ne = self.fresh("ne");
        let hit = match s.style {
            Style::Returns => format!("case{case}"),
            Style::Phis => {
                self.into[case % 3].push(here.clone());
                format!("t{}", case % 3)
            }
        };
        let _ = writeln!(
            self.text,
            "\t{e} =w ceq{t} %x, {literal}\n\tjnz {e}, @{hit}, @{ne}"
        );
        let _ = writeln!(self.text, "@{ne}");
        let (left, right) = (&keys[..mid], &keys[mid + 1..]);
        if s.style == Style::Phis && left.is_empty() && right.is_empty() && label.is_some() {
            // An empty block into the default's phi (not at the head: a
            // tree of one test is an `if`, left alone).
            self.default_from(&ne);
            let _ = writeln!(self.text, "\tjmp @dflt");
            return;
        }
        // Phis: an empty side goes straight to the default, but not both
        // (a phi lists a predecessor once).
        let child = |b: &mut Self, part: &[(usize, u64)], stem: &str, direct: bool| -> String {
            if part.is_empty() && s.style == Style::Phis && direct {
                b.default_from(&ne)
            } else {
                b.fresh(stem)
            }
        };
        let lt = child(self, left, "lt", true);
        let gt = child(self, right, "gt", lt != "dflt");
        let o = self.fresh("%o");
        let order = if s.signed { "slt" } else { "ult" };
        let _ = writeln!(
            self.text,
            "\t{o} =w c{order}{t} %x, {literal}\n\tjnz {o}, @{lt}, @{gt}"
        );
        if lt != "dflt" {
            self.node(left, Some(&lt));
        }
        if gt != "dflt" {
            self.node(right, Some(&gt));
        }
    }
}

/// The C driver calling every spec with its probes, one line per spec:
/// its name and a hash of every result in order.
pub fn driver(specs: &[Spec]) -> String {
    let mut c = String::from("#include <stdio.h>\n\n");
    for s in specs {
        let _ = writeln!(c, "long long {}({});", s.name, s.width.c_param());
    }
    c.push_str("\nint main(void)\n{\n\tunsigned long long h;\n");
    for s in specs {
        let probes: Vec<String> = s.probes().iter().map(|p| c_literal(*p)).collect();
        let _ = writeln!(
            c,
            "\t{{\n\t\tstatic const long long p[] = {{ {} }};\n\t\th = 0;\n\t\tfor (unsigned i = 0; i < sizeof p / sizeof p[0]; i++)\n\t\t\th = h * 1000003u + (unsigned long long){}(({})p[i]);\n\t\tprintf(\"{} %llu\\n\", h);\n\t}}",
            probes.join(", "),
            s.name,
            s.width.c_param(),
            s.name
        );
    }
    c.push_str("\treturn 0;\n}\n");
    c
}

fn c_literal(v: i64) -> String {
    if v == i64::MIN {
        "(-9223372036854775807LL - 1)".into()
    } else {
        format!("{v}LL")
    }
}

/// What [`driver`] prints when every spec behaves as its case table says.
pub fn expected_output(specs: &[Spec]) -> String {
    let mut out = String::new();
    for s in specs {
        let h = s.probes().iter().fold(0u64, |h, &p| {
            h.wrapping_mul(1_000_003).wrapping_add(s.eval(p) as u64)
        });
        let _ = writeln!(out, "{} {h}", s.name);
    }
    out
}

/// The specs the test runs: 1, 2, 3, 64 and 300 cases, dense and sparse,
/// signed and unsigned order, every width, both styles.
pub fn standard_specs() -> Vec<Spec> {
    let mut rng = Rng::new(0x0057_17c4, 0x0005_3717);
    let mut specs = Vec::new();
    for n in [1usize, 2, 3, 64, 300] {
        for dense in [true, false] {
            for signed in [false, true] {
                for width in [Width::W, Width::L, Width::LowOfL] {
                    let style = if specs.len() % 2 == 0 {
                        Style::Returns
                    } else {
                        Style::Phis
                    };
                    let cases = case_values(&mut rng, n, dense, width);
                    specs.push(Spec {
                        name: format!(
                            "sw{n}_{}_{}_{}_{}",
                            if dense { "dense" } else { "sparse" },
                            if signed { "s" } else { "u" },
                            match width {
                                Width::W => "w",
                                Width::L => "l",
                                Width::LowOfL => "lw",
                            },
                            match style {
                                Style::Returns => "ret",
                                Style::Phis => "phi",
                            }
                        ),
                        cases,
                        signed,
                        width,
                        style,
                    });
                }
            }
        }
    }
    specs
}

/// `n` distinct values at the width: a run from a base near a sign or
/// width edge, or spread over the whole width.
fn case_values(rng: &mut Rng, n: usize, dense: bool, width: Width) -> Vec<i64> {
    let bits = width.bits();
    let at = |v: i64| -> i64 {
        if bits == 32 {
            i64::from(v as i32)
        } else {
            v
        }
    };
    let mut out: Vec<i64> = Vec::new();
    if dense {
        let (lo, hi) = if bits == 32 {
            (i64::from(i32::MIN), i64::from(i32::MAX))
        } else {
            (i64::MIN, i64::MAX)
        };
        let base = *rng.pick(&[
            -3,
            0,
            1,
            40,
            -(n as i64) / 2,
            lo,
            hi - n as i64 + 1,
            hi - n as i64 / 2,
        ]);
        for i in 0..n as i64 {
            out.push(at(base.wrapping_add(i)));
        }
    } else {
        while out.len() < n {
            let v = match rng.below(3) {
                0 => at(rng.next() as i64),
                1 => at((rng.next() % 2000) as i64 - 1000),
                _ => at((rng.next() as i64) >> rng.below(bits as usize)),
            };
            let mask = if bits == 32 {
                u64::from(u32::MAX)
            } else {
                u64::MAX
            };
            if !out.iter().any(|&o| o as u64 & mask == v as u64 & mask) {
                out.push(v);
            }
        }
    }
    out
}
