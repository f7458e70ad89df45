/* glibc's internal entry points other than ctype: errno, assert, and
 * the C99 scanf names glibc's headers redirect to (for IL passing 32-bit
 * pointers; LP64 calls go to the lp64 scanf shims). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Set by the LP64 start code when it is linked. */
__attribute__((weak)) extern const char *__skc_program_name;

int *__errno_location(void) { return &errno; }

_Noreturn void __assert_fail(const char *assertion, const char *file, unsigned int line,
                             const char *function)
{
    const char *name = &__skc_program_name && __skc_program_name ? __skc_program_name : "";
    fprintf(stderr, "%s%s%s:%u: %s%sAssertion `%s' failed.\n", name, *name ? ": " : "", file, line, function ? function : "",
            function ? ": " : "", assertion);
    fflush(stderr);
    abort();
}

int __isoc99_scanf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vscanf(fmt, ap);
    va_end(ap);
    return r;
}

int __isoc99_sscanf(const char *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsscanf(s, fmt, ap);
    va_end(ap);
    return r;
}

int __isoc99_fscanf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfscanf(f, fmt, ap);
    va_end(ap);
    return r;
}
