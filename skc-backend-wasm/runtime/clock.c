/* clock(): wasi-libc provides it only with its process-clock emulation
 * library; this one measures time since the program started. */
#include <stdint.h>
#include <time.h>

static struct timespec start;

__attribute__((constructor)) static void note_start(void)
{
    clock_gettime(CLOCK_MONOTONIC, &start);
}

long __skc_clock(void)
{
    struct timespec now;
    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        return -1;
    int64_t ns = (int64_t)(now.tv_sec - start.tv_sec) * 1000000000 + (now.tv_nsec - start.tv_nsec);
    return (long)(ns / (1000000000 / CLOCKS_PER_SEC));
}
