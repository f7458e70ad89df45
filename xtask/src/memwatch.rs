//! Peak memory of a whole process tree, sampled from `/proc`.
//!
//! `wait4`'s `ru_maxrss` is the peak of one process at a time; a driver
//! that runs its linker as a child needs the peak of the *sum*: the driver
//! and everything it started, alive at the same moment. [`run_watched`]
//! spawns a command and, until it exits, repeatedly finds its descendants
//! (through the parent pid in every `/proc/<pid>/stat`) and adds up their
//! `VmRSS`. Each process's own high-water mark (`VmHWM`) is kept too,
//! keyed by pid *and* name, because `exec` gives a process a new name and
//! a fresh high-water mark: a driver that becomes its linker shows up as
//! two entries.
//!
//! The sum is sampled, so a spike shorter than the interval between two
//! samples can be missed; [`Watched::sample_rate_hz`] tells how dense the
//! sampling was. The per-process peaks are exact up to the last sample
//! taken before each process ended.

use std::collections::{BTreeMap, HashMap};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// The default pause between two samples. A scan of `/proc` takes a few
/// milliseconds on a busy machine, so this keeps well above 100 Hz.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(1);

/// One process's peak, as `/proc/<pid>/status` reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessPeak {
    /// The process id.
    pub pid: u32,
    /// The command name (`Name:`, at most 15 bytes) while this peak was seen.
    pub name: String,
    /// The largest `VmHWM` seen, in bytes.
    pub peak_bytes: u64,
}

/// What [`run_watched`] saw.
#[derive(Debug)]
pub struct Watched {
    /// How the command ended.
    pub status: ExitStatus,
    /// The largest sum of `VmRSS` over the tree, in bytes.
    pub tree_peak_bytes: u64,
    /// The largest sum of `VmRSS` over the processes of the tree *not*
    /// named `apart` when [`run_watched`] was given a name (else 0):
    /// what the tools a driver runs cost together, without the driver.
    pub others_peak_bytes: u64,
    /// Every process seen in the tree, in order of first sighting.
    pub processes: Vec<ProcessPeak>,
    /// Samples taken.
    pub samples: u64,
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// The command's standard output.
    pub stdout: Vec<u8>,
    /// The command's standard error.
    pub stderr: Vec<u8>,
}

