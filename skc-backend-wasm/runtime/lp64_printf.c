/* printf-family shims for LP64 IL (see skc_rt.h). */
#include "skc_rt.h"

static const unsigned char *il_take(struct skc_il_args *il, size_t size)
{
    uintptr_t p = (uintptr_t)il->next;
    p = (p + size - 1) & ~(uintptr_t)(size - 1);
    il->next = (const unsigned char *)(p + size);
    return (const unsigned char *)p;
}

static void c_put(struct skc_c_args *c, const void *value, size_t size)
{
    c->used = (c->used + size - 1) & ~(size - 1);
    memcpy(c->base + c->used, value, size);
    c->used += size;
}

/* An int-sized argument (`w` in the IL, 4 bytes in C). */
static void pass_int(struct skc_il_args *il, struct skc_c_args *c)
{
    c_put(c, il_take(il, 4), 4);
}

/* An 8-byte argument passed on as 8 bytes (long long, double). */
static void pass_wide(struct skc_il_args *il, struct skc_c_args *c)
{
    c_put(c, il_take(il, 8), 8);
}

/* An 8-byte IL pointer passed on as a 32-bit one. */
static void pass_pointer(struct skc_il_args *il, struct skc_c_args *c)
{
    uint64_t v;
    memcpy(&v, il_take(il, 8), 8);
    uint32_t p = (uint32_t)v;
    c_put(c, &p, 4);
}

void __skc_lp64_translate_printf(const char *fmt, struct skc_il_args *il, char *out,
                                 struct skc_c_args *c)
{
    while (*fmt) {
        if (*fmt != '%') {
            *out++ = *fmt++;
            continue;
        }
        *out++ = *fmt++;
        if (*fmt == '%') {
            *out++ = *fmt++;
            continue;
        }
        while (*fmt && strchr("-+ #0'I", *fmt))
            *out++ = *fmt++;
        if (*fmt == '*') {
            *out++ = *fmt++;
            pass_int(il, c);
        }
        while (*fmt >= '0' && *fmt <= '9')
            *out++ = *fmt++;
        if (*fmt == '.') {
            *out++ = *fmt++;
            if (*fmt == '*') {
                *out++ = *fmt++;
                pass_int(il, c);
            }
            while (*fmt >= '0' && *fmt <= '9')
                *out++ = *fmt++;
        }
        /* Length: 0 none, 1 short/char, 8 an 8-byte integer in the IL. */
        int wide = 0, is_l = 0;
        const char *len_start = fmt;
        while (*fmt && strchr("hlLqjzt", *fmt)) {
            if (strchr("lqjzt", *fmt))
                wide = 1;
            if (*fmt == 'l')
                is_l = 1;
            fmt++;
        }
        char conv = *fmt;
        if (!conv)
            break;
        fmt++;
        switch (conv) {
        case 'd': case 'i': case 'o': case 'u': case 'x': case 'X':
            if (wide) {
                *out++ = 'l';
                *out++ = 'l';
                pass_wide(il, c);
            } else {
                memcpy(out, len_start, (size_t)(fmt - 1 - len_start));
                out += fmt - 1 - len_start;
                pass_int(il, c);
            }
            break;
        case 'n':
            if (wide) {
                *out++ = 'l';
                *out++ = 'l';
            } else {
                memcpy(out, len_start, (size_t)(fmt - 1 - len_start));
                out += fmt - 1 - len_start;
            }
            pass_pointer(il, c);
            break;
        case 'c':
            if (is_l)
                *out++ = 'l';
            pass_int(il, c);
            break;
        case 's':
            if (is_l)
                *out++ = 'l';
            pass_pointer(il, c);
            break;
        case 'p':
            pass_pointer(il, c);
            break;
        case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A':
            pass_wide(il, c);
            break;
        default:
            /* %m and unknown conversions take no argument. */
            break;
        }
        *out++ = conv;
    }
    *out = 0;
}

int __skc_lp64_vfprintf(FILE *stream, const char *fmt, char **il_ap)
{
    int r;
    SKC_WITH_TRANSLATION(__skc_lp64_translate_printf, fmt, *il_ap, r,
                         vfprintf(stream, c_fmt, c_ap));
    return r;
}

int __skc_lp64_vprintf(const char *fmt, char **il_ap)
{
    return __skc_lp64_vfprintf(stdout, fmt, il_ap);
}

int __skc_lp64_vsnprintf(char *dest, size_t n, const char *fmt, char **il_ap)
{
    int r;
    SKC_WITH_TRANSLATION(__skc_lp64_translate_printf, fmt, *il_ap, r,
                         vsnprintf(dest, n, c_fmt, c_ap));
    return r;
}

int __skc_lp64_vsprintf(char *dest, const char *fmt, char **il_ap)
{
    int r;
    SKC_WITH_TRANSLATION(__skc_lp64_translate_printf, fmt, *il_ap, r,
                         vsprintf(dest, c_fmt, c_ap));
    return r;
}

/* The variadic entry points: wasm32's va_list is the address of the
 * caller's buffer, which is the IL's own buffer. */
int __skc_lp64_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *il = (char *)ap;
    int r = __skc_lp64_vfprintf(stdout, fmt, &il);
    va_end(ap);
    return r;
}

int __skc_lp64_fprintf(FILE *stream, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *il = (char *)ap;
    int r = __skc_lp64_vfprintf(stream, fmt, &il);
    va_end(ap);
    return r;
}

int __skc_lp64_sprintf(char *dest, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *il = (char *)ap;
    int r = __skc_lp64_vsprintf(dest, fmt, &il);
    va_end(ap);
    return r;
}

int __skc_lp64_snprintf(char *dest, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *il = (char *)ap;
    int r = __skc_lp64_vsnprintf(dest, n, fmt, &il);
    va_end(ap);
    return r;
}
