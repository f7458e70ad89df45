//! How a run or a call ends other than by returning: a [`Stop`] ends the
//! run with a reason; an [`Exit`] is what unwinds calls (`exit`, a
//! `longjmp` to a [`Site`], or a stop).

/// Why a run stopped before the program ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The program reached undefined behaviour.
    Undefined(String),
    /// It used something the interpreter does not provide.
    Unsupported(String),
    /// It ran past the step or memory limit.
    Limit(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Undefined(m) => write!(f, "undefined behaviour: {m}"),
            Stop::Unsupported(m) => write!(f, "unsupported: {m}"),
            Stop::Limit(m) => write!(f, "limit: {m}"),
        }
    }
}

/// How a call ended other than by returning.
pub(super) enum Exit {
    /// `exit(status)` or `abort()` (134).
    Exited(i32),
    Stopped(Stop),
    /// `longjmp` to the `setjmp` call `site`, which returns `value`.
    LongJmp {
        site: Site,
        value: u64,
    },
}

/// Where a call is: the activation (its number) and the instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Site {
    pub(super) frame: u64,
    pub(super) block: usize,
    pub(super) inst: usize,
}

impl From<Stop> for Exit {
    fn from(s: Stop) -> Self {
        Exit::Stopped(s)
    }
}
