//! Property: printing any module and parsing the text gives the same
//! module back (up to value numbering and positions), and printing is
//! stable. Modules are generated from a seed so every construct of the
//! data model shows up: all instruction kinds, calls with every argument
//! form, phis, all constants (including NaNs, infinities and arbitrary
//! symbol names), data of every kind and aggregate types.

mod roundtrip_common;

use proptest::prelude::*;
use roundtrip_common::canonical;
use skc_ir::ir::*;
use skc_ir::parser::unary_arg_type;
use skc_ir::printer::print_module;
use skc_ir::reader::{parse_module_unverified, Module};
use skc_ir::types::{Field, FieldType, TypeId, TypeShape, TypeTable};

/// A small deterministic generator (xorshift), driven by proptest's seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    fn int(&mut self) -> i64 {
        match self.below(4) {
            0 => self.below(10) as i64,
            1 => -(self.below(1000) as i64),
            2 => self.pick(&[i64::MIN, i64::MAX, -1, 0, 1 << 32]),
            _ => self.next() as i64,
        }
    }
    fn f32(&mut self) -> f32 {
        match self.below(5) {
            0 => f32::from_bits(self.next() as u32),
            1 => self.pick(&[
                0.0,
                -0.0,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NAN,
                f32::MIN_POSITIVE,
                1e-45,
            ]),
            _ => (self.int() as f32) / 7.0,
        }
    }
    fn f64(&mut self) -> f64 {
        match self.below(5) {
            0 => f64::from_bits(self.next()),
            1 => self.pick(&[
                0.0,
                -0.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
                f64::MIN_POSITIVE,
                5e-324,
            ]),
            _ => (self.int() as f64) / 3.0,
        }
    }
    fn symbol(&mut self) -> String {
        match self.below(6) {
            0 => format!("sym.{}$x_{}", self.below(50), self.below(9)),
            1 => {
                // Anything goes in a quoted name, even quotes and newlines.
                let n = self.below(8);
                (0..n)
                    .map(|_| self.pick(&['a', ' ', '"', '\\', '\n', 'é', '€', '0', '$', '\u{1}']))
                    .collect()
            }
            _ => format!("f{}", self.below(20)),
        }
    }
    fn bytes(&mut self) -> Vec<u8> {
        let n = self.below(12);
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn text(&mut self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
}

fn base(g: &mut Gen) -> BaseType {
    g.pick(&[BaseType::W, BaseType::L, BaseType::S, BaseType::D])
}

fn ext(g: &mut Gen) -> ExtType {
    g.pick(&[
        ExtType::B,
        ExtType::H,
        ExtType::W,
        ExtType::L,
        ExtType::S,
        ExtType::D,
    ])
}

fn linkage(g: &mut Gen, data: bool) -> Linkage {
    Linkage {
        export: g.chance(30),
        thread: data && g.chance(20),
        common: g.chance(10),
        section: g.chance(20).then(|| Section {
            name: g.text(),
            flags: g.chance(50).then(|| g.text()),
        }),
    }
}

struct FnGen<'a> {
    g: &'a mut Gen,
    aggs: &'a [TypeId],
    values: Vec<ValueData>,
    nblocks: u32,
}

