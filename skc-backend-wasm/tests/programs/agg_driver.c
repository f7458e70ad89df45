#include <stdio.h>

struct pair { int a; int b; };
struct big { long long x; double y; int z; };
struct one { double d; };
struct chars { char c; };

struct pair c_make_pair(int a, int b) { struct pair p = { a, b }; return p; }
int c_sum_pair(struct pair p) { int s = p.a * 10 + p.b; p.a = 0; return s; }
struct big c_make_big(int k) { struct big b = { k * 1000000000000LL, k + 0.25, -k }; return b; }
double c_one(struct one o) { return o.d * 2; }
struct one c_make_one(double d) { struct one o = { d + 1 }; return o; }
int c_chars(struct chars c) { return c.c + 1; }

struct pair il_swap(struct pair p);
struct one il_half(struct one o);
long long il_bigsum(struct big b);
struct big il_make_big(long long x);
long long il_vmix(int n, ...);

void c_driver(void) {
	struct pair p = { 3, 4 };
	struct pair q = il_swap(p);
	struct one o = { 9.0 };
	struct one h = il_half(o);
	struct big b = { 7, 2.5, 100 };
	struct big m = il_make_big(5);
	printf("c: swap %d %d (orig %d %d) half %.2f bigsum %lld make %lld %.2f %d\n",
	       q.a, q.b, p.a, p.b, h.d, il_bigsum(b), m.x, m.y, m.z);
	printf("c: vmix %lld %lld\n", il_vmix(1, 7, 2.5, 100LL),
	       il_vmix(2, -3, 1e3, 40000000000LL, 5, -0.5, 1LL));
}
