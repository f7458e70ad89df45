//! The relocatable object: symbols, function bodies and data segments
//! collected one item at a time, and the final encoding in the
//! tool-conventions linking format (`linking`, `reloc.CODE`, `reloc.DATA`).
//!
//! Function indices are only known once every item has been seen (imports
//! come first), so call sites are written as 5-byte LEBs and patched here.
//! Whether a symbol is a function or data is also settled at the end: an
//! address constant is encoded the same way for both, and only its
//! relocation type differs.

use std::collections::HashMap;

use wasm_encoder::{
    CustomSection, Encode, EntityType, FuncType, FunctionSection, GlobalType, ImportSection,
    MemoryType, Module, RawSection, RefType, SectionId, TableType, TypeSection, ValType,
};

use crate::leb;

/// Index of a symbol in [`Object::symbols`].
pub type SymId = u32;

/// What a relocated site in a function body refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRelocKind {
    /// `call` immediate: the callee's function index.
    Call(SymId),
    /// `i32.const` immediate: a symbol's address (data) or table index
    /// (function), plus an addend.
    Address(SymId, i32),
    /// `call_indirect` type immediate.
    TypeIndex(u32),
    /// `global.get/set` of `__stack_pointer`.
    StackPointer,
    /// `call_indirect` table immediate.
    Table,
    /// A one-byte `nop` after a call whose result the site does not use; it
    /// becomes `drop` if the callee turns out to return a value.
    DropIfResult(SymId),
}

/// A relocated site in a function body; `offset` counts from the start of
/// the instruction bytes.
#[derive(Clone, Copy, Debug)]
pub struct CodeReloc {
    /// Byte offset of the immediate (or of the `nop`).
    pub offset: u32,
    /// What it refers to.
    pub kind: CodeRelocKind,
}

/// An encoded function: local declarations plus instructions, with the
/// relocations of its sites.
pub struct EncodedFunction {
    /// The defining symbol.
    pub sym: SymId,
    /// Further symbols naming the same function.
    pub aliases: Vec<SymId>,
    /// Index into the type section.
    pub type_index: u32,
    /// Local declarations (already encoded).
    pub locals: Vec<u8>,
    /// Instruction bytes, ending in `end`.
    pub code: Vec<u8>,
    /// Relocated sites in `code`.
    pub relocs: Vec<CodeReloc>,
}

/// A data segment for one data definition.
pub struct Segment {
    /// Segment name (`.data.x`, `.bss.x`).
    pub name: String,
    /// log2 of the alignment.
    pub align_log2: u32,
    /// Contents.
    pub bytes: Vec<u8>,
    /// 4-byte address slots: (offset, symbol, addend).
    pub relocs: Vec<(u32, SymId, i32)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Definition {
    None,
    Function(u32),
    Data { segment: u32, size: u32 },
}

struct SymbolInfo {
    name: String,
    def: Definition,
    local: bool,
    weak: bool,
    /// Type of the first direct call seen, with a result if any call site
    /// used one.
    call_type: Option<FuncType>,
}

/// Everything collected so far.
#[derive(Default)]
pub struct Object {
    symbols: Vec<SymbolInfo>,
    by_name: HashMap<String, SymId>,
    types: Vec<FuncType>,
    type_ids: HashMap<FuncType, u32>,
    functions: Vec<EncodedFunction>,
    segments: Vec<Segment>,
}

/// Relocation type numbers from the tool-conventions linking format.
mod reloc_type {
    pub const FUNCTION_INDEX_LEB: u8 = 0;
    pub const TABLE_INDEX_SLEB: u8 = 1;
    pub const TABLE_INDEX_I32: u8 = 2;
    pub const MEMORY_ADDR_SLEB: u8 = 4;
    pub const MEMORY_ADDR_I32: u8 = 5;
    pub const TYPE_INDEX_LEB: u8 = 6;
    pub const GLOBAL_INDEX_LEB: u8 = 7;
    pub const TABLE_NUMBER_LEB: u8 = 20;
}

const SYM_KIND_FUNCTION: u8 = 0;
const SYM_KIND_DATA: u8 = 1;
const SYM_KIND_GLOBAL: u8 = 2;
const SYM_KIND_TABLE: u8 = 5;
const FLAG_WEAK: u32 = 0x1;
const FLAG_LOCAL: u32 = 0x2;
const FLAG_UNDEFINED: u32 = 0x10;
const FLAG_NO_STRIP: u32 = 0x80;

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// The symbol named `name`, created (undefined) on first use.
    pub fn symbol(&mut self, name: &str) -> SymId {
        if let Some(&id) = self.by_name.get(name) {
            return id;
        }
        let id = self.symbols.len() as SymId;
        self.symbols.push(SymbolInfo {
            name: name.to_string(),
            def: Definition::None,
            local: false,
            weak: false,
            call_type: None,
        });
        self.by_name.insert(name.to_string(), id);
        id
    }

