//! Aggregate types (`type :name = …`) and their memory layout.
//!
//! Layout rule: each field sits at its natural alignment (padding inserted
//! before it), the aggregate's alignment is the largest field alignment or
//! the explicit `align N`, and its size is rounded up to that alignment.
//! Union variants all start at offset 0.

use std::collections::HashMap;
use std::fmt;

use crate::ir::base::{ExtType, Pos};

/// Index of an aggregate type in a [`TypeTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(pub u32);

impl TypeId {
    /// The table index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The type of one field of an aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// A scalar.
    Ext(ExtType),
    /// A nested aggregate (`:name`), defined earlier.
    Agg(TypeId),
}

/// A field with its repeat count (`w 4` is four words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// Field type.
    pub ty: FieldType,
    /// Repeat count (1 when none is written).
    pub count: u32,
}

/// The shape of an aggregate as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeShape {
    /// `{ f, f, ... }`
    Struct(Vec<Field>),
    /// `{ {…} {…} }`: every variant starts at offset 0.
    Union(Vec<Vec<Field>>),
    /// `align N { SIZE }`: size and alignment only.
    Opaque {
        /// Size in bytes.
        size: u64,
    },
}

/// A scalar at a byte offset: the flattened view backends use for ABI
/// classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScalarField {
    /// Offset from the start of the aggregate.
    pub offset: u64,
    /// The scalar type.
    pub ty: ExtType,
}

/// An aggregate type with its computed layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeDef {
    /// Name without the `:` sigil.
    pub name: String,
    /// Explicit `align N`, if written.
    pub explicit_align: Option<u32>,
    /// The shape as written.
    pub shape: TypeShape,
    /// Size in bytes, rounded up to `align`.
    pub size: u64,
    /// Alignment in bytes.
    pub align: u32,
    /// Every scalar inside, nested aggregates expanded, in offset order
    /// (union variants may overlap). Opaque types have none.
    pub scalars: Vec<ScalarField>,
    /// Where it was defined.
    pub pos: Pos,
}

/// Why a type definition cannot be laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// Alignment is not a power of two or is too large.
    BadAlign(u64),
    /// The size does not fit in 2^40 bytes (keeps arithmetic exact and
    /// bounds what a backend must handle).
    TooLarge,
    /// A scalar list would exceed the expansion limit.
    TooManyScalars,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::BadAlign(a) => {
                write!(f, "alignment {a} is not a power of two between 1 and 2^16")
            }
            LayoutError::TooLarge => f.write_str("aggregate size exceeds 2^40 bytes"),
            LayoutError::TooManyScalars => {
                f.write_str("aggregate expands to more than 65536 scalar fields")
            }
        }
    }
}

/// Largest aggregate size accepted.
pub const MAX_AGG_SIZE: u64 = 1 << 40;
/// Largest number of flattened scalars kept per aggregate.
pub const MAX_SCALARS: usize = 1 << 16;

/// The aggregate types seen so far in a module, in definition order.
#[derive(Clone, Debug, Default)]
pub struct TypeTable {
    defs: Vec<TypeDef>,
    by_name: HashMap<String, TypeId>,
}

