//! Data-driven SSA construction tests: each `tests/ssa/*.ssa` must be
//! accepted, print as its `.out` file says (`SKC_BLESS=1` rewrites it),
//! and reading the printed text back must give the same text: output
//! already in SSA form passes through unchanged.

mod expect_files;

use expect_files::{check_pipeline_output, ssa_files_in};
use skc_ir::printer::print_module;
use skc_ir::reader::read_module;

#[test]
fn ssa_output_matches_expectations_and_is_stable() {
    let files = ssa_files_in("ssa");
    assert!(files.len() >= 4, "test files missing: {files:?}");
    let mut failures = Vec::new();
    for path in &files {
        match check_pipeline_output(path) {
            Ok(true) => {}
            Ok(false) => failures.push(format!("{}: rejected", path.display())),
            Err(e) => failures.push(e),
        }
        let text = std::fs::read_to_string(path).expect("readable test file");
        let Ok(first) = read_module(&text, "first.ssa") else {
            continue;
        };
        let printed = print_module(&first);
        match read_module(&printed, "printed.ssa") {
            Ok(again) if print_module(&again) == printed => {}
            Ok(again) => failures.push(format!(
                "{}: reading the output again changed it:\n{}",
                path.display(),
                print_module(&again)
            )),
            Err(e) => failures.push(format!(
                "{}: output does not read back:\n{e}",
                path.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
