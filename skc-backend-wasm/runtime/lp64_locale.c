/* localeconv for LP64 IL: the IL reads `struct lconv` with glibc's x86-64
 * layout, ten 8-byte string pointers followed by fourteen chars, while
 * wasi-libc's has 4-byte pointers. The result is an LP64 copy, refreshed
 * at each call as the C library's own structure is. */
#include <locale.h>
#include <stdint.h>

struct lp64_lconv {
    uint64_t strings[10];
    char values[14];
};

static struct lp64_lconv lp64_lconv;

struct lp64_lconv *__skc_lp64_localeconv(void)
{
    struct lconv *c = localeconv();
    const char *strings[10] = {
        c->decimal_point, c->thousands_sep, c->grouping, c->int_curr_symbol,
        c->currency_symbol, c->mon_decimal_point, c->mon_thousands_sep,
        c->mon_grouping, c->positive_sign, c->negative_sign,
    };
    char values[14] = {
        c->int_frac_digits, c->frac_digits, c->p_cs_precedes, c->p_sep_by_space,
        c->n_cs_precedes, c->n_sep_by_space, c->p_sign_posn, c->n_sign_posn,
        c->int_p_cs_precedes, c->int_p_sep_by_space, c->int_n_cs_precedes,
        c->int_n_sep_by_space, c->int_p_sign_posn, c->int_n_sign_posn,
    };
    for (int i = 0; i < 10; i++)
        lp64_lconv.strings[i] = (uintptr_t)strings[i];
    for (int i = 0; i < 14; i++)
        lp64_lconv.values[i] = values[i];
    return &lp64_lconv;
}

/* wasi-libc accepts any locale name and behaves as "C.UTF-8" under it, so a
 * program that asks for "pt_BR" and checks the answer believes it has
 * Portuguese collation and decimal commas. A glibc program on a system
 * without that locale gets NULL, and so does one here: only names whose
 * behaviour wasi-libc really has are accepted, alone or as the
 * ';'-separated list setlocale(LC_ALL, NULL) returns for mixed categories. */
#include <string.h>

static int available(const char *name, size_t length)
{
    static const char *const names[] = {"C", "POSIX", "C.UTF-8", "C.utf8", "C.UTF8"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == length && memcmp(names[i], name, length) == 0)
            return 1;
    return 0;
}

static int all_available(const char *name)
{
    for (;;) {
        const char *end = strchr(name, ';');
        size_t length = end ? (size_t)(end - name) : strlen(name);
        if (!available(name, length))
            return 0;
        if (!end)
            return 1;
        name = end + 1;
    }
}

char *__skc_lp64_setlocale(int category, const char *name)
{
    /* "" means "from the environment", which wasi-libc resolves itself. */
    if (name && *name && !all_available(name))
        return NULL;
    return setlocale(category, name);
}
