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
    f("cos", &[D], D),
    f("exit", &[I], V),
    f("exp", &[D], D),
    f("fabs", &[D], D),
    f("fclose", &[P], I),
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
    f("fwrite", &[P, Z, Z, P], Z),
    f("getc", &[P], I),
    f("getchar", &[], I),
    f("getenv", &[P], P),
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
    f("log", &[D], D),
    f("log10", &[D], D),
    f("malloc", &[Z], P),
    f("memchr", &[P, I, Z], P),
    f("memcmp", &[P, P, Z], I),
    f("memcpy", &[P, P, Z], P),
    f("memmove", &[P, P, Z], P),
    f("memset", &[P, I, Z], P),
    f("perror", &[P], V),
    f("pow", &[D, D], D),
    va("printf", &[P], I, "__skc_lp64_printf"),
    f("putc", &[I, P], I),
    f("putchar", &[I], I),
    f("puts", &[P], I),
    shim("qsort", &[P, Z, Z, P], V, "__skc_lp64_qsort"),
    f("rand", &[], I),
    f("realloc", &[P, Z], P),
    f("remove", &[P], I),
    f("rename", &[P, P], I),
    f("round", &[D], D),
    va("scanf", &[P], I, "__skc_lp64_scanf"),
    // glibc's SIG_IGN (1) and SIG_ERR (-1) are numbers; wasi-libc's are
    // functions of its signal emulation.
    shim("signal", &[I, L], L, "__skc_lp64_signal"),
    f("sin", &[D], D),
    va("snprintf", &[P, Z, P], I, "__skc_lp64_snprintf"),
    va("sprintf", &[P, P], I, "__skc_lp64_sprintf"),
    f("sqrt", &[D], D),
    f("srand", &[U], V),
    va("sscanf", &[P, P], I, "__skc_lp64_sscanf"),
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
    f("tolower", &[I], I),
    f("toupper", &[I], I),
    f("trunc", &[D], D),
    f("ungetc", &[I, P], I),
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
