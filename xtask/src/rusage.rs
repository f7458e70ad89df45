//! Running a child process and reading its peak memory use.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// What a finished child cost.
pub struct Usage {
    /// Wall-clock time from spawn to exit.
    pub wall: Duration,
    /// User plus system CPU time of the child: on a busy machine this
    /// varies much less than wall time.
    pub cpu: Duration,
    /// Peak resident set size in bytes (the kernel's `ru_maxrss`).
    pub peak_rss: u64,
}

/// Runs `cmd` to completion, failing if it does not exit with status 0.
/// The peak RSS comes from `wait4` on that very child, so other processes
/// (cargo, the generator) do not count.
pub fn run_measured(cmd: &mut Command) -> anyhow::Result<Usage> {
    let start = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data, fully written by a successful
    // wait4; `pid` is our own unreaped child, so nothing else reaps it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = loop {
        // SAFETY: valid pointers to locals for the duration of the call.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall = start.elapsed();
    // Dropping a Child neither waits nor kills; the pid is reaped above.
    drop(child);
    if got != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("{:?} failed (wait status {status:#x})", cmd.get_program());
    }
    let timeval = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok(Usage {
        wall,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        // Linux reports kilobytes.
        peak_rss: (usage.ru_maxrss as u64) * 1024,
    })
}
