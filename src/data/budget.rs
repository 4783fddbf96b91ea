//! The one memory budget, checked before anything is allocated: sizes that come from a file (an
//! experiment's image count, an IDX header, a folder's image count times the input size) and
//! the model's own estimate (`experiment::memory`) are refused above a limit, with the estimate
//! and the fix.

use super::error::DataError;

/// Environment variable that sets the limit, in MiB (default: half the memory this process
/// may use).
pub const LIMIT_ENV: &str = "CNN_LAB_MAX_MEMORY_MB";
/// The limit's former name, still read when `LIMIT_ENV` is not set.
pub const OLD_LIMIT_ENV: &str = "CNN_LAB_MAX_DATASET_MB";

/// Bytes one decoded value takes: images become `f32` on their way into the model (the
/// `TooLarge` message says so).
pub const BYTES_PER_VALUE: u64 = 4;

/// When the machine's memory cannot be read.
const FALLBACK_LIMIT: u64 = 4 << 30;

/// The most a dataset, or a model's run, may take: `$CNN_LAB_MAX_MEMORY_MB` MiB if set, else
/// half of what this process may use (the machine's memory, a cgroup's limit or the
/// address-space limit, whichever is smallest).
pub fn memory_limit_bytes() -> u64 {
    for name in [LIMIT_ENV, OLD_LIMIT_ENV] {
        if let Some(mb) = std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok()) {
            return mb.saturating_mul(1 << 20);
        }
    }
    [total_memory_bytes(), cgroup_limit_bytes(), address_space_limit_bytes()]
        .into_iter()
        .flatten()
        .min()
        .map_or(FALLBACK_LIMIT, |bytes| bytes / 2)
}

/// `MemTotal` from `/proc/meminfo`.
fn total_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// The cgroup v2 memory limit (`memory.max`), when one is set.
fn cgroup_limit_bytes() -> Option<u64> {
    std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The soft address-space limit (`ulimit -v`, `prlimit --as`) from `/proc/self/limits`.
fn address_space_limit_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max address space"))?;
    line.trim_start_matches("Max address space")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The decoded size of `images` images of `(channels, height, width)`, saturating.
pub fn dataset_bytes(images: u64, (channels, height, width): (usize, usize, usize)) -> u64 {
    [channels, height, width]
        .iter()
        .fold(images.saturating_mul(BYTES_PER_VALUE), |acc, &d| {
            acc.saturating_mul(d as u64)
        })
}

/// Refuses `images` images of `shape` when they would take more than the limit decoded; `fix`
/// says what to change (e.g. "use a smaller input size").
pub fn check_dataset_size(images: u64, shape: (usize, usize, usize), fix: &str) -> Result<(), DataError> {
    let bytes = dataset_bytes(images, shape);
    let limit = memory_limit_bytes();
    if bytes > limit {
        return Err(DataError::TooLarge {
            images,
            shape,
            bytes,
            limit,
            fix: fix.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::error::format_size;
    use super::*;

    #[test]
    fn estimates_saturate_and_read_as_sizes() {
        assert_eq!(dataset_bytes(10, (1, 28, 28)), 10 * 784 * 4);
        assert_eq!(dataset_bytes(u64::MAX / 2, (3, 512, 512)), u64::MAX);
        assert_eq!(format_size(3), "3 bytes");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
        assert!(check_dataset_size(u64::MAX, (1, 8, 8), "use fewer images").is_err());
        assert!(check_dataset_size(1, (1, 8, 8), "use fewer images").is_ok());
        let err = check_dataset_size(1 << 40, (1, 28, 28), "set n_train lower").unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains("28×28×1") && shown.contains("set n_train lower"),
            "{shown}"
        );
        assert!(shown.contains(LIMIT_ENV), "{shown}");
    }
}
