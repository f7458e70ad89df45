//! Expectation files beside `.ssa` inputs, for the parse, verifier and SSA
//! tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use skc_ir::printer::print_module;
use skc_ir::reader::read_module_bytes;

/// True when expectation files should be rewritten (`SKC_BLESS=1`).
pub fn blessing() -> bool {
    std::env::var_os("SKC_BLESS").is_some_and(|v| v != "0")
}

/// Compares `actual` with the file at `path`, or rewrites it when blessing.
pub fn check_expectation(path: &Path, actual: &str) -> Result<(), String> {
    if blessing() {
        std::fs::write(path, actual).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: {e} (run with SKC_BLESS=1 to create it)",
            path.display()
        )
    })?;
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{} differs (run with SKC_BLESS=1 to accept)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        ))
    }
}

/// The `.ssa` files in `tests/<dir>`, sorted.
pub fn ssa_files_in(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ssa"))
        .collect();
    files.sort();
    files
}

/// Reads `path` through the whole pipeline and compares the outcome with
/// `path.err` (the rendered diagnostics) when it is rejected, or
/// `path.out` (the printed module) when it is accepted. Returns whether
/// it was accepted. When blessing, writes the matching file and removes
/// the other.
pub fn check_pipeline_output(path: &Path) -> Result<bool, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (accepted, actual, ext, other) = match read_module_bytes(&bytes, &name) {
        Ok(module) => (true, print_module(&module), "out", "err"),
        Err(diags) => (false, diags, "err", "out"),
    };
    let expected_path = path.with_extension(ext);
    if blessing() {
        std::fs::write(&expected_path, &actual)
            .map_err(|e| format!("{}: {e}", expected_path.display()))?;
        let _ = std::fs::remove_file(path.with_extension(other));
        return Ok(accepted);
    }
    let expected = std::fs::read_to_string(&expected_path).map_err(|_| {
        let outcome = if accepted { "accepted" } else { "rejected" };
        format!(
            "{}: {outcome}, but {} does not exist (run with SKC_BLESS=1 to create it)\n{actual}",
            path.display(),
            expected_path.display()
        )
    })?;
    if expected == actual {
        Ok(accepted)
    } else {
        Err(format!(
            "{} differs (run with SKC_BLESS=1 to accept)\n--- expected\n{expected}\n--- actual\n{actual}",
            expected_path.display()
        ))
    }
}
