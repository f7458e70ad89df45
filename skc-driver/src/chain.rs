//! Several IL files read as one module.
//!
//! Each file has its own reader and so its own type table; type ids in its
//! items index that table. The chain copies every type definition into one
//! merged table and rewrites the ids in the items it hands out, so the
//! [`ItemSource`] promise holds (every id handed out is valid in
//! [`ItemSource::types`]). Type names are per file: a name already taken
//! by an earlier file gets a `.N` suffix (N: the file's position, from 1).

use std::collections::VecDeque;

use skc_ir::backend::{InputErrors, ItemSource};
use skc_ir::ir::{AbiType, InstKind, Item};
use skc_ir::types::{Field, FieldType, TypeId, TypeShape, TypeTable};

/// Items of several sources, in order, with one type table.
pub struct ChainedItems {
    sources: VecDeque<Box<dyn ItemSource>>,
    /// 1-based position of the current source.
    position: usize,
    merged: TypeTable,
    /// The current source's type ids → merged ids.
    remap: Vec<TypeId>,
    errors: usize,
}

impl ChainedItems {
    /// Chains `sources`, read front to back.
    pub fn new(sources: Vec<Box<dyn ItemSource>>) -> Self {
        ChainedItems {
            sources: sources.into(),
            position: 1,
            merged: TypeTable::new(),
            remap: Vec::new(),
            errors: 0,
        }
    }

    fn advance(&mut self) {
        self.sources.pop_front();
        self.position += 1;
        self.remap.clear();
    }

    fn map(&self, id: TypeId) -> TypeId {
        // Ids come from the same source's earlier `Type` items, which were
        // all mapped; an id beyond them would be a reader bug.
        self.remap.get(id.index()).copied().unwrap_or(id)
    }

    fn map_abi(&self, ty: &mut AbiType) {
        if let AbiType::Agg(id) = ty {
            *id = self.map(*id);
        }
    }

    fn map_fields(&self, fields: &[Field]) -> Vec<Field> {
        fields
            .iter()
            .map(|f| Field {
                ty: match f.ty {
                    FieldType::Agg(id) => FieldType::Agg(self.map(id)),
                    ext => ext,
                },
                count: f.count,
            })
            .collect()
    }

    /// Copies the current source's type `local` into the merged table.
    fn merge_type(&mut self, local: TypeId) -> TypeId {
        let source = self.sources.front().expect("a current source");
        let def = source.types().get(local).clone();
        let shape = match &def.shape {
            TypeShape::Struct(fields) => TypeShape::Struct(self.map_fields(fields)),
            TypeShape::Union(variants) => {
                TypeShape::Union(variants.iter().map(|v| self.map_fields(v)).collect())
            }
            TypeShape::Opaque { size } => TypeShape::Opaque { size: *size },
        };
        let name = if self.merged.lookup(&def.name).is_some() {
            format!("{}.{}", def.name, self.position)
        } else {
            def.name.clone()
        };
        // The layout was accepted once; the same fields give the same layout.
        let id = self
            .merged
            .define(name, def.explicit_align, shape, def.pos)
            .unwrap_or_else(|_| TypeId(self.merged.len() as u32));
        if self.remap.len() <= local.index() {
            self.remap.resize(local.index() + 1, id);
        }
        self.remap[local.index()] = id;
        id
    }

    fn rewrite(&mut self, item: Item) -> Item {
        match item {
            Item::Type(local) => Item::Type(self.merge_type(local)),
            Item::Function(mut f) => {
                if let Some(ret) = &mut f.ret {
                    self.map_abi(ret);
                }
                for param in &mut f.params {
                    self.map_abi(&mut param.ty);
                }
                for block in &mut f.blocks {
                    for inst in &mut block.insts {
                        if let InstKind::Call { ret, args, .. } = &mut inst.kind {
                            if let Some(ret) = ret {
                                self.map_abi(ret);
                            }
                            for arg in args {
                                self.map_abi(&mut arg.ty);
                            }
                        }
                    }
                }
                Item::Function(f)
            }
            other => other,
        }
    }
}

impl ItemSource for ChainedItems {
    fn next_item(&mut self) -> Result<Option<Item>, InputErrors> {
        loop {
            let Some(source) = self.sources.front_mut() else {
                return match self.errors {
                    0 => Ok(None),
                    count => Err(InputErrors { count }),
                };
            };
            match source.next_item() {
                // After an error, later files are still read so that their
                // errors are reported too, but their items are dropped.
                Ok(Some(item)) if self.errors == 0 => return Ok(Some(self.rewrite(item))),
                Ok(Some(_)) => {}
                Ok(None) => self.advance(),
                Err(errors) => {
                    self.errors += errors.count;
                    self.advance();
                }
            }
        }
    }

    fn types(&self) -> &TypeTable {
        &self.merged
    }
}

#[cfg(test)]
mod tests {
    use skc_ir::reader::{read_module, ModuleSource};

    use super::*;

    const CALLER: &str = "type :pair = { w, w }\n\
        export function w $main(:pair %p) {\n@start\n\t%r =w call $sum(:pair %p)\n\tret %r\n}\n";
    const CALLEE: &str = "type :other = { l }\ntype :pair = { w, l }\n\
        export function w $sum(:pair %p) {\n@start\n\tret 0\n}\n";

    fn source(text: &str, name: &str) -> Box<dyn ItemSource> {
        Box::new(ModuleSource::new(
            read_module(text, name).expect("valid IL"),
        ))
    }

    /// The aggregate type of `f`'s first parameter.
    fn first_param_type(item: &Item) -> TypeId {
        match item {
            Item::Function(f) => match f.params[0].ty {
                AbiType::Agg(id) => id,
                other => panic!("not an aggregate: {other:?}"),
            },
            other => panic!("not a function: {other:?}"),
        }
    }

    #[test]
    fn type_ids_point_into_the_merged_table() {
        let mut chain = ChainedItems::new(vec![source(CALLER, "a.ssa"), source(CALLEE, "b.ssa")]);
        let mut items = Vec::new();
        while let Some(item) = chain.next_item().expect("no errors") {
            items.push(item);
        }
        assert_eq!(items.len(), 5);
        let types = chain.types();
        let main_pair = types.get(first_param_type(&items[1]));
        let sum_pair = types.get(first_param_type(&items[4]));
        assert_eq!((main_pair.name.as_str(), main_pair.size), ("pair", 8));
        assert_eq!((sum_pair.name.as_str(), sum_pair.size), ("pair.2", 16));
        assert_eq!(types.len(), 3);
    }

    #[test]
    fn errors_of_every_file_are_counted() {
        let bad = "function $f() {\n@a\n\tjmp @x\n}\n";
        let failing = |name: &str| -> Box<dyn ItemSource> {
            let reader = skc_ir::reader::ItemReader::new(
                Box::new(bad.as_bytes()),
                name,
                Box::new(std::io::sink()),
                false,
            );
            Box::new(reader)
        };
        let mut chain = ChainedItems::new(vec![
            failing("x.ssa"),
            source(CALLER, "a.ssa"),
            failing("y.ssa"),
        ]);
        let mut handed_out = 0;
        let errors = loop {
            match chain.next_item() {
                Ok(Some(_)) => handed_out += 1,
                Ok(None) => panic!("the errors were lost"),
                Err(errors) => break errors,
            }
        };
        assert_eq!(errors.count, 2);
        assert_eq!(
            handed_out, 0,
            "nothing after the first error reaches a backend"
        );
    }
}
