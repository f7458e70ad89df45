//! What every release stage shares: the release's fixed facts
//! ([`Release`]), how a stage ends ([`Outcome`]), and running a command
//! with its output checked.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};

/// The release's fixed facts, worked out before any stage runs.
pub struct Release {
    /// The repository root.
    pub repo: PathBuf,
    /// The workspace version.
    pub version: String,
    /// The host target triple.
    pub host: String,
    /// `target/dist`, or `target/dist/verify` for `--verify`.
    pub dist: PathBuf,
    /// The staged tree that becomes the archive's one top-level directory.
    pub stage: PathBuf,
    /// The mtime given to every archive member.
    pub mtime: u64,
    /// Size of the generated module for the memory check, in MiB.
    pub memory_size_mb: f64,
}

impl Release {
    /// `skc-<version>-<host>`.
    pub fn name(&self) -> String {
        format!("skc-{}-{}", self.version, self.host)
    }

    /// The staged release binary.
    pub fn skc(&self) -> PathBuf {
        self.stage.join("bin/skc")
    }

    /// Scratch space for stages.
    pub fn work(&self) -> PathBuf {
        self.dist.join("work")
    }

    /// The rustc flags that keep build paths out of the binary, encoded
    /// for `CARGO_ENCODED_RUSTFLAGS` (unit-separator between flags, so a
    /// path with spaces stays one flag).
    pub fn encoded_rustflags(&self) -> String {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
            .unwrap_or_else(|| PathBuf::from("/root/.cargo"));
        [
            format!("--remap-path-prefix={}=.", self.repo.display()),
            format!("--remap-path-prefix={}=/cargo", cargo_home.display()),
        ]
        .join("\x1f")
    }

    /// A `cargo` command in the repository with the release flags.
    pub fn cargo(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.current_dir(&self.repo)
            .args(args)
            .env_remove("RUSTFLAGS")
            .env("CARGO_ENCODED_RUSTFLAGS", self.encoded_rustflags());
        cmd
    }
}

/// Runs `cmd`, failing with its output if it fails. Returns its stdout.
/// How a stage ended.
pub enum Outcome {
    /// It ran; the text sums up what it found.
    Done(String),
    /// It had nothing to do; the text says why.
    Skipped(String),
}

pub fn run_checked(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        bail!(
            "{} failed ({})\n{}",
            shell_line(cmd),
            out.status,
            last_lines(&text, 40)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// [`run_checked`] for a long test run: prints how many tests have finished
/// every 100 tests, so the stage does not sit silent for minutes.
pub fn run_checked_with_progress(cmd: &mut Command, label: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let mut stderr = child.stderr.take().context("no stderr pipe")?;
    let stderr_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let mut stdout = String::new();
    let mut finished = 0u64;
    for line in BufReader::new(child.stdout.take().context("no stdout pipe")?).lines() {
        let line = line.context("cannot read the test output")?;
        if line.starts_with("test ") && (line.ends_with(" ok") || line.ends_with(" FAILED")) {
            finished += 1;
            if finished.is_multiple_of(100) {
                println!("  {label}: {finished} tests finished");
            }
        }
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let status = child.wait().context("cannot wait for the test run")?;
    let stderr = stderr_reader.join().unwrap_or_default();
    if !status.success() {
        let text = format!("{stdout}{}", String::from_utf8_lossy(&stderr));
        bail!(
            "{} failed ({status})\n{}",
            shell_line(cmd),
            last_lines(&text, 40)
        );
    }
    Ok(stdout)
}

/// The end of a long output, where failures are summed up.
fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(count);
    let mut kept = lines[start..].join("\n");
    if start > 0 {
        kept = format!("... ({start} lines before)\n{kept}");
    }
    kept
}

/// `cmd` as one line, environment first.
pub fn shell_line(cmd: &Command) -> String {
    let mut words: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| {
            let v = v?.to_string_lossy().replace('\x1f', " ");
            Some(format!("{}='{v}'", k.to_string_lossy()))
        })
        .collect();
    words.push(cmd.get_program().to_string_lossy().into_owned());
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

// ---- stage 1: build -------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_output_keeps_its_end() {
        assert_eq!(last_lines("a\nb\nc", 2), "... (1 lines before)\nb\nc");
        assert_eq!(last_lines("a\nb", 5), "a\nb");
    }
}
