//! The plan the backend returns: one clang step reading the LLVM text from
//! an inherited descriptor or a kept file; `--emit=llvm` written atomically.

mod common;

use std::path::PathBuf;

use skc_backend_native::NativeBackend;
use skc_ir::backend::{
    Backend, Emit, Files, InputErrors, ItemSource, LinkInput, OptLevel, Options, Tool, Toolchain,
};
use skc_ir::ir::Item;
use skc_ir::plan::PlanAction;
use skc_ir::reader::{read_module, ModuleSource};
use skc_ir::types::TypeTable;

/// A toolchain that finds clang where the tests found it.
struct TestToolchain;

impl Toolchain for TestToolchain {
    fn tool(&self, tool: Tool) -> anyhow::Result<PathBuf> {
        match tool {
            Tool::Clang => Ok(common::clang()),
            other => anyhow::bail!("{other:?} is not needed by the native backend"),
        }
    }
    fn optional_tool(&self, _tool: Tool) -> Option<PathBuf> {
        None
    }
    fn wasi_sysroot(&self) -> anyhow::Result<PathBuf> {
        anyhow::bail!("not needed")
    }
    fn cache_dir(&self) -> anyhow::Result<PathBuf> {
        anyhow::bail!("not needed")
    }
    fn resource_dir(&self) -> Option<PathBuf> {
        None
    }
}

/// Files for the backend without the driver's signal handling.
struct PlainFiles;

impl Files for PlainFiles {
    fn staging(
        &self,
        dest: &std::path::Path,
        executable: bool,
    ) -> anyhow::Result<tempfile::NamedTempFile> {
        use std::os::unix::fs::PermissionsExt;
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty());
        let mode = if executable { 0o777 } else { 0o666 };
        Ok(tempfile::Builder::new()
            .prefix(".skc-")
            .suffix(".tmp")
            .permissions(std::fs::Permissions::from_mode(mode))
            .tempfile_in(dir.unwrap_or(std::path::Path::new(".")))?)
    }
    fn temporary(&self, suffix: &str) -> anyhow::Result<tempfile::NamedTempFile> {
        Ok(tempfile::Builder::new()
            .prefix("skc-")
            .suffix(suffix)
            .tempfile()?)
    }
}

const HELLO: &str = r#"
data $msg = { b "hello from IL", b 0 }
export function w $main() {
@start
	%r =w call $puts(l $msg)
	%x =w call $from_c(w 20)
	ret %x
}
"#;

const C_PART: &str = "int from_c(int x) { return x + 1; }\n";

fn options(dir: &std::path::Path, emit: Emit, keep: bool, out: &str) -> Options<'static> {
    std::fs::write(dir.join("part.c"), C_PART).unwrap();
    Options {
        opt_level: OptLevel::O2,
        debug_info: false,
        emit,
        output: dir.join(out),
        source_name: "hello.ssa".into(),
        link_inputs: vec![LinkInput::CSource(dir.join("part.c"))],
        keep_temps: keep,
        stubs: true,
        toolchain: &TestToolchain,
        files: &PlainFiles,
    }
}

fn source(text: &str) -> ModuleSource {
    ModuleSource::new(read_module(text, "hello.ssa").unwrap())
}

#[test]
fn executable_plan_reads_the_ir_from_an_inherited_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), Emit::Executable, false, "hello");
    let plan = NativeBackend.compile(&mut source(HELLO), &opts).unwrap();
    let PlanAction::Exec(step) = &plan.action else {
        panic!("expected one exec'd step, got {:?}", plan.action);
    };
    let args: Vec<String> = step
        .args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(plan.inherited_files.len(), 1);
    use std::os::unix::io::AsRawFd;
    let fd = plan.inherited_files[0].as_raw_fd();
    let fd_path = format!("/dev/fd/{fd}");
    let at = args
        .iter()
        .position(|a| *a == fd_path)
        .expect("IR passed as /dev/fd/N");
    assert_eq!(&args[at - 2..at], ["-x", "ir"]);
    assert!(args.contains(&"-ffp-contract=off".to_string()));
    assert!(args.contains(&"-O2".to_string()));
    assert_eq!(
        args.last().unwrap(),
        &dir.path().join("hello").to_string_lossy()
    );
    // The descriptor holds the whole module.
    let text = std::fs::read_to_string(format!("/proc/self/fd/{fd}")).unwrap();
    assert!(text.contains("define dso_local i32 @main()"), "{text}");
    assert!(text.contains("declare"), "{text}");
}

