//! The relocatable object: symbols, function bodies and data segments
//! collected one item at a time, and the final encoding in the
//! tool-conventions linking format (`linking`, `reloc.CODE`, `reloc.DATA`).
//!
//! Function bodies, data contents and their relocations are spooled to
//! temporary files as they arrive ([`crate::object::spool`]); only the symbols,
//! the types and a few numbers per function and segment stay in memory.
//! [`Object::finish_into`] then writes the object front to back, patching
//! each body while copying it: section sizes follow from the recorded
//! lengths, and relocation offsets count from the section start.
//!
//! Function indices are only known once every item has been seen (imports
//! come first), so call sites are written as 5-byte LEBs and patched here.
//! Whether a symbol is a function or data is also settled at the end: an
//! address constant is encoded the same way for both, and only its
//! relocation type differs.

pub mod data;
pub mod kinds;
pub mod leb;
pub mod names;
pub mod spool;
pub mod table_slots;

use std::collections::{HashMap, HashSet};

/// Up to this many function types, [`Object::type_index`] scans them
/// instead of hashing.
const SCANNED_TYPES: usize = 16;
use std::io::{Read, Write};

use anyhow::{anyhow, bail, Context, Result};

use wasm_encoder::{
    Encode, EntityType, FuncType, FunctionSection, GlobalType, ImportSection, MemoryType, Module,
    RefType, SectionId, TableType, TypeSection, ValType,
};

use crate::object::names::Names;
use crate::object::spool::Spool;
use crate::wasi::bridge::signature::Signature;

/// Index of a symbol in [`Object::symbols`].
pub type SymId = u32;

/// What a relocated site in a function body refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRelocKind {
    /// `call` immediate: the callee's function index, and the signature
    /// the call site uses (an index from [`Object::note_call`]).
    Call(SymId, u32),
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
    /// becomes `drop` if the callee turns out to return a value. The
    /// second operand is the call site's signature, as in `Call`.
    DropIfResult(SymId, u32),
    /// `nop`s after a direct call whose site binds a result (of the value
    /// type encoded in the byte); they become a zero of that type if the
    /// callee turns out to return nothing. The IL lets a result be bound
    /// from such a call (its value is undefined); a module must not pop
    /// from an empty stack. The last operand is the call site's
    /// signature, as in `Call`.
    ZeroIfNoResult(SymId, u8, u32),
    /// `global.get/set` of the `longjmp` target
    /// ([`crate::ir_passes::setjmp::PENDING_GLOBAL`]), which the object defines.
    LongjmpPending,
}

/// The instruction that pushes a zero of the value type encoded as `ty`
/// (`i32.const 0`, ..., `f64.const 0`); [`CodeRelocKind::ZeroIfNoResult`]
/// reserves as many `nop`s.
pub fn zero_constant(ty: u8) -> &'static [u8] {
    match ty {
        0x7e => &[0x42, 0x00],
        0x7d => &[0x43, 0, 0, 0, 0],
        0x7c => &[0x44, 0, 0, 0, 0, 0, 0, 0, 0],
        _ => &[0x41, 0x00],
    }
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

/// A symbol; its name is the name with the same index in [`Names`].
struct SymbolInfo {
    def: Definition,
    local: bool,
    weak: bool,
    /// Type of the first direct call seen, with a result if any call site
    /// used one (an index into `Object::call_types`).
    call_type: Option<u32>,
    /// Known to be a function though never called directly (see
    /// [`Object::note_function`]).
    function: bool,
    /// Its address is used in code or data.
    address_taken: bool,
    /// The distinct signatures its direct call sites use (indices into
    /// `Object::call_types`).
    site_types: Vec<u32>,
}

/// What stays in memory of a spooled function body.
struct FunctionEntry {
    type_index: u32,
    /// Length of the encoded local declarations, which precede the code.
    locals_len: u32,
    /// Length of the instruction bytes.
    code_len: u32,
    /// Number of its records in the relocation spool.
    relocs: u32,
}

impl FunctionEntry {
    fn body_len(&self) -> u32 {
        self.locals_len + self.code_len
    }
}

/// What stays in memory of a spooled data segment.
struct SegmentEntry {
    name: String,
    align_log2: u32,
    len: u32,
    /// Number of its records in the relocation spool.
    relocs: u32,
}

