//! The data model: module items, functions, blocks, instructions.
//!
//! Entities are `u32` ids into per-function arenas (`Function::blocks`,
//! `Function::values`); nothing holds a pointer to anything else. An id's
//! `Display` is its canonical text form where one exists.
//!
//! After [`crate::sema::ssa`] and [`crate::sema::cfg`] have run (which is what
//! [`crate::reader::ItemReader`] hands out), a function is in SSA form: every
//! value has exactly one definition (a parameter, a phi or an instruction),
//! `blocks[0]` is the entry and is never a jump target, blocks are stored in
//! reverse post-order, unreachable blocks are gone, and every block ends in a
//! terminator.

mod base;
pub mod types;

pub use self::base::{BaseType, ExtType, Pos, SubWord};
use crate::ir::types::{TypeId, TypeTable};

/// The type of a parameter, a return or a call argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AbiType {
    /// A base type.
    Base(BaseType),
    /// A sub-word integer; the value inside the function is a `w`.
    SubWord(SubWord),
    /// An aggregate passed by value; the value inside the function is an
    /// `l` holding its address.
    Agg(TypeId),
}

impl AbiType {
    /// The base type of the value that stands for this in a function body.
    pub fn value_type(self) -> BaseType {
        match self {
            AbiType::Base(b) => b,
            AbiType::SubWord(_) => BaseType::W,
            AbiType::Agg(_) => BaseType::L,
        }
    }
}

/// A whole module in memory (for tests and tools; compilation streams).
#[derive(Clone, Debug, Default)]
pub struct Module {
    /// Aggregate types, as defined by the module's type items.
    pub types: TypeTable,
    /// Items in input order.
    pub items: Vec<Item>,
}

/// Linkage of a data definition or function.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Linkage {
    /// `export`: visible to other objects.
    pub export: bool,
    /// `thread`: thread-local storage.
    pub thread: bool,
    /// `common`: a common (tentative) definition.
    pub common: bool,
    /// `section "name" ["flags"]`.
    pub section: Option<Section>,
}

/// An explicit output section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Section name, as written (escapes decoded).
    pub name: String,
    /// Optional flags string, passed to the assembler as is.
    pub flags: Option<String>,
}

/// A global symbol name, without the `$` sigil.
pub type Symbol = String;

/// The name of a temporary or a block label: a string that is stored inline
/// (no heap allocation) up to 24 bytes, which covers nearly every name that
/// front ends emit. Dereferences to `str`.
pub type Name = compact_str::CompactString;

/// A constant operand.
#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    /// An integer; its meaning as `w` is the low 32 bits.
    Int(i64),
    /// `s_…`: a single-precision literal.
    Single(f32),
    /// `d_…`: a double-precision literal.
    Double(f64),
    /// `$sym` or `$sym + N`: the address of a symbol plus an offset.
    Addr {
        /// The symbol.
        sym: Symbol,
        /// Byte offset added to the address.
        offset: i64,
    },
    /// `thread $sym`: the address of this thread's instance of a TLS symbol.
    Thread(Symbol),
    /// `extern $sym`: the address of a symbol known to be defined in another
    /// object (no local-binding assumptions).
    Extern(Symbol),
    /// `extern thread $sym`.
    ExternThread(Symbol),
}

/// An SSA value (a temporary, `%name` in the text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub u32);

impl Value {
    /// The arena index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A basic block (`@name` in the text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Block(pub u32);

impl Block {
    /// The arena index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An instruction operand.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// A temporary.
    Value(Value),
    /// A constant.
    Const(Const),
}

/// Side data of a value.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueData {
    /// The name as written (without `%`); values created by SSA construction
    /// get a derived name that does not clash. Stored inline when short:
    /// a module has one per temporary, so a heap string each would dominate
    /// the reader's allocation (and the consumer's freeing) time.
    pub name: Name,
    /// The value's type.
    pub ty: BaseType,
}

