/* The start of an LP64 IL program: wasi-libc's start code calls
 * __main_argc_argv with 32-bit pointers; the IL's main reads argv (and
 * envp, when it takes one) as arrays of 8-byte pointers, so it gets LP64
 * copies. A main taking two parameters ignores the third. */
#include <stdint.h>
#include <stdlib.h>

extern char **environ;

int __skc_lp64_main(int argc, uint64_t argv, uint64_t envp);

static uint64_t *widen(char **v, size_t n)
{
    uint64_t *wide = calloc(n + 1, sizeof *wide);
    if (!wide)
        abort();
    for (size_t i = 0; i < n; i++)
        wide[i] = (uintptr_t)v[i];
    return wide;
}

/* The program name, for messages such as __assert_fail's. */
const char *__skc_program_name = "";

int __main_argc_argv(int argc, char **argv)
{
    size_t envc = 0;
    while (environ && environ[envc])
        envc++;
    uint64_t *wide_argv = widen(argv, (size_t)argc);
    uint64_t *wide_envp = widen(environ, envc);
    if (argc > 0)
        __skc_program_name = argv[0];
    return __skc_lp64_main(argc, (uintptr_t)wide_argv, (uintptr_t)wide_envp);
}
