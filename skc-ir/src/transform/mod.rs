//! Optional passes over verified functions, for backends that want them:
//! [`inline`] and [`split`] make by-value structures promotable, [`promote`]
//! turns stack slots into SSA values, [`rotate`] tests loops at the bottom,
//! [`version`] copies loops with an inclusive test behind a guard, [`carry`]
//! keeps a value stored in one iteration and loaded in the next in a phi.

pub mod carry;
pub mod inline;
pub mod promote;
pub mod rotate;
pub mod split;
pub mod version;

#[cfg(test)]
pub(crate) mod test_support {
    use crate::interpreter::{run, Limits};
    use crate::ir::Item;
    use crate::reader::Module;

    /// Runs `original` and the module of the same types made of `items`
    /// (its items after a pass) in the interpreter and checks that they
    /// print and end alike; `printed` is shown when they differ.
    pub(crate) fn assert_runs_alike(original: &Module, items: Vec<Item>, printed: &str) {
        let changed = Module {
            types: original.types.clone(),
            items,
        };
        let (mut before, mut after) = (Vec::new(), Vec::new());
        let expected = run(original, &[], &mut before, Limits::default());
        let got = run(&changed, &[], &mut after, Limits::default());
        assert!(expected.is_ok(), "{expected:?}");
        assert_eq!((got, after), (expected, before), "{printed}");
    }
}
