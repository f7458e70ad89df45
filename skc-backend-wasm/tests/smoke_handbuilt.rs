//! A program built directly as IR data (no parser involved): data with a
//! string, a loop with phis, a call to printf; the object must validate,
//! link with wasm-ld and print the expected text under wasmtime.

mod common;

use skc_ir::ir::*;

fn pos() -> Pos {
    Pos::default()
}

fn v(i: u32) -> Operand {
    Operand::Value(Value(i))
}

fn int(n: i64) -> Operand {
    Operand::Const(Const::Int(n))
}

fn vd(name: &str, ty: BaseType) -> ValueData {
    ValueData {
        name: name.into(),
        ty,
    }
}

/// main: sum = 0; for i = 0; i < 5; i++ sum += i; printf("sum %d\n", sum); ret 7
fn program() -> Vec<Item> {
    let fmt = DataDef {
        name: "fmt".into(),
        linkage: Linkage::default(),
        align: None,
        items: vec![DataItem::Values {
            ty: ExtType::B,
            values: vec![DataValue::Str(b"sum %d\n\0".to_vec())],
        }],
        pos: pos(),
    };
    // values: 0 i, 1 sum, 2 i1, 3 sum1, 4 c
    let values = vec![
        vd("i", BaseType::W),
        vd("sum", BaseType::W),
        vd("i1", BaseType::W),
        vd("sum1", BaseType::W),
        vd("c", BaseType::W),
        vd("r", BaseType::W),
    ];
    let start = BlockData {
        name: "start".into(),
        phis: vec![],
        insts: vec![],
        term: Terminator::Jmp(Block(1)),
        term_pos: pos(),
        pos: pos(),
    };
    let body = BlockData {
        name: "loop".into(),
        phis: vec![
            Phi {
                result: Value(0),
                args: vec![(Block(0), int(0)), (Block(1), v(2))],
                pos: pos(),
            },
            Phi {
                result: Value(1),
                args: vec![(Block(0), int(0)), (Block(1), v(3))],
                pos: pos(),
            },
        ],
        insts: vec![
            Inst {
                result: Some(Value(3)),
                kind: InstKind::Binary {
                    op: BinOp::Add,
                    lhs: v(1),
                    rhs: v(0),
                },
                pos: pos(),
            },
            Inst {
                result: Some(Value(2)),
                kind: InstKind::Binary {
                    op: BinOp::Add,
                    lhs: v(0),
                    rhs: int(1),
                },
                pos: pos(),
            },
            Inst {
                result: Some(Value(4)),
                kind: InstKind::Compare {
                    op: CmpOp::Slt,
                    ty: BaseType::W,
                    lhs: v(2),
                    rhs: int(5),
                },
                pos: pos(),
            },
        ],
        term: Terminator::Jnz {
            cond: v(4),
            nonzero: Block(1),
            zero: Block(2),
        },
        term_pos: pos(),
        pos: pos(),
    };
    let end = BlockData {
        name: "end".into(),
        phis: vec![],
        insts: vec![Inst {
            result: Some(Value(5)),
            kind: InstKind::Call {
                callee: Operand::Const(Const::Addr {
                    sym: "printf".into(),
                    offset: 0,
                }),
                ret: Some(AbiType::Base(BaseType::W)),
                env: None,
                args: vec![
                    CallArg {
                        ty: AbiType::Base(BaseType::W),
                        value: Operand::Const(Const::Addr {
                            sym: "fmt".into(),
                            offset: 0,
                        }),
                    },
                    CallArg {
                        ty: AbiType::Base(BaseType::W),
                        value: v(3),
                    },
                ],
                variadic_from: Some(1),
            },
            pos: pos(),
        }],
        term: Terminator::Ret(Some(int(7))),
        term_pos: pos(),
        pos: pos(),
    };
    let main = Function {
        name: "main".into(),
        linkage: Linkage {
            export: true,
            ..Linkage::default()
        },
        ret: Some(AbiType::Base(BaseType::W)),
        env: None,
        params: vec![],
        variadic: false,
        blocks: vec![start, body, end],
        values,
        pos: pos(),
    };
    vec![Item::Data(fmt), Item::Function(main)]
}

#[test]
fn handbuilt_loop_and_printf_runs_under_wasmtime() {
    let mut src = common::VecSource::new(program());
    let obj = skc_backend_wasm::compile_object(&mut src).expect("compiles");
    common::validate(&obj);
    let run = common::link_and_run(&obj, "handbuilt", &[], &[]);
    assert_eq!(run.stdout, "sum 10\n");
    assert_eq!(run.code, 7);
}