/// Everything collected so far.
#[derive(Default)]
pub struct Object {
    symbols: Vec<SymbolInfo>,
    names: Names,
    /// Distinct signatures of direct calls.
    call_types: Vec<FuncType>,
    call_type_ids: HashMap<FuncType, u32>,
    types: Vec<FuncType>,
    type_ids: HashMap<FuncType, u32>,
    functions: Vec<FunctionEntry>,
    segments: Vec<SegmentEntry>,
    /// Local declarations and instructions of each function, in order.
    code: Spool,
    /// Relocation records of the function bodies ([`RELOC_RECORD`] bytes each).
    code_relocs: Spool,
    /// Contents of each segment, in order.
    data: Spool,
    /// Relocation records of the segments.
    data_relocs: Spool,
    /// Constructors: priority and function, in order of appearance.
    init_funcs: Vec<(u32, SymId)>,
    /// Destructors: priority and function, in order of appearance.
    fini_funcs: Vec<(u32, SymId)>,
    /// Names other inputs of the link define as functions.
    functions_elsewhere: HashSet<Box<str>>,
    /// The function whose table index an address of a C library function
    /// stands for: an adapter with the LP64 signature.
    address_adapters: HashMap<SymId, SymId>,
    /// For a callee and a call-site signature that disagrees with it, the
    /// local function such call sites call instead (see
    /// [`Object::define_call_adapters`]).
    call_adapters: HashMap<(SymId, u32), SymId>,
    /// Names whose direct calls were lowered as calls of the C library's
    /// function (see [`Object::note_library_call`]).
    library_calls: std::collections::HashSet<String>,
    /// Call sites the LP64 boundary sent to another symbol than the one
    /// the IL names (a runtime shim): callee and site signature, and the
    /// name the IL calls.
    redirected_calls: HashMap<(SymId, u32), Box<str>>,
    /// Whether code reads or writes the `longjmp` target global.
    defines_longjmp_pending: bool,
    /// With several IL inputs in one object: their names, the one whose
    /// items are being compiled, and which of them use each symbol (see
    /// [`SOURCES_SECTION`]).
    sources: Vec<Box<str>>,
    current_source: Option<u32>,
    used_by: HashSet<(SymId, u32)>,
}

/// The `producers` field and value that mark an object written by skc's
/// IL code generator: such objects are LP64, and the link bridge may
/// rewrite them.
pub const IL_PRODUCER_FIELD: &str = "processed-by";
/// See [`IL_PRODUCER_FIELD`].
pub const IL_PRODUCER: &str = "skc";

/// A custom section naming, for each undefined symbol of an object
/// compiled from several IL inputs, the inputs that use it: a vector of
/// input names, then a vector of (symbol name, vector of input indices).
/// The link bridge reads it for its messages and leaves it out of the
/// copies wasm-ld links.
pub const SOURCES_SECTION: &str = "skc.sources";

/// The 8 bytes a call with an `env` argument stores it in, and a function
/// with an `env` parameter reads it from at entry: env is no parameter of
/// the wasm signature, so a call may pass one to any function and omit it
/// to any, directly, through a pointer, or from C. Every object using it
/// defines it weakly; the link keeps one. The modules are
/// single-threaded, so one slot serves every call.
pub const ENV_SLOT: &str = "__skc_env";

/// The constructor [`Object::register_destructors`] writes.
const REGISTER_DESTRUCTORS: &str = "__skc_register_fini_array";

/// Size of a spooled relocation record: offset, kind, two operands.
const RELOC_RECORD: usize = 16;

impl CodeReloc {
    fn to_record(self) -> [u8; RELOC_RECORD] {
        let (tag, a, b): (u32, u32, i32) = match self.kind {
            CodeRelocKind::Call(s, site) => (0, s, site as i32),
            CodeRelocKind::Address(s, addend) => (1, s, addend),
            CodeRelocKind::TypeIndex(t) => (2, t, 0),
            CodeRelocKind::StackPointer => (3, 0, 0),
            CodeRelocKind::Table => (4, 0, 0),
            CodeRelocKind::DropIfResult(s, site) => (5, s, site as i32),
            CodeRelocKind::ZeroIfNoResult(s, ty, site) => {
                (6, s, (site << 8 | u32::from(ty)) as i32)
            }
            CodeRelocKind::LongjmpPending => (7, 0, 0),
        };
        let mut r = [0u8; RELOC_RECORD];
        r[0..4].copy_from_slice(&self.offset.to_le_bytes());
        r[4..8].copy_from_slice(&tag.to_le_bytes());
        r[8..12].copy_from_slice(&a.to_le_bytes());
        r[12..16].copy_from_slice(&b.to_le_bytes());
        r
    }

