//! Optional passes over verified functions, for backends that want them:
//! [`inline`] and [`split`] make by-value structures promotable, [`promote`]
//! turns stack slots into SSA values, [`rotate`] tests loops at the bottom,
//! [`version`] copies loops with an inclusive test behind a guard.

pub mod inline;
pub mod promote;
pub mod rotate;
pub mod split;
pub mod version;
