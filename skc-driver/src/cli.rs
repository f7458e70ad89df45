//! The command line: clang/gcc-style flags parsed with clap, then resolved
//! into an [`Invocation`] (inputs classified, link inputs in order, output
//! name chosen).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use skc_ir::backend::{find_backend, registered_backends, Backend, Emit, LinkInput, OptLevel};

use crate::toolchain::ToolOverrides;

const INPUT_OUTPUT: &str = "Input and output";
const TARGET: &str = "Target";
const OPTIMIZATION: &str = "Optimization";
const LINK: &str = "Linking";
const DIAGNOSTICS: &str = "Diagnostics";
const TOOLCHAIN: &str = "Toolchain";

/// The raw command line.
#[derive(Parser, Debug)]
#[command(
    name = "skc",
    version,
    about = "Compile skc-ir (QBE-compatible SSA IL) to native executables and wasm32-wasi modules",
    override_usage = "skc [OPTIONS] INPUT...",
    args_override_self = true,
    after_help = "IL inputs end in .ssa, .qbe or .il (or use -x ir; `-` reads standard input); \
                  several are compiled as one module. .c, .o, .a and .so inputs, -l, -L and -Wl, \
                  go to the link step in order."
)]
pub struct Cli {
    /// Input files: IL to compile; C sources, objects and libraries to link.
    #[arg(value_name = "INPUT", help_heading = INPUT_OUTPUT)]
    inputs: Vec<OsString>,
    /// Write the output to FILE (`-`: standard output, except for programs).
    #[arg(short = 'o', value_name = "FILE", allow_hyphen_values = true, help_heading = INPUT_OUTPUT)]
    output: Option<OsString>,
    /// Treat the following inputs as LANGUAGE (ir, c) or by extension (none).
    #[arg(short = 'x', value_name = "LANGUAGE", value_parser = ["ir", "c", "none"], help_heading = INPUT_OUTPUT)]
    language: Vec<String>,
    /// Compile to an object file; do not link (same as --emit=obj).
    #[arg(short = 'c', help_heading = INPUT_OUTPUT)]
    compile_only: bool,
    /// Compile to assembly (same as --emit=asm; WebAssembly text for wasm32).
    #[arg(short = 'S', help_heading = INPUT_OUTPUT)]
    assembly: bool,
    /// What to produce (default: a linked program).
    #[arg(long, value_enum, value_name = "KIND", help_heading = INPUT_OUTPUT)]
    emit: Option<EmitKind>,
    /// Keep intermediate files instead of removing them.
    #[arg(long, help_heading = INPUT_OUTPUT)]
    keep_temps: bool,
    /// Refuse calls to C library functions the target lacks instead of
    /// linking stand-ins that fail when called (wasm32: `system`, `popen`,
    /// `dlopen`, ...; see docs/wasm32-libc.md).
    #[arg(long)]
    no_stubs: bool,

    /// Generate code for TARGET (see --print-targets).
    #[arg(long, value_name = "TARGET", default_value = "native", help_heading = TARGET)]
    target: String,
    /// List the available targets and exit.
    #[arg(long, help_heading = TARGET)]
    print_targets: bool,

    /// Optimisation level: 0, 1, 2, 3 or s (default 2), as -O2.
    #[arg(short = 'O', value_name = "LEVEL", value_parser = parse_opt_level, help_heading = OPTIMIZATION)]
    opt_level: Option<OptLevel>,
    /// Emit debug line tables.
    #[arg(short = 'g', help_heading = OPTIMIZATION)]
    debug_info: bool,

    /// Link with library NAME (as -lNAME).
    #[arg(short = 'l', value_name = "NAME", help_heading = LINK)]
    libs: Vec<OsString>,
    /// Search DIR for libraries (as -LDIR).
    #[arg(short = 'L', value_name = "DIR", help_heading = LINK)]
    lib_dirs: Vec<OsString>,
    /// Pass comma-separated arguments to the linker (as -Wl,ARG,...).
    #[arg(short = 'W', value_name = "l,ARG", help_heading = LINK)]
    linker_args: Vec<OsString>,
    /// How an exec'd link step runs: exec (default; skc becomes the
    /// linker) or spawn (a child process; a measurement aid only).
    #[arg(long, value_enum, default_value = "exec", value_name = "MODE", help_heading = LINK)]
    link_mode: LinkMode,

