//! Module-wide state while items stream through: which symbols are defined
//! and referenced, the LLVM signature each function symbol was first given,
//! intrinsics in use, and debug metadata numbering.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};
use std::rc::Rc;

use skc_ir::ir::{DataDef, DataItem, DataValue, ExtType, Linkage, Section};

use crate::dialect::Dialect;
use crate::text::{double_literal, float_literal, global_name, push_escaped, quoted, Buf};

/// The target triple written into the module.
pub const TRIPLE: &str = "x86_64-pc-linux-gnu";
/// The x86-64 Linux data layout (LLVM 18 and later spelling).
pub const DATA_LAYOUT: &str =
    "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128";

/// Text of a signature part: almost always a fixed spelling (`ptr`,
/// `signext`), so only the rare computed ones (`byval([12 x i8]) align 8`)
/// allocate.
pub type SigText = Cow<'static, str>;

/// One parameter of an LLVM function signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SigParam {
    /// LLVM type.
    pub ty: SigText,
    /// Parameter attributes (`signext`, `byval(...) align 8`, ...).
    pub attrs: SigText,
}

/// An LLVM-level function signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sig {
    /// Return type.
    pub ret: SigText,
    /// Return attributes (each followed by a space).
    pub ret_attrs: SigText,
    /// Fixed parameters.
    pub params: Vec<SigParam>,
    /// Ends in `...`.
    pub variadic: bool,
}

impl Sig {
    /// The function type, as written after `call` for variadic callees.
    pub fn fn_type(&self) -> String {
        let mut s = Buf::default();
        self.push_fn_type(&mut s);
        s.into_string()
    }

