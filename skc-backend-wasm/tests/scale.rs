//! Large functions: a 20000-block chain (deep dominator tree) and a merge
//! node with thousands of predecessors compile without exhausting the
//! stack, keep few locals, and compute the right value.

mod common;

use skc_ir::backend::OptLevel;

fn chain_program(n: usize) -> String {
    let mut t = String::from("data $fmt = { b \"%d\\n\", b 0 }\n");
    t.push_str("function w $chain(w %x) {\n@b0\n\t%v0 =w add %x, 0\n\tjmp @b1\n");
    for i in 1..n {
        t.push_str(&format!(
            "@b{i}\n\t%v{i} =w add %v{p}, {i}\n\t%c{i} =w csltw %v{i}, 100000000\n\tjnz %c{i}, @b{n2}, @exit\n",
            p = i - 1,
            n2 = i + 1
        ));
    }
    t.push_str(&format!("@b{n}\n\tjmp @exit\n@exit\n\t%r =w phi "));
    let mut args: Vec<String> = (1..n).map(|i| format!("@b{i} %v{i}")).collect();
    args.push(format!("@b{n} -1"));
    t.push_str(&args.join(", "));
    t.push_str("\n\tret %r\n}\n");
    t.push_str(
        "export function w $main() {\n@s\n\t%r =w call $chain(w 5)\n\
         %p =w call $printf(w $fmt, ..., w %r)\n\tret 0\n}\n",
    );
    t
}

/// The largest number of locals any function body declares.
fn max_locals(obj: &[u8]) -> u32 {
    let mut most = 0;
    for payload in wasmparser::Parser::new(0).parse_all(obj) {
        if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload {
            let mut n = 0;
            for l in body.get_locals_reader().unwrap() {
                n += l.unwrap().0;
            }
            most = most.max(n);
        }
    }
    most
}

#[test]
fn a_twenty_thousand_block_chain() {
    let n = 20000;
    let text = chain_program(n);
    let module = skc_ir::reader::read_module(&text, "chain").unwrap();
    let mut src = skc_ir::reader::ModuleSource::new(module);
    let obj = skc_backend_wasm::compile_object(&mut src).unwrap();
    common::validate(&obj);
    let most_locals = max_locals(&obj);
    assert!(most_locals < 16, "{most_locals} locals");
    // 5 + 1 + 2 + ... + (n-1) reaches 1e8 about 14000 blocks in: find where.
    let mut v: i64 = 5;
    let mut expected = -1;
    for i in 1..n as i64 {
        v += i;
        if v >= 100_000_000 {
            expected = v;
            break;
        }
    }
    let module = common::link(&obj, "chain", &[], OptLevel::O0);
    let run = common::run_wasmtime(&module, &[]);
    assert_eq!(run.stdout, format!("{expected}\n"));
}
