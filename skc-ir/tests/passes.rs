//! The IR passes a backend may run before generating code — loop
//! rotation, inlining, splitting of structure slots, slot promotion —
//! against the reference interpreter: every program the interpreter runs
//! (the corpus, the project's benchmarks and the shared ones at small
//! sizes) prints the same and exits the same after them, and every
//! function they produce passes the verifier.

use std::path::{Path, PathBuf};

use skc_ir::cfg::ControlFlow;
use skc_ir::inline::Inliner;
use skc_ir::interpreter::{run, Limits, Stop};
use skc_ir::ir::{Function, Item};
use skc_ir::printer::print_item;
use skc_ir::reader::{read_module, Module};
use skc_ir::{promote, rotate, split, verify};

/// Which passes run, in the order a backend runs them.
#[derive(Clone, Copy, Debug)]
enum Pipeline {
    /// Loop rotation on the functions as written.
    Rotate,
    /// Promotion, then rotation.
    PromoteRotate,
    /// Inlining, splitting, promotion, rotation: the wasm backend's.
    Full,
}

const PIPELINES: [Pipeline; 3] = [Pipeline::Rotate, Pipeline::PromoteRotate, Pipeline::Full];

/// What the passes did to a module.
#[derive(Default)]
struct Counts {
    rotated: usize,
    inlined: usize,
    split: usize,
}

fn check_verifies(f: &Function, m: &Module, after: &str) {
    let cf = ControlFlow::compute(f);
    let diags = verify::verify(f, &cf, &m.types);
    if !diags.is_empty() {
        let mut text = String::new();
        print_item(&mut text, &Item::Function(f.clone()), &m.types).expect("prints");
        panic!(
            "${} does not verify after {after}: {diags:?}\n{text}",
            f.name
        );
    }
}

/// `m` after the passes of `pipeline`, function by function in order.
fn transformed(m: &Module, pipeline: Pipeline, counts: &mut Counts) -> Module {
    let mut inliner = Inliner::new();
    let items = m
        .items
        .iter()
        .map(|item| match item {
            Item::Function(f) => {
                let mut f = f.clone();
                if let Pipeline::Full = pipeline {
                    counts.inlined += inliner.inline_calls(&mut f, &m.types);
                    check_verifies(&f, m, "inlining");
                    counts.split += split::split_slots(&mut f);
                    check_verifies(&f, m, "splitting");
                }
                if !matches!(pipeline, Pipeline::Rotate) {
                    promote::promote_slots(&mut f);
                    check_verifies(&f, m, "promotion");
                }
                if let Pipeline::Full = pipeline {
                    inliner.offer(&f);
                }
                counts.rotated += rotate::rotate_loops(&mut f, |_| false);
                check_verifies(&f, m, "rotation");
                Item::Function(f)
            }
            other => other.clone(),
        })
        .collect();
    Module {
        types: m.types.clone(),
        items,
    }
}

fn interpret(m: &Module, args: &[&str]) -> (Result<i32, Stop>, Vec<u8>) {
    let mut out = Vec::new();
    let result = run(m, args, &mut out, Limits::default());
    (result, out)
}

/// Runs `text` as written and after each pipeline; what the passes did,
/// or `None` if the interpreter cannot run the program.
fn compare(text: &str, name: &str, args: &[&str]) -> Option<Counts> {
    let m = read_module(text, name).unwrap_or_else(|e| panic!("{name} does not read:\n{e}"));
    let (expected, expected_out) = interpret(&m, args);
    if matches!(expected, Err(Stop::Unsupported(_)) | Err(Stop::Limit(_))) {
        return None;
    }
    let mut counts = Counts::default();
    for pipeline in PIPELINES {
        let t = transformed(&m, pipeline, &mut counts);
        let (result, out) = interpret(&t, args);
        // Where undefined behaviour happens may move with inlined code.
        let same_stop = match (&result, &expected) {
            (Err(Stop::Undefined(_)), Err(Stop::Undefined(_))) => true,
            (a, b) => a == b,
        };
        assert!(
            same_stop && out == expected_out,
            "{name} changed after {pipeline:?}: {result:?}, expected {expected:?}\n\
             --- printed\n{}--- expected\n{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&expected_out)
        );
    }
    Some(counts)
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
fn corpus_programs_print_the_same_after_the_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let (mut programs, mut total) = (0, Counts::default());
    for path in ssa_files(&dir) {
        let text = std::fs::read_to_string(&path).expect("program");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(c) = compare(&text, &name, &["a", "b", "c"]) {
            programs += 1;
            total.rotated += c.rotated;
            total.inlined += c.inlined;
            total.split += c.split;
        }
    }
    eprintln!(
        "corpus: {programs} programs; {} loops rotated, {} calls inlined, {} slots split",
        total.rotated, total.inlined, total.split
    );
    // Enough that the comparison means something.
    assert!(programs >= 20 && total.rotated >= 15, "{programs} programs");
    assert!(
        total.inlined >= 5 && total.split >= 5,
        "{} inlined",
        total.inlined
    );
}

#[test]
fn benchmarks_print_the_same_after_the_passes() {
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
    let mut total = Counts::default();
    for (path, size) in programs {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let c =
            compare(&text, &name, &[size]).unwrap_or_else(|| panic!("the interpreter runs {name}"));
        assert!(c.rotated > 0, "{name}: no loop rotated");
        total.inlined += c.inlined;
        total.split += c.split;
    }
    // fft passes its complex numbers by value to small helpers.
    assert!(
        total.inlined > 10 && total.split > 5,
        "{} inlined",
        total.inlined
    );
}
