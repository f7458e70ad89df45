//! The link plan for a wasm32 program: compile C inputs with clang,
//! link with wasm-ld against wasi-libc and the compiler-rt builtins, then
//! optimise with wasm-opt when it is available.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use skc_ir::backend::{LinkInput, OptLevel, Options, Tool, BACKEND_STEP_FLAG};
use skc_ir::plan::{LinkPlan, PlanAction, ResultFile, Step};

use crate::object::table_slots;
use crate::wasi::bridge::{self, StepInput};
use crate::wasi::lp64::stubs;

/// Features the generated code uses, as wasm-opt flags.
pub const WASM_OPT_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
];

/// Shadow stack size of linked programs (as for native programs).
const STACK_SIZE: u32 = 8 << 20;

/// A temporary file owned by the plan (or kept, with `keep_temps`).
pub fn temp_file(plan: &mut LinkPlan, options: &Options<'_>, suffix: &str) -> Result<PathBuf> {
    let path = options.files.temporary(suffix)?.into_temp_path();
    if options.keep_temps {
        let kept = path.keep().context("cannot keep a temporary file")?;
        Ok(kept)
    } else {
        let p = path.to_path_buf();
        plan.temps.push(path);
        Ok(p)
    }
}

/// A staging path beside the output for the linked module, renamed into
/// place later. It is made with an executable's mode, as wasm-ld makes its
/// outputs: wasm-opt, when it writes the module last, keeps that mode.
pub fn staged_result(plan: &mut LinkPlan, options: &Options<'_>) -> Result<PathBuf> {
    let dest = &options.output;
    let staged = options.files.staging(dest, true)?.into_temp_path();
    let p = staged.to_path_buf();
    // The plan's executor renames it on success; until then it is a temp.
    plan.temps.push(staged);
    plan.results.push(ResultFile {
        staged: p.clone(),
        dest: dest.to_path_buf(),
    });
    Ok(p)
}

/// The compiler-rt builtins archive for wasm32, looked up in the resource
/// directory of the given clang (`<llvm>/lib/clang/<v>/lib/wasi/`).
pub fn find_builtins(clang: &Path) -> Option<PathBuf> {
    let real = std::fs::canonicalize(clang).ok()?;
    let llvm = real.parent()?.parent()?;
    let mut candidates: Vec<PathBuf> = Vec::new();
    for base in [llvm.join("lib/clang"), PathBuf::from("/usr/lib/clang")] {
        if let Ok(rd) = std::fs::read_dir(&base) {
            for e in rd.flatten() {
                candidates.push(e.path().join("lib/wasi/libclang_rt.builtins-wasm32.a"));
                candidates.push(
                    e.path()
                        .join("lib/wasm32-unknown-wasi/libclang_rt.builtins.a"),
                );
            }
        }
    }
    candidates.sort();
    candidates.into_iter().rev().find(|p| p.is_file())
}

/// Whether `path` is a wasm object written by skc's IL code generator
/// (which the bridge may rewrite); unreadable files are left to wasm-ld.
fn is_il_object(path: &Path) -> bool {
    bridge::objects::read_wasm_file(path)
        .and_then(|b| bridge::objects::read(&b).ok())
        .is_some_and(|f| f.is_il)
}

fn opt_flag(o: OptLevel) -> &'static str {
    o.flag()
}

/// wasm-opt's size limit for functions it always inlines, raised at
/// `-O2`/`-O3` from binaryen's default of 2. The C ABI passes and returns
/// small aggregates through memory, so helpers like fft's `cadd` (about
/// 20 wasm instructions) stay calls with memory traffic unless inlined.
/// Measured on ../shared/bench (CPU seconds, same session): 40 takes
/// `fft` from 4.4 to 3.5 s and leaves the other seven programs and the
/// optimisation time of a 10 MiB generated module unchanged. `-O3` with
/// a larger flexible-inlining budget (`-fimfs 200 -pii 40`) helped `fft`
/// less and slowed `levenshtein` by a third.
const ALWAYS_INLINE_MAX_SIZE: &str = "40";

/// From this many wasm instructions in one function on, wasm-opt runs
/// [`LARGE_FUNCTION_PASSES`] instead of its `-O` pipeline, whose time
/// grows with the square of a function's length (docs/performance.md,
/// "Large functions and wasm-opt"). `-O2` takes 1 s on a function of
/// 250 if/else diamonds (5,000 instructions) and 8 s on 1,000 (20,000);
/// the largest function of the ../shared/bench programs has 800.
const LARGE_FUNCTION_INSTRUCTIONS: usize = 5_000;

