//! The C boundary: LP64 IL against wasm32-wasi's ILP32 C library. Calls
//! to C library functions are adapted where they are compiled ([`lp64`],
//! with the result types of common functions in [`libc`]); signatures
//! that still disagree between IL and C objects are bridged before the
//! link ([`bridge`]).

pub mod bridge;
pub mod libc;
pub mod lp64;