    /// Print each command before it runs.
    #[arg(short = 'v', help_heading = DIAGNOSTICS)]
    verbose: bool,
    /// Print the commands shell-quoted, one per line, and run nothing (also -###).
    #[arg(long = "print-commands", help_heading = DIAGNOSTICS)]
    print_commands: bool,
    /// Print the link plan in FORMAT (json) and run nothing.
    #[arg(long, value_enum, value_name = "FORMAT", help_heading = DIAGNOSTICS)]
    print_link_plan: Option<PlanFormat>,
    /// Print per-phase times and the compile phase's peak memory to stderr.
    #[arg(long, help_heading = DIAGNOSTICS)]
    stats: bool,
    /// Run the IL with the reference interpreter instead of building it;
    /// undefined behaviour stops it with a message (exit status 125).
    #[arg(long, help_heading = DIAGNOSTICS)]
    interpret: bool,
    /// An argument for the interpreted program's `main` (repeatable).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true, help_heading = DIAGNOSTICS)]
    program_args: Vec<String>,

    /// The clang to use.
    #[arg(long, value_name = "PATH", env = "SKC_CLANG", hide_env_values = true, help_heading = TOOLCHAIN)]
    clang: Option<PathBuf>,
    /// The wasm-ld to use.
    #[arg(long, value_name = "PATH", env = "SKC_WASM_LD", hide_env_values = true, help_heading = TOOLCHAIN)]
    wasm_ld: Option<PathBuf>,
    /// The wasm-opt to use (optional; skipped when not found).
    #[arg(long, value_name = "PATH", env = "SKC_WASM_OPT", hide_env_values = true, help_heading = TOOLCHAIN)]
    wasm_opt: Option<PathBuf>,
    /// The wasi-libc sysroot (with lib/wasm32-wasi/libc.a).
    #[arg(long, value_name = "DIR", env = "WASI_SYSROOT", hide_env_values = true, help_heading = TOOLCHAIN)]
    sysroot: Option<PathBuf>,
}

/// `--emit` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EmitKind {
    /// The verified SSA IL, printed canonically (no backend runs).
    Ir,
    /// LLVM IR text (native).
    Llvm,
    /// Assembly (WebAssembly text for wasm32).
    Asm,
    /// A relocatable object.
    Obj,
    /// A linked wasm module (wasm32).
    Wasm,
    /// The object as WebAssembly text (wasm32).
    Wat,
}

/// `--link-mode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LinkMode {
    /// Replace skc by the link command.
    Exec,
    /// Run the link command as a child and wait for it.
    Spawn,
}

/// `--print-link-plan` formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Pretty-printed JSON.
    Json,
}

fn parse_opt_level(text: &str) -> Result<OptLevel, String> {
    match text {
        "0" => Ok(OptLevel::O0),
        "1" => Ok(OptLevel::O1),
        "2" => Ok(OptLevel::O2),
        "3" => Ok(OptLevel::O3),
        "s" => Ok(OptLevel::Os),
        _ => Err(format!(
            "expected 0, 1, 2, 3 or s (as in -O2), found `{text}`"
        )),
    }
}

/// What the driver produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    /// `--emit=ir`: the driver prints the module itself.
    Ir,
    /// `--interpret`: the driver runs the module with the reference
    /// interpreter.
    Interpret,
    /// Anything a backend makes.
    Backend(Emit),
}

/// What to do with the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanUse {
    /// Execute it.
    Run,
    /// `-###`: print it as shell commands.
    PrintShell,
    /// `--print-link-plan=json`.
    PrintJson,
}

/// An IL input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IlInput {
    /// A file.
    File(PathBuf),
    /// `-`: standard input.
    Stdin,
}