/// Integer and float arithmetic with two operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `add`
    Add,
    /// `sub`
    Sub,
    /// `mul`
    Mul,
    /// `div` (signed for integers)
    Div,
    /// `rem` (signed)
    Rem,
    /// `udiv`
    Udiv,
    /// `urem`
    Urem,
    /// `and`
    And,
    /// `or`
    Or,
    /// `xor`
    Xor,
    /// `sar`: arithmetic shift right, amount modulo the width.
    Sar,
    /// `shr`: logical shift right, amount modulo the width.
    Shr,
    /// `shl`: shift left, amount modulo the width.
    Shl,
}

/// Comparison kinds. Integer kinds: `Eq Ne Sle Slt Sge Sgt Ule Ult Uge Ugt`.
/// Float kinds: `Eq Ne Le Lt Ge Gt O Uo` (`Ne` is unordered-or-unequal, the
/// others are ordered).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `sle`
    Sle,
    /// `slt`
    Slt,
    /// `sge`
    Sge,
    /// `sgt`
    Sgt,
    /// `ule`
    Ule,
    /// `ult`
    Ult,
    /// `uge`
    Uge,
    /// `ugt`
    Ugt,
    /// `le` (float)
    Le,
    /// `lt` (float)
    Lt,
    /// `ge` (float)
    Ge,
    /// `gt` (float)
    Gt,
    /// `o`: ordered (neither is NaN).
    O,
    /// `uo`: unordered (either is NaN).
    Uo,
}

/// One-operand operations: negation and conversions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `neg`
    Neg,
    /// `extsb`
    Extsb,
    /// `extub`
    Extub,
    /// `extsh`
    Extsh,
    /// `extuh`
    Extuh,
    /// `extsw`
    Extsw,
    /// `extuw`
    Extuw,
    /// `exts`: single to double.
    Exts,
    /// `truncd`: double to single.
    Truncd,
    /// `stosi`: single to signed integer (saturating, NaN → 0).
    Stosi,
    /// `stoui`
    Stoui,
    /// `dtosi`
    Dtosi,
    /// `dtoui`
    Dtoui,
    /// `swtof`: signed word to float.
    Swtof,
    /// `uwtof`
    Uwtof,
    /// `sltof`
    Sltof,
    /// `ultof`
    Ultof,
    /// `cast`: reinterpret bits between int and float of the same size.
    Cast,
    /// `copy`
    Copy,
}

/// What a load reads from memory and how it extends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoadKind {
    /// `loadsb`
    Sb,
    /// `loadub`
    Ub,
    /// `loadsh`
    Sh,
    /// `loaduh`
    Uh,
    /// `loadsw` (also `loadw`, and `load` with a `w` result)
    Sw,
    /// `loaduw`
    Uw,
    /// `loadl`
    L,
    /// `loads`
    S,
    /// `loadd`
    D,
}

impl LoadKind {
    /// Bytes read from memory.
    pub fn size(self) -> u32 {
        match self {
            LoadKind::Sb | LoadKind::Ub => 1,
            LoadKind::Sh | LoadKind::Uh => 2,
            LoadKind::Sw | LoadKind::Uw | LoadKind::S => 4,
            LoadKind::L | LoadKind::D => 8,
        }
    }
}

/// What a store writes: `storeb storeh storew storel stores stored`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// `storeb`: low 8 bits of a `w`.
    B,
    /// `storeh`: low 16 bits of a `w`.
    H,
    /// `storew`
    W,
    /// `storel`
    L,
    /// `stores`
    S,
    /// `stored`
    D,
}

impl StoreKind {
    /// Bytes written.
    pub fn size(self) -> u32 {
        match self {
            StoreKind::B => 1,
            StoreKind::H => 2,
            StoreKind::W | StoreKind::S => 4,
            StoreKind::L | StoreKind::D => 8,
        }
    }
    /// Type of the stored operand.
    pub fn value_type(self) -> BaseType {
        match self {
            StoreKind::B | StoreKind::H | StoreKind::W => BaseType::W,
            StoreKind::L => BaseType::L,
            StoreKind::S => BaseType::S,
            StoreKind::D => BaseType::D,
        }
    }
}