impl Watched {
    /// Samples per second of wall time.
    pub fn sample_rate_hz(&self) -> f64 {
        self.samples as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Runs `cmd` to its end while sampling the memory of it and all its
/// descendants every `interval`. Standard output and error are captured
/// (read by helper threads, so a chatty child cannot block on a full pipe).
/// A non-zero exit is not an error here: check [`Watched::status`].
/// Processes not named `apart` (a `Name:` from `/proc/<pid>/status`)
/// are also summed on their own into [`Watched::others_peak_bytes`].
pub fn run_watched(
    cmd: &mut Command,
    interval: Duration,
    apart: Option<&str>,
) -> anyhow::Result<Watched> {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let root = child.id();
    let out_reader = drain(child.stdout.take());
    let err_reader = drain(child.stderr.take());

    let mut peaks: Vec<ProcessPeak> = Vec::new();
    let mut index: HashMap<(u32, String), usize> = HashMap::new();
    let mut tree_peak_bytes = 0u64;
    let mut others_peak_bytes = 0u64;
    let mut samples = 0u64;
    let status = loop {
        // Sample before asking whether the child ended: once it is reaped
        // its `/proc` entry is gone.
        let mut sum = 0u64;
        let mut others = 0u64;
        for pid in tree_of(root) {
            let Some(status) = read_status(pid) else {
                continue;
            };
            sum += status.rss_bytes;
            if apart.is_some_and(|name| name != status.name) {
                others += status.rss_bytes;
            }
            let key = (pid, status.name.clone());
            match index.get(&key) {
                Some(&i) => peaks[i].peak_bytes = peaks[i].peak_bytes.max(status.hwm_bytes),
                None => {
                    index.insert(key, peaks.len());
                    peaks.push(ProcessPeak {
                        pid,
                        name: status.name,
                        peak_bytes: status.hwm_bytes,
                    });
                }
            }
        }
        tree_peak_bytes = tree_peak_bytes.max(sum);
        others_peak_bytes = others_peak_bytes.max(others);
        samples += 1;
        if let Some(status) = child.try_wait().context("cannot wait for the child")? {
            break status;
        }
        std::thread::sleep(interval);
    };
    let wall = start.elapsed();
    Ok(Watched {
        status,
        tree_peak_bytes,
        others_peak_bytes,
        processes: peaks,
        samples,
        wall,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

fn drain<R: std::io::Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error only shortens the captured text.
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// `root` and all its living descendants.
pub fn tree_of(root: u32) -> Vec<u32> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(ppid) = read_ppid(pid) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() {
        if let Some(kids) = children.get(&tree[next]) {
            tree.extend_from_slice(kids);
        }
        next += 1;
    }
    tree
}

/// The parent pid from `/proc/<pid>/stat`: the second field after the
/// command name, which is in parentheses and may itself contain spaces
/// and parentheses, hence the search from the right.
fn read_ppid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_ppid(&stat)
}

fn parse_ppid(stat: &str) -> Option<u32> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_ascii_whitespace();
    let _state = fields.next()?;
    fields.next()?.parse().ok()
}

struct Status {
    name: String,
    rss_bytes: u64,
    hwm_bytes: u64,
}

fn read_status(pid: u32) -> Option<Status> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status(&text)
}

fn parse_status(text: &str) -> Option<Status> {
    let mut name = None;
    let mut rss = 0;
    let mut hwm = 0;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("Name:") {
            name = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("VmRSS:") {
            rss = kib_field(v)?;
        } else if let Some(v) = line.strip_prefix("VmHWM:") {
            hwm = kib_field(v)?;
        }
    }
    // Zombies and kernel threads have no Vm lines: they count as zero.
    Some(Status {
        name: name?,
        rss_bytes: rss * 1024,
        hwm_bytes: hwm * 1024,
    })
}

fn kib_field(value: &str) -> Option<u64> {
    value.trim().trim_end_matches("kB").trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_pid_is_found_after_a_name_with_parentheses() {
        assert_eq!(parse_ppid("42 (a) b) (c) S 17 42 42 0"), Some(17));
        assert_eq!(parse_ppid("42 (sh) R 1 42"), Some(1));
        assert_eq!(parse_ppid("garbage"), None);
    }

    #[test]
    fn status_fields_are_read_in_bytes() {
        let s = parse_status("Name:\tclang-19\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n")
            .expect("parsed");
        assert_eq!(s.name, "clang-19");
        assert_eq!((s.rss_bytes, s.hwm_bytes), (1024 * 1024, 2048 * 1024));
    }

    /// A shell whose child holds 32 MiB for a while: the tree peak must
    /// include the child's memory, which the parent's own peak does not.
    #[test]
    fn the_memory_of_a_child_counts_towards_the_tree() {
        let child = r#"x=$(head -c 33554432 /dev/zero | tr '\0' a); sleep 0.3; echo ${#x}"#;
        let watched = run_watched(
            Command::new("sh").args([
                "-c",
                &format!("sh -c '{}'; exit 3", child.replace('\'', "'\\''")),
            ]),
            DEFAULT_INTERVAL,
            None,
        )
        .expect("sh runs");
        assert_eq!(watched.status.code(), Some(3), "{watched:?}");
        assert_eq!(watched.stdout, b"33554432\n");
        let outer = watched.processes.first().expect("the root was sampled");
        assert!(outer.peak_bytes < 16 << 20, "{watched:?}");
        assert!(watched.tree_peak_bytes >= 32 << 20, "{watched:?}");
        assert_eq!(watched.others_peak_bytes, 0, "nothing was set apart");
    }

    /// Setting the shells apart leaves only `cat`, which holds little.
    #[test]
    fn processes_set_apart_are_left_out_of_the_others_sum() {
        let watched = run_watched(
            Command::new("sh").args([
                "-c",
                "x=$(head -c 33554432 /dev/zero | tr '\\0' a); sleep 0.2 | cat",
            ]),
            DEFAULT_INTERVAL,
            Some("sh"),
        )
        .expect("sh runs");
        assert!(watched.status.success(), "{watched:?}");
        assert!(watched.tree_peak_bytes >= 32 << 20, "{watched:?}");
        assert!(watched.others_peak_bytes < 16 << 20, "{watched:?}");
        assert!(watched.others_peak_bytes > 0, "{watched:?}");
    }

    #[test]
    fn output_is_captured_and_the_tree_contains_the_root() {
        let watched = run_watched(
            Command::new("sh").args(["-c", "echo out; echo err >&2; sleep 0.1"]),
            DEFAULT_INTERVAL,
            None,
        )
        .expect("sh runs");
        assert!(watched.status.success());
        assert_eq!(watched.stdout, b"out\n");
        assert_eq!(watched.stderr, b"err\n");
        assert!(watched.samples >= 5, "{} samples", watched.samples);
        assert!(
            watched.sample_rate_hz() >= 100.0,
            "{}",
            watched.sample_rate_hz()
        );
    }
}
