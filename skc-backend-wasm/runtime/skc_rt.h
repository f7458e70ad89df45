/* Shared helpers of the skc wasm32 runtime for LP64 IL.
 *
 * LP64 IL hands C its variadic arguments in a buffer where every value sits
 * at its natural alignment: `w` values take 4 bytes, `l` and `d` values 8.
 * Because LP64 IL passes an `l` for every pointer, `long` and `size_t`,
 * the format string says how wide each argument is in that buffer. The
 * shims rebuild an ILP32 buffer (what wasm32 libc's va_list points to) and
 * call the real v*printf / v*scanf. */
#ifndef SKC_RT_H
#define SKC_RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A cursor over an IL variadic buffer. */
struct skc_il_args {
    const unsigned char *next;
};

/* A va_list-compatible ILP32 buffer under construction. */
struct skc_c_args {
    unsigned char *base;
    size_t used;
};

/* Rewrites an LP64 printf format into `c_fmt` and the matching ILP32
 * argument buffer into `c_args` (room for 8 bytes per '%' in the format,
 * plus 8). `c_fmt` needs 2 * strlen(fmt) + 1 bytes. */
void __skc_lp64_translate_printf(const char *fmt, struct skc_il_args *il, char *c_fmt,
                                 struct skc_c_args *c_args);

/* The same for scanf formats (every argument is a pointer). */
void __skc_lp64_translate_scanf(const char *fmt, struct skc_il_args *il, char *c_fmt,
                                struct skc_c_args *c_args);

/* Runs `call` with the translation of an LP64 format and buffer: the
 * format and argument buffer live on the stack when small, else on the
 * heap. wasm32's va_list is a plain pointer to such a buffer. */
#define SKC_WITH_TRANSLATION(translate, fmt, il_next, result, call)                    \
    do {                                                                               \
        size_t skc_len_ = strlen(fmt);                                                 \
        size_t skc_fmt_size_ = 2 * skc_len_ + 1, skc_buf_size_ = 8 * skc_len_ + 16;     \
        char skc_fmt_small_[256];                                                      \
        _Alignas(8) unsigned char skc_buf_small_[1024];                                \
        int skc_heap_ = skc_fmt_size_ > sizeof skc_fmt_small_ ||                       \
                        skc_buf_size_ > sizeof skc_buf_small_;                         \
        char *c_fmt = skc_heap_ ? malloc(skc_fmt_size_) : skc_fmt_small_;              \
        unsigned char *c_buf = skc_heap_ ? malloc(skc_buf_size_) : skc_buf_small_;     \
        if (!c_fmt || !c_buf) {                                                        \
            result = -1;                                                               \
        } else {                                                                       \
            struct skc_il_args skc_il_ = {(const unsigned char *)(il_next)};           \
            struct skc_c_args skc_c_ = {c_buf, 0};                                     \
            translate(fmt, &skc_il_, c_fmt, &skc_c_);                                  \
            va_list c_ap = (va_list)c_buf;                                             \
            result = call;                                                             \
        }                                                                              \
        if (skc_heap_) {                                                               \
            free(c_fmt);                                                               \
            free(c_buf);                                                               \
        }                                                                              \
    } while (0)

#endif
