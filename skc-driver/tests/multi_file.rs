//! Several IL inputs mean what they mean when each file is compiled on its
//! own (`-c`) and the objects are linked: a function or data defined
//! without `export` belongs to its file, and a name a file does not define
//! itself is the exported or external symbol.
//!
//! Every program is built for every target at `-O0` to `-O3`, both ways
//! (all inputs in one `skc`, and each IL file with `-c`, then linked), run
//! (wasm modules under wasmtime, after validation), and its output compared
//! with the expected one.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::skc;

const TARGETS: [&str; 2] = ["native", "wasm32"];
const OPT_LEVELS: [&str; 4] = ["-O0", "-O1", "-O2", "-O3"];

/// `x.ssa` keeps a `$scale` of its own; `y.ssa` calls the C one.
const SCALE_X: &str = "function w $scale(w %v) {\n@start\n\t%r =w mul %v, 1000\n\tret %r\n}\n\
export function w $x_value() {\n@start\n\t%r =w call $scale(w 2)\n\tret %r\n}\n";
const SCALE_Y: &str = "data $fmt = { b \"x_value=%d scale(3)=%d\\n\", b 0 }\n\
export function w $main() {\n@start\n\t%a =w call $x_value()\n\t%b =w call $scale(w 3)\n\
\tcall $printf(l $fmt, ..., w %a, w %b)\n\tret 0\n}\n";
const SCALE_C: &str = "int scale(int v) { return v * 2; }\n";
const SCALE_OUTPUT: &str = "x_value=2000 scale(3)=6\n";

/// A file that prints its own string through `$print_NAME`, the way cproc
/// names string literals (so every file has a `$.Lstring.40`).
fn own_string(name: &str) -> String {
    format!(
        "data $.Lstring.40 = {{ b \"string of {name}\", b 0 }}\n\
         export function $print_{name}() {{\n@start\n\tcall $puts(l $.Lstring.40)\n\tret\n}}\n"
    )
}

/// Writes `files` into `dir`.
fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write input");
    }
}

fn is_il(name: &str) -> bool {
    name.ends_with(".ssa")
}

/// `skc ARGS` in `dir`, which must succeed.
fn build(dir: &Path, args: &[&str]) {
    let output = skc()
        .current_dir(dir)
        .env("TMPDIR", dir)
        .args(args)
        .output()
        .expect("skc runs");
    assert!(
        output.status.success(),
        "skc {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the program `path` built for `target`.
fn run(target: &str, path: &Path) -> Output {
    let output = if target == "wasm32" {
        common::validate_wasm(path);
        Command::new("wasmtime").arg("run").arg(path).output()
    } else {
        Command::new(path).output()
    }
    .expect("the program runs");
    assert!(output.status.success(), "{}: {output:?}", path.display());
    output
}

/// Builds `files` (IL and C) both ways for every target and optimisation
/// level and checks that the program prints `expected`.
fn check(files: &[(&str, &str)], expected: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    write_files(dir.path(), files);
    let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    for target in TARGETS {
        for opt in OPT_LEVELS {
            let context = format!("{target} {opt}");
            let together = format!("together-{target}{opt}");
            let mut args = vec!["--target", target, opt];
            args.extend(&names);
            args.extend(["-o", &together]);
            build(dir.path(), &args);
            let output = run(target, &dir.path().join(&together));
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                expected,
                "{context}, one skc"
            );

            let mut link_inputs = Vec::new();
            for name in &names {
                if is_il(name) {
                    let object = format!("{name}-{target}{opt}.o");
                    build(
                        dir.path(),
                        &["--target", target, opt, "-c", name, "-o", &object],
                    );
                    if target == "wasm32" {
                        common::validate_wasm(&dir.path().join(&object));
                    }
                    link_inputs.push(object);
                } else {
                    link_inputs.push(name.to_string());
                }
            }
            let linked = format!("linked-{target}{opt}");
            let mut args = vec!["--target", target, opt];
            args.extend(link_inputs.iter().map(String::as_str));
            args.extend(["-o", &linked]);
            build(dir.path(), &args);
            let output = run(target, &dir.path().join(&linked));
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                expected,
                "{context}, -c per file"
            );
        }
    }
}

#[test]
fn a_local_function_hides_the_external_one_only_in_its_file() {
    check(
        &[("x.ssa", SCALE_X), ("y.ssa", SCALE_Y), ("z.c", SCALE_C)],
        SCALE_OUTPUT,
    );
}

#[test]
fn each_file_has_its_own_local_data_of_the_same_name() {
    let main = "data $.Lstring.40 = { b \"string of main\", b 0 }\n\
        export function w $main() {\n@start\n\tcall $print_a()\n\tcall $print_b()\n\
        \tcall $puts(l $.Lstring.40)\n\tret 0\n}\n";
    check(
        &[
            ("a.ssa", &own_string("a")),
            ("b.ssa", &own_string("b")),
            ("main.ssa", main),
        ],
        "string of a\nstring of b\nstring of main\n",
    );
}

#[test]
fn a_local_function_may_be_used_before_its_definition() {
    let first = "export function w $main() {\n@start\n\t%a =w call $later()\n\
        \t%b =w call $second()\n\tcall $printf(l $fmt, ..., w %a, w %b)\n\tret 0\n}\n\
        data $fmt = { b \"%d %d\\n\", b 0 }\n\
        function w $later() {\n@start\n\tret 1\n}\n";
    let second = "export function w $second() {\n@start\n\t%r =w call $later()\n\tret %r\n}\n\
        function w $later() {\n@start\n\tret 2\n}\n";
    check(&[("first.ssa", first), ("second.ssa", second)], "1 2\n");
}

