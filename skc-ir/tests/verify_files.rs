//! Data-driven verifier tests: each `tests/verify/*.ssa` is read through
//! the whole pipeline; when it is rejected, the rendered diagnostics must
//! equal its `.err` file; when accepted, the printed module must equal its
//! `.out` file. `SKC_BLESS=1` rewrites the expectations.

mod expect_files;

use expect_files::{check_pipeline_output, ssa_files_in};

#[test]
fn verifier_diagnostics_match_expectations() {
    let files = ssa_files_in("verify");
    assert!(files.len() >= 7, "test files missing: {files:?}");
    let mut failures = Vec::new();
    let mut rejected = 0;
    for path in &files {
        match check_pipeline_output(path) {
            Ok(accepted) => rejected += usize::from(!accepted),
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(rejected >= 7, "only {rejected} files were rejected");
}
