//! Aggregates, sub-word integers and variadic calls crossing the boundary
//! between IL and C compiled by clang, in both directions, at -O0 and -O2.

mod common;

/// One aggregate shape: the IL type body, the equivalent C type, how C
/// fills one in from a seed `k`, and how C compares two.
struct Shape {
    name: &'static str,
    il: &'static str,
    c: &'static str,
    init: &'static str,
    eq: &'static str,
}

const SHAPES: &[Shape] = &[
    Shape {
        name: "w",
        il: "{ w }",
        c: "struct { int a; }",
        init: "t.a = 10 * k + 1;",
        eq: "a.a == b.a",
    },
    Shape {
        name: "b",
        il: "{ b }",
        c: "struct { signed char a; }",
        init: "t.a = k + 3;",
        eq: "a.a == b.a",
    },
    Shape {
        name: "ll",
        il: "{ l, l }",
        c: "struct { long a, b; }",
        init: "t.a = k * 1000000007L; t.b = -k;",
        eq: "a.a == b.a && a.b == b.b",
    },
    Shape {
        name: "dd",
        il: "{ d, d }",
        c: "struct { double a, b; }",
        init: "t.a = k + 0.5; t.b = k * 3.25;",
        eq: "a.a == b.a && a.b == b.b",
    },
    Shape {
        name: "wd",
        il: "{ w, d }",
        c: "struct { int a; double b; }",
        init: "t.a = k + 7; t.b = k - 0.125;",
        eq: "a.a == b.a && a.b == b.b",
    },
    Shape {
        name: "dl",
        il: "{ d, l }",
        c: "struct { double a; long b; }",
        init: "t.a = k * 1.5; t.b = (long)k << 40;",
        eq: "a.a == b.a && a.b == b.b",
    },
    Shape {
        name: "bbb",
        il: "{ b, b, b }",
        c: "struct { char a, b, c; }",
        init: "t.a = k; t.b = k + 1; t.c = k + 2;",
        eq: "a.a == b.a && a.b == b.b && a.c == b.c",
    },
    Shape {
        name: "sss",
        il: "{ s, s, s }",
        c: "struct { float a, b, c; }",
        init: "t.a = k + 0.25f; t.b = -k; t.c = k * 8.5f;",
        eq: "a.a == b.a && a.b == b.b && a.c == b.c",
    },
    Shape {
        name: "ss",
        il: "{ s, s }",
        c: "struct { float a, b; }",
        init: "t.a = k + 0.75f; t.b = k * 2.5f;",
        eq: "a.a == b.a && a.b == b.b",
    },
    Shape {
        name: "hs",
        il: "{ h, s }",
        c: "struct { short a; float b; }",
        init: "t.a = -k; t.b = k / 4.0f;",
        eq: "a.a == b.a && a.b == b.b",
    },
    Shape {
        name: "ls",
        il: "{ l, s }",
        c: "struct { long a; float b; }",
        init: "t.a = k * 99; t.b = k + 0.5f;",
        eq: "a.a == b.a && a.b == b.b",
    },
    Shape {
        name: "lll",
        il: "{ l, l, l }",
        c: "struct { long a, b, c; }",
        init: "t.a = k; t.b = k * 2; t.c = k * 3;",
        eq: "a.a == b.a && a.b == b.b && a.c == b.c",
    },
    Shape {
        name: "big",
        il: "{ l, w, d, b 12 }",
        c: "struct { long a; int b; double c; char d[12]; }",
        init: "t.a = k; t.b = k + 1; t.c = k / 8.0; for (int i = 0; i < 12; i++) t.d[i] = k + i;",
        eq: "a.a == b.a && a.b == b.b && a.c == b.c && !memcmp(a.d, b.d, 12)",
    },
    Shape {
        name: "un",
        il: "{ { l } { d, d } }",
        c: "union { long l; struct { double a, b; } d; }",
        init: "t.d.a = k + 0.5; t.d.b = k * 4.0;",
        eq: "!memcmp(&a, &b, sizeof a)",
    },
    Shape {
        name: "opq",
        il: "align 4 { 12 }",
        c: "struct __attribute__((aligned(4))) { unsigned char c[12]; }",
        init: "for (int i = 0; i < 12; i++) t.c[i] = k * 16 + i;",
        eq: "!memcmp(&a, &b, sizeof a)",
    },
];

