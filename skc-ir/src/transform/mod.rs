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