impl FnGen<'_> {
    fn new_value(&mut self, ty: BaseType) -> Value {
        self.values.push(ValueData {
            name: format!("v{}", self.values.len()).into(),
            ty,
        });
        Value(self.values.len() as u32 - 1)
    }

    fn abi(&mut self) -> AbiType {
        match self.g.below(4) {
            0 if !self.aggs.is_empty() => AbiType::Agg(self.g.pick(self.aggs)),
            1 => {
                AbiType::SubWord(
                    self.g
                        .pick(&[SubWord::Sb, SubWord::Ub, SubWord::Sh, SubWord::Uh]),
                )
            }
            _ => AbiType::Base(base(self.g)),
        }
    }

    /// An operand where type `ctx` is expected: a value (the parser does
    /// not check operand types) or a constant the parser reads back as is.
    fn operand(&mut self, ctx: BaseType) -> Operand {
        if !self.values.is_empty() && self.g.chance(60) {
            return Operand::Value(Value(self.g.below(self.values.len()) as u32));
        }
        Operand::Const(match self.g.below(7) {
            0 if ctx == BaseType::S => Const::Single(self.g.f32()),
            0 if ctx == BaseType::D => Const::Double(self.g.f64()),
            1 => Const::Addr {
                sym: self.g.symbol(),
                offset: if self.g.chance(50) { 0 } else { self.g.int() },
            },
            2 => match self.g.below(3) {
                0 => Const::Thread(self.g.symbol()),
                1 => Const::Extern(self.g.symbol()),
                _ => Const::ExternThread(self.g.symbol()),
            },
            _ => Const::Int(self.g.int()),
        })
    }

    fn block_ref(&mut self) -> Block {
        Block(self.g.below(self.nblocks as usize) as u32)
    }

    fn inst(&mut self, variadic: bool) -> Inst {
        let g_ty = base(self.g);
        let int_ty = self.g.pick(&[BaseType::W, BaseType::L]);
        let (kind, result_ty): (InstKind, Option<BaseType>) = match self.g.below(12) {
            0 => {
                let op = self.g.pick(&[
                    BinOp::Add,
                    BinOp::Sub,
                    BinOp::Mul,
                    BinOp::Div,
                    BinOp::Rem,
                    BinOp::Udiv,
                    BinOp::Urem,
                    BinOp::And,
                    BinOp::Or,
                    BinOp::Xor,
                    BinOp::Sar,
                    BinOp::Shr,
                    BinOp::Shl,
                ]);
                let shift = matches!(op, BinOp::Sar | BinOp::Shr | BinOp::Shl);
                let lhs = self.operand(g_ty);
                let rhs = self.operand(if shift { BaseType::W } else { g_ty });
                (InstKind::Binary { op, lhs, rhs }, Some(g_ty))
            }
            1 => {
                let ty = base(self.g);
                let op = if ty.is_float() {
                    self.g.pick(&[
                        CmpOp::Eq,
                        CmpOp::Ne,
                        CmpOp::Le,
                        CmpOp::Lt,
                        CmpOp::Ge,
                        CmpOp::Gt,
                        CmpOp::O,
                        CmpOp::Uo,
                    ])
                } else {
                    self.g.pick(&[
                        CmpOp::Eq,
                        CmpOp::Ne,
                        CmpOp::Sle,
                        CmpOp::Slt,
                        CmpOp::Sge,
                        CmpOp::Sgt,
                        CmpOp::Ule,
                        CmpOp::Ult,
                        CmpOp::Uge,
                        CmpOp::Ugt,
                    ])
                };
                let lhs = self.operand(ty);
                let rhs = self.operand(ty);
                (InstKind::Compare { op, ty, lhs, rhs }, Some(int_ty))
            }
            2 => {
                let op = self.g.pick(&[
                    UnOp::Neg,
                    UnOp::Extsb,
                    UnOp::Extub,
                    UnOp::Extsh,
                    UnOp::Extuh,
                    UnOp::Extsw,
                    UnOp::Extuw,
                    UnOp::Exts,
                    UnOp::Truncd,
                    UnOp::Stosi,
                    UnOp::Stoui,
                    UnOp::Dtosi,
                    UnOp::Dtoui,
                    UnOp::Swtof,
                    UnOp::Uwtof,
                    UnOp::Sltof,
                    UnOp::Ultof,
                    UnOp::Cast,
                    UnOp::Copy,
                ]);
                let arg = self.operand(unary_arg_type(op, g_ty));
                (InstKind::Unary { op, arg }, Some(g_ty))
            }
            3 => {
                // loadl/loads/loadd read as "by result type", so pair them.
                let (kind, ty) = match self.g.below(4) {
                    0 => (LoadKind::L, BaseType::L),
                    1 => (LoadKind::S, BaseType::S),
                    2 => (LoadKind::D, BaseType::D),
                    _ => (
                        self.g.pick(&[
                            LoadKind::Sb,
                            LoadKind::Ub,
                            LoadKind::Sh,
                            LoadKind::Uh,
                            LoadKind::Sw,
                            LoadKind::Uw,
                        ]),
                        int_ty,
                    ),
                };
                let addr = self.operand(BaseType::L);
                (InstKind::Load { kind, addr }, Some(ty))
            }
            4 => {
                let kind = self.g.pick(&[
                    StoreKind::B,
                    StoreKind::H,
                    StoreKind::W,
                    StoreKind::L,
                    StoreKind::S,
                    StoreKind::D,
                ]);
                let value = self.operand(kind.value_type());
                let addr = self.operand(BaseType::L);
                (InstKind::Store { kind, value, addr }, None)
            }
            5 => {
                let align = self.g.pick(&[1, 2, 4, 8, 16]);
                let size = self.operand(BaseType::L);
                (InstKind::Alloc { align, size }, Some(BaseType::L))
            }
            6 => {
                let src = self.operand(BaseType::L);
                let dst = self.operand(BaseType::L);
                let size = self.g.next() % (1 << 31);
                (InstKind::Blit { src, dst, size }, None)
            }
            7 | 8 => {
                let callee = self.operand(BaseType::L);
                let env = self.g.chance(20).then(|| self.operand(BaseType::L));
                let nargs = self.g.below(5);
                let args: Vec<CallArg> = (0..nargs)
                    .map(|_| {
                        let ty = self.abi();
                        let value = self.operand(ty.value_type());
                        CallArg { ty, value }
                    })
                    .collect();
                let variadic_from = self.g.chance(30).then(|| self.g.below(nargs + 1));
                let ret = self.g.chance(60).then(|| self.abi());
                let rty = ret.map(|r| r.value_type());
                (
                    InstKind::Call {
                        callee,
                        ret,
                        env,
                        args,
                        variadic_from,
                    },
                    rty,
                )
            }
            9 if variadic => {
                let ap = self.operand(BaseType::L);
                (InstKind::VaStart { ap }, None)
            }
            10 => {
                let ap = self.operand(BaseType::L);
                (InstKind::VaArg { ap }, Some(g_ty))
            }
            _ => (
                InstKind::DbgLoc {
                    line: self.g.next() as u32,
                    col: if self.g.chance(50) {
                        0
                    } else {
                        self.g.next() as u32
                    },
                },
                None,
            ),
        };
        let result = result_ty.map(|t| self.new_value(t));
        Inst {
            result,
            kind,
            pos: Pos::default(),
        }
    }
}

