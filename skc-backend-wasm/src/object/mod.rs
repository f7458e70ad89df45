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
//!
//! This file collects; `settle` adds the object's own adapters and
//! constructors and checks what the symbols became; `write` lays the
//! object out and writes it.

mod comparators;
pub mod data;
pub mod kinds;
pub mod leb;
pub mod names;
mod settle;
pub mod spool;
pub mod table_slots;
mod write;

use std::collections::{HashMap, HashSet};

use anyhow::{anyhow, bail, Result};
use wasm_encoder::{FuncType, ValType};

use crate::object::names::Names;
use crate::object::spool::Spool;

/// Up to this many function types, [`Object::type_index`] scans them
/// instead of hashing.
const SCANNED_TYPES: usize = 16;

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
    /// For a comparator this object defines, the adapter the C library
    /// calls it through (see [`Object::comparator_adapter`]).
    comparator_adapters: HashMap<SymId, SymId>,
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

    /// Defines a file-local function `name` of type `(params) -> results`
    /// with no locals of its own, from its instruction bytes.
    pub(super) fn define_local_function(
        &mut self,
        name: &str,
        params: &[ValType],
        results: &[ValType],
        code: Vec<u8>,
        relocs: Vec<CodeReloc>,
    ) -> Result<SymId> {
        let sym = self.symbol(name);
        let type_index = self.type_index(params, results);
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
        Ok(sym)
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

    /// Encodes the object into memory.
    pub fn finish(self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.finish_into(&mut out)?;
        Ok(out)
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
}