/// One argument of a call.
#[derive(Clone, Debug, PartialEq)]
pub struct CallArg {
    /// How it is passed.
    pub ty: AbiType,
    /// The value (for aggregates, the address of the bytes to pass).
    pub value: Operand,
}

/// The operation of an instruction.
#[derive(Clone, Debug, PartialEq)]
pub enum InstKind {
    /// Two-operand arithmetic; operands and result have the result's type
    /// (the shift amount of `sar shr shl` is a `w`).
    Binary {
        /// Operation.
        op: BinOp,
        /// Left operand.
        lhs: Operand,
        /// Right operand.
        rhs: Operand,
    },
    /// Comparison of two operands of type `ty`; result 1 or 0.
    Compare {
        /// Comparison kind.
        op: CmpOp,
        /// Operand type.
        ty: BaseType,
        /// Left operand.
        lhs: Operand,
        /// Right operand.
        rhs: Operand,
    },
    /// Negation and conversions.
    Unary {
        /// Operation.
        op: UnOp,
        /// Operand.
        arg: Operand,
    },
    /// Memory read.
    Load {
        /// What is read.
        kind: LoadKind,
        /// Address.
        addr: Operand,
    },
    /// Memory write.
    Store {
        /// What is written.
        kind: StoreKind,
        /// Value stored.
        value: Operand,
        /// Address.
        addr: Operand,
    },
    /// Stack allocation (`alloc4/8/16`, `alloc1/2`); result is an `l`.
    Alloc {
        /// Alignment in bytes.
        align: u32,
        /// Size in bytes.
        size: Operand,
    },
    /// Copy `size` bytes from `src` to `dst`.
    Blit {
        /// Source address.
        src: Operand,
        /// Destination address.
        dst: Operand,
        /// Byte count (a constant).
        size: u64,
    },
    /// A call. The result, if any, has type `ret.value_type()`.
    Call {
        /// Callee: a symbol constant or a value holding a function address.
        callee: Operand,
        /// Return ABI type, if a result is bound.
        ret: Option<AbiType>,
        /// `env` argument.
        env: Option<Operand>,
        /// Fixed and variadic arguments in order.
        args: Vec<CallArg>,
        /// Index in `args` where `...` appears (the first variadic
        /// argument), if the call is variadic.
        variadic_from: Option<usize>,
    },
    /// `vastart %ap`: initialise the `va_list` at `ap`.
    VaStart {
        /// Address of the `va_list`.
        ap: Operand,
    },
    /// `vaarg %ap`: fetch the next variadic argument of the result type.
    VaArg {
        /// Address of the `va_list`.
        ap: Operand,
    },
    /// `dbgloc LINE[, COL]`: source position of what follows.
    DbgLoc {
        /// Line.
        line: u32,
        /// Column (0 when absent).
        col: u32,
    },
}

/// An instruction, with its result value if it has one.
#[derive(Clone, Debug, PartialEq)]
pub struct Inst {
    /// The defined value, if any (its type is in `Function::values`).
    pub result: Option<Value>,
    /// The operation.
    pub kind: InstKind,
    /// Where it was written.
    pub pos: Pos,
}

/// A phi: at the start of a block, picks an operand by predecessor.
#[derive(Clone, Debug, PartialEq)]
pub struct Phi {
    /// Defined value.
    pub result: Value,
    /// One operand per predecessor.
    pub args: Vec<(Block, Operand)>,
    /// Where it was written.
    pub pos: Pos,
}

/// The jump that ends a block.
#[derive(Clone, Debug, PartialEq)]
pub enum Terminator {
    /// `jmp @b`
    Jmp(Block),
    /// `jnz v, @nonzero, @zero` (the condition is a `w`).
    Jnz {
        /// Condition (only its low 32 bits are tested).
        cond: Operand,
        /// Taken when the condition is non-zero.
        nonzero: Block,
        /// Taken when it is zero.
        zero: Block,
    },
    /// `ret [v]`
    Ret(Option<Operand>),
    /// `hlt`: traps.
    Hlt,
}

