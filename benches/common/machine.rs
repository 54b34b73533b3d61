//! The machine a benchmark ran on, in words, for its report.

/// The CPU's model, how many cores are online and the OS.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    // Online, not available: the server benchmark pins itself to one of them.
    // SAFETY: sysconf only reads a figure of the system.
    let cores = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}
