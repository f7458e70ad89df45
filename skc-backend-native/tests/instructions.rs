//! Every instruction class, checked against C computing the defined
//! semantics independently, at -O0 and -O2.

mod common;

use skc_backend_native::dialect::Dialect;

/// IL functions under test; each takes its operands as arguments so that
/// nothing is folded away before the code under test runs.
const IL: &str = r#"
export function w $shlw(w %a, w %b) {
@start
	%r =w shl %a, %b
	ret %r
}
export function w $shrw(w %a, w %b) {
@start
	%r =w shr %a, %b
	ret %r
}
export function w $sarw(w %a, w %b) {
@start
	%r =w sar %a, %b
	ret %r
}
export function l $shll(l %a, w %b) {
@start
	%r =l shl %a, %b
	ret %r
}
export function l $shrl(l %a, w %b) {
@start
	%r =l shr %a, %b
	ret %r
}
export function l $sarl(l %a, w %b) {
@start
	%r =l sar %a, %b
	ret %r
}
export function w $shl_const(w %a) {
@start
	%r =w shl %a, 35
	ret %r
}
export function w $arith_w(w %a, w %b) {
@start
	%s =w add %a, %b
	%d =w sub %s, %b
	%m =w mul %d, %b
	%q =w div %m, 7
	%r =w rem %m, 7
	%u =w udiv %m, 7
	%v =w urem %m, 7
	%x =w xor %q, %r
	%y =w or %x, %u
	%z =w and %y, %v
	%n =w neg %z
	%t =w add %n, %u
	ret %t
}
export function l $arith_l(l %a, l %b) {
@start
	%s =l add %a, %b
	%m =l mul %s, %b
	%q =l div %m, 13
	%r =l rem %m, 13
	%u =l udiv %m, 13
	%v =l urem %m, 13
	%x =l xor %q, %r
	%y =l or %x, %u
	%z =l and %y, %v
	%n =l neg %z
	%t =l sub %n, %u
	ret %t
}
export function w $low_word(l %a) {
@start
	%r =w add %a, 0
	ret %r
}
export function d $arith_d(d %a, d %b) {
@start
	%s =d add %a, %b
	%m =d mul %s, %b
	%q =d div %m, %a
	%n =d neg %q
	%t =d sub %n, %b
	ret %t
}
export function s $arith_s(s %a, s %b) {
@start
	%s =s add %a, %b
	%m =s mul %s, %b
	%q =s div %m, %a
	%t =s sub %q, %b
	ret %t
}
export function d $int_bits_as_double(d %a) {
@start
	%r =d add %a, 4611686018427387904
	ret %r
}
export function w $fcmp(d %a, d %b) {
@start
	%e =w ceqd %a, %b
	%n =w cned %a, %b
	%le =w cled %a, %b
	%lt =w cltd %a, %b
	%ge =w cged %a, %b
	%gt =w cgtd %a, %b
	%o =w cod %a, %b
	%u =w cuod %a, %b
	%n1 =w shl %n, 1
	%le1 =w shl %le, 2
	%lt1 =w shl %lt, 3
	%ge1 =w shl %ge, 4
	%gt1 =w shl %gt, 5
	%o1 =w shl %o, 6
	%u1 =w shl %u, 7
	%r1 =w or %e, %n1
	%r2 =w or %r1, %le1
	%r3 =w or %r2, %lt1
	%r4 =w or %r3, %ge1
	%r5 =w or %r4, %gt1
	%r6 =w or %r5, %o1
	%r7 =w or %r6, %u1
	ret %r7
}
export function w $fcmp_s(s %a, s %b) {
@start
	%e =w ceqs %a, %b
	%n =w cnes %a, %b
	%lt =w clts %a, %b
	%u =w cuos %a, %b
	%n1 =w shl %n, 1
	%lt1 =w shl %lt, 2
	%u1 =w shl %u, 3
	%r1 =w or %e, %n1
	%r2 =w or %r1, %lt1
	%r3 =w or %r2, %u1
	ret %r3
}
export function l $icmp(l %a, l %b) {
@start
	%slt =l csltl %a, %b
	%ult =l cultl %a, %b
	%sge =l csgel %a, %b
	%ugt =l cugtl %a, %b
	%eq =w ceqw %a, %b
	%eql =l extuw %eq
	%ult1 =l shl %ult, 1
	%sge1 =l shl %sge, 2
	%ugt1 =l shl %ugt, 3
	%eq1 =l shl %eql, 4
	%r1 =l or %slt, %ult1
	%r2 =l or %r1, %sge1
	%r3 =l or %r2, %ugt1
	%r4 =l or %r3, %eq1
	ret %r4
}
export function w $d2w(d %a) {
@start
	%r =w dtosi %a
	ret %r
}
export function w $d2uw(d %a) {
@start
	%r =w dtoui %a
	ret %r
}
export function l $d2l(d %a) {
@start
	%r =l dtosi %a
	ret %r
}
export function l $d2ul(d %a) {
@start
	%r =l dtoui %a
	ret %r
}
export function w $s2w(s %a) {
@start
	%r =w stosi %a
	ret %r
}
export function l $s2ul(s %a) {
@start
	%r =l stoui %a
	ret %r
}
export function d $int2d(w %a, l %b) {
@start
	%x =d swtof %a
	%y =d uwtof %a
	%z =d sltof %b
	%t =d ultof %b
	%s1 =d add %x, %y
	%s2 =d add %z, %t
	%s3 =d add %s1, %s2
	ret %s3
}
export function s $int2s(w %a, l %b) {
@start
	%x =s uwtof %a
	%z =s ultof %b
	%s =s add %x, %z
	ret %s
}
export function d $widen(s %a) {
@start
	%r =d exts %a
	ret %r
}
export function s $narrow(d %a) {
@start
	%r =s truncd %a
	ret %r
}
export function l $bits_d(d %a) {
@start
	%r =l cast %a
	ret %r
}
export function s $bits_w(w %a) {
@start
	%r =s cast %a
	ret %r
}
export function l $exts(w %a) {
@start
	%b =l extsb %a
	%c =l extub %a
	%d =l extsh %a
	%e =l extuh %a
	%f =l extsw %a
	%g =l extuw %a
	%s1 =l add %b, %c
	%s2 =l add %d, %e
	%s3 =l add %f, %g
	%s4 =l add %s1, %s2
	%s5 =l add %s4, %s3
	%w =w extsb %a
	%wl =l extsw %w
	%s6 =l xor %s5, %wl
	ret %s6
}
export function l $loads(l %p) {
@start
	%a =l loadsb %p
	%b =l loadub %p
	%c =l loadsh %p
	%d =l loaduh %p
	%e =l loadsw %p
	%f =l loaduw %p
	%g =w loadsb %p
	%h =w loaduh %p
	%gl =l extsw %g
	%hl =l extuw %h
	%s1 =l add %a, %b
	%s2 =l add %c, %d
	%s3 =l add %e, %f
	%s4 =l add %s1, %s2
	%s5 =l add %s4, %s3
	%s6 =l mul %s5, 3
	%s7 =l add %s6, %gl
	%s8 =l add %s7, %hl
	ret %s8
}
export function $stores(l %p, w %v, l %q) {
@start
	storeb %v, %p
	%p1 =l add %p, 1
	storeh %v, %p1
	%p3 =l add %p, 3
	storew %v, %p3
	%p7 =l add %p, 7
	storel %q, %p7
	%p15 =l add %p, 15
	%f =s cast %v
	stores %f, %p15
	%p19 =l add %p, 19
	%d =d cast %q
	stored %d, %p19
	ret
}
export function $blit_overlap(l %p) {
@start
	%q =l add %p, 3
	blit %p, %q, 10
	ret
}
export function l $blit_between_slots(l %x, l %y) {
@start
	%a =l alloc8 16
	%b =l alloc8 16
	storel %x, %a
	%a8 =l add %a, 8
	storel %y, %a8
	blit %a, %b, 16
	%b8 =l add %b, 8
	%v =l loadl %b8
	%w =l loadl %b
	%r =l sub %v, %w
	ret %r
}
export function l $dyn_alloc(w %n) {
@start
	%i0 =w copy 0
	%acc0 =l copy 0
@loop
	%i =w phi @start %i0, @loop %i1
	%acc =l phi @start %acc0, @loop %acc1
	%sz =l extsw %i
	%sz8 =l add %sz, 8
	%buf =l alloc8 %sz8
	storel %sz, %buf
	%v =l loadl %buf
	%acc1 =l add %acc, %v
	%i1 =w add %i, 1
	%c =w csltw %i1, %n
	jnz %c, @loop, @done
@done
	ret %acc1
}
export function l $walk(l %base, w %n) {
@start
	%end0 =l extsw %n
	%end1 =l mul %end0, 4
	%end =l add %base, %end1
	jmp @head
@head
	%p =l phi @start %base, @body %p1
	%s =l phi @start 0, @body %s1
	%c =w cultl %p, %end
	jnz %c, @body, @done
@body
	%v =w loadsw %p
	%vl =l extsw %v
	%s1 =l add %s, %vl
	%p1 =l add %p, 4
	jmp @head
@done
	ret %s
}
export function l $pick(w %c, l %a) {
@start
	jnz %c, @yes, @no
@yes
	%q =l add %a, 8
	jmp @join
@no
	jmp @join
@join
	%r =l phi @yes %q, @no 0
	jnz %r, @load, @zero
@load
	%v =l loadl %r
	ret %v
@zero
	ret -1
}
function w $env_fn(env %e, w %x) {
@start
	%v =w loadw %e
	%r =w add %v, %x
	ret %r
}
function w $no_env(w %x) {
@start
	%r =w mul %x, 3
	ret %r
}
export function w $use_env(l %cell, w %x) {
@start
	%a =w call $env_fn(env %cell, w %x)
	%b =w call $no_env(env %cell, w %x)
	%r =w add %a, %b
	ret %r
}
export function w $indirect(l %fp, w %x) {
@start
	%r =w call %fp(w %x)
	ret %r
}
"#;