    fn from_record(r: &[u8; RELOC_RECORD]) -> Result<Self> {
        let word = |i: usize| u32::from_le_bytes([r[i], r[i + 1], r[i + 2], r[i + 3]]);
        let (a, b) = (word(8), word(12) as i32);
        let kind = match word(4) {
            0 => CodeRelocKind::Call(a, b as u32),
            1 => CodeRelocKind::Address(a, b),
            2 => CodeRelocKind::TypeIndex(a),
            3 => CodeRelocKind::StackPointer,
            4 => CodeRelocKind::Table,
            5 => CodeRelocKind::DropIfResult(a, b as u32),
            6 => CodeRelocKind::ZeroIfNoResult(a, b as u8, b as u32 >> 8),
            7 => CodeRelocKind::LongjmpPending,
            t => bail!("internal error: relocation record of kind {t}"),
        };
        Ok(CodeReloc {
            offset: word(0),
            kind,
        })
    }
}

/// Reads `n` relocation records from `from` into `into` (cleared first).
fn read_relocs(from: &mut dyn Read, n: u32, into: &mut Vec<CodeReloc>) -> Result<()> {
    into.clear();
    let mut record = [0u8; RELOC_RECORD];
    for _ in 0..n {
        from.read_exact(&mut record)
            .context("cannot read a temporary file")?;
        into.push(CodeReloc::from_record(&record)?);
    }
    Ok(())
}

/// Writes relocation records, sorted by offset (stable, so sites at the
/// same offset keep their order).
fn spool_relocs(spool: &mut Spool, relocs: &mut [CodeReloc]) -> Result<()> {
    if !relocs.is_sorted_by_key(|r| r.offset) {
        relocs.sort_by_key(|r| r.offset);
    }
    let mut buf = Vec::with_capacity(relocs.len() * RELOC_RECORD);
    for r in relocs.iter() {
        buf.extend_from_slice(&r.to_record());
    }
    spool.write(&buf)
}

/// An entry of a `reloc.*` section: type, section offset, target, addend.
type RelocEntry = (u8, u32, u32, Option<i32>);

/// Encoded entries of one `reloc.*` section, spooled while the section
/// they describe is written.
#[derive(Default)]
struct RelocSection {
    entries: Spool,
    count: u32,
    buf: Vec<u8>,
}

impl RelocSection {
    fn push(&mut self, (ty, offset, target, addend): RelocEntry) {
        self.buf.push(ty);
        leb::write_u32(&mut self.buf, offset);
        leb::write_u32(&mut self.buf, target);
        if let Some(a) = addend {
            leb::write_i32(&mut self.buf, a);
        }
        self.count += 1;
    }

