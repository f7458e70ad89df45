//! Items to canonical text.
//!
//! The output parses back to the same items: every jump is explicit,
//! floats are written so they read back bit for bit (a value the float
//! syntax cannot express, such as a NaN, is written as its integer bit
//! pattern, which the parser reads as bits), strings are escaped so they
//! read back byte for byte, and names that are not valid identifiers or
//! that clash are replaced by fresh ones.

use std::collections::HashSet;
use std::fmt::{self, Write};

use crate::ir::types::{Field, FieldType, TypeShape, TypeTable};
use crate::ir::Module;
use crate::ir::{
    AbiType, Const, DataDef, DataItem, DataValue, Function, InstKind, Item, Linkage, Operand,
    Terminator,
};
use crate::lang::lexer::{is_name_char, is_name_start};
pub use crate::lang::opcodes::{binop_name, cmp_name, load_name, store_name, unop_name};

/// Prints a whole module.
pub fn print_module(m: &Module) -> String {
    let mut out = String::new();
    for item in &m.items {
        // Writing to a String cannot fail.
        let _ = print_item(&mut out, item, &m.types);
    }
    out
}

/// Prints one item followed by a newline.
pub fn print_item(out: &mut dyn Write, item: &Item, types: &TypeTable) -> fmt::Result {
    match item {
        Item::Type(id) => print_type(out, types, *id),
        Item::Data(d) => print_data(out, d),
        Item::Function(f) => print_function(out, f, types),
        Item::DbgFile(name) => {
            out.write_str("dbgfile ")?;
            write_string(out, name.as_bytes())?;
            out.write_char('\n')
        }
    }
}

fn print_type(out: &mut dyn Write, types: &TypeTable, id: crate::ir::types::TypeId) -> fmt::Result {
    let def = types.get(id);
    write!(out, "type :{} = ", def.name)?;
    let opaque = matches!(def.shape, TypeShape::Opaque { .. });
    match (def.explicit_align, opaque) {
        (Some(a), _) => write!(out, "align {a} ")?,
        (None, true) => write!(out, "align {} ", def.align)?,
        (None, false) => {}
    }
    match &def.shape {
        TypeShape::Struct(fields) => write_fields(out, types, fields)?,
        TypeShape::Union(variants) => {
            out.write_str("{")?;
            for v in variants {
                out.write_str(" ")?;
                write_fields(out, types, v)?;
            }
            out.write_str(" }")?;
        }
        TypeShape::Opaque { size } => write!(out, "{{ {size} }}")?,
    }
    out.write_char('\n')
}

fn write_fields(out: &mut dyn Write, types: &TypeTable, fields: &[Field]) -> fmt::Result {
    out.write_str("{")?;
    for (i, f) in fields.iter().enumerate() {
        out.write_str(if i == 0 { " " } else { ", " })?;
        match f.ty {
            FieldType::Ext(e) => write!(out, "{e}")?,
            FieldType::Agg(id) => write!(out, ":{}", types.get(id).name)?,
        }
        if f.count != 1 {
            write!(out, " {}", f.count)?;
        }
    }
    out.write_str(" }")
}

fn write_linkage(out: &mut dyn Write, l: &Linkage) -> fmt::Result {
    if l.export {
        out.write_str("export ")?;
    }
    if l.thread {
        out.write_str("thread ")?;
    }
    if l.common {
        out.write_str("common ")?;
    }
    if let Some(s) = &l.section {
        out.write_str("section ")?;
        write_string(out, s.name.as_bytes())?;
        if let Some(f) = &s.flags {
            out.write_char(' ')?;
            write_string(out, f.as_bytes())?;
        }
        out.write_char(' ')?;
    }
    Ok(())
}

