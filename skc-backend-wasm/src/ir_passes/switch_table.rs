//! Recovered switches (`skc_ir::switches`) as one `br_table`.
//!
//! Only dense switches become tables: cases fill at least 40% of the
//! table's window. A tree of comparisons is already a binary search, and
//! on a sparser switch it can beat the table's one indirect branch by far:
//! the brainfuck interpreter of `../shared/bench` (8 cases over 51 values)
//! ran 45% slower under wasmtime as a table than as cproc's tree (see
//! docs/performance.md). A table
//! covers a window of consecutive values, chosen to leave out the largest
//! gap between case values on the circle of the width, so cases around
//! zero in signed order (`-3..=3`) make one small window like any others.
//!
//! [`prepare`] chooses the switches and rewrites the targets' phis to read
//! their operand from the head, where the code generator ends the tree
//! (the tree's other blocks are no longer reached: [`Structure`] gives the
//! head the switch's targets as successors). The head keeps its `jnz`
//! in the IR; the code generator emits the table instead.
//!
//! [`Structure`]: crate::lower::structure::Structure

use skc_ir::ir::{BaseType, Block, Function, Operand};
use skc_ir::switches::{Switch, Switches};

use crate::lower::structure::Structure;

/// Fewer cases than this stay comparisons.
const MIN_CASES: usize = 4;

/// Cases must fill at least this share of the window (in percent).
const MIN_DENSITY: u128 = 40;

/// No table longer than this.
const MAX_ENTRIES: u128 = 1 << 14;

/// The window a switch's table covers: entry `i` stands for the value
/// `start + i` (modulo the width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The first value, a bit pattern at the width.
    pub start: u64,
    /// The number of entries.
    pub len: u32,
}

/// The smallest window holding every case of `sw`.
pub fn window(sw: &Switch) -> Window {
    let modulus: u128 = match sw.ty {
        BaseType::W => 1 << 32,
        _ => 1 << 64,
    };
    let values: Vec<u128> = sw.cases.iter().map(|&(v, _)| u128::from(v)).collect();
    // The largest step from one case to the next, going round the circle.
    let n = values.len();
    let (mut gap, mut after) = (values[0] + modulus - values[n - 1], 0);
    for i in 1..n {
        if values[i] - values[i - 1] > gap {
            gap = values[i] - values[i - 1];
            after = i;
        }
    }
    let len = modulus - gap + 1;
    Window {
        start: values[after] as u64,
        len: u32::try_from(len).unwrap_or(u32::MAX),
    }
}

/// Whether `sw` is worth a table.
fn is_dense(sw: &Switch) -> bool {
    let n = sw.cases.len();
    if n < MIN_CASES {
        return false;
    }
    let len = u128::from(window(sw).len);
    n as u128 * 100 >= MIN_DENSITY * len && len <= MAX_ENTRIES
}

/// The value at table entry `i`'s target.
pub fn target_at(sw: &Switch, w: Window, i: u32) -> Block {
    let value = w.start.wrapping_add(u64::from(i));
    let value = match sw.ty {
        BaseType::W => value & u64::from(u32::MAX),
        _ => value,
    };
    match sw.cases.binary_search_by_key(&value, |&(v, _)| v) {
        Ok(k) => sw.cases[k].1,
        Err(_) => sw.default,
    }
}

/// Finds the switches of `f` that become tables and rewrites the phis of
/// their targets to take the operand from the head. `narrowed` flags `l`
/// values computed as `w` ([`crate::ir_passes::narrow`]): a switch comparing one as
/// an `l` stays a tree. Irreducible functions keep their trees (their
/// fallback code generator has no use for them).
pub fn prepare(f: &mut Function, narrowed: &[bool]) -> Switches {
    let mut switches = Switches::find(f);
    switches.retain(|sw| {
        is_dense(sw)
            && !(sw.ty == BaseType::L
                && narrowed.get(sw.scrutinee.index()).copied().unwrap_or(false))
    });
    if switches.is_empty() {
        return switches;
    }
    let st = Structure::compute(f, &Switches::default());
    let reducible = st.reducible;
    st.recycle();
    if !reducible {
        return Switches::default();
    }
    for b in 0..f.blocks.len() {
        let to = Block(b as u32);
        if switches.is_node(to) {
            continue;
        }
        for phi in &mut f.blocks[b].phis {
            let mut heads: Vec<Block> = Vec::new();
            phi.args.retain_mut(|(pred, _): &mut (Block, Operand)| {
                let Some(sw) = switches.tree_of(*pred) else {
                    return true;
                };
                // One operand per switch: the edges that values take all
                // carry the same one (`Switches` checks it).
                if !sw.is_live_edge(*pred, to) || heads.contains(&sw.head) {
                    return false;
                }
                heads.push(sw.head);
                *pred = sw.head;
                true
            });
        }
    }
    switches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(ty: BaseType, values: &[u64]) -> Switch {
        Switch {
            head: Block(0),
            scrutinee: skc_ir::ir::Value(0),
            condition: skc_ir::ir::Value(1),
            ty,
            cases: values.iter().map(|&v| (v, Block(1))).collect(),
            default: Block(2),
            nodes: Vec::new(),
            edges: Vec::new(),
        }
    }

    #[test]
    fn the_window_leaves_out_the_largest_gap_round_the_circle() {
        let w = window(&switch(BaseType::W, &[0, 1, 2, 3]));
        assert_eq!(w, Window { start: 0, len: 4 });
        // -2..=1 in signed order: the window wraps through zero.
        let w = window(&switch(BaseType::W, &[0, 1, 0xFFFF_FFFE, 0xFFFF_FFFF]));
        assert_eq!(
            w,
            Window {
                start: 0xFFFF_FFFE,
                len: 4
            }
        );
        let w = window(&switch(BaseType::L, &[10, 12, 20, u64::MAX]));
        assert_eq!(
            w,
            Window {
                start: u64::MAX,
                len: 22
            }
        );
        let s = switch(BaseType::L, &[10, 12, 20, u64::MAX]);
        assert_eq!(target_at(&s, w, 0), Block(1));
        assert_eq!(target_at(&s, w, 1), Block(2));
        assert_eq!(target_at(&s, w, 11), Block(1));
        assert_eq!(target_at(&s, w, 21), Block(1));
    }

    #[test]
    fn only_dense_switches_of_four_cases_or_more_are_tables() {
        assert!(!is_dense(&switch(BaseType::W, &[1, 2, 3])));
        assert!(is_dense(&switch(BaseType::W, &[1, 2, 3, 4])));
        assert!(is_dense(&switch(BaseType::W, &[1, 2, 4, 5, 9, 10])));
        assert!(!is_dense(&switch(BaseType::W, &[1, 2, 4, 5, 9, 20])));
        // The brainfuck interpreter's eight commands.
        assert!(!is_dense(&switch(
            BaseType::W,
            &[43, 44, 45, 46, 60, 62, 91, 93]
        )));
        assert!(!is_dense(&switch(BaseType::W, &[1, 1000, 2000, 3000])));
        assert!(!is_dense(&switch(BaseType::L, &[0, 1, 2, 1 << 40])));
    }
}
