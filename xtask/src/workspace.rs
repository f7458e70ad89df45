//! Where the workspace is, for the tasks that build or read it.

use std::path::{Path, PathBuf};

/// The repository root: the directory holding the `xtask` crate.
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}
