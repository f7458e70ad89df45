//! Writing the object front to back: the layout derived from the
//! symbols, then each section, function bodies copied from their spool
//! with every relocated site patched, the relocation sections and the
//! linking section.

use std::io::{Read, Write};

use anyhow::{anyhow, bail, Context, Result};
use wasm_encoder::{
    Encode, EntityType, FuncType, FunctionSection, GlobalType, ImportSection, MemoryType, Module,
    RefType, SectionId, TableType, TypeSection, ValType,
};

use super::{
    zero_constant, CodeReloc, CodeRelocKind, Definition, Object, SymId, IL_PRODUCER,
    IL_PRODUCER_FIELD, RELOC_RECORD, SOURCES_SECTION,
};
use crate::object::leb;
use crate::object::spool::Spool;

/// Reads `n` relocation records from `from` into `into` (cleared first).
pub(super) fn read_relocs(from: &mut dyn Read, n: u32, into: &mut Vec<CodeReloc>) -> Result<()> {
    into.clear();
    let mut record = [0u8; RELOC_RECORD];
    for _ in 0..n {
        from.read_exact(&mut record)
            .context("cannot read a temporary file")?;
        into.push(CodeReloc::from_record(&record)?);
    }
    Ok(())
}

/// An entry of a `reloc.*` section: type, section offset, target, addend.
pub(super) type RelocEntry = (u8, u32, u32, Option<i32>);

/// Encoded entries of one `reloc.*` section, spooled while the section
/// they describe is written.
#[derive(Default)]
pub(super) struct RelocSection {
    entries: Spool,
    count: u32,
    buf: Vec<u8>,
}

impl RelocSection {
    pub(super) fn push(&mut self, (ty, offset, target, addend): RelocEntry) {
        self.buf.push(ty);
        leb::write_u32(&mut self.buf, offset);
        leb::write_u32(&mut self.buf, target);
        if let Some(a) = addend {
            leb::write_i32(&mut self.buf, a);
        }
        self.count += 1;
    }

