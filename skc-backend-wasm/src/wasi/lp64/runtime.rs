//! The C runtime LP64 IL links against (`libskc_rt.a`): printf/scanf
//! shims, the LP64 `argv`, the stream slots, comparator thunks and glibc's
//! internal entry points.
//!
//! An installed build finds the archive in `<resource dir>/wasm32/`. A
//! development build compiles the embedded sources on first use into
//! `<cache dir>/wasm32-runtime-<content hash>/libskc_rt.a`: the link plan
//! gains clang steps and an `llvm-ar` step, only when that file is
//! missing. `llvm-ar` writes the archive under a temporary name and renames
//! it into place, so a concurrent or interrupted build never leaves a
//! partial archive behind.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use skc_ir::backend::Options;
use skc_ir::plan::{LinkPlan, Step};

/// The archive's file name.
pub const ARCHIVE: &str = "libskc_rt.a";

/// The runtime's C sources: (file name, text). Each is one archive member.
pub const SOURCES: &[(&str, &str)] = &[
    ("skc_rt.h", include_str!("../../../runtime/skc_rt.h")),
    ("lp64_main.c", include_str!("../../../runtime/lp64_main.c")),
    (
        "lp64_streams.c",
        include_str!("../../../runtime/lp64_streams.c"),
    ),
    (
        "lp64_printf.c",
        include_str!("../../../runtime/lp64_printf.c"),
    ),
    (
        "lp64_scanf.c",
        include_str!("../../../runtime/lp64_scanf.c"),
    ),
    (
        "lp64_stdlib.c",
        include_str!("../../../runtime/lp64_stdlib.c"),
    ),
    (
        "lp64_locale.c",
        include_str!("../../../runtime/lp64_locale.c"),
    ),
    (
        "lp64_signal.c",
        include_str!("../../../runtime/lp64_signal.c"),
    ),
    (
        "lp64_files.c",
        include_str!("../../../runtime/lp64_files.c"),
    ),
    ("lp64_time.c", include_str!("../../../runtime/lp64_time.c")),
    (
        "glibc_ctype.c",
        include_str!("../../../runtime/glibc_ctype.c"),
    ),
    (
        "glibc_misc.c",
        include_str!("../../../runtime/glibc_misc.c"),
    ),
    ("clock.c", include_str!("../../../runtime/clock.c")),
    (
        "longjmp_c_frames.c",
        include_str!("../../../runtime/longjmp_c_frames.c"),
    ),
];

/// A C library built from embedded sources and linked into wasm32
/// programs.
pub struct Library {
    /// The archive's file name.
    pub archive: &'static str,
    /// Its cache directory's name, before the content hash.
    pub cache_prefix: &'static str,
    /// Its sources: (file name, text). Each `.c` is one archive member.
    pub sources: &'static [(&'static str, &'static str)],
}

/// The LP64 runtime.
pub const RUNTIME: Library = Library {
    archive: ARCHIVE,
    cache_prefix: "wasm32-runtime",
    sources: SOURCES,
};

/// Stand-ins for POSIX functions WASI lacks ([`crate::wasi::lp64::stubs`]),
/// searched after wasi-libc.
pub const STUBS: Library = Library {
    archive: "libskc_stubs.a",
    cache_prefix: "wasm32-stubs",
    sources: &[(
        "posix_stubs.c",
        include_str!("../../../runtime/stubs/posix_stubs.c"),
    )],
};

/// A 64-bit FNV-1a hash of every source of the runtime, naming the cache
/// directory.
pub fn content_hash() -> u64 {
    library_hash(&RUNTIME)
}

fn library_hash(lib: &Library) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, text) in lib.sources {
        for b in name.bytes().chain([0]).chain(text.bytes()).chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// `llvm-ar` beside the given clang (`/usr/lib/llvm-N/bin/`), or on `PATH`.
fn find_ar(clang: &Path) -> Option<PathBuf> {
    let real = std::fs::canonicalize(clang).ok()?;
    let beside = real.parent()?.join("llvm-ar");
    if beside.is_file() {
        return Some(beside);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("llvm-ar"))
            .find(|p| p.is_file())
    })
}

/// Names the runtime defines for objects to reference.
const RUNTIME_SYMBOLS: &[&[u8]] = &[
    b"__skc_lp64_",
    b"__ctype_b_loc",
    b"__ctype_tolower_loc",
    b"__ctype_toupper_loc",
    b"__errno_location",
    b"__assert_fail",
    b"__isoc99_",
    b"__skc_clock",
    b"__skc_sjlj_",
];

