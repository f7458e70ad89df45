//! Keeping glibc's `errno` numbers (what LP64 IL compares with) in step
//! with WASI's (what wasi-libc writes).
//!
//! IL reads and writes `errno` through the pointer `__errno_location`
//! returns: the runtime hands out a slot holding the Linux number and
//! copies between it and wasi-libc's `errno` (`runtime/glibc_misc.c`).
//! Seeing a write needs a comparison with the last value seen, and a C
//! function that sets `errno` to the value it already had (the second
//! `errno = 0; strtod(big)` in a loop) changes nothing visible. So the
//! link bridge also calls [`SYNC`] before and after every IL call of a C
//! function that may set `errno`: before, to hand C what the IL wrote;
//! after, to take what C wrote. Between two such points only one side
//! runs, so whichever value changed is the newer one.

/// The function IL calls for the address of `errno`.
pub const LOCATION: &str = "__errno_location";
/// The runtime's synchronisation point, `void __skc_errno_sync(void)`.
pub const SYNC: &str = "__skc_errno_sync";

/// Functions that never set `errno` (C11 7.24, 7.4 and 7.22.6 give them
/// no error to report): calls to them need no synchronisation, which
/// keeps string and memory loops free of it.
const NEVER_SET: &[&str] = &[
    "__ctype_b_loc",
    "__ctype_tolower_loc",
    "__ctype_toupper_loc",
    "abs",
    "ceil",
    "copysign",
    "fabs",
    "floor",
    "labs",
    "llabs",
    "memchr",
    "memcmp",
    "memcpy",
    "memmove",
    "memset",
    "strcat",
    "strchr",
    "strcmp",
    "strcpy",
    "strcspn",
    "strlen",
    "strncat",
    "strncmp",
    "strncpy",
    "strnlen",
    "strpbrk",
    "strrchr",
    "strspn",
    "strstr",
    "tolower",
    "toupper",
    "trunc",
];

/// Whether an IL call of the C function `name` needs [`SYNC`] around it.
pub fn may_set_errno(name: &str) -> bool {
    name != LOCATION && name != SYNC && NEVER_SET.binary_search(&name).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_the_rest_may_set_errno() {
        assert!(NEVER_SET.windows(2).all(|w| w[0] < w[1]));
        assert!(!may_set_errno("memcpy") && !may_set_errno(LOCATION));
        assert!(may_set_errno("strtod") && may_set_errno("__skc_lp64_strtol"));
    }
}
