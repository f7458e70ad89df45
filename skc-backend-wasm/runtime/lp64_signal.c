/* signal() for LP64 IL. glibc's SIG_DFL, SIG_IGN and SIG_ERR are the
 * numbers 0, 1 and -1, but wasi-libc's emulation represents SIG_IGN and
 * SIG_ERR by functions of its own: handed to it unchanged, a 1 would be
 * taken for the function at table index 1 and called by raise(). The
 * handler and the result travel as 64-bit values, so that SIG_ERR comes
 * back as IL's -1. */
#define _WASI_EMULATED_SIGNAL
#include <signal.h>
#include <stdint.h>

typedef void (*handler_t)(int);

static handler_t from_glibc(long long h)
{
    if (h == 0)
        return SIG_DFL;
    if (h == 1)
        return SIG_IGN;
    if (h == -1)
        return SIG_ERR;
    return (handler_t)(uintptr_t)h;
}

static long long to_glibc(handler_t h)
{
    if (h == SIG_DFL)
        return 0;
    if (h == SIG_IGN)
        return 1;
    if (h == SIG_ERR)
        return -1;
    return (long long)(uintptr_t)h;
}

long long __skc_lp64_signal(int sig, long long handler)
{
    return to_glibc(signal(sig, from_glibc(handler)));
}
