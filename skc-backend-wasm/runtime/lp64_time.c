/* struct tm as glibc lays it out on x86-64 (56 bytes: tm_gmtoff and
 * tm_zone are 8 bytes each, after 4 bytes of padding) against wasi-libc's
 * (44 bytes): the functions that take or return one translate. */
#include <stdint.h>
#include <time.h>

struct glibc_tm {
    int sec, min, hour, mday, mon, year, wday, yday, isdst, pad;
    int64_t gmtoff;
    uint64_t zone;
};
_Static_assert(sizeof(struct glibc_tm) == 56, "glibc's x86-64 struct tm");

static void to_glibc(struct glibc_tm *g, const struct tm *t)
{
    *g = (struct glibc_tm){
        t->tm_sec, t->tm_min, t->tm_hour, t->tm_mday, t->tm_mon, t->tm_year, t->tm_wday,
        t->tm_yday, t->tm_isdst, 0, t->tm_gmtoff, (uint64_t)(uintptr_t)t->tm_zone,
    };
}

static struct tm from_glibc(const struct glibc_tm *g)
{
    struct tm t = {0};
    t.tm_sec = g->sec;
    t.tm_min = g->min;
    t.tm_hour = g->hour;
    t.tm_mday = g->mday;
    t.tm_mon = g->mon;
    t.tm_year = g->year;
    t.tm_wday = g->wday;
    t.tm_yday = g->yday;
    t.tm_isdst = g->isdst;
    t.tm_gmtoff = (long)g->gmtoff;
    /* The low half of an LP64 pointer is the wasm32 address. */
    t.tm_zone = (const char *)(uintptr_t)g->zone;
    return t;
}

/* One buffer, as glibc shares one between localtime and gmtime. */
static struct glibc_tm shared;

static struct glibc_tm *converted(struct glibc_tm *out, const struct tm *t)
{
    if (!t)
        return 0;
    to_glibc(out, t);
    return out;
}

struct glibc_tm *__skc_lp64_localtime(const time_t *t)
{
    return converted(&shared, localtime(t));
}

struct glibc_tm *__skc_lp64_gmtime(const time_t *t)
{
    return converted(&shared, gmtime(t));
}

struct glibc_tm *__skc_lp64_localtime_r(const time_t *t, struct glibc_tm *out)
{
    struct tm tm;
    return converted(out, localtime_r(t, &tm));
}

struct glibc_tm *__skc_lp64_gmtime_r(const time_t *t, struct glibc_tm *out)
{
    struct tm tm;
    return converted(out, gmtime_r(t, &tm));
}

/* mktime and timegm normalise the fields they are given. */
time_t __skc_lp64_mktime(struct glibc_tm *g)
{
    struct tm t = from_glibc(g);
    time_t r = mktime(&t);
    to_glibc(g, &t);
    return r;
}

time_t __skc_lp64_timegm(struct glibc_tm *g)
{
    struct tm t = from_glibc(g);
    time_t r = timegm(&t);
    to_glibc(g, &t);
    return r;
}

size_t __skc_lp64_strftime(char *s, size_t max, const char *fmt, const struct glibc_tm *g)
{
    struct tm t = from_glibc(g);
    return strftime(s, max, fmt, &t);
}

char *__skc_lp64_asctime(const struct glibc_tm *g)
{
    struct tm t = from_glibc(g);
    return asctime(&t);
}
