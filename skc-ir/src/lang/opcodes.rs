//! Instruction names: what each spelling means and which operand types
//! an instruction expects.

use crate::ir::{BaseType, BinOp, CmpOp, ExtType, LoadKind, StoreKind, UnOp};

/// What an instruction name means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opcode {
    Bin(BinOp),
    Cmp(CmpOp, BaseType),
    Un(UnOp),
    /// `None`: the kind follows from the result type.
    Load(Option<LoadKind>),
    Store(StoreKind),
    Alloc(u32),
    Blit,
    Call,
    VaStart,
    VaArg,
    Phi,
    DbgLoc,
    Jmp,
    Jnz,
    Ret,
    Hlt,
}

impl Opcode {
    pub(crate) fn from_name(name: &[u8]) -> Option<Opcode> {
        use Opcode::*;
        Some(match name {
            b"add" => Bin(BinOp::Add),
            b"sub" => Bin(BinOp::Sub),
            b"mul" => Bin(BinOp::Mul),
            b"div" => Bin(BinOp::Div),
            b"rem" => Bin(BinOp::Rem),
            b"udiv" => Bin(BinOp::Udiv),
            b"urem" => Bin(BinOp::Urem),
            b"and" => Bin(BinOp::And),
            b"or" => Bin(BinOp::Or),
            b"xor" => Bin(BinOp::Xor),
            b"sar" => Bin(BinOp::Sar),
            b"shr" => Bin(BinOp::Shr),
            b"shl" => Bin(BinOp::Shl),
            b"neg" => Un(UnOp::Neg),
            b"extsb" => Un(UnOp::Extsb),
            b"extub" => Un(UnOp::Extub),
            b"extsh" => Un(UnOp::Extsh),
            b"extuh" => Un(UnOp::Extuh),
            b"extsw" => Un(UnOp::Extsw),
            b"extuw" => Un(UnOp::Extuw),
            b"exts" => Un(UnOp::Exts),
            b"truncd" => Un(UnOp::Truncd),
            b"stosi" => Un(UnOp::Stosi),
            b"stoui" => Un(UnOp::Stoui),
            b"dtosi" => Un(UnOp::Dtosi),
            b"dtoui" => Un(UnOp::Dtoui),
            b"swtof" => Un(UnOp::Swtof),
            b"uwtof" => Un(UnOp::Uwtof),
            b"sltof" => Un(UnOp::Sltof),
            b"ultof" => Un(UnOp::Ultof),
            b"cast" => Un(UnOp::Cast),
            b"copy" => Un(UnOp::Copy),
            b"loadsb" => Load(Some(LoadKind::Sb)),
            b"loadub" => Load(Some(LoadKind::Ub)),
            b"loadsh" => Load(Some(LoadKind::Sh)),
            b"loaduh" => Load(Some(LoadKind::Uh)),
            b"loadsw" | b"loadw" => Load(Some(LoadKind::Sw)),
            b"loaduw" => Load(Some(LoadKind::Uw)),
            // As in the reference, these three are the plain `load`: the
            // result type says what is read.
            b"load" | b"loadl" | b"loads" | b"loadd" => Load(None),
            b"storeb" => Store(StoreKind::B),
            b"storeh" => Store(StoreKind::H),
            b"storew" => Store(StoreKind::W),
            b"storel" => Store(StoreKind::L),
            b"stores" => Store(StoreKind::S),
            b"stored" => Store(StoreKind::D),
            b"alloc1" => Alloc(1),
            b"alloc2" => Alloc(2),
            b"alloc4" => Alloc(4),
            b"alloc8" => Alloc(8),
            b"alloc16" => Alloc(16),
            b"blit" => Blit,
            b"call" => Call,
            b"vastart" => VaStart,
            b"vaarg" => VaArg,
            b"phi" => Phi,
            b"dbgloc" => DbgLoc,
            b"jmp" => Jmp,
            b"jnz" => Jnz,
            b"ret" => Ret,
            b"hlt" => Hlt,
            _ => return compare_from_name(name).map(|(op, ty)| Cmp(op, ty)),
        })
    }

    /// `Some(true)`: must have a result; `Some(false)`: must not; `None`:
    /// either (calls).
    pub(crate) fn needs_result(self) -> Option<bool> {
        use Opcode::*;
        match self {
            Bin(_) | Cmp(..) | Un(_) | Load(_) | Alloc(_) | VaArg | Phi => Some(true),
            Store(_) | Blit | VaStart | DbgLoc | Jmp | Jnz | Ret | Hlt => Some(false),
            Call => None,
        }
    }
}

