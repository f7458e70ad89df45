//! Shared test support: item sources, validation, and running the real
//! link plan (clang, wasm-ld, wasm-opt) and the module under wasmtime.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use skc_ir::backend::{
    Backend, Emit, Files, InputErrors, ItemSource, LinkInput, OptLevel, Options, Tool, Toolchain,
};
use skc_ir::ir::Item;
use skc_ir::types::TypeTable;

/// Items from a vector.
pub struct VecSource {
    items: std::vec::IntoIter<Item>,
    types: TypeTable,
}

impl VecSource {
    pub fn new(items: Vec<Item>) -> Self {
        Self::with_types(items, TypeTable::new())
    }
    pub fn with_types(items: Vec<Item>, types: TypeTable) -> Self {
        VecSource {
            items: items.into_iter(),
            types,
        }
    }
}

impl ItemSource for VecSource {
    fn next_item(&mut self) -> Result<Option<Item>, InputErrors> {
        Ok(self.items.next())
    }
    fn types(&self) -> &TypeTable {
        &self.types
    }
}

/// Finds the tools installed on the machine.
pub struct SystemToolchain;

fn first_existing(cands: &[&str]) -> Option<PathBuf> {
    cands.iter().map(PathBuf::from).find(|p| p.is_file())
}

impl Toolchain for SystemToolchain {
    fn tool(&self, tool: Tool) -> anyhow::Result<PathBuf> {
        self.optional_tool(tool)
            .ok_or_else(|| anyhow::anyhow!("{tool:?} not found"))
    }
    fn optional_tool(&self, tool: Tool) -> Option<PathBuf> {
        match tool {
            Tool::Clang => first_existing(&["/usr/bin/clang-19", "/usr/bin/clang"]),
            Tool::WasmLd => first_existing(&["/usr/bin/wasm-ld-19", "/usr/bin/wasm-ld"]),
            Tool::WasmOpt => first_existing(&["/usr/bin/wasm-opt", "/usr/local/bin/wasm-opt"]),
        }
    }
    fn wasi_sysroot(&self) -> anyhow::Result<PathBuf> {
        Ok(PathBuf::from("/usr"))
    }
    fn cache_dir(&self) -> anyhow::Result<PathBuf> {
        Ok(std::env::temp_dir())
    }
    fn resource_dir(&self) -> Option<PathBuf> {
        None
    }
}

/// Files for the backend without the driver's signal handling.
pub struct PlainFiles;

impl Files for PlainFiles {
    fn staging(&self, dest: &Path, executable: bool) -> anyhow::Result<tempfile::NamedTempFile> {
        use std::os::unix::fs::PermissionsExt;
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty());
        let mode = if executable { 0o777 } else { 0o666 };
        Ok(tempfile::Builder::new()
            .prefix(".skc-")
            .suffix(".tmp")
            .permissions(std::fs::Permissions::from_mode(mode))
            .tempfile_in(dir.unwrap_or(Path::new(".")))?)
    }
    fn temporary(&self, suffix: &str) -> anyhow::Result<tempfile::NamedTempFile> {
        Ok(tempfile::Builder::new()
            .prefix("skc-")
            .suffix(suffix)
            .tempfile()?)
    }
}

/// Validates an object with the features the backend uses.
pub fn validate(bytes: &[u8]) {
    let mut v = wasmparser::Validator::new_with_features(skc_backend_wasm::wasm_features());
    if let Err(e) = v.validate_all(bytes) {
        let text = wasmprinter::print_bytes(bytes).unwrap_or_default();
        panic!("invalid object: {e}\n{text}");
    }
}

pub struct Run {
    pub stdout: String,
    pub code: i32,
}

/// A scratch directory under the target dir, per test name.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the real plan for `obj` (plus extra C sources) at `opt`, returns
/// the linked module's path.
pub fn link(obj: &[u8], name: &str, c_sources: &[&str], opt: OptLevel) -> PathBuf {
    try_link(obj, name, c_sources, opt).unwrap_or_else(|e| panic!("{e}"))
}

