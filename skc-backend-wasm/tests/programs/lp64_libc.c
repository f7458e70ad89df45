#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <time.h>
#include <sys/types.h>

struct rec { long key; const char *name; };

static int by_key(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

static int format_into(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

static void printf_all(void)
{
    long l = -1234567890123L;
    unsigned long ul = 18446744073709551615UL;
    size_t z = 123456789012UL;
    long long ll = -9223372036854775807LL - 1;
    unsigned long long ull = 12345678901234567890ULL;
    int n1 = 0;
    long n2 = -1;
    signed char hh = -5;
    short h = -30000;
    printf("int %d %i %u %x %X %o %c %5d|%-5d|%05d %+d\n", -42, 77, 3000000000u, 0xbeef,
           0xbeef, 8, 'Q', 12, 12, 12, 5);
    printf("long %ld %lu %lx %lX %lo %zu %zd %lld %llu %llx\n", l, ul, ul, 0xabcdef012345UL,
           01234567012345UL, z, (ssize_t)-7, ll, ull, ull);
    printf("short %hhd %hd %hhu %hu\n", hh, h, (unsigned char)250, (unsigned short)65000);
    printf("str %s|%10s|%-10s|%.3s|%c%c\n", "hello", "right", "left", "truncate", 'o', 'k');
    printf("flt %f %.3f %e %E %g %G %10.4f %-10.2e| %a\n", 3.14159265358979, -2.5, 12345.678,
           0.000123, 1e-10, 1e20, 2.0 / 3.0, -1.0 / 3.0, 1.0);
    printf("star %*d|%-*d|%.*f|%*.*s|\n", 6, 42, 6, 42, 2, 3.14159, 8, 3, "abcdef");
    printf("mixed %d %ld %f %s %lu %c %lld %g\n", 1, 2L, 3.0, "four", 5UL, '6', 7LL, 8.5);
    printf("count%n %ld%ln|\n", &n1, 999999999999L, &n2);
    printf("n %d %ld\n", n1, n2);
    char buf[128], alt[128];
    int p_local = 0;
    snprintf(buf, sizeof buf, "%p", (void *)&p_local);
    snprintf(alt, sizeof alt, "%#lx", (unsigned long)(uintptr_t)&p_local);
    printf("p same %d\n", strcmp(buf, alt) == 0);
    int w = sprintf(buf, "%s-%ld-%zu-%.2f", "sp", -3L, (size_t)4, 5.25);
    printf("sprintf %s %d\n", buf, w);
    w = snprintf(buf, 8, "%s %lu", "truncated", 123456789UL);
    printf("snprintf %s %d\n", buf, w);
    say("vprintf %d %ld %s %f %zu\n", 1, -2L, "three", 4.5, (size_t)6);
    w = format_into(buf, sizeof buf, "%lld|%s|%c", 1LL << 40, "va", 'x');
    printf("vsnprintf %s %d %%\n", buf, w);
    fprintf(stdout, "fprintf %ld %s\n", 77L, "out");
    fprintf(stderr, "to stderr %ld %s %d\n", 1234567890123L, "err", 5);
}

static void streams(void)
{
    fputs("fputs\n", stdout);
    fputc('c', stdout);
    putc('\n', stdout);
    putchar('p');
    putchar('\n');
    fwrite("fwrite\n", 1, 7, stdout);
    puts("puts");
    fflush(stdout);
}

static void sorting(void)
{
    struct rec recs[] = {{5, "five"}, {-3, "minus three"}, {100000000000L, "big"}, {0, "zero"}, {7, "seven"}};
    size_t n = sizeof recs / sizeof recs[0];
    qsort(recs, n, sizeof recs[0], by_key);
    for (size_t i = 0; i < n; i++)
        printf("%ld:%s ", recs[i].key, recs[i].name);
    printf("\n");
    const char *names[] = {"pear", "apple", "fig", "kiwi", "banana", "cherry"};
    qsort(names, 6, sizeof names[0], by_name);
    for (int i = 0; i < 6; i++)
        printf("%s ", names[i]);
    printf("\n");
    long *vals = malloc(1000 * sizeof *vals);
    unsigned long s = 12345;
    for (int i = 0; i < 1000; i++) {
        s = s * 6364136223846793005UL + 1442695040888963407UL;
        vals[i] = (long)(s >> 20) - (1L << 42);
    }
    qsort(vals, 1000, sizeof *vals, cmp_long);
    int sorted = 1;
    for (int i = 1; i < 1000; i++)
        sorted &= vals[i - 1] <= vals[i];
    long key = vals[377];
    long *found = bsearch(&key, vals, 1000, sizeof *vals, cmp_long);
    long missing = 1L << 50;
    printf("qsort sorted=%d first=%ld last=%ld found=%ld missing=%d\n", sorted, vals[0], vals[999],
           found ? (long)(found - vals) : -1L, bsearch(&missing, vals, 1000, sizeof *vals, cmp_long) == NULL);
    free(vals);
}

struct node { struct node *next; char *text; size_t len; };

static void memory(void)
{
    struct node *head = NULL;
    char tmp[64];
    for (int i = 0; i < 2000; i++) {
        struct node *n = malloc(sizeof *n);
        snprintf(tmp, sizeof tmp, "node-%d-%lx", i, (unsigned long)i * 2654435761UL);
        n->text = strdup(tmp);
        n->len = strlen(n->text);
        n->next = head;
        head = n;
    }
    size_t total = 0, count = 0;
    char *joined = calloc(1, 1);
    size_t cap = 1;
    for (struct node *n = head; n; n = n->next) {
        total += n->len;
        count++;
        if (count % 100 == 0) {
            cap += n->len;
            joined = realloc(joined, cap);
            strcat(joined, n->text);
        }
    }
    unsigned long h = 5381;
    for (char *p = joined; *p; p++)
        h = h * 33 + (unsigned char)*p;
    printf("malloc nodes=%zu total=%zu joined=%zu hash=%lu\n", count, total, strlen(joined), h);
    while (head) {
        struct node *next = head->next;
        free(head->text);
        free(head);
        head = next;
    }
    free(joined);
}

static void strings(void)
{
    char a[64] = "hello";
    char b[64];
    strcpy(b, a);
    strcat(b, ", world");
    strncat(b, "!!!???", 3);
    printf("str %s %zu cmp=%d ncmp=%d\n", b, strlen(b), strcmp(a, b) < 0, strncmp(a, b, 5));
    printf("chr %s | %s | %s\n", strchr(b, 'o'), strrchr(b, 'o'), strstr(b, "wor"));
    printf("null %d %d\n", strchr(b, 'z') == NULL, strstr(b, "xyz") == NULL);
    memset(a, 'x', 10);
    a[10] = 0;
    memmove(a + 2, a, 5);
    memcpy(a, "AB", 2);
    char *m = memchr(b, ',', strlen(b));
    printf("mem %s %ld %d\n", a, (long)(m - b), memcmp("abc", "abd", 3) < 0);
    strncpy(a, "xyz", 10);
    printf("strncpy %s %d\n", a, a[5]);
    char *e;
    long v = strtol("  -12345xyz", &e, 10);
    printf("strtol %ld rest=%s\n", v, e);
    unsigned long uv = strtoul("ff zz", &e, 16);
    printf("strtoul %lu rest=%s\n", uv, e);
    long long llv = strtoll("-77777777777", &e, 10);
    printf("strtoll %lld rest=[%s]\n", llv, e);
    unsigned long long ullv = strtoull("0x1234567890", &e, 0);
    printf("strtoull %llu\n", ullv);
    double d = strtod("2.5e3 tail", &e);
    printf("strtod %f rest=%s\n", d, e);
    errno = 0;
    v = strtol("99999999999999999999999", NULL, 10);
    printf("errno erange=%d max=%d\n", errno == ERANGE, v == LONG_MAX);
    printf("atoi %d %ld %lld\n", atoi("123"), atol("-456789"), atoll("9876543210"));
    printf("abs %d %ld %lld\n", abs(-5), labs(-6000000000L), llabs(-7LL));
    int i1;
    long l1;
    double d1;
    char word[16];
    int consumed;
    int got = sscanf("42 -9000000000 2.75 word rest", "%d %ld %lf %15s%n", &i1, &l1, &d1, word, &consumed);
    printf("sscanf %d: %d %ld %.2f %s %d\n", got, i1, l1, d1, word, consumed);
    size_t zz;
    unsigned long ulx;
    got = sscanf("77 abc", "%zu %lx", &zz, &ulx);
    printf("sscanf2 %d %zu %lx\n", got, zz, ulx);
    const char *env = getenv("SKC_SURELY_UNSET_VARIABLE");
    printf("getenv %d\n", env == NULL);
}

static void ctypes(void)
{
    unsigned long sums[13] = {0};
    for (int c = -1; c < 256; c++) {
        sums[0] += isalpha(c) ? (unsigned)c + 1 : 0;
        sums[1] += isdigit(c) ? (unsigned)c + 1 : 0;
        sums[2] += isspace(c) ? (unsigned)c + 1 : 0;
        sums[3] += isupper(c) ? (unsigned)c + 1 : 0;
        sums[4] += islower(c) ? (unsigned)c + 1 : 0;
        sums[5] += isalnum(c) ? (unsigned)c + 1 : 0;
        sums[6] += isxdigit(c) ? (unsigned)c + 1 : 0;
        sums[7] += ispunct(c) ? (unsigned)c + 1 : 0;
        sums[8] += isprint(c) ? (unsigned)c + 1 : 0;
        sums[9] += iscntrl(c) ? (unsigned)c + 1 : 0;
        sums[10] += isgraph(c) ? (unsigned)c + 1 : 0;
        sums[11] += (unsigned)toupper(c) + 1;
        sums[12] += (unsigned)tolower(c) + 1;
    }
    printf("ctype");
    for (int i = 0; i < 13; i++)
        printf(" %lu", sums[i]);
    printf("\n");
}

static void maths(void)
{
    double x = 0.7, y = 2.3;
    printf("math %.15g %.15g %.15g %.15g %.15g %.15g\n", sqrt(y), sin(x), cos(x), tan(x), atan(x), atan2(x, -y));
    printf("math %.15g %.15g %.15g %.15g\n", exp(y), log(y), log10(y), pow(y, x));
    printf("math %g %g %g %g %g %g %g\n", floor(-y), ceil(-y), fabs(-y), fmod(7.5, 2.0), round(2.5), trunc(-2.7), round(-0.5));
}

int main(int argc, char **argv)
{
    assert(argc >= 1);
    printf("args %d %s\n", argc, argc > 1 ? argv[1] : "none");
    printf_all();
    streams();
    sorting();
    memory();
    strings();
    ctypes();
    maths();
    srand(7);
    int r = rand();
    printf("rand %d\n", r >= 0);
    printf("time %d %d\n", time(NULL) > 0, clock() >= 0);
    return 3;
}
