//! Finding clang, wasm-ld, wasm-opt and the wasi-libc sysroot.
//!
//! Each tool is looked up in this order: the command-line flag, its
//! environment variable (clap folds both into one value), then `PATH`
//! under the versioned names Debian installs, newest first (`clang-24` …
//! `clang-14`), then under its plain name. A clang or wasm-ld found on
//! `PATH` too old for what skc writes is passed over, and one named
//! explicitly is refused, saying so. Versions are read once per program
//! file (`tool_versions`).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use skc_ir::backend::{Tool, Toolchain};

/// Oldest and newest LLVM major versions searched for.
const LLVM_VERSIONS: std::ops::RangeInclusive<u32> = 14..=24;

/// The oldest version of a tool skc can use, and why older ones fail.
fn oldest(tool: Tool) -> Option<(u32, &'static str)> {
    match tool {
        // Pointers are opaque (`ptr`), which clang 15 reads by default and
        // clang 14 only with a flag that changes with its version.
        Tool::Clang => Some((15, "opaque pointers")),
        // wasm-ld 14 to 16 (Debian 12) link what skc writes; older
        // versions are not available to test.
        Tool::WasmLd => Some((14, "older ones are not tested")),
        Tool::WasmOpt => None,
    }
}

/// Explicit choices from the command line or environment.
#[derive(Clone, Debug, Default)]
pub struct ToolOverrides {
    /// `--clang` / `SKC_CLANG`.
    pub clang: Option<PathBuf>,
    /// `--wasm-ld` / `SKC_WASM_LD`.
    pub wasm_ld: Option<PathBuf>,
    /// `--wasm-opt` / `SKC_WASM_OPT`.
    pub wasm_opt: Option<PathBuf>,
    /// `--sysroot` / `WASI_SYSROOT`.
    pub sysroot: Option<PathBuf>,
}

/// The driver's [`Toolchain`]: overrides first, then a `PATH` search.
pub struct DiscoveredToolchain {
    overrides: ToolOverrides,
}

/// What the user sees about each tool.
struct ToolFacts {
    /// The plain program name.
    name: &'static str,
    /// The flag that overrides the search.
    flag: &'static str,
    /// The environment variable that overrides the search.
    env: &'static str,
    /// The Debian package that provides it.
    package: &'static str,
    /// Whether Debian installs versioned names (`NAME-19`).
    versioned: bool,
}

fn facts(tool: Tool) -> ToolFacts {
    match tool {
        Tool::Clang => ToolFacts {
            name: "clang",
            flag: "--clang",
            env: "SKC_CLANG",
            package: "clang-19",
            versioned: true,
        },
        Tool::WasmLd => ToolFacts {
            name: "wasm-ld",
            flag: "--wasm-ld",
            env: "SKC_WASM_LD",
            package: "lld-19",
            versioned: true,
        },
        Tool::WasmOpt => ToolFacts {
            name: "wasm-opt",
            flag: "--wasm-opt",
            env: "SKC_WASM_OPT",
            package: "binaryen",
            versioned: false,
        },
    }
}

impl DiscoveredToolchain {
    /// A toolchain honouring `overrides`.
    pub fn new(overrides: ToolOverrides) -> Self {
        DiscoveredToolchain { overrides }
    }

    fn override_for(&self, tool: Tool) -> Option<&Path> {
        match tool {
            Tool::Clang => self.overrides.clang.as_deref(),
            Tool::WasmLd => self.overrides.wasm_ld.as_deref(),
            Tool::WasmOpt => self.overrides.wasm_opt.as_deref(),
        }
    }

    /// An explicitly named tool: a bare name is searched on `PATH`, a path
    /// must exist.
    fn resolve_override(&self, tool: Tool, given: &Path) -> Result<PathBuf> {
        let facts = facts(tool);
        let is_bare_name = given.components().count() == 1 && !given.is_absolute();
        let found = if is_bare_name {
            which::which(given).ok()
        } else if given.is_file() {
            Some(given.to_path_buf())
        } else {
            None
        };
        found.ok_or_else(|| {
            anyhow!(
                "{} `{}` (from {} or {}) was not found; check the path, or unset it to search PATH",
                facts.name,
                given.display(),
                facts.flag,
                facts.env
            )
        })
    }

