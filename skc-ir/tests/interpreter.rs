//! The reference interpreter against programs whose output is known from
//! elsewhere: the shared benchmarks (their C source built by the system's
//! C compiler), small programs reaching undefined behaviour, which must be
//! reported, and the semantics docs/ir.md defines.

use std::path::{Path, PathBuf};

use skc_ir::interpreter::{run, Limits, Stop};
use skc_ir::reader::read_module;

fn interpret(text: &str, name: &str, args: &[&str]) -> (Result<i32, Stop>, String) {
    let module = read_module(text, name).unwrap_or_else(|e| panic!("{name} does not read:\n{e}"));
    let mut out = Vec::new();
    let result = run(&module, args, &mut out, Limits::default());
    (result, String::from_utf8_lossy(&out).into_owned())
}

fn shared_bench() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench")
}

/// Each benchmark at a size the interpreter runs in about a second (the
/// test sizes take minutes), with the output of its C source built by
/// the system's C compiler at that size.
const BENCH_SIZES: [(&str, &str); 8] = [
    ("floyd", "40"),
    ("stencil", "30"),
    ("fft", "256"),
    ("bf", "1"),
    ("nqueens", "6"),
    ("levenshtein", "60"),
    ("base64", "3000"),
    ("kvsort", "500"),
];

