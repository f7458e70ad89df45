//! The LLVM IR each clang reads, where versions differ.
//!
//! skc writes one text for every clang from 15 (the first to read opaque
//! pointers by default) to the newest, except where an older LLVM lacks
//! a construct. An unknown `llvm.*` function is not an error to those
//! versions: clang 15 compiles `@llvm.threadlocal.address.p0` as a call
//! to an external function of that name, and the link fails.

/// The constructs that depend on the LLVM version reading the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dialect {
    /// `llvm.threadlocal.address` (LLVM 16): the address of a
    /// thread-local variable goes through it, so that LLVM never reuses an
    /// address computed on another thread. Before, the global is itself
    /// the address.
    pub threadlocal_address: bool,
}

impl Dialect {
    /// What the newest LLVM reads; for an unknown version.
    pub const NEWEST: Dialect = Dialect {
        threadlocal_address: true,
    };

    /// The dialect of LLVM `major` (`None`: unknown, the newest).
    pub fn for_llvm(major: Option<u32>) -> Dialect {
        match major {
            None => Dialect::NEWEST,
            Some(v) => Dialect {
                threadlocal_address: v >= 16,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_local_intrinsic_starts_with_llvm_16() {
        assert!(!Dialect::for_llvm(Some(15)).threadlocal_address);
        assert!(Dialect::for_llvm(Some(16)).threadlocal_address);
        assert_eq!(Dialect::for_llvm(None), Dialect::NEWEST);
    }
}