const LONGS: &str = "l %p1, l %p2, l %p3, l %p4, l %p5";
const DOUBLES: &str = "d %f1, d %f2, d %f3, d %f4, d %f5, d %f6, d %f7";

fn il_for(s: &Shape) -> String {
    let n = s.name;
    format!(
        "type :{n} = {il}
export function :{n} $il_swap_{n}(:{n} %a, :{n} %b) {{
@start
\tret %b
}}
export function :{n} $il_regs_{n}({LONGS}, {DOUBLES}, :{n} %a, w %tail) {{
@start
\tret %a
}}
export function w $il_tail_{n}({LONGS}, {DOUBLES}, :{n} %a, w %tail) {{
@start
\t%s =l add %p1, %p5
\t%t =l extsw %tail
\t%u =l add %s, %t
\t%f =d add %f1, %f7
\t%fi =l dtosi %f
\t%r =l add %u, %fi
\tret %r
}}
export function $il_calls_{n}(l %a, l %b, l %o1, l %o2) {{
@start
\t%r =:{n} call $c_swap_{n}(:{n} %a, :{n} %b)
\tblit %r, %o1, SIZE_{n}
\t%s =:{n} call $c_regs_{n}(l 1, l 2, l 3, l 4, l 5, d d_0.5, d d_1.5, d d_2.5, d d_3.5, d d_4.5, d d_5.5, d d_6.5, :{n} %a, w 77)
\tblit %s, %o2, SIZE_{n}
\tret
}}
",
        il = s.il
    )
}

