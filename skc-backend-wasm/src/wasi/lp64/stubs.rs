//! POSIX functions WASI has no equivalent for, and what a program that
//! calls them gets on wasm32.
//!
//! wasi-libc leaves out processes, pipes, temporary files, dynamic loading
//! and most of signals. A C program that merely mentions them (Lua's `os`
//! and `io` libraries do) would not link. skc links stand-ins instead
//! (`runtime/stubs/posix_stubs.c`, an archive searched after wasi-libc),
//! which fail as POSIX says a missing facility fails, and the link step
//! prints a note naming the ones the program uses ([`note`]).
//! `--no-stubs` turns that note into an error. The functions with real
//! behaviour in a single-threaded program without signals (stream locks,
//! signal sets) are linked without a note.
//!
//! Signals and the other facilities wasi-libc emulates in libraries of
//! its own ([`EMULATION_LIBRARIES`]) are linked from them.

use std::collections::BTreeMap;

/// Stand-ins that fail: `-1` or `NULL` with `errno` set to `ENOSYS`
/// (`system(NULL)` returns 0: there is no command processor).
pub const FAILING: &[&str] = &[
    "dlclose",
    "dlerror",
    "dlopen",
    "dlsym",
    "execv",
    "execve",
    "execvp",
    "fork",
    "kill",
    "mkstemp",
    "mkstemp64",
    "pclose",
    "pipe",
    "popen",
    "sigaction",
    "sigprocmask",
    "system",
    "tmpfile",
    "tmpfile64",
    "tmpnam",
    "vfork",
    "wait",
    "waitpid",
];

/// Stand-ins that do what the function does, as far as a WASI program
/// can tell: stream locks in a single-threaded program, signal sets
/// (glibc's 128-byte layout).
pub const WORKING: &[&str] = &[
    "flockfile",
    "ftrylockfile",
    "funlockfile",
    "sigaddset",
    "sigdelset",
    "sigemptyset",
    "sigfillset",
    "sigismember",
];

/// wasi-libc's emulation libraries, linked after it: their members are
/// taken only by programs that call `signal`/`raise`, `mmap`/`munmap`,
/// `times`/`getrusage` or `getpid`.
pub const EMULATION_LIBRARIES: &[&str] = &[
    "wasi-emulated-signal",
    "wasi-emulated-mman",
    "wasi-emulated-process-clocks",
    "wasi-emulated-getpid",
];

/// The macros wasi-libc's headers require before they declare what the
/// emulation libraries define; C inputs are compiled with them.
pub const EMULATION_DEFINES: &[&str] = &[
    "-D_WASI_EMULATED_SIGNAL",
    "-D_WASI_EMULATED_MMAN",
    "-D_WASI_EMULATED_PROCESS_CLOCKS",
    "-D_WASI_EMULATED_GETPID",
];

/// Whether `name` has a stand-in.
pub fn is_stubbed(name: &str) -> bool {
    FAILING.binary_search(&name).is_ok() || WORKING.binary_search(&name).is_ok()
}

/// Whether an object (its bytes) imports a function that has a stand-in.
pub fn object_needs_stubs(object: &[u8]) -> bool {
    crate::wasi::bridge::objects::read(object)
        .is_ok_and(|f| f.undefined.iter().any(|u| is_stubbed(&u.name)))
}

/// The message naming the failing stand-ins a link uses: `uses` maps each
/// function to the inputs that call it. `None` when there are none.
pub fn note(uses: &BTreeMap<String, Vec<String>>, refused: bool) -> Option<String> {
    let failing: Vec<String> = uses
        .iter()
        .filter(|(name, _)| refused || FAILING.binary_search(&name.as_str()).is_ok())
        .map(|(name, inputs)| format!("`{name}` ({})", inputs.join(", ")))
        .collect();
    if failing.is_empty() {
        return None;
    }
    Some(if refused {
        format!(
            "the C library of wasm32-wasi lacks {}; without --no-stubs skc links stand-ins \
             for them (docs/wasm32-libc.md)",
            failing.join(", ")
        )
    } else {
        format!(
            "WASI has no equivalent of {}: they are linked as stand-ins that fail with ENOSYS \
             (docs/wasm32-libc.md; --no-stubs refuses them)",
            failing.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = include_str!("../../../runtime/stubs/posix_stubs.c");

    #[test]
    fn the_lists_are_sorted_and_match_the_c_source() {
        for list in [FAILING, WORKING] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
            for name in list {
                let defined = SOURCE.lines().any(|l| {
                    !l.starts_with(' ')
                        && !l.starts_with("static")
                        && l.contains(&format!(" {name}("))
                        || l.contains(&format!("*{name}("))
                });
                assert!(defined, "{name} is not defined in posix_stubs.c");
            }
        }
        assert!(FAILING.iter().all(|n| !WORKING.contains(n)));
    }

    #[test]
    fn the_note_names_each_failing_function_and_its_inputs() {
        let mut uses = BTreeMap::new();
        uses.insert("system".to_string(), vec!["a.ssa".to_string()]);
        uses.insert("flockfile".to_string(), vec!["b.ssa".to_string()]);
        let n = note(&uses, false).expect("a note");
        assert!(n.contains("`system` (a.ssa)"), "{n}");
        assert!(!n.contains("flockfile"), "{n}");
        let refused = note(&uses, true).expect("an error");
        assert!(refused.contains("without --no-stubs"), "{refused}");
        assert!(refused.contains("`flockfile` (b.ssa)"), "{refused}");
        uses.remove("system");
        assert_eq!(note(&uses, false), None);
    }
}
