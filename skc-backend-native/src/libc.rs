//! Pointer positions of common C library functions.
//!
//! IL passes pointers as `l`. LLVM recognises library functions (and
//! reasons about `malloc`'s fresh memory, `memcpy`'s effects, ...) only when
//! their declarations have C-shaped prototypes, so for these names the `l`
//! arguments and results in pointer positions are lowered as `ptr`.

/// Shape of a known function: `p` marks a pointer, anything else a
/// non-pointer; the first character is the result, the rest the arguments.
pub fn known_shape(name: &str) -> Option<&'static [u8]> {
    let shape: &'static str = match name {
        "malloc" | "valloc" => "pi",
        "calloc" | "aligned_alloc" => "pii",
        "realloc" => "ppi",
        "free" | "puts" | "strlen" | "atoi" | "atol" | "atof" | "perror" => "ip",
        "memcpy" | "memmove" | "memccpy" | "mempcpy" => "pppi",
        "memset" | "memchr" | "memrchr" => "ppii",
        "memcmp" | "strncmp" | "bcmp" => "ippi",
        "strcmp" | "strcoll" | "fputs" | "strspn" | "strcspn" => "ipp",
        "strcpy" | "strcat" | "strstr" | "strpbrk" | "fopen" => "ppp",
        "strncpy" | "strncat" => "pppi",
        "strchr" | "strrchr" => "ppi",
        "strdup" => "pp",
        "strndup" => "ppi",
        "strtol" | "strtoul" | "strtoll" | "strtoull" => "ippi",
        "strtod" | "strtof" => "ipp",
        "qsort" => "ipiip",
        "bsearch" => "pppiip",
        "printf" | "scanf" => "ip",
        "fprintf" | "sprintf" | "fscanf" | "sscanf" | "vprintf" => "ipp",
        "snprintf" => "ipip",
        "vfprintf" | "vsprintf" => "ippp",
        "vsnprintf" => "ipipp",
        "fwrite" | "fread" => "ipiip",
        "fclose" | "fflush" | "fgetc" | "getc" => "ip",
        "fputc" | "putc" => "iip",
        "fgets" => "ppip",
        _ => return None,
    };
    Some(shape.as_bytes())
}

/// Whether argument `index` of `name` is a pointer.
pub fn param_is_ptr(name: &str, index: usize) -> bool {
    known_shape(name).is_some_and(|s| s.get(index + 1) == Some(&b'p'))
}

/// Whether `name` returns a pointer.
pub fn returns_ptr(name: &str) -> bool {
    known_shape(name).is_some_and(|s| s[0] == b'p')
}

/// Whether `name` is a C library function that does not return (it ends
/// the program, or unwinds to a `setjmp`): the paths calling it are error
/// paths. Calls to them are marked `cold`, a hint for code placement only,
/// so a program that defines a returning function of such a name still runs
/// as written; C headers say `noreturn`, the IL cannot.
pub fn never_returns(name: &str) -> bool {
    matches!(
        name,
        "exit"
            | "_exit"
            | "_Exit"
            | "quick_exit"
            | "abort"
            | "longjmp"
            | "_longjmp"
            | "siglongjmp"
            | "__longjmp_chk"
            | "__assert_fail"
            | "__assert_perror_fail"
            | "__assert"
            | "err"
            | "errx"
            | "verr"
            | "verrx"
            | "pthread_exit"
            | "thrd_exit"
            | "__stack_chk_fail"
    )
}