const DRIVER: &str = r#"
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int shlw(int, int); int shrw(int, int); int sarw(int, int);
long shll(long, int); long shrl(long, int); long sarl(long, int);
int shl_const(int);
int arith_w(int, int); long arith_l(long, long); int low_word(long);
double arith_d(double, double); float arith_s(float, float);
double int_bits_as_double(double);
int fcmp(double, double); int fcmp_s(float, float); long icmp(long, long);
int d2w(double); unsigned d2uw(double); long d2l(double); unsigned long d2ul(double);
int s2w(float); unsigned long s2ul(float);
double int2d(int, long); float int2s(int, long);
double widen(float); float narrow(double);
long bits_d(double); float bits_w(int);
long exts(int); long loads(void *); void stores(void *, int, long);
void blit_overlap(void *); long blit_between_slots(long, long); long dyn_alloc(int); long walk(int *, int);
long pick(int, long *); int use_env(int *, int); int indirect(int (*)(int), int);

static int failures, checks;
#define CHECK(name, got, want) do { checks++; if ((got) != (want)) { failures++; \
  printf("FAIL %s: got %lld want %lld\n", name, (long long)(got), (long long)(want)); } } while (0)
#define CHECKF(name, got, want) do { checks++; double g_ = (got), w_ = (want); \
  if (memcmp(&g_, &w_, sizeof g_)) { failures++; printf("FAIL %s: got %a want %a\n", name, g_, w_); } } while (0)

