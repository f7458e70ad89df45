/* The start of an LP64 IL program: wasi-libc's start code calls
 * __main_argc_argv with 32-bit pointers; the IL's main reads argv as an
 * array of 8-byte pointers, so it gets an LP64 copy. */
#include <stdint.h>
#include <stdlib.h>

int __skc_lp64_main(int argc, uint64_t argv);

/* The program name, for messages such as __assert_fail's. */
const char *__skc_program_name = "";

int __main_argc_argv(int argc, char **argv)
{
    uint64_t *wide = calloc((size_t)argc + 1, sizeof *wide);
    if (!wide)
        abort();
    for (int i = 0; i < argc; i++)
        wide[i] = (uintptr_t)argv[i];
    if (argc > 0)
        __skc_program_name = argv[0];
    return __skc_lp64_main(argc, (uintptr_t)wide);
}
