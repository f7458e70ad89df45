//! The backend contract: what a code generator implements, what it is
//! given, and how it registers itself.
//!
//! A backend consumes verified items one at a time from an [`ItemSource`],
//! writes whatever it produces (LLVM IR text, a wasm object) to files, and
//! returns a [`LinkPlan`]: plain data saying which external tools to run
//! afterwards. It never runs a tool itself; the driver executes the plan
//! after every compile-phase allocation has been dropped.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::contract::plan::LinkPlan;
use crate::ir::types::TypeTable;
use crate::ir::Item;

/// Where a backend gets its input: verified items in input order.
pub trait ItemSource {
    /// The next item, `Ok(None)` at the end of the input. Items with errors
    /// are reported to the user as they are found and skipped; at the end,
    /// `Err` says how many errors there were, so the backend stops without
    /// writing an output.
    fn next_item(&mut self) -> Result<Option<Item>, InputErrors>;
    /// The aggregate types defined so far (every [`crate::ir::types::TypeId`]
    /// in an item already handed out is valid here).
    fn types(&self) -> &TypeTable;
    /// The input the last item came from, when several inputs are read
    /// as one module (for messages that name the file referencing a
    /// symbol); `None` for a single input.
    fn source_name(&self) -> Option<&str> {
        None
    }
}

/// The input had errors, already reported to the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputErrors {
    /// How many errors were reported.
    pub count: usize,
}

impl std::fmt::Display for InputErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = if self.count == 1 { "" } else { "s" };
        write!(f, "{} error{s} in the input", self.count)
    }
}

impl std::error::Error for InputErrors {}

/// Optimisation level, as `-O<n>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptLevel {
    /// `-O0`
    O0,
    /// `-O1`
    O1,
    /// `-O2` (the default)
    O2,
    /// `-O3`
    O3,
    /// `-Os`
    Os,
}

impl OptLevel {
    /// The flag text, e.g. `-O2`.
    pub fn flag(self) -> &'static str {
        match self {
            OptLevel::O0 => "-O0",
            OptLevel::O1 => "-O1",
            OptLevel::O2 => "-O2",
            OptLevel::O3 => "-O3",
            OptLevel::Os => "-Os",
        }
    }
}

/// What the user asked to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Emit {
    /// A linked program (default): an ELF executable natively, a wasm
    /// module for wasm32 (`--emit=wasm`).
    Executable,
    /// A relocatable object (`-c`, `--emit=obj`).
    Object,
    /// Assembly text (`-S`, `--emit=asm`); for wasm32 this is the object
    /// as WebAssembly text.
    Assembly,
    /// LLVM IR text (`--emit=llvm`); native only.
    Llvm,
    /// The object as WebAssembly text (`--emit=wat`); wasm32 only.
    Wat,
}

/// One argument for the link step, in command-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkInput {
    /// A C source file, compiled for the target before linking.
    CSource(PathBuf),
    /// An object, archive or shared library.
    File(PathBuf),
    /// `-lNAME`
    Lib(OsString),
    /// `-LDIR`
    LibDir(PathBuf),
    /// `-Wl,ARG`: one argument for the linker.
    LinkerArg(OsString),
}

/// External tools a backend may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tool {
    /// clang (native compile and link; C compiles for wasm32).
    Clang,
    /// wasm-ld.
    WasmLd,
    /// wasm-opt (optional: `None` from [`Toolchain::optional_tool`]).
    WasmOpt,
}

/// Locates tools and the wasi sysroot; implemented by the driver (command
/// line flags, environment, `PATH`), so backends never search themselves.
pub trait Toolchain {
    /// The path of a required tool, or an error naming it and the package
    /// that provides it.
    fn tool(&self, tool: Tool) -> anyhow::Result<PathBuf>;
    /// The path of an optional tool, if found.
    fn optional_tool(&self, tool: Tool) -> Option<PathBuf>;
    /// The major version of the tool [`Toolchain::tool`] gives (`19` for
    /// clang 19.1.7), where it can be read.
    fn tool_version(&self, _tool: Tool) -> Option<u32> {
        None
    }
    /// The wasi-libc sysroot (with `include/` and `lib/` for wasm32-wasi).
    fn wasi_sysroot(&self) -> anyhow::Result<PathBuf>;
    /// A per-user cache directory for built artifacts (created on demand).
    fn cache_dir(&self) -> anyhow::Result<PathBuf>;
    /// The release's resource directory (`lib/skc` beside `bin/skc`), if
    /// this is an installed build.
    fn resource_dir(&self) -> Option<PathBuf>;
    /// The skc executable, for plan steps a backend runs in skc itself
    /// ([`Backend::run_step`]).
    fn skc_executable(&self) -> anyhow::Result<PathBuf> {
        std::env::current_exe()
            .map_err(|e| anyhow::anyhow!("cannot find skc's own executable: {e}"))
    }
}

