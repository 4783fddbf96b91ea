//! Which instruction set the matrix multiply runs on: detected once, overridable by
//! `CNN_LAB_ISA`.

use std::sync::OnceLock;

/// The environment variable that forces a kernel path.
pub const ISA_ENV: &str = "CNN_LAB_ISA";

/// A kernel path of [`sgemm`](super::sgemm), from the fastest to the most widely available.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Our AVX-512F kernel (512-bit vectors, 16 floats).
    Avx512,
    /// Our AVX2 + FMA kernel (256-bit vectors, 8 floats).
    Avx2,
    /// The `matrixmultiply` crate, for any CPU. It picks its own kernel at run time (its
    /// AVX-512 or AVX2 one where the CPU has them), so it is not scalar code.
    Portable,
}

impl Isa {
    /// Every path, fastest first.
    pub const ALL: [Isa; 3] = [Isa::Avx512, Isa::Avx2, Isa::Portable];

    /// The name `CNN_LAB_ISA` and `cnn-lab bench` use.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Portable => "portable",
        }
    }

    /// The path named `name` (as [`Isa::name`] spells it, any case), if there is one.
    pub fn from_name(name: &str) -> Option<Isa> {
        Isa::ALL
            .into_iter()
            .find(|isa| isa.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether this CPU can run the path.
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512 => false,
            Isa::Avx2 => super::avx2::available(),
            Isa::Portable => true,
        }
    }

    /// The paths this CPU can run, fastest first, for tests that compare them; prints the ones
    /// it cannot (with `context`), so a skipped path is never silent.
    #[cfg(test)]
    pub(crate) fn runnable(context: &str) -> Vec<Isa> {
        Isa::ALL
            .into_iter()
            .filter(|isa| {
                let ok = isa.is_available();
                if !ok {
                    println!("{context}: skipped the {isa} path (this CPU cannot run it)");
                }
                ok
            })
            .collect()
    }

    /// The fastest path this CPU can run.
    pub fn best() -> Isa {
        Isa::ALL
            .into_iter()
            .find(|isa| isa.is_available())
            .unwrap_or(Isa::Portable)
    }

    /// The path [`sgemm`](super::sgemm) takes: `CNN_LAB_ISA` if set to a path this CPU can
    /// run, else the fastest one. Decided once per process; a value that is unknown or
    /// unavailable here falls back to the fastest path with one warning on stderr (a forced
    /// path is a testing and measuring aid, and the program should still run).
    pub fn active() -> Isa {
        static ACTIVE: OnceLock<Isa> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let value = std::env::var(ISA_ENV).ok();
            let (isa, warning) = resolve(value.as_deref(), Isa::is_available);
            if let Some(warning) = warning {
                eprintln!("warning: {warning}");
            }
            isa
        })
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The path for a `CNN_LAB_ISA` value (`None`: unset or empty), and a warning when the value
/// cannot be honoured. `available` says which paths the CPU can run.
pub fn resolve(value: Option<&str>, available: impl Fn(Isa) -> bool) -> (Isa, Option<String>) {
    let best = Isa::ALL
        .into_iter()
        .find(|&isa| available(isa))
        .unwrap_or(Isa::Portable);
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return (best, None);
    };
    match Isa::from_name(value) {
        Some(isa) if available(isa) => (isa, None),
        Some(isa) => (
            best,
            Some(format!(
                "{ISA_ENV}={value}: this CPU cannot run the {isa} kernel; using {best} instead \
                 (set {ISA_ENV} to a path the CPU has, or unset it to pick the fastest)"
            )),
        ),
        None => {
            let names: Vec<&str> = Isa::ALL.iter().map(|isa| isa.name()).collect();
            (
                best,
                Some(format!(
                    "{ISA_ENV}={value} is not a kernel path; using {best} instead \
                     (set it to one of {}, or unset it to pick the fastest)",
                    names.join(", ")
                )),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for isa in Isa::ALL {
            assert_eq!(Isa::from_name(isa.name()), Some(isa));
        }
        assert_eq!(Isa::from_name(" AVX2 "), Some(Isa::Avx2));
        assert_eq!(Isa::from_name("sse"), None);
    }

    #[test]
    fn override_is_honoured_or_refused_with_a_reason() {
        let no_avx512 = |isa: Isa| isa != Isa::Avx512;
        assert_eq!(resolve(None, no_avx512), (Isa::Avx2, None));
        assert_eq!(resolve(Some(""), no_avx512), (Isa::Avx2, None));
        assert_eq!(resolve(Some("portable"), no_avx512), (Isa::Portable, None));
        let (isa, warning) = resolve(Some("avx512"), no_avx512);
        assert_eq!(isa, Isa::Avx2);
        let warning = warning.expect("a warning");
        assert!(
            warning.contains("cannot run the avx512 kernel") && warning.contains("unset"),
            "{warning}"
        );
        let (isa, warning) = resolve(Some("neon"), |_| true);
        assert_eq!(isa, Isa::Avx512);
        assert!(warning.expect("a warning").contains("avx512, avx2, portable"));
    }

    #[test]
    fn portable_is_always_available() {
        assert!(Isa::Portable.is_available());
        assert!(Isa::best().is_available());
    }
}