fn function(g: &mut Gen, aggs: &[TypeId], index: usize) -> Function {
    let nblocks = 1 + g.below(5) as u32;
    let mut fg = FnGen {
        g,
        aggs,
        values: Vec::new(),
        nblocks,
    };
    let ret = fg.g.chance(70).then(|| fg.abi());
    let env = fg.g.chance(20).then(|| fg.new_value(BaseType::L));
    let nparams = fg.g.below(4);
    let params: Vec<Param> = (0..nparams)
        .map(|_| {
            let ty = fg.abi();
            let value = fg.new_value(ty.value_type());
            Param { ty, value }
        })
        .collect();
    let variadic = fg.g.chance(20);
    let mut blocks = Vec::new();
    for b in 0..nblocks {
        let nphis = if fg.g.chance(30) { fg.g.below(3) } else { 0 };
        let mut phis = Vec::new();
        for _ in 0..nphis {
            let ty = base(fg.g);
            let nargs = 1 + fg.g.below(3);
            let args = (0..nargs)
                .map(|_| {
                    let b = fg.block_ref();
                    (b, fg.operand(ty))
                })
                .collect();
            let result = fg.new_value(ty);
            phis.push(Phi {
                result,
                args,
                pos: Pos::default(),
            });
        }
        let ninsts = fg.g.below(8);
        let insts = (0..ninsts).map(|_| fg.inst(variadic)).collect();
        let term = match fg.g.below(4) {
            0 => Terminator::Jmp(fg.block_ref()),
            1 => {
                let cond = fg.operand(BaseType::W);
                Terminator::Jnz {
                    cond,
                    nonzero: fg.block_ref(),
                    zero: fg.block_ref(),
                }
            }
            2 => Terminator::Ret(ret.map(|r| fg.operand(r.value_type()))),
            _ => Terminator::Hlt,
        };
        blocks.push(BlockData {
            name: format!("b{b}").into(),
            phis,
            insts,
            term,
            term_pos: Pos::default(),
            pos: Pos::default(),
        });
    }
    let name = if fg.g.chance(20) {
        fg.g.symbol()
    } else {
        format!("fn{index}")
    };
    let linkage = linkage(fg.g, false);
    Function {
        name,
        linkage,
        ret,
        env,
        params,
        variadic,
        blocks,
        values: fg.values,
        pos: Pos::default(),
    }
}

