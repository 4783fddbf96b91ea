//! Running the `cnn-lab` binary as a hostile-input test does: under a timeout (a regression
//! fails instead of hanging CI) and, where `prlimit` exists, under an address-space cap.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A child still running after this is killed and the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The address space a child may map (where `prlimit` exists), 256 MiB: far below what any of
/// the refused requests would allocate, with room for the binary, its threads and a tiny model.
pub const ADDRESS_SPACE: &str = "268435456";

/// How one run of the binary ended.
pub struct Run {
    pub args: Vec<String>,
    /// `None` when killed by a signal (an abort, or our timeout).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub timed_out: bool,
}

impl Run {
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Ended by itself, in time, without a panic or an abort.
    #[track_caller]
    pub fn assert_clean(&self) {
        let out = self.output();
        assert!(
            !self.timed_out,
            "{:?} hung: killed after {:?}\n{out}",
            self.args, self.elapsed
        );
        assert!(self.elapsed < TIMEOUT, "{:?} took {:?}\n{out}", self.args, self.elapsed);
        assert!(
            self.code.is_some(),
            "{:?} was killed by a signal (an abort?)\n{out}",
            self.args
        );
        assert!(
            !matches!(self.code, Some(101 | 134)),
            "{:?} panicked or aborted ({:?})\n{out}",
            self.args,
            self.code
        );
        assert!(!out.contains("panicked"), "{:?} panicked\n{out}", self.args);
        assert!(
            !out.contains("memory allocation"),
            "{:?} ran out of memory\n{out}",
            self.args
        );
    }

    /// Refused cleanly, with every one of `words` in what it printed.
    #[track_caller]
    pub fn assert_refused(&self, words: &[&str]) {
        self.assert_clean();
        let out = self.output();
        assert!(
            self.code.is_some_and(|c| c != 0),
            "{:?} should have failed\n{out}",
            self.args
        );
        for word in words {
            assert!(out.contains(word), "{:?}: the message lacks {word:?}\n{out}", self.args);
        }
    }
}

pub fn has_prlimit() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        Command::new("prlimit")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Runs the binary with `args` (and extra environment), under the timeout and, where possible,
/// the address-space cap.
pub fn run_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let bin = env!("CARGO_BIN_EXE_cnn-lab");
    let mut cmd = if has_prlimit() {
        let mut c = Command::new("prlimit");
        c.arg(format!("--as={ADDRESS_SPACE}")).arg("--").arg(bin);
        c
    } else {
        Command::new(bin)
    };
    // One malloc arena (glibc otherwise reserves 64 MiB of address space per thread) and two
    // compute threads (their stacks count too), so the cap means the same on any machine.
    cmd.args(args)
        .env("MALLOC_ARENA_MAX", "1")
        .env("RAYON_NUM_THREADS", "2")
        .env_remove("CNN_LAB_MAX_DATASET_MB")
        .env_remove("CNN_LAB_MAX_MEMORY_MB")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("the cnn-lab binary starts");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        args: args.iter().map(|a| a.to_string()).collect(),
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        elapsed: start.elapsed(),
        timed_out,
    }
}

pub fn run(args: &[&str]) -> Run {
    run_env(args, &[])
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Makes a FIFO at `path`; `false` (and the case is skipped) where `mkfifo` is missing.
pub fn mkfifo(path: &Path) -> bool {
    let made = Command::new("mkfifo").arg(path).status().is_ok_and(|s| s.success());
    if !made {
        eprintln!("skipped: mkfifo is not available");
    }
    made
}
