int putchar(int);

static void put_num(long v) {
	if (v < 0) { putchar('-'); v = -v; }
	if (v >= 10) put_num(v / 10);
	putchar('0' + (int)(v % 10));
}

static int collatz_goto(int n, int start_inside) {
	int steps = 0;
	if (start_inside) goto inside;
	while (n != 1) {
		steps++;
inside:
		if (n % 2) n = 3 * n + 1; else n /= 2;
		if (steps > 1000) break;
	}
	return steps * 1000 + n;
}

static int classify(int c) {
	switch (c) {
	case 0: return 7;
	case 1: case 2: return 11;
	case 5: return c * 3;
	case 17: return -1;
	case 100: return 99;
	default: return c & 3;
	}
}

static unsigned long mix(unsigned long h, unsigned x) {
	for (int i = 0; i < 4; i++) {
		h ^= (x >> (8 * i)) & 0xff;
		h *= 1099511628211UL;
	}
	return h;
}

int main(void) {
	long acc = 0;
	for (int i = 1; i < 40; i++)
		acc += collatz_goto(i + 7, i & 1);
	put_num(acc); putchar('\n');
	int s = 0;
	for (int c = -3; c < 120; c++)
		s = s * 3 + classify(c), s ^= s >> 7;
	put_num(s); putchar('\n');
	unsigned long h = 14695981039346656037UL;
	for (unsigned x = 0; x < 1000; x += 7)
		h = mix(h, x * 2654435761u);
	put_num((long)(h >> 1)); putchar('\n');
	double d = 1.0;
	for (int k = 0; k < 30; k++) d = d * 1.1 + (k % 3 ? 0.5 : -0.25);
	put_num((long)(d * 1000)); putchar('\n');
	return (int)(acc % 100);
}
