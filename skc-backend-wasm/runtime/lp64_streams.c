/* stdin, stdout and stderr as LP64 IL sees them: 8-byte slots holding the
 * zero-extended FILE pointers. */
#include <stdint.h>
#include <stdio.h>

uint64_t __skc_lp64_stdin, __skc_lp64_stdout, __skc_lp64_stderr;

__attribute__((constructor)) static void init_stream_slots(void)
{
    __skc_lp64_stdin = (uintptr_t)stdin;
    __skc_lp64_stdout = (uintptr_t)stdout;
    __skc_lp64_stderr = (uintptr_t)stderr;
}
