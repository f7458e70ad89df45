//! Prototypes of the C library functions LP64 IL may call, in wasm32's
//! ILP32 terms.
//!
//! Each entry gives the C parameter kinds, the result kind, whether the
//! function is variadic, and the runtime shim that replaces it when a call
//! is LP64-adapted (`None`: the libc function itself is called).

/// The C type of one parameter or result, as far as width adaptation cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CType {
    /// `int` (i32; an `l` argument is wrapped, an `l` result sign-extended).
    Int,
    /// `unsigned int` (i32; an `l` result is zero-extended).
    Uint,
    /// A data or function pointer (32-bit; an `l` result is zero-extended).
    Ptr,
    /// `long`: 32-bit in wasm32's C, 64-bit in LP64 IL. An LP64 call goes
    /// to a shim working on `long long`, so the value is never narrowed.
    Long,
    /// `unsigned long` / `size_t` (32-bit; an `l` result is zero-extended).
    Size,
    /// `long long` / `time_t` (64-bit on both data models).
    LongLong,
    /// `double`.
    Double,
    /// No result.
    Void,
}

/// One C library function.
#[derive(Clone, Copy, Debug)]
pub struct Prototype {
    /// The C name IL calls.
    pub name: &'static str,
    /// The fixed parameters.
    pub params: &'static [CType],
    /// The result.
    pub ret: CType,
    /// Whether the function takes variadic arguments after `params`.
    pub variadic: bool,
    /// The runtime function an LP64 call goes to instead, if any.
    pub lp64_shim: Option<&'static str>,
    /// Whether every call goes to `lp64_shim` (wasi-libc lacks the function
    /// or needs an emulation library for it).
    pub always_shim: bool,
}

use CType::{
    Double as D, Int as I, Long as L, LongLong as J, Ptr as P, Size as Z, Uint as U, Void as V,
};

const fn f(name: &'static str, params: &'static [CType], ret: CType) -> Prototype {
    Prototype {
        name,
        params,
        ret,
        variadic: false,
        lp64_shim: None,
        always_shim: false,
    }
}

const fn shim(
    name: &'static str,
    params: &'static [CType],
    ret: CType,
    lp64_shim: &'static str,
) -> Prototype {
    Prototype {
        name,
        params,
        ret,
        variadic: false,
        lp64_shim: Some(lp64_shim),
        always_shim: false,
    }
}

/// A name glibc's headers give a function under `_FILE_OFFSET_BITS=64`
/// (the same function on LP64), which wasi-libc lacks: every call goes
/// to `target`.
const fn alias(
    name: &'static str,
    params: &'static [CType],
    ret: CType,
    target: &'static str,
) -> Prototype {
    Prototype {
        name,
        params,
        ret,
        variadic: false,
        lp64_shim: Some(target),
        always_shim: true,
    }
}

const fn va(
    name: &'static str,
    params: &'static [CType],
    ret: CType,
    lp64_shim: &'static str,
) -> Prototype {
    Prototype {
        name,
        params,
        ret,
        variadic: true,
        lp64_shim: Some(lp64_shim),
        always_shim: false,
    }
}

