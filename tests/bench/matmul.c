/*
 * matmul.c - dense double-precision matrix product C = A * B of two
 * n-by-n matrices stored row by row, in i-k-j order (the inner loop runs
 * along rows of B and C), followed by a 5-point smoothing pass over C.
 * Prints checksums of both.
 *
 * The values come from a fixed-seed PRNG; every result depends only on
 * IEEE + and *, so it is the same on every target.
 *
 * usage: matmul [n]       (default 64)
 */
#include <stdio.h>
#include <stdlib.h>

static unsigned long long state = 88172645463325252ULL;

static double next_unit(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (double)(state >> 11) * (1.0 / 9007199254740992.0);
}

static void multiply(int n, const double *a, const double *b, double *c)
{
	int i, j, k;

	for (i = 0; i < n * n; i++)
		c[i] = 0.0;
	for (i = 0; i < n; i++) {
		for (k = 0; k < n; k++) {
			double aik = a[i * n + k];
			const double *brow = b + (size_t)k * n;
			double *crow = c + (size_t)i * n;
			for (j = 0; j < n; j++)
				crow[j] = crow[j] + aik * brow[j];
		}
	}
}

static void smooth(int n, const double *c, double *d)
{
	int i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			double s = c[i * n + j] * 4.0;
			if (i > 0)
				s = s + c[(i - 1) * n + j];
			if (i < n - 1)
				s = s + c[(i + 1) * n + j];
			if (j > 0)
				s = s + c[i * n + j - 1];
			if (j < n - 1)
				s = s + c[i * n + j + 1];
			d[i * n + j] = s * 0.125;
		}
	}
}

int main(int argc, char **argv)
{
	int n = 64, i;
	double *a, *b, *c, *d, sum = 0.0, diag = 0.0, smoothed = 0.0;

	if (argc > 1)
		n = atoi(argv[1]);
	if (n < 2)
		n = 2;
	if (n > 2000)
		n = 2000;
	a = malloc(sizeof *a * (size_t)n * (size_t)n);
	b = malloc(sizeof *b * (size_t)n * (size_t)n);
	c = malloc(sizeof *c * (size_t)n * (size_t)n);
	d = malloc(sizeof *d * (size_t)n * (size_t)n);
	if (!a || !b || !c || !d)
		return 1;
	for (i = 0; i < n * n; i++)
		a[i] = next_unit() - 0.5;
	for (i = 0; i < n * n; i++)
		b[i] = next_unit() - 0.5;
	multiply(n, a, b, c);
	smooth(n, c, d);
	for (i = 0; i < n * n; i++) {
		sum = sum + c[i];
		smoothed = smoothed + d[i] * (double)(i % 7 + 1);
	}
	for (i = 0; i < n; i++)
		diag = diag + c[i * n + i];
	printf("n=%d sum=%.9f diag=%.9f smoothed=%.9f\n", n, sum, diag, smoothed);
	free(a);
	free(b);
	free(c);
	free(d);
	return 0;
}
