//! Removing temporary and staged files when SIGINT, SIGTERM or SIGHUP
//! arrives: those the backend creates while compiling ([`SignalSafeFiles`])
//! and the plan's while a step runs.
//!
//! The handler may only make async-signal-safe calls, so the paths are
//! turned into C strings and published as each file is created (or, for
//! the plan's, before the steps start), and the handler just kills the
//! running step, unlinks, and re-raises the signal with its default action
//! (so the exit status says what happened).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

use anyhow::{Context, Result};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use skc_ir::backend::Files;
use tempfile::NamedTempFile;

/// The files to unlink. Each list is leaked when published, so the handler
/// can read it without allocating or locking.
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

/// Adds `paths` to the files removed on a signal and installs the
/// handler. A file renamed into place stays listed under its temporary
/// name: unlinking a name nothing uses any more is harmless.
pub fn remove_on_signal<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<()> {
    // SAFETY: only this thread publishes lists, and a published list is
    // never freed or changed.
    let mut list = unsafe { DOOMED.load(Ordering::SeqCst).as_ref() }
        .cloned()
        .unwrap_or_default();
    list.extend(paths.into_iter().filter_map(c_path));
    publish(list);
    install_handler()
}

fn c_path(path: &Path) -> Option<CString> {
    CString::new(path.as_os_str().as_bytes()).ok()
}

fn publish(list: Vec<CString>) {
    // Leaked on purpose (as is the list it replaces): the handler may be
    // reading the previous one, and may run at any point until exit.
    DOOMED.store(Box::into_raw(Box::new(list)), Ordering::SeqCst);
}

fn install_handler() -> Result<()> {
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
    let previous = block_handled_signals()?;
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

/// Blocks the handled signals; returns the mask to restore.
fn block_handled_signals() -> std::io::Result<SigSet> {
    let mut handled = SigSet::empty();
    for signal in HANDLED {
        handled.add(signal);
    }
    handled
        .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
        .map_err(std::io::Error::from)
}

/// Runs `create` and lists the file it made for removal on a signal, with
/// the handled signals blocked, so no signal finds it made but unlisted.
fn created_and_listed(
    create: impl FnOnce() -> std::io::Result<NamedTempFile>,
) -> Result<NamedTempFile> {
    let previous = block_handled_signals().context("cannot block signals")?;
    let created = create()
        .map_err(anyhow::Error::from)
        .and_then(|file| remove_on_signal([file.path()]).map(|()| file));
    // A signal that arrived meanwhile is delivered now, and finds the file
    // listed.
    let _ = previous.thread_set_mask();
    created
}

/// The driver's [`Files`]: every file is listed for removal on a signal
/// as it is created.
pub struct SignalSafeFiles;

impl Files for SignalSafeFiles {
    fn staging(&self, dest: &Path, executable: bool) -> Result<NamedTempFile> {
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // The kernel takes the umask (or the directory's default ACL) off
        // the mode given to open(2), as for any compiler's output.
        let mode = if executable { 0o777 } else { 0o666 };
        // `.skc-XXXXXX.wasm.tmp`: what it will be is plain in a listing.
        let mut suffix = std::ffi::OsString::new();
        if let Some(extension) = dest.extension() {
            suffix.push(".");
            suffix.push(extension);
        }
        suffix.push(".tmp");
        created_and_listed(|| {
            tempfile::Builder::new()
                .prefix(".skc-")
                .suffix(&suffix)
                .permissions(std::fs::Permissions::from_mode(mode))
                .tempfile_in(dir)
        })
        .with_context(|| format!("cannot create a file beside `{}`", dest.display()))
    }

    fn temporary(&self, suffix: &str) -> Result<NamedTempFile> {
        created_and_listed(|| {
            tempfile::Builder::new()
                .prefix("skc-")
                .suffix(suffix)
                .tempfile()
        })
        .context("cannot create a temporary file")
    }
}

/// Records the step now running (0: none), for the handler to stop it.
pub fn set_running_child(pid: u32) {
    RUNNING_CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
}