    /// The tool's candidates on `PATH`, newest versioned name first, the
    /// plain name last.
    fn candidates(tool: Tool) -> Vec<PathBuf> {
        let facts = facts(tool);
        let mut names: Vec<String> = Vec::new();
        if facts.versioned {
            names.extend(LLVM_VERSIONS.rev().map(|v| format!("{}-{v}", facts.name)));
        }
        names.push(facts.name.to_string());
        names
            .into_iter()
            .filter_map(|n| which::which(n).ok())
            .collect()
    }

    /// The first candidate new enough, or an error naming the first that
    /// was too old (`None`: no candidate at all).
    fn search_path(tool: Tool) -> Option<Result<PathBuf>> {
        let mut too_old = None;
        for path in Self::candidates(tool) {
            match too_old_error(tool, &path) {
                Some(error) => {
                    too_old.get_or_insert(error);
                }
                // A tool whose version cannot be read is given its chance.
                None => return Some(Ok(path)),
            }
        }
        too_old.map(Err)
    }
}

impl ToolOverrides {
    /// The choices the environment makes (`SKC_CLANG`, …), for requests
    /// that read no command line, such as `--version`.
    pub fn from_environment() -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        ToolOverrides {
            clang: var("SKC_CLANG"),
            wasm_ld: var("SKC_WASM_LD"),
            wasm_opt: var("SKC_WASM_OPT"),
            sysroot: var("WASI_SYSROOT"),
        }
    }
}

impl DiscoveredToolchain {
    /// One line per tool and the sysroot: what a build would use, with the
    /// version it reports, or why there is none.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (label, tool) in [
            ("clang", Tool::Clang),
            ("wasm-ld", Tool::WasmLd),
            ("wasm-opt", Tool::WasmOpt),
        ] {
            lines.push(match self.tool(tool) {
                Ok(path) => match cached_version_line(&path) {
                    Some(v) => format!("{label}: {} ({v})", path.display()),
                    None => format!("{label}: {}", path.display()),
                },
                Err(e) => format!("{label}: none ({e})"),
            });
        }
        lines.push(match self.wasi_sysroot() {
            Ok(dir) => format!("wasi sysroot: {}", dir.display()),
            Err(e) => format!("wasi sysroot: none ({e})"),
        });
        lines
    }
}

/// The first line `path --version` prints, remembered in the cache
/// directory when there is one.
fn cached_version_line(path: &Path) -> Option<String> {
    crate::tool_versions::version_line(path, cache_base().ok().as_deref())
}

/// The error for a tool older than skc can use, if `path` is one.
fn too_old_error(tool: Tool, path: &Path) -> Option<anyhow::Error> {
    let (oldest, why) = oldest(tool)?;
    let version = major_version(tool, path).filter(|&v| v < oldest)?;
    let facts = facts(tool);
    Some(anyhow!(
        "{name} {version} at {} is too old: skc needs {name} {oldest} or newer ({why}); \
         install {package}",
        path.display(),
        name = facts.name,
        package = facts.package,
    ))
}

/// The major version `path --version` reports for `tool`.
fn major_version(tool: Tool, path: &Path) -> Option<u32> {
    let line = cached_version_line(path)?;
    match tool {
        Tool::Clang => parse_clang_version(&line),
        Tool::WasmLd => parse_lld_version(&line),
        Tool::WasmOpt => version_after(&line, "version "),
    }
}

/// The major version in `clang --version`'s first line (`Debian clang
/// version 14.0.6`, `clang version 19.1.7 (...)`, `Ubuntu clang version
/// 18.1.3 (1ubuntu1)`).
fn parse_clang_version(text: &str) -> Option<u32> {
    version_after(text.lines().next()?, "clang version ")
}

/// The major version in `wasm-ld --version` (`Debian LLD 19.1.7
/// (compatible with GNU linkers)`, `LLD 15.0.6`).
fn parse_lld_version(text: &str) -> Option<u32> {
    version_after(text.lines().next()?, "LLD ")
}

/// The number that starts right after `marker` in `line`.
fn version_after(line: &str, marker: &str) -> Option<u32> {
    let rest = &line[line.find(marker)? + marker.len()..];
    rest.split(['.', ' ', '-', '(']).next()?.parse().ok()
}

