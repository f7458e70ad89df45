//! System V x86-64 classification of aggregates passed or returned by
//! value, expressed the way clang lowers them to LLVM IR: each eightbyte
//! becomes one scalar argument (INTEGER → `iN`, SSE → `float`/`double`),
//! and anything in memory becomes `byval` (arguments) or `sret` (returns).

use skc_ir::ir::ExtType;
use skc_ir::types::{TypeDef, TypeShape};

use crate::module::SigText;

/// Registers available for arguments.
pub const INT_REGS: u32 = 6;
/// SSE registers available for arguments.
pub const SSE_REGS: u32 = 8;

/// One eightbyte (or the shorter last piece) passed in a register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Byte offset inside the aggregate.
    pub offset: u64,
    /// LLVM type of the register value (`i64`, `i24`, `double`, `float`).
    pub ty: SigText,
    /// True for SSE pieces.
    pub sse: bool,
}

/// How an aggregate travels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AggClass {
    /// Size zero: nothing is passed.
    Empty,
    /// In registers, one piece per eightbyte that holds data.
    Regs(Vec<Piece>),
    /// In memory.
    Memory,
}

impl AggClass {
    /// (INTEGER, SSE) registers the pieces need.
    pub fn regs_needed(&self) -> (u32, u32) {
        match self {
            AggClass::Regs(p) => {
                let sse = p.iter().filter(|p| p.sse).count() as u32;
                (p.len() as u32 - sse, sse)
            }
            _ => (0, 0),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    None,
    Integer,
    Sse,
}

/// Classifies an aggregate by its flattened scalars.
pub fn classify(def: &TypeDef) -> AggClass {
    if def.size == 0 {
        return AggClass::Empty;
    }
    if def.size > 16 {
        return AggClass::Memory;
    }
    let n = def.size.div_ceil(8) as usize;
    let mut classes = [Class::None; 2];
    if matches!(def.shape, TypeShape::Opaque { .. }) {
        classes = [Class::Integer; 2];
    }
    for s in &def.scalars {
        let slot = &mut classes[(s.offset / 8) as usize];
        let c = match s.ty {
            ExtType::S | ExtType::D => Class::Sse,
            _ => Class::Integer,
        };
        *slot = match (*slot, c) {
            (Class::Integer, _) | (_, Class::Integer) => Class::Integer,
            _ => Class::Sse,
        };
    }
    // A leading padding-only eightbyte still travels in a register.
    if n == 2 && classes[0] == Class::None && classes[1] != Class::None {
        classes[0] = Class::Integer;
    }
    let mut pieces = Vec::new();
    for (i, class) in classes.iter().take(n).enumerate() {
        let offset = 8 * i as u64;
        let len = (def.size - offset).min(8);
        match class {
            Class::None => {}
            Class::Integer => pieces.push(Piece {
                offset,
                ty: int_type(len * 8),
                sse: false,
            }),
            Class::Sse => pieces.push(Piece {
                offset,
                ty: if len <= 4 { "float" } else { "double" }.into(),
                sse: true,
            }),
        }
    }
    AggClass::Regs(pieces)
}

/// `iN`, without allocating for the common widths.
fn int_type(bits: u64) -> SigText {
    match bits {
        8 => "i8".into(),
        16 => "i16".into(),
        32 => "i32".into(),
        64 => "i64".into(),
        n => format!("i{n}").into(),
    }
}

/// Register budget while assigning arguments left to right.
#[derive(Clone, Copy, Debug)]
pub struct RegBudget {
    /// INTEGER registers left.
    pub int: u32,
    /// SSE registers left.
    pub sse: u32,
}

impl RegBudget {
    /// A full budget, minus one INTEGER register for a hidden `sret`.
    pub fn new(sret: bool) -> Self {
        RegBudget {
            int: INT_REGS - u32::from(sret),
            sse: SSE_REGS,
        }
    }

    /// Takes registers for an aggregate; false when it must go to memory
    /// (then nothing is taken: a later, smaller argument may still fit).
    pub fn take_agg(&mut self, class: &AggClass) -> bool {
        let (i, s) = class.regs_needed();
        if i <= self.int && s <= self.sse {
            self.int -= i;
            self.sse -= s;
            true
        } else {
            false
        }
    }

    /// Takes a register for a scalar, if one is left.
    pub fn take_scalar(&mut self, sse: bool) {
        if sse {
            self.sse = self.sse.saturating_sub(1);
        } else {
            self.int = self.int.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skc_ir::ir::Pos;
    use skc_ir::types::{Field, FieldType, TypeTable};

    fn agg(fields: &[ExtType]) -> AggClass {
        let mut t = TypeTable::new();
        let f = fields
            .iter()
            .map(|&ty| Field {
                ty: FieldType::Ext(ty),
                count: 1,
            })
            .collect();
        let id = t
            .define("t".into(), None, TypeShape::Struct(f), Pos::default())
            .unwrap();
        classify(t.get(id))
    }

    fn tys(c: &AggClass) -> Vec<String> {
        match c {
            AggClass::Regs(p) => p.iter().map(|p| p.ty.to_string()).collect(),
            _ => vec![],
        }
    }

    #[test]
    fn eightbytes_classify_like_clang() {
        use ExtType::*;
        assert_eq!(tys(&agg(&[W])), ["i32"]);
        assert_eq!(tys(&agg(&[L, L])), ["i64", "i64"]);
        assert_eq!(tys(&agg(&[D, D])), ["double", "double"]);
        assert_eq!(tys(&agg(&[W, D])), ["i64", "double"]);
        assert_eq!(tys(&agg(&[B, B, B])), ["i24"]);
        assert_eq!(tys(&agg(&[S, S, S])), ["double", "float"]);
        assert_eq!(tys(&agg(&[S, W])), ["i64"]);
        assert_eq!(agg(&[L, L, L]), AggClass::Memory);
    }

    #[test]
    fn aggregates_that_do_not_fit_go_to_memory_whole() {
        let two_ints = agg(&[ExtType::L, ExtType::L]);
        let mut b = RegBudget::new(false);
        for _ in 0..5 {
            b.take_scalar(false);
        }
        assert!(!b.take_agg(&two_ints));
        assert_eq!(b.int, 1);
    }
}