fn c_for(s: &Shape) -> String {
    let n = s.name;
    format!(
        "typedef {c} T_{n};
static int eq_{n}(T_{n} a, T_{n} b) {{ return {eq}; }}
static T_{n} mk_{n}(int k) {{ T_{n} t; memset(&t, 0, sizeof t); {init} return t; }}
T_{n} il_swap_{n}(T_{n} a, T_{n} b);
T_{n} il_regs_{n}(long, long, long, long, long, double, double, double, double, double, double, double, T_{n} a, int tail);
int il_tail_{n}(long, long, long, long, long, double, double, double, double, double, double, double, T_{n} a, int tail);
void il_calls_{n}(T_{n} *a, T_{n} *b, T_{n} *o1, T_{n} *o2);
T_{n} c_swap_{n}(T_{n} a, T_{n} b) {{
  if (!eq_{n}(a, mk_{n}(1))) puts(\"{n}: c_swap got a wrong first argument\");
  return b;
}}
T_{n} c_regs_{n}(long p1, long p2, long p3, long p4, long p5, double f1, double f2, double f3, double f4, double f5, double f6, double f7, T_{n} a, int tail) {{
  if (p1 != 1 || p2 != 2 || p3 != 3 || p4 != 4 || p5 != 5) puts(\"{n}: c_regs longs wrong\");
  if (f1 != 0.5 || f2 != 1.5 || f3 != 2.5 || f4 != 3.5 || f5 != 4.5 || f6 != 5.5 || f7 != 6.5) puts(\"{n}: c_regs doubles wrong\");
  if (tail != 77) puts(\"{n}: c_regs tail wrong\");
  return a;
}}
static void test_{n}(void) {{
  T_{n} x = mk_{n}(1), y = mk_{n}(2), o1, o2;
  int ok = eq_{n}(il_swap_{n}(x, y), y);
  ok &= eq_{n}(il_regs_{n}(1, 2, 3, 4, 5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, x, 77), x);
  ok &= il_tail_{n}(1, 2, 3, 4, 5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, x, 77) == 1 + 5 + 77 + 7;
  il_calls_{n}(&x, &y, &o1, &o2);
  ok &= eq_{n}(o1, y) && eq_{n}(o2, x);
  printf(\"{n} %s\\n\", ok ? \"ok\" : \"FAIL\");
}}
",
        c = s.c,
        eq = s.eq,
        init = s.init
    )
}

fn sizeof_c(s: &Shape) -> String {
    format!("printf(\"{} %zu\\n\", sizeof(T_{}));", s.name, s.name)
}

#[test]
fn aggregates_cross_the_boundary_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    // The IL needs each type's size for `blit`; take it from C so the two
    // layouts are also checked against each other.
    let mut c = String::from("#include <stdio.h>\n#include <string.h>\n");
    for s in SHAPES {
        c.push_str(&format!("typedef {} T_{};\n", s.c, s.name));
    }
    c.push_str("int main(void) {\n");
    for s in SHAPES {
        c.push_str(&sizeof_c(s));
    }
    c.push_str("return 0; }\n");
    let probe = common::build(dir.path(), "sizes", "", &[&c], "-O0", false);
    let sizes = common::run(&probe, &[]);

    let mut il = String::new();
    let mut c = String::from("#include <stdio.h>\n#include <string.h>\n");
    let mut expected = String::new();
    for s in SHAPES {
        let size = sizes
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{} ", s.name)))
            .unwrap();
        il.push_str(&il_for(s).replace(&format!("SIZE_{}", s.name), size));
        c.push_str(&c_for(s));
        expected.push_str(&format!("{} ok\n", s.name));
    }
    c.push_str("int main(void) {\n");
    for s in SHAPES {
        c.push_str(&format!("test_{}();\n", s.name));
    }
    c.push_str("return 0; }\n");
    common::check_both("aggregates", &il, &[&c], &expected);
}

#[test]
fn sub_word_arguments_and_results_are_extended() {
    let il = "
export function sb $il_sb(sb %a, ub %b, sh %c, uh %d) {
@start
\t%x =w add %a, %b
\t%y =w add %c, %d
\t%z =w add %x, %y
\tret %z
}
export function w $il_call_c() {
@start
\t%r =w call $c_sub(sb -1, ub 255, sh -2, uh 65535)
\t%s =w call $c_ret_ub()
\t%t =w extub %s
\t%u =w add %r, %t
\tret %u
}
";
    let c = r#"
#include <stdio.h>
signed char il_sb(signed char, unsigned char, short, unsigned short);
int il_call_c(void);
int c_sub(signed char a, unsigned char b, short c, unsigned short d) {
  return a + b + c + d;
}
unsigned char c_ret_ub(void) { return 200; }
int main(void) {
  printf("%d\n", il_sb(-1, 255, -2, 65535));
  printf("%d\n", il_call_c());
  return 0;
}
"#;
    // -1 + 255 - 2 + 65535 = 65787, truncated to a signed byte: -5.
    common::check_both("subword", il, &[c], "-5\n65987\n");
}

#[test]
fn variadic_calls_both_ways() {
    let il = "
data $fmt = { b \"%d %ld %.2f %s|\", b 0 }
data $str = { b \"hi\", b 0 }
export function w $il_sum(w %n, ...) {
@start
\t%ap =l alloc8 24
\tvastart %ap
\t%i =w copy 0
\t%acc =d copy d_0
\tjmp @loop
@loop
\t%i1 =w phi @start %i, @body %i2
\t%acc1 =d phi @start %acc, @body %acc2
\t%c =w csltw %i1, %n
\tjnz %c, @body, @done
@body
\t%x =d vaarg %ap
\t%acc2 =d add %acc1, %x
\t%i2 =w add %i1, 1
\tjmp @loop
@done
\t%r =w dtosi %acc1
\tret %r
}
export function w $il_vprint(l %fmt, ...) {
@start
\t%ap =l alloc8 24
\tvastart %ap
\t%r =w call $vprintf(l %fmt, l %ap)
\tret %r
}
export function $il_printf() {
@start
\t%r =w call $printf(l $fmt, ..., w -3, l 1099511627776, d d_2.5, l $str)
\tret
}
";
    let c = r#"
#include <stdio.h>
int il_sum(int n, ...);
int il_vprint(const char *fmt, ...);
void il_printf(void);
int main(void) {
  printf("%d\n", il_sum(10, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.5));
  il_vprint("%d %s %ld %g\n", 42, "x", -5L, 0.25);
  il_printf();
  printf("\n");
  return 0;
}
"#;
    common::check_both(
        "varargs",
        il,
        &[c],
        "55\n42 x -5 0.25\n-3 1099511627776 2.50 hi|\n",
    );
}