    /// Appends [`Sig::fn_type`] to `s`.
    pub fn push_fn_type(&self, s: &mut Buf) {
        s.push_str(&self.ret);
        s.push_str(" (");
        for (i, p) in self.params.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&p.ty);
        }
        if self.variadic {
            s.push_str(if self.params.is_empty() {
                "..."
            } else {
                ", ..."
            });
        }
        s.push(')');
    }

    /// Whether a call site with this signature can be adapted to `fixed`
    /// by converting between `i64` and `ptr` only.
    pub fn conforms_to(&self, fixed: &Sig) -> bool {
        let compatible = |a: &SigText, b: &SigText| {
            a == b || matches!((a.as_ref(), b.as_ref()), ("i64", "ptr") | ("ptr", "i64"))
        };
        self.variadic == fixed.variadic
            && self.params.len() == fixed.params.len()
            && compatible(&self.ret, &fixed.ret)
            && self.ret_attrs == fixed.ret_attrs
            && self
                .params
                .iter()
                .zip(&fixed.params)
                .all(|(a, b)| compatible(&a.ty, &b.ty) && a.attrs == b.attrs)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RefKind {
    Data,
    ThreadData,
    /// `extern thread`: defined in a shared object loaded at startup.
    InitialExecThreadData,
    Function,
}

/// Debug-info numbering shared by all functions.
pub struct DebugState {
    next_id: u32,
    files: HashMap<String, u32>,
    first_file: Option<String>,
    /// The DIFile of the functions that follow.
    pub current_file: u32,
    /// Whether the module is optimised (recorded in the compile unit).
    pub optimized: bool,
}

/// Metadata ids with fixed meaning.
const CU_ID: u32 = 0;
const SUBROUTINE_TYPE_ID: u32 = 1;
const DEFAULT_FILE_ID: u32 = 2;
const FIRST_FREE_ID: u32 = 3;

impl DebugState {
    fn new(optimized: bool) -> Self {
        DebugState {
            next_id: FIRST_FREE_ID,
            files: HashMap::new(),
            first_file: None,
            current_file: DEFAULT_FILE_ID,
            optimized,
        }
    }

    /// A fresh metadata id.
    pub fn fresh(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The compile unit id.
    pub fn cu(&self) -> u32 {
        CU_ID
    }

    /// The shared subroutine type id.
    pub fn subroutine_type(&self) -> u32 {
        SUBROUTINE_TYPE_ID
    }
}

/// A fast hash for symbol names and signatures (the FxHash mixing step):
/// the tables are consulted for every call, definition and symbol
/// reference, and SipHash's resistance to chosen keys buys nothing for a
/// compiler's own tables.
#[derive(Default, Clone, Copy)]
pub struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.write(&[b]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type NameMap<V> = HashMap<Box<str>, V, BuildHasherDefault<NameHasher>>;

/// Everything the module writer remembers between items.
pub struct ModuleState {
    /// Per symbol, kept small: this is the only state that grows with the
    /// module rather than with the largest function.
    symbols: NameMap<SymbolState>,
    /// Every distinct signature once; symbols share them.
    sigs: HashSet<Rc<Sig>, BuildHasherDefault<NameHasher>>,
    intrinsics: BTreeSet<&'static str>,
    /// Symbols that data written as assembly refers to: the ones defined
    /// in LLVM IR must be kept, as LLVM does not see those uses.
    asm_refs: BTreeSet<Box<str>>,
    /// File-local definitions placed in an explicit section (constructors
    /// in `.init_array`, ...): nothing in the module refers to them, so
    /// LLVM would drop them.
    sectioned: BTreeSet<Box<str>>,
    /// File-local functions named like C library functions: LLVM must not
    /// take calls to them for calls to the library (`no-builtin-NAME`).
    shadowed_builtins: BTreeSet<Box<str>>,
    /// Debug numbering when `-g` is on.
    pub debug: Option<DebugState>,
    /// What the clang reading the module accepts.
    pub dialect: Dialect,
}

impl ModuleState {
    /// A fresh module; `debug` turns on line tables.
    pub fn new(debug: bool, optimized: bool, dialect: Dialect) -> Self {
        ModuleState {
            symbols: NameMap::default(),
            sigs: HashSet::default(),
            intrinsics: BTreeSet::new(),
            asm_refs: BTreeSet::new(),
            sectioned: BTreeSet::new(),
            shadowed_builtins: BTreeSet::new(),
            debug: debug.then(|| DebugState::new(optimized)),
            dialect,
        }
    }

    /// Writes the module header.
    pub fn write_header(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "; generated by skc")?;
        writeln!(out, "target datalayout = \"{DATA_LAYOUT}\"")?;
        writeln!(out, "target triple = \"{TRIPLE}\"\n")
    }

    fn symbol(&mut self, name: &str) -> &mut SymbolState {
        if !self.symbols.contains_key(name) {
            self.symbols.insert(name.into(), SymbolState::default());
        }
        self.symbols
            .get_mut(name)
            .expect("the symbol was inserted just above")
    }

    /// Records a definition of `name`.
    pub fn define(&mut self, name: &str) {
        self.symbol(name).defined = true;
    }

    /// Records what a definition's linkage asks of the module: kept when
    /// it has an explicit section, and, for a file-local function named
    /// like a C library function, not mistaken for that function.
    pub fn define_with(&mut self, name: &str, linkage: &Linkage, function: bool) {
        self.define(name);
        if linkage.section.is_some() {
            self.sectioned.insert(name.into());
        }
        if function && !linkage.export && crate::libc::is_library_name(name) {
            self.shadowed_builtins.insert(name.into());
        }
    }

    /// Records a use of `name`'s address as data.
    pub fn reference_data(&mut self, name: &str, thread: bool) {
        let kind = if thread {
            RefKind::ThreadData
        } else {
            RefKind::Data
        };
        let s = self.symbol(name);
        s.kind.get_or_insert(kind);
    }

    /// Records an `extern thread` use: the initial-exec TLS model.
    pub fn reference_initial_exec(&mut self, name: &str) {
        let s = self.symbol(name);
        match s.kind {
            None | Some(RefKind::ThreadData) => s.kind = Some(RefKind::InitialExecThreadData),
            _ => {}
        }
    }

    /// Records an `extern $name` reference: the symbol may be preempted.
    /// A definition written after this leaves out `dso_local`; one
    /// already written keeps it, as the module streams and the text is
    /// out of reach by then.
    pub fn reference_extern(&mut self, name: &str) {
        self.symbol(name).preemptible = true;
    }

    /// Whether `name` was referenced as `extern $name` so far.
    pub fn is_preemptible(&self, name: &str) -> bool {
        self.symbols.get(name).is_some_and(|s| s.preemptible)
    }

    /// Records a direct call of `name`.
    pub fn reference_function(&mut self, name: &str) {
        self.symbol(name).kind = Some(RefKind::Function);
    }

    /// Records how the body of the function `name` uses its `l`
    /// parameters (`ptr_params`, by IL position) and whether it returns
    /// an address: hints for the analysis of later callers.
    pub fn record_body_use(&mut self, name: &str, ptr_params: &[bool], returns_ptr: bool) {
        let s = self.symbol(name);
        s.ptr_params = ptr_params
            .iter()
            .take(64)
            .enumerate()
            .fold(0, |bits, (i, &p)| bits | (u64::from(p) << i));
        s.returns_ptr = returns_ptr;
    }

    /// Whether the body of `name`, if already seen, uses its `index`th
    /// parameter as an address.
    pub fn param_used_as_ptr(&self, name: &str, index: usize) -> bool {
        index < 64
            && self
                .symbols
                .get(name)
                .is_some_and(|s| s.ptr_params & (1 << index) != 0)
    }

    /// Whether the body of `name`, if already seen, returns an address.
    pub fn returns_ptr_value(&self, name: &str) -> bool {
        self.symbols.get(name).is_some_and(|s| s.returns_ptr)
    }

    /// The signature `name` was given first, if any.
    pub fn sig(&self, name: &str) -> Option<Rc<Sig>> {
        self.symbols.get(name)?.sig.clone()
    }

    /// The signature `name` was given first, if any, borrowed.
    pub fn sig_ref(&self, name: &str) -> Option<&Sig> {
        self.symbols.get(name)?.sig.as_deref()
    }

    /// Fixes `name`'s signature unless it already has one.
    pub fn fix_sig(&mut self, name: &str, sig: &Sig) {
        if self.symbols.get(name).is_some_and(|s| s.sig.is_some()) {
            return;
        }
        self.set_sig(name, sig);
    }

    /// Sets `name`'s signature, replacing any earlier one.
    pub fn set_sig(&mut self, name: &str, sig: &Sig) {
        let shared = match self.sigs.get(sig) {
            Some(shared) => shared.clone(),
            None => {
                let shared = Rc::new(sig.clone());
                self.sigs.insert(shared.clone());
                shared
            }
        };
        self.symbol(name).sig = Some(shared);
    }

    /// Notes that an intrinsic is used; its declaration is written at the end.
    pub fn use_intrinsic(&mut self, decl: &'static str) {
        self.intrinsics.insert(decl);
    }

    /// Switches the current debug file (`dbgfile`).
    pub fn set_debug_file(&mut self, name: &str, out: &mut dyn Write) -> io::Result<()> {
        let Some(d) = self.debug.as_mut() else {
            return Ok(());
        };
        if d.first_file.is_none() {
            d.first_file = Some(name.to_string());
            d.files.insert(name.to_string(), DEFAULT_FILE_ID);
            d.current_file = DEFAULT_FILE_ID;
            return Ok(());
        }
        if let Some(&id) = d.files.get(name) {
            d.current_file = id;
            return Ok(());
        }
        let id = d.fresh();
        d.files.insert(name.to_string(), id);
        d.current_file = id;
        writeln!(out, "!{id} = {}", di_file(name))
    }

    /// Writes a data definition.
    pub fn write_data(&mut self, d: &DataDef, out: &mut dyn Write) -> io::Result<()> {
        if let Some(Section {
            name,
            flags: Some(flags),
        }) = &d.linkage.section
        {
            return self.write_asm_data(d, name, flags, out);
        }
        self.define_with(&d.name, &d.linkage, false);
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut bytes: Vec<u8> = Vec::new();
        let flush = |bytes: &mut Vec<u8>, fields: &mut Vec<(String, String)>| {
            if bytes.is_empty() {
                return;
            }
            let ty = format!("[{} x i8]", bytes.len());
            let init = if bytes.iter().all(|&b| b == 0) {
                "zeroinitializer".to_string()
            } else {
                let mut s = Buf::default();
                s.push_str("c\"");
                push_escaped(&mut s, bytes);
                s.push('"');
                s.into_string()
            };
            fields.push((ty, init));
            bytes.clear();
        };
        for item in &d.items {
            match item {
                DataItem::Zero(n) => {
                    if *n <= 64 {
                        bytes.extend(std::iter::repeat_n(0u8, *n as usize));
                    } else {
                        flush(&mut bytes, &mut fields);
                        fields.push((format!("[{n} x i8]"), "zeroinitializer".into()));
                    }
                }
                DataItem::Values { ty, values } => {
                    for v in values {
                        match v {
                            DataValue::Str(s) => bytes.extend_from_slice(s),
                            DataValue::Int(i) => {
                                bytes.extend_from_slice(&i.to_le_bytes()[..ty.size() as usize])
                            }
                            DataValue::Single(x) => {
                                let b = if *ty == ExtType::D {
                                    f64::from(*x).to_le_bytes().to_vec()
                                } else {
                                    x.to_le_bytes().to_vec()
                                };
                                bytes.extend_from_slice(
                                    &b[..ty.size().min(b.len() as u32) as usize],
                                );
                            }
                            DataValue::Double(x) => {
                                let b = if *ty == ExtType::S {
                                    (*x as f32).to_le_bytes().to_vec()
                                } else {
                                    x.to_le_bytes().to_vec()
                                };
                                bytes.extend_from_slice(
                                    &b[..ty.size().min(b.len() as u32) as usize],
                                );
                            }
                            DataValue::Addr { sym, offset } => {
                                flush(&mut bytes, &mut fields);
                                self.reference_data(sym, false);
                                let addr = if *offset == 0 {
                                    global_name(sym)
                                } else {
                                    format!(
                                        "getelementptr (i8, ptr {}, i64 {offset})",
                                        global_name(sym)
                                    )
                                };
                                match ty.size() {
                                    8 => fields.push(("ptr".into(), addr)),
                                    n => fields.push((
                                        format!("i{}", n * 8),
                                        format!(
                                            "trunc (i64 ptrtoint (ptr {addr} to i64) to i{})",
                                            n * 8
                                        ),
                                    )),
                                }
                            }
                        }
                    }
                }
            }
        }
        flush(&mut bytes, &mut fields);
        let all_zero = fields.iter().all(|(_, init)| init == "zeroinitializer");
        let mut line = format!("{} = ", global_name(&d.name));
        line.push_str(linkage_prefix(
            &d.linkage,
            all_zero,
            self.is_preemptible(&d.name),
        ));
        if d.linkage.thread {
            line.push_str("thread_local ");
        }
        line.push_str("global ");
        if fields.len() == 1 {
            let (ty, init) = &fields[0];
            let _ = write!(line, "{ty} {init}");
        } else {
            let tys: Vec<&str> = fields.iter().map(|(t, _)| t.as_str()).collect();
            let _ = write!(line, "<{{ {} }}> ", tys.join(", "));
            if all_zero {
                line.push_str("zeroinitializer");
            } else {
                let inits: Vec<String> = fields.iter().map(|(t, i)| format!("{t} {i}")).collect();
                let _ = write!(line, "<{{ {} }}>", inits.join(", "));
            }
        }
        if let Some(s) = &d.linkage.section {
            if !(d.linkage.common && all_zero) {
                let _ = write!(line, ", section {}", quoted(&s.name));
            }
        }
        let _ = write!(line, ", align {}", d.align.unwrap_or(8));
        writeln!(out, "{line}")
    }

    /// Writes a data definition whose section has flags as module-level
    /// assembly (see [`crate::asm_data`]). The symbol stays undefined for
    /// LLVM: uses get an external declaration.
    fn write_asm_data(
        &mut self,
        d: &DataDef,
        section: &str,
        flags: &str,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let (lines, refs) = crate::asm_data::data_lines(d, flags, section);
        for target in refs {
            self.asm_refs.insert(target.into());
        }
        for line in lines {
            let mut text = Buf::default();
            text.push_str("module asm \"");
            push_escaped(&mut text, line.as_bytes());
            text.push_str("\"\n");
            out.write_all(text.as_bytes())?;
        }
        Ok(())
    }

    /// Writes declarations for everything referenced but not defined, the
    /// intrinsics used, and the module-level metadata.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out)?;
        let mut undefined: Vec<(&str, RefKind, Option<Sig>)> = self
            .symbols
            .iter()
            .filter(|(_, s)| !s.defined)
            .filter_map(|(name, s)| Some((&**name, s.kind?, s.sig.as_deref().cloned())))
            .collect();
        undefined.sort_by(|a, b| a.0.cmp(b.0));
        for (name, kind, sig) in undefined {
            match kind {
                RefKind::Data => writeln!(out, "{} = external global i8", global_name(name))?,
                RefKind::ThreadData => writeln!(
                    out,
                    "{} = external thread_local global i8",
                    global_name(name)
                )?,
                RefKind::InitialExecThreadData => writeln!(
                    out,
                    "{} = external thread_local(initialexec) global i8",
                    global_name(name)
                )?,
                RefKind::Function => {
                    let sig = sig.unwrap_or(Sig {
                        ret: "void".into(),
                        ret_attrs: "".into(),
                        params: Vec::new(),
                        variadic: true,
                    });
                    let mut params: Vec<String> = sig
                        .params
                        .iter()
                        .map(|p| {
                            if p.attrs.is_empty() {
                                p.ty.to_string()
                            } else {
                                format!("{} {}", p.ty, p.attrs)
                            }
                        })
                        .collect();
                    if sig.variadic {
                        params.push("...".into());
                    }
                    writeln!(
                        out,
                        "declare {}{} {}({})",
                        sig.ret_attrs,
                        sig.ret,
                        global_name(name),
                        params.join(", ")
                    )?;
                }
            }
        }
        for decl in &self.intrinsics {
            writeln!(out, "{decl}")?;
        }
        let kept: Vec<String> = self
            .asm_refs
            .union(&self.sectioned)
            .filter(|name| self.symbols.get(&***name).is_some_and(|s| s.defined))
            .map(|name| format!("ptr {}", global_name(name)))
            .collect();
        if !kept.is_empty() {
            writeln!(
                out,
                "@llvm.compiler.used = appending global [{} x ptr] [{}], section \"llvm.metadata\"",
                kept.len(),
                kept.join(", ")
            )?;
        }
        // IL gives every address a meaning, 0 included: a store to it is
        // a store (QBE's own tests take a SIGSEGV that way), not
        // undefined behaviour to be deleted.
        let mut attrs = String::from("nounwind uwtable null_pointer_is_valid");
        for name in &self.shadowed_builtins {
            attrs.push(' ');
            attrs.push_str(&quoted(&format!("no-builtin-{name}")));
        }
        writeln!(out, "\nattributes #0 = {{ {attrs} }}")?;
        if let Some(d) = &self.debug {
            let file = d
                .first_file
                .clone()
                .unwrap_or_else(|| "<stdin>".to_string());
            writeln!(out, "\n!llvm.dbg.cu = !{{!{CU_ID}}}")?;
            let (f1, f2) = (d.fresh_after(), d.fresh_after() + 1);
            writeln!(out, "!llvm.module.flags = !{{!{f1}, !{f2}}}")?;
            writeln!(
                out,
                "!{CU_ID} = distinct !DICompileUnit(language: DW_LANG_C99, file: !{DEFAULT_FILE_ID}, producer: \"skc\", isOptimized: {}, runtimeVersion: 0, emissionKind: LineTablesOnly)",
                d.optimized
            )?;
            writeln!(
                out,
                "!{SUBROUTINE_TYPE_ID} = !DISubroutineType(types: !{{}})"
            )?;
            writeln!(out, "!{DEFAULT_FILE_ID} = {}", di_file(&file))?;
            writeln!(out, "!{f1} = !{{i32 7, !\"Dwarf Version\", i32 5}}")?;
            writeln!(out, "!{f2} = !{{i32 2, !\"Debug Info Version\", i32 3}}")?;
        }
        Ok(())
    }
}

/// What the module knows about one symbol.
#[derive(Default)]
struct SymbolState {
    defined: bool,
    /// Referenced as `extern $sym`: may be preempted by a definition in
    /// another module, so its own definition must not be `dso_local`.
    preemptible: bool,
    kind: Option<RefKind>,
    /// The first signature, shared with every symbol that has the same.
    sig: Option<Rc<Sig>>,
    /// Bit i: the body uses `l` parameter i as an address.
    ptr_params: u64,
    /// The body returns an address.
    returns_ptr: bool,
}

impl DebugState {
    fn fresh_after(&self) -> u32 {
        self.next_id
    }
}

fn di_file(path: &str) -> String {
    let (dir, base) = match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    };
    format!(
        "!DIFile(filename: {}, directory: {})",
        quoted(base),
        quoted(dir)
    )
}

/// Linkage keywords for a definition. `dso_local` (LangRef: the symbol
/// resolves within this linkage unit, so it is accessed directly) is left
/// out for a `preemptible` symbol, one the module reaches through
/// `extern $sym`: another module's definition may take its place.
pub fn linkage_prefix(l: &Linkage, zero_init: bool, preemptible: bool) -> &'static str {
    match (
        l.common && zero_init && l.section.is_none(),
        l.export,
        preemptible,
    ) {
        (true, _, false) => "common dso_local ",
        (true, _, true) => "common ",
        (false, true, false) => "dso_local ",
        (false, true, true) => "",
        (false, false, _) => "internal ",
    }
}

/// Float literal helpers re-exported for the function lowering.
pub fn float_bits_literal(bits: u32) -> String {
    float_literal(bits)
}

/// Double literal helper.
pub fn double_bits_literal(bits: u64) -> String {
    double_literal(bits)
}