static int sat_i32(double x) { if (x != x) return 0; if (x >= 2147483648.0) return INT_MAX; if (x <= -2147483649.0) return INT_MIN; return (int)x; }
static unsigned sat_u32(double x) { if (x != x || x <= -1.0) return 0; if (x >= 4294967296.0) return UINT_MAX; return (unsigned)x; }
static long sat_i64(double x) { if (x != x) return 0; if (x >= 9223372036854775808.0) return LONG_MAX; if (x < -9223372036854775808.0) return LONG_MIN; return (long)x; }
static unsigned long sat_u64(double x) { if (x != x || x <= -1.0) return 0; if (x >= 18446744073709551616.0) return ULONG_MAX; return (unsigned long)x; }
static long fcmp_ref(double a, double b) {
  return (a == b) | (!(a == b) << 1) | ((a <= b) << 2) | ((a < b) << 3) | ((a >= b) << 4)
    | ((a > b) << 5) | ((!isnan(a) && !isnan(b)) << 6) | ((isnan(a) || isnan(b)) << 7);
}
static int times2(int x) { return 2 * x; }

int main(void) {
  int ints[] = {0, 1, -1, 7, -8, 123456789, INT_MIN, INT_MAX};
  int amounts[] = {0, 1, 5, 31, 32, 33, 63, 64, -1, 100};
  for (unsigned i = 0; i < sizeof ints / sizeof *ints; i++)
    for (unsigned j = 0; j < sizeof amounts / sizeof *amounts; j++) {
      int a = ints[i], s = amounts[j];
      long l = (long)a * 0x100000001L;
      CHECK("shlw", shlw(a, s), (int)((unsigned)a << (s & 31)));
      CHECK("shrw", shrw(a, s), (int)((unsigned)a >> (s & 31)));
      CHECK("sarw", sarw(a, s), a >> (s & 31));
      CHECK("shll", shll(l, s), (long)((unsigned long)l << (s & 63)));
      CHECK("shrl", shrl(l, s), (long)((unsigned long)l >> (s & 63)));
      CHECK("sarl", sarl(l, s), l >> (s & 63));
    }
  CHECK("shl_const", shl_const(3), 24);
  for (int a = -50; a <= 50; a += 7)
    for (int b = -9; b <= 9; b += 4) {
      int m = (int)((unsigned)a * (unsigned)b);
      int q = m / 7, r = m % 7; unsigned u = (unsigned)m / 7, v = (unsigned)m % 7;
      int z = (int)(((unsigned)(q ^ r) | u) & v);
      CHECK("arith_w", arith_w(a, b), (int)((unsigned)-z + u));
      long la = a * 1000003L, lb = b * 77L, ls = la + lb, lm = ls * lb;
      long lq = lm / 13, lr = lm % 13; unsigned long lu = (unsigned long)lm / 13, lv = (unsigned long)lm % 13;
      long lz = (long)(((unsigned long)(lq ^ lr) | lu) & lv);
      CHECK("arith_l", arith_l(la, lb), (long)((unsigned long)-lz - lu));
      CHECKF("arith_d", arith_d(a + 0.5, b * 0.25), -(((a + 0.5) + b * 0.25) * (b * 0.25) / (a + 0.5)) - b * 0.25);
      float fa = a + 0.5f, fb = b * 0.25f; float fs = fa + fb; float fm = fs * fb; float fq = fm / fa;
      CHECKF("arith_s", arith_s(fa, fb), (double)(float)(fq - fb));
    }
  CHECK("low_word", low_word(0x123456789abL), (int)0x456789ab);
  CHECKF("int_bits_as_double", int_bits_as_double(1.25), 3.25);
  double fv[] = {0.0, -0.0, 1.0, -2.5, INFINITY, -INFINITY, NAN};
  for (unsigned i = 0; i < 7; i++)
    for (unsigned j = 0; j < 7; j++) {
      CHECK("fcmp", fcmp(fv[i], fv[j]), fcmp_ref(fv[i], fv[j]));
      float a = fv[i], b = fv[j];
      CHECK("fcmp_s", fcmp_s(a, b), (a == b) | ((a != b) << 1) | ((a < b) << 2) | ((isnan(a) || isnan(b)) << 3));
    }
  long lv[] = {0, 1, -1, LONG_MIN, LONG_MAX, 0x100000000L, 42};
  for (unsigned i = 0; i < 7; i++)
    for (unsigned j = 0; j < 7; j++) {
      long a = lv[i], b = lv[j];
      long want = (a < b) | (((unsigned long)a < (unsigned long)b) << 1) | ((a >= b) << 2)
        | (((unsigned long)a > (unsigned long)b) << 3) | (((int)a == (int)b) << 4);
      CHECK("icmp", icmp(a, b), want);
    }
  double conv[] = {0.0, -0.0, 0.9, -0.9, 1.5, -1.5, 2147483647.5, 2147483648.0, -2147483648.5,
    -2147483649.0, 4294967295.9, 4294967296.0, 1e20, -1e20, 9.3e18, 1.9e19, -1.0,
    INFINITY, -INFINITY, NAN, -NAN};
  for (unsigned i = 0; i < sizeof conv / sizeof *conv; i++) {
    double x = conv[i];
    CHECK("d2w", d2w(x), sat_i32(x));
    CHECK("d2uw", d2uw(x), sat_u32(x));
    CHECK("d2l", d2l(x), sat_i64(x));
    CHECK("d2ul", d2ul(x), sat_u64(x));
    CHECK("s2w", s2w((float)x), sat_i32((float)x));
    CHECK("s2ul", s2ul((float)x), sat_u64((float)x));
    CHECKF("narrow", narrow(x), (double)(float)x);
    CHECKF("widen", widen((float)x), (double)(float)x);
  }
  for (int i = 0; i < 8; i++) {
    int a = ints[i]; long b = (long)a * 3 - 5;
    CHECKF("int2d", int2d(a, b), ((double)a + (double)(unsigned)a) + ((double)b + (double)(unsigned long)b));
    CHECKF("int2s", int2s(a, b), (double)((float)(unsigned)a + (float)(unsigned long)b));
    long s = (signed char)a + (long)(unsigned char)a + (short)a + (long)(unsigned short)a + (long)a + (long)(unsigned)a;
    CHECK("exts", exts(a), s ^ (signed char)a);
  }
  double bd = -3.75; long bits; memcpy(&bits, &bd, 8);
  CHECK("bits_d", bits_d(bd), bits);
  float bf = bits_w(0x40490fdb); int bfi; memcpy(&bfi, &bf, 4);
  CHECK("bits_w", bfi, 0x40490fdb);
  unsigned char mem[32];
  for (int i = 0; i < 32; i++) mem[i] = 0xf0 + i * 37;
  {
    long want = 0; int32_t w32; uint32_t u32; int16_t w16; uint16_t u16;
    memcpy(&w32, mem, 4); memcpy(&u32, mem, 4); memcpy(&w16, mem, 2); memcpy(&u16, mem, 2);
    want = ((long)(signed char)mem[0] + (long)mem[0] + w16 + (long)u16 + w32 + (long)u32) * 3
      + (signed char)mem[0] + (long)u16;
    CHECK("loads", loads(mem), want);
  }
  {
    unsigned char out[27], ref[27]; int v = 0x8badf00d; long q = 0x0123456789abcdefL;
    memset(out, 0, sizeof out); memset(ref, 0, sizeof ref);
    ref[0] = (unsigned char)v; uint16_t h = (uint16_t)v; memcpy(ref + 1, &h, 2);
    memcpy(ref + 3, &v, 4); memcpy(ref + 7, &q, 8); memcpy(ref + 15, &v, 4); memcpy(ref + 19, &q, 8);
    stores(out, v, q);
    CHECK("stores", memcmp(out, ref, sizeof out), 0);
  }
  {
    unsigned char a[16], b[16];
    for (int i = 0; i < 16; i++) a[i] = b[i] = i;
    memmove(b + 3, b, 10);
    blit_overlap(a);
    CHECK("blit", memcmp(a, b, 16), 0);
  }
  CHECK("blit_between_slots", blit_between_slots(5, 47), 42);
  CHECK("dyn_alloc", dyn_alloc(1000), 499500L);
  {
    int arr[100]; long s = 0;
    for (int i = 0; i < 100; i++) { arr[i] = i * i - 300; s += arr[i]; }
    CHECK("walk", walk(arr, 100), s);
  }
  { long cell[2] = {11, 22}; CHECK("pick yes", pick(1, cell), 22); CHECK("pick no", pick(0, cell), -1); }
  { int cell = 1000; CHECK("env", use_env(&cell, 5), 1000 + 5 + 15); }
  CHECK("indirect", indirect(times2, 21), 42);
  printf("%s, %d failures\n", checks > 400 ? "all checks ran" : "too few checks", failures);
  return 0;
}
"#;