/// The function passes of binaryen's `-O2` (version 108) that stay
/// linear on large functions: `simplify-locals` without `local.tee`, so
/// that a chain of values each computed from the previous one does not
/// become one expression as deep as the chain (the later passes walk
/// every subexpression of every expression), and no `merge-blocks`,
/// which copies the whole list of a block for every child block it
/// merges into it.
const LARGE_FUNCTION_PASSES: &[&str] = &[
    "--dce",
    "--remove-unused-names",
    "--remove-unused-brs",
    "--remove-unused-names",
    "--optimize-instructions",
    "--pick-load-signs",
    "--precompute",
    "--code-pushing",
    "--simplify-locals-notee-nostructure",
    "--vacuum",
    "--reorder-locals",
    "--remove-unused-brs",
    "--coalesce-locals",
    "--simplify-locals-notee",
    "--vacuum",
    "--reorder-locals",
    "--coalesce-locals",
    "--reorder-locals",
    "--vacuum",
    "--remove-unused-brs",
    "--remove-unused-names",
    "--precompute",
    "--optimize-instructions",
    "--rse",
    "--vacuum",
];

/// binaryen's `-O` level as its two numbers (optimise, shrink).
fn binaryen_levels(o: OptLevel) -> (&'static str, &'static str) {
    match o {
        OptLevel::O0 => ("0", "0"),
        OptLevel::O1 => ("1", "0"),
        OptLevel::O2 => ("2", "0"),
        OptLevel::O3 => ("3", "0"),
        OptLevel::Os => ("2", "1"),
    }
}

/// The wasm-opt options for an optimisation level, given the number of
/// wasm instructions of the largest function skc compiled.
///
/// Below [`LARGE_FUNCTION_INSTRUCTIONS`] this is `-O<level>`. From there
/// on it is the same pipeline spelled out, with [`LARGE_FUNCTION_PASSES`]
/// as its function passes; the global passes that re-run binaryen's own
/// function pipeline on the functions they change (`dae-optimizing`,
/// `inlining-optimizing`, `simplify-globals-optimizing`) become their
/// plain versions, `dae` is left out (it builds a graph of every local
/// read and write of a function it changes, which grows faster than the
/// function), and after inlining the function passes run once more over
/// the whole module.
///
/// Both start with `--simplify-globals`: a global never written becomes
/// a constant, so the test for a `longjmp` after each call
/// ([`crate::ir_passes::setjmp`]) disappears before the optimisations decide
/// (inlining above all) as they would without it. At `-O0` that is all
/// wasm-opt does (function names kept for backtraces): with the tests
/// left in, wasmtime keeps its instance pointer alive across every call,
/// which doubled the stack of deep recursions.
fn wasm_opt_flags(o: OptLevel, largest_function: usize) -> Vec<&'static str> {
    if o == OptLevel::O0 {
        return vec!["--simplify-globals", "-g"];
    }
    let inline_budget = ["--always-inline-max-function-size", ALWAYS_INLINE_MAX_SIZE];
    let speed = matches!(o, OptLevel::O2 | OptLevel::O3);
    if largest_function < LARGE_FUNCTION_INSTRUCTIONS {
        let mut flags = vec!["--simplify-globals", opt_flag(o)];
        if speed {
            flags.extend(inline_budget);
        }
        return flags;
    }
    let (optimize, shrink) = binaryen_levels(o);
    let mut flags = vec![
        "--simplify-globals",
        "--optimize-level",
        optimize,
        "--shrink-level",
        shrink,
    ];
    if speed {
        flags.extend(inline_budget);
    }
    flags.extend([
        "--duplicate-function-elimination",
        "--memory-packing",
        "--once-reduction",
    ]);
    flags.extend(LARGE_FUNCTION_PASSES);
    // `-O1` does not inline.
    if o != OptLevel::O1 {
        flags.push("--inlining");
        flags.extend(LARGE_FUNCTION_PASSES);
    }
    flags.extend([
        "--duplicate-function-elimination",
        "--duplicate-import-elimination",
        "--simplify-globals",
        "--remove-unused-module-elements",
        "--directize",
        "--generate-stack-ir",
        "--optimize-stack-ir",
    ]);
    flags
}

/// The number of wasm instructions of the largest function body in the
/// wasm object `bytes` (0 for anything unreadable: wasm-ld will report it).
fn largest_function(bytes: &[u8]) -> usize {
    let mut largest = 0;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        let Ok(mut ops) = body.get_operators_reader() else {
            continue;
        };
        let mut count = 0;
        while !ops.eof() {
            if ops.read().is_err() {
                break;
            }
            count += 1;
        }
        largest = largest.max(count);
    }
    largest
}

