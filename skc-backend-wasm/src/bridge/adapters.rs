//! The adapter object: a relocatable wasm object of functions that take
//! one signature and call a function of another.

use anyhow::{bail, Result};

use super::signature::Signature;

/// One adapter function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adapter {
    /// The adapter's symbol.
    pub name: String,
    /// Whether the symbol is hidden (seen by the link, not exported).
    pub hidden: bool,
    /// The signature its callers use.
    pub signature: Signature,
    /// The function it calls.
    pub target: String,
    /// That function's signature.
    pub target_signature: Signature,
}

/// The relocatable wasm object defining `adapters`.
pub fn write_object(adapters: &[Adapter]) -> Result<Vec<u8>> {
    let _ = adapters;
    bail!("the adapter object writer is not written yet")
}
