/* File and clock calls whose numbers or structures differ between glibc
 * (what LP64 IL was compiled against) and wasi-libc: open's flags and
 * AT_FDCWD, fcntl's file status flags, struct stat and struct dirent,
 * and clock ids (which wasi-libc makes pointers). Each shim translates at
 * the boundary. */
#define _WASI_EMULATED_PROCESS_CLOCKS
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* glibc's x86-64 numbers. */
enum {
    GLIBC_O_WRONLY = 01,
    GLIBC_O_RDWR = 02,
    GLIBC_O_ACCMODE = 03,
    GLIBC_O_CREAT = 0100,
    GLIBC_O_EXCL = 0200,
    GLIBC_O_TRUNC = 01000,
    GLIBC_O_APPEND = 02000,
    GLIBC_O_NONBLOCK = 04000,
    GLIBC_O_DSYNC = 010000,
    GLIBC_O_SYNC = 04010000,
    GLIBC_O_DIRECTORY = 0200000,
    GLIBC_O_NOFOLLOW = 0400000,
    GLIBC_AT_FDCWD = -100,
    GLIBC_AT_SYMLINK_NOFOLLOW = 0x100,
    GLIBC_AT_REMOVEDIR = 0x200,
    GLIBC_AT_SYMLINK_FOLLOW = 0x400,
};

static int flags_from_glibc(int g)
{
    int w;
    switch (g & GLIBC_O_ACCMODE) {
    case GLIBC_O_WRONLY: w = O_WRONLY; break;
    case GLIBC_O_RDWR: w = O_RDWR; break;
    default: w = O_RDONLY; break;
    }
    if (g & GLIBC_O_CREAT) w |= O_CREAT;
    if (g & GLIBC_O_EXCL) w |= O_EXCL;
    if (g & GLIBC_O_TRUNC) w |= O_TRUNC;
    if (g & GLIBC_O_APPEND) w |= O_APPEND;
    if (g & GLIBC_O_NONBLOCK) w |= O_NONBLOCK;
    if ((g & GLIBC_O_SYNC) == GLIBC_O_SYNC) w |= O_SYNC;
    else if (g & GLIBC_O_DSYNC) w |= O_DSYNC;
    if (g & GLIBC_O_DIRECTORY) w |= O_DIRECTORY;
    if (g & GLIBC_O_NOFOLLOW) w |= O_NOFOLLOW;
    /* O_CLOEXEC, O_NOCTTY and the like mean nothing under WASI. */
    return w;
}

static int flags_to_glibc(int w)
{
    int g = 0;
    if ((w & O_RDWR) == O_RDWR) g = GLIBC_O_RDWR;
    else if (w & O_WRONLY) g = GLIBC_O_WRONLY;
    if (w & O_APPEND) g |= GLIBC_O_APPEND;
    if (w & O_NONBLOCK) g |= GLIBC_O_NONBLOCK;
    if ((w & O_SYNC) == O_SYNC) g |= GLIBC_O_SYNC;
    else if (w & O_DSYNC) g |= GLIBC_O_DSYNC;
    return g;
}

static int dirfd_from_glibc(int fd)
{
    return fd == GLIBC_AT_FDCWD ? AT_FDCWD : fd;
}

static int at_flags_from_glibc(int g)
{
    int w = 0;
    if (g & GLIBC_AT_SYMLINK_NOFOLLOW) w |= AT_SYMLINK_NOFOLLOW;
    if (g & GLIBC_AT_REMOVEDIR) w |= AT_REMOVEDIR;
    if (g & GLIBC_AT_SYMLINK_FOLLOW) w |= AT_SYMLINK_FOLLOW;
    return w;
}

/* The mode is the first variadic argument, there only with O_CREAT. */
int __skc_lp64_open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int mode = (flags & GLIBC_O_CREAT) ? va_arg(ap, int) : 0;
    va_end(ap);
    return open(path, flags_from_glibc(flags), mode);
}

int __skc_lp64_openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int mode = (flags & GLIBC_O_CREAT) ? va_arg(ap, int) : 0;
    va_end(ap);
    return openat(dirfd_from_glibc(dirfd), path, flags_from_glibc(flags), mode);
}

int __skc_lp64_creat(const char *path, int mode)
{
    return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

/* F_GETFD, F_SETFD, F_GETFL and F_SETFL have glibc's numbers already. */
int __skc_lp64_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int arg = va_arg(ap, int);
    va_end(ap);
    switch (cmd) {
    case F_GETFL: {
        int r = fcntl(fd, F_GETFL);
        return r < 0 ? r : flags_to_glibc(r);
    }
    case F_SETFL:
        return fcntl(fd, F_SETFL, flags_from_glibc(arg));
    default:
        return fcntl(fd, cmd, arg);
    }
}

/* glibc's x86-64 struct stat (144 bytes). */
struct glibc_timespec {
    int64_t sec, nsec;
};
struct glibc_stat {
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid, pad;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    struct glibc_timespec atim, mtim, ctim;
    int64_t reserved[3];
};
_Static_assert(sizeof(struct glibc_stat) == 144, "glibc's x86-64 struct stat");

