//! Optional passes over verified functions, for backends that want them:
//! [`inline`] and [`split`] make by-value structures promotable, [`promote`]
//! turns stack slots into SSA values, [`rotate`] tests loops at the bottom.

pub mod inline;
pub mod promote;
pub mod rotate;
pub mod split;