impl IlInput {
    /// The name used in messages.
    pub fn display_name(&self) -> String {
        match self {
            IlInput::File(path) => path.display().to_string(),
            IlInput::Stdin => "<stdin>".to_owned(),
        }
    }
}

/// A resolved command line.
pub struct Invocation {
    /// The chosen target.
    pub backend: &'static dyn Backend,
    /// The IL inputs, compiled as one module (none when only C sources
    /// and objects are linked).
    pub il_inputs: Vec<IlInput>,
    /// Non-IL inputs and link flags in command-line order.
    pub link_inputs: Vec<LinkInput>,
    /// What to produce.
    pub product: Product,
    /// Where to write it.
    pub output: PathBuf,
    /// `-O`.
    pub opt_level: OptLevel,
    /// `-g`.
    pub debug_info: bool,
    /// `--keep-temps`.
    pub keep_temps: bool,
    /// Not `--no-stubs`.
    pub stubs: bool,
    /// `--link-mode`.
    pub link_mode: LinkMode,
    /// `-v`.
    pub verbose: bool,
    /// `--stats`.
    pub stats: bool,
    /// Run or print the plan.
    pub plan_use: PlanUse,
    /// Tool choices.
    pub tools: ToolOverrides,
    /// `--arg`: the interpreted program's arguments.
    pub program_args: Vec<String>,
}

/// What the command line asks for.
pub enum Request {
    /// `--print-targets`.
    PrintTargets,
    /// A build.
    Build(Box<Invocation>),
}

/// Rewrites clang spellings clap cannot express (`-###`) into long flags;
/// words after `--` are left alone.
fn normalise_spellings(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut seen_separator = false;
    args.into_iter()
        .map(|arg| {
            if arg == "--" {
                seen_separator = true;
            }
            if !seen_separator && arg == "-###" {
                OsString::from("--print-commands")
            } else {
                arg
            }
        })
        .collect()
}

/// Why the command line was not accepted.
pub enum CliError {
    /// Clap's own errors, and `--help`/`--version` (which print and exit 0).
    Clap(clap::Error),
    /// Flags that parse but do not make sense together, unknown targets, …
    Invalid(anyhow::Error),
}

/// Parses `args` (including the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Request, CliError> {
    let matches = Cli::command()
        .try_get_matches_from(normalise_spellings(args))
        .map_err(CliError::Clap)?;
    let cli = Cli::from_arg_matches(&matches).map_err(CliError::Clap)?;
    resolve(cli, &matches).map_err(CliError::Invalid)
}

/// Values of `id` paired with their positions on the command line.
fn indexed<T: Clone>(matches: &ArgMatches, id: &str, values: &[T]) -> Vec<(usize, T)> {
    matches
        .indices_of(id)
        .map(|indices| indices.zip(values.iter().cloned()).collect())
        .unwrap_or_default()
}

/// How an input is treated.
enum InputKind {
    Il,
    C,
    Link,
}

fn kind_by_extension(path: &Path) -> Option<InputKind> {
    let ext = path.extension()?.to_str()?;
    match ext {
        "ssa" | "qbe" | "il" => Some(InputKind::Il),
        "c" => Some(InputKind::C),
        "o" | "a" | "so" => Some(InputKind::Link),
        _ => {
            // `libfoo.so.1`: the extension is the last number.
            let name = path.file_name()?.to_str()?;
            name.contains(".so.").then_some(InputKind::Link)
        }
    }
}

/// A path as given, made safe to pass as a tool argument: a relative name
/// starting with `-` would be read as a flag, so it gets a `./` prefix.
fn argument_safe_path(name: &OsStr) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    if name.as_bytes().first() == Some(&b'-') {
        Path::new(".").join(name)
    } else {
        PathBuf::from(name)
    }
}