static int stat_to_glibc(int r, const struct stat *s, struct glibc_stat *g)
{
    if (r != 0)
        return r;
    *g = (struct glibc_stat){
        .dev = s->st_dev,
        .ino = s->st_ino,
        .nlink = s->st_nlink,
        .mode = s->st_mode,
        .uid = s->st_uid,
        .gid = s->st_gid,
        .rdev = s->st_rdev,
        .size = s->st_size,
        .blksize = s->st_blksize,
        .blocks = s->st_blocks,
        .atim = {s->st_atim.tv_sec, s->st_atim.tv_nsec},
        .mtim = {s->st_mtim.tv_sec, s->st_mtim.tv_nsec},
        .ctim = {s->st_ctim.tv_sec, s->st_ctim.tv_nsec},
    };
    return 0;
}

int __skc_lp64_stat(const char *path, struct glibc_stat *g)
{
    struct stat s;
    return stat_to_glibc(stat(path, &s), &s, g);
}

int __skc_lp64_lstat(const char *path, struct glibc_stat *g)
{
    struct stat s;
    return stat_to_glibc(lstat(path, &s), &s, g);
}

int __skc_lp64_fstat(int fd, struct glibc_stat *g)
{
    struct stat s;
    return stat_to_glibc(fstat(fd, &s), &s, g);
}

int __skc_lp64_fstatat(int dirfd, const char *path, struct glibc_stat *g, int flags)
{
    struct stat s;
    int r = fstatat(dirfd_from_glibc(dirfd), path, &s, at_flags_from_glibc(flags));
    return stat_to_glibc(r, &s, g);
}

int __skc_lp64_unlinkat(int dirfd, const char *path, int flags)
{
    return unlinkat(dirfd_from_glibc(dirfd), path, at_flags_from_glibc(flags));
}

int __skc_lp64_mkdirat(int dirfd, const char *path, int mode)
{
    return mkdirat(dirfd_from_glibc(dirfd), path, mode);
}

/* glibc's clock ids are small numbers; wasi-libc's are pointers. */
static clockid_t clock_from_glibc(int id)
{
    switch (id) {
    case 0: /* CLOCK_REALTIME */
    case 5: /* CLOCK_REALTIME_COARSE */
        return CLOCK_REALTIME;
    case 1: /* CLOCK_MONOTONIC */
    case 4: /* CLOCK_MONOTONIC_RAW */
    case 6: /* CLOCK_MONOTONIC_COARSE */
    case 7: /* CLOCK_BOOTTIME */
        return CLOCK_MONOTONIC;
    case 2: /* CLOCK_PROCESS_CPUTIME_ID */
    case 3: /* CLOCK_THREAD_CPUTIME_ID */
        return CLOCK_PROCESS_CPUTIME_ID;
    default:
        return 0;
    }
}

int __skc_lp64_clock_gettime(int id, struct glibc_timespec *g)
{
    clockid_t c = clock_from_glibc(id);
    struct timespec ts;
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    int r = clock_gettime(c, &ts);
    if (r == 0)
        *g = (struct glibc_timespec){ts.tv_sec, ts.tv_nsec};
    return r;
}

int __skc_lp64_clock_getres(int id, struct glibc_timespec *g)
{
    clockid_t c = clock_from_glibc(id);
    struct timespec ts;
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    int r = clock_getres(c, &ts);
    if (r == 0 && g)
        *g = (struct glibc_timespec){ts.tv_sec, ts.tv_nsec};
    return r;
}

/* The request's nanoseconds are the low half of glibc's 8-byte field;
 * what remains is written back whole. */
int __skc_lp64_nanosleep(const struct glibc_timespec *req, struct glibc_timespec *rem)
{
    struct timespec r = {req->sec, (long)req->nsec}, left;
    int res = nanosleep(&r, &left);
    if (res != 0 && rem)
        *rem = (struct glibc_timespec){left.tv_sec, left.tv_nsec};
    return res;
}

/* glibc's x86-64 struct dirent (280 bytes, the name at offset 19) and
 * d_type numbers. One buffer per call, as glibc keeps one per stream;
 * programs copy the name before the next readdir. */
struct glibc_dirent {
    uint64_t ino;
    int64_t off;
    uint16_t reclen;
    unsigned char type;
    char name[256];
    char pad[5];
};
_Static_assert(sizeof(struct glibc_dirent) == 280, "glibc's x86-64 struct dirent");

static unsigned char dirent_type_to_glibc(unsigned char t)
{
    switch (t) {
    case DT_REG: return 8;
    case DT_DIR: return 4;
    case DT_LNK: return 10;
    case DT_CHR: return 2;
    case DT_BLK: return 6;
    case DT_FIFO: return 1;
    default: return 0;
    }
}

struct glibc_dirent *__skc_lp64_readdir(DIR *dir)
{
    static struct glibc_dirent out;
    struct dirent *d = readdir(dir);
    if (!d)
        return 0;
    out = (struct glibc_dirent){.ino = d->d_ino, .reclen = sizeof out,
                                .type = dirent_type_to_glibc(d->d_type)};
    strncpy(out.name, d->d_name, sizeof out.name - 1);
    return &out;
}