/// Creates the files a backend writes during the compile phase; the
/// driver implements it so that these files get the modes of finished
/// outputs and are removed when a signal (SIGINT, SIGTERM, SIGHUP) ends
/// skc before they are renamed into place or handed to the plan.
pub trait Files {
    /// A new empty file beside `dest` under a hidden temporary name, to be
    /// persisted onto `dest` once complete (or handed to the plan as a
    /// staged result). Its mode is that of a new output: 0666, or 0777 for
    /// an `executable`, less the umask.
    fn staging(&self, dest: &Path, executable: bool) -> anyhow::Result<NamedTempFile>;
    /// A new empty file in the temporary directory whose name ends in
    /// `suffix`, private to the user.
    fn temporary(&self, suffix: &str) -> anyhow::Result<NamedTempFile>;
}

/// Everything a backend needs besides the items.
pub struct Options<'a> {
    /// `-O` level.
    pub opt_level: OptLevel,
    /// `-g`: emit debug line tables.
    pub debug_info: bool,
    /// What to produce.
    pub emit: Emit,
    /// The output path (`-o`, or the default for the target and `emit`).
    pub output: PathBuf,
    /// The IL input as named on the command line (the first when there
    /// are several, `<stdin>` for standard input, empty when there is
    /// none): the source file the object and its debug information name.
    pub source_name: String,
    /// Non-IL inputs and link flags, in command-line order.
    pub link_inputs: Vec<LinkInput>,
    /// Write intermediate files as real, kept files (for `-###`,
    /// `--print-link-plan` and `--keep-temps`), so printed commands can be
    /// run by hand.
    pub keep_temps: bool,
    /// Link stand-ins for C library functions the target cannot provide
    /// (they fail when called, and the link says which were used);
    /// without them such a call is an error naming each function.
    pub stubs: bool,
    /// Tool discovery.
    pub toolchain: &'a dyn Toolchain,
    /// Where the backend's own files come from.
    pub files: &'a dyn Files,
}

/// A code generator for one target.
pub trait Backend: Sync {
    /// The canonical target name (`native`, `wasm32`).
    fn name(&self) -> &'static str;
    /// Other names accepted by `--target` (triples).
    fn aliases(&self) -> Vec<String>;
    /// The target triple produced.
    fn triple(&self) -> String;
    /// One line for `--print-targets`.
    fn description(&self) -> &'static str;
    /// The output file name when `-o` is absent and a program is linked.
    fn default_output(&self) -> &'static str;
    /// Compiles every item and returns the plan for what remains. Output
    /// written by the backend itself must appear atomically (a
    /// [`Files::staging`] file, then persisted), so a failed or
    /// interrupted compile leaves no partial file.
    fn compile(
        &self,
        items: &mut dyn ItemSource,
        options: &Options<'_>,
    ) -> anyhow::Result<LinkPlan>;
    /// Whether the backend lowers a reference to `name` as one to the C
    /// library's function or object of that name when nothing in the
    /// input says otherwise (a call adapted to the library's types, data
    /// it provides). A single input that defines such a name without
    /// `export` is read as several inputs are, with its local names made
    /// distinct, so that the file's own definition is the one used. The
    /// default knows no such names.
    fn lowers_as_library(&self, name: &str) -> bool {
        let _ = name;
        false
    }
    /// Whether [`Backend::lowers_as_library`] holds for any name at all:
    /// when not, a single input is read as it comes, without a scan
    /// (standard input streams into the compile phase).
    fn has_library_names(&self) -> bool {
        false
    }
    /// Runs one of the backend's own plan steps: the plan runs
    /// `skc --backend-step TARGET NAME ARGS…` (see
    /// [`Toolchain::skc_executable`]) for work that must happen between
    /// external tools, such as reading and rewriting their outputs. Such a
    /// step runs in a process of its own after the compile phase, like any
    /// other step. The default knows no steps.
    fn run_step(&self, name: &str, args: &[OsString]) -> anyhow::Result<()> {
        let _ = args;
        anyhow::bail!("the {} target has no plan step `{name}`", self.name())
    }
}

/// The flag that runs a backend's plan step ([`Backend::run_step`]).
pub const BACKEND_STEP_FLAG: &str = "--backend-step";

/// A backend's entry in the registry: each backend crate does
/// `inventory::submit!(BackendRegistration(&MyBackend));`.
pub struct BackendRegistration(pub &'static dyn Backend);

inventory::collect!(BackendRegistration);

/// Every registered backend, sorted by name.
pub fn registered_backends() -> Vec<&'static dyn Backend> {
    let mut all: Vec<&'static dyn Backend> = inventory::iter::<BackendRegistration>
        .into_iter()
        .map(|r| r.0)
        .collect();
    all.sort_by_key(|b| b.name());
    all
}

/// The backend whose name or alias is `target`.
pub fn find_backend(target: &str) -> Option<&'static dyn Backend> {
    registered_backends()
        .into_iter()
        .find(|b| b.name() == target || b.aliases().iter().any(|a| a == target))
}
