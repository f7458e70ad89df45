//! The bridge's objects in real links: an adapter object linked between C
//! objects, and a C object whose function symbols were renamed, each run
//! under wasmtime.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use skc_backend_wasm::bridge::adapters::{write_object, Adapter};
use skc_backend_wasm::bridge::rename::rename_functions;
use skc_backend_wasm::bridge::signature::Signature;
use skc_ir::backend::{Tool, Toolchain};

/// The wasi-libc sysroot and its library directory.
const SYSROOT: &str = "/usr";
const LIBDIR: &str = "/usr/lib/wasm32-wasi";

struct Tools {
    clang: PathBuf,
    wasm_ld: PathBuf,
}

/// The tools, or `None` (with a note) when one is missing.
fn tools(test: &str) -> Option<Tools> {
    let tc = common::SystemToolchain;
    let clang = tc.optional_tool(Tool::Clang);
    let wasm_ld = tc.optional_tool(Tool::WasmLd);
    let wasmtime = Command::new("wasmtime").arg("--version").output();
    let libc = Path::new(LIBDIR).join("libc.a");
    match (clang, wasm_ld) {
        (Some(clang), Some(wasm_ld))
            if wasmtime.is_ok_and(|o| o.status.success()) && libc.is_file() =>
        {
            Some(Tools { clang, wasm_ld })
        }
        _ => {
            eprintln!("note: {test} skipped: clang, wasm-ld, wasmtime or wasi-libc is missing");
            None
        }
    }
}

impl Tools {
    /// Compiles C source `src` to the object `dir/name.o`.
    fn cc(&self, dir: &Path, name: &str, src: &str) -> PathBuf {
        let c = dir.join(format!("{name}.c"));
        std::fs::write(&c, src).unwrap();
        let o = dir.join(format!("{name}.o"));
        let out = Command::new(&self.clang)
            .arg("--target=wasm32-wasi")
            .arg(format!("--sysroot={SYSROOT}"))
            .args(["-O1", "-c"])
            .arg(&c)
            .arg("-o")
            .arg(&o)
            .output()
            .expect("run clang");
        assert!(
            out.status.success(),
            "clang {name}.c: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        o
    }

    /// Links `objects` with wasi-libc into `dir/name.wasm`; the linker's
    /// messages on failure.
    fn link(&self, dir: &Path, name: &str, objects: &[&Path]) -> Result<PathBuf, String> {
        let wasm = dir.join(format!("{name}.wasm"));
        let mut cmd = Command::new(&self.wasm_ld);
        cmd.arg("--fatal-warnings")
            .arg(Path::new(LIBDIR).join("crt1-command.o"))
            .args(objects)
            .arg(format!("-L{LIBDIR}"))
            .arg("-lc");
        if let Some(builtins) = skc_backend_wasm::plan::find_builtins(&self.clang) {
            cmd.arg(builtins);
        }
        let out = cmd.arg("-o").arg(&wasm).output().expect("run wasm-ld");
        if out.status.success() {
            Ok(wasm)
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

fn sig(code: &str) -> Signature {
    Signature::from_code(code).unwrap()
}

fn adapter(name: &str, hidden: bool, code: &str, target: &str, target_code: &str) -> Adapter {
    Adapter {
        name: name.into(),
        hidden,
        signature: sig(code),
        target: target.into(),
        target_signature: sig(target_code),
        around: Vec::new(),
    }
}

const LIB: &str = r#"
static int total;
int add(int a, int b) { return a + b; }
void side(int x) { total += x; }
int bump(int x) { total += x; return total; }
int total_now(void) { return total; }
long long widen(long long x) { return x * 3; }
int three(int a, int b, int c) { return a * 100 + b * 10 + c; }
int neg(int x) { return -x; }
"#;

/// Declares the adapters with their own (LP64-like) signatures.
const MAIN: &str = r#"
#include <stdio.h>
long long add64(long long, long long);
int widen32(int);
int three2(int, int);
int side_r(int);
void bump_v(int);
int neg3(int, int, int);
int total_now(void);
int main(void) {
    printf("add64 %lld\n", add64(-5, 2));
    printf("add64 %lld\n", add64(0x100000002LL, 3));
    printf("widen32 %d\n", widen32(-7));
    printf("three2 %d\n", three2(1, 2));
    printf("side_r %d\n", side_r(4));
    bump_v(6);
    printf("total %d\n", total_now());
    printf("neg3 %d\n", neg3(5, 99, 98));
    return 0;
}
"#;

#[test]
fn adapters_convert_between_c_signatures() {
    let Some(t) = tools("adapters_convert_between_c_signatures") else {
        return;
    };
    let dir = common::scratch("bridge-adapters");
    let lib = t.cc(&dir, "lib", LIB);
    let main = t.cc(&dir, "main", MAIN);
    let adapters = [
        adapter("add64", true, "jj_j", "add", "ii_i"),
        adapter("widen32", false, "i_i", "widen", "j_j"),
        adapter("three2", true, "ii_i", "three", "iii_i"),
        adapter("side_r", false, "i_i", "side", "i_"),
        adapter("bump_v", true, "i_", "bump", "i_i"),
        adapter("neg3", false, "iii_i", "neg", "i_i"),
    ];
    let obj = write_object(&adapters).unwrap();
    common::validate(&obj);
    let adapters_o = dir.join("adapters.o");
    std::fs::write(&adapters_o, &obj).unwrap();

    let wasm = t
        .link(&dir, "adapters", &[&main, &lib, &adapters_o])
        .unwrap_or_else(|e| panic!("wasm-ld: {e}"));
    let run = common::run_wasmtime(&wasm, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.stdout,
        "add64 -3\n\
         add64 5\n\
         widen32 -21\n\
         three2 120\n\
         side_r 0\n\
         total 10\n\
         neg3 -5\n"
    );
}

/// Calls `foo` (named by its import) and `qux` (explicitly named, import
/// field `q_field`), defines `bar`.
const RENAMED: &str = r#"
int foo(int);
__attribute__((import_module("env"), import_name("q_field"))) int qux(int);
int bar(int x) { return x + 1000; }
int call_both(int x) { return foo(x) * 2 + qux(x); }
"#;

const OTHER: &str = r#"
#include <stdio.h>
int bar2(int);
int call_both(int);
int foo2(int x) { return x + 1; }
int qux2(int x) { return x * 100; }
int main(void) {
    printf("%d %d\n", call_both(20), bar2(5));
    return 0;
}
"#;

#[test]
fn renamed_symbols_link_under_their_new_names() {
    let Some(t) = tools("renamed_symbols_link_under_their_new_names") else {
        return;
    };
    let dir = common::scratch("bridge-rename");
    let renamed = t.cc(&dir, "renamed", RENAMED);
    let other = t.cc(&dir, "other", OTHER);
    // Under the old names the link fails.
    assert!(t.link(&dir, "unrenamed", &[&renamed, &other]).is_err());

    let map: HashMap<String, String> = [("foo", "foo2"), ("bar", "bar2"), ("qux", "qux2")]
        .iter()
        .map(|&(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let bytes = std::fs::read(&renamed).unwrap();
    let out = rename_functions(&bytes, &map).unwrap();
    assert_ne!(out, bytes);
    common::validate(&out);
    let renamed2 = dir.join("renamed2.o");
    std::fs::write(&renamed2, &out).unwrap();

    let wasm = t
        .link(&dir, "renamed", &[&renamed2, &other])
        .unwrap_or_else(|e| panic!("wasm-ld: {e}"));
    let run = common::run_wasmtime(&wasm, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.stdout, "2042 1005\n");
}