/// Whether `root` holds a wasi-libc for wasm32 at all (Debian's `/usr`
/// and wasi-sdk's sysroot both put it in `lib/wasm32-wasi[p1]/libc.a`).
fn has_wasi_libc(root: &Path) -> bool {
    ["wasm32-wasi", "wasm32-wasip1"]
        .iter()
        .any(|dir| root.join("lib").join(dir).join("libc.a").is_file())
}

/// The first part of a wasi-libc sysroot the wasm32 chain uses that
/// `root` lacks: the C library and start file it links, and the headers
/// the runtime is compiled against (in Debian's and older wasi-sdk's
/// places).
fn missing_sysroot_part(root: &Path) -> Option<&'static str> {
    let lib = ["lib/wasm32-wasi/libc.a", "lib/wasm32-wasi/crt1-command.o"];
    if let Some(missing) = lib.into_iter().find(|f| !root.join(f).is_file()) {
        return Some(missing);
    }
    let headers = ["include/wasm32-wasi/stdio.h", "include/stdio.h"];
    if !headers.iter().any(|f| root.join(f).is_file()) {
        return Some("include/wasm32-wasi/stdio.h");
    }
    None
}

/// skc's per-user cache directory, `$XDG_CACHE_HOME/skc` or
/// `~/.cache/skc` (created on demand).
fn cache_base() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(xdg) => PathBuf::from(xdg),
        None => {
            let home = std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .ok_or_else(|| anyhow!("neither XDG_CACHE_HOME nor HOME is set; set one"))?;
            PathBuf::from(home).join(".cache")
        }
    };
    let dir = base.join("skc");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the cache directory `{}`", dir.display()))?;
    Ok(dir)
}

impl Toolchain for DiscoveredToolchain {
    fn tool(&self, tool: Tool) -> Result<PathBuf> {
        if let Some(given) = self.override_for(tool) {
            let path = self.resolve_override(tool, given)?;
            if let Some(error) = too_old_error(tool, &path) {
                return Err(error);
            }
            return Ok(path);
        }
        Self::search_path(tool).unwrap_or_else(|| {
            let f = facts(tool);
            let versions = if f.versioned {
                format!(
                    " (nor {0}-{1} … {0}-{2})",
                    f.name,
                    LLVM_VERSIONS.end(),
                    LLVM_VERSIONS.start()
                )
            } else {
                String::new()
            };
            Err(anyhow!(
                "{name} not found on PATH{versions}; install the Debian package {package} \
                 (`apt install {package}`), or name the program with {flag} PATH or {env}=PATH",
                name = f.name,
                package = f.package,
                flag = f.flag,
                env = f.env
            ))
        })
    }

    fn optional_tool(&self, tool: Tool) -> Option<PathBuf> {
        match self.override_for(tool) {
            // An explicit choice that does not exist is reported when the
            // step runs, rather than silently skipped.
            Some(given) => Some(
                self.resolve_override(tool, given)
                    .unwrap_or_else(|_| given.to_path_buf()),
            ),
            None => Self::search_path(tool).and_then(Result::ok),
        }
    }

    fn wasi_sysroot(&self) -> Result<PathBuf> {
        if let Some(given) = &self.overrides.sysroot {
            return match missing_sysroot_part(given) {
                None => Ok(given.clone()),
                Some(missing) => Err(anyhow!(
                    "`{}` (from --sysroot or WASI_SYSROOT) is not a usable wasi-libc sysroot: \
                     {missing} is missing there",
                    given.display()
                )),
            };
        }
        let mut candidates = Vec::new();
        if let Some(sdk) = std::env::var_os("WASI_SDK_PATH") {
            candidates.push(PathBuf::from(sdk).join("share/wasi-sysroot"));
        }
        candidates.push(PathBuf::from("/usr"));
        candidates.push(PathBuf::from("/opt/wasi-sdk/share/wasi-sysroot"));
        if let Some(usable) = candidates
            .iter()
            .find(|c| missing_sysroot_part(c).is_none())
        {
            return Ok(usable.clone());
        }
        if let Some(partial) = candidates.iter().find(|c| has_wasi_libc(c)) {
            let missing = missing_sysroot_part(partial).unwrap_or_default();
            return Err(anyhow!(
                "wasi-libc at {} is incomplete or too old for skc: {missing} is missing there; \
                 install the Debian package wasi-libc (Debian 12's or newer), or pass \
                 --sysroot DIR or set WASI_SYSROOT=DIR to a complete sysroot",
                partial.display()
            ));
        }
        Err(anyhow!(
            "wasi-libc not found (looked in $WASI_SDK_PATH/share/wasi-sysroot, /usr and \
             /opt/wasi-sdk/share/wasi-sysroot); install the Debian package wasi-libc \
             (`apt install wasi-libc`), or pass --sysroot DIR or set WASI_SYSROOT=DIR"
        ))
    }

