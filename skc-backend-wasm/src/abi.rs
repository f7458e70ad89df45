//! The wasm32 C calling convention (tool-conventions BasicCABI.md) as it
//! applies to IR signatures.
//!
//! Scalars map one to one (`w`→i32, `l`→i64, `s`→f32, `d`→f64, sub-words
//! widened to i32). An aggregate whose only member is one scalar filling
//! it travels as that scalar; any other aggregate is passed as the i32
//! address of a copy the caller makes, and returned through a hidden
//! first i32 parameter pointing at caller-provided space. Variadic
//! arguments go into a caller-built buffer, each at its natural alignment,
//! whose address is a hidden last i32 parameter. An `env` argument is not
//! a parameter: it travels in memory beside the call
//! ([`crate::object::ENV_SLOT`]), as amd64 passes it in a register no
//! C argument uses, so a function has the same signature with or without
//! one.

use skc_ir::ir::{AbiType, BaseType, ExtType};
use skc_ir::types::{TypeId, TypeTable};
use wasm_encoder::ValType;

/// The wasm type of a base type.
pub fn val_type(b: BaseType) -> ValType {
    match b {
        BaseType::W => ValType::I32,
        BaseType::L => ValType::I64,
        BaseType::S => ValType::F32,
        BaseType::D => ValType::F64,
    }
}

/// How an aggregate crosses a call boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggPassing {
    /// As its single scalar member.
    Scalar(ExtType),
    /// By address (arguments) or through a result pointer (returns).
    Memory,
}

/// Classifies an aggregate.
pub fn agg_passing(types: &TypeTable, id: TypeId) -> AggPassing {
    let def = types.get(id);
    match def.scalars.as_slice() {
        [only] if only.offset == 0 && u64::from(only.ty.size()) == def.size => {
            AggPassing::Scalar(only.ty)
        }
        _ => AggPassing::Memory,
    }
}

/// The wasm type of a scalar field type.
pub fn ext_val_type(t: ExtType) -> ValType {
    match t {
        ExtType::B | ExtType::H | ExtType::W => ValType::I32,
        ExtType::L => ValType::I64,
        ExtType::S => ValType::F32,
        ExtType::D => ValType::F64,
    }
}

/// The wasm type of a parameter or argument.
pub fn param_type(types: &TypeTable, t: AbiType) -> ValType {
    match t {
        AbiType::Base(b) => val_type(b),
        AbiType::SubWord(_) => ValType::I32,
        AbiType::Agg(id) => match agg_passing(types, id) {
            AggPassing::Scalar(e) => ext_val_type(e),
            AggPassing::Memory => ValType::I32,
        },
    }
}

/// True when a return of this type goes through a hidden result pointer.
pub fn returns_via_pointer(types: &TypeTable, ret: Option<AbiType>) -> bool {
    matches!(ret, Some(AbiType::Agg(id)) if agg_passing(types, id) == AggPassing::Memory)
}

/// The wasm results of a return type.
pub fn result_types(types: &TypeTable, ret: Option<AbiType>) -> Vec<ValType> {
    match ret {
        None => Vec::new(),
        Some(t) if returns_via_pointer(types, Some(t)) => Vec::new(),
        Some(t) => vec![param_type(types, t)],
    }
}

/// A full wasm signature: hidden result pointer, parameters, hidden
/// variadic buffer pointer.
pub fn signature(
    types: &TypeTable,
    ret: Option<AbiType>,
    params: impl Iterator<Item = AbiType>,
    variadic: bool,
) -> (Vec<ValType>, Vec<ValType>) {
    let mut ps = Vec::new();
    if returns_via_pointer(types, ret) {
        ps.push(ValType::I32);
    }
    ps.extend(params.map(|t| param_type(types, t)));
    if variadic {
        ps.push(ValType::I32);
    }
    (ps, result_types(types, ret))
}
