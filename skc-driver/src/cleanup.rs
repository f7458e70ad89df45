//! Removing the plan's temporary and staged files when SIGINT, SIGTERM or
//! SIGHUP arrives while a step runs.
//!
//! The handler may only make async-signal-safe calls, so the paths are
//! turned into C strings and published before the steps start, and the
//! handler just kills the running step, unlinks, and re-raises the signal
//! with its default action (so the exit status says what happened).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

use anyhow::{Context, Result};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The files to unlink, leaked once per run so the handler can read them
/// without allocating or locking.
static DOOMED: AtomicPtr<Vec<CString>> = AtomicPtr::new(std::ptr::null_mut());
/// The running step's process id, 0 when none.
static RUNNING_CHILD: AtomicI32 = AtomicI32::new(0);

const HANDLED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

extern "C" fn remove_files_and_reraise(signal: libc::c_int) {
    let child = RUNNING_CHILD.load(Ordering::SeqCst);
    // SAFETY: kill, waitpid, unlink, signal and raise are async-signal-safe;
    // the list behind DOOMED is never freed or changed once published.
    unsafe {
        if child > 0 {
            libc::kill(child, signal);
            libc::waitpid(child, std::ptr::null_mut(), 0);
        }
        if let Some(paths) = DOOMED.load(Ordering::SeqCst).as_ref() {
            for path in paths {
                libc::unlink(path.as_ptr());
            }
        }
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

/// Publishes `paths` for removal on a signal and installs the handler.
pub fn remove_on_signal<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<()> {
    let list: Vec<CString> = paths
        .into_iter()
        .filter_map(|p| CString::new(p.as_os_str().as_bytes()).ok())
        .collect();
    // Leaked on purpose: the handler may run at any point until exit.
    DOOMED.store(Box::into_raw(Box::new(list)), Ordering::SeqCst);
    let action = SigAction::new(
        SigHandler::Handler(remove_files_and_reraise),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in HANDLED {
        // SAFETY: the handler above only makes async-signal-safe calls.
        unsafe { sigaction(signal, &action) }
            .with_context(|| format!("cannot install a {signal} handler"))?;
    }
    Ok(())
}

/// Starts `command` and records it as the running step. The handled
/// signals are blocked meanwhile, so one arriving between the start and the
/// record is delivered after the record (and stops the new step); the child
/// gets the mask skc had before.
pub fn spawn_recorded(command: &mut std::process::Command) -> std::io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    let mut handled = SigSet::empty();
    for signal in HANDLED {
        handled.add(signal);
    }
    let previous = handled
        .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
        .map_err(std::io::Error::from)?;
    let child_mask = previous;
    // SAFETY: between fork and exec the closure only calls
    // pthread_sigmask, which is async-signal-safe.
    unsafe {
        command.pre_exec(move || child_mask.thread_set_mask().map_err(std::io::Error::from));
    }
    let child = command.spawn();
    if let Ok(child) = &child {
        set_running_child(child.id());
    }
    // Restoring the mask delivers a pending signal now that the child is
    // recorded.
    let _ = previous.thread_set_mask();
    child
}

/// Records the step now running (0: none), for the handler to stop it.
pub fn set_running_child(pid: u32) {
    RUNNING_CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
}
