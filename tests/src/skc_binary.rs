//! The `skc` binary the end-to-end tests run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Finds `skc`: `$SKC`, or a fresh build beside the running test
/// executable. `root` is the workspace.
pub fn locate(root: &Path) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("SKC") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().context("cannot locate the test executable")?;
    // <target>/<profile>/deps/corpus-HASH
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test executable is not in <target>/<profile>/deps")?;
    let target_dir = profile_dir
        .parent()
        .context("the test executable is not in <target>/<profile>/deps")?;
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev".to_string(),
        Some(name) => name.to_string(),
        None => bail!("unreadable profile directory {}", profile_dir.display()),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "skc-driver",
            "--bin",
            "skc",
            "--profile",
        ])
        .arg(&profile)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", Path::new(&cargo).display()))?;
    if !status.success() {
        bail!("building skc failed ({status}); set SKC to test an existing binary");
    }
    Ok(profile_dir.join("skc"))
}
