//! Loop rotation: a loop tested at the top gets its test repeated at the
//! bottom.
//!
//! Front ends write `while` and `for` loops as a header that tests the
//! condition and either enters the body or leaves:
//!
//! ```text
//! @head  %c = csltw %i, %n
//!        jnz %c, @body, @done
//! @body  ...
//!        jmp @head
//! ```
//!
//! A backend that emits structured control flow (wasm's `loop`, which
//! can only branch back to its top) turns this into a loop that enters the
//! test, branches into the body and branches again to get back: two taken
//! branches per iteration. [`rotate_loops`] copies the header to the end of
//! the loop, so the body falls into the test and the test branches back
//! to the body — one branch per iteration, and the original header runs
//! once, as a guard, before the loop:
//!
//! ```text
//! @head  %c = csltw %i, %n
//!        jnz %c, @body, @done
//! @body  ...
//! @head.rot  %c = csltw %i, %n
//!        jnz %c, @body, @done
//! ```
//!
//! The copy first defines the same values as the header; SSA construction
//! ([`crate::sema::ssa`]) then renames them and adds the phis where the two
//! copies' definitions meet (at the body's entry and at the exit). Only
//! small headers with one successor inside the loop and one outside are
//! copied, and loops already tested at the bottom are left alone.

use std::collections::HashSet;

use crate::ir::{Block, BlockData, Function, Inst, InstKind, Name, Operand, Terminator, UnOp};
use crate::sema::cfg::{normalize, ControlFlow};
use crate::sema::ssa;

/// Headers with more instructions than this are not copied: the copy
/// costs code size and the branch it saves matters less against a long
/// header.
const MAX_HEADER_INSTS: usize = 16;

/// Rotates the loops of `f` whose header is small, ends in a `jnz` with one
/// arm in the loop and one outside, and for which `keep(header)` is false.
/// Returns how many loops were rotated. `f` must be normalised and in SSA
/// form; it stays both.
pub fn rotate_loops(f: &mut Function, keep: impl Fn(Block) -> bool) -> usize {
    if !has_loops(f) {
        return 0;
    }
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => rotate_with(f, keep, &mut s),
        // Only reachable by re-entry, which this never does.
        Err(_) => rotate_with(f, keep, &mut Scratch::default()),
    })
}

/// Working memory kept between functions: a module has thousands.
#[derive(Default)]
struct Scratch {
    cf: ControlFlow,
    ssa: ssa::Scratch,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

fn rotate_with(f: &mut Function, keep: impl Fn(Block) -> bool, scratch: &mut Scratch) -> usize {
    let cf = &mut scratch.cf;
    cf.recompute(f);
    if cf.irreducible {
        return 0;
    }
    let n = f.blocks.len();
    let mut r = Rotation {
        origin: (0..n as u32).map(Block).collect(),
        preds: cf
            .preds
            .iter()
            .map(|p| {
                let mut p = p.clone();
                p.dedup();
                p
            })
            .collect(),
        names: None,
        cf,
    };
    let mut rotated = 0;
    // Inner headers come later in reverse post-order: rotating them first
    // leaves their blocks as they were when an outer loop is rotated.
    for h in (0..n as u32).rev().map(Block) {
        if r.cf.loop_header[h.index()] && !keep(h) && r.rotate(f, h) {
            rotated += 1;
        }
    }
    if rotated > 0 {
        normalize(f);
        cf.recompute(f);
        let diags = ssa::construct_reusing(f, cf, &mut scratch.ssa);
        debug_assert!(diags.is_empty(), "rotation keeps every use defined");
    }
    rotated
}

/// Whether `f` (normalised: blocks in reverse post-order) has a loop: an
/// edge to a block that does not come later. A cheap test that spares
/// the analyses for the many functions without one.
pub fn has_loops(f: &Function) -> bool {
    f.blocks
        .iter()
        .enumerate()
        .any(|(i, b)| b.term.successors().any(|s| s.index() <= i))
}

struct Rotation<'a> {
    /// For each block, the block of the original function it stands for
    /// in loop and dominance questions (a copy of a header or a block
    /// inserted before a body stands for that loop's header).
    origin: Vec<Block>,
    /// The distinct predecessors of each block, kept up to date.
    preds: Vec<Vec<Block>>,
    /// Block names in use, once a block has been added.
    names: Option<HashSet<Name>>,
    /// Control flow of the function before any rotation.
    cf: &'a ControlFlow,
}

