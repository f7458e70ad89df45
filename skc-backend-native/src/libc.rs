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