/// The backend for `--target`, or an error listing the registered ones.
pub fn backend_for(target: &str) -> Result<&'static dyn Backend> {
    find_backend(target).ok_or_else(|| {
        let known: Vec<String> = registered_backends()
            .iter()
            .map(|b| {
                let aliases = b.aliases();
                if aliases.is_empty() {
                    b.name().to_owned()
                } else {
                    format!("{} (also {})", b.name(), aliases.join(", "))
                }
            })
            .collect();
        anyhow!(
            "unknown target `{target}`; the available targets are: {}",
            known.join("; ")
        )
    })
}

/// Splits `-W` values: only `-Wl,A,B` (linker arguments A and B) exists.
fn linker_words(value: &OsStr) -> Result<Vec<OsString>> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let bytes = value.as_bytes();
    let Some(rest) = bytes.strip_prefix(b"l,") else {
        bail!(
            "unsupported flag `-W{}`: skc accepts only -Wl,ARG (linker arguments); \
             warning flags belong to the compiler that produced the IL",
            value.to_string_lossy()
        );
    };
    Ok(rest
        .split(|&b| b == b',')
        .map(|w| OsString::from_vec(w.to_vec()))
        .collect())
}

fn product_of(cli: &Cli) -> Result<Product> {
    let mut chosen: Vec<(&str, Product)> = Vec::new();
    if cli.compile_only {
        chosen.push(("-c", Product::Backend(Emit::Object)));
    }
    if cli.assembly {
        chosen.push(("-S", Product::Backend(Emit::Assembly)));
    }
    if cli.interpret {
        chosen.push(("--interpret", Product::Interpret));
    }
    if let Some(kind) = cli.emit {
        let product = match kind {
            EmitKind::Ir => Product::Ir,
            EmitKind::Llvm => Product::Backend(Emit::Llvm),
            EmitKind::Asm => Product::Backend(Emit::Assembly),
            EmitKind::Obj => Product::Backend(Emit::Object),
            EmitKind::Wasm => Product::Backend(Emit::Executable),
            EmitKind::Wat => Product::Backend(Emit::Wat),
        };
        chosen.push(("--emit", product));
    }
    match chosen.as_slice() {
        [] => Ok(Product::Backend(Emit::Executable)),
        [(_, product)] => Ok(*product),
        [(first, a), (second, b), ..] => {
            if a == b {
                Ok(*a)
            } else {
                bail!("{first} and {second} ask for different outputs; use only one of them")
            }
        }
    }
}

/// Whether the backend produces WebAssembly (its assembly is `.wat`).
fn is_wasm(backend: &dyn Backend) -> bool {
    backend.triple().starts_with("wasm")
}

/// The output name when `-o` is absent: the backend's default for
/// programs, otherwise the first IL input's stem with the product's
/// extension (several IL inputs make one module, hence one file).
fn default_output(backend: &dyn Backend, product: Product, il_input: Option<&IlInput>) -> PathBuf {
    let extension = match product {
        Product::Backend(Emit::Executable) => return PathBuf::from(backend.default_output()),
        Product::Ir | Product::Interpret => "ssa",
        Product::Backend(Emit::Object) => "o",
        Product::Backend(Emit::Assembly) if is_wasm(backend) => "wat",
        Product::Backend(Emit::Assembly) => "s",
        Product::Backend(Emit::Llvm) => "ll",
        Product::Backend(Emit::Wat) => "wat",
    };
    let stem = match il_input {
        Some(IlInput::File(path)) => path
            .file_stem()
            .map(OsString::from)
            .unwrap_or_else(|| OsString::from("out")),
        // clang names the output of standard input `-.o`, `-.s`, …
        _ => OsString::from("-"),
    };
    let mut name = stem;
    name.push(".");
    name.push(extension);
    argument_safe_path(&name)
}