fn data(g: &mut Gen, index: usize) -> DataDef {
    let nitems = g.below(5);
    let items = (0..nitems)
        .map(|_| {
            if g.chance(20) {
                return DataItem::Zero(g.next() % 100_000);
            }
            let ty = ext(g);
            let n = 1 + g.below(4);
            let values = (0..n)
                .map(|_| match g.below(5) {
                    0 if ty == ExtType::S => DataValue::Single(g.f32()),
                    0 if ty == ExtType::D => DataValue::Double(g.f64()),
                    1 => DataValue::Str(g.bytes()),
                    2 => DataValue::Addr {
                        sym: g.symbol(),
                        offset: if g.chance(50) { 0 } else { g.int() },
                    },
                    _ => DataValue::Int(g.int()),
                })
                .collect();
            DataItem::Values { ty, values }
        })
        .collect();
    DataDef {
        name: format!("d{index}"),
        linkage: linkage(g, true),
        align: g.chance(30).then(|| 1 << g.below(8)),
        items,
        pos: Pos::default(),
    }
}

fn aggregate(g: &mut Gen, types: &mut TypeTable, aggs: &[TypeId], index: usize) -> TypeId {
    let field = |g: &mut Gen| Field {
        ty: if !aggs.is_empty() && g.chance(20) {
            FieldType::Agg(g.pick(aggs))
        } else {
            FieldType::Ext(ext(g))
        },
        count: g.pick(&[0, 1, 1, 1, 2, 7]),
    };
    let shape = match g.below(4) {
        0 => TypeShape::Union(
            (0..1 + g.below(3))
                .map(|_| (0..1 + g.below(3)).map(|_| field(g)).collect())
                .collect(),
        ),
        1 => TypeShape::Opaque {
            size: g.next() % 100,
        },
        _ => TypeShape::Struct((0..g.below(5)).map(|_| field(g)).collect()),
    };
    let opaque = matches!(shape, TypeShape::Opaque { .. });
    let align = (opaque || g.chance(30)).then(|| 1 << g.below(6));
    types
        .define(format!("t{index}"), align, shape, Pos::default())
        .expect("generated types are small")
}

fn module(seed: u64) -> Module {
    let mut g = Gen(seed | 1);
    let mut types = TypeTable::new();
    let mut aggs = Vec::new();
    let mut items = Vec::new();
    for i in 0..g.below(12) {
        match g.below(5) {
            0 => {
                let id = aggregate(&mut g, &mut types, &aggs, i);
                aggs.push(id);
                items.push(Item::Type(id));
            }
            1 => items.push(Item::Data(data(&mut g, i))),
            2 if g.chance(30) => items.push(Item::DbgFile(g.text())),
            _ => items.push(Item::Function(function(&mut g, &aggs, i))),
        }
    }
    Module { types, items }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printed_modules_parse_back_to_the_same_items(seed in any::<u64>()) {
        let m = module(seed);
        let text = print_module(&m);
        let back = match parse_module_unverified(text.as_bytes(), "generated.ssa") {
            Ok(back) => back,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n--- text\n{text}"))),
        };
        prop_assert_eq!(print_module(&back), text.clone());
        prop_assert!(canonical(&back) == canonical(&m), "items differ after the round trip:\n{}", text);
    }
}
