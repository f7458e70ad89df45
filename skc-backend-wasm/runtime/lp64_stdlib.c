/* stdlib functions whose C side touches LP64 shapes: comparators called
 * with pointers, end pointers written through `char **`. */
#include <stdint.h>
#include <stdlib.h>

/* An IL comparator takes its pointers as `l` values. */
typedef int il_compare(uint64_t, uint64_t);

static il_compare *current_compare;

static int compare_thunk(const void *a, const void *b)
{
    return current_compare((uintptr_t)a, (uintptr_t)b);
}

void __skc_lp64_qsort(void *base, size_t n, size_t size, il_compare *compare)
{
    il_compare *outer = current_compare; /* a comparator may sort too */
    current_compare = compare;
    qsort(base, n, size, compare_thunk);
    current_compare = outer;
}

void *__skc_lp64_bsearch(const void *key, const void *base, size_t n, size_t size,
                         il_compare *compare)
{
    il_compare *outer = current_compare;
    current_compare = compare;
    void *found = bsearch(key, base, n, size, compare_thunk);
    current_compare = outer;
    return found;
}

/* The same given, after the IL comparator, an adapter of it that takes
 * 32-bit pointers (skc writes one for a comparator the IL file defines):
 * the C library calls the adapter, no trampoline in between. */
typedef int c_compare(const void *, const void *);

void __skc_lp64_qsort_adapted(void *base, size_t n, size_t size, il_compare *compare,
                              c_compare *adapter)
{
    (void)compare;
    qsort(base, n, size, adapter);
}

void *__skc_lp64_bsearch_adapted(const void *key, const void *base, size_t n, size_t size,
                                 il_compare *compare, c_compare *adapter)
{
    (void)compare;
    return bsearch(key, base, n, size, adapter);
}

/* `*end` is an 8-byte pointer slot in the IL. */
#define STORE_END(end, p)                                                                  \
    do {                                                                                   \
        if (end)                                                                           \
            *(end) = (uintptr_t)(p);                                                       \
    } while (0)

/* LP64 `long` is 64 bits: strtol and strtoul have strtoll's and
 * strtoull's range. */
long long __skc_lp64_strtol(const char *s, uint64_t *end, int base)
{
    char *e;
    long long r = strtoll(s, &e, base);
    STORE_END(end, e);
    return r;
}

unsigned long long __skc_lp64_strtoul(const char *s, uint64_t *end, int base)
{
    char *e;
    unsigned long long r = strtoull(s, &e, base);
    STORE_END(end, e);
    return r;
}

long long __skc_lp64_strtoll(const char *s, uint64_t *end, int base)
{
    char *e;
    long long r = strtoll(s, &e, base);
    STORE_END(end, e);
    return r;
}

unsigned long long __skc_lp64_strtoull(const char *s, uint64_t *end, int base)
{
    char *e;
    unsigned long long r = strtoull(s, &e, base);
    STORE_END(end, e);
    return r;
}

double __skc_lp64_strtod(const char *s, uint64_t *end)
{
    char *e;
    double r = strtod(s, &e);
    STORE_END(end, e);
    return r;
}