/// Names of C library functions (C, POSIX, GNU) that an optimiser may
/// recognise by name: LLVM folds, rewrites or reasons about calls to
/// them. The mathematical functions also have their `f` and `l` forms.
const LIBRARY_NAMES: &[&str] = &[
    "_Exit",
    "abort",
    "abs",
    "access",
    "aligned_alloc",
    "atexit",
    "atof",
    "atoi",
    "atol",
    "atoll",
    "bcmp",
    "bcopy",
    "bsearch",
    "bzero",
    "calloc",
    "chmod",
    "chown",
    "clearerr",
    "close",
    "closedir",
    "ctermid",
    "dup",
    "execl",
    "execle",
    "execlp",
    "execv",
    "execvp",
    "execvpe",
    "exit",
    "fclose",
    "fdopen",
    "feof",
    "ferror",
    "fflush",
    "ffs",
    "ffsl",
    "ffsll",
    "fgetc",
    "fgetc_unlocked",
    "fgetpos",
    "fgets",
    "fgets_unlocked",
    "fileno",
    "fls",
    "flsl",
    "flsll",
    "flockfile",
    "fopen",
    "fopen64",
    "fork",
    "fprintf",
    "fputc",
    "fputc_unlocked",
    "fputs",
    "fputs_unlocked",
    "fread",
    "fread_unlocked",
    "free",
    "fscanf",
    "fseek",
    "fseeko",
    "fseeko64",
    "fsetpos",
    "fstat",
    "fstat64",
    "fstatvfs",
    "fstatvfs64",
    "ftell",
    "ftello",
    "ftello64",
    "ftrylockfile",
    "funlockfile",
    "fwrite",
    "fwrite_unlocked",
    "getc",
    "getc_unlocked",
    "getchar",
    "getchar_unlocked",
    "getenv",
    "getitimer",
    "getlogin_r",
    "getpwnam",
    "gets",
    "gettimeofday",
    "htonl",
    "htons",
    "index",
    "isascii",
    "isdigit",
    "labs",
    "lchown",
    "llabs",
    "lstat",
    "lstat64",
    "malloc",
    "memalign",
    "memccpy",
    "memchr",
    "memcmp",
    "memcpy",
    "memmove",
    "mempcpy",
    "memrchr",
    "memset",
    "memset_pattern16",
    "mkdir",
    "mktime",
    "ntohl",
    "ntohs",
    "open",
    "open64",
    "opendir",
    "pclose",
    "perror",
    "popen",
    "posix_memalign",
    "pread",
    "printf",
    "putc",
    "putc_unlocked",
    "putchar",
    "putchar_unlocked",
    "puts",
    "pvalloc",
    "pwrite",
    "qsort",
    "read",
    "readlink",
    "realloc",
    "reallocarray",
    "reallocf",
    "realpath",
    "remove",
    "rename",
    "rewind",
    "rindex",
    "rmdir",
    "scanf",
    "setbuf",
    "setitimer",
    "setvbuf",
    "siprintf",
    "snprintf",
    "sprintf",
    "sscanf",
    "stat",
    "stat64",
    "statvfs",
    "statvfs64",
    "stpcpy",
    "stpncpy",
    "strcasecmp",
    "strcat",
    "strchr",
    "strcmp",
    "strcoll",
    "strcpy",
    "strcspn",
    "strdup",
    "strlcat",
    "strlcpy",
    "strlen",
    "strncasecmp",
    "strncat",
    "strncmp",
    "strncpy",
    "strndup",
    "strnlen",
    "strpbrk",
    "strrchr",
    "strspn",
    "strstr",
    "strtod",
    "strtof",
    "strtok",
    "strtok_r",
    "strtol",
    "strtold",
    "strtoll",
    "strtoul",
    "strtoull",
    "strxfrm",
    "system",
    "times",
    "tmpfile",
    "tmpfile64",
    "toascii",
    "uname",
    "ungetc",
    "unlink",
    "unsetenv",
    "utime",
    "utimes",
    "valloc",
    "vec_calloc",
    "vec_free",
    "vec_malloc",
    "vec_realloc",
    "vfprintf",
    "vfscanf",
    "vprintf",
    "vscanf",
    "vsnprintf",
    "vsprintf",
    "vsscanf",
    "write",
];

/// Mathematical functions, named here without their `f`/`l` suffix.
const MATH_NAMES: &[&str] = &[
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "cabs",
    "cbrt",
    "ceil",
    "copysign",
    "cos",
    "cosh",
    "cospi",
    "erf",
    "erfc",
    "exp",
    "exp10",
    "exp2",
    "expm1",
    "fabs",
    "fdim",
    "floor",
    "fma",
    "fmax",
    "fmin",
    "fmod",
    "frexp",
    "hypot",
    "ilogb",
    "ldexp",
    "lgamma",
    "llrint",
    "llround",
    "log",
    "log10",
    "log1p",
    "log2",
    "logb",
    "lrint",
    "lround",
    "modf",
    "nan",
    "nearbyint",
    "nextafter",
    "nexttoward",
    "pow",
    "remainder",
    "remquo",
    "rint",
    "round",
    "roundeven",
    "scalbln",
    "scalbn",
    "sin",
    "sincos",
    "sincospi",
    "sinh",
    "sinpi",
    "sqrt",
    "tan",
    "tanh",
    "tgamma",
    "trunc",
];

/// Whether an optimiser may take a function named `name` for a C library
/// function.
pub fn is_library_name(name: &str) -> bool {
    if LIBRARY_NAMES.contains(&name) {
        return true;
    }
    let base = name
        .strip_suffix('f')
        .filter(|b| MATH_NAMES.contains(b))
        .or_else(|| name.strip_suffix('l').filter(|b| MATH_NAMES.contains(b)))
        .unwrap_or(name);
    MATH_NAMES.contains(&base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names_with_and_without_suffixes() {
        for name in [
            "round", "roundf", "roundl", "abs", "memcpy", "printf", "sqrtl",
        ] {
            assert!(is_library_name(name), "{name}");
        }
        for name in ["rounds", "my_abs", "main", "f", "l", "pow2"] {
            assert!(!is_library_name(name), "{name}");
        }
    }
}