#[test]
fn instructions_match_the_defined_semantics() {
    common::check_both(
        "instructions",
        IL,
        &[DRIVER],
        "all checks ran, 0 failures\n",
    );
}

#[test]
fn data_definitions_lay_out_packed_bytes() {
    let il = r#"
data $target = { w 1 2 3 4 }
export data $packed = { b 1, h 515, w -1, l $target + 8, s s_1.5, d d_-2.25, b "ab" 0, z 3, l 7 }
export data $zeros = { z 100 }
export common data $tentative = { z 16 }
export section ".data.skc_test" data $in_section = { w 42 }
export data $aligned = align 16 { b 9 }
"#;
    let c = r#"
#include <stdio.h>
#include <string.h>
#include <stdint.h>
extern unsigned char packed[], zeros[], tentative[], in_section[], aligned[];
int main(void) {
  int ok = 1;
  uint16_t h; int32_t w; int32_t *p; float s; double d; int64_t l;
  ok &= packed[0] == 1;
  memcpy(&h, packed + 1, 2); ok &= h == 515;
  memcpy(&w, packed + 3, 4); ok &= w == -1;
  memcpy(&p, packed + 7, 8); ok &= *p == 3;
  memcpy(&s, packed + 15, 4); ok &= s == 1.5f;
  memcpy(&d, packed + 19, 8); ok &= d == -2.25;
  ok &= !memcmp(packed + 27, "ab\0\0\0\0", 6);
  memcpy(&l, packed + 33, 8); ok &= l == 7;
  for (int i = 0; i < 100; i++) ok &= zeros[i] == 0;
  for (int i = 0; i < 16; i++) ok &= tentative[i] == 0;
  memcpy(&w, in_section, 4); ok &= w == 42;
  ok &= ((uintptr_t)aligned & 15) == 0 && aligned[0] == 9;
  puts(ok ? "data ok" : "data FAIL");
  return 0;
}
"#;
    common::check_both("data", il, &[c], "data ok\n");
}