    /// Moves the buffered entries to the spool.
    fn flush(&mut self) -> Result<()> {
        self.entries.write(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Writes the custom section `name` for the section at `index`.
    fn write(mut self, out: &mut dyn Write, name: &str, index: u32) -> Result<()> {
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
const FLAG_VISIBILITY_HIDDEN: u32 = 0x4;
const FLAG_UNDEFINED: u32 = 0x10;
const FLAG_NO_STRIP: u32 = 0x80;

/// Byte length of the unsigned LEB128 of `v`.
fn leb_len(v: u64) -> u64 {
    (u64::from(64 - v.leading_zeros()).max(1)).div_ceil(7)
}

fn write_all(out: &mut dyn Write, bytes: &[u8]) -> Result<()> {
    out.write_all(bytes).context("cannot write the object")
}

/// The `producers` section naming skc as the object's producer, which
/// is also how the link bridge tells IL objects from others
/// ([`IL_PRODUCER`]). It comes last, so no other
/// section's index depends on it.
fn write_producers(out: &mut dyn Write) -> Result<()> {
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
fn write_section_header(out: &mut dyn Write, id: u8, payload: u64) -> Result<()> {
    let size = u32::try_from(payload).map_err(|_| anyhow!("the object exceeds 4 GiB"))?;
    let mut head = vec![id];
    leb::write_u32(&mut head, size);
    write_all(out, &head)
}

/// Writes a custom section's header and name; `payload` follows the name.
fn write_custom_header(out: &mut dyn Write, name: &str, payload: u64) -> Result<()> {
    let mut encoded_name = Vec::new();
    name.encode(&mut encoded_name);
    write_section_header(out, 0, encoded_name.len() as u64 + payload)?;
    write_all(out, &encoded_name)
}

/// Everything `finish_into` derives from the symbols before writing.
struct Layout {
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
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// The IL input the next items come from (`None`: the only one).
    pub fn set_source(&mut self, name: Option<&str>) {
        self.current_source =
            name.map(
                |name| match self.sources.iter().position(|s| &**s == name) {
                    Some(i) => i as u32,
                    None => {
                        self.sources.push(name.into());
                        self.sources.len() as u32 - 1
                    }
                },
            );
    }

    /// The symbol named `name`, created (undefined) on first use.
    pub fn symbol(&mut self, name: &str) -> SymId {
        let (id, new) = self.names.intern(name);
        if new {
            self.symbols.push(SymbolInfo {
                def: Definition::None,
                local: false,
                weak: false,
                call_type: None,
                function: false,
                address_taken: false,
                site_types: Vec::new(),
            });
        }
        if let Some(source) = self.current_source {
            self.used_by.insert((id, source));
        }
        id
    }

    /// The name of symbol `sym`.
    fn name(&self, sym: SymId) -> &str {
        self.names.get(sym)
    }

    /// The index of a call signature, added if new.
    fn call_type_index(&mut self, ty: FuncType) -> u32 {
        if let Some(&i) = self.call_type_ids.get(&ty) {
            return i;
        }
        let i = self.call_types.len() as u32;
        self.call_types.push(ty.clone());
        self.call_type_ids.insert(ty, i);
        i
    }

    /// The signature of direct calls to `sym`, if it is called.
    fn call_type(&self, sym: SymId) -> Option<&FuncType> {
        self.symbols[sym as usize]
            .call_type
            .map(|i| &self.call_types[i as usize])
    }

    /// The index of a function type, added if new.
    pub fn type_index(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        // Modules have few signatures: a scan of them is cheaper than
        // building a `FuncType` to hash for every function.
        if self.types.len() <= SCANNED_TYPES {
            if let Some(i) = self
                .types
                .iter()
                .position(|t| t.params() == params && t.results() == results)
            {
                return i as u32;
            }
        }
        let ty = FuncType::new(params.iter().copied(), results.iter().copied());
        if let Some(&i) = self.type_ids.get(&ty) {
            return i;
        }
        let i = self.types.len() as u32;
        self.types.push(ty.clone());
        self.type_ids.insert(ty, i);
        i
    }

    /// Records a direct call to `sym` with the given signature; returns the
    /// call site's signature index for its relocations.
    pub fn note_call(&mut self, sym: SymId, params: &[ValType], results: &[ValType]) -> u32 {
        let site = self.call_type_index(FuncType::new(
            params.iter().copied(),
            results.iter().copied(),
        ));
        if !self.symbols[sym as usize].site_types.contains(&site) {
            self.symbols[sym as usize].site_types.push(site);
        }
        let upgraded = match self.call_type(sym) {
            None => FuncType::new(params.iter().copied(), results.iter().copied()),
            Some(t) if t.results().is_empty() && !results.is_empty() => {
                FuncType::new(t.params().iter().copied(), results.iter().copied())
            }
            Some(_) => return site,
        };
        let i = self.call_type_index(upgraded);
        self.symbols[sym as usize].call_type = Some(i);
        site
    }

    /// Records that the call sites of signature `site` to `sym` are calls
    /// the IL makes to `original`, sent to `sym` by the LP64 boundary.
    /// (`original` gets no symbol here: unless the module defines it, it
    /// is not part of the object.)
    pub fn note_redirected_call(&mut self, sym: SymId, site: u32, original: &str) {
        self.redirected_calls
            .entry((sym, site))
            .or_insert_with(|| original.into());
    }

    /// Records that `sym` is a function, whether or not anything calls it
    /// directly: an address of it is called, or it is a C library function.
    pub fn note_function(&mut self, sym: SymId) {
        self.symbols[sym as usize].function = true;
    }

    /// Names that other inputs of the link define as functions (see
    /// [`crate::object::kinds`]).
    pub fn set_functions_elsewhere(&mut self, names: HashSet<Box<str>>) {
        self.functions_elsewhere = names;
    }

    /// Adds a constructor (`.init_array`) with its priority; the linker
    /// runs lower priorities first.
    pub fn add_init_func(&mut self, priority: u32, sym: SymId) {
        self.note_function(sym);
        self.init_funcs.push((priority, sym));
    }

    /// Adds a destructor (`.fini_array`): it runs at exit, higher
    /// priorities first, and within one priority the last entry first.
    pub fn add_fini_func(&mut self, priority: u32, sym: SymId) {
        self.note_function(sym);
        self.fini_funcs.push((priority, sym));
    }

    /// Fails if `sym` already has a definition.
    /// Whether `name` is already defined in this object.
    pub fn is_defined(&self, name: &str) -> bool {
        self.names
            .lookup(name)
            .is_some_and(|sym| self.symbols[sym as usize].def != Definition::None)
    }

    /// Records that a use of `name` (a call, a data reference) was
    /// compiled as one of the C library's: defining `name` in this file
    /// afterwards is refused, since that use is already wrong for it.
    pub fn note_library_call(&mut self, name: &str) {
        if !self.library_calls.contains(name) {
            self.library_calls.insert(name.to_string());
        }
    }

    /// The symbol a reference to `$name` in the IL stands for: the C
    /// library's LP64 object for `stdout`, `stderr` and `stdin` unless
    /// this file defined its own already (see [`Object::note_library_call`]).
    pub fn referenced(&mut self, name: &str) -> SymId {
        let mapped = crate::wasi::lp64::data_symbol(name);
        if mapped == name || self.is_defined(name) {
            return self.symbol(name);
        }
        self.note_library_call(name);
        self.symbol(mapped)
    }

    /// Refuses a local definition of `sym` after a use of it was compiled
    /// as one of the C library's.
    fn check_not_taken_for_library(&self, sym: SymId, local: bool) -> Result<()> {
        if local && self.library_calls.contains(self.name(sym)) {
            bail!(
                "`{0}` is defined without `export` after a use of it that was compiled as one of \
                 the C library's `{0}`; define it before its first use, or give skc the IL as a \
                 file (skc then reads a file's definitions first)",
                self.name(sym)
            );
        }
        Ok(())
    }

    fn check_undefined(&self, sym: SymId) -> Result<()> {
        if self.symbols[sym as usize].def != Definition::None {
            bail!("symbol `{}` is defined more than once", self.name(sym));
        }
        Ok(())
    }

    /// Adds a function definition.
    pub fn define_function(&mut self, mut f: EncodedFunction, local: bool) -> Result<()> {
        let too_large = || anyhow!("function `{}` is too large", self.name(f.sym));
        let locals_len = u32::try_from(f.locals.len()).map_err(|_| too_large())?;
        let code_len = u32::try_from(f.code.len()).map_err(|_| too_large())?;
        locals_len.checked_add(code_len).ok_or_else(too_large)?;
        let relocs = u32::try_from(f.relocs.len()).map_err(|_| too_large())?;
        let index = self.functions.len() as u32;
        self.check_not_taken_for_library(f.sym, local)?;
        for &s in std::iter::once(&f.sym).chain(&f.aliases) {
            self.check_undefined(s)?;
            self.symbols[s as usize].def = Definition::Function(index);
        }
        self.symbols[f.sym as usize].local = local;
        for r in &f.relocs {
            if let CodeRelocKind::Address(s, _) = r.kind {
                self.symbols[s as usize].address_taken = true;
            }
        }
        self.code.write(&f.locals)?;
        self.code.write(&f.code)?;
        spool_relocs(&mut self.code_relocs, &mut f.relocs)?;
        self.functions.push(FunctionEntry {
            type_index: f.type_index,
            locals_len,
            code_len,
            relocs,
        });
        Ok(())
    }

    /// Adds a data definition as its own segment.
    pub fn define_data(
        &mut self,
        sym: SymId,
        segment: Segment,
        local: bool,
        weak: bool,
    ) -> Result<()> {
        self.check_not_taken_for_library(sym, local)?;
        self.check_undefined(sym)?;
        let size = u32::try_from(segment.bytes.len())
            .map_err(|_| anyhow!("data item is larger than 4 GiB"))?;
        let relocs = u32::try_from(segment.relocs.len())
            .map_err(|_| anyhow!("data item has too many relocations"))?;
        let index = self.segments.len() as u32;
        let info = &mut self.symbols[sym as usize];
        info.def = Definition::Data {
            segment: index,
            size,
        };
        info.local = local;
        info.weak = weak;
        for &(_, s, _) in &segment.relocs {
            self.symbols[s as usize].address_taken = true;
        }
        self.data.write(&segment.bytes)?;
        let mut records: Vec<CodeReloc> = segment
            .relocs
            .iter()
            .map(|&(offset, sym, addend)| CodeReloc {
                offset,
                kind: CodeRelocKind::Address(sym, addend),
            })
            .collect();
        spool_relocs(&mut self.data_relocs, &mut records)?;
        self.segments.push(SegmentEntry {
            name: segment.name,
            align_log2: segment.align_log2,
            len: size,
            relocs,
        });
        Ok(())
    }

    /// Whether a symbol ends up as a function.
    fn is_function(&self, sym: SymId) -> bool {
        let info = &self.symbols[sym as usize];
        match info.def {
            Definition::Function(_) => true,
            Definition::Data { .. } => false,
            Definition::None => info.call_type.is_some() || info.function,
        }
    }

    /// The address a data relocation resolves to inside this object.
    fn sym_address(&self, layout: &Layout, sym: SymId, addend: i32) -> i32 {
        match self.symbols[sym as usize].def {
            Definition::Data { segment, .. } => {
                (layout.seg_offset[segment as usize] as i32).wrapping_add(addend)
            }
            _ => addend,
        }
    }

    /// Encodes the object into memory.
    pub fn finish(self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.finish_into(&mut out)?;
        Ok(out)
    }

    /// Settles imports, function indices and the data layout.
    fn layout(&mut self) -> Result<Layout> {
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

    /// Notes that code refers to the `longjmp` target global
    /// ([`CodeRelocKind::LongjmpPending`]), which the object then defines.
    pub fn use_longjmp_pending(&mut self) {
        self.defines_longjmp_pending = true;
    }

    /// The data symbol holding the `env` argument of a call
    /// ([`ENV_SLOT`]), defined in this object on first use.
    pub fn env_slot(&mut self) -> Result<SymId> {
        let sym = self.symbol(ENV_SLOT);
        if self.symbols[sym as usize].def == Definition::None {
            let segment = Segment {
                name: format!(".bss.{ENV_SLOT}"),
                align_log2: 3,
                bytes: vec![0; 8],
                relocs: Vec::new(),
            };
            self.define_data(sym, segment, false, true)?;
        }
        Ok(sym)
    }

    /// Gives each direct call site whose signature disagrees with its
    /// callee's a local adapter to call instead: the IL lets a call pass
    /// fewer or more arguments, or other types, than the callee declares
    /// (the missing values are undefined), and calls may come before the
    /// callee's definition, so only here are both types known. Arguments
    /// and results are converted as [`crate::wasi::bridge::adapters::body`]
    /// does, with zeros where a float meets an integer.
    fn define_call_adapters(&mut self) -> Result<()> {
        // (call sites' callee, their signature, the function called
        // instead, its type)
        let mut wanted: Vec<(SymId, u32, SymId, FuncType)> = Vec::new();
        // A C library name the module defines itself is the module's:
        // calls the LP64 boundary sent to a runtime shim go to it.
        for (&(sym, site), original) in &self.redirected_calls {
            let Some(original) = self.names.lookup(original) else {
                continue;
            };
            if let Definition::Function(i) = self.symbols[original as usize].def {
                let callee = &self.types[self.functions[i as usize].type_index as usize];
                wanted.push((sym, site, original, callee.clone()));
            }
        }
        wanted.sort_by_key(|w| (w.0, w.1));
        for sym in 0..self.symbols.len() as SymId {
            let info = &self.symbols[sym as usize];
            let callee = match info.def {
                Definition::Function(i) => {
                    &self.types[self.functions[i as usize].type_index as usize]
                }
                Definition::None => match self.call_type(sym) {
                    Some(t) => t,
                    None => continue,
                },
                Definition::Data { .. } => continue,
            };
            for &site in &info.site_types {
                let s = &self.call_types[site as usize];
                let results_agree = s.results() == callee.results()
                    || s.results().is_empty()
                    || callee.results().is_empty();
                if s.params() != callee.params() || !results_agree {
                    wanted.push((sym, site, sym, callee.clone()));
                }
            }
        }
        for (k, (sym, site, target, callee)) in wanted.into_iter().enumerate() {
            if self.call_adapters.contains_key(&(sym, site)) {
                continue;
            }
            let s = self.call_types[site as usize].clone();
            let (body, call_at) = crate::wasi::bridge::adapters::body(
                &Signature::from_encoder(s.params(), s.results()),
                &Signature::from_encoder(callee.params(), callee.results()),
                0,
                crate::wasi::bridge::adapters::Unconvertible::Zero,
            )
            .ok_or_else(|| anyhow!("internal error: a call type without an adapter"))?;
            let callee_site = self.call_type_index(callee.clone());
            let adapter = self.symbol(&format!("__skc_call.{k}.{}", self.name(target)));
            let type_index = self.type_index(s.params(), s.results());
            // The body starts with its (empty) local declarations.
            let (locals, code) = body.split_at(1);
            self.define_function(
                EncodedFunction {
                    sym: adapter,
                    aliases: Vec::new(),
                    type_index,
                    locals: locals.to_vec(),
                    code: code.to_vec(),
                    relocs: vec![CodeReloc {
                        offset: call_at - 1,
                        kind: CodeRelocKind::Call(target, callee_site),
                    }],
                },
                true,
            )?;
            self.call_adapters.insert((sym, site), adapter);
        }
        Ok(())
    }

    /// Turns the destructors into one constructor that registers them with
    /// `atexit`, which wasi-libc runs when `main` returns or `exit` is
    /// called, in reverse order of registration.
    fn register_destructors(&mut self) -> Result<()> {
        if self.fini_funcs.is_empty() {
            return Ok(());
        }
        let mut fini = std::mem::take(&mut self.fini_funcs);
        // Stable: entries of one priority keep their order.
        fini.sort_by_key(|&(priority, _)| priority);
        let atexit = self.symbol("atexit");
        let atexit_site = self.note_call(atexit, &[ValType::I32], &[ValType::I32]);
        let mut code = Vec::new();
        let mut relocs = Vec::new();
        for &(_, sym) in &fini {
            code.push(0x41); // i32.const
            relocs.push(CodeReloc {
                offset: code.len() as u32,
                kind: CodeRelocKind::Address(sym, 0),
            });
            code.extend_from_slice(&leb::padded_i32(0));
            code.push(0x10); // call
            relocs.push(CodeReloc {
                offset: code.len() as u32,
                kind: CodeRelocKind::Call(atexit, atexit_site),
            });
            code.extend_from_slice(&leb::padded_u32(0));
            code.push(0x1a); // drop
        }
        code.push(0x0b);
        let sym = self.symbol(REGISTER_DESTRUCTORS);
        let type_index = self.type_index(&[], &[]);
        self.define_function(
            EncodedFunction {
                sym,
                aliases: Vec::new(),
                type_index,
                locals: vec![0],
                code,
                relocs,
            },
            true,
        )?;
        // After every constructor, as a C++ runtime registers destructors
        // once the objects they destroy exist.
        self.init_funcs.push((u32::from(u16::MAX), sym));
        Ok(())
    }

    /// Decides the kind of undefined symbols whose address alone is used
    /// (see [`crate::object::kinds`]), and gives each C library function whose
    /// address is used an adapter to call it through.
    fn settle_address_kinds(&mut self) -> Result<()> {
        for sym in 0..self.symbols.len() as SymId {
            let info = &self.symbols[sym as usize];
            if info.def != Definition::None || !info.address_taken {
                continue;
            }
            let name = self.name(sym);
            if crate::wasi::libc::is_c_library_function(name) {
                self.symbols[sym as usize].function = true;
                if let Some(adapter) = self.address_adapter(sym)? {
                    self.address_adapters.insert(sym, adapter);
                }
            } else if self.functions_elsewhere.contains(name) {
                self.symbols[sym as usize].function = true;
            }
        }
        Ok(())
    }

    /// An adapter for the address of C library function `sym`: a function
    /// with the LP64 signature that LP64 IL calls through a pointer, which
    /// calls `sym` (or its shim) the way an adapted direct call does.
    /// `None` when the C signature already is the LP64 one.
    fn address_adapter(&mut self, sym: SymId) -> Result<Option<SymId>> {
        use crate::wasi::lp64::table::CType;
        use skc_ir::ir::{AbiType, BaseType, CallArg, Const, Operand};
        let name = self.name(sym).to_string();
        let Some(proto) = crate::wasi::lp64::table::lookup(&name) else {
            let doubles_only = matches!(
                crate::wasi::libc::known_result(&name),
                Some(ValType::F64 | ValType::F32)
            ) && !name.starts_with("ato")
                && !name.starts_with("strto");
            if doubles_only {
                return Ok(None);
            }
            bail!(
                "the address of C library function `{name}` is used, but skc does not know \
                 its C signature to call it through a pointer on wasm32; call it directly, \
                 or through a function of your own"
            );
        };
        let lp64 = |c: CType| match c {
            CType::Int | CType::Uint => Some(BaseType::W),
            CType::Ptr | CType::Long | CType::Size | CType::LongLong => Some(BaseType::L),
            CType::Double => Some(BaseType::D),
            CType::Void => None,
        };
        let args: Vec<CallArg> = proto
            .params
            .iter()
            .map(|&c| CallArg {
                ty: AbiType::Base(lp64(c).unwrap_or(BaseType::W)),
                value: Operand::Const(Const::Int(0)),
            })
            .collect();
        let ret = lp64(proto.ret).map(AbiType::Base);
        let Some(a) = crate::wasi::lp64::adapt_call(&name, &args, ret, proto.variadic) else {
            return Ok(None);
        };
        let val = |b: BaseType| match b {
            BaseType::W => ValType::I32,
            BaseType::L => ValType::I64,
            BaseType::S => ValType::F32,
            BaseType::D => ValType::F64,
        };
        let mut params: Vec<ValType> = proto
            .params
            .iter()
            .filter_map(|&c| lp64(c))
            .map(val)
            .collect();
        if proto.variadic {
            // The hidden address of the variadic buffer.
            params.push(ValType::I32);
        }
        let results: Vec<ValType> = lp64(proto.ret).map(val).into_iter().collect();
        let (mut callee_params, mut callee_results) = (params.clone(), results.clone());
        a.adjust_params(&mut callee_params, &mut callee_results);
        let target = self.symbol(a.symbol);
        let target_site = self.note_call(target, &callee_params, &callee_results);
        // The function itself is still a function symbol of the object:
        // its import must have its C signature.
        let c_val = |c: CType| match c {
            CType::LongLong => Some(ValType::I64),
            CType::Double => Some(ValType::F64),
            CType::Void => None,
            _ => Some(ValType::I32),
        };
        let mut c_params: Vec<ValType> = proto.params.iter().filter_map(|&c| c_val(c)).collect();
        if proto.variadic {
            c_params.push(ValType::I32);
        }
        let c_results: Vec<ValType> = c_val(proto.ret).into_iter().collect();
        self.note_call(sym, &c_params, &c_results);

        let mut code = Vec::new();
        let mut relocs = Vec::new();
        for (i, _) in params.iter().enumerate() {
            code.push(0x20); // local.get
            leb::write_u32(&mut code, i as u32);
            if a.narrows(i) {
                code.push(0xa7); // i32.wrap_i64
            }
        }
        code.push(0x10); // call
        relocs.push(CodeReloc {
            offset: code.len() as u32,
            kind: CodeRelocKind::Call(target, target_site),
        });
        code.extend_from_slice(&leb::padded_u32(0));
        if results.is_empty() && !callee_results.is_empty() {
            code.push(0x1a); // drop
        }
        if let Some(w) = &a.widen {
            w.encode(&mut code);
        }
        code.push(0x0b);
        let adapter = self.symbol(&format!("__skc_lp64_address.{name}"));
        let type_index = self.type_index(&params, &results);
        self.define_function(
            EncodedFunction {
                sym: adapter,
                aliases: Vec::new(),
                type_index,
                locals: vec![0],
                code,
                relocs,
            },
            true,
        )?;
        Ok(Some(adapter))
    }

    /// The symbol an address of `sym` resolves to.
    fn address_target(&self, sym: SymId) -> SymId {
        self.address_adapters.get(&sym).copied().unwrap_or(sym)
    }

    /// Constructors and destructors are called as `void f(void)`.
    fn check_init_funcs(&self) -> Result<()> {
        for &(_, sym) in &self.init_funcs {
            let ty = match self.symbols[sym as usize].def {
                Definition::Function(i) => {
                    &self.types[self.functions[i as usize].type_index as usize]
                }
                Definition::Data { .. } => {
                    bail!("constructor `{}` is data, not a function", self.name(sym))
                }
                Definition::None => match self.call_type(sym) {
                    Some(t) => t,
                    None => continue,
                },
            };
            if !ty.params().is_empty() || !ty.results().is_empty() {
                bail!(
                    "`{}` is listed in .init_array or .fini_array but takes parameters or \
                     returns a value; wasm32 calls constructors and destructors as `void f(void)`",
                    self.name(sym)
                );
            }
        }
        Ok(())
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
    fn write_sources_section(&self, out: &mut dyn Write) -> Result<()> {
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
    fn write_leading_sections(&self, out: &mut dyn Write, layout: &Layout) -> Result<()> {
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
    fn write_code_section(
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
    fn patch_code_site(
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
    fn write_data_section(
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
    fn write_linking_section(&self, out: &mut dyn Write, layout: &Layout) -> Result<()> {
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
    fn leb_lengths_match_the_encoder() {
        for v in [0u32, 1, 127, 128, 16383, 16384, 1 << 21, 1 << 28, u32::MAX] {
            let mut bytes = Vec::new();
            leb::write_u32(&mut bytes, v);
            assert_eq!(leb_len(u64::from(v)), bytes.len() as u64, "{v}");
        }
    }

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
}
