//! What the operating system says about this process and machine (Linux `/proc`): CPU time per
//! thread, split into training threads and the rest, the load average and the CPU's name.

use std::time::Duration;

/// The training worker's thread name (`training::Trainer`), and the prefix `name_pool_threads`
/// gives rayon's threads.
const TRAINER_THREAD: &str = "cnn-lab-trainer";
const POOL_THREAD: &str = "rayon-";

/// Names rayon's threads, so the benchmark can tell training CPU time from the window's. Call
/// before anything uses rayon; does nothing if the pool already exists.
pub fn name_pool_threads() {
    let _ = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("{POOL_THREAD}{i}"))
        .build_global();
}

/// CPU time so far of each of this process's threads (Linux `/proc/self/task/*/schedstat`),
/// and whether the thread trains.
#[derive(Clone, Debug, Default)]
pub(super) struct CpuSnapshot {
    threads: Vec<(u64, bool, Duration)>,
}

impl CpuSnapshot {
    pub(super) fn take() -> Option<CpuSnapshot> {
        let mut threads = Vec::new();
        for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse::<u64>().ok()) else {
                continue;
            };
            let path = entry.path();
            let (Ok(comm), Ok(stat)) = (
                std::fs::read_to_string(path.join("comm")),
                std::fs::read_to_string(path.join("schedstat")),
            ) else {
                continue;
            };
            let Some(ns) = stat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()) else {
                continue;
            };
            let comm = comm.trim();
            let training = comm.starts_with(TRAINER_THREAD) || comm.starts_with(POOL_THREAD);
            threads.push((tid, training, Duration::from_nanos(ns)));
        }
        Some(CpuSnapshot { threads })
    }

    /// (training, other) CPU seconds from `self` to `later`, over threads alive at both ends.
    pub(super) fn until(&self, later: &CpuSnapshot) -> (f64, f64) {
        let (mut training, mut other) = (0.0, 0.0);
        for &(tid, trains, after) in &later.threads {
            let before = self.threads.iter().find(|t| t.0 == tid).map_or(Duration::ZERO, |t| t.2);
            let used = after.saturating_sub(before).as_secs_f64();
            if trains {
                training += used;
            } else {
                other += used;
            }
        }
        (training, other)
    }
}

/// `/proc/loadavg`'s three averages.
pub(super) fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut values = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([values.next()??, values.next()??, values.next()??])
}

/// The CPU's model name (`/proc/cpuinfo`), e.g. "AMD EPYC 7763 64-Core Processor".
pub(super) fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}