    fn cache_dir(&self) -> Result<PathBuf> {
        cache_base()
    }

    fn tool_version(&self, tool: Tool) -> Option<u32> {
        major_version(tool, &self.tool(tool).ok()?)
    }

    fn resource_dir(&self) -> Option<PathBuf> {
        let exe = std::env::current_exe().ok()?;
        let dir = exe.parent()?.join("../lib/skc");
        dir.is_dir().then_some(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clang_versions_are_read_from_every_vendors_banner() {
        for (text, v) in [
            (
                "Debian clang version 14.0.6\nTarget: x86_64-pc-linux-gnu\n",
                Some(14),
            ),
            (
                "clang version 19.1.7 (https://github.com/llvm/llvm-project)\n",
                Some(19),
            ),
            ("Ubuntu clang version 18.1.3 (1ubuntu1)\n", Some(18)),
            ("Homebrew clang version 20.1.0\n", Some(20)),
            ("gcc (Debian 12.2.0-14) 12.2.0\n", None),
            ("", None),
        ] {
            assert_eq!(parse_clang_version(text), v, "{text}");
        }
    }

    #[test]
    fn a_missing_override_is_named_in_the_error() {
        let toolchain = DiscoveredToolchain::new(ToolOverrides {
            clang: Some(PathBuf::from("/nonexistent/clang")),
            ..ToolOverrides::default()
        });
        let message = toolchain.tool(Tool::Clang).unwrap_err().to_string();
        assert!(message.contains("/nonexistent/clang"), "{message}");
        assert!(message.contains("--clang"), "{message}");
    }

    #[test]
    fn the_cache_lives_under_xdg_cache_home() {
        let base = tempfile::tempdir().expect("tempdir");
        // The only test in this binary that reads or writes this variable.
        std::env::set_var("XDG_CACHE_HOME", base.path());
        let dir = DiscoveredToolchain::new(ToolOverrides::default())
            .cache_dir()
            .expect("cache dir");
        assert_eq!(dir, base.path().join("skc"));
        assert!(dir.is_dir());
    }

    #[test]
    fn a_bare_override_name_is_searched_on_path() {
        let toolchain = DiscoveredToolchain::new(ToolOverrides {
            wasm_opt: Some(PathBuf::from("sh")),
            ..ToolOverrides::default()
        });
        let found = toolchain.tool(Tool::WasmOpt).expect("sh is on PATH");
        assert!(
            found.is_absolute() && found.ends_with("sh"),
            "{}",
            found.display()
        );
    }

    #[test]
    fn a_directory_without_libc_is_not_a_sysroot() {
        let empty = tempfile::tempdir().expect("tempdir");
        let toolchain = DiscoveredToolchain::new(ToolOverrides {
            sysroot: Some(empty.path().to_path_buf()),
            ..ToolOverrides::default()
        });
        assert!(toolchain.wasi_sysroot().is_err());
        std::fs::create_dir_all(empty.path().join("lib/wasm32-wasi")).expect("mkdir");
        std::fs::write(empty.path().join("lib/wasm32-wasi/libc.a"), b"!<arch>\n").expect("write");
        std::fs::write(empty.path().join("lib/wasm32-wasi/crt1-command.o"), b"").expect("write");
        assert!(toolchain.wasi_sysroot().is_err(), "no headers yet");
        std::fs::create_dir_all(empty.path().join("include/wasm32-wasi")).expect("mkdir");
        std::fs::write(empty.path().join("include/wasm32-wasi/stdio.h"), b"").expect("write");
        assert_eq!(toolchain.wasi_sysroot().expect("found"), empty.path());
    }
}
