//! The backend through its registry entry: emit modes, the link plan's
//! shape, atomic output, and errors.

mod common;

use std::path::{Path, PathBuf};

use skc_ir::backend::{Emit, LinkInput, OptLevel, Options, Tool, Toolchain};
use skc_ir::plan::PlanAction;
use skc_ir::reader::{read_module, ItemReader, ModuleSource};

const HELLO: &str = "data $s = { b \"hello\", b 0 }\n\
export function w $main() {\n@start\n\t%r =w call $puts(w $s)\n\tret 0\n}\n";

fn options<'a>(tc: &'a dyn Toolchain, emit: Emit, output: PathBuf, opt: OptLevel) -> Options<'a> {
    Options {
        opt_level: opt,
        debug_info: false,
        emit,
        output,
        source_name: "t.ssa".into(),
        link_inputs: Vec::new(),
        keep_temps: false,
        stubs: true,
        toolchain: tc,
        files: &common::PlainFiles,
    }
}

fn source(text: &str) -> ModuleSource {
    ModuleSource::new(read_module(text, "t.ssa").expect("parses"))
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A toolchain that finds everything except wasm-opt (a fake for the
/// plan's behaviour when wasm-opt is missing).
struct FakeToolchainWithoutWasmOpt;

impl Toolchain for FakeToolchainWithoutWasmOpt {
    fn tool(&self, tool: Tool) -> anyhow::Result<PathBuf> {
        common::SystemToolchain.tool(tool)
    }
    fn optional_tool(&self, tool: Tool) -> Option<PathBuf> {
        match tool {
            Tool::WasmOpt => None,
            t => common::SystemToolchain.optional_tool(t),
        }
    }
    fn wasi_sysroot(&self) -> anyhow::Result<PathBuf> {
        common::SystemToolchain.wasi_sysroot()
    }
    fn cache_dir(&self) -> anyhow::Result<PathBuf> {
        common::SystemToolchain.cache_dir()
    }
    fn resource_dir(&self) -> Option<PathBuf> {
        None
    }
}

#[test]
fn registered_with_name_aliases_and_default_output() {
    let b = common::backend();
    assert_eq!(b.name(), "wasm32");
    assert_eq!(b.default_output(), "a.wasm");
    for alias in ["wasm32-wasi", "wasm32-wasip1", "wasm32-unknown-wasi"] {
        assert_eq!(
            skc_ir::backend::find_backend(alias).map(|b| b.name()),
            Some("wasm32")
        );
    }
}

#[test]
fn object_and_wat_are_written_atomically() {
    let dir = common::scratch("api-emit");
    for f in dir_entries(&dir) {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    let tc = common::SystemToolchain;
    let obj_path = dir.join("x.o");
    let plan = common::backend()
        .compile(
            &mut source(HELLO),
            &options(&tc, Emit::Object, obj_path.clone(), OptLevel::O2),
        )
        .expect("compiles");
    assert!(matches!(plan.action, PlanAction::Nothing));
    common::validate(&std::fs::read(&obj_path).unwrap());
    let wat_path = dir.join("x.wat");
    common::backend()
        .compile(
            &mut source(HELLO),
            &options(&tc, Emit::Wat, wat_path.clone(), OptLevel::O2),
        )
        .expect("compiles");
    let text = std::fs::read_to_string(&wat_path).unwrap();
    assert!(text.starts_with("(module"), "{text}");
    assert!(
        text.contains("__linear_memory") && text.contains("\"linking\""),
        "{text}"
    );
    assert_eq!(dir_entries(&dir), ["x.o", "x.wat"]);
}

#[test]
fn bad_input_writes_nothing() {
    let dir = common::scratch("api-bad");
    let out = dir.join("bad.o");
    let _ = std::fs::remove_file(&out);
    let tc = common::SystemToolchain;
    let text = "export function w $main() {\n@start\n\t%x =w add %y, \n}\n";
    let mut diags = Vec::new();
    let mut reader = ItemReader::new(
        Box::new(text.as_bytes()),
        "bad.ssa",
        Box::new(&mut diags),
        false,
    );
    let r = common::backend().compile(
        &mut reader,
        &options(&tc, Emit::Object, out.clone(), OptLevel::O2),
    );
    assert!(r.is_err());
    drop(reader);
    assert!(!diags.is_empty());
    assert!(!out.exists());
}

#[test]
fn an_error_while_writing_the_object_leaves_no_file() {
    // Calling a data symbol is only found once every item is in, while
    // the spooled bodies are being written out.
    let dir = common::scratch("api-late-error");
    for f in dir_entries(&dir) {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    let out = dir.join("late.o");
    let tc = common::SystemToolchain;
    let text = "data $d = { w 1 }\n\
        export function w $main() {\n@start\n\t%r =w call $d()\n\tret %r\n}\n";
    let r = common::backend().compile(
        &mut source(text),
        &options(&tc, Emit::Object, out.clone(), OptLevel::O2),
    );
    let Err(err) = r else {
        panic!("compiled a call to a data symbol");
    };
    let err = format!("{err:#}");
    assert!(err.contains("`d` is called but is not a function"), "{err}");
    assert_eq!(dir_entries(&dir), Vec::<String>::new());
}

#[test]
fn executable_plan_links_and_runs() {
    let dir = common::scratch("api-exe");
    let out = dir.join("hello.wasm");
    let _ = std::fs::remove_file(&out);
    let c = dir.join("extra.c");
    std::fs::write(&c, "int unused_helper(int x) { return x + 1; }\n").unwrap();
    let tc = common::SystemToolchain;
    let mut opts = options(&tc, Emit::Executable, out.clone(), OptLevel::O2);
    opts.link_inputs.push(LinkInput::CSource(c));
    let plan = common::backend()
        .compile(&mut source(HELLO), &opts)
        .expect("compiles");
    let names: Vec<&str> = plan.steps().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["clang", "lp64-bridge", "wasm-ld", "wasm-opt"]);
    assert_eq!(plan.results.len(), 1);
    assert_eq!(plan.results[0].dest, out);
    assert_eq!(plan.results[0].staged.parent(), out.parent());
    for step in plan.steps() {
        let (ok, stderr) = common::run_step(step);
        assert!(ok, "{} failed: {stderr}", step.name);
    }
    std::fs::rename(&plan.results[0].staged, &out).unwrap();
    let temps: Vec<PathBuf> = plan.temps.iter().map(|t| t.to_path_buf()).collect();
    drop(plan);
    for t in temps {
        assert!(!t.exists(), "temp {} left behind", t.display());
    }
    let run = common::run_wasmtime(&out, &[]);
    assert_eq!(run.stdout, "hello\n");
    assert_eq!(run.code, 0);
}

#[test]
fn without_wasm_opt_the_plan_notes_it_except_at_o0() {
    let dir = common::scratch("api-noopt");
    let tc = FakeToolchainWithoutWasmOpt;
    let plan = common::backend()
        .compile(
            &mut source(HELLO),
            &options(&tc, Emit::Executable, dir.join("a.wasm"), OptLevel::O2),
        )
        .expect("compiles");
    let names: Vec<&str> = plan.steps().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["lp64-bridge", "wasm-ld"]);
    assert!(
        plan.notes.iter().any(|n| n.contains("wasm-opt")),
        "{:?}",
        plan.notes
    );
    // At -O0 wasm-opt only folds never-written globals, and its absence
    // is not worth a note.
    let plan = common::backend()
        .compile(
            &mut source(HELLO),
            &options(&tc, Emit::Executable, dir.join("b.wasm"), OptLevel::O0),
        )
        .expect("compiles");
    let names: Vec<&str> = plan.steps().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["lp64-bridge", "wasm-ld"]);
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    let sys = common::SystemToolchain;
    let plan = common::backend()
        .compile(
            &mut source(HELLO),
            &options(&sys, Emit::Executable, dir.join("c.wasm"), OptLevel::O0),
        )
        .expect("compiles");
    let names: Vec<&str> = plan.steps().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["lp64-bridge", "wasm-ld", "wasm-opt"]);
    assert!(plan.steps()[2]
        .args
        .iter()
        .any(|a| a == "--simplify-globals"));
    assert!(!plan.steps()[2].args.iter().any(|a| a == "-O0"));
}

#[test]
fn kept_temporaries_outlive_the_plan() {
    let dir = common::scratch("api-keep");
    let tc = common::SystemToolchain;
    let mut opts = options(&tc, Emit::Executable, dir.join("k.wasm"), OptLevel::O0);
    opts.keep_temps = true;
    let plan = common::backend()
        .compile(&mut source(HELLO), &opts)
        .expect("compiles");
    // The compiled object is the bridge step's `il` input.
    let bridge = &plan.steps()[0];
    let il = bridge
        .args
        .iter()
        .position(|a| a == "il")
        .expect("an IL input");
    let object = PathBuf::from(&bridge.args[il + 1]);
    assert!(object.starts_with(std::env::temp_dir()));
    drop(plan);
    assert!(object.is_file(), "{} removed", object.display());
    common::validate(&std::fs::read(&object).unwrap());
    std::fs::remove_file(object).unwrap();
}