fn print_data(out: &mut dyn Write, d: &DataDef) -> fmt::Result {
    write_linkage(out, &d.linkage)?;
    out.write_str("data ")?;
    write_symbol(out, &d.name)?;
    out.write_str(" = ")?;
    if let Some(a) = d.align {
        write!(out, "align {a} ")?;
    }
    out.write_str("{")?;
    let mut first = true;
    for item in &d.items {
        match item {
            DataItem::Values { values, .. } if values.is_empty() => continue,
            _ => {}
        }
        out.write_str(if first { " " } else { ", " })?;
        first = false;
        match item {
            DataItem::Zero(n) => write!(out, "z {n}")?,
            DataItem::Values { ty, values } => {
                write!(out, "{ty}")?;
                for v in values {
                    out.write_char(' ')?;
                    match v {
                        DataValue::Int(n) => write!(out, "{n}")?,
                        DataValue::Single(f) => write_single(out, *f)?,
                        DataValue::Double(f) => write_double(out, *f)?,
                        DataValue::Str(s) => write_string(out, s)?,
                        DataValue::Addr { sym, offset } => write_addr(out, sym, *offset)?,
                    }
                }
            }
        }
    }
    out.write_str(if first { "}\n" } else { " }\n" })
}

/// `s_…`, or the bit pattern when the value has no exact literal (NaN).
fn write_single(out: &mut dyn Write, f: f32) -> fmt::Result {
    if f.is_nan() {
        write!(out, "{}", f.to_bits())
    } else if plain_float_range(f64::from(f)) {
        write!(out, "s_{f}")
    } else {
        write!(out, "s_{f:e}")
    }
}

/// `d_…`, or the bit pattern when the value has no exact literal (NaN).
fn write_double(out: &mut dyn Write, f: f64) -> fmt::Result {
    if f.is_nan() {
        write!(out, "{}", f.to_bits() as i64)
    } else if plain_float_range(f) {
        write!(out, "d_{f}")
    } else {
        write!(out, "d_{f:e}")
    }
}

/// Whether a float reads best without an exponent. Both forms use the
/// shortest digits that read back exactly.
fn plain_float_range(f: f64) -> bool {
    f == 0.0 || (1e-5..1e16).contains(&f.abs())
}

fn write_addr(out: &mut dyn Write, sym: &str, offset: i64) -> fmt::Result {
    write_symbol(out, sym)?;
    if offset != 0 {
        write!(out, " + {offset}")?;
    }
    Ok(())
}

/// True when `name` can be written after a sigil without quotes.
fn is_plain_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty() && is_name_start(b[0]) && b[1..].iter().all(|&c| is_name_char(c))
}

fn write_symbol(out: &mut dyn Write, sym: &str) -> fmt::Result {
    out.write_char('$')?;
    if is_plain_name(sym) {
        out.write_str(sym)
    } else {
        write_string(out, sym.as_bytes())
    }
}

/// A quoted string whose escapes decode back to exactly `bytes`.
fn write_string(out: &mut dyn Write, bytes: &[u8]) -> fmt::Result {
    out.write_char('"')?;
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let plain = (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
        if plain {
            continue;
        }
        // Plain bytes are ASCII, so this slice is valid UTF-8.
        out.write_str(std::str::from_utf8(&bytes[run_start..i]).unwrap_or(""))?;
        run_start = i + 1;
        match b {
            b'"' => out.write_str("\\\"")?,
            b'\\' => out.write_str("\\\\")?,
            b'\n' => out.write_str("\\n")?,
            b'\t' => out.write_str("\\t")?,
            _ => write!(out, "\\{b:03o}")?,
        }
    }
    out.write_str(std::str::from_utf8(&bytes[run_start..]).unwrap_or(""))?;
    out.write_char('"')
}

/// Names to print for values or blocks: the original ones when they are
/// valid and distinct, fresh ones otherwise.
fn printable_names<'n>(names: impl Iterator<Item = &'n str> + Clone, prefix: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let all_fine = names.clone().all(|n| is_plain_name(n) && seen.insert(n));
    if all_fine {
        return names.map(str::to_string).collect();
    }
    let mut used: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for (i, n) in names.enumerate() {
        let mut candidate = if is_plain_name(n) {
            n.to_string()
        } else {
            format!("{prefix}{i}")
        };
        let mut k = 0;
        while used.contains(&candidate) {
            k += 1;
            candidate = format!("{n}.{k}");
            if !is_plain_name(&candidate) {
                candidate = format!("{prefix}{i}.{k}");
            }
        }
        used.insert(candidate.clone());
        out.push(candidate);
    }
    out
}

