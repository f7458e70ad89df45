//! What a parsed function means: [`cfg`] settles its control flow (entry,
//! fall-through, unreachable blocks, dominators, loops), [`ssa`] gives each
//! value one definition, [`verify`] checks the result; [`switches`] finds
//! the switch trees front ends lower to compares; [`no_wrap`] proves loop
//! counter steps free of wrap.

pub mod cfg;
pub mod no_wrap;
pub mod ssa;
pub mod switches;
pub mod verify;
