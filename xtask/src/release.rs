//! `release`: build, test, measure and package skc reproducibly.
//!
//! Five stages run in order; the first that fails stops the release with
//! its error. Each prints what it runs as it starts, and a table at the end
//! sums them up. See `docs/release.md`.

mod archive;
mod context;
mod memory;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use sha2::{Digest, Sha256};

use archive::{Contents, Entry};
use context::{run_checked, run_checked_with_progress, shell_line, Outcome, Release};

pub const USAGE: &str = "\
usage: cargo xtask release [--dry-run] [--verify] [--skip STAGE]... [--memory-size-mb N]

  --dry-run           print the stages and their commands; run nothing
  --verify            rebuild the archive into target/dist/verify/ and check it
                      against target/dist/SHA256SUMS (skips the corpus and
                      memory stages, which do not change the archive)
  --skip STAGE        leave out a stage: corpus or memory
  --memory-size-mb N  size of the generated module for the memory check
                      (default 32; clang -O2 then peaks near 1 GiB)

The archive's timestamps come from SOURCE_DATE_EPOCH, else from the time of
the last commit.";

struct Stage {
    name: &'static str,
    /// The commands the stage runs, for `--dry-run` and the progress line.
    commands: fn(&Release) -> Vec<String>,
    run: fn(&Release) -> anyhow::Result<Outcome>,
}

const STAGES: &[Stage] = &[
    Stage {
        name: "build",
        commands: build_commands,
        run: build,
    },
    Stage {
        name: "runtime",
        commands: runtime_commands,
        run: runtime,
    },
    Stage {
        name: "corpus",
        commands: corpus_commands,
        run: corpus,
    },
    Stage {
        name: "memory",
        commands: memory::commands,
        run: memory::run,
    },
    Stage {
        name: "package",
        commands: package_commands,
        run: package,
    },
];

pub fn main(args: &[String]) -> anyhow::Result<()> {
    let mut dry_run = false;
    let mut verify = false;
    let mut skip: Vec<String> = Vec::new();
    let mut memory_size_mb = 32.0;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dry-run" => dry_run = true,
            "--verify" => verify = true,
            "--skip" => {
                let stage = it.next().context("--skip needs a stage name")?;
                if !["corpus", "memory"].contains(&stage.as_str()) {
                    bail!("only the corpus and memory stages can be skipped, not `{stage}`");
                }
                skip.push(stage.clone());
            }
            "--memory-size-mb" => {
                let value = it.next().context("--memory-size-mb needs a number")?;
                memory_size_mb = value
                    .parse()
                    .ok()
                    .filter(|mb: &f64| *mb > 0.0)
                    .context("--memory-size-mb takes a positive number")?;
            }
            other => bail!("unexpected argument `{other}`\n\n{USAGE}"),
        }
    }
    if verify {
        skip.extend(["corpus".to_owned(), "memory".to_owned()]);
    }

    let repo = repo_root()?;
    let target = repo.join("target");
    let dist = if verify {
        target.join("dist/verify")
    } else {
        target.join("dist")
    };
    let version = workspace_version(&repo)?;
    let host = host_triple()?;
    let mtime = source_date_epoch(&repo)?;
    let stage = dist.join("stage").join(format!("skc-{version}-{host}"));
    let release = Release {
        repo,
        version,
        host,
        dist,
        stage,
        mtime,
        memory_size_mb,
    };

    println!(
        "release {} (timestamps {}){}",
        release.name(),
        release.mtime,
        if dry_run { ", dry run" } else { "" }
    );
    let mut rows: Vec<(String, String, f64, String)> = Vec::new();
    for (number, stage) in STAGES.iter().enumerate() {
        println!("\n[{}/{}] {}", number + 1, STAGES.len(), stage.name);
        if skip.iter().any(|s| s == stage.name) {
            println!("  skipped (--skip or --verify)");
            rows.push((
                stage.name.into(),
                "skipped".into(),
                0.0,
                "not asked for".into(),
            ));
            continue;
        }
        for command in (stage.commands)(&release) {
            println!("  $ {command}");
        }
        if dry_run {
            continue;
        }
        let started = Instant::now();
        let outcome = (stage.run)(&release);
        let seconds = started.elapsed().as_secs_f64();
        match outcome {
            Ok(Outcome::Done(detail)) => {
                println!("  ok ({seconds:.1} s): {detail}");
                rows.push((stage.name.into(), "ok".into(), seconds, detail));
            }
            Ok(Outcome::Skipped(why)) => {
                println!("  skipped: {why}");
                rows.push((stage.name.into(), "skipped".into(), seconds, why));
            }
            Err(error) => {
                rows.push((
                    stage.name.into(),
                    "FAILED".into(),
                    seconds,
                    format!("{error:#}"),
                ));
                print_summary(&rows);
                return Err(error.context(format!("release stage `{}` failed", stage.name)));
            }
        }
    }
    if dry_run {
        return Ok(());
    }
    print_summary(&rows);
    if verify {
        verify_checksums(&release)?;
    }
    Ok(())
}

