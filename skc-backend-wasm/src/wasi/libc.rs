//! Result types of common C library functions on wasm32.
//!
//! An IL call that does not bind a result says nothing about whether the
//! callee returns one, but the import's wasm signature must match the
//! definition exactly or the linker replaces calls with a trap. For an
//! undefined function that no call site gives a result type, this table
//! supplies it (the call sites that ignore it then drop it). Types follow
//! wasm32 C: `int`, `long`, `size_t` and pointers are i32; `long long`,
//! `time_t` and `clock_t` are i64.

use wasm_encoder::ValType;

const I32_RESULT: &[&str] = &[
    "abs",
    "atoi",
    "atol",
    "calloc",
    "close",
    "fclose",
    "feof",
    "ferror",
    "fflush",
    "fgetc",
    "fgets",
    "fopen",
    "fprintf",
    "fputc",
    "fputs",
    "fread",
    "fscanf",
    "fseek",
    "ftell",
    "fwrite",
    "getc",
    "getchar",
    "getenv",
    "isalnum",
    "isalpha",
    "iscntrl",
    "isdigit",
    "islower",
    "isprint",
    "ispunct",
    "isspace",
    "isupper",
    "isxdigit",
    "labs",
    "malloc",
    "memchr",
    "memcmp",
    "memcpy",
    "memmove",
    "memset",
    "printf",
    "putc",
    "putchar",
    "puts",
    "rand",
    "read",
    "realloc",
    "remove",
    "rename",
    "scanf",
    "snprintf",
    "sprintf",
    "sscanf",
    "strcat",
    "strchr",
    "strcmp",
    "strcpy",
    "strdup",
    "strlen",
    "strncat",
    "strncmp",
    "strncpy",
    "strndup",
    "strnlen",
    "strrchr",
    "strstr",
    "strtok",
    "strtol",
    "strtoul",
    "system",
    "tolower",
    "toupper",
    "ungetc",
    "vfprintf",
    "vprintf",
    "vsnprintf",
    "vsprintf",
    "write",
];

const I64_RESULT: &[&str] = &["atoll", "clock", "llabs", "strtoll", "strtoull", "time"];

const F64_RESULT: &[&str] = &[
    "atan", "atan2", "atof", "ceil", "cos", "exp", "fabs", "floor", "fmod", "log", "log10", "pow",
    "round", "sin", "sqrt", "strtod", "tan", "trunc",
];

const F32_RESULT: &[&str] = &[
    "ceilf", "cosf", "expf", "fabsf", "floorf", "logf", "powf", "sinf", "sqrtf", "strtof",
];

/// The result type of a known C library function, if it has one.
pub fn known_result(name: &str) -> Option<ValType> {
    let tables: [(&[&str], ValType); 4] = [
        (I32_RESULT, ValType::I32),
        (I64_RESULT, ValType::I64),
        (F64_RESULT, ValType::F64),
        (F32_RESULT, ValType::F32),
    ];
    tables
        .into_iter()
        .find(|(names, _)| names.binary_search(&name).is_ok())
        .map(|(_, t)| t)
}

/// C library functions without a result, which the lists above do not
/// name (they go by result type).
const VOID_FUNCTIONS: &[&str] = &[
    "_Exit", "abort", "clearerr", "exit", "free", "longjmp", "perror", "qsort", "rewind", "setbuf",
    "srand",
];

/// Whether `name` is a C library function skc knows: in the LP64
/// prototype table, or here with or without a result. Such a symbol is a
/// function even where IL only takes its address ([`crate::object::kinds`]).
pub fn is_c_library_function(name: &str) -> bool {
    crate::wasi::lp64::table::lookup(name).is_some()
        || known_result(name).is_some()
        || VOID_FUNCTIONS.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for t in [I32_RESULT, I64_RESULT, F64_RESULT, F32_RESULT] {
            assert!(t.windows(2).all(|w| w[0] < w[1]), "{t:?}");
        }
        assert_eq!(known_result("puts"), Some(ValType::I32));
        assert_eq!(known_result("time"), Some(ValType::I64));
        assert_eq!(known_result("free"), None);
    }

    #[test]
    fn void_functions_are_sorted() {
        assert!(VOID_FUNCTIONS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_c_library_function("printf"));
        assert!(is_c_library_function("free"));
        assert!(!is_c_library_function("stdout"));
    }
}
