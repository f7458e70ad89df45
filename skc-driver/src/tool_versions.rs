//! What each tool says of its version, asked once per program file.
//!
//! cproc and make run skc once per source file, and every run checks the
//! version of the clang (and, for wasm32, the wasm-ld) it picks. Asking
//! `--version` costs a process start each time (20 to 40 ms measured on
//! this project's machines, more than compiling a small file's IL), so the
//! first line of the answer is remembered in the cache directory, keyed
//! by the program's real path, size and modification time: an upgraded
//! or re-pointed tool is asked again.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

/// The file in the cache directory.
const CACHE_FILE: &str = "tool-versions";
/// Entries kept in it; the least recently added go first.
const MAX_ENTRIES: usize = 64;

/// The first line `program --version` prints, if it prints one; asked at
/// most once per run, and once per program file while `cache_dir` keeps
/// the answer.
pub fn version_line(program: &Path, cache_dir: Option<&Path>) -> Option<String> {
    static SEEN: Mutex<Option<HashMap<PathBuf, Option<String>>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let seen = seen.get_or_insert_with(HashMap::new);
    if let Some(line) = seen.get(program) {
        return line.clone();
    }
    let line = remembered_version_line(program, cache_dir);
    seen.insert(program.to_path_buf(), line.clone());
    line
}

/// [`version_line`] without the in-process memory.
fn remembered_version_line(program: &Path, cache_dir: Option<&Path>) -> Option<String> {
    let key = Key::of(program);
    let file = cache_dir.map(|dir| dir.join(CACHE_FILE));
    if let (Some(key), Some(file)) = (&key, &file) {
        if let Some(line) = read_entry(file, key) {
            return Some(line);
        }
    }
    let line = ask(program)?;
    if let (Some(key), Some(file)) = (&key, &file) {
        // A cache that cannot be written only costs the next run a process.
        let _ = write_entry(file, key, &line);
    }
    Some(line)
}

fn ask(program: &Path) -> Option<String> {
    let out = std::process::Command::new(program)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next()?.trim().replace('\t', " ");
    (!line.is_empty()).then_some(line)
}

/// What identifies one program file.
#[derive(PartialEq, Eq)]
struct Key {
    path: String,
    len: u64,
    modified_ns: u128,
}

impl Key {
    fn of(program: &Path) -> Option<Key> {
        let real = std::fs::canonicalize(program).ok()?;
        let meta = std::fs::metadata(&real).ok()?;
        let modified_ns = meta
            .modified()
            .ok()?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos();
        let path = real.to_str()?.to_string();
        if path.contains(['\t', '\n']) {
            return None;
        }
        Some(Key {
            path,
            len: meta.len(),
            modified_ns,
        })
    }

    /// `path TAB len TAB modified` (the line continues with the version).
    fn fields(&self) -> String {
        format!("{}\t{}\t{}", self.path, self.len, self.modified_ns)
    }
}

fn read_entry(file: &Path, key: &Key) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let prefix = format!("{}\t", key.fields());
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .filter(|version| !version.is_empty())
        .map(str::to_string)
}

/// Rewrites the file with `key`'s entry last, leaving out programs that
/// are gone. Concurrent runs each rename a complete file into place; one
/// of their entries may be lost, never a file half written.
fn write_entry(file: &Path, key: &Key, version: &str) -> std::io::Result<()> {
    let old = std::fs::read_to_string(file).unwrap_or_default();
    let same_program = format!("{}\t", key.path);
    let mut lines: Vec<&str> = old
        .lines()
        .filter(|line| !line.starts_with(&same_program))
        .filter(|line| {
            line.split('\t')
                .next()
                .is_some_and(|p| Path::new(p).exists())
        })
        .collect();
    let entry = format!("{}\t{version}", key.fields());
    lines.push(&entry);
    let keep = &lines[lines.len().saturating_sub(MAX_ENTRIES)..];
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    for line in keep {
        writeln!(tmp, "{line}")?;
    }
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A program that answers `--version` with `banner` and counts how
    /// often it was asked in `<dir>/asked`.
    fn counting_program(dir: &Path, banner: &str) -> PathBuf {
        let path = dir.join("tool");
        let script = format!(
            "#!/bin/sh\necho x >> '{}'\nprintf '%s\\nsecond line\\n' '{banner}'\n",
            dir.join("asked").display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn times_asked(dir: &Path) -> usize {
        std::fs::read_to_string(dir.join("asked"))
            .unwrap_or_default()
            .lines()
            .count()
    }

    #[test]
    fn a_program_is_asked_once_while_its_file_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        std::fs::create_dir(&cache).unwrap();
        let tool = counting_program(dir.path(), "Tool version 15.0.6");
        for _ in 0..3 {
            assert_eq!(
                remembered_version_line(&tool, Some(&cache)).as_deref(),
                Some("Tool version 15.0.6")
            );
        }
        assert_eq!(times_asked(dir.path()), 1);

        // A new program at the same path (an upgrade) is asked again, and
        // its entry replaces the old one.
        let tool = counting_program(dir.path(), "Tool version 16.0.61");
        assert_eq!(
            remembered_version_line(&tool, Some(&cache)).as_deref(),
            Some("Tool version 16.0.61")
        );
        assert_eq!(times_asked(dir.path()), 2);
        let entries = std::fs::read_to_string(cache.join(CACHE_FILE)).unwrap();
        assert_eq!(entries.lines().count(), 1, "{entries}");
    }

    #[test]
    fn programs_that_are_gone_leave_the_cache_when_it_is_next_written() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        std::fs::create_dir(&cache).unwrap();
        let mut programs = Vec::new();
        for name in ["a", "b", "c"] {
            let sub = dir.path().join(name);
            std::fs::create_dir(&sub).unwrap();
            programs.push(counting_program(&sub, &format!("Tool version {name}")));
        }
        remembered_version_line(&programs[0], Some(&cache));
        remembered_version_line(&programs[1], Some(&cache));
        std::fs::remove_file(&programs[0]).unwrap();
        remembered_version_line(&programs[2], Some(&cache));
        let entries = std::fs::read_to_string(cache.join(CACHE_FILE)).unwrap();
        let versions: Vec<&str> = entries
            .lines()
            .filter_map(|l| l.rsplit('\t').next())
            .collect();
        assert_eq!(versions, ["Tool version b", "Tool version c"], "{entries}");
    }

    #[test]
    fn without_a_cache_directory_each_lookup_asks() {
        let dir = tempfile::tempdir().unwrap();
        let tool = counting_program(dir.path(), "Tool version 19.1.7");
        for _ in 0..2 {
            assert_eq!(
                remembered_version_line(&tool, None).as_deref(),
                Some("Tool version 19.1.7")
            );
        }
        assert_eq!(times_asked(dir.path()), 2);
    }

    #[test]
    fn a_program_that_prints_nothing_has_no_version_and_is_not_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        std::fs::create_dir(&cache).unwrap();
        let tool = dir.path().join("silent");
        std::fs::write(&tool, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(remembered_version_line(&tool, Some(&cache)), None);
        assert!(!cache.join(CACHE_FILE).exists());
    }
}
