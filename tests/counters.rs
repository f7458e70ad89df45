//! Loop counters at the edges of their width, end to end: every kind of
//! counting loop the native backend may mark free of wrap (`skc_ir::no_wrap`)
//! or copy behind a guard (`skc_ir::version`) — strict and inclusive,
//! counting up and down by one or two, signed and unsigned, `w` and `l` — called with
//! bounds far from the limit, one short of it and at it, where an
//! inclusive loop's counter really wraps and the loop ends at a `break`.
//! Built the four ways skc builds; the expected output is computed here by
//! stepping each loop with wrapping arithmetic, not by any build.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use skc_tests::pipelines::{self, Outcome, PIPELINES};

/// One counting loop: `for (j = from; j TEST n; j STEP) { if (j == stop)
/// break; s = s*31 + j; }`, returning `s*3 + j` (the IL computes the new
/// `s` before the test, but a break leaves with the old one).
#[derive(Clone, Copy)]
struct Kind {
    long: bool,
    signed: bool,
    /// Counts up (`add %j, STEP`) or down (`sub %j, STEP`).
    up: bool,
    /// 1, or a larger step (proven only counting up, signed).
    step: i128,
    inclusive: bool,
    /// The test written with the bound first (`csgew %n, %j` for `j <= n`).
    bound_first: bool,
}

impl Kind {
    fn bits(self) -> u32 {
        if self.long {
            64
        } else {
            32
        }
    }

    fn ty(self) -> &'static str {
        if self.long {
            "l"
        } else {
            "w"
        }
    }

    /// `v` reduced to the width, as a signed number.
    fn wrap(self, v: i128) -> i128 {
        let m = 1i128 << self.bits();
        let v = v.rem_euclid(m);
        if v >= m / 2 {
            v - m
        } else {
            v
        }
    }

    /// `v` read as the comparison reads it.
    fn read(self, v: i128) -> i128 {
        if self.signed {
            v
        } else {
            v.rem_euclid(1i128 << self.bits())
        }
    }

    fn holds(self, j: i128, n: i128) -> bool {
        let (j, n) = (self.read(j), self.read(n));
        match (self.up, self.inclusive) {
            (true, true) => j <= n,
            (true, false) => j < n,
            (false, true) => j >= n,
            (false, false) => j > n,
        }
    }

    /// The IL comparison, `%c =w …`.
    fn test(self) -> String {
        let rel = match (self.up, self.inclusive) {
            (true, true) => "le",
            (true, false) => "lt",
            (false, true) => "ge",
            (false, false) => "gt",
        };
        let flipped = match rel {
            "le" => "ge",
            "lt" => "gt",
            "ge" => "le",
            _ => "lt",
        };
        let sign = if self.signed { "s" } else { "u" };
        if self.bound_first {
            format!("c{sign}{flipped}{} %n, %j", self.ty())
        } else {
            format!("c{sign}{rel}{} %j, %n", self.ty())
        }
    }

    /// The value the counter steps towards and must not pass.
    fn limit(self) -> i128 {
        let half = 1i128 << (self.bits() - 1);
        match (self.signed, self.up) {
            (true, true) => half - 1,
            (true, false) => -half,
            (false, true) => -1,
            (false, false) => 0,
        }
    }

    /// `(n, from, stop)` triples: an ordinary loop, an empty one, a bound
    /// one short of the limit and a bound at it (where an inclusive loop
    /// wraps and ends at `stop`, two steps past the wrap).
    fn calls(self) -> Vec<(i128, i128, i128)> {
        let d = if self.up { 1 } else { -1 };
        let never = |from: i128| self.wrap(from - d);
        let lim = self.limit();
        let short = self.wrap(lim - d);
        let from_far = if self.signed { 1 } else { 40 };
        if self.step > 1 {
            // Bounds `step` short of the limit (the guarded copy's last
            // one), one closer, and at it; each call starts two steps
            // before its bound and stops two steps after it.
            let k = d * self.step;
            let around = |n: i128| (n, self.wrap(n - 2 * k), self.wrap(n + 2 * k));
            return vec![
                (self.wrap(from_far + 5 * k), from_far, never(from_far)),
                (self.wrap(from_far - d), from_far, never(from_far)),
                around(self.wrap(lim - k)),
                around(self.wrap(lim - k + d)),
                around(lim),
            ];
        }
        vec![
            (self.wrap(from_far + 5 * d), from_far, never(from_far)),
            (self.wrap(from_far - d), from_far, never(from_far)),
            (
                short,
                self.wrap(short - 2 * d),
                never(self.wrap(short - 2 * d)),
            ),
            (lim, self.wrap(lim - 2 * d), self.wrap(lim + 2 * d)),
        ]
    }

    fn expected(self, n: i128, from: i128, stop: i128) -> i128 {
        let (mut j, mut s) = (from, 0i128);
        let d = if self.up { 1 } else { -1 };
        for _ in 0..100 {
            if !self.holds(j, n) {
                break;
            }
            // The break leaves with the header's `%s`, before this step.
            let s2 = self.wrap(s * 31 + j);
            if j == stop {
                break;
            }
            s = s2;
            j = self.wrap(j + d * self.step);
        }
        assert!(!self.holds(j, n) || j == stop, "every test loop ends soon");
        self.wrap(s * 3 + j)
    }

    fn function(self, name: &str) -> String {
        let (ty, test) = (self.ty(), self.test());
        let step = if self.up {
            format!("add %j, {}", self.step)
        } else {
            format!("sub %j, {}", self.step)
        };
        format!(
            "function {ty} ${name}({ty} %n, {ty} %from, {ty} %stop) {{
@start
	jmp @head
@head
	%j ={ty} phi @start %from, @next %j2
	%s ={ty} phi @start 0, @next %s2
	%c =w {test}
	jnz %c, @body, @done
@body
	%m ={ty} mul %s, 31
	%s2 ={ty} add %m, %j
	%b =w ceq{ty} %j, %stop
	jnz %b, @done, @next
@next
	%j2 ={ty} {step}
	jmp @head
@done
	%r ={ty} mul %s, 3
	%r2 ={ty} add %r, %j
	ret %r2
}}
"
        )
    }
}