fn print_summary(rows: &[(String, String, f64, String)]) {
    println!("\n{:<8} {:<8} {:>8}  detail", "stage", "result", "time");
    for (name, result, seconds, detail) in rows {
        let mut lines = detail.lines();
        println!(
            "{name:<8} {result:<8} {seconds:>7.1}s  {}",
            lines.next().unwrap_or("")
        );
        for line in lines {
            println!("{:<28}{line}", "");
        }
    }
}

fn repo_root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .context("the xtask crate has no parent directory")?;
    Ok(root.to_path_buf())
}

/// The `version` of `[workspace.package]` in the root `Cargo.toml`.
fn workspace_version(repo: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(repo.join("Cargo.toml")).context("cannot read Cargo.toml")?;
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section {
            if let Some(rest) = line.strip_prefix("version") {
                let value = rest.trim_start().trim_start_matches('=').trim();
                return Ok(value.trim_matches('"').to_owned());
            }
        }
    }
    bail!("Cargo.toml has no version in [workspace.package]")
}

fn host_triple() -> anyhow::Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .context("cannot run rustc -vV")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
}

/// `SOURCE_DATE_EPOCH`, else the committer time of `HEAD`.
fn source_date_epoch(repo: &Path) -> anyhow::Result<u64> {
    if let Some(value) = std::env::var_os("SOURCE_DATE_EPOCH") {
        return value
            .to_str()
            .and_then(|v| v.parse().ok())
            .context("SOURCE_DATE_EPOCH is not a whole number of seconds");
    }
    let out = Command::new("git")
        .current_dir(repo)
        .args(["log", "-1", "--format=%ct"])
        .output()
        .context("cannot run git to find the commit time")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("git log printed no commit time; set SOURCE_DATE_EPOCH")
}

fn build_command(r: &Release) -> Command {
    r.cargo(&["build", "--release", "-p", "skc-driver"])
}

fn build_commands(r: &Release) -> Vec<String> {
    vec![
        shell_line(&build_command(r)),
        format!("cp target/release/skc {}", r.skc().display()),
    ]
}

fn build(r: &Release) -> anyhow::Result<Outcome> {
    run_checked(&mut build_command(r))?;
    let built = r.repo.join("target/release/skc");
    let bytes =
        std::fs::read(&built).with_context(|| format!("cannot read {}", built.display()))?;
    // Paths of the build machine in the binary make it differ between
    // checkouts, and leak the builder's layout.
    let mut leaks = vec![r.repo.to_string_lossy().into_owned()];
    if let Some(home) = std::env::var_os("HOME") {
        leaks.push(
            PathBuf::from(home)
                .join(".cargo")
                .to_string_lossy()
                .into_owned(),
        );
    }
    for leak in &leaks {
        if contains(&bytes, leak.as_bytes()) {
            bail!("the release binary contains the build path `{leak}`");
        }
    }
    if r.stage.exists() {
        std::fs::remove_dir_all(&r.stage)
            .with_context(|| format!("cannot clear {}", r.stage.display()))?;
    }
    std::fs::create_dir_all(r.stage.join("bin"))?;
    std::fs::copy(&built, r.skc()).context("cannot stage bin/skc")?;
    let version = run_checked(Command::new(r.skc()).arg("--version"))?;
    Ok(Outcome::Done(format!(
        "{} ({} bytes, no build paths inside)",
        version.trim(),
        bytes.len()
    )))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

// ---- stage 2: wasm32 runtime ---------------------------------------------

/// The wasm32 C libraries: their sources and the archive each becomes
/// (the runtime, and the stand-ins searched after wasi-libc).
const RUNTIME_LIBRARIES: &[(&str, &str)] = &[
    ("skc-backend-wasm/runtime", "lib/skc/wasm32/libskc_rt.a"),
    (
        "skc-backend-wasm/runtime/stubs",
        "lib/skc/wasm32/libskc_stubs.a",
    ),
];

fn runtime_sources(r: &Release, dir: &str) -> Vec<PathBuf> {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(r.repo.join(dir))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "c"))
                .collect()
        })
        .unwrap_or_default();
    sources.sort();
    sources
}

