//! Memory facts for `--stats`, and handing freed heap back to the OS
//! before the link steps run.

/// Returns freed heap pages to the kernel, so the driver's resident size
/// while a link step runs is what it still uses, not what it once used.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The process's current resident set size in KiB (Linux `/proc`).
pub fn current_rss_kib() -> Option<u64> {
    status_field_kib("VmRSS:")
}

/// The process's peak resident set size so far, in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    status_field_kib("VmHWM:")
}

fn status_field_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// `1234` KiB as `1.2 MiB`.
pub fn format_kib(kib: Option<u64>) -> String {
    match kib {
        Some(k) => format!("{:.1} MiB", k as f64 / 1024.0),
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_size_is_readable_and_below_the_peak() {
        let current = current_rss_kib().expect("VmRSS");
        let peak = peak_rss_kib().expect("VmHWM");
        assert!(current > 0 && current <= peak, "{current} {peak}");
    }
}
