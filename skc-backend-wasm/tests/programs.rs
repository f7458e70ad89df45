//! IL programs compiled to wasm32 objects, validated, linked with wasm-ld
//! (at -O0 and through wasm-opt at -O2) and run under wasmtime. The
//! expected output is what the same programs print natively (QBE + cc),
//! except for the float-to-int saturation corners, which follow the IR's
//! defined semantics (saturate, NaN to 0) rather than x86's.

mod common;

fn check(name: &str, text: &str, c: &[&str], expected: &str, code: i32) {
    let obj = common::compile_il(text, name);
    let run = common::link_and_run(&obj, name, c, &[]);
    assert_eq!(run.stdout, expected, "stdout of {name}");
    assert_eq!(run.code, code, "exit code of {name}");
}

#[test]
fn every_instruction_class() {
    check(
        "arith",
        include_str!("programs/arith.ssa"),
        &[],
        "999926 -1000080 -77000231 -12987 4 142857 219 999939 -13 -999952 -10 536870902 8000024\n\
         81985529215252328 -81985529217721462 655884233733217527 -66408327143 534814 1844674407370831704 49 81985529216305513 -1053185 -81985529217358698 -154321 2305843009213539631 655884233731895160\n\
         cmp 0 1 1 0 1 1 1 0 1 1\n\
         ext -56 255 -25536 65535 -77 4294967219 -128\n\
         flt 2.250 3.250 -1.375 -5.500 3.750 -5 3 -1 -77.0 3.0 -1234567.0 2.8\n\
         mem -56 200 -25536 40000 -5 -5 -6 -5 1.50 2.25 3fc00000\n",
        1,
    );
}

#[test]
fn control_flow_shapes_and_phis() {
    check(
        "control",
        include_str!("programs/control.ssa"),
        &[],
        "nest 428\nswitch 4455\nirreducible 507446\nswap 1221\ncycle 123231\nprimes 168\n",
        0,
    );
}

#[test]
fn calls_varargs_pointers_allocs_and_relocations() {
    check(
        "calls",
        include_str!("programs/calls.ssa"),
        &[],
        "fib 6765\nack 9\nvasum 1000000000094\nindirect 42\ntable 89\ntable-l 42\nalloc 290\n\
         01234X6789abcdef 0\nreloc 305020\n",
        0,
    );
}

#[test]
fn aggregates_by_value_and_variadic_calls_with_c() {
    check(
        "agg",
        include_str!("programs/agg.ssa"),
        &[include_str!("programs/agg_driver.c")],
        "il: pair 5 6 sum 61 big 3000000000000 3.25 -3 one 2.50 5.00 chars 66\n\
         c: swap 4 3 (orig 3 4) half 4.50 bigsum 109 make 5 0.50 15\n\
         c: vmix 109 40000001003\n",
        0,
    );
}

#[test]
fn float_saturation_and_nan_rules() {
    check(
        "floats",
        include_str!("programs/floats.ssa"),
        &[],
        "2147483647 -2147483648 0 0 4294967295 9223372036854775807 0 -9223372036854775808 \
         18446744073709551615 | 0 1 0 0 0 1 1 0 1\n",
        0,
    );
}

#[test]
fn irreducible_loops_with_several_entries() {
    check(
        "irreducible",
        include_str!("programs/irreducible.ssa"),
        &[],
        "tri 22196\nnested 736033\n",
        0,
    );
}

/// IL as cproc emits it for `from_c.c` (a goto into a loop, a switch, a
/// hash loop on unsigned longs, float accumulation), printing only
/// through `putchar` so no pointer crosses into the C library.
#[test]
fn c_compiler_output_with_goto_into_a_loop() {
    check(
        "from_c",
        include_str!("programs/from_c.ssa"),
        &[],
        "844039\n2024073654\n2667656488986724605\n54597\n",
        39,
    );
}

#[test]
fn floats_copied_as_integers_keep_their_bits() {
    // Native skc prints the same two lines.
    check(
        "float_moves",
        include_str!("programs/float_moves.ssa"),
        &[],
        "7ff0000000000001 7f800001 1 1\n-3.0000 9999999997.6250 4620130267728707584\n",
        0,
    );
}
