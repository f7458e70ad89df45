/* glibc's ctype entry points. glibc's <ctype.h> macros index a table of
 * `unsigned short` class bits (glibc's values, as laid out on
 * little-endian machines) and `int32_t` case maps, each valid for indices
 * -128..255, found through a pointer returned by __ctype_*_loc(). LP64 IL
 * loads that pointer as 8 bytes, so each *_loc returns the address of an
 * 8-byte slot holding the zero-extended table address; ILP32 IL loading 4
 * bytes reads the same pointer. The tables describe the C locale. */
#include <ctype.h>
#include <stdint.h>

enum {
    GLIBC_UPPER = 0x100, GLIBC_LOWER = 0x200, GLIBC_ALPHA = 0x400, GLIBC_DIGIT = 0x800,
    GLIBC_XDIGIT = 0x1000, GLIBC_SPACE = 0x2000, GLIBC_PRINT = 0x4000, GLIBC_GRAPH = 0x8000,
    GLIBC_BLANK = 0x1, GLIBC_CNTRL = 0x2, GLIBC_PUNCT = 0x4, GLIBC_ALNUM = 0x8,
};

static unsigned short class_table[384];
static int32_t lower_table[384], upper_table[384];
static uint64_t class_slot, lower_slot, upper_slot;

static void build_tables(void)
{
    for (int c = -128; c < 256; c++) {
        unsigned short bits = 0;
        int ascii = c >= 0 && c < 128;
        if (ascii) {
            bits |= isupper(c) ? GLIBC_UPPER : 0;
            bits |= islower(c) ? GLIBC_LOWER : 0;
            bits |= isalpha(c) ? GLIBC_ALPHA : 0;
            bits |= isdigit(c) ? GLIBC_DIGIT : 0;
            bits |= isxdigit(c) ? GLIBC_XDIGIT : 0;
            bits |= isspace(c) ? GLIBC_SPACE : 0;
            bits |= isprint(c) ? GLIBC_PRINT : 0;
            bits |= isgraph(c) ? GLIBC_GRAPH : 0;
            bits |= isblank(c) ? GLIBC_BLANK : 0;
            bits |= iscntrl(c) ? GLIBC_CNTRL : 0;
            bits |= ispunct(c) ? GLIBC_PUNCT : 0;
            bits |= isalnum(c) ? GLIBC_ALNUM : 0;
        }
        class_table[c + 128] = bits;
        lower_table[c + 128] = ascii ? tolower(c) : c;
        upper_table[c + 128] = ascii ? toupper(c) : c;
    }
    class_slot = (uintptr_t)(class_table + 128);
    lower_slot = (uintptr_t)(lower_table + 128);
    upper_slot = (uintptr_t)(upper_table + 128);
}

const uint64_t *__ctype_b_loc(void)
{
    if (!class_slot)
        build_tables();
    return &class_slot;
}

const uint64_t *__ctype_tolower_loc(void)
{
    if (!class_slot)
        build_tables();
    return &lower_slot;
}

const uint64_t *__ctype_toupper_loc(void)
{
    if (!class_slot)
        build_tables();
    return &upper_slot;
}