fn runtime_compile(r: &Release, source: &Path, object: &Path) -> Command {
    let mut cmd = Command::new("clang-19");
    cmd.current_dir(&r.repo)
        .args(["--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-c"])
        .arg(format!("-ffile-prefix-map={}=.", r.repo.display()))
        .arg(source)
        .arg("-o")
        .arg(object);
    cmd
}

fn runtime_object(r: &Release, source: &Path) -> PathBuf {
    let name = source.file_name().unwrap_or_default();
    r.work().join("runtime").join(name).with_extension("o")
}

fn runtime_commands(r: &Release) -> Vec<String> {
    let mut lines = Vec::new();
    for (dir, archive) in RUNTIME_LIBRARIES {
        let sources = runtime_sources(r, dir);
        if sources.is_empty() {
            lines.push(format!("(no C sources in {dir}/: nothing to build)"));
            continue;
        }
        lines.extend(
            sources
                .iter()
                .map(|s| shell_line(&runtime_compile(r, s, &runtime_object(r, s)))),
        );
        let objects: Vec<String> = sources
            .iter()
            .map(|s| runtime_object(r, s).display().to_string())
            .collect();
        lines.push(format!("llvm-ar-19 rcsD {archive} {}", objects.join(" ")));
    }
    lines
}

fn runtime(r: &Release) -> anyhow::Result<Outcome> {
    let objects_dir = r.work().join("runtime");
    std::fs::create_dir_all(&objects_dir)?;
    let mut built = Vec::new();
    for (dir, archive_path) in RUNTIME_LIBRARIES {
        let sources = runtime_sources(r, dir);
        if sources.is_empty() {
            continue;
        }
        let mut objects = Vec::new();
        for source in &sources {
            let object = runtime_object(r, source);
            run_checked(&mut runtime_compile(r, source, &object))?;
            objects.push(object);
        }
        let archive = r.stage.join(archive_path);
        std::fs::create_dir_all(archive.parent().context("archive path has no parent")?)?;
        let _ = std::fs::remove_file(&archive);
        // `D`: zero timestamps and ids, so the archive is reproducible.
        let mut ar = Command::new("llvm-ar-19");
        ar.arg("rcsD").arg(&archive).args(&objects);
        run_checked(&mut ar)?;
        built.push(format!("{} source(s) -> {archive_path}", sources.len()));
    }
    if built.is_empty() {
        return Ok(Outcome::Skipped(
            "no runtime sources; the release has no lib/skc/wasm32".to_string(),
        ));
    }
    Ok(Outcome::Done(built.join(", ")))
}

// ---- stage 3: corpus -----------------------------------------------------

fn corpus_command(r: &Release) -> Command {
    // The same flags as the build, so cargo reuses its artifacts.
    let mut cmd = r.cargo(&["test", "-p", "skc-tests", "--release"]);
    cmd.env("SKC", r.skc());
    cmd
}

fn corpus_commands(r: &Release) -> Vec<String> {
    vec![shell_line(&corpus_command(r))]
}

fn corpus(r: &Release) -> anyhow::Result<Outcome> {
    let out = run_checked_with_progress(&mut corpus_command(r), "corpus")?;
    let (mut passed, mut ignored) = (0u64, 0u64);
    for line in out.lines().filter(|l| l.starts_with("test result:")) {
        passed += count_before(line, " passed");
        ignored += count_before(line, " ignored");
    }
    if passed == 0 {
        bail!("the corpus ran no tests:\n{out}");
    }
    Ok(Outcome::Done(format!(
        "{passed} passed, {ignored} ignored, 0 failed (native and wasm32, -O0 and -O2)"
    )))
}