    /// The index of a function type, added if new.
    pub fn type_index(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        let ty = FuncType::new(params.iter().copied(), results.iter().copied());
        if let Some(&i) = self.type_ids.get(&ty) {
            return i;
        }
        let i = self.types.len() as u32;
        self.types.push(ty.clone());
        self.type_ids.insert(ty, i);
        i
    }

    /// Records a direct call to `sym` with the given signature.
    pub fn note_call(&mut self, sym: SymId, params: &[ValType], results: &[ValType]) {
        let info = &mut self.symbols[sym as usize];
        match &mut info.call_type {
            None => info.call_type = Some(FuncType::new(params.to_vec(), results.to_vec())),
            Some(t) if t.results().is_empty() && !results.is_empty() => {
                *t = FuncType::new(t.params().to_vec(), results.to_vec());
            }
            Some(_) => {}
        }
    }

    /// Fails if `sym` already has a definition.
    fn check_undefined(&self, sym: SymId) -> anyhow::Result<()> {
        let info = &self.symbols[sym as usize];
        if info.def != Definition::None {
            anyhow::bail!("symbol `{}` is defined more than once", info.name);
        }
        Ok(())
    }

    /// Adds a function definition.
    pub fn define_function(&mut self, f: EncodedFunction, local: bool) -> anyhow::Result<()> {
        let index = self.functions.len() as u32;
        for &s in std::iter::once(&f.sym).chain(&f.aliases) {
            self.check_undefined(s)?;
            self.symbols[s as usize].def = Definition::Function(index);
        }
        self.symbols[f.sym as usize].local = local;
        self.functions.push(f);
        Ok(())
    }

    /// Adds a data definition as its own segment.
    pub fn define_data(
        &mut self,
        sym: SymId,
        segment: Segment,
        local: bool,
        weak: bool,
    ) -> anyhow::Result<()> {
        self.check_undefined(sym)?;
        let size = u32::try_from(segment.bytes.len())
            .map_err(|_| anyhow::anyhow!("data item is larger than 4 GiB"))?;
        let index = self.segments.len() as u32;
        let info = &mut self.symbols[sym as usize];
        info.def = Definition::Data {
            segment: index,
            size,
        };
        info.local = local;
        info.weak = weak;
        self.segments.push(segment);
        Ok(())
    }

    /// Whether a symbol ends up as a function.
    fn is_function(&self, sym: SymId) -> bool {
        let info = &self.symbols[sym as usize];
        match info.def {
            Definition::Function(_) => true,
            Definition::Data { .. } => false,
            Definition::None => info.call_type.is_some(),
        }
    }