/// Every instruction name the reader accepts, comparisons spelled out
/// for each type they take: what "covers every instruction" is measured
/// against (`cargo xtask difftest --coverage`).
pub fn instruction_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "add", "sub", "mul", "div", "rem", "udiv", "urem", "and", "or", "xor", "sar", "shr", "shl",
        "neg", "extsb", "extub", "extsh", "extuh", "extsw", "extuw", "exts", "truncd", "stosi",
        "stoui", "dtosi", "dtoui", "swtof", "uwtof", "sltof", "ultof", "cast", "copy", "loadsb",
        "loadub", "loadsh", "loaduh", "loadsw", "loadw", "loaduw", "load", "loadl", "loads",
        "loadd", "storeb", "storeh", "storew", "storel", "stores", "stored", "alloc1", "alloc2",
        "alloc4", "alloc8", "alloc16", "blit", "call", "vastart", "vaarg", "phi", "dbgloc", "jmp",
        "jnz", "ret", "hlt",
    ]
    .map(String::from)
    .to_vec();
    let integer = [
        "eq", "ne", "sle", "slt", "sge", "sgt", "ule", "ult", "uge", "ugt",
    ];
    let float = ["eq", "ne", "le", "lt", "ge", "gt", "o", "uo"];
    for t in ["w", "l"] {
        names.extend(integer.iter().map(|k| format!("c{k}{t}")));
    }
    for t in ["s", "d"] {
        names.extend(float.iter().map(|k| format!("c{k}{t}")));
    }
    names
}

/// `c` + comparison + type letter, e.g. `csltw`, `cuod`.
fn compare_from_name(name: &[u8]) -> Option<(CmpOp, BaseType)> {
    let (&last, rest) = name.split_last()?;
    let body = rest.strip_prefix(b"c")?;
    let ty = match last {
        b'w' => BaseType::W,
        b'l' => BaseType::L,
        b's' => BaseType::S,
        b'd' => BaseType::D,
        _ => return None,
    };
    let op = match (body, ty.is_float()) {
        (b"eq", _) => CmpOp::Eq,
        (b"ne", _) => CmpOp::Ne,
        (b"sle", false) => CmpOp::Sle,
        (b"slt", false) => CmpOp::Slt,
        (b"sge", false) => CmpOp::Sge,
        (b"sgt", false) => CmpOp::Sgt,
        (b"ule", false) => CmpOp::Ule,
        (b"ult", false) => CmpOp::Ult,
        (b"uge", false) => CmpOp::Uge,
        (b"ugt", false) => CmpOp::Ugt,
        (b"le", true) => CmpOp::Le,
        (b"lt", true) => CmpOp::Lt,
        (b"ge", true) => CmpOp::Ge,
        (b"gt", true) => CmpOp::Gt,
        (b"o", true) => CmpOp::O,
        (b"uo", true) => CmpOp::Uo,
        _ => return None,
    };
    Some((op, ty))
}

/// The operand type of a one-operand instruction with result type `rty`.
pub fn unary_arg_type(op: UnOp, rty: BaseType) -> BaseType {
    use BaseType::*;
    match op {
        UnOp::Neg | UnOp::Copy => rty,
        UnOp::Extsb | UnOp::Extub | UnOp::Extsh | UnOp::Extuh | UnOp::Extsw | UnOp::Extuw => W,
        UnOp::Exts | UnOp::Stosi | UnOp::Stoui => S,
        UnOp::Truncd | UnOp::Dtosi | UnOp::Dtoui => D,
        UnOp::Swtof | UnOp::Uwtof => W,
        UnOp::Sltof | UnOp::Ultof => L,
        UnOp::Cast => match rty {
            W => S,
            L => D,
            S => W,
            D => L,
        },
    }
}

/// The extended type named by a data or field type letter.
pub(crate) fn ext_type(text: &[u8]) -> Option<ExtType> {
    Some(match text {
        b"b" => ExtType::B,
        b"h" => ExtType::H,
        b"w" => ExtType::W,
        b"l" => ExtType::L,
        b"s" => ExtType::S,
        b"d" => ExtType::D,
        _ => return None,
    })
}