#[test]
fn a_local_function_in_a_data_table_is_the_files_own() {
    let table = |value: i32, export: &str| {
        format!(
            "data $tab = {{ l $helper }}\n\
             export function w ${export}() {{\n@start\n\t%f =l loadl $tab\n\
             \t%r =w call %f()\n\tret %r\n}}\n\
             function w $helper() {{\n@start\n\tret {value}\n}}\n"
        )
    };
    let main = "data $fmt = { b \"%d %d\\n\", b 0 }\n\
        export function w $main() {\n@start\n\t%a =w call $via_t()\n\t%b =w call $via_u()\n\
        \tcall $printf(l $fmt, ..., w %a, w %b)\n\tret 0\n}\n";
    check(
        &[
            ("t.ssa", &table(10, "via_t")),
            ("u.ssa", &table(20, "via_u")),
            ("main.ssa", main),
        ],
        "10 20\n",
    );
}

#[test]
fn another_files_local_name_is_not_reachable() {
    let user = "export function w $main() {\n@start\n\t%r =w call $helper()\n\tret %r\n}\n";
    let owner = "function w $helper() {\n@start\n\tret 7\n}\n\
        export function w $unused() {\n@start\n\t%r =w call $helper()\n\tret %r\n}\n";
    let dir = tempfile::tempdir().expect("tempdir");
    write_files(dir.path(), &[("user.ssa", user), ("owner.ssa", owner)]);
    for target in TARGETS {
        let output = skc()
            .current_dir(dir.path())
            .env("TMPDIR", dir.path())
            .args(["--target", target, "user.ssa", "owner.ssa", "-o", "prog"])
            .output()
            .expect("skc runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{target}: linked\n{stderr}");
        assert!(stderr.contains("undefined"), "{target}: {stderr}");
        assert!(stderr.contains("helper"), "{target}: {stderr}");
        assert!(!dir.path().join("prog").exists(), "{target}");
    }
}

#[test]
fn standard_input_may_be_one_of_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).expect("mkdir tmp");
    write_files(dir.path(), &[("y.ssa", SCALE_Y), ("z.c", SCALE_C)]);
    for target in TARGETS {
        let mut child = skc()
            .current_dir(dir.path())
            .env("TMPDIR", &tmp)
            .args(["--target", target, "-", "y.ssa", "z.c", "-o", "prog"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("skc runs");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), SCALE_X.as_bytes())
            .expect("write stdin");
        let output = child.wait_with_output().expect("skc finishes");
        assert!(
            output.status.success(),
            "{target}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let output = run(target, &dir.path().join("prog"));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            SCALE_OUTPUT,
            "{target}"
        );
        assert_eq!(common::entries(&tmp), Vec::<std::path::PathBuf>::new());
    }
}

#[test]
fn longs_and_pointers_cross_between_il_files_and_c_both_ways() {
    // On wasm32 C's `long` is 32 bits and the IL's `l` 64: the link bridge
    // adapts C's calls into the IL and the IL's into C, also between
    // objects compiled one file at a time.
    let a = "export function l $addl(l %a, l %b) {\n@start\n\t%r =l add %a, %b\n\tret %r\n}\n";
    let b = "data $fmt = { b \"%ld %ld %ld\\n\", b 0 }\n\
        export function w $main() {\n@start\n\t%x =l call $addl(l -5, l 3)\n\
        \t%y =l call $cfun(l -9)\n\t%n =l call $strspn(l $fmt, l $fmt)\n\
        \tcall $printf(l $fmt, ..., l %x, l %y, l %n)\n\tret 0\n}\n";
    let c = "long addl(long, long);\nlong cfun(long v) { return addl(v, v); }\n";
    check(&[("b.ssa", b), ("a.ssa", a), ("c.c", c)], "-2 -18 12\n");
}

#[test]
fn a_longjmp_unwinds_through_another_files_frames() {
    // `main` sets the jmp_buf, `work` in another file recurses and jumps
    // back; each file compiled on its own must agree on how a longjmp
    // unwinds (on wasm32, one pending-target global shared by all objects).
    let main = "export data $env = { z 200 }\n\
data $fmt = { b \"caught %d after %d\\n\", b 0 }\n\
export function w $main() {\n@start\n\t%r =w call $_setjmp(l $env)\n\
\tjnz %r, @caught, @first\n@first\n\t%w =w call $work(w 5)\n\tret 1\n\
@caught\n\t%d =w loadw $depth\n\tcall $printf(l $fmt, ..., w %r, w %d)\n\tret 0\n}\n";
    let work = "export data $depth = { w 0 }\n\
export function w $work(w %n) {\n@start\n\tstorew %n, $depth\n\tjnz %n, @deeper, @jump\n\
@jump\n\tcall $longjmp(l $env, w 99)\n\tret 0\n\
@deeper\n\t%m =w sub %n, 1\n\t%r =w call $work(w %m)\n\t%s =w add %r, 1\n\tret %s\n}\n";
    check(
        &[("main.ssa", main), ("work.ssa", work)],
        "caught 99 after 0\n",
    );
}