    /// Encodes the object.
    pub fn finish(mut self) -> anyhow::Result<Vec<u8>> {
        // A C library function called only without using its result
        // still returns one; the import must say so.
        for info in &mut self.symbols {
            if info.def != Definition::None {
                continue;
            }
            if let Some(t) = &info.call_type {
                if t.results().is_empty() {
                    if let Some(r) = crate::libc::known_result(&info.name) {
                        info.call_type = Some(FuncType::new(t.params().to_vec(), [r]));
                    }
                }
            }
        }
        // Function index space: imports (undefined called symbols) first.
        let mut func_index: Vec<Option<u32>> = vec![None; self.symbols.len()];
        let mut imports: Vec<(SymId, u32)> = Vec::new();
        for id in 0..self.symbols.len() as SymId {
            let info = &self.symbols[id as usize];
            if info.def == Definition::None {
                if let Some(t) = info.call_type.clone() {
                    func_index[id as usize] = Some(imports.len() as u32);
                    let ty = self.type_index(t.params(), t.results());
                    imports.push((id, ty));
                }
            }
        }
        let n_imports = imports.len() as u32;
        for (id, info) in self.symbols.iter().enumerate() {
            if let Definition::Function(i) = info.def {
                func_index[id] = Some(n_imports + i);
            }
        }
        // Data layout inside the object.
        let mut seg_offset = Vec::with_capacity(self.segments.len());
        let mut addr = 0u32;
        for s in &self.segments {
            let align = 1u32 << s.align_log2;
            addr = addr.div_ceil(align) * align;
            seg_offset.push(addr);
            addr = addr
                .checked_add(s.bytes.len() as u32)
                .ok_or_else(|| anyhow::anyhow!("data exceeds the 4 GiB address space"))?;
        }
        let data_end = addr;
        let sym_address = |symbols: &[SymbolInfo], id: SymId, addend: i32| -> i32 {
            match symbols[id as usize].def {
                Definition::Data { segment, .. } => {
                    (seg_offset[segment as usize] as i32).wrapping_add(addend)
                }
                _ => addend,
            }
        };
        // Symbol table indices: ours in order, then the stack pointer and
        // the function table.
        let sp_symbol = self.symbols.len() as u32;
        let table_symbol = sp_symbol + 1;

        // Whether each symbol's function returns a value, for the sites
        // that drop an unused result.
        let has_result: Vec<bool> = self
            .symbols
            .iter()
            .map(|info| match info.def {
                Definition::Function(i) => {
                    let f = &self.functions[i as usize];
                    !self.types[f.type_index as usize].results().is_empty()
                }
                _ => info
                    .call_type
                    .as_ref()
                    .is_some_and(|t| !t.results().is_empty()),
            })
            .collect();

        // Code section contents and relocations.
        let mut code = Vec::new();
        leb::write_u32(&mut code, self.functions.len() as u32);
        let mut code_relocs: Vec<(u8, u32, u32, Option<i32>)> = Vec::new();
        let functions = std::mem::take(&mut self.functions);
        for f in &functions {
            let body_len = (f.locals.len() + f.code.len()) as u32;
            leb::write_u32(&mut code, body_len);
            code.extend_from_slice(&f.locals);
            let base = code.len() as u32;
            let mut bytes = f.code.clone();
            for r in &f.relocs {
                let at = r.offset as usize;
                let section_offset = base + r.offset;
                match r.kind {
                    CodeRelocKind::Call(sym) => {
                        let idx = func_index[sym as usize].ok_or_else(|| {
                            anyhow::anyhow!(
                                "`{}` is called but is not a function",
                                self.symbols[sym as usize].name
                            )
                        })?;
                        bytes[at..at + 5].copy_from_slice(&leb::padded_u32(idx));
                        code_relocs.push((
                            reloc_type::FUNCTION_INDEX_LEB,
                            section_offset,
                            sym,
                            None,
                        ));
                    }
                    CodeRelocKind::Address(sym, addend) => {
                        if self.is_function(sym) {
                            code_relocs.push((
                                reloc_type::TABLE_INDEX_SLEB,
                                section_offset,
                                sym,
                                None,
                            ));
                        } else {
                            let v = sym_address(&self.symbols, sym, addend);
                            bytes[at..at + 5].copy_from_slice(&leb::padded_i32(v));
                            code_relocs.push((
                                reloc_type::MEMORY_ADDR_SLEB,
                                section_offset,
                                sym,
                                Some(addend),
                            ));
                        }
                    }
                    CodeRelocKind::TypeIndex(t) => {
                        code_relocs.push((reloc_type::TYPE_INDEX_LEB, section_offset, t, None));
                    }
                    CodeRelocKind::StackPointer => {
                        code_relocs.push((
                            reloc_type::GLOBAL_INDEX_LEB,
                            section_offset,
                            sp_symbol,
                            None,
                        ));
                    }
                    CodeRelocKind::Table => {
                        code_relocs.push((
                            reloc_type::TABLE_NUMBER_LEB,
                            section_offset,
                            table_symbol,
                            None,
                        ));
                    }
                    CodeRelocKind::DropIfResult(sym) => {
                        if has_result[sym as usize] {
                            bytes[at] = 0x1a;
                        }
                    }
                }
            }
            code.extend_from_slice(&bytes);
        }
        self.functions = functions;

        // Data section contents and relocations.
        let mut data = Vec::new();
        leb::write_u32(&mut data, self.segments.len() as u32);
        let mut data_relocs: Vec<(u8, u32, u32, Option<i32>)> = Vec::new();
        for (i, s) in self.segments.iter().enumerate() {
            data.push(0); // active, memory 0
            data.push(0x41);
            leb::write_i32(&mut data, seg_offset[i] as i32);
            data.push(0x0b);
            leb::write_u32(&mut data, s.bytes.len() as u32);
            let base = data.len() as u32;
            let mut bytes = s.bytes.clone();
            for &(off, sym, addend) in &s.relocs {
                let at = off as usize;
                if self.is_function(sym) {
                    data_relocs.push((reloc_type::TABLE_INDEX_I32, base + off, sym, None));
                } else {
                    let v = sym_address(&self.symbols, sym, addend);
                    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
                    data_relocs.push((reloc_type::MEMORY_ADDR_I32, base + off, sym, Some(addend)));
                }
            }
            data.extend_from_slice(&bytes);
        }

        // Module sections.
        let mut module = Module::new();
        let mut section_count = 0u32;
        let mut import_types: Vec<u32> = Vec::new();
        let mut types = TypeSection::new();
        for t in &self.types {
            types.ty().func_type(t);
        }
        module.section(&types);
        section_count += 1;

        let mut import = ImportSection::new();
        let pages = u64::from(data_end).div_ceil(65536);
        import.import(
            "env",
            "__linear_memory",
            EntityType::Memory(MemoryType {
                minimum: pages,
                maximum: None,
                memory64: false,
                shared: false,
                page_size_log2: None,
            }),
        );
        import.import(
            "env",
            "__stack_pointer",
            EntityType::Global(GlobalType {
                val_type: ValType::I32,
                mutable: true,
                shared: false,
            }),
        );
        import.import(
            "env",
            "__indirect_function_table",
            EntityType::Table(TableType {
                element_type: RefType::FUNCREF,
                table64: false,
                minimum: 0,
                maximum: None,
                shared: false,
            }),
        );
        for &(sym, ty) in &imports {
            import.import(
                "env",
                &self.symbols[sym as usize].name,
                EntityType::Function(ty),
            );
            import_types.push(ty);
        }
        module.section(&import);
        section_count += 1;

        let mut funcs = FunctionSection::new();
        for f in &self.functions {
            funcs.function(f.type_index);
        }
        module.section(&funcs);
        section_count += 1;

        let code_section_index = section_count;
        module.section(&RawSection {
            id: SectionId::Code.into(),
            data: &code,
        });
        section_count += 1;
        let data_section_index = section_count;
        module.section(&RawSection {
            id: SectionId::Data.into(),
            data: &data,
        });

        // linking: symbol table and segment info.
        let mut symtab = Vec::new();
        leb::write_u32(&mut symtab, self.symbols.len() as u32 + 2);
        for (id, info) in self.symbols.iter().enumerate() {
            let mut flags = 0;
            if info.local {
                flags |= FLAG_LOCAL;
            }
            if info.weak {
                flags |= FLAG_WEAK;
            }
            match info.def {
                Definition::Function(_) => {
                    symtab.push(SYM_KIND_FUNCTION);
                    leb::write_u32(&mut symtab, flags);
                    leb::write_u32(&mut symtab, func_index[id].unwrap_or(0));
                    info.name.as_str().encode(&mut symtab);
                }
                Definition::Data { segment, size } => {
                    symtab.push(SYM_KIND_DATA);
                    leb::write_u32(&mut symtab, flags);
                    info.name.as_str().encode(&mut symtab);
                    leb::write_u32(&mut symtab, segment);
                    leb::write_u32(&mut symtab, 0);
                    leb::write_u32(&mut symtab, size);
                }
                Definition::None => {
                    if let Some(idx) = func_index[id] {
                        symtab.push(SYM_KIND_FUNCTION);
                        leb::write_u32(&mut symtab, FLAG_UNDEFINED);
                        leb::write_u32(&mut symtab, idx);
                    } else {
                        symtab.push(SYM_KIND_DATA);
                        leb::write_u32(&mut symtab, FLAG_UNDEFINED);
                        info.name.as_str().encode(&mut symtab);
                    }
                }
            }
        }
        symtab.push(SYM_KIND_GLOBAL);
        leb::write_u32(&mut symtab, FLAG_UNDEFINED);
        leb::write_u32(&mut symtab, 0);
        symtab.push(SYM_KIND_TABLE);
        leb::write_u32(&mut symtab, FLAG_UNDEFINED | FLAG_NO_STRIP);
        leb::write_u32(&mut symtab, 0);

        let mut seginfo = Vec::new();
        leb::write_u32(&mut seginfo, self.segments.len() as u32);
        for s in &self.segments {
            s.name.as_str().encode(&mut seginfo);
            leb::write_u32(&mut seginfo, s.align_log2);
            leb::write_u32(&mut seginfo, 0);
        }

        let mut linking = Vec::new();
        leb::write_u32(&mut linking, 2);
        linking.push(8);
        leb::write_u32(&mut linking, symtab.len() as u32);
        linking.extend_from_slice(&symtab);
        if !self.segments.is_empty() {
            linking.push(5);
            leb::write_u32(&mut linking, seginfo.len() as u32);
            linking.extend_from_slice(&seginfo);
        }
        module.section(&CustomSection {
            name: "linking".into(),
            data: linking.into(),
        });

        for (name, index, mut relocs) in [
            ("reloc.CODE", code_section_index, code_relocs),
            ("reloc.DATA", data_section_index, data_relocs),
        ] {
            if relocs.is_empty() {
                continue;
            }
            relocs.sort_by_key(|r| r.1);
            let mut bytes = Vec::new();
            leb::write_u32(&mut bytes, index);
            leb::write_u32(&mut bytes, relocs.len() as u32);
            for (ty, offset, target, addend) in relocs {
                bytes.push(ty);
                leb::write_u32(&mut bytes, offset);
                leb::write_u32(&mut bytes, target);
                if let Some(a) = addend {
                    leb::write_i32(&mut bytes, a);
                }
            }
            module.section(&CustomSection {
                name: name.into(),
                data: bytes.into(),
            });
        }
        Ok(module.finish())
    }
}
