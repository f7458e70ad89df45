//! Data-driven parser tests: every `tests/parse/ok/*.ssa` must read
//! cleanly, print as its `.out` file says, and survive a round trip
//! through the printer; every `tests/parse/err/*.ssa` must fail with the
//! diagnostics in its `.err` file. `SKC_BLESS=1` rewrites the expectations.

mod expect_files;
mod roundtrip_common;

use expect_files::{check_expectation, ssa_files_in};
use roundtrip_common::canonical;
use skc_ir::printer::print_module;
use skc_ir::reader::read_module;

fn display_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn accepted_files_print_canonically_and_round_trip() {
    let files = ssa_files_in("parse/ok");
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable test file");
        let module = match read_module(&text, &display_name(path)) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{}: unexpected errors:\n{e}", path.display()));
                continue;
            }
        };
        let printed = print_module(&module);
        if let Err(e) = check_expectation(&path.with_extension("out"), &printed) {
            failures.push(e);
        }
        let again = match read_module(&printed, "printed.ssa") {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!(
                    "{}: printed text does not parse:\n{e}",
                    path.display()
                ));
                continue;
            }
        };
        if print_module(&again) != printed {
            failures.push(format!("{}: printing is not stable", path.display()));
        }
        if canonical(&again) != canonical(&module) {
            failures.push(format!("{}: round trip changed the items", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn rejected_files_report_expected_diagnostics() {
    let files = ssa_files_in("parse/err");
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).expect("readable test file");
        match skc_ir::reader::read_module_bytes(&bytes, &display_name(path)) {
            Ok(_) => failures.push(format!("{}: accepted, but should fail", path.display())),
            Err(diags) => {
                if let Err(e) = check_expectation(&path.with_extension("err"), &diags) {
                    failures.push(e);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