    /// Moves the buffered entries to the spool.
    pub(super) fn flush(&mut self) -> Result<()> {
        self.entries.write(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Writes the custom section `name` for the section at `index`.
    pub(super) fn write(mut self, out: &mut dyn Write, name: &str, index: u32) -> Result<()> {
        self.flush()?;
        if self.count == 0 {
            return Ok(());
        }
        let mut head = Vec::new();
        leb::write_u32(&mut head, index);
        leb::write_u32(&mut head, self.count);
        let payload = head.len() as u64 + self.entries.len();
        write_custom_header(out, name, payload)?;
        write_all(out, &head)?;
        self.entries.copy_to(out)
    }
}

/// Relocation type numbers from the tool-conventions linking format.
pub(super) mod reloc_type {
    pub const FUNCTION_INDEX_LEB: u8 = 0;
    pub const TABLE_INDEX_SLEB: u8 = 1;
    pub const TABLE_INDEX_I32: u8 = 2;
    pub const MEMORY_ADDR_SLEB: u8 = 4;
    pub const MEMORY_ADDR_I32: u8 = 5;
    pub const TYPE_INDEX_LEB: u8 = 6;
    pub const GLOBAL_INDEX_LEB: u8 = 7;
    pub const TABLE_NUMBER_LEB: u8 = 20;
}

pub(super) const SYM_KIND_FUNCTION: u8 = 0;
pub(super) const SYM_KIND_DATA: u8 = 1;
pub(super) const SYM_KIND_GLOBAL: u8 = 2;
pub(super) const SYM_KIND_TABLE: u8 = 5;
pub(super) const FLAG_WEAK: u32 = 0x1;
pub(super) const FLAG_LOCAL: u32 = 0x2;
pub(super) const FLAG_VISIBILITY_HIDDEN: u32 = 0x4;
pub(super) const FLAG_UNDEFINED: u32 = 0x10;
pub(super) const FLAG_NO_STRIP: u32 = 0x80;

/// Byte length of the unsigned LEB128 of `v`.
pub(super) fn leb_len(v: u64) -> u64 {
    (u64::from(64 - v.leading_zeros()).max(1)).div_ceil(7)
}

pub(super) fn write_all(out: &mut dyn Write, bytes: &[u8]) -> Result<()> {
    out.write_all(bytes).context("cannot write the object")
}

/// The `producers` section naming skc as the object's producer, which
/// is also how the link bridge tells IL objects from others
/// ([`IL_PRODUCER`]). It comes last, so no other
/// section's index depends on it.
pub(super) fn write_producers(out: &mut dyn Write) -> Result<()> {
    let mut field = wasm_encoder::ProducersField::new();
    field.value(IL_PRODUCER, env!("CARGO_PKG_VERSION"));
    let mut producers = wasm_encoder::ProducersSection::new();
    producers.field(IL_PRODUCER_FIELD, &field);
    let mut module = Module::new();
    module.section(&producers);
    let bytes = module.finish();
    // Without the module header.
    write_all(out, &bytes[8..])
}

/// Writes a section's id and payload size.
pub(super) fn write_section_header(out: &mut dyn Write, id: u8, payload: u64) -> Result<()> {
    let size = u32::try_from(payload).map_err(|_| anyhow!("the object exceeds 4 GiB"))?;
    let mut head = vec![id];
    leb::write_u32(&mut head, size);
    write_all(out, &head)
}

/// Writes a custom section's header and name; `payload` follows the name.
pub(super) fn write_custom_header(out: &mut dyn Write, name: &str, payload: u64) -> Result<()> {
    let mut encoded_name = Vec::new();
    name.encode(&mut encoded_name);
    write_section_header(out, 0, encoded_name.len() as u64 + payload)?;
    write_all(out, &encoded_name)
}

/// Everything `finish_into` derives from the symbols before writing.
pub(super) struct Layout {
    /// Function index of each symbol that is a function.
    func_index: Vec<Option<u32>>,
    /// Imported functions: symbol and type index.
    imports: Vec<(SymId, u32)>,
    /// Address of each segment inside the object's data.
    seg_offset: Vec<u32>,
    /// End of the object's data.
    data_end: u32,
    /// Whether each symbol's function returns a value.
    has_result: Vec<bool>,
    /// Symbol-table index of `__stack_pointer`.
    sp_symbol: u32,
    /// Symbol-table index of the function table.
    table_symbol: u32,
    /// Symbol-table index of the `longjmp` target global, if defined.
    pending_symbol: Option<u32>,
}

impl Object {
    /// The address a data relocation resolves to inside this object.
    pub(super) fn sym_address(&self, layout: &Layout, sym: SymId, addend: i32) -> i32 {
        match self.symbols[sym as usize].def {
            Definition::Data { segment, .. } => {
                (layout.seg_offset[segment as usize] as i32).wrapping_add(addend)
            }
            _ => addend,
        }
    }

    /// Settles imports, function indices and the data layout.
    pub(super) fn layout(&mut self) -> Result<Layout> {
        self.register_destructors()?;
        self.check_init_funcs()?;
        self.settle_address_kinds()?;
        // A C library function called only without using its result
        // still returns one; the import must say so.
        for sym in 0..self.symbols.len() as SymId {
            if self.symbols[sym as usize].def != Definition::None {
                continue;
            }
            let Some(t) = self.call_type(sym) else {
                continue;
            };
            if t.results().is_empty() {
                if let Some(r) = crate::wasi::libc::known_result(self.name(sym)) {
                    let t = FuncType::new(t.params().iter().copied(), [r]);
                    let i = self.call_type_index(t);
                    self.symbols[sym as usize].call_type = Some(i);
                }
            }
        }
        self.define_call_adapters()?;
        // Function index space: imports (undefined called symbols) first.
        let mut func_index: Vec<Option<u32>> = vec![None; self.symbols.len()];
        let mut imports: Vec<(SymId, u32)> = Vec::new();
        for id in 0..self.symbols.len() as SymId {
            if self.symbols[id as usize].def == Definition::None {
                let t = match self.call_type(id) {
                    Some(t) => t.clone(),
                    // Only its address is taken. wasm-ld does not compare
                    // the import's type with the definition for a table
                    // entry, so any type will do; a constructor's is
                    // `void(void)`.
                    None if self.symbols[id as usize].function => FuncType::new([], []),
                    None => continue,
                };
                func_index[id as usize] = Some(imports.len() as u32);
                let ty = self.type_index(t.params(), t.results());
                imports.push((id, ty));
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
                .checked_add(s.len)
                .ok_or_else(|| anyhow!("data exceeds the 4 GiB address space"))?;
        }
        let has_result = (0..self.symbols.len() as SymId)
            .map(|sym| match self.symbols[sym as usize].def {
                Definition::Function(i) => {
                    let f = &self.functions[i as usize];
                    !self.types[f.type_index as usize].results().is_empty()
                }
                _ => self.call_type(sym).is_some_and(|t| !t.results().is_empty()),
            })
            .collect();
        // Symbol table indices: ours in order, then the stack pointer and
        // the function table.
        let sp_symbol = self.symbols.len() as u32;
        Ok(Layout {
            func_index,
            imports,
            seg_offset,
            data_end: addr,
            has_result,
            sp_symbol,
            table_symbol: sp_symbol + 1,
            pending_symbol: self.defines_longjmp_pending.then_some(sp_symbol + 2),
        })
    }

    /// Encodes the object to `out`, front to back.
    pub fn finish_into(mut self, out: &mut dyn Write) -> Result<()> {
        let layout = self.layout()?;
        self.write_leading_sections(out, &layout)?;
        let code = std::mem::take(&mut self.code);
        let code_relocs = std::mem::take(&mut self.code_relocs);
        let code_reloc_section = self.write_code_section(out, &layout, code, code_relocs)?;
        let data = std::mem::take(&mut self.data);
        let data_relocs = std::mem::take(&mut self.data_relocs);
        let data_reloc_section = self.write_data_section(out, &layout, data, data_relocs)?;
        self.write_linking_section(out, &layout)?;
        // Types, imports, functions, (globals,) code, data.
        let code_section = 3 + u32::from(self.defines_longjmp_pending);
        code_reloc_section.write(out, "reloc.CODE", code_section)?;
        data_reloc_section.write(out, "reloc.DATA", code_section + 1)?;
        write_producers(out)?;
        self.write_sources_section(out)?;
        out.flush().context("cannot write the object")
    }

    /// The [`SOURCES_SECTION`], when there are several IL inputs.
    pub(super) fn write_sources_section(&self, out: &mut dyn Write) -> Result<()> {
        if self.sources.len() < 2 {
            return Ok(());
        }
        let mut undefined: Vec<(SymId, Vec<u32>)> = Vec::new();
        let mut uses: Vec<(SymId, u32)> = self
            .used_by
            .iter()
            .copied()
            .filter(|&(sym, _)| self.symbols[sym as usize].def == Definition::None)
            .collect();
        uses.sort_unstable();
        for (sym, source) in uses {
            match undefined.last_mut() {
                Some((last, sources)) if *last == sym => sources.push(source),
                _ => undefined.push((sym, vec![source])),
            }
        }
        let mut payload = Vec::new();
        leb::write_u32(&mut payload, self.sources.len() as u32);
        for name in &self.sources {
            name.as_ref().encode(&mut payload);
        }
        leb::write_u32(&mut payload, undefined.len() as u32);
        for (sym, sources) in undefined {
            self.name(sym).encode(&mut payload);
            leb::write_u32(&mut payload, sources.len() as u32);
            for s in sources {
                leb::write_u32(&mut payload, s);
            }
        }
        write_custom_header(out, SOURCES_SECTION, payload.len() as u64)?;
        write_all(out, &payload)
    }

    /// The header and the type, import and function sections.
    pub(super) fn write_leading_sections(
        &self,
        out: &mut dyn Write,
        layout: &Layout,
    ) -> Result<()> {
        let mut module = Module::new();
        let mut types = TypeSection::new();
        for t in &self.types {
            types.ty().func_type(t);
        }
        module.section(&types);

        let mut import = ImportSection::new();
        let pages = u64::from(layout.data_end).div_ceil(65536);
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
        for &(sym, ty) in &layout.imports {
            import.import("env", self.name(sym), EntityType::Function(ty));
        }
        module.section(&import);

        let mut funcs = FunctionSection::new();
        for f in &self.functions {
            funcs.function(f.type_index);
        }
        module.section(&funcs);
        if self.defines_longjmp_pending {
            let mut globals = wasm_encoder::GlobalSection::new();
            globals.global(
                GlobalType {
                    val_type: ValType::I32,
                    mutable: true,
                    shared: false,
                },
                &wasm_encoder::ConstExpr::i32_const(0),
            );
            module.section(&globals);
        }
        write_all(out, module.as_slice())
    }

    /// The code section, each body patched while it is copied from the
    /// spool; returns the entries of `reloc.CODE`.
    pub(super) fn write_code_section(
        &self,
        out: &mut dyn Write,
        layout: &Layout,
        code: Spool,
        code_relocs: Spool,
    ) -> Result<RelocSection> {
        let count = self.functions.len() as u64;
        let payload = leb_len(count)
            + self
                .functions
                .iter()
                .map(|f| leb_len(u64::from(f.body_len())) + u64::from(f.body_len()))
                .sum::<u64>();
        write_section_header(out, SectionId::Code.into(), payload)?;
        let mut head = Vec::new();
        leb::write_u32(&mut head, count as u32);
        write_all(out, &head)?;
        let mut section_len = head.len() as u32;

        let mut bodies = code.into_reader()?;
        let mut records = code_relocs.into_reader()?;
        let mut body = Vec::new();
        let mut relocs = Vec::new();
        let mut entries = RelocSection::default();
        for f in &self.functions {
            body.clear();
            leb::write_u32(&mut body, f.body_len());
            let code_start = body.len() + f.locals_len as usize;
            body.resize(code_start + f.code_len as usize, 0);
            bodies
                .read_exact(&mut body[code_start - f.locals_len as usize..])
                .context("cannot read a temporary file")?;
            read_relocs(&mut *records, f.relocs, &mut relocs)?;
            let base = section_len + code_start as u32;
            for r in &relocs {
                let at = code_start + r.offset as usize;
                let section_offset = base + r.offset;
                let site = body
                    .get_mut(at..)
                    .ok_or_else(|| anyhow!("internal error: relocation outside its function"))?;
                self.patch_code_site(layout, r.kind, site, section_offset, &mut entries)?;
            }
            write_all(out, &body)?;
            section_len += body.len() as u32;
            entries.flush()?;
        }
        Ok(entries)
    }

    /// Resolves one relocated site of a function body (`site` starts at it).
    pub(super) fn patch_code_site(
        &self,
        layout: &Layout,
        kind: CodeRelocKind,
        site: &mut [u8],
        section_offset: u32,
        entries: &mut RelocSection,
    ) -> Result<()> {
        let mut put = |bytes: &[u8]| -> Result<()> {
            site.get_mut(..bytes.len())
                .ok_or_else(|| anyhow!("internal error: relocation outside its function"))?
                .copy_from_slice(bytes);
            Ok(())
        };
        match kind {
            CodeRelocKind::Call(sym, site) => {
                let sym = self.call_adapters.get(&(sym, site)).copied().unwrap_or(sym);
                let idx = layout.func_index[sym as usize].ok_or_else(|| {
                    anyhow!("`{}` is called but is not a function", self.name(sym))
                })?;
                put(&leb::padded_u32(idx))?;
                entries.push((reloc_type::FUNCTION_INDEX_LEB, section_offset, sym, None));
            }
            CodeRelocKind::Address(sym, addend) => {
                let sym = self.address_target(sym);
                if self.is_function(sym) {
                    entries.push((reloc_type::TABLE_INDEX_SLEB, section_offset, sym, None));
                } else {
                    let v = self.sym_address(layout, sym, addend);
                    put(&leb::padded_i32(v))?;
                    entries.push((
                        reloc_type::MEMORY_ADDR_SLEB,
                        section_offset,
                        sym,
                        Some(addend),
                    ));
                }
            }
            CodeRelocKind::TypeIndex(t) => {
                entries.push((reloc_type::TYPE_INDEX_LEB, section_offset, t, None));
            }
            CodeRelocKind::StackPointer => {
                entries.push((
                    reloc_type::GLOBAL_INDEX_LEB,
                    section_offset,
                    layout.sp_symbol,
                    None,
                ));
            }
            CodeRelocKind::LongjmpPending => {
                let sym = layout.pending_symbol.ok_or_else(|| {
                    anyhow!("internal error: the longjmp target global is not defined")
                })?;
                entries.push((reloc_type::GLOBAL_INDEX_LEB, section_offset, sym, None));
            }
            CodeRelocKind::Table => {
                entries.push((
                    reloc_type::TABLE_NUMBER_LEB,
                    section_offset,
                    layout.table_symbol,
                    None,
                ));
            }
            // A site calling an adapter has exactly the adapter's type.
            CodeRelocKind::DropIfResult(sym, site) => {
                if layout.has_result[sym as usize] && !self.call_adapters.contains_key(&(sym, site))
                {
                    put(&[0x1a])?;
                }
            }
            CodeRelocKind::ZeroIfNoResult(sym, ty, site) => {
                if !layout.has_result[sym as usize]
                    && !self.call_adapters.contains_key(&(sym, site))
                {
                    put(zero_constant(ty))?;
                }
            }
        }
        Ok(())
    }

    /// The data section, each segment patched while it is copied from the
    /// spool; returns the entries of `reloc.DATA`.
    pub(super) fn write_data_section(
        &self,
        out: &mut dyn Write,
        layout: &Layout,
        data: Spool,
        data_relocs: Spool,
    ) -> Result<RelocSection> {
        let count = self.segments.len() as u64;
        let mut payload = leb_len(count);
        let mut offset_leb = Vec::new();
        for (s, &offset) in self.segments.iter().zip(&layout.seg_offset) {
            offset_leb.clear();
            leb::write_i32(&mut offset_leb, offset as i32);
            // flags, i32.const, offset, end, length, bytes
            payload += 3 + offset_leb.len() as u64 + leb_len(u64::from(s.len)) + u64::from(s.len);
        }
        write_section_header(out, SectionId::Data.into(), payload)?;
        let mut head = Vec::new();
        leb::write_u32(&mut head, count as u32);
        write_all(out, &head)?;
        let mut section_len = head.len() as u32;

        let mut contents = data.into_reader()?;
        let mut records = data_relocs.into_reader()?;
        let mut segment = Vec::new();
        let mut relocs = Vec::new();
        let mut entries = RelocSection::default();
        for (s, &offset) in self.segments.iter().zip(&layout.seg_offset) {
            segment.clear();
            segment.push(0); // active, memory 0
            segment.push(0x41);
            leb::write_i32(&mut segment, offset as i32);
            segment.push(0x0b);
            leb::write_u32(&mut segment, s.len);
            let start = segment.len();
            segment.resize(start + s.len as usize, 0);
            contents
                .read_exact(&mut segment[start..])
                .context("cannot read a temporary file")?;
            read_relocs(&mut *records, s.relocs, &mut relocs)?;
            let base = section_len + start as u32;
            for r in &relocs {
                let CodeRelocKind::Address(sym, addend) = r.kind else {
                    bail!("internal error: a data relocation that is not an address");
                };
                let at = start + r.offset as usize;
                let sym = self.address_target(sym);
                if self.is_function(sym) {
                    entries.push((reloc_type::TABLE_INDEX_I32, base + r.offset, sym, None));
                } else {
                    let v = self.sym_address(layout, sym, addend);
                    segment
                        .get_mut(at..at + 4)
                        .ok_or_else(|| anyhow!("internal error: relocation outside its segment"))?
                        .copy_from_slice(&v.to_le_bytes());
                    entries.push((
                        reloc_type::MEMORY_ADDR_I32,
                        base + r.offset,
                        sym,
                        Some(addend),
                    ));
                }
            }
            write_all(out, &segment)?;
            section_len += segment.len() as u32;
            entries.flush()?;
        }
        Ok(entries)
    }

    /// The `linking` custom section: symbol table and segment info.
    pub(super) fn write_linking_section(&self, out: &mut dyn Write, layout: &Layout) -> Result<()> {
        let mut symtab = Vec::new();
        let extra = 2 + u32::from(layout.pending_symbol.is_some());
        leb::write_u32(&mut symtab, self.symbols.len() as u32 + extra);
        for (id, info) in self.symbols.iter().enumerate() {
            let name = self.name(id as SymId);
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
                    leb::write_u32(&mut symtab, layout.func_index[id].unwrap_or(0));
                    name.encode(&mut symtab);
                }
                Definition::Data { segment, size } => {
                    symtab.push(SYM_KIND_DATA);
                    leb::write_u32(&mut symtab, flags);
                    name.encode(&mut symtab);
                    leb::write_u32(&mut symtab, segment);
                    leb::write_u32(&mut symtab, 0);
                    leb::write_u32(&mut symtab, size);
                }
                Definition::None => {
                    if let Some(idx) = layout.func_index[id] {
                        symtab.push(SYM_KIND_FUNCTION);
                        leb::write_u32(&mut symtab, FLAG_UNDEFINED);
                        leb::write_u32(&mut symtab, idx);
                    } else {
                        symtab.push(SYM_KIND_DATA);
                        leb::write_u32(&mut symtab, FLAG_UNDEFINED);
                        name.encode(&mut symtab);
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
        if layout.pending_symbol.is_some() {
            // Every object that unwinds defines it; the linker keeps one.
            symtab.push(SYM_KIND_GLOBAL);
            leb::write_u32(&mut symtab, FLAG_WEAK | FLAG_VISIBILITY_HIDDEN);
            // After the imported `__stack_pointer`.
            leb::write_u32(&mut symtab, 1);
            crate::ir_passes::setjmp::PENDING_GLOBAL.encode(&mut symtab);
        }

        let mut seginfo = Vec::new();
        if !self.segments.is_empty() {
            leb::write_u32(&mut seginfo, self.segments.len() as u32);
            for s in &self.segments {
                s.name.as_str().encode(&mut seginfo);
                leb::write_u32(&mut seginfo, s.align_log2);
                leb::write_u32(&mut seginfo, 0);
            }
        }
        // Version 2, the symbol table (subsection 8), the segment info (5).
        let mut symtab_head = Vec::new();
        leb::write_u32(&mut symtab_head, 2);
        symtab_head.push(8);
        leb::write_u32(&mut symtab_head, symtab.len() as u32);
        let mut seginfo_head = Vec::new();
        if !seginfo.is_empty() {
            seginfo_head.push(5);
            leb::write_u32(&mut seginfo_head, seginfo.len() as u32);
        }
        // Init functions (6): priority and symbol index.
        let mut init = Vec::new();
        if !self.init_funcs.is_empty() {
            let mut body = Vec::new();
            leb::write_u32(&mut body, self.init_funcs.len() as u32);
            for &(priority, sym) in &self.init_funcs {
                leb::write_u32(&mut body, priority);
                leb::write_u32(&mut body, sym);
            }
            init.push(6);
            leb::write_u32(&mut init, body.len() as u32);
            init.extend_from_slice(&body);
        }
        let payload =
            symtab_head.len() + symtab.len() + seginfo_head.len() + seginfo.len() + init.len();
        write_custom_header(out, "linking", payload as u64)?;
        for part in [&symtab_head, &symtab, &seginfo_head, &seginfo, &init] {
            write_all(out, part)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relocation_records_round_trip() {
        for kind in [
            CodeRelocKind::Call(7, 3),
            CodeRelocKind::Address(3, -12),
            CodeRelocKind::TypeIndex(9),
            CodeRelocKind::StackPointer,
            CodeRelocKind::Table,
            CodeRelocKind::DropIfResult(u32::MAX, 2),
            CodeRelocKind::ZeroIfNoResult(5, 0x7c, 1 << 20),
        ] {
            let r = CodeReloc { offset: 1234, kind };
            let back = CodeReloc::from_record(&r.to_record()).unwrap();
            assert_eq!((back.offset, back.kind), (1234, kind));
        }
    }

    #[test]
    fn leb_lengths_match_the_encoder() {
        for v in [0u32, 1, 127, 128, 16383, 16384, 1 << 21, 1 << 28, u32::MAX] {
            let mut bytes = Vec::new();
            leb::write_u32(&mut bytes, v);
            assert_eq!(leb_len(u64::from(v)), bytes.len() as u64, "{v}");
        }
    }
}
