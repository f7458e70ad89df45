//! Loop rotation against the reference interpreter: every program the
//! interpreter runs — the corpus, the project's benchmarks and the shared
//! ones at small sizes — prints the same and exits the same after its
//! loops are rotated, as written and after slot promotion, and every
//! rotated function passes the verifier.

use std::path::{Path, PathBuf};

use skc_ir::cfg::ControlFlow;
use skc_ir::interpreter::{run, Limits, Stop};
use skc_ir::ir::Item;
use skc_ir::printer::print_item;
use skc_ir::reader::{read_module, Module};
use skc_ir::{promote, rotate, verify};

/// `m` with every loop rotated (after promotion if `promoted`); the
/// number of loops rotated.
fn rotated(m: &Module, promoted: bool) -> (Module, usize) {
    let mut count = 0;
    let items = m
        .items
        .iter()
        .map(|item| match item {
            Item::Function(f) => {
                let mut f = f.clone();
                if promoted {
                    promote::promote_slots(&mut f);
                }
                count += rotate::rotate_loops(&mut f, |_| false);
                let cf = ControlFlow::compute(&f);
                let diags = verify::verify(&f, &cf, &m.types);
                let mut text = String::new();
                print_item(&mut text, &Item::Function(f.clone()), &m.types).expect("prints");
                assert!(
                    diags.is_empty(),
                    "rotated ${} does not verify: {diags:?}\n{}",
                    f.name,
                    text
                );
                Item::Function(f)
            }
            other => other.clone(),
        })
        .collect();
    (
        Module {
            types: m.types.clone(),
            items,
        },
        count,
    )
}

fn interpret(m: &Module, args: &[&str]) -> (Result<i32, Stop>, Vec<u8>) {
    let mut out = Vec::new();
    let result = run(m, args, &mut out, Limits::default());
    (result, out)
}

/// Runs `text` as written and rotated both ways; the number of loops
/// rotated, or `None` if the interpreter cannot run the program.
fn compare(text: &str, name: &str, args: &[&str]) -> Option<usize> {
    let m = read_module(text, name).unwrap_or_else(|e| panic!("{name} does not read:\n{e}"));
    let (expected, expected_out) = interpret(&m, args);
    if matches!(expected, Err(Stop::Unsupported(_)) | Err(Stop::Limit(_))) {
        return None;
    }
    let mut total = 0;
    for promoted in [false, true] {
        let (r, count) = rotated(&m, promoted);
        let (result, out) = interpret(&r, args);
        assert_eq!(
            (&result, String::from_utf8_lossy(&out)),
            (&expected, String::from_utf8_lossy(&expected_out)),
            "{name} (promoted: {promoted}) changed when {count} loops were rotated"
        );
        total += count;
    }
    Some(total)
}

fn ssa_files(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ssa"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn corpus_programs_print_the_same_with_rotated_loops() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let (mut programs, mut loops) = (0, 0);
    for path in ssa_files(&dir) {
        let text = std::fs::read_to_string(&path).expect("program");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(n) = compare(&text, &name, &["a", "b", "c"]) {
            programs += 1;
            loops += n;
        }
    }
    eprintln!("corpus: {programs} programs, {loops} loops rotated");
    // Enough that the comparison means something.
    assert!(
        programs >= 20 && loops >= 15,
        "{programs} programs, {loops} loops"
    );
}

#[test]
fn benchmarks_print_the_same_with_rotated_loops() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let programs = [
        (root.join("../tests/bench/matmul.ssa"), "24"),
        (root.join("../tests/bench/bytecode.ssa"), "2"),
        (root.join("../../shared/bench/floyd.ssa"), "30"),
        (root.join("../../shared/bench/stencil.ssa"), "20"),
        (root.join("../../shared/bench/fft.ssa"), "128"),
        (root.join("../../shared/bench/levenshtein.ssa"), "40"),
        (root.join("../../shared/bench/kvsort.ssa"), "300"),
        (root.join("../../shared/bench/base64.ssa"), "1000"),
        (root.join("../../shared/bench/nqueens.ssa"), "6"),
        (root.join("../../shared/bench/bf.ssa"), "1"),
    ];
    for (path, size) in programs {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let loops =
            compare(&text, &name, &[size]).unwrap_or_else(|| panic!("the interpreter runs {name}"));
        assert!(loops > 0, "{name}: no loop rotated");
    }
}