fn resolve(cli: Cli, matches: &ArgMatches) -> Result<Request> {
    if cli.print_targets {
        return Ok(Request::PrintTargets);
    }
    let backend = backend_for(&cli.target)?;
    let product = product_of(&cli)?;
    if product == Product::Backend(Emit::Executable)
        && cli.emit == Some(EmitKind::Wasm)
        && !is_wasm(backend)
    {
        bail!(
            "--emit=wasm needs a wasm target, but the target is `{}`; add --target wasm32",
            backend.name()
        );
    }

    // Every input, library, directory and linker flag, in command-line order.
    enum Word {
        Input(OsString),
        Language(String),
        Lib(OsString),
        LibDir(OsString),
        Linker(OsString),
    }
    let mut words: Vec<(usize, Word)> = Vec::new();
    words.extend(
        indexed(matches, "inputs", &cli.inputs)
            .into_iter()
            .map(|(i, v)| (i, Word::Input(v))),
    );
    words.extend(
        indexed(matches, "language", &cli.language)
            .into_iter()
            .map(|(i, v)| (i, Word::Language(v))),
    );
    words.extend(
        indexed(matches, "libs", &cli.libs)
            .into_iter()
            .map(|(i, v)| (i, Word::Lib(v))),
    );
    words.extend(
        indexed(matches, "lib_dirs", &cli.lib_dirs)
            .into_iter()
            .map(|(i, v)| (i, Word::LibDir(v))),
    );
    words.extend(
        indexed(matches, "linker_args", &cli.linker_args)
            .into_iter()
            .map(|(i, v)| (i, Word::Linker(v))),
    );
    words.sort_by_key(|(index, _)| *index);

    let mut language: Option<String> = None;
    let mut il_inputs: Vec<IlInput> = Vec::new();
    let mut link_inputs = Vec::new();
    for (_, word) in words {
        match word {
            Word::Language(l) => language = (l != "none").then_some(l),
            Word::Lib(name) => link_inputs.push(LinkInput::Lib(name)),
            Word::LibDir(dir) => link_inputs.push(LinkInput::LibDir(PathBuf::from(dir))),
            Word::Linker(value) => {
                link_inputs.extend(linker_words(&value)?.into_iter().map(LinkInput::LinkerArg))
            }
            Word::Input(name) => {
                let path = argument_safe_path(&name);
                let kind = match language.as_deref() {
                    Some("ir") => InputKind::Il,
                    Some(_) => InputKind::C,
                    None if name == "-" => InputKind::Il,
                    None => kind_by_extension(&path).ok_or_else(|| {
                        anyhow!(
                            "`{}`: unknown kind of input; IL files end in .ssa, .qbe or .il, \
                             link inputs in .c, .o, .a or .so (use -x ir or -x c to say which)",
                            Path::new(&name).display()
                        )
                    })?,
                };
                match kind {
                    InputKind::Il if name == "-" => il_inputs.push(IlInput::Stdin),
                    InputKind::Il => il_inputs.push(IlInput::File(path)),
                    InputKind::C => link_inputs.push(LinkInput::CSource(path)),
                    InputKind::Link => link_inputs.push(LinkInput::File(path)),
                }
            }
        }
    }
    if il_inputs.iter().filter(|i| **i == IlInput::Stdin).count() > 1 {
        bail!("standard input (`-`) can be read only once");
    }
    if il_inputs.is_empty() && cli.inputs.is_empty() {
        bail!("no input files; give an IL file (e.g. `skc prog.ssa -o prog`)");
    }
    if il_inputs.is_empty() && product != Product::Backend(Emit::Executable) {
        bail!("no IL input to compile; add an .ssa file (or -x ir FILE)");
    }
    let output = match &cli.output {
        Some(name) if name == "-" => PathBuf::from("-"),
        Some(name) => argument_safe_path(name),
        None => default_output(backend, product, il_inputs.first()),
    };
    if output == Path::new("-") && product == Product::Backend(Emit::Executable) {
        bail!("a linked program cannot be written to standard output; name it with -o FILE");
    }
    let plan_use = if cli.print_link_plan.is_some() {
        PlanUse::PrintJson
    } else if cli.print_commands {
        PlanUse::PrintShell
    } else {
        PlanUse::Run
    };
    Ok(Request::Build(Box::new(Invocation {
        backend,
        il_inputs,
        link_inputs,
        product,
        output,
        opt_level: cli.opt_level.unwrap_or(OptLevel::O2),
        debug_info: cli.debug_info,
        keep_temps: cli.keep_temps || plan_use != PlanUse::Run,
        stubs: !cli.no_stubs,
        link_mode: cli.link_mode,
        verbose: cli.verbose,
        stats: cli.stats,
        plan_use,
        tools: ToolOverrides {
            clang: cli.clang,
            wasm_ld: cli.wasm_ld,
            wasm_opt: cli.wasm_opt,
            sysroot: cli.sysroot,
        },
        program_args: cli.program_args,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(args: &[&str]) -> Result<Invocation> {
        let argv = std::iter::once("skc")
            .chain(args.iter().copied())
            .map(OsString::from);
        match parse(argv) {
            Ok(Request::Build(inv)) => Ok(*inv),
            Ok(Request::PrintTargets) => bail!("print-targets"),
            Err(CliError::Clap(e)) => bail!("{e}"),
            Err(CliError::Invalid(e)) => Err(e),
        }
    }

    #[test]
    fn link_inputs_keep_command_line_order() {
        let inv = build(&[
            "a.ssa",
            "-lm",
            "b.o",
            "-L/x",
            "-Wl,--gc-sections,-s",
            "c.c",
            "-lz",
        ])
        .expect("parses");
        assert_eq!(inv.il_inputs, [IlInput::File(PathBuf::from("a.ssa"))]);
        assert_eq!(
            inv.link_inputs,
            vec![
                LinkInput::Lib("m".into()),
                LinkInput::File("b.o".into()),
                LinkInput::LibDir("/x".into()),
                LinkInput::LinkerArg("--gc-sections".into()),
                LinkInput::LinkerArg("-s".into()),
                LinkInput::CSource("c.c".into()),
                LinkInput::Lib("z".into()),
            ]
        );
    }

    #[test]
    fn language_flag_applies_to_later_inputs() {
        let inv = build(&["x.o", "-x", "ir", "prog.txt"]).expect("parses");
        assert_eq!(inv.il_inputs, [IlInput::File(PathBuf::from("prog.txt"))]);
        assert_eq!(inv.link_inputs, vec![LinkInput::File("x.o".into())]);
    }

    #[test]
    fn default_outputs_follow_the_product() {
        assert_eq!(
            build(&["dir/p.ssa", "-c"]).expect("ok").output,
            PathBuf::from("p.o")
        );
        assert_eq!(
            build(&["p.ssa", "-S"]).expect("ok").output,
            PathBuf::from("p.s")
        );
        assert_eq!(
            build(&["p.ssa", "--emit=llvm"]).expect("ok").output,
            PathBuf::from("p.ll")
        );
        assert_eq!(
            build(&["p.ssa", "-S", "--target", "wasm32"])
                .expect("ok")
                .output,
            PathBuf::from("p.wat")
        );
    }

    #[test]
    fn clang_spellings_are_accepted() {
        let inv = build(&["-###", "-Os", "-g", "p.ssa", "-O3"]).expect("parses");
        assert_eq!(inv.plan_use, PlanUse::PrintShell);
        assert_eq!(inv.opt_level, OptLevel::O3);
        assert!(inv.debug_info && inv.keep_temps);
    }

    #[test]
    fn names_starting_with_a_dash_become_relative_paths() {
        let inv = build(&["-c", "-o", "-out.o", "--", "-in.ssa"]).expect("parses");
        assert_eq!(inv.output, PathBuf::from("./-out.o"));
        assert_eq!(inv.il_inputs, [IlInput::File(PathBuf::from("./-in.ssa"))]);
    }

    #[test]
    fn contradictions_are_errors() {
        assert!(build(&["p.ssa", "-c", "-S"]).is_err());
        assert!(build(&["-", "x.o", "-"]).is_err());
        assert!(build(&["p.ssa", "-Wall"]).is_err());
        assert!(build(&["p.txt"]).is_err());
        assert!(build(&[]).is_err());
    }
}