#[test]
fn the_benchmarks_print_what_their_c_source_prints() {
    let dir = shared_bench();
    let work = std::env::temp_dir().join(format!("skc-interpreter-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("work dir");
    for (name, size) in BENCH_SIZES {
        let exe = work.join(name);
        let built = std::process::Command::new("cc")
            .arg("-O1")
            .arg(dir.join(format!("{name}.c")))
            .args(["-lm", "-o"])
            .arg(&exe)
            .status()
            .expect("the system C compiler runs");
        assert!(built.success(), "cc {name}.c");
        let native = std::process::Command::new(&exe)
            .arg(size)
            .output()
            .expect("runs");
        let expected = String::from_utf8_lossy(&native.stdout).into_owned();
        let text = std::fs::read_to_string(dir.join(format!("{name}.ssa"))).expect("program");
        let started = std::time::Instant::now();
        let (result, out) = interpret(&text, name, &[size]);
        assert_eq!(
            result,
            Ok(native.status.code().unwrap_or(-1)),
            "{name}: {out}"
        );
        assert_eq!(out, expected, "{name}");
        eprintln!("{name} {size}: {:.1} s", started.elapsed().as_secs_f64());
    }
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn undefined_behaviour_is_reported_with_where_it_happened() {
    for (body, what) in [
        ("%q =w div 7, %z", "division by zero"),
        (
            "%q =l rem -9223372036854775808, %m",
            "minimum integer divided by -1",
        ),
        (
            "%p =l alloc8 8\n\t%q =l loadl %p\n\t%r =l add %p, 4\n\t%s =l loadl %r",
            "outside the stack slot of 8 bytes",
        ),
        ("%q =l loadl 0", "null"),
        // Where `mul` of addresses leads depends on the linker (`or`:
        // below).
        (
            "%p =l alloc8 8\n\t%q =l alloc8 8\n\t%d =l mul %q, %p\n\t%r =l add %p, %d\n\t%s =l loadl %r",
            "no allocation there",
        ),
        ("%q =l call %m()", "not a function"),
        // A result bound from a function that returns nothing: masking
        // it with `and 0` is defined, anything else that reaches output is
        // not.
        (
            "%u =w call $nothing()\n\t%k =w and %u, 0\n\tstorew %k, $cell\n\t%x =w xor %u, 0\n\
             \tstorew %x, $cell\n\t%y =w loadw $cell\n\tcall $printf(l $cell, ..., w %y)",
            "undefined value",
        ),
        // A stack slot read before it is written: the value goes through
        // arithmetic and memory, and is reported where it is used.
        (
            "%p =l alloc4 8\n\tstorew 1, %p\n\t%v =l loadl %p\n\t%w =l add %v, 1\n\
             \tstorel %w, $cell\n\t%y =w loadw $cell\n\tcall $printf(l $cell, ..., w %y)",
            "read from memory never written",
        ),
    ] {
        let text = format!(
            "data $cell = {{ l 0 }}\nfunction $nothing() {{\n@start\n\tret\n}}\n\
             export function w $main() {{\n@start\n\t%z =w copy 0\n\t%m =l copy -1\n\t{body}\n\tret 0\n}}\n"
        );
        let (result, _) = interpret(&text, "ub.ssa", &[]);
        match result {
            Err(Stop::Undefined(m)) => {
                assert!(m.contains(what), "{body}: {m}");
                assert!(m.contains("in `main`, line"), "{m}");
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    let (result, _) = interpret(
        "export function w $main() {\n@start\n\thlt\n}\n",
        "hlt.ssa",
        &[],
    );
    assert!(matches!(result, Err(Stop::Undefined(m)) if m.contains("hlt")));
}

#[test]
fn a_structure_copied_with_its_padding_keeps_its_written_bytes() {
    // `{ l, s }` has 4 bytes of padding; C front ends copy it as two
    // `l`s, the second half-written, passed through a `copy` and a phi.
    let copy = "%p =l alloc8 16\n\tstorel 5, %p\n\t%p8 =l add %p, 8\n\
                \tstores s_2.5, %p8\n\t%q =l alloc8 16\n\t%a =l loadl %p\n\
                \tstorel %a, %q\n\t%b =l loadl %p8\n\t%c =l copy %b\n\tjmp @next\n\
                @next\n\t%d =l phi @start %c\n\t%q8 =l add %q, 8\n\tstorel %d, %q8\n";
    let program = |read: &str| {
        format!(
            "data $fmt = {{ b \"%lld %g\\n\", b 0 }}\n\
             export function w $main() {{\n@start\n\t{copy}{read}\tret 0\n}}\n"
        )
    };
    let (result, out) = interpret(
        &program(
            "\t%n =l loadl %q\n\t%f =s loads %q8\n\t%g =d exts %f\n\
             \tcall $printf(l $fmt, ..., l %n, d %g)\n",
        ),
        "padding.ssa",
        &[],
    );
    assert_eq!((result, out.as_str()), (Ok(0), "5 2.5\n"));
    // The padding itself is still never written.
    let (result, _) = interpret(
        &program(
            "\t%q12 =l add %q, 12\n\t%x =w loadw %q12\n\t%y =w add %x, 1\n\tstorew %y, %q\n\
                  \t%z =w loadw %q\n\tcall $printf(l $fmt, ..., w %z, d d_0)\n",
        ),
        "padding.ssa",
        &[],
    );
    assert!(
        matches!(&result, Err(Stop::Undefined(m)) if m.contains("never written")),
        "{result:?}"
    );
}

/// Printing an address as a number shows where the interpreter placed
/// things, which no target shares: the run stops as unsupported.
#[test]
fn printing_an_address_is_not_compared() {
    let text = "data $d = { l 1 }\ndata $f = { b \"%ld %s\", b 0 }\ndata $s = { b \"x\", b 0 }\n\
                export function w $main() {\n@start\n\t%a =l add $d, 8\n\
                \tcall $printf(l $f, ..., l %a, l $s)\n\tret 0\n}\n";
    let (result, _) = interpret(text, "address.ssa", &[]);
    assert!(
        matches!(&result, Err(Stop::Unsupported(m)) if m.contains("prints an address")),
        "{result:?}"
    );
    // A string argument is an address too, and fine.
    let text = text.replace("%ld %s", "%s").replace("l %a, l $s", "l $s");
    let (result, out) = interpret(&text, "string.ssa", &[]);
    assert_eq!((result, out.as_str()), (Ok(0), "x"));
}

/// Calls nest 30,000 deep whatever the caller's stack; deeper is a
/// limit, not a crash.
#[test]
fn deep_recursion_runs_and_runaway_recursion_is_a_limit() {
    let program = |n: u32| {
        format!(
            "function l $down(l %n) {{\n@start\n\tjnz %n, @more, @done\n@more\n\t%m =l sub %n, 1\n\
             \t%r =l call $down(l %m)\n\t%s =l add %r, 1\n\tret %s\n@done\n\tret 0\n}}\n\
             export function w $main() {{\n@start\n\t%r =l call $down(l {n})\n\t%w =w copy %r\n\
             \t%x =w and %w, 255\n\tret %x\n}}\n"
        )
    };
    let (result, _) = interpret(&program(29_000), "deep.ssa", &[]);
    assert_eq!(result, Ok(29_000 % 256));
    let (result, _) = interpret(&program(1_000_000), "runaway.ssa", &[]);
    assert!(
        matches!(&result, Err(Stop::Limit(m)) if m.contains("nested")),
        "{result:?}"
    );
}

/// Bit operations on an address are compared only where their result
/// does not depend on where the allocation is placed.
#[test]
fn bitwise_operations_on_addresses_depend_on_placement() {
    for (body, independent) in [
        ("%q =l and %p, -16", true),
        ("%q =l and %p, 15", true),
        ("%q =l xor %p, 8", true),
        ("%q =l or %p, 3", true),
        ("%q =l xor %p, 16", false),
        ("%q =l and %p, -32", false),
        ("%q =l and %p, 4294967295", false),
        ("%q =l or %p, 64", false),
        ("%q =l xor %p, %p", false),
        // Just before the allocation is still its address.
        ("%r =l sub %p, 8\n\t%q =l xor %r, 16", false),
    ] {
        let text = format!(
            "export function w $main() {{\n@start\n\t%p =l alloc16 32\n\t{body}\n\tret 0\n}}\n"
        );
        let (result, _) = interpret(&text, "bits.ssa", &[]);
        match result {
            Ok(0) => assert!(independent, "{body}"),
            Err(Stop::Unsupported(m)) => {
                assert!(!independent && m.contains("placed"), "{body}: {m}")
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

/// A qsort whose result depends on the C library's algorithm is
/// reported: a comparator that is not an ordering, or different elements
/// that compare equal.
#[test]
fn qsort_with_an_order_c_leaves_open_is_reported() {
    for (body, what) in [
        // Elements differ but compare equal when their signs agree.
        (
            "%s =w csltw %x, 0\n\t%t =w csltw %y, 0\n\t%r =w sub %s, %t",
            "compare equal but differ",
        ),
        // a < b and b < a.
        ("%r =w copy -1", "not an ordering"),
        // A proper ordering.
        (
            "%s =w csltw %x, %y\n\t%t =w csgtw %x, %y\n\t%r =w sub %t, %s",
            "",
        ),
    ] {
        let text = format!(
            "data $a = {{ w 5 -3 9 -7 }}\n\
             function w $cmp(l %p, l %q) {{\n@start\n\t%x =w loadw %p\n\t%y =w loadw %q\n\t{body}\n\tret %r\n}}\n\
             export function w $main() {{\n@start\n\tcall $qsort(l $a, l 4, l 4, l $cmp)\n\
             \t%f =w loadw $a\n\tret %f\n}}\n"
        );
        let (result, _) = interpret(&text, "qsort.ssa", &[]);
        match result {
            Ok(status) => assert!(what.is_empty() && status == 249, "{body}: {status}"),
            Err(Stop::Undefined(m)) => assert!(!what.is_empty() && m.contains(what), "{m}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

/// Reading more variadic arguments than were passed, of either class,
/// from registers or from memory, is reported; so is printf reading an
/// argument of the other class.
#[test]
fn reading_past_the_variadic_arguments_is_reported() {
    let variadic = "function l $sum(w %n, ...) {\n@start\n\t%ap =l alloc8 24\n\tvastart %ap\n\
                    \t%a =l vaarg %ap\n\t%b =d vaarg %ap\n\t%c =l vaarg %ap\n\tret %a\n}\n";
    let many_ints = (0..7).map(|i| format!(", l {i}")).collect::<String>();
    for (args, ok) in [
        ("l 1, d d_2, l 3", true),
        ("d d_2, l 1, l 3", true),
        ("l 1, l 3", false),
        ("l 1, d d_2", false),
        (&format!("d d_2{many_ints}")[..], true),
    ] {
        let text = format!(
            "{variadic}export function w $main() {{\n@start\n\t%r =l call $sum(w 0, ..., {args})\n\tret 0\n}}\n"
        );
        let (result, _) = interpret(&text, "va.ssa", &[]);
        match result {
            Ok(0) => assert!(ok, "{args}"),
            Err(Stop::Undefined(m)) => {
                assert!(!ok, "{args}: {m}");
                assert!(m.contains("past the last variadic argument"), "{m}");
            }
            other => panic!("{args}: {other:?}"),
        }
    }
    // Seven integers after `%n`: the last two come from memory, and an
    // eighth read goes past them.
    let past_memory = "function l $last(w %n, ...) {\n@start\n\t%ap =l alloc8 24\n\tvastart %ap\n\
                       \t%i =w copy 0\n@loop\n\t%v =l vaarg %ap\n\t%i =w add %i, 1\n\
                       \t%more =w csltw %i, %n\n\tjnz %more, @loop, @done\n@done\n\tret %v\n}\n";
    for (n, ok) in [(7, true), (8, false)] {
        let text = format!(
            "{past_memory}export function w $main() {{\n@start\n\t%r =l call $last(w {n}, ...{many_ints})\n\
             \t%w =w copy %r\n\tret %w\n}}\n"
        );
        let (result, _) = interpret(&text, "va.ssa", &[]);
        match result {
            Ok(6) => assert!(ok),
            Err(Stop::Undefined(m)) => assert!(!ok && m.contains("past the last"), "{m}"),
            other => panic!("{n}: {other:?}"),
        }
    }
    let text = "data $f = { b \"%d\", b 0 }\nexport function w $main() {\n@start\n\
                \tcall $printf(l $f, ..., d d_1)\n\tret 0\n}\n";
    let (result, _) = interpret(text, "printf.ssa", &[]);
    assert!(
        matches!(&result, Err(Stop::Undefined(m)) if m.contains("floating-point")),
        "{result:?}"
    );
}

#[test]
fn semantics_skc_defines_hold() {
    let text = r#"
data $fmt = { b "%d %d %ld %d %d %ld %d %d %d\n", b 0 }
export function w $main() {
@start
	%a =w shl 1, 33
	%b =w sar -8, 65
	%c =l dtosi d_1e300
	%d =w dtosi d_-1e300
	%nan =d div d_0, d_0
	%e =w dtosi %nan
	%f =l dtoui d_-5
	%g =w cned %nan, %nan
	%h =w ceqd %nan, %nan
	%big =l copy 4294967298
	%i =w add %big, 0
	call $printf(l $fmt, ..., w %a, w %b, l %c, w %d, w %e, l %f, w %g, w %h, w %i)
	ret 0
}
"#;
    let (result, out) = interpret(text, "defined.ssa", &[]);
    assert_eq!(result, Ok(0));
    assert_eq!(out, "2 -4 9223372036854775807 -2147483648 0 0 1 0 2\n");
}

/// The expected stdout and exit status in a corpus program's comments,
/// unless it needs a C driver (which the interpreter cannot run) or its
/// expectations hold on wasm32 only (`# targets: wasm32`: natively what
/// it does is undefined, and the interpreter says so). Native-only
/// programs are compared: the interpreter is LP64 System V, as native is.
fn corpus_expectations(text: &str) -> Option<(String, i32)> {
    if text.lines().any(|l| {
        l.trim() == "# >>> driver"
            || l.strip_prefix("# targets:")
                .is_some_and(|t| !t.split("--").next().unwrap_or("").contains("native"))
    }) {
        return None;
    }
    let mut output = String::new();
    let mut inside = false;
    let mut exit = 0;
    for line in text.lines() {
        match line.trim_end() {
            "# >>> output" => inside = true,
            "# <<<" if inside => inside = false,
            l if inside => {
                output.push_str(l.strip_prefix("# ").unwrap_or(""));
                output.push('\n');
            }
            l => {
                if let Some(code) = l.strip_prefix("# exit: ") {
                    // `trap` programs stop abnormally: not comparable.
                    exit = code.trim().parse().ok()?;
                }
            }
        }
    }
    Some((output, exit))
}

#[test]
fn corpus_programs_without_a_c_driver_print_what_they_expect() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ssa"))
        .collect();
    paths.sort();
    let (mut passed, mut not_comparable, mut unsupported) = (0, 0, Vec::new());
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("program");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some((expected, exit)) = corpus_expectations(&text) else {
            not_comparable += 1;
            continue;
        };
        let (result, out) = interpret(&text, &name, &["a", "b", "c"]);
        match result {
            Err(Stop::Unsupported(m)) => unsupported.push(format!("{name}: {m}")),
            Ok(status) if status == exit && out == expected => passed += 1,
            other => failures.push(format!(
                "{name}: {other:?}, expected exit {exit}\n--- printed\n{out}--- expected\n{expected}"
            )),
        }
    }
    eprintln!(
        "corpus: {passed} passed; {not_comparable} need a C driver or hold on some targets \
         only; {} use what the interpreter lacks:\n  {}",
        unsupported.len(),
        unsupported.join("\n  ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(passed > 0);
}