fn kinds() -> Vec<Kind> {
    let mut kinds = Vec::new();
    for long in [false, true] {
        for signed in [true, false] {
            for up in [true, false] {
                for inclusive in [true, false] {
                    for bound_first in [false, true] {
                        for step in [1, 2] {
                            kinds.push(Kind {
                                long,
                                signed,
                                up,
                                step,
                                inclusive,
                                bound_first,
                            });
                        }
                    }
                }
            }
        }
    }
    kinds
}

/// The program and the output it must print.
fn program() -> (String, String) {
    let mut il = String::from("data $fmt = { b \"%lld\\n\", b 0 }\n");
    let mut main = String::from("export function w $main() {\n@start\n");
    let mut expected = String::new();
    for (k, kind) in kinds().into_iter().enumerate() {
        il += &kind.function(&format!("count{k}"));
        let ty = kind.ty();
        for (c, (n, from, stop)) in kind.calls().into_iter().enumerate() {
            let v = format!("%r{k}_{c}");
            writeln!(
                main,
                "\t{v} ={ty} call $count{k}({ty} {n}, {ty} {from}, {ty} {stop})"
            )
            .unwrap();
            let wide = if kind.long {
                v.clone()
            } else {
                writeln!(main, "\t{v}.l =l extsw {v}").unwrap();
                format!("{v}.l")
            };
            writeln!(main, "\tcall $printf(l $fmt, ..., l {wide})").unwrap();
            writeln!(expected, "{}", kind.expected(n, from, stop)).unwrap();
        }
    }
    main += "\tret 0\n}\n";
    (il + &main, expected)
}

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

#[test]
fn counters_at_the_limits_run_as_the_wrapping_arithmetic_says() {
    let skc = skc_tests::skc_binary::locate(&root()).expect("skc");
    let work = tempfile::tempdir().expect("tempdir");
    let (il, expected) = program();
    let ssa = work.path().join("counters.ssa");
    std::fs::write(&ssa, &il).expect("write IL");
    let mut failures = Vec::new();
    for p in &PIPELINES {
        match pipelines::run_pipeline(&skc, p, &[&ssa], work.path()) {
            Outcome::Ran { status, stdout } if status == "exit 0" && stdout == expected => {}
            Outcome::Ran { status, stdout } => {
                let diff = skc_tests::diff::describe(&expected, &stdout).unwrap_or_default();
                failures.push(format!("{}: {status}\n{diff}", p.name));
            }
            Outcome::BuildFailed(m) => failures.push(format!("{}: build failed: {m}", p.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_native_ir_marks_exactly_the_steps_proven_free_of_wrap() {
    let skc = skc_tests::skc_binary::locate(&root()).expect("skc");
    let work = tempfile::tempdir().expect("tempdir");
    let (il, _) = program();
    let ssa = work.path().join("counters.ssa");
    std::fs::write(&ssa, &il).expect("write IL");
    let llvm = |opt: &str| {
        let out = Command::new(&skc)
            .args(["--emit=llvm", opt])
            .arg(&ssa)
            .args(["-o", "-"])
            .output()
            .expect("run skc");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let count = |text: &str, what: &str| text.lines().filter(|l| l.contains(what)).count();
    let o0 = llvm("-O0");
    assert_eq!(count(&o0, " nsw "), 0);
    assert_eq!(count(&o0, " nuw "), 0);
    let o2 = llvm("-O2");
    let kinds = kinds();
    // Each function has one step: a step of one is marked once for a
    // strict test, and for an inclusive one in the guarded copy only (its
    // original is kept for the bound at the limit); a larger step only
    // counting up, signed, in the copy. Signed steps get `nsw`, unsigned
    // `nuw`.
    let signed = kinds
        .iter()
        .filter(|k| k.signed && (k.step == 1 || k.up))
        .count();
    let unsigned = kinds.iter().filter(|k| !k.signed && k.step == 1).count();
    assert_eq!(
        count(&o2, "add nsw") + count(&o2, "sub nsw"),
        signed,
        "{o2}"
    );
    assert_eq!(
        count(&o2, "add nuw") + count(&o2, "sub nuw"),
        unsigned,
        "{o2}"
    );
    let inclusive = kinds.iter().filter(|k| k.inclusive && k.step == 1).count();
    let guards = o2
        .lines()
        .filter(|l| {
            l.contains("icmp eq")
                && [
                    "2147483647",
                    "9223372036854775807",
                    "-2147483648",
                    "-9223372036854775808",
                    ", -1",
                    ", 0",
                ]
                .iter()
                .any(|c| l.ends_with(c))
        })
        .count();
    assert!(guards >= inclusive, "one guard per inclusive loop:\n{o2}");
    // Room for a step of two: `n <= MAX - 2` (inclusive), `n <= MAX - 1`.
    let larger = kinds
        .iter()
        .filter(|k| k.signed && k.up && k.step > 1)
        .count();
    let room = o2
        .lines()
        .filter(|l| {
            l.contains("icmp sgt")
                && [
                    "2147483645",
                    "2147483646",
                    "9223372036854775805",
                    "9223372036854775806",
                ]
                .iter()
                .any(|c| l.ends_with(c))
        })
        .count();
    assert!(room >= larger, "one guard per larger step:\n{o2}");
}
