/* POSIX functions with no WASI equivalent. Each fails the way POSIX says
 * a missing facility fails: -1 or NULL with errno set to ENOSYS. The link
 * names the stubbed functions in a note (docs/wasm32-libc.md lists them),
 * and `--no-stubs` refuses them instead.
 *
 * This archive is searched after wasi-libc, so a function wasi-libc
 * defines is never replaced. Prototypes are spelled here rather than
 * taken from wasi-libc's headers, which leave most of these out. */
#include <errno.h>
#include <string.h>

typedef int pid_t_;

/* Processes */
int system(const char *command)
{
    /* No command processor: system(NULL) says so with 0. */
    if (!command)
        return 0;
    errno = ENOSYS;
    return -1;
}

void *popen(const char *command, const char *mode)
{
    (void)command, (void)mode;
    errno = ENOSYS;
    return 0;
}

int pclose(void *stream)
{
    (void)stream;
    errno = ENOSYS;
    return -1;
}

pid_t_ fork(void)
{
    errno = ENOSYS;
    return -1;
}

pid_t_ vfork(void)
{
    errno = ENOSYS;
    return -1;
}

int execv(const char *path, char *const argv[])
{
    (void)path, (void)argv;
    errno = ENOSYS;
    return -1;
}

int execvp(const char *file, char *const argv[])
{
    (void)file, (void)argv;
    errno = ENOSYS;
    return -1;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
    (void)path, (void)argv, (void)envp;
    errno = ENOSYS;
    return -1;
}

pid_t_ waitpid(pid_t_ pid, int *status, int options)
{
    (void)pid, (void)status, (void)options;
    errno = ENOSYS;
    return -1;
}

pid_t_ wait(int *status)
{
    (void)status;
    errno = ENOSYS;
    return -1;
}

int kill(pid_t_ pid, int sig)
{
    (void)pid, (void)sig;
    errno = ENOSYS;
    return -1;
}

int pipe(int fds[2])
{
    (void)fds;
    errno = ENOSYS;
    return -1;
}

/* Temporary files: WASI has no directory that is always writable. */
void *tmpfile(void)
{
    errno = ENOSYS;
    return 0;
}

void *tmpfile64(void)
{
    return tmpfile();
}

char *tmpnam(char *s)
{
    (void)s;
    errno = ENOSYS;
    return 0;
}

int mkstemp(char *template)
{
    (void)template;
    errno = ENOSYS;
    return -1;
}

int mkstemp64(char *template)
{
    return mkstemp(template);
}

/* Dynamic loading */
static const char *dl_error;

void *dlopen(const char *file, int mode)
{
    (void)file, (void)mode;
    dl_error = "dynamic loading is not supported on wasm32-wasi";
    return 0;
}

void *dlsym(void *handle, const char *name)
{
    (void)handle, (void)name;
    dl_error = "dynamic loading is not supported on wasm32-wasi";
    return 0;
}

int dlclose(void *handle)
{
    (void)handle;
    dl_error = "dynamic loading is not supported on wasm32-wasi";
    return -1;
}

char *dlerror(void)
{
    /* POSIX: the last error once, then NULL. */
    const char *e = dl_error;
    dl_error = 0;
    return (char *)e;
}

/* Signals beyond wasi-libc's emulation (signal and raise). The sets have
 * glibc's LP64 layout, 1024 bits, as IL from a C front end allocates. */
enum { SIGSET_BYTES = 128 };

int sigaction(int sig, const void *act, void *oldact)
{
    (void)sig, (void)act, (void)oldact;
    errno = ENOSYS;
    return -1;
}

int sigprocmask(int how, const void *set, void *oldset)
{
    (void)how, (void)set, (void)oldset;
    errno = ENOSYS;
    return -1;
}

int sigemptyset(void *set)
{
    memset(set, 0, SIGSET_BYTES);
    return 0;
}

int sigfillset(void *set)
{
    memset(set, 0xff, SIGSET_BYTES);
    return 0;
}

static int sig_bit(int sig, unsigned char **byte, void *set)
{
    if (sig <= 0 || sig > SIGSET_BYTES * 8) {
        errno = EINVAL;
        return -1;
    }
    *byte = (unsigned char *)set + (sig - 1) / 8;
    return 1 << ((sig - 1) % 8);
}

int sigaddset(void *set, int sig)
{
    unsigned char *b;
    int m = sig_bit(sig, &b, set);
    if (m < 0)
        return -1;
    *b |= m;
    return 0;
}

int sigdelset(void *set, int sig)
{
    unsigned char *b;
    int m = sig_bit(sig, &b, set);
    if (m < 0)
        return -1;
    *b &= ~m;
    return 0;
}

int sigismember(const void *set, int sig)
{
    unsigned char *b;
    int m = sig_bit(sig, &b, (void *)set);
    if (m < 0)
        return -1;
    return (*b & m) != 0;
}

/* Stream locks: a WASI program has one thread, so they have nothing to
 * exclude (this is their real behaviour, not a failure). */
void flockfile(void *stream)
{
    (void)stream;
}

void funlockfile(void *stream)
{
    (void)stream;
}

int ftrylockfile(void *stream)
{
    (void)stream;
    return 0;
}