#[test]
fn thread_local_data_is_per_thread() {
    let il = r#"
thread data $counter = { w 5 }
export function w $bump(w %by) {
@start
	%p =l copy thread $counter
	%v =w loadw %p
	%n =w add %v, %by
	storew %n, %p
	ret %n
}
export function w $read_c_tls() {
@start
	%v =w loadw extern thread $c_tls
	ret %v
}
"#;
    let c = r#"
#include <pthread.h>
#include <stdio.h>
int bump(int);
int read_c_tls(void);
__thread int c_tls = 3;
static void *worker(void *arg) { (void)arg; return (void *)(long)bump(1); }
int main(void) {
  bump(100);
  pthread_t t; void *r;
  pthread_create(&t, 0, worker, 0);
  pthread_join(t, &r);
  c_tls += 4;
  printf("%d %ld %d\n", bump(0), (long)r, read_c_tls());
  return 0;
}
"#;
    common::check_both("tls", il, &[c], "105 6 7\n");
    // clang 15 has no `llvm.threadlocal.address` and compiles a call of it
    // as a call of an external function of that name.
    let for_llvm_15 = common::lower_for(il, false, Dialect::for_llvm(Some(15)));
    assert!(
        !for_llvm_15.contains("llvm.threadlocal.address"),
        "{for_llvm_15}"
    );
    assert!(common::lower(il, false).contains("@llvm.threadlocal.address.p0(ptr @counter)"));
}