impl TypeTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks a type up by name (without `:`).
    pub fn lookup(&self, name: &str) -> Option<TypeId> {
        self.by_name.get(name).copied()
    }

    /// The definition of a type.
    pub fn get(&self, id: TypeId) -> &TypeDef {
        &self.defs[id.index()]
    }

    /// All definitions with their ids.
    pub fn iter(&self) -> impl Iterator<Item = (TypeId, &TypeDef)> {
        self.defs
            .iter()
            .enumerate()
            .map(|(i, d)| (TypeId(i as u32), d))
    }

    /// Number of types.
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    /// True when no type has been defined.
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// Computes the layout of a shape and adds it under `name`. Redefining a
    /// name is the caller's error to report; this replaces the name binding.
    pub fn define(
        &mut self,
        name: String,
        explicit_align: Option<u32>,
        shape: TypeShape,
        pos: Pos,
    ) -> Result<TypeId, LayoutError> {
        if let Some(a) = explicit_align {
            if !a.is_power_of_two() || a > 1 << 16 {
                return Err(LayoutError::BadAlign(a.into()));
            }
        }
        let mut scalars = Vec::new();
        let (size, natural_align) = match &shape {
            TypeShape::Struct(fields) => self.lay_out_fields(fields, 0, &mut scalars)?,
            TypeShape::Union(variants) => {
                let mut size = 0;
                let mut align = 1;
                for v in variants {
                    let (s, a) = self.lay_out_fields(v, 0, &mut scalars)?;
                    size = size.max(s);
                    align = align.max(a);
                }
                scalars.sort_by_key(|s| s.offset);
                (size, align)
            }
            TypeShape::Opaque { size } => {
                if *size > MAX_AGG_SIZE {
                    return Err(LayoutError::TooLarge);
                }
                (*size, 1)
            }
        };
        let align = explicit_align.unwrap_or(1).max(natural_align);
        let size = round_up(size, u64::from(align));
        if size > MAX_AGG_SIZE {
            return Err(LayoutError::TooLarge);
        }
        let id = TypeId(self.defs.len() as u32);
        self.by_name.insert(name.clone(), id);
        self.defs.push(TypeDef {
            name,
            explicit_align,
            shape,
            size,
            align,
            scalars,
            pos,
        });
        Ok(id)
    }

    /// Lays out a field list starting at `base`; returns (end offset
    /// relative to `base`, alignment).
    fn lay_out_fields(
        &self,
        fields: &[Field],
        base: u64,
        scalars: &mut Vec<ScalarField>,
    ) -> Result<(u64, u32), LayoutError> {
        let mut off: u64 = 0;
        let mut align = 1u32;
        for field in fields {
            let (fsize, falign) = match field.ty {
                FieldType::Ext(t) => (u64::from(t.size()), t.size()),
                FieldType::Agg(id) => {
                    let d = self.get(id);
                    (d.size, d.align)
                }
            };
            align = align.max(falign);
            off = round_up(off, u64::from(falign));
            if let FieldType::Agg(id) = field.ty {
                if self.get(id).scalars.is_empty() {
                    // Nothing to expand: step over all copies at once, so
                    // a huge count of an empty or opaque type is not a loop
                    // of billions of iterations.
                    off = fsize
                        .checked_mul(u64::from(field.count))
                        .and_then(|n| off.checked_add(n))
                        .filter(|&end| end <= MAX_AGG_SIZE + fsize)
                        .ok_or(LayoutError::TooLarge)?;
                    continue;
                }
            }
            for _ in 0..field.count {
                if off > MAX_AGG_SIZE {
                    return Err(LayoutError::TooLarge);
                }
                match field.ty {
                    FieldType::Ext(t) => push_scalar(scalars, base + off, t)?,
                    FieldType::Agg(id) => {
                        for s in &self.get(id).scalars {
                            push_scalar(scalars, base + off + s.offset, s.ty)?;
                        }
                    }
                }
                off += fsize;
            }
        }
        Ok((off, align))
    }
}

fn push_scalar(out: &mut Vec<ScalarField>, offset: u64, ty: ExtType) -> Result<(), LayoutError> {
    if out.len() >= MAX_SCALARS {
        return Err(LayoutError::TooManyScalars);
    }
    out.push(ScalarField { offset, ty });
    Ok(())
}

/// Rounds `x` up to a multiple of `align` (a power of two).
pub fn round_up(x: u64, align: u64) -> u64 {
    (x + align - 1) & !(align - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(ty: ExtType, count: u32) -> Field {
        Field {
            ty: FieldType::Ext(ty),
            count,
        }
    }

    #[test]
    fn struct_fields_get_natural_alignment_and_size_rounds_up() {
        let mut t = TypeTable::new();
        let id = t
            .define(
                "s".into(),
                None,
                TypeShape::Struct(vec![
                    ext(ExtType::B, 1),
                    ext(ExtType::L, 1),
                    ext(ExtType::H, 1),
                ]),
                Pos::default(),
            )
            .unwrap();
        let d = t.get(id);
        assert_eq!((d.size, d.align), (24, 8));
        let offs: Vec<u64> = d.scalars.iter().map(|s| s.offset).collect();
        assert_eq!(offs, [0, 8, 16]);
    }

    #[test]
    fn union_takes_largest_variant_and_nested_types_expand() {
        let mut t = TypeTable::new();
        let inner = t
            .define(
                "in".into(),
                None,
                TypeShape::Struct(vec![ext(ExtType::S, 1), ext(ExtType::B, 3)]),
                Pos::default(),
            )
            .unwrap();
        let u = t
            .define(
                "u".into(),
                Some(16),
                TypeShape::Union(vec![
                    vec![Field {
                        ty: FieldType::Agg(inner),
                        count: 2,
                    }],
                    vec![ext(ExtType::D, 1)],
                ]),
                Pos::default(),
            )
            .unwrap();
        assert_eq!((t.get(inner).size, t.get(inner).align), (8, 4));
        let d = t.get(u);
        assert_eq!((d.size, d.align), (16, 16));
        assert_eq!(d.scalars.len(), 9);
        assert_eq!(d.scalars[0].offset, 0);
    }

    #[test]
    fn opaque_and_bad_alignment() {
        let mut t = TypeTable::new();
        let id = t
            .define(
                "o".into(),
                Some(8),
                TypeShape::Opaque { size: 13 },
                Pos::default(),
            )
            .unwrap();
        assert_eq!((t.get(id).size, t.get(id).align), (16, 8));
        assert_eq!(
            t.define(
                "b".into(),
                Some(3),
                TypeShape::Opaque { size: 1 },
                Pos::default()
            ),
            Err(LayoutError::BadAlign(3))
        );
    }
}