/// The number just before `what` in a libtest summary line.
fn count_before(line: &str, what: &str) -> u64 {
    line.find(what)
        .and_then(|end| line[..end].rsplit([' ', ';']).next()?.parse().ok())
        .unwrap_or(0)
}

// ---- stage 5: package ----------------------------------------------------

fn archive_path(r: &Release) -> PathBuf {
    r.dist.join(format!("{}.tar.gz", r.name()))
}

fn package_commands(r: &Release) -> Vec<String> {
    vec![
        format!(
            "copy README.md LICENSE docs/ into {}; write {} (sorted, mtime {}, uid/gid 0)",
            r.stage.display(),
            archive_path(r).display(),
            r.mtime
        ),
        format!("write {}", r.dist.join("SHA256SUMS").display()),
    ]
}

fn package(r: &Release) -> anyhow::Result<Outcome> {
    for file in ["README.md", "LICENSE"] {
        std::fs::copy(r.repo.join(file), r.stage.join(file))
            .with_context(|| format!("cannot stage {file}"))?;
    }
    copy_tree(&r.repo.join("docs"), &r.stage.join("docs"))?;

    let top = r.name();
    let mut entries = vec![Entry {
        path: top.clone(),
        contents: Contents::Directory,
    }];
    collect_entries(&r.stage, &top, &mut entries)?;
    let bytes = archive::tar_gz(&entries, r.mtime)?;
    let path = archive_path(r);
    std::fs::write(&path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    let sum = hex(&Sha256::digest(&bytes));
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("archive name is not UTF-8")?;
    std::fs::write(r.dist.join("SHA256SUMS"), format!("{sum}  {file_name}\n"))
        .context("cannot write SHA256SUMS")?;
    Ok(Outcome::Done(format!(
        "{} ({} entries, {} bytes)\nsha256 {sum}",
        path.display(),
        entries.len(),
        bytes.len()
    )))
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Adds everything under `dir` as `prefix/...`.
fn collect_entries(dir: &Path, prefix: &str, entries: &mut Vec<Entry>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let name: OsString = entry.file_name();
        let name = name
            .to_str()
            .ok_or_else(|| anyhow!("`{}` is not UTF-8", entry.path().display()))?;
        let path = format!("{prefix}/{name}");
        let kind = entry.file_type()?;
        if kind.is_dir() {
            entries.push(Entry {
                path: path.clone(),
                contents: Contents::Directory,
            });
            collect_entries(&entry.path(), &path, entries)?;
        } else if kind.is_file() {
            use std::os::unix::fs::PermissionsExt;
            let executable = entry.metadata()?.permissions().mode() & 0o111 != 0;
            entries.push(Entry {
                path,
                contents: Contents::File {
                    bytes: std::fs::read(entry.path())?,
                    executable,
                },
            });
        } else {
            bail!(
                "`{}` is neither a file nor a directory",
                entry.path().display()
            );
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---- --verify -------------------------------------------------------------

fn verify_checksums(r: &Release) -> anyhow::Result<()> {
    let published = r.repo.join("target/dist/SHA256SUMS");
    let expected = std::fs::read_to_string(&published).with_context(|| {
        format!(
            "cannot read {}; run `cargo xtask release` first",
            published.display()
        )
    })?;
    let rebuilt = std::fs::read_to_string(r.dist.join("SHA256SUMS"))?;
    if expected != rebuilt {
        bail!(
            "the rebuilt archive differs from the release:\n  release: {}  rebuilt: {}",
            expected.trim(),
            rebuilt.trim()
        );
    }
    println!("\nverified: {}", rebuilt.trim());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_counts_are_read() {
        let line = "test result: ok. 412 passed; 0 failed; 3 ignored; 0 measured; 0 filtered out";
        assert_eq!(count_before(line, " passed"), 412);
        assert_eq!(count_before(line, " ignored"), 3);
        assert_eq!(count_before("nothing", " passed"), 0);
    }

    #[test]
    fn the_workspace_version_is_found() {
        let repo = repo_root().expect("root");
        let version = workspace_version(&repo).expect("version");
        assert!(version.split('.').count() == 3, "{version}");
    }
}
