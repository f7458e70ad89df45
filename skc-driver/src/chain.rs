//! Several IL files read as one module, with the meaning they have when
//! each is compiled on its own and the objects are linked.
//!
//! Each file has its own reader and so its own type table; type ids in its
//! items index that table. The chain copies every type definition into one
//! merged table and rewrites the ids in the items it hands out, so the
//! [`ItemSource`] promise holds (every id handed out is valid in
//! [`ItemSource::types`]). Type names are per file: a name already taken
//! gets a `.N` suffix (N: the file's position, from 1) until it is free.
//!
//! Functions and data defined without `export` are local to their file,
//! like C's `static`, so two files may each define `$.Lstring.40`, and a
//! file's reference to a name it defines itself must not reach another
//! file's definition or an exported one. The chain renames each file's
//! local names (known beforehand, see [`skc_ir::scan`]) in definitions and
//! references alike to `NAME#N`; a name the file does not define stays as
//! written, so it resolves to an exported or external symbol. Any text may
//! be written as a quoted symbol, so no suffix is unwritable:
//! [`LocalSuffix`] lengthens the `#` run until no name in the inputs
//! contains it, which makes the renamed names distinct from every written
//! one and from each other.

use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;

use skc_ir::backend::{InputErrors, ItemSource};
use skc_ir::ir::{AbiType, InstKind, Item, Symbol};
use skc_ir::types::{Field, FieldType, TypeId, TypeShape, TypeTable};

/// One file of a chain.
pub struct ChainInput {
    /// How messages name it.
    pub name: String,
    /// Its items.
    pub items: Box<dyn ItemSource>,
    /// The functions and data it keeps to itself (see
    /// [`skc_ir::scan::local_definitions`]).
    pub locals: HashSet<Symbol>,
}

/// The mark between a local name and its file's position: `#`, or as many
/// as it takes for no name in the inputs to contain the mark.
#[derive(Debug)]
pub struct LocalSuffix {
    hashes: usize,
}

impl Default for LocalSuffix {
    fn default() -> Self {
        LocalSuffix { hashes: 1 }
    }
}

impl LocalSuffix {
    /// Lengthens the mark past the longest run of `#` in `name`, a symbol
    /// written in one of the inputs.
    pub fn avoid(&mut self, name: &[u8]) {
        if !name.contains(&b'#') {
            return;
        }
        let longest = name
            .split(|&b| b != b'#')
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0);
        self.hashes = self.hashes.max(longest + 1);
    }

    /// What the local names of the file at `position` get appended.
    fn for_file(&self, position: usize) -> String {
        let mut suffix = "#".repeat(self.hashes);
        let _ = write!(suffix, "{position}");
        suffix
    }
}

/// Items of several sources, in order, with one type table.
pub struct ChainedItems {
    inputs: VecDeque<ChainInput>,
    /// 1-based position of the current source.
    position: usize,
    merged: TypeTable,
    /// The current source's type ids → merged ids.
    remap: Vec<TypeId>,
    suffix: LocalSuffix,
    /// The current source's local names get this appended.
    local_suffix: String,
    errors: usize,
}

impl ChainedItems {
    /// Chains `inputs`, read front to back; `suffix` must have seen every
    /// symbol the inputs write.
    pub fn new(inputs: Vec<ChainInput>, suffix: LocalSuffix) -> Self {
        ChainedItems {
            inputs: inputs.into(),
            position: 1,
            merged: TypeTable::new(),
            remap: Vec::new(),
            local_suffix: suffix.for_file(1),
            suffix,
            errors: 0,
        }
    }