impl Terminator {
    /// Makes every branch to `from` go to `to` instead.
    pub fn retarget(&mut self, from: Block, to: Block) {
        match self {
            Terminator::Jmp(t) => {
                if *t == from {
                    *t = to;
                }
            }
            Terminator::Jnz { nonzero, zero, .. } => {
                for t in [nonzero, zero] {
                    if *t == from {
                        *t = to;
                    }
                }
            }
            Terminator::Ret(_) | Terminator::Hlt => {}
        }
    }

    /// Successor blocks, in order.
    pub fn successors(&self) -> impl Iterator<Item = Block> + '_ {
        let (a, b) = match *self {
            Terminator::Jmp(b) => (Some(b), None),
            Terminator::Jnz { nonzero, zero, .. } => (Some(nonzero), Some(zero)),
            Terminator::Ret(_) | Terminator::Hlt => (None, None),
        };
        a.into_iter().chain(b)
    }
}

/// A basic block.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockData {
    /// The label as written (without `@`).
    pub name: Name,
    /// Phis, all at the start.
    pub phis: Vec<Phi>,
    /// Instructions in order.
    pub insts: Vec<Inst>,
    /// The final jump.
    pub term: Terminator,
    /// Where the terminator was written (or the implicit one implied).
    pub term_pos: Pos,
    /// Where the label was written.
    pub pos: Pos,
}

impl BlockData {
    /// Makes this block's phis name `to` where they named predecessor
    /// `from` (the edge now comes from `to`).
    pub fn rename_predecessor(&mut self, from: Block, to: Block) {
        for phi in &mut self.phis {
            for (p, _) in &mut phi.args {
                if *p == from {
                    *p = to;
                }
            }
        }
    }
}

/// A function parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// How it is passed.
    pub ty: AbiType,
    /// The value standing for it in the body.
    pub value: Value,
}

/// A function definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// Symbol name.
    pub name: Symbol,
    /// Linkage.
    pub linkage: Linkage,
    /// Return ABI type; `None` for a function that returns nothing.
    pub ret: Option<AbiType>,
    /// `env %e` parameter, if present (always a `l`).
    pub env: Option<Value>,
    /// Ordinary parameters.
    pub params: Vec<Param>,
    /// Whether the parameter list ends in `...`.
    pub variadic: bool,
    /// Blocks; `blocks[0]` is the entry. See the module doc for the order.
    pub blocks: Vec<BlockData>,
    /// Every value's name and type.
    pub values: Vec<ValueData>,
    /// Where `function` was written.
    pub pos: Pos,
}

impl Function {
    /// The type of a value.
    pub fn value_type(&self, v: Value) -> BaseType {
        self.values[v.index()].ty
    }
    /// The data of a block.
    pub fn block(&self, b: Block) -> &BlockData {
        &self.blocks[b.index()]
    }
    /// Ids of all blocks in storage order.
    pub fn block_ids(&self) -> impl Iterator<Item = Block> {
        (0..self.blocks.len() as u32).map(Block)
    }
    /// Adds a value named `name` of type `ty`; its definition is the
    /// caller's to add.
    pub fn add_value(&mut self, name: &str, ty: BaseType) -> Value {
        self.values.push(ValueData {
            name: name.into(),
            ty,
        });
        Value(self.values.len() as u32 - 1)
    }
    /// Adds an empty block labelled `name` that ends in `hlt`, after the
    /// others (so not in reverse post-order).
    pub fn add_block(&mut self, name: &str, pos: Pos) -> Block {
        self.blocks.push(BlockData {
            name: name.into(),
            phis: Vec::new(),
            insts: Vec::new(),
            term: Terminator::Hlt,
            term_pos: pos,
            pos,
        });
        Block(self.blocks.len() as u32 - 1)
    }
    /// Makes every use of a key of `by` (in phis, instructions and
    /// terminators) a use of its value.
    pub fn replace_uses(&mut self, by: &std::collections::HashMap<Value, Value>) {
        let fix = |op: &mut Operand| {
            if let Operand::Value(v) = op {
                if let Some(n) = by.get(v) {
                    *v = *n;
                }
            }
        };
        for data in &mut self.blocks {
            for phi in &mut data.phis {
                phi.args.iter_mut().for_each(|(_, op)| fix(op));
            }
            for inst in &mut data.insts {
                for_each_use_mut(&mut inst.kind, fix);
            }
            if let Some(op) = term_use_mut(&mut data.term) {
                fix(op);
            }
        }
    }
    /// The type of an operand where it is used with expected type `ctx`
    /// (constants take the type of their context).
    pub fn operand_type(&self, op: &Operand, ctx: BaseType) -> BaseType {
        match op {
            Operand::Value(v) => self.value_type(*v),
            Operand::Const(_) => ctx,
        }
    }
}