/// The text name of a binary operation.
pub fn binop_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "add",
        BinOp::Sub => "sub",
        BinOp::Mul => "mul",
        BinOp::Div => "div",
        BinOp::Rem => "rem",
        BinOp::Udiv => "udiv",
        BinOp::Urem => "urem",
        BinOp::And => "and",
        BinOp::Or => "or",
        BinOp::Xor => "xor",
        BinOp::Sar => "sar",
        BinOp::Shr => "shr",
        BinOp::Shl => "shl",
    }
}

/// The comparison part of a compare instruction's name (`slt`, `uo`, …).
pub fn cmp_name(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "eq",
        CmpOp::Ne => "ne",
        CmpOp::Sle => "sle",
        CmpOp::Slt => "slt",
        CmpOp::Sge => "sge",
        CmpOp::Sgt => "sgt",
        CmpOp::Ule => "ule",
        CmpOp::Ult => "ult",
        CmpOp::Uge => "uge",
        CmpOp::Ugt => "ugt",
        CmpOp::Le => "le",
        CmpOp::Lt => "lt",
        CmpOp::Ge => "ge",
        CmpOp::Gt => "gt",
        CmpOp::O => "o",
        CmpOp::Uo => "uo",
    }
}

/// The text name of a one-operand instruction.
pub fn unop_name(op: UnOp) -> &'static str {
    match op {
        UnOp::Neg => "neg",
        UnOp::Extsb => "extsb",
        UnOp::Extub => "extub",
        UnOp::Extsh => "extsh",
        UnOp::Extuh => "extuh",
        UnOp::Extsw => "extsw",
        UnOp::Extuw => "extuw",
        UnOp::Exts => "exts",
        UnOp::Truncd => "truncd",
        UnOp::Stosi => "stosi",
        UnOp::Stoui => "stoui",
        UnOp::Dtosi => "dtosi",
        UnOp::Dtoui => "dtoui",
        UnOp::Swtof => "swtof",
        UnOp::Uwtof => "uwtof",
        UnOp::Sltof => "sltof",
        UnOp::Ultof => "ultof",
        UnOp::Cast => "cast",
        UnOp::Copy => "copy",
    }
}

/// The text name of a load.
pub fn load_name(k: LoadKind) -> &'static str {
    match k {
        LoadKind::Sb => "loadsb",
        LoadKind::Ub => "loadub",
        LoadKind::Sh => "loadsh",
        LoadKind::Uh => "loaduh",
        LoadKind::Sw => "loadsw",
        LoadKind::Uw => "loaduw",
        LoadKind::L => "loadl",
        LoadKind::S => "loads",
        LoadKind::D => "loadd",
    }
}

/// The text name of a store.
pub fn store_name(k: StoreKind) -> &'static str {
    match k {
        StoreKind::B => "storeb",
        StoreKind::H => "storeh",
        StoreKind::W => "storew",
        StoreKind::L => "storel",
        StoreKind::S => "stores",
        StoreKind::D => "stored",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_36_comparisons() {
        let kinds = [
            "eq", "ne", "sle", "slt", "sge", "sgt", "ule", "ult", "uge", "ugt", "le", "lt", "ge",
            "gt", "o", "uo",
        ];
        let mut valid = 0;
        for k in kinds {
            for t in ["w", "l", "s", "d"] {
                if let Some(Opcode::Cmp(_, ty)) = Opcode::from_name(format!("c{k}{t}").as_bytes()) {
                    assert_eq!(ty.letter().to_string(), t);
                    valid += 1;
                }
            }
        }
        assert_eq!(valid, 36);
        assert_eq!(Opcode::from_name(b"csltd"), None);
        assert_eq!(
            Opcode::from_name(b"cos"),
            Some(Opcode::Cmp(CmpOp::O, BaseType::S))
        );
    }

    #[test]
    fn the_list_of_names_is_what_the_reader_accepts() {
        let names = instruction_names();
        for n in &names {
            assert!(Opcode::from_name(n.as_bytes()).is_some(), "{n}");
        }
        // 64 fixed names and 36 comparisons.
        assert_eq!(names.len(), 100);
    }

    #[test]
    fn load_aliases_follow_the_reference() {
        assert_eq!(
            Opcode::from_name(b"loadw"),
            Some(Opcode::Load(Some(LoadKind::Sw)))
        );
        for bare in ["load", "loadl", "loads", "loadd"] {
            assert_eq!(Opcode::from_name(bare.as_bytes()), Some(Opcode::Load(None)));
        }
        assert_eq!(Opcode::from_name(b"alloc1"), Some(Opcode::Alloc(1)));
    }
}
