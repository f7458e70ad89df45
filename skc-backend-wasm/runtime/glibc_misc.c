/* glibc's internal entry points other than ctype: errno, assert, and
 * the C99 scanf names glibc's headers redirect to (for IL passing 32-bit
 * pointers; LP64 calls go to the lp64 scanf shims). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set by the LP64 start code when it is linked. */
__attribute__((weak)) extern const char *__skc_program_name;

/* IL compiled against glibc compares errno with Linux's numbers, which
 * differ from WASI's. __errno_location hands out a slot holding the Linux
 * number and keeps it in step with the real errno each time it is called
 * (the IL calls it for every read and write of errno) and each time the
 * link bridge calls __skc_errno_sync, before and after every IL call of a
 * C function that may set errno: a change C made since the last such
 * point is copied into the slot, else a change the IL made to the slot
 * is copied back to errno. Between two points only one side ran, so the
 * value that changed is the newer one. */
static const struct { int wasi, linux; } errno_map[] = {
    {EPERM, 1}, {ENOENT, 2}, {ESRCH, 3}, {EINTR, 4}, {EIO, 5}, {ENXIO, 6}, {E2BIG, 7},
    {ENOEXEC, 8}, {EBADF, 9}, {ECHILD, 10}, {EAGAIN, 11}, {ENOMEM, 12}, {EACCES, 13},
    {EFAULT, 14}, {EBUSY, 16}, {EEXIST, 17}, {EXDEV, 18}, {ENODEV, 19}, {ENOTDIR, 20},
    {EISDIR, 21}, {EINVAL, 22}, {ENFILE, 23}, {EMFILE, 24}, {ENOTTY, 25}, {ETXTBSY, 26},
    {EFBIG, 27}, {ENOSPC, 28}, {ESPIPE, 29}, {EROFS, 30}, {EMLINK, 31}, {EPIPE, 32},
    {EDOM, 33}, {ERANGE, 34}, {EDEADLK, 35}, {ENAMETOOLONG, 36}, {ENOLCK, 37},
    {ENOSYS, 38}, {ENOTEMPTY, 39}, {ELOOP, 40}, {ENOMSG, 42}, {EIDRM, 43},
    {ENOLINK, 67}, {EPROTO, 71},
    {EMULTIHOP, 72}, {EBADMSG, 74}, {EOVERFLOW, 75}, {EILSEQ, 84}, {ENOTSOCK, 88},
    {EDESTADDRREQ, 89}, {EMSGSIZE, 90}, {EPROTOTYPE, 91}, {ENOPROTOOPT, 92},
    {EPROTONOSUPPORT, 93}, {ENOTSUP, 95}, {EAFNOSUPPORT, 97}, {EADDRINUSE, 98},
    {EADDRNOTAVAIL, 99}, {ENETDOWN, 100}, {ENETUNREACH, 101}, {ENETRESET, 102},
    {ECONNABORTED, 103}, {ECONNRESET, 104}, {ENOBUFS, 105}, {EISCONN, 106},
    {ENOTCONN, 107}, {ETIMEDOUT, 110}, {ECONNREFUSED, 111}, {EHOSTUNREACH, 113},
    {EALREADY, 114}, {EINPROGRESS, 115}, {ESTALE, 116}, {EDQUOT, 122}, {ECANCELED, 125},
    {EOWNERDEAD, 130}, {ENOTRECOVERABLE, 131},
    /* A path outside every preopened directory: Linux has no such error,
     * and EACCES is what a sandbox refusal looks like there. Listed last,
     * so EACCES still maps back to EACCES. */
    {ENOTCAPABLE, 13},
};

static int to_linux(int e)
{
    for (size_t i = 0; i < sizeof errno_map / sizeof errno_map[0]; i++)
        if (errno_map[i].wasi == e)
            return errno_map[i].linux;
    return e;
}

static int from_linux(int e)
{
    for (size_t i = 0; i < sizeof errno_map / sizeof errno_map[0]; i++)
        if (errno_map[i].linux == e)
            return errno_map[i].wasi;
    return e;
}

static int linux_errno, last_real, last_given;

void __skc_errno_sync(void)
{
    if (errno != last_real)
        linux_errno = to_linux(errno);
    else if (linux_errno != last_given)
        errno = from_linux(linux_errno);
    last_real = errno;
    last_given = linux_errno;
}

int *__errno_location(void)
{
    __skc_errno_sync();
    return &linux_errno;
}

/* strerror(errno) in glibc-built IL passes the Linux number. */
char *__skc_lp64_strerror(int e)
{
    return strerror(from_linux(e));
}

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