/// One value in a data item list.
#[derive(Clone, Debug, PartialEq)]
pub enum DataValue {
    /// Integer constant (truncated to the item's size).
    Int(i64),
    /// `s_` literal.
    Single(f32),
    /// `d_` literal.
    Double(f64),
    /// A string's bytes (escapes decoded), stored as is.
    Str(Vec<u8>),
    /// `$sym` or `$sym + N`.
    Addr {
        /// The symbol.
        sym: Symbol,
        /// Offset added to its address.
        offset: i64,
    },
}

/// One item inside a data definition's braces.
#[derive(Clone, Debug, PartialEq)]
pub enum DataItem {
    /// `TYPE v1 v2 ...`: values of one type laid out back to back.
    Values {
        /// Item type.
        ty: ExtType,
        /// The values.
        values: Vec<DataValue>,
    },
    /// `z N`: N zero bytes.
    Zero(u64),
}

/// A data definition. Items are packed: no padding is inserted.
#[derive(Clone, Debug, PartialEq)]
pub struct DataDef {
    /// Symbol name.
    pub name: Symbol,
    /// Linkage.
    pub linkage: Linkage,
    /// Explicit `align N`, if given.
    pub align: Option<u32>,
    /// Contents.
    pub items: Vec<DataItem>,
    /// Where `data` was written.
    pub pos: Pos,
}

impl DataDef {
    /// Total size in bytes.
    pub fn size(&self) -> u64 {
        self.items
            .iter()
            .map(|item| match item {
                DataItem::Zero(n) => *n,
                DataItem::Values { ty, values } => values
                    .iter()
                    .map(|v| match v {
                        DataValue::Str(s) => s.len() as u64,
                        _ => u64::from(ty.size()),
                    })
                    .sum(),
            })
            .sum()
    }
}

/// A top-level item, as the reader hands them out in input order.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// An aggregate type definition (already registered in the reader's
    /// [`crate::ir::types::TypeTable`] when handed out).
    Type(TypeId),
    /// A data definition.
    Data(DataDef),
    /// A function definition, verified and in SSA form.
    Function(Function),
    /// `dbgfile "name"`: the source file of the functions that follow.
    DbgFile(String),
}

/// The operands an instruction reads, in text order: one match serves the
/// shared and the mutable visitor (binding modes make the bindings `&` or
/// `&mut` to follow `$kind`).
macro_rules! visit_uses {
    ($kind:expr, $visit:ident) => {
        match $kind {
            InstKind::Binary { lhs, rhs, .. } | InstKind::Compare { lhs, rhs, .. } => {
                $visit(lhs);
                $visit(rhs);
            }
            InstKind::Unary { arg, .. } => $visit(arg),
            InstKind::Load { addr, .. } => $visit(addr),
            InstKind::Store { value, addr, .. } => {
                $visit(value);
                $visit(addr);
            }
            InstKind::Alloc { size, .. } => $visit(size),
            InstKind::Blit { src, dst, .. } => {
                $visit(src);
                $visit(dst);
            }
            InstKind::Call {
                callee, env, args, ..
            } => {
                $visit(callee);
                if let Some(e) = env {
                    $visit(e);
                }
                for CallArg { value, .. } in args {
                    $visit(value);
                }
            }
            InstKind::VaStart { ap } | InstKind::VaArg { ap } => $visit(ap),
            InstKind::DbgLoc { .. } => {}
        }
    };
}

