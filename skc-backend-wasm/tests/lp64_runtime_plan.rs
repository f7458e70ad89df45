//! The LP64 runtime archive in the link plan: built by plan steps into
//! the cache only when missing, taken from an installed resource directory
//! first, and left out for IL that does not reference it.

mod common;

use std::path::{Path, PathBuf};

use skc_ir::backend::{Emit, LinkInput, OptLevel, Options, Tool, Toolchain};
use skc_ir::plan::LinkPlan;
use skc_ir::reader::{read_module, ModuleSource};

/// The system's tools with a cache and resource directory chosen by the
/// test (a fake standing in for the driver's lookup of those directories).
struct DirsToolchain {
    cache: PathBuf,
    resources: Option<PathBuf>,
}

impl Toolchain for DirsToolchain {
    fn tool(&self, tool: Tool) -> anyhow::Result<PathBuf> {
        common::SystemToolchain.tool(tool)
    }
    fn optional_tool(&self, tool: Tool) -> Option<PathBuf> {
        common::SystemToolchain.optional_tool(tool)
    }
    fn wasi_sysroot(&self) -> anyhow::Result<PathBuf> {
        common::SystemToolchain.wasi_sysroot()
    }
    fn cache_dir(&self) -> anyhow::Result<PathBuf> {
        Ok(self.cache.clone())
    }
    fn resource_dir(&self) -> Option<PathBuf> {
        self.resources.clone()
    }
}

const LP64_HELLO: &str = "data $s = { b \"hi %ld\\n\", b 0 }\n\
    export function w $main() {\n@start\n\tcall $printf(l $s, ..., l 42)\n\tret 0\n}\n";
const ILP32_HELLO: &str = "data $s = { b \"hi\", b 0 }\n\
    export function w $main() {\n@start\n\t%r =w call $puts(w $s)\n\tret 0\n}\n";

fn plan_for(il: &str, tc: &DirsToolchain, out: &Path) -> LinkPlan {
    plan_with(il, tc, out, Emit::Executable, Vec::new())
}

fn plan_with(
    il: &str,
    tc: &DirsToolchain,
    out: &Path,
    emit: Emit,
    link_inputs: Vec<LinkInput>,
) -> LinkPlan {
    let options = Options {
        opt_level: OptLevel::O0,
        debug_info: false,
        emit,
        output: out.to_path_buf(),
        source_name: "t.ssa".into(),
        link_inputs,
        keep_temps: false,
        stubs: true,
        toolchain: tc,
        files: &common::PlainFiles,
    };
    let mut src = ModuleSource::new(read_module(il, "t.ssa").expect("parses"));
    common::backend()
        .compile(&mut src, &options)
        .expect("compiles")
}

fn execute(plan: LinkPlan) {
    for step in plan.steps() {
        let (ok, stderr) = common::run_step(step);
        assert!(ok, "{}: {}", step.name, stderr);
    }
    for r in &plan.results {
        std::fs::rename(&r.staged, &r.dest).expect("result renamed");
    }
}

fn step_names(plan: &LinkPlan) -> Vec<&str> {
    plan.steps().iter().map(|s| s.name.as_str()).collect()
}

fn links_archive(plan: &LinkPlan, archive: &Path) -> bool {
    plan.steps()
        .iter()
        .filter(|s| s.name == "wasm-ld")
        .any(|s| s.args.iter().any(|a| Path::new(a) == archive))
}

#[test]
fn built_on_a_cache_miss_then_reused() {
    let dir = common::scratch("lp64-plan-cache");
    let cache = dir.join("cache");
    let _ = std::fs::remove_dir_all(&cache);
    let tc = DirsToolchain {
        cache: cache.clone(),
        resources: None,
    };
    let out = dir.join("a.wasm");
    let plan = plan_for(LP64_HELLO, &tc, &out);
    let names = step_names(&plan);
    let sources = skc_backend_wasm::lp64::runtime::SOURCES
        .iter()
        .filter(|(n, _)| n.ends_with(".c"))
        .count();
    assert_eq!(names.iter().filter(|n| **n == "clang").count(), sources);
    assert_eq!(
        &names[sources..],
        ["llvm-ar", "lp64-bridge", "wasm-ld", "wasm-opt"]
    );
    let archive = plan.steps()[sources].outputs[0].clone();
    assert!(archive.starts_with(&cache), "{}", archive.display());
    assert!(links_archive(&plan, &archive));
    execute(plan);
    assert!(archive.is_file());
    assert_eq!(common::run_wasmtime(&out, &[]).stdout, "hi 42\n");

    let plan = plan_for(LP64_HELLO, &tc, &out);
    assert_eq!(step_names(&plan), ["lp64-bridge", "wasm-ld", "wasm-opt"]);
    assert!(links_archive(&plan, &archive));
}

#[test]
fn installed_archive_comes_first() {
    let dir = common::scratch("lp64-plan-installed");
    let res = dir.join("res");
    std::fs::create_dir_all(res.join("wasm32")).expect("mkdir");
    let installed = res
        .join("wasm32")
        .join(skc_backend_wasm::lp64::runtime::ARCHIVE);
    std::fs::write(&installed, b"!<arch>\n").expect("write");
    let tc = DirsToolchain {
        cache: dir.join("empty-cache"),
        resources: Some(res),
    };
    let plan = plan_for(LP64_HELLO, &tc, &dir.join("b.wasm"));
    assert_eq!(step_names(&plan), ["lp64-bridge", "wasm-ld", "wasm-opt"]);
    assert!(links_archive(&plan, &installed));
}

#[test]
fn il_without_runtime_references_links_no_archive() {
    let dir = common::scratch("lp64-plan-none");
    let tc = DirsToolchain {
        cache: dir.join("cache"),
        resources: None,
    };
    let plan = plan_for(ILP32_HELLO, &tc, &dir.join("c.wasm"));
    assert_eq!(step_names(&plan), ["lp64-bridge", "wasm-ld", "wasm-opt"]);
    let ld = &plan.steps()[1];
    assert!(!ld
        .args
        .iter()
        .any(|a| a.to_string_lossy().contains("libskc_rt")));
}

#[test]
fn an_object_given_to_link_that_references_it_links_the_archive() {
    let dir = common::scratch("lp64-plan-object");
    let res = dir.join("res");
    std::fs::create_dir_all(res.join("wasm32")).expect("mkdir");
    let installed = res
        .join("wasm32")
        .join(skc_backend_wasm::lp64::runtime::ARCHIVE);
    std::fs::write(&installed, b"!<arch>\n").expect("write");
    let tc = DirsToolchain {
        cache: dir.join("empty-cache"),
        resources: Some(res),
    };
    let object = dir.join("hello.o");
    execute(plan_with(
        LP64_HELLO,
        &tc,
        &object,
        Emit::Object,
        Vec::new(),
    ));
    let plan = plan_with(
        "",
        &tc,
        &dir.join("d.wasm"),
        Emit::Executable,
        vec![LinkInput::File(object)],
    );
    assert!(links_archive(&plan, &installed));
}
