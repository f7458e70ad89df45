//! What happens to a function's IR before instructions are chosen:
//! rewrites ([`setjmp::lower`], calls that omit `...` in
//! [`implicit_varargs`], floats copied through memory as integers in
//! [`float_moves`]) and the facts lowering relies on — which `l`
//! values can be 32-bit ([`narrow`]), constant offsets folded into
//! accesses ([`offsets`]), a result built in the caller's space
//! ([`result_slot`]), switches dense enough for a table
//! ([`switch_table`]).

pub mod float_moves;
pub mod implicit_varargs;
pub mod narrow;
pub mod offsets;
pub mod result_slot;
pub mod setjmp;
pub mod switch_table;