/// Calls `visit` on every operand an instruction reads, in text order.
pub fn for_each_use(kind: &InstKind, mut visit: impl FnMut(&Operand)) {
    visit_uses!(kind, visit)
}

/// Like [`for_each_use`], with mutable access.
pub(crate) fn for_each_use_mut(kind: &mut InstKind, mut visit: impl FnMut(&mut Operand)) {
    visit_uses!(kind, visit)
}

/// The operand a terminator reads, if any.
pub fn term_use(term: &Terminator) -> Option<&Operand> {
    match term {
        Terminator::Jnz { cond, .. } => Some(cond),
        Terminator::Ret(op) => op.as_ref(),
        Terminator::Jmp(_) | Terminator::Hlt => None,
    }
}

/// Like [`term_use`], with mutable access.
pub(crate) fn term_use_mut(term: &mut Terminator) -> Option<&mut Operand> {
    match term {
        Terminator::Jnz { cond, .. } => Some(cond),
        Terminator::Ret(op) => op.as_mut(),
        Terminator::Jmp(_) | Terminator::Hlt => None,
    }
}

impl Const {
    /// The symbol the constant names, if it names one.
    pub fn symbol_mut(&mut self) -> Option<&mut Symbol> {
        match self {
            Const::Addr { sym, .. }
            | Const::Thread(sym)
            | Const::Extern(sym)
            | Const::ExternThread(sym) => Some(sym),
            Const::Int(_) | Const::Single(_) | Const::Double(_) => None,
        }
    }
}

impl Item {
    /// Calls `visit` on every global symbol the item names: the one a
    /// function or data definition defines and every one it refers to
    /// (constant operands anywhere in a function, addresses in data).
    pub fn for_each_symbol_mut(&mut self, mut visit: impl FnMut(&mut Symbol)) {
        fn operand(op: &mut Operand, visit: &mut impl FnMut(&mut Symbol)) {
            if let Some(sym) = match op {
                Operand::Const(c) => c.symbol_mut(),
                Operand::Value(_) => None,
            } {
                visit(sym);
            }
        }
        match self {
            Item::Function(f) => {
                visit(&mut f.name);
                for block in &mut f.blocks {
                    for phi in &mut block.phis {
                        for (_, arg) in &mut phi.args {
                            operand(arg, &mut visit);
                        }
                    }
                    for inst in &mut block.insts {
                        for_each_use_mut(&mut inst.kind, |op| operand(op, &mut visit));
                    }
                    if let Some(op) = term_use_mut(&mut block.term) {
                        operand(op, &mut visit);
                    }
                }
            }
            Item::Data(d) => {
                visit(&mut d.name);
                for item in &mut d.items {
                    if let DataItem::Values { values, .. } = item {
                        for value in values {
                            if let DataValue::Addr { sym, .. } = value {
                                visit(sym);
                            }
                        }
                    }
                }
            }
            Item::Type(_) | Item::DbgFile(_) => {}
        }
    }
}

/// Whether a call to the C library function `name` can return a second
/// time, later, when a `longjmp` (or a `vfork` child's exit) resumes it.
/// Code generators must treat such a call specially: LLVM must be told at
/// the call (`returns_twice`), or it keeps values in places the second
/// return does not restore or forwards a store made before the call to a
/// load after it; and the call depends on the frame of the function that
/// makes it, so that function cannot be inlined.
pub fn returns_twice(name: &str) -> bool {
    matches!(
        name,
        "setjmp" | "_setjmp" | "sigsetjmp" | "__sigsetjmp" | "savectx" | "vfork" | "getcontext"
    )
}