/// [`link`], with a failing step's name and error output as the error.
pub fn try_link(
    obj: &[u8],
    name: &str,
    c_sources: &[&str],
    opt: OptLevel,
) -> Result<PathBuf, String> {
    let dir = scratch(name);
    let obj_path = dir.join("main.o");
    std::fs::write(&obj_path, obj).unwrap();
    let mut inputs = Vec::new();
    for (i, src) in c_sources.iter().enumerate() {
        let p = dir.join(format!("extra{i}.c"));
        std::fs::write(&p, src).unwrap();
        inputs.push(LinkInput::CSource(p));
    }
    let out = dir.join(format!("{name}.wasm"));
    let tc = SystemToolchain;
    let options = Options {
        opt_level: opt,
        debug_info: false,
        emit: Emit::Executable,
        output: out.clone(),
        source_name: "main.ssa".into(),
        link_inputs: inputs,
        keep_temps: false,
        stubs: true,
        toolchain: &tc,
        files: &PlainFiles,
    };
    let plan =
        skc_backend_wasm::plan::link_plan(skc_ir::plan::LinkPlan::nothing(), obj_path, &options)
            .expect("plan");
    for step in plan.steps() {
        let (ok, stderr) = run_step(step);
        if !ok {
            let args = step
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            return Err(format!("{} failed: {stderr}\n{args}", step.name));
        }
    }
    for r in &plan.results {
        std::fs::rename(&r.staged, &r.dest).unwrap();
    }
    drop(plan);
    Ok(out)
}

/// Runs a module under wasmtime.
pub fn run_wasmtime(module: &Path, args: &[&str]) -> Run {
    let o = Command::new("wasmtime")
        .arg("run")
        .arg(module)
        .args(args)
        .output()
        .expect("wasmtime");
    Run {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}

/// Links (with C sources) at -O2 and -O0 and runs under wasmtime; both
/// runs must agree, the -O0 one is returned.
pub fn link_and_run(obj: &[u8], name: &str, c_sources: &[&str], args: &[&str]) -> Run {
    let m0 = link(obj, &format!("{name}-O0"), c_sources, OptLevel::O0);
    let r0 = run_wasmtime(&m0, args);
    let m2 = link(obj, &format!("{name}-O2"), c_sources, OptLevel::O2);
    let r2 = run_wasmtime(&m2, args);
    assert_eq!(
        r0.stdout, r2.stdout,
        "-O0 and -O2 (wasm-opt) outputs differ"
    );
    assert_eq!(r0.code, r2.code, "-O0 and -O2 (wasm-opt) exit codes differ");
    r0
}

/// The registered backend.
/// Runs one plan step, as the driver would: a backend's own step
/// (`skc --backend-step TARGET NAME …`) in this process, since the test
/// binary is not skc; any other step as a process. Returns whether it
/// succeeded and its error output.
#[allow(dead_code)]
pub fn run_step(step: &skc_ir::plan::Step) -> (bool, String) {
    if step
        .args
        .first()
        .is_some_and(|a| a == skc_ir::backend::BACKEND_STEP_FLAG)
    {
        let name = step.args[2].to_string_lossy();
        return match backend().run_step(&name, &step.args[3..]) {
            Ok(()) => (true, String::new()),
            Err(e) => (false, format!("{e:#}")),
        };
    }
    let o = Command::new(&step.program)
        .args(&step.args)
        .output()
        .expect("run step");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub fn backend() -> &'static dyn Backend {
    skc_ir::backend::find_backend("wasm32").expect("wasm32 registered")
}

/// Parses IL text and compiles it to a validated object.
pub fn compile_il(text: &str, name: &str) -> Vec<u8> {
    let module = skc_ir::reader::read_module(text, name).unwrap_or_else(|e| panic!("{e}"));
    let mut src = skc_ir::reader::ModuleSource::new(module);
    let obj = skc_backend_wasm::compile_object(&mut src).unwrap_or_else(|e| panic!("{e:#}"));
    validate(&obj);
    obj
}

const NODE_RUNNER: &str = r#"
const { WASI } = require('node:wasi');
const fs = require('node:fs');
const wasi = new WASI({ version: 'preview1', args: process.argv.slice(2), env: {}, returnOnExit: true });
const wasmModule = new WebAssembly.Module(fs.readFileSync(process.argv[2]));
const instance = new WebAssembly.Instance(wasmModule, wasi.getImportObject());
process.exitCode = wasi.start(instance);
"#;

/// Runs a module under node's WASI implementation.
pub fn run_node(module: &Path, args: &[&str]) -> Run {
    let runner = module.with_extension("cjs");
    std::fs::write(&runner, NODE_RUNNER).unwrap();
    let o = Command::new("node")
        .arg("--single-threaded")
        .arg("--no-warnings")
        .arg(&runner)
        .arg(module)
        .args(args)
        .output()
        .expect("node");
    Run {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}