#[test]
fn kept_temps_give_a_runnable_command() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), Emit::Executable, true, "hello");
    let plan = NativeBackend.compile(&mut source(HELLO), &opts).unwrap();
    assert!(plan.inherited_files.is_empty());
    let step = plan.steps()[0].clone();
    let ll = step
        .args
        .iter()
        .map(PathBuf::from)
        .find(|p| p.extension().is_some_and(|e| e == "ll"))
        .expect("a named .ll file");
    assert!(ll.exists());
    let status = std::process::Command::new(&step.program)
        .args(&step.args)
        .status()
        .unwrap();
    std::fs::remove_file(&ll).unwrap();
    assert!(status.success());
    let out = std::process::Command::new(dir.path().join("hello"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(21));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from IL\n");
}

#[test]
fn object_and_assembly_plans_pass_c_and_s() {
    let dir = tempfile::tempdir().unwrap();
    for (emit, flag) in [(Emit::Object, "-c"), (Emit::Assembly, "-S")] {
        let mut opts = options(dir.path(), emit, false, "out");
        opts.link_inputs.clear();
        let plan = NativeBackend.compile(&mut source(HELLO), &opts).unwrap();
        assert!(plan.steps()[0].args.iter().any(|a| a == flag));
        // Nothing follows the IR, so no `-x none` (clang warns about it).
        assert!(!plan.steps()[0].args.iter().any(|a| a == "none"));
    }
}

#[test]
fn emit_llvm_writes_the_module_and_plans_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), Emit::Llvm, false, "hello.ll");
    let plan = NativeBackend.compile(&mut source(HELLO), &opts).unwrap();
    assert!(matches!(plan.action, PlanAction::Nothing));
    let text = std::fs::read_to_string(dir.path().join("hello.ll")).unwrap();
    assert!(text.contains("@main"));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "no temporary left behind: {names:?}");
}

#[test]
fn the_module_and_its_debug_information_name_the_il_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path(), Emit::Llvm, false, "hello.ll");
    opts.debug_info = true;
    let later_file = format!("{HELLO}dbgfile \"part.c\"\n");
    NativeBackend
        .compile(&mut source(&later_file), &opts)
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("hello.ll")).unwrap();
    assert!(
        text.starts_with("source_filename = \"hello.ssa\"\n"),
        "{text}"
    );
    // `main` comes before any `dbgfile`: it is in the IL file itself.
    assert!(
        text.contains("!2 = !DIFile(filename: \"hello.ssa\", directory: \"\")"),
        "{text}"
    );

    let dbgfile_first = format!("dbgfile \"src/part.c\"\n{HELLO}");
    NativeBackend
        .compile(&mut source(&dbgfile_first), &opts)
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("hello.ll")).unwrap();
    assert!(
        text.contains("!2 = !DIFile(filename: \"part.c\", directory: \"src\")"),
        "{text}"
    );
    assert!(!text.contains("DIFile(filename: \"hello.ssa\""), "{text}");
}

/// A fake item source: one good function, then the input-error result a
/// reader gives after reporting errors.
struct FailingSource {
    first: Option<Item>,
    types: TypeTable,
}

impl ItemSource for FailingSource {
    fn next_item(&mut self) -> Result<Option<Item>, InputErrors> {
        match self.first.take() {
            Some(item) => Ok(Some(item)),
            None => Err(InputErrors { count: 2 }),
        }
    }
    fn types(&self) -> &TypeTable {
        &self.types
    }
}

#[test]
fn input_errors_leave_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let m = read_module(HELLO, "hello.ssa").unwrap();
    let first = m.items.into_iter().find(|i| matches!(i, Item::Function(_)));
    for emit in [Emit::Llvm, Emit::Executable] {
        let mut src = FailingSource {
            first: first.clone(),
            types: TypeTable::new(),
        };
        let opts = options(dir.path(), emit, false, "out");
        let err = NativeBackend.compile(&mut src, &opts).unwrap_err();
        assert!(err.to_string().contains("2 errors"), "{err}");
        assert!(!dir.path().join("out").exists());
    }
}

#[test]
fn the_backend_is_registered_under_its_triples() {
    let b = skc_ir::backend::find_backend("x86_64-linux-gnu").expect("registered");
    assert_eq!(b.name(), "native");
    assert_eq!(b.default_output(), "a.out");
    assert!(skc_ir::backend::find_backend("native").is_some());
}