#[test]
fn hlt_traps() {
    let il = r#"
export function $stop() {
@start
	hlt
}
"#;
    let c = "void stop(void); int main(void) { stop(); return 0; }\n";
    let dir = tempfile::tempdir().unwrap();
    for opt in ["-O0", "-O2"] {
        let exe = common::build(
            dir.path(),
            &format!("hlt{}", &opt[1..]),
            il,
            &[c],
            opt,
            false,
        );
        let status = std::process::Command::new(&exe).status().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert!(
            status.signal().is_some(),
            "hlt did not trap at {opt}: {status:?}"
        );
    }
}

#[test]
fn dbgloc_becomes_a_line_table() {
    let il = r#"
dbgfile "src/prog.c"
export function w $main() {
@start
	dbgloc 41, 3
	%x =w add 1, 2
	dbgloc 42
	%y =w call $abs(w %x)
	ret 0
}
"#;
    let ll = common::lower(il, true);
    assert!(ll.contains("!DILocation(line: 42, column: 0"), "{ll}");
    let dir = tempfile::tempdir().unwrap();
    let exe = common::build(dir.path(), "dbg", il, &[], "-O0", true);
    let out = std::process::Command::new("llvm-dwarfdump-19")
        .arg("--debug-line")
        .arg(&exe)
        .output();
    if let Ok(out) = out {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("prog.c"), "{text}");
        assert!(text.contains("     42 "), "{text}");
    }
}
