/* scanf-family shims for LP64 IL (see skc_rt.h). Every argument is an
 * 8-byte pointer in the IL; C gets it as a 32-bit one. Integer targets
 * that are 8 bytes in the IL (`long`, `size_t`, …) are scanned as
 * `long long`, and `%p` as a 64-bit hexadecimal number, so C writes all
 * 8 bytes of the IL's object. */
#include "skc_rt.h"

static void pass_pointer(struct skc_il_args *il, struct skc_c_args *c)
{
    uintptr_t p = ((uintptr_t)il->next + 7) & ~(uintptr_t)7;
    uint64_t v;
    memcpy(&v, (const void *)p, 8);
    il->next = (const unsigned char *)(p + 8);
    uint32_t narrow = (uint32_t)v;
    memcpy(c->base + c->used, &narrow, 4);
    c->used += 4;
}

void __skc_lp64_translate_scanf(const char *fmt, struct skc_il_args *il, char *out,
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
        int suppressed = 0;
        if (*fmt == '*') {
            suppressed = 1;
            *out++ = *fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            *out++ = *fmt++;
        if (*fmt == 'm')
            *out++ = *fmt++;
        int wide = 0;
        const char *len_start = fmt;
        while (*fmt && strchr("hlLqjzt", *fmt)) {
            if (strchr("lqjzt", *fmt))
                wide = 1;
            fmt++;
        }
        char conv = *fmt;
        if (!conv)
            break;
        fmt++;
        size_t len_size = (size_t)(fmt - 1 - len_start);
        switch (conv) {
        case 'd': case 'i': case 'o': case 'u': case 'x': case 'X': case 'n':
            if (wide) {
                *out++ = 'l';
                *out++ = 'l';
            } else {
                memcpy(out, len_start, len_size);
                out += len_size;
            }
            *out++ = conv;
            break;
        case 'p':
            *out++ = 'l';
            *out++ = 'l';
            *out++ = 'x';
            break;
        case '[':
            memcpy(out, len_start, len_size);
            out += len_size;
            *out++ = conv;
            if (*fmt == '^')
                *out++ = *fmt++;
            if (*fmt == ']')
                *out++ = *fmt++;
            while (*fmt && *fmt != ']')
                *out++ = *fmt++;
            if (*fmt)
                *out++ = *fmt++;
            break;
        default:
            memcpy(out, len_start, len_size);
            out += len_size;
            *out++ = conv;
            break;
        }
        if (!suppressed)
            pass_pointer(il, c);
    }
    *out = 0;
}

static int vfscanf_il(FILE *stream, const char *fmt, char *il)
{
    int r;
    SKC_WITH_TRANSLATION(__skc_lp64_translate_scanf, fmt, il, r, vfscanf(stream, c_fmt, c_ap));
    return r;
}

static int vsscanf_il(const char *src, const char *fmt, char *il)
{
    int r;
    SKC_WITH_TRANSLATION(__skc_lp64_translate_scanf, fmt, il, r, vsscanf(src, c_fmt, c_ap));
    return r;
}

int __skc_lp64_scanf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfscanf_il(stdin, fmt, (char *)ap);
    va_end(ap);
    return r;
}

int __skc_lp64_fscanf(FILE *stream, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfscanf_il(stream, fmt, (char *)ap);
    va_end(ap);
    return r;
}

int __skc_lp64_sscanf(const char *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsscanf_il(src, fmt, (char *)ap);
    va_end(ap);
    return r;
}