/// Every function the backend adapts, sorted by name for binary search.
pub static PROTOTYPES: &[Prototype] = &[
    f("__assert_fail", &[P, P, U, P], V),
    f("__ctype_b_loc", &[], P),
    f("__ctype_tolower_loc", &[], P),
    f("__ctype_toupper_loc", &[], P),
    f("__errno_location", &[], P),
    va("__isoc99_fscanf", &[P, P], I, "__skc_lp64_fscanf"),
    va("__isoc99_scanf", &[P], I, "__skc_lp64_scanf"),
    va("__isoc99_sscanf", &[P, P], I, "__skc_lp64_sscanf"),
    f("abort", &[], V),
    f("abs", &[I], I),
    shim("asctime", &[P], P, "__skc_lp64_asctime"),
    f("atan", &[D], D),
    f("atan2", &[D, D], D),
    f("atexit", &[P], I),
    f("atoi", &[P], I),
    shim("atol", &[P], L, "atoll"),
    f("atoll", &[P], J),
    shim("bsearch", &[P, P, Z, Z, P], P, "__skc_lp64_bsearch"),
    f("calloc", &[Z, Z], P),
    f("ceil", &[D], D),
    Prototype {
        name: "clock",
        params: &[],
        ret: I,
        variadic: false,
        lp64_shim: Some("__skc_clock"),
        always_shim: true,
    },
    shim("clock_getres", &[I, P], I, "__skc_lp64_clock_getres"),
    shim("clock_gettime", &[I, P], I, "__skc_lp64_clock_gettime"),
    f("cos", &[D], D),
    f("exit", &[I], V),
    f("exp", &[D], D),
    f("fabs", &[D], D),
    f("fclose", &[P], I),
    // glibc's file status flags, passed with no pointer to show LP64.
    Prototype {
        name: "fcntl",
        params: &[I, I],
        ret: I,
        variadic: true,
        lp64_shim: Some("__skc_lp64_fcntl"),
        always_shim: true,
    },
    Prototype {
        name: "fcntl64",
        params: &[I, I],
        ret: I,
        variadic: true,
        lp64_shim: Some("__skc_lp64_fcntl"),
        always_shim: true,
    },
    f("feof", &[P], I),
    f("ferror", &[P], I),
    f("fflush", &[P], I),
    f("fgetc", &[P], I),
    f("fgets", &[P, I, P], P),
    f("floor", &[D], D),
    f("fmod", &[D, D], D),
    f("fopen", &[P, P], P),
    va("fprintf", &[P, P], I, "__skc_lp64_fprintf"),
    f("fputc", &[I, P], I),
    f("fputs", &[P, P], I),
    f("fread", &[P, Z, Z, P], Z),
    f("free", &[P], V),
    va("fscanf", &[P, P], I, "__skc_lp64_fscanf"),
    shim("fstat", &[I, P], I, "__skc_lp64_fstat"),
    shim("fstat64", &[I, P], I, "__skc_lp64_fstat"),
    shim("fstatat", &[I, P, P, I], I, "__skc_lp64_fstatat"),
    shim("fstatat64", &[I, P, P, I], I, "__skc_lp64_fstatat"),
    alias("ftruncate64", &[I, J], I, "ftruncate"),
    f("fwrite", &[P, Z, Z, P], Z),
    f("getc", &[P], I),
    f("getchar", &[], I),
    f("getenv", &[P], P),
    shim("gmtime", &[P], P, "__skc_lp64_gmtime"),
    shim("gmtime_r", &[P, P], P, "__skc_lp64_gmtime_r"),
    f("isalnum", &[I], I),
    f("isalpha", &[I], I),
    f("iscntrl", &[I], I),
    f("isdigit", &[I], I),
    f("isgraph", &[I], I),
    f("islower", &[I], I),
    f("isprint", &[I], I),
    f("ispunct", &[I], I),
    f("isspace", &[I], I),
    f("isupper", &[I], I),
    f("isxdigit", &[I], I),
    shim("labs", &[L], L, "llabs"),
    f("llabs", &[J], J),
    // `struct lconv` holds pointers: an LP64 call gets an LP64 copy.
    shim("localeconv", &[], P, "__skc_lp64_localeconv"),
    shim("localtime", &[P], P, "__skc_lp64_localtime"),
    shim("localtime_r", &[P, P], P, "__skc_lp64_localtime_r"),
    f("log", &[D], D),
    f("log10", &[D], D),
    alias("lseek64", &[I, J, I], J, "lseek"),
    shim("lstat", &[P, P], I, "__skc_lp64_lstat"),
    shim("lstat64", &[P, P], I, "__skc_lp64_lstat"),
    f("malloc", &[Z], P),
    f("memchr", &[P, I, Z], P),
    f("memcmp", &[P, P, Z], I),
    f("memcpy", &[P, P, Z], P),
    f("memmove", &[P, P, Z], P),
    f("memset", &[P, I, Z], P),
    shim("mkdirat", &[I, P, U], I, "__skc_lp64_mkdirat"),
    shim("mktime", &[P], J, "__skc_lp64_mktime"),
    alias("mmap64", &[P, Z, I, I, I, J], P, "mmap"),
    shim("nanosleep", &[P, P], I, "__skc_lp64_nanosleep"),
    va("open", &[P, I], I, "__skc_lp64_open"),
    va("open64", &[P, I], I, "__skc_lp64_open"),
    va("openat", &[I, P, I], I, "__skc_lp64_openat"),
    va("openat64", &[I, P, I], I, "__skc_lp64_openat"),
    f("perror", &[P], V),
    alias("posix_fadvise64", &[I, J, J, I], I, "posix_fadvise"),
    alias("posix_fallocate64", &[I, J, J], I, "posix_fallocate"),
    f("pow", &[D, D], D),
    alias("pread64", &[I, P, Z, J], L, "pread"),
    va("printf", &[P], I, "__skc_lp64_printf"),
    f("putc", &[I, P], I),
    f("putchar", &[I], I),
    f("puts", &[P], I),
    alias("pwrite64", &[I, P, Z, J], L, "pwrite"),
    shim("qsort", &[P, Z, Z, P], V, "__skc_lp64_qsort"),
    f("rand", &[], I),
    shim("readdir", &[P], P, "__skc_lp64_readdir"),
    shim("readdir64", &[P], P, "__skc_lp64_readdir"),
    f("realloc", &[P, Z], P),
    f("remove", &[P], I),
    f("rename", &[P, P], I),
    f("round", &[D], D),
    va("scanf", &[P], I, "__skc_lp64_scanf"),
    // wasi-libc accepts any locale name; only those it implements succeed.
    shim("setlocale", &[I, P], P, "__skc_lp64_setlocale"),
    // glibc's SIG_IGN (1) and SIG_ERR (-1) are numbers; wasi-libc's are
    // functions of its signal emulation.
    shim("signal", &[I, L], L, "__skc_lp64_signal"),
    f("sin", &[D], D),
    va("snprintf", &[P, Z, P], I, "__skc_lp64_snprintf"),
    va("sprintf", &[P, P], I, "__skc_lp64_sprintf"),
    f("sqrt", &[D], D),
    f("srand", &[U], V),
    va("sscanf", &[P, P], I, "__skc_lp64_sscanf"),
    shim("stat", &[P, P], I, "__skc_lp64_stat"),
    shim("stat64", &[P, P], I, "__skc_lp64_stat"),
    f("strcat", &[P, P], P),
    f("strchr", &[P, I], P),
    f("strcmp", &[P, P], I),
    f("strcpy", &[P, P], P),
    f("strdup", &[P], P),
    // The IL passes glibc's number, which wasi-libc would misread.
    Prototype {
        name: "strerror",
        params: &[I],
        ret: P,
        variadic: false,
        lp64_shim: Some("__skc_lp64_strerror"),
        always_shim: true,
    },
    shim("strftime", &[P, Z, P, P], Z, "__skc_lp64_strftime"),
    f("strlen", &[P], Z),
    f("strncat", &[P, P, Z], P),
    f("strncmp", &[P, P, Z], I),
    f("strncpy", &[P, P, Z], P),
    f("strrchr", &[P, I], P),
    f("strstr", &[P, P], P),
    shim("strtod", &[P, P], D, "__skc_lp64_strtod"),
    shim("strtol", &[P, P, I], L, "__skc_lp64_strtol"),
    shim("strtoll", &[P, P, I], J, "__skc_lp64_strtoll"),
    shim("strtoul", &[P, P, I], L, "__skc_lp64_strtoul"),
    shim("strtoull", &[P, P, I], J, "__skc_lp64_strtoull"),
    f("tan", &[D], D),
    f("time", &[P], J),
    shim("timegm", &[P], J, "__skc_lp64_timegm"),
    f("tolower", &[I], I),
    f("toupper", &[I], I),
    f("trunc", &[D], D),
    alias("truncate64", &[P, J], I, "truncate"),
    f("ungetc", &[I, P], I),
    shim("unlinkat", &[I, P, I], I, "__skc_lp64_unlinkat"),
    shim("vfprintf", &[P, P, P], I, "__skc_lp64_vfprintf"),
    shim("vprintf", &[P, P], I, "__skc_lp64_vprintf"),
    shim("vsnprintf", &[P, Z, P, P], I, "__skc_lp64_vsnprintf"),
    shim("vsprintf", &[P, P, P], I, "__skc_lp64_vsprintf"),
];

/// The prototype of `name`, if the table has one.
pub fn lookup(name: &str) -> Option<&'static Prototype> {
    PROTOTYPES
        .binary_search_by(|p| p.name.cmp(name))
        .ok()
        .map(|i| &PROTOTYPES[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for w in PROTOTYPES.windows(2) {
            assert!(w[0].name < w[1].name, "{} before {}", w[0].name, w[1].name);
        }
        assert_eq!(lookup("printf").map(|p| p.variadic), Some(true));
        assert!(lookup("no_such_function").is_none());
    }

    #[test]
    fn every_long_function_has_a_shim() {
        for p in PROTOTYPES {
            if p.params.contains(&CType::Long) || p.ret == CType::Long {
                assert!(p.lp64_shim.is_some(), "{} needs an LP64 shim", p.name);
            }
        }
    }
}
