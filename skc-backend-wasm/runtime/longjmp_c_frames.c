/* Refusing a longjmp that would cross a C function's frame.
 *
 * wasm32 IL unwinds a longjmp by returning through each frame between it
 * and its setjmp (skc-backend-wasm/src/setjmp.rs); C code compiled by
 * clang does not take part, so a C frame in between would carry on as if
 * its callee had returned. The link bridge counts the IL calls in
 * progress of C functions that can call IL back (qsort, bsearch, the
 * functions of C objects): setjmp records the count in the jmp_buf, and
 * longjmp stops the program with a message if it differs. */
#include <stdio.h>
#include <stdlib.h>

static int c_frames;

void __skc_c_enter(void)
{
    c_frames++;
}

void __skc_c_leave(void)
{
    c_frames--;
}

/* Offset 16 of the jmp_buf, after what the code generator keeps there. */
enum { C_FRAMES_SLOT = 4 };

void __skc_sjlj_record(int *buf)
{
    buf[C_FRAMES_SLOT] = c_frames;
}

void __skc_sjlj_check(int *buf)
{
    if (buf[C_FRAMES_SLOT] == c_frames)
        return;
    fputs("skc: longjmp across the frame of a C function (a callback of qsort, bsearch or "
          "of a C object jumped out of it): not supported on wasm32\n",
          stderr);
    fflush(stderr);
    abort();
}