/// Whether the object's bytes name a runtime symbol. Symbol names are
/// stored verbatim in the object, so a byte search finds every reference;
/// a false match (a string that happens to contain such a name) only adds
/// the archive to the link, from which nothing is then taken.
pub fn object_needs_runtime(object: &[u8]) -> bool {
    RUNTIME_SYMBOLS
        .iter()
        .any(|name| object.windows(name.len()).any(|w| w == *name))
}

/// Whether the link input at `path` is a wasm object (an earlier `skc -c`
/// output, say) that references the runtime. Anything else, or a file that
/// cannot be read, is left to the linker.
fn link_input_needs_runtime(path: &Path) -> bool {
    crate::wasi::bridge::objects::read_wasm_file(path)
        .is_some_and(|bytes| object_needs_runtime(&bytes))
}

/// The runtime archive to link when `object` or one of the wasm objects
/// among `link_inputs` references the runtime, adding the steps that build
/// it to `steps` when it is neither installed nor cached. `None` when
/// nothing needs it, or (with a note) when it cannot be built for want of
/// clang or llvm-ar.
pub fn runtime_archive(
    plan: &mut LinkPlan,
    options: &Options<'_>,
    object: &Path,
    link_inputs: &[PathBuf],
    clang: Option<&Path>,
    sysroot: &Path,
    steps: &mut Vec<Step>,
) -> Result<Option<PathBuf>> {
    let bytes =
        std::fs::read(object).with_context(|| format!("cannot read {}", object.display()))?;
    if !object_needs_runtime(&bytes)
        && !link_inputs
            .iter()
            .any(|path| link_input_needs_runtime(path))
    {
        return Ok(None);
    }
    drop(bytes);
    library_archive(&RUNTIME, plan, options, clang, sysroot, steps)
}

/// The archive of `lib`: installed in the resource directory, cached, or
/// built into the cache by steps added to `steps`. `None` (with a note)
/// when it cannot be built for want of clang or llvm-ar.
pub fn library_archive(
    lib: &Library,
    plan: &mut LinkPlan,
    options: &Options<'_>,
    clang: Option<&Path>,
    sysroot: &Path,
    steps: &mut Vec<Step>,
) -> Result<Option<PathBuf>> {
    if let Some(res) = options.toolchain.resource_dir() {
        let installed = res.join("wasm32").join(lib.archive);
        if installed.is_file() {
            return Ok(Some(installed));
        }
    }
    let dir = options.toolchain.cache_dir()?.join(format!(
        "{}-{:016x}",
        lib.cache_prefix,
        library_hash(lib)
    ));
    let archive = dir.join(lib.archive);
    if archive.is_file() {
        return Ok(Some(archive));
    }
    let (Some(clang), Some(ar)) = (clang, clang.and_then(find_ar)) else {
        plan.notes.push(format!(
            "clang or llvm-ar not found: {} is not linked",
            lib.archive
        ));
        return Ok(None);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Sources and objects go beside the archive, content-addressed like it:
    // concurrent builds write identical files (clang and llvm-ar replace
    // their outputs by renaming) and the members keep stable names.
    let src_dir = dir.join("src");
    std::fs::create_dir_all(&src_dir)
        .with_context(|| format!("cannot create {}", src_dir.display()))?;
    for (name, text) in lib.sources {
        let mut tmp = options.files.staging(&src_dir.join(name), false)?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())
            .with_context(|| format!("cannot write the runtime source {name}"))?;
        tmp.persist(src_dir.join(name))
            .with_context(|| format!("cannot write the runtime source {name}"))?;
    }
    let mut members = Vec::new();
    for (name, _) in lib.sources.iter().filter(|(n, _)| n.ends_with(".c")) {
        let src = src_dir.join(name);
        let obj = src.with_extension("o");
        let args: Vec<OsString> = vec![
            "--target=wasm32-wasi".into(),
            format!("--sysroot={}", sysroot.display()).into(),
            "-O2".into(),
            "-c".into(),
            src.clone().into(),
            "-o".into(),
            obj.clone().into(),
        ];
        steps.push(Step {
            name: "clang".into(),
            program: clang.to_path_buf(),
            args,
            env: Vec::new(),
            inputs: vec![src],
            outputs: vec![obj.clone()],
        });
        members.push(obj);
    }
    let mut args: Vec<OsString> = vec!["rcs".into(), archive.clone().into()];
    args.extend(members.iter().map(OsString::from));
    steps.push(Step {
        name: "llvm-ar".into(),
        program: ar,
        args,
        env: Vec::new(),
        inputs: members,
        outputs: vec![archive.clone()],
    });
    Ok(Some(archive))
}