    fn advance(&mut self) {
        self.inputs.pop_front();
        self.position += 1;
        self.remap.clear();
        self.local_suffix = self.suffix.for_file(self.position);
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
        let source = self.inputs.front().expect("a current source");
        let def = source.items.types().get(local).clone();
        let shape = match &def.shape {
            TypeShape::Struct(fields) => TypeShape::Struct(self.map_fields(fields)),
            TypeShape::Union(variants) => {
                TypeShape::Union(variants.iter().map(|v| self.map_fields(v)).collect())
            }
            TypeShape::Opaque { size } => TypeShape::Opaque { size: *size },
        };
        let mut name = def.name.clone();
        while self.merged.lookup(&name).is_some() {
            let _ = write!(name, ".{}", self.position);
        }
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

    /// Gives the current source's local names their file's suffix.
    fn rename_locals(&self, item: &mut Item) {
        let Some(input) = self.inputs.front() else {
            return;
        };
        if input.locals.is_empty() {
            return;
        }
        item.for_each_symbol_mut(|sym| {
            if input.locals.contains(sym.as_str()) {
                sym.push_str(&self.local_suffix);
            }
        });
    }

    fn rewrite(&mut self, mut item: Item) -> Item {
        self.rename_locals(&mut item);
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
            let Some(ChainInput { items: source, .. }) = self.inputs.front_mut() else {
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

    fn source_name(&self) -> Option<&str> {
        self.inputs.front().map(|i| i.name.as_str())
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

    /// A chain of `files`, scanned as the driver scans them.
    fn chain_of(files: &[&str]) -> ChainedItems {
        let mut suffix = LocalSuffix::default();
        let inputs = files
            .iter()
            .enumerate()
            .map(|(i, text)| ChainInput {
                name: format!("f{}.ssa", i + 1),
                items: source(text, &format!("f{}.ssa", i + 1)),
                locals: skc_ir::scan::local_definitions(Box::new(text.as_bytes()), |sym| {
                    suffix.avoid(sym)
                })
                .expect("in memory"),
            })
            .collect();
        ChainedItems::new(inputs, suffix)
    }

    /// The chained module printed as text.
    fn printed(files: &[&str]) -> String {
        let mut chain = chain_of(files);
        let mut module = skc_ir::reader::Module::default();
        while let Some(item) = chain.next_item().expect("no errors") {
            module.items.push(item);
        }
        module.types = chain.types().clone();
        skc_ir::printer::print_module(&module)
    }

    /// Items without types, from a chain of plain inputs.
    fn plain(sources: Vec<Box<dyn ItemSource>>) -> ChainedItems {
        let inputs = sources
            .into_iter()
            .map(|items| ChainInput {
                name: String::new(),
                items,
                locals: HashSet::new(),
            })
            .collect();
        ChainedItems::new(inputs, LocalSuffix::default())
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
        let mut chain = plain(vec![source(CALLER, "a.ssa"), source(CALLEE, "b.ssa")]);
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
        let mut chain = plain(vec![
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

    const SCALE_LOCAL: &str =
        "function w $scale(w %v) {\n@start\n\t%r =w mul %v, 1000\n\tret %r\n}\n\
        export function w $x_value() {\n@start\n\t%r =w call $scale(w 2)\n\tret %r\n}\n";
    const SCALE_USER: &str = "data $fmt = { b \"%d %d\\n\", b 0 }\n\
        export function w $main() {\n@start\n\t%a =w call $x_value()\n\
        \t%b =w call $scale(w 3)\n\tcall $printf(l $fmt, ..., w %a, w %b)\n\tret 0\n}\n";

    #[test]
    fn local_names_get_their_file_and_other_names_stay() {
        let text = printed(&[SCALE_LOCAL, SCALE_USER]);
        assert!(text.contains("function w $\"scale#1\"(w %v)"), "{text}");
        assert!(text.contains("call $\"scale#1\"(w 2)"), "{text}");
        assert!(text.contains("export function w $x_value()"), "{text}");
        assert!(text.contains("data $\"fmt#2\" = "), "{text}");
        // The second file's `$scale` is not its own: it stays external.
        assert!(text.contains("call $scale(w 3)"), "{text}");
        assert!(text.contains("call $printf(l $\"fmt#2\", "), "{text}");
    }

    #[test]
    fn references_before_the_definition_and_in_data_are_renamed() {
        let a = "data $tab = { l $helper, l $helper + 4 }\n\
            export function l $a() {\n@start\n\t%t =l loadl $tab\n\t%r =w call %t()\n\
            \t%u =w call $helper()\n\tjnz %u, @one, @two\n@one\n\tjmp @join\n@two\n\
            \tjmp @join\n@join\n\t%p =l phi @one $helper, @two $tab\n\tstorel %p, $tab\n\
            \tret $helper\n}\n\
            function w $helper() {\n@start\n\tret 1\n}\n";
        let b = "function w $helper() {\n@start\n\tret 2\n}\n\
            export function w $b() {\n@start\n\t%r =w call $helper()\n\tret %r\n}\n";
        let text = printed(&[a, b]);
        assert!(
            text.contains("data $\"tab#1\" = { l $\"helper#1\", l $\"helper#1\" + 4 }"),
            "{text}"
        );
        assert!(text.contains("loadl $\"tab#1\""), "{text}");
        assert!(text.contains("call $\"helper#1\"()"), "{text}");
        assert!(
            text.contains("phi @one $\"helper#1\", @two $\"tab#1\""),
            "{text}"
        );
        assert!(text.contains("storel %p, $\"tab#1\""), "{text}");
        assert!(text.contains("ret $\"helper#1\""), "{text}");
        assert!(text.contains("function w $\"helper#2\"()"), "{text}");
        assert!(text.contains("call $\"helper#2\"()"), "{text}");
        assert!(!text.contains("$helper"), "{text}");
    }

    #[test]
    fn an_export_is_seen_by_the_files_without_their_own_definition() {
        let exported = "export function w $f() {\n@start\n\tret 1\n}\n";
        let shadowing = "function w $f() {\n@start\n\tret 2\n}\n\
            export function w $g() {\n@start\n\t%r =w call $f()\n\tret %r\n}\n";
        let user = "export function w $h() {\n@start\n\t%r =w call $f()\n\
            \t%t =l add extern $f, thread $f\n\tret %r\n}\n";
        let text = printed(&[exported, shadowing, user]);
        assert!(text.contains("export function w $f()"), "{text}");
        assert!(text.contains("function w $\"f#2\"()"), "{text}");
        assert_eq!(text.matches("call $\"f#2\"()").count(), 1, "{text}");
        assert_eq!(text.matches("call $f()").count(), 1, "{text}");
        assert!(text.contains("add extern $f, thread $f"), "{text}");
    }

    #[test]
    fn the_mark_is_longer_than_any_run_of_it_in_a_written_name() {
        let local = "function w $x() {\n@start\n\tret 1\n}\n";
        let tricky =
            "export function w $\"x#1\"() {\n@start\n\t%r =w call $\"x##1\"()\n\tret %r\n}\n";
        let text = printed(&[local, tricky]);
        assert!(text.contains("function w $\"x###1\"()"), "{text}");
        assert!(text.contains("export function w $\"x#1\"()"), "{text}");
        assert!(text.contains("call $\"x##1\"()"), "{text}");
    }

    #[test]
    fn a_type_name_suffix_never_takes_a_written_name() {
        let first = "type :pair = { w }\ntype :pair.2 = { l }\n";
        let second = "type :pair = { s }\n";
        let text = printed(&[first, second]);
        assert!(text.contains("type :pair.2 = { l }"), "{text}");
        assert!(text.contains("type :pair.2.2 = { s }"), "{text}");
    }
}