/// Builds the steps linking `object` into the output.
pub fn link_plan(mut plan: LinkPlan, object: PathBuf, options: &Options<'_>) -> Result<LinkPlan> {
    let tc = options.toolchain;
    let sysroot = tc.wasi_sysroot()?;
    let libdir = sysroot.join("lib/wasm32-wasi");
    let mut steps = Vec::new();
    let has_c = options
        .link_inputs
        .iter()
        .any(|i| matches!(i, LinkInput::CSource(_)));
    let clang = if has_c {
        Some(tc.tool(Tool::Clang)?)
    } else {
        tc.tool(Tool::Clang).ok()
    };
    let wasm_ld = tc.tool(Tool::WasmLd)?;
    let wasm_opt = if options.opt_level == OptLevel::O0 {
        // Optional at -O0: without it, deep recursions need more stack.
        tc.optional_tool(Tool::WasmOpt)
    } else {
        let found = tc.optional_tool(Tool::WasmOpt);
        if found.is_none() {
            plan.notes
                .push("wasm-opt not found; the module is not optimised".to_string());
        }
        found
    };

    // The IL objects wasm-ld links are the bridge step's rewritten
    // copies; the step sees every input in link order.
    let crt1 = libdir.join("crt1-command.o");
    let bridged_object = temp_file(&mut plan, options, ".o")?;
    let adapters = temp_file(&mut plan, options, ".o")?;
    let mut bridge_inputs = vec![
        StepInput::File(crt1.clone()),
        StepInput::Il {
            input: object.clone(),
            output: bridged_object.clone(),
            label: options.source_name.clone(),
        },
    ];
    let mut link_args: Vec<OsString> = vec![
        "-z".into(),
        format!("stack-size={STACK_SIZE}").into(),
        // A function signature mismatch is otherwise only a warning, and
        // the call becomes a trap in the linked module.
        "--fatal-warnings".into(),
    ];
    let mut link_inputs = Vec::new();
    // LP64 IL passes glibc's SIG_IGN and SIG_HOLD as the numbers 1 and 2
    // where function pointers go; no function may have them as its table
    // index (wasm-ld starts at 1).
    if tc
        .tool_version(Tool::WasmLd)
        .is_none_or(|v| v >= table_slots::TABLE_BASE_FLAG_SINCE)
    {
        link_args.push(table_slots::TABLE_BASE_FLAG.into());
    } else {
        let slots = temp_file(&mut plan, options, ".o")?;
        std::fs::write(&slots, table_slots::object()?)
            .with_context(|| format!("writing `{}`", slots.display()))?;
        link_args.push(slots.clone().into());
        link_inputs.push(slots);
    }
    link_args.extend([
        crt1.clone().into(),
        bridged_object.clone().into(),
        adapters.clone().into(),
    ]);
    link_inputs.extend([crt1, bridged_object.clone(), adapters.clone()]);
    let mut bridge_outputs = vec![bridged_object, adapters.clone()];
    for input in &options.link_inputs {
        match input {
            LinkInput::CSource(src) => {
                let out = temp_file(&mut plan, options, ".o")?;
                let clang = clang.clone().context("clang is needed for C inputs")?;
                let mut args: Vec<OsString> = vec![
                    "--target=wasm32-wasi".into(),
                    format!("--sysroot={}", sysroot.display()).into(),
                    opt_flag(options.opt_level).into(),
                ];
                if options.debug_info {
                    args.push("-g".into());
                }
                args.extend(stubs::EMULATION_DEFINES.iter().map(OsString::from));
                args.extend([
                    "-c".into(),
                    src.clone().into(),
                    "-o".into(),
                    out.clone().into(),
                ]);
                steps.push(Step {
                    name: "clang".into(),
                    program: clang,
                    args,
                    env: Vec::new(),
                    inputs: vec![src.clone()],
                    outputs: vec![out.clone()],
                });
                bridge_inputs.push(StepInput::Compiled {
                    path: out.clone(),
                    label: src.display().to_string(),
                });
                link_args.push(out.clone().into());
                link_inputs.push(out);
            }
            LinkInput::File(p) if is_il_object(p) => {
                let out = temp_file(&mut plan, options, ".o")?;
                bridge_inputs.push(StepInput::Il {
                    input: p.clone(),
                    output: out.clone(),
                    label: p.display().to_string(),
                });
                bridge_outputs.push(out.clone());
                link_args.push(out.clone().into());
                link_inputs.push(out);
            }
            LinkInput::File(p) => {
                bridge_inputs.push(StepInput::File(p.clone()));
                link_args.push(p.clone().into());
                link_inputs.push(p.clone());
            }
            LinkInput::Lib(name) => {
                bridge_inputs.push(StepInput::Lib(name.clone()));
                let mut a = OsString::from("-l");
                a.push(name);
                link_args.push(a);
            }
            LinkInput::LibDir(dir) => {
                bridge_inputs.push(StepInput::Dir(dir.clone()));
                let mut a = OsString::from("-L");
                a.push(dir);
                link_args.push(a);
            }
            LinkInput::LinkerArg(a) => {
                if !bridge_inputs.contains(&StepInput::LinkerArgs) {
                    bridge_inputs.push(StepInput::LinkerArgs);
                }
                link_args.push(a.clone());
            }
        }
    }
    let given_objects: Vec<PathBuf> = options
        .link_inputs
        .iter()
        .filter_map(|input| match input {
            LinkInput::File(path) => Some(path.clone()),
            _ => None,
        })
        .collect();
    if let Some(rt) = crate::wasi::lp64::runtime::runtime_archive(
        &mut plan,
        options,
        &object,
        &given_objects,
        clang.as_deref(),
        &sysroot,
        &mut steps,
    )? {
        bridge_inputs.push(StepInput::File(rt.clone()));
        link_args.push(rt.clone().into());
        link_inputs.push(rt);
    }
    let mut l = OsString::from("-L");
    l.push(&libdir);
    link_args.push(l);
    link_args.push("-lc".into());
    bridge_inputs.push(StepInput::Dir(libdir.clone()));
    bridge_inputs.push(StepInput::Lib("c".into()));
    for lib in stubs::EMULATION_LIBRARIES {
        link_args.push(format!("-l{lib}").into());
        bridge_inputs.push(StepInput::Lib(lib.into()));
    }
    // After the C library, which keeps every function it defines.
    let needs_stubs = std::iter::once(&object)
        .chain(&given_objects)
        .filter_map(|p| bridge::objects::read_wasm_file(p))
        .any(|bytes| stubs::object_needs_stubs(&bytes));
    if !options.stubs {
        bridge_inputs.push(StepInput::NoStubs);
    } else if needs_stubs {
        if let Some(archive) = crate::wasi::lp64::runtime::library_archive(
            &crate::wasi::lp64::runtime::STUBS,
            &mut plan,
            options,
            clang.as_deref(),
            &sysroot,
            &mut steps,
        )? {
            bridge_inputs.push(StepInput::Stubs(archive.clone()));
            link_args.push(archive.clone().into());
            link_inputs.push(archive);
        }
    }
    match clang.as_deref().and_then(find_builtins) {
        Some(b) => {
            bridge_inputs.push(StepInput::File(b.clone()));
            link_args.push(b.clone().into());
            link_inputs.push(b);
        }
        None => plan
            .notes
            .push("compiler-rt builtins for wasm32 not found; linking without them".into()),
    }
    let mut bridge_args: Vec<OsString> = vec![BACKEND_STEP_FLAG.into(), "wasm32".into()];
    bridge_args.extend(bridge::step_args(
        &adapters,
        // Without a cache directory the archives are read at every link.
        &tc.cache_dir().unwrap_or_default(),
        &bridge_inputs,
    ));
    let bridge_reads: Vec<PathBuf> = bridge_inputs
        .iter()
        .filter_map(|input| match input {
            StepInput::Il { input, .. }
            | StepInput::File(input)
            | StepInput::Compiled { path: input, .. }
            | StepInput::Stubs(input) => Some(input.clone()),
            StepInput::Dir(_) | StepInput::Lib(_) | StepInput::NoStubs | StepInput::LinkerArgs => {
                None
            }
        })
        .collect();
    steps.push(Step {
        name: bridge::STEP_NAME.into(),
        program: tc.skc_executable()?,
        args: bridge_args,
        env: Vec::new(),
        inputs: bridge_reads,
        outputs: bridge_outputs,
    });
    let final_out = staged_result(&mut plan, options)?;
    let link_out = if wasm_opt.is_some() {
        temp_file(&mut plan, options, ".wasm")?
    } else {
        final_out.clone()
    };
    link_args.push("-o".into());
    link_args.push(link_out.clone().into());
    steps.push(Step {
        name: "wasm-ld".into(),
        program: wasm_ld,
        args: link_args,
        env: Vec::new(),
        inputs: link_inputs,
        outputs: vec![link_out.clone()],
    });
    if let Some(opt) = wasm_opt {
        // skc's own functions, from its object and the IL objects given.
        let largest = std::iter::once(&object)
            .chain(given_objects.iter())
            .filter_map(|p| bridge::objects::read_wasm_file(p))
            .map(|bytes| largest_function(&bytes))
            .max()
            .unwrap_or(0);
        let mut args: Vec<OsString> = wasm_opt_flags(options.opt_level, largest)
            .into_iter()
            .map(OsString::from)
            .collect();
        args.extend(WASM_OPT_FEATURES.iter().map(OsString::from));
        args.extend([
            link_out.clone().into(),
            "-o".into(),
            final_out.clone().into(),
        ]);
        steps.push(Step {
            name: "wasm-opt".into(),
            program: opt,
            args,
            env: Vec::new(),
            inputs: vec![link_out],
            outputs: vec![final_out],
        });
    }
    plan.action = PlanAction::Steps(steps);
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inlining_budget_is_raised_only_when_optimising_for_speed() {
        for size in [0, LARGE_FUNCTION_INSTRUCTIONS] {
            let raised = |o| wasm_opt_flags(o, size).contains(&"--always-inline-max-function-size");
            assert!(raised(OptLevel::O2) && raised(OptLevel::O3));
            assert!(!raised(OptLevel::O1) && !raised(OptLevel::Os));
            assert_eq!(wasm_opt_flags(OptLevel::O2, size)[0], "--simplify-globals");
        }
        assert_eq!(
            wasm_opt_flags(OptLevel::O0, LARGE_FUNCTION_INSTRUCTIONS),
            ["--simplify-globals", "-g"]
        );
    }

    #[test]
    fn small_functions_get_the_standard_pipeline() {
        let flags = wasm_opt_flags(OptLevel::O2, LARGE_FUNCTION_INSTRUCTIONS - 1);
        assert_eq!(flags[..2], ["--simplify-globals", "-O2"]);
        assert!(!flags.contains(&"--simplify-locals-notee"));
    }

    #[test]
    fn a_large_function_gets_only_passes_that_stay_linear() {
        for o in [OptLevel::O1, OptLevel::O2, OptLevel::O3, OptLevel::Os] {
            let flags = wasm_opt_flags(o, LARGE_FUNCTION_INSTRUCTIONS);
            // No `-O` flag: it would add binaryen's whole pipeline.
            assert!(flags.iter().all(|f| !f.starts_with("-O")), "{flags:?}");
            for quadratic in [
                "--simplify-locals",
                "--simplify-locals-nostructure",
                "--merge-blocks",
                "--precompute-propagate",
                "--dae",
                "--dae-optimizing",
                "--inlining-optimizing",
                "--simplify-globals-optimizing",
            ] {
                assert!(!flags.contains(&quadratic), "{o:?}: {quadratic}");
            }
            assert!(flags.contains(&"--simplify-locals-notee"));
            assert_eq!(flags.contains(&"--inlining"), o != OptLevel::O1);
        }
        let at = |o| {
            let flags = wasm_opt_flags(o, LARGE_FUNCTION_INSTRUCTIONS);
            let level = flags.iter().position(|&f| f == "--optimize-level").unwrap();
            (flags[level + 1], flags[level + 3])
        };
        assert_eq!(at(OptLevel::O3), ("3", "0"));
        assert_eq!(at(OptLevel::Os), ("2", "1"));
    }

    #[test]
    fn the_largest_function_is_counted_in_instructions() {
        use wasm_encoder::{
            CodeSection, Function, FunctionSection, Instruction as I, Module, TypeSection, ValType,
        };
        let mut types = TypeSection::new();
        types.ty().function([], [ValType::I32]);
        let mut functions = FunctionSection::new();
        let mut code = CodeSection::new();
        for body in [
            &[I::I32Const(1)][..],
            &[I::I32Const(1), I::I32Const(2), I::I32Add][..],
        ] {
            functions.function(0);
            let mut f = Function::new([]);
            for i in body {
                f.instruction(i);
            }
            f.instruction(&I::End);
            code.function(&f);
        }
        let mut module = Module::new();
        module.section(&types).section(&functions).section(&code);
        let bytes = module.finish();
        // The `end` of a body counts as an instruction.
        assert_eq!(largest_function(&bytes), 4);
        assert_eq!(largest_function(b"not wasm"), 0);
    }
}
