//! The shared benchmark programs (LP64 IL from cproc) compile to valid
//! wasm32 objects. Running them needs LP64 adaptation (they pass `l`
//! pointers to libc), so only the objects are checked here.

mod common;

#[test]
fn every_benchmark_compiles_to_a_valid_object() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ssa") {
            let text = std::fs::read_to_string(&path).unwrap();
            common::compile_il(&text, &path.display().to_string());
            count += 1;
        }
    }
    assert!(count >= 5, "only {count} benchmarks in {}", dir.display());
}