struct FnPrinter<'f> {
    f: &'f Function,
    types: &'f TypeTable,
    values: Vec<String>,
    blocks: Vec<String>,
}

fn print_function(out: &mut dyn Write, f: &Function, types: &TypeTable) -> fmt::Result {
    let p = FnPrinter {
        f,
        types,
        values: printable_names(f.values.iter().map(|v| v.name.as_str()), "v"),
        blocks: printable_names(f.blocks.iter().map(|b| b.name.as_str()), "b"),
    };
    p.print(out)
}

impl FnPrinter<'_> {
    fn abi(&self, out: &mut dyn Write, t: AbiType) -> fmt::Result {
        match t {
            AbiType::Base(b) => write!(out, "{b}"),
            AbiType::SubWord(s) => write!(out, "{s}"),
            AbiType::Agg(id) => write!(out, ":{}", self.types.get(id).name),
        }
    }

    fn value(&self, out: &mut dyn Write, v: crate::ir::Value) -> fmt::Result {
        match self.values.get(v.index()) {
            Some(n) => write!(out, "%{n}"),
            None => write!(out, "%invalid.{}", v.0),
        }
    }

    fn block(&self, out: &mut dyn Write, b: crate::ir::Block) -> fmt::Result {
        match self.blocks.get(b.index()) {
            Some(n) => write!(out, "@{n}"),
            None => write!(out, "@invalid.{}", b.0),
        }
    }

    fn operand(&self, out: &mut dyn Write, op: &Operand) -> fmt::Result {
        match op {
            Operand::Value(v) => self.value(out, *v),
            Operand::Const(c) => match c {
                Const::Int(n) => write!(out, "{n}"),
                Const::Single(f) => write_single(out, *f),
                Const::Double(f) => write_double(out, *f),
                Const::Addr { sym, offset } => write_addr(out, sym, *offset),
                Const::Thread(s) => {
                    out.write_str("thread ")?;
                    write_symbol(out, s)
                }
                Const::Extern(s) => {
                    out.write_str("extern ")?;
                    write_symbol(out, s)
                }
                Const::ExternThread(s) => {
                    out.write_str("extern thread ")?;
                    write_symbol(out, s)
                }
            },
        }
    }

    fn print(&self, out: &mut dyn Write) -> fmt::Result {
        let f = self.f;
        write_linkage(out, &f.linkage)?;
        out.write_str("function ")?;
        if let Some(r) = f.ret {
            self.abi(out, r)?;
            out.write_char(' ')?;
        }
        write_symbol(out, &f.name)?;
        out.write_char('(')?;
        let mut sep = "";
        if let Some(e) = f.env {
            out.write_str("env ")?;
            self.value(out, e)?;
            sep = ", ";
        }
        for p in &f.params {
            out.write_str(sep)?;
            self.abi(out, p.ty)?;
            out.write_char(' ')?;
            self.value(out, p.value)?;
            sep = ", ";
        }
        if f.variadic {
            out.write_str(sep)?;
            out.write_str("...")?;
        }
        out.write_str(") {\n")?;
        for (i, b) in f.blocks.iter().enumerate() {
            self.block(out, crate::ir::Block(i as u32))?;
            out.write_char('\n')?;
            for phi in &b.phis {
                out.write_char('\t')?;
                self.value(out, phi.result)?;
                write!(out, " ={} phi ", f.value_type(phi.result))?;
                for (k, (pred, v)) in phi.args.iter().enumerate() {
                    if k > 0 {
                        out.write_str(", ")?;
                    }
                    self.block(out, *pred)?;
                    out.write_char(' ')?;
                    self.operand(out, v)?;
                }
                out.write_char('\n')?;
            }
            for inst in &b.insts {
                out.write_char('\t')?;
                self.inst(out, inst)?;
                out.write_char('\n')?;
            }
            out.write_char('\t')?;
            match &b.term {
                Terminator::Jmp(t) => {
                    out.write_str("jmp ")?;
                    self.block(out, *t)?;
                }
                Terminator::Jnz {
                    cond,
                    nonzero,
                    zero,
                } => {
                    out.write_str("jnz ")?;
                    self.operand(out, cond)?;
                    out.write_str(", ")?;
                    self.block(out, *nonzero)?;
                    out.write_str(", ")?;
                    self.block(out, *zero)?;
                }
                Terminator::Ret(None) => out.write_str("ret")?,
                Terminator::Ret(Some(v)) => {
                    out.write_str("ret ")?;
                    self.operand(out, v)?;
                }
                Terminator::Hlt => out.write_str("hlt")?,
            }
            out.write_char('\n')?;
        }
        out.write_str("}\n")
    }

    fn inst(&self, out: &mut dyn Write, inst: &crate::ir::Inst) -> fmt::Result {
        if let Some(r) = inst.result {
            self.value(out, r)?;
            out.write_str(" =")?;
            match &inst.kind {
                InstKind::Call { ret: Some(t), .. } => self.abi(out, *t)?,
                _ => write!(out, "{}", self.f.value_type(r))?,
            }
            out.write_char(' ')?;
        }
        let two = |p: &Self, out: &mut dyn Write, name: &str, a: &Operand, b: &Operand| {
            write!(out, "{name} ")?;
            p.operand(out, a)?;
            out.write_str(", ")?;
            p.operand(out, b)
        };
        match &inst.kind {
            InstKind::Binary { op, lhs, rhs } => two(self, out, binop_name(*op), lhs, rhs),
            InstKind::Compare { op, ty, lhs, rhs } => {
                two(self, out, &format!("c{}{ty}", cmp_name(*op)), lhs, rhs)
            }
            InstKind::Unary { op, arg } => {
                write!(out, "{} ", unop_name(*op))?;
                self.operand(out, arg)
            }
            InstKind::Load { kind, addr } => {
                write!(out, "{} ", load_name(*kind))?;
                self.operand(out, addr)
            }
            InstKind::Store { kind, value, addr } => two(self, out, store_name(*kind), value, addr),
            InstKind::Alloc { align, size } => {
                write!(out, "alloc{align} ")?;
                self.operand(out, size)
            }
            InstKind::Blit { src, dst, size } => {
                two(self, out, "blit", src, dst)?;
                write!(out, ", {size}")
            }
            InstKind::Call {
                callee,
                env,
                args,
                variadic_from,
                ..
            } => {
                out.write_str("call ")?;
                self.operand(out, callee)?;
                out.write_char('(')?;
                let mut sep = "";
                if let Some(e) = env {
                    out.write_str("env ")?;
                    self.operand(out, e)?;
                    sep = ", ";
                }
                for (i, a) in args.iter().enumerate() {
                    if *variadic_from == Some(i) {
                        out.write_str(sep)?;
                        out.write_str("...")?;
                        sep = ", ";
                    }
                    out.write_str(sep)?;
                    self.abi(out, a.ty)?;
                    out.write_char(' ')?;
                    self.operand(out, &a.value)?;
                    sep = ", ";
                }
                if let Some(v) = *variadic_from {
                    if v >= args.len() {
                        out.write_str(sep)?;
                        out.write_str("...")?;
                    }
                }
                out.write_char(')')
            }
            InstKind::VaStart { ap } => {
                out.write_str("vastart ")?;
                self.operand(out, ap)
            }
            InstKind::VaArg { ap } => {
                out.write_str("vaarg ")?;
                self.operand(out, ap)
            }
            InstKind::DbgLoc { line, col } => {
                write!(out, "dbgloc {line}")?;
                if *col != 0 {
                    write!(out, ", {col}")?;
                }
                Ok(())
            }
        }
    }
}