impl Rotation<'_> {
    /// Whether the original block `b` is in the loop headed by `h`.
    fn in_loop(&self, h: Block, b: Block) -> bool {
        self.cf.in_loop(h, b)
    }

    /// Whether the current block `p`, a predecessor of header `h`, closes
    /// `h`'s loop.
    fn is_latch(&self, h: Block, p: Block) -> bool {
        self.cf.dominates(h, self.origin[p.index()])
    }

    fn fresh_name(&mut self, f: &Function, base: &str) -> Name {
        if self.names.is_none() {
            // Usually free: checked without building the set of names.
            let name = compact_str::format_compact!("{base}.rot");
            if f.blocks.iter().all(|b| b.name != name) {
                return name;
            }
        }
        let names = self
            .names
            .get_or_insert_with(|| f.blocks.iter().map(|b| b.name.clone()).collect());
        let name = (0u64..)
            .map(|n| match n {
                0 => compact_str::format_compact!("{base}.rot"),
                n => compact_str::format_compact!("{base}.rot.{n}"),
            })
            .find(|name| !names.contains(name))
            .expect("some suffix is free");
        names.insert(name.clone());
        name
    }

    fn add_block(&mut self, f: &mut Function, base: &str, origin: Block, data: BlockData) -> Block {
        let name = self.fresh_name(f, base);
        f.blocks.push(BlockData { name, ..data });
        self.origin.push(origin);
        self.preds.push(Vec::new());
        Block(f.blocks.len() as u32 - 1)
    }

    /// Rotates the loop headed by `h` if it has the shape described in
    /// [`rotate_loops`].
    fn rotate(&mut self, f: &mut Function, h: Block) -> bool {
        let header = &f.blocks[h.index()];
        if header.insts.len() > MAX_HEADER_INSTS {
            return false;
        }
        let Terminator::Jnz { nonzero, zero, .. } = header.term else {
            return false;
        };
        let (body, exit) = match (
            self.in_loop(h, self.origin[nonzero.index()]),
            self.in_loop(h, self.origin[zero.index()]),
        ) {
            (true, false) => (nonzero, zero),
            (false, true) => (zero, nonzero),
            _ => return false,
        };
        if body == h {
            return false;
        }
        let (latches, entries): (Vec<Block>, Vec<Block>) = self.preds[h.index()]
            .iter()
            .partition(|&&p| self.is_latch(h, p));
        if latches.is_empty() || entries.is_empty() {
            return false;
        }
        // A loop that already tests at the bottom gains nothing.
        let exits_at_bottom = latches.iter().any(|&l| {
            f.blocks[l.index()]
                .term
                .successors()
                .any(|s| s != h && !self.in_loop(h, self.origin[s.index()]))
        });
        if exits_at_bottom {
            return false;
        }
        // The body gets the copy as a second predecessor; its phis must
        // then tell the header's arm from the copy's, so it needs the
        // header as its only predecessor.
        let body = if self.preds[body.index()].iter().any(|&p| p != h) {
            self.split_edge(f, h, body)
        } else {
            body
        };

        let data = &f.blocks[h.index()];
        let mut copy = data.clone();
        copy.term = match data.term {
            Terminator::Jnz {
                ref cond,
                nonzero,
                zero,
            } => Terminator::Jnz {
                cond: cond.clone(),
                nonzero: if nonzero == exit { exit } else { body },
                zero: if zero == exit { exit } else { body },
            },
            _ => unreachable!("checked above"),
        };
        let base = data.name.clone();
        let copy = self.add_block(f, &base, h, copy);
        let is_latch = |p: &Block| latches.contains(p);
        for phi in &mut f.blocks[h.index()].phis {
            phi.args.retain(|(p, _)| !is_latch(p));
        }
        if entries.len() == 1 {
            // One way in: the header's phis are copies of what it brings.
            let header = &mut f.blocks[h.index()];
            let copies = header.phis.drain(..).map(|phi| {
                let (_, arg) = phi.args.into_iter().next().expect("one entry");
                Inst {
                    result: Some(phi.result),
                    kind: InstKind::Unary {
                        op: UnOp::Copy,
                        arg,
                    },
                    pos: phi.pos,
                }
            });
            header.insts.splice(0..0, copies.collect::<Vec<_>>());
        }
        for phi in &mut f.blocks[copy.index()].phis {
            phi.args.retain(|(p, _)| is_latch(p));
        }
        for &l in &latches {
            f.blocks[l.index()].term.retarget(h, copy);
        }
        self.preds[h.index()] = entries;
        self.preds[copy.index()] = latches;
        self.preds[body.index()].push(copy);
        self.preds[exit.index()].push(copy);
        for s in [body, exit] {
            for phi in &mut f.blocks[s.index()].phis {
                let from_header: Vec<Operand> = phi
                    .args
                    .iter()
                    .filter(|(p, _)| *p == h)
                    .map(|(_, op)| op.clone())
                    .collect();
                phi.args
                    .extend(from_header.into_iter().map(|op| (copy, op)));
            }
        }
        true
    }

    /// Puts a new block on the edge `from → to`, and returns it.
    fn split_edge(&mut self, f: &mut Function, from: Block, to: Block) -> Block {
        let pos = f.blocks[to.index()].pos;
        let base = f.blocks[to.index()].name.clone();
        let data = BlockData {
            name: Name::default(),
            phis: Vec::new(),
            insts: Vec::new(),
            term: Terminator::Jmp(to),
            term_pos: pos,
            pos,
        };
        let mid = self.add_block(f, &base, self.origin[from.index()], data);
        f.blocks[from.index()].term.retarget(to, mid);
        self.preds[mid.index()].push(from);
        for p in &mut self.preds[to.index()] {
            if *p == from {
                *p = mid;
            }
        }
        f.blocks[to.index()].rename_predecessor(from, mid);
        mid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Item;
    use crate::lang::printer::print_item;
    use crate::reader::read_module;
    use crate::sema::verify::verify;
    use crate::transform::test_support::assert_runs_alike;

    /// Rotates every function of `text` (with `keep` as given) and checks
    /// that the result verifies and prints what the original prints.
    /// Returns the loops rotated and the rotated module's text.
    fn rotate_module(text: &str, keep: impl Fn(Block) -> bool + Copy) -> (usize, String) {
        let m = read_module(text, "t.ssa").expect("reads");
        let mut count = 0;
        let mut printed = String::new();
        let mut items = Vec::new();
        for item in &m.items {
            let mut item = item.clone();
            if let Item::Function(f) = &mut item {
                count += rotate_loops(f, keep);
                let diags = verify(f, &ControlFlow::compute(f), &m.types);
                assert!(diags.is_empty(), "{diags:?}");
            }
            print_item(&mut printed, &item, &m.types).expect("prints");
            items.push(item);
        }
        assert_runs_alike(&m, items, &printed);
        (count, printed)
    }

    fn never(_: Block) -> bool {
        false
    }

    const COUNT: &str = "
export function w $sum(w %n) {
@start
	jmp @head
@head
	%i =w phi @start 0, @body %i2
	%s =w phi @start 0, @body %s2
	%c =w csltw %i, %n
	jnz %c, @body, @done
@body
	%s2 =w add %s, %i
	%i2 =w add %i, 1
	jmp @head
@done
	%r =w mul %s, %i
	ret %r
}
data $fmt = { b \"%d %d %d\\n\", b 0 }
export function w $main() {
@start
	%a =w call $sum(w 0)
	%b =w call $sum(w 1)
	%c =w call $sum(w 7)
	call $printf(l $fmt, ..., w %a, w %b, w %c)
	ret 0
}
";

    #[test]
    fn a_loop_tested_at_the_top_is_tested_at_the_bottom_too() {
        let (count, text) = rotate_module(COUNT, never);
        assert_eq!(count, 1, "{text}");
        // The copy of the test closes the loop: the body falls into it
        // and it branches back to the body.
        let copy = text.find("@head.rot").expect("a copy of the header");
        assert!(text[copy..].contains("jnz"), "{text}");
        let body = text.find("@body\n").expect("the body");
        let body_end = body + text[body..].find("\n@").expect("a block after the body");
        assert!(text[body..body_end].ends_with("jmp @head.rot"), "{text}");
        // Constants the header's phis chose on entry are used directly.
        assert!(!text.contains("phi @start 0\n"), "{text}");
    }

    #[test]
    fn a_header_kept_by_the_caller_is_left_alone() {
        let (count, text) = rotate_module(COUNT, |_| true);
        assert_eq!(count, 0);
        assert!(!text.contains(".rot"), "{text}");
    }

    #[test]
    fn breaks_continues_and_values_of_the_test_after_the_loop() {
        // `%k` is computed by the header and read after the loop, which
        // is left both from the header and from a break in the body; the
        // body continues from two places.
        let text = "
export function w $f(w %n) {
@start
	jmp @head
@head
	%i =w phi @start 0, @odd %i2, @even %i2
	%s =w phi @start 0, @odd %s3, @even %s2
	%k =w mul %i, 3
	%c =w csltw %i, %n
	jnz %c, @body, @done
@body
	%big =w csgtw %s, 40
	jnz %big, @done, @next
@next
	%i2 =w add %i, 1
	%s2 =w add %s, %k
	%o =w and %i, 1
	jnz %o, @odd, @even
@odd
	%s3 =w sub %s2, 1
	jmp @head
@even
	jmp @head
@done
	%r =w add %s, %k
	ret %r
}
data $fmt = { b \"%d %d %d %d\\n\", b 0 }
export function w $main() {
@start
	%a =w call $f(w 0)
	%b =w call $f(w 1)
	%c =w call $f(w 5)
	%d =w call $f(w 100)
	call $printf(l $fmt, ..., w %a, w %b, w %c, w %d)
	ret 0
}
";
        let (count, printed) = rotate_module(text, never);
        assert_eq!(count, 1, "{printed}");
    }

    #[test]
    fn nested_loops_are_both_rotated() {
        let text = "
export function w $f(w %n) {
@start
	jmp @outer
@outer
	%i =w phi @start 0, @outer.next %i2
	%s =w phi @start 0, @outer.next %s.out
	%c =w csltw %i, %n
	jnz %c, @inner.start, @done
@inner.start
	jmp @inner
@inner
	%j =w phi @inner.start 0, @inner.body %j2
	%t =w phi @inner.start %s, @inner.body %t2
	%d =w csltw %j, %i
	jnz %d, @inner.body, @outer.next
@inner.body
	%p =w mul %i, %j
	%t2 =w add %t, %p
	%j2 =w add %j, 1
	jmp @inner
@outer.next
	%s.out =w add %t, 1
	%i2 =w add %i, 1
	jmp @outer
@done
	ret %s
}
data $fmt = { b \"%d %d %d\\n\", b 0 }
export function w $main() {
@start
	%a =w call $f(w 0)
	%b =w call $f(w 2)
	%c =w call $f(w 6)
	call $printf(l $fmt, ..., w %a, w %b, w %c)
	ret 0
}
";
        let (count, printed) = rotate_module(text, never);
        assert_eq!(count, 2, "{printed}");
    }

    #[test]
    fn a_loop_tested_at_the_bottom_is_left_alone() {
        let text = "
export function w $f(w %n) {
@start
	jmp @body
@body
	%i =w phi @start 0, @body %i2
	%i2 =w add %i, 1
	%c =w csltw %i2, %n
	jnz %c, @body, @done
@done
	ret %i2
}
export function w $g(w %n) {
@start
	jmp @head
@head
	%i =w phi @start 0, @latch %i2
	%z =w ceqw %i, 1000
	jnz %z, @done, @body
@body
	%i2 =w add %i, 1
	jmp @latch
@latch
	%c =w csltw %i2, %n
	jnz %c, @head, @done
@done
	%r =w phi @head %i, @latch %i2
	ret %r
}
data $fmt = { b \"%d %d %d %d\\n\", b 0 }
export function w $main() {
@start
	%a =w call $f(w 0)
	%b =w call $f(w 5)
	%c =w call $g(w 0)
	%d =w call $g(w 5)
	call $printf(l $fmt, ..., w %a, w %b, w %c, w %d)
	ret 0
}
";
        let (count, printed) = rotate_module(text, never);
        assert_eq!(count, 0, "{printed}");
    }

    #[test]
    fn a_long_header_is_not_copied() {
        let mut header = String::new();
        for k in 0..=MAX_HEADER_INSTS {
            header.push_str(&format!("\t%x{k} =w add %i, {k}\n"));
        }
        let text = COUNT.replace(
            "\t%c =w csltw %i, %n\n",
            &format!("{header}\t%c =w csltw %i, %n\n"),
        );
        let (count, printed) = rotate_module(&text, never);
        assert_eq!(count, 0, "{printed}");
    }
}
