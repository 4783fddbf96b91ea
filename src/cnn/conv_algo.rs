//! Which algorithm computes a convolution: im2col, Winograd F(4×4, 3×3) (`cnn::winograd`) or
//! the direct method (`cnn::direct`), by where each applies and the measured rules of where
//! each pays; `CNN_LAB_CONV` can force one.

use crate::cnn::direct;
use crate::cnn::gemm::Isa;
use crate::cnn::geometry::Window;
use crate::cnn::winograd;
use std::sync::OnceLock;

/// The environment variable that forces a convolution algorithm.
pub const CONV_ENV: &str = "CNN_LAB_CONV";

/// How a convolution is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConvAlgo {
    /// Unfold the input into columns, one matrix product per sample (any window).
    Im2col,
    /// Winograd F(4×4, 3×3) (3×3 windows, stride 1, no dilation only).
    Winograd,
    /// The direct correlation over wide rows (`cnn::direct`: stride 1, padding under the
    /// kernel's span; dilated 1-D kernels too).
    Direct,
}

impl ConvAlgo {
    pub const ALL: [ConvAlgo; 3] = [ConvAlgo::Im2col, ConvAlgo::Winograd, ConvAlgo::Direct];

    /// The name `CNN_LAB_CONV` uses.
    pub fn name(self) -> &'static str {
        match self {
            ConvAlgo::Im2col => "im2col",
            ConvAlgo::Winograd => "winograd",
            ConvAlgo::Direct => "direct",
        }
    }

    /// The algorithm named `name` (any case), if there is one.
    pub fn from_name(name: &str) -> Option<ConvAlgo> {
        ConvAlgo::ALL
            .into_iter()
            .find(|algo| algo.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The algorithm `CNN_LAB_CONV` forces, if any. Read once per process; an unknown value
    /// is ignored with one warning on stderr (a forced algorithm is a testing and measuring
    /// aid, and the program should still run).
    pub fn forced() -> Option<ConvAlgo> {
        static FORCED: OnceLock<Option<ConvAlgo>> = OnceLock::new();
        *FORCED.get_or_init(|| {
            let value = std::env::var(CONV_ENV).ok();
            let (algo, warning) = resolve(value.as_deref());
            if let Some(warning) = warning {
                eprintln!("warning: {warning}");
            }
            algo
        })
    }

    /// Whether this algorithm computes a correlation over `window` (im2col: any).
    pub fn applies(self, window: &Window) -> bool {
        match self {
            ConvAlgo::Im2col => true,
            ConvAlgo::Winograd => winograd::applies(window),
            ConvAlgo::Direct => direct::applies(window),
        }
    }

    /// The algorithm for a correlation over `window` from `c_in` to `c_out` channels:
    /// `CNN_LAB_CONV` where it applies, else the direct method where it applies and
    /// [`direct_pays_on`] the active path (not the portable one), else Winograd where it
    /// [`winograd::applies`] and [`pays_on`] the active path, else im2col.
    pub fn choose(window: &Window, c_in: usize, c_out: usize) -> ConvAlgo {
        let isa = Isa::active();
        let direct = isa != Isa::Portable && direct_pays_on(isa, c_in, c_out);
        match ConvAlgo::forced() {
            Some(algo) if algo.applies(window) => algo,
            _ if direct && ConvAlgo::Direct.applies(window) => ConvAlgo::Direct,
            _ if winograd::applies(window) && pays_on(isa, c_in, c_out) => ConvAlgo::Winograd,
            _ => ConvAlgo::Im2col,
        }
    }

    /// The algorithm for the forward pass and input gradient of a 1-D convolution (Conv1D, a
    /// window one row high, where Winograd never applies): `CNN_LAB_CONV` where it applies,
    /// else the direct method where it applies (stride 1; not on the portable path), else
    /// im2col. (Its kernel gradient follows [`ConvAlgo::choose_kernel_gradient`].) The signals
    /// model's layers, ms im2col / direct (batch 64, Intel Xeon, `profile_step signals 200
    /// layers`): forward 1→16 0.08 / 0.05, 16→32 0.27 / 0.23, 32→64 dilated 0.31 / 0.28.
    pub fn choose_sequence(window: &Window) -> ConvAlgo {
        match ConvAlgo::forced() {
            Some(algo) if algo.applies(window) => algo,
            _ if Isa::active() != Isa::Portable && ConvAlgo::Direct.applies(window) => ConvAlgo::Direct,
            _ => ConvAlgo::Im2col,
        }
    }

    /// The algorithm for the kernel gradient of a correlation over `window` from `c_in` to
    /// `c_out` channels: `CNN_LAB_CONV` where it applies, else the direct method where it
    /// applies and [`direct_kernel_gradient_pays`] (not on the portable path), else Winograd
    /// where it [`winograd::applies`] and [`kernel_gradient_pays`], else im2col.
    pub fn choose_kernel_gradient(window: &Window, c_in: usize, c_out: usize) -> ConvAlgo {
        let direct = Isa::active() != Isa::Portable && direct_kernel_gradient_pays(c_in, c_out);
        match ConvAlgo::forced() {
            Some(algo) if algo.applies(window) => algo,
            _ if direct && ConvAlgo::Direct.applies(window) => ConvAlgo::Direct,
            _ if winograd::applies(window) && kernel_gradient_pays(c_in) => ConvAlgo::Winograd,
            _ => ConvAlgo::Im2col,
        }
    }
}

impl std::fmt::Display for ConvAlgo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The algorithm for a `CNN_LAB_CONV` value (`None`: unset or empty, choose per layer), and a
/// warning when the value is not an algorithm.
pub fn resolve(value: Option<&str>) -> (Option<ConvAlgo>, Option<String>) {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return (None, None);
    };
    match ConvAlgo::from_name(value) {
        Some(algo) => (Some(algo), None),
        None => (
            None,
            Some(format!(
                "{CONV_ENV}={value} is not a convolution algorithm; choosing per layer instead \
                 (set it to im2col, winograd or direct, or unset it)"
            )),
        ),
    }
}

/// Input channels from which Winograd beats im2col (see [`pays`]).
const MIN_CHANNELS_IN: usize = 8;

/// Output channels from which Winograd beats im2col (see [`pays`]).
const MIN_CHANNELS_OUT: usize = 16;

/// Whether Winograd is faster than im2col for a correlation from `c_in` to `c_out` channels
/// (`cnn-lab bench --conv`, AMD EPYC with AVX-512, batch 64, 2026-12-05 after the transforms
/// were made to load and store each value once). The 36 products save 3/4 of the multiplies,
/// ∝ c_in·c_out per tile, but each tile also pays an input transform per input channel and an
/// output transform per output channel. Winograd against im2col, forward (c_in → c_out) on
/// 32×32: 3→32 0.67×, 4→32 0.81×, 8→32 1.11×, 16→32 1.49×, 32→32 1.93×, 32→64 1.92×; input
/// gradients, correlations from the layer's filters to its inputs: 32→3 0.35×, 32→8 0.72×,
/// 32→12 0.98×, 32→16 1.21×, 64→32 1.56×, and on 16×16 64→64 1.85×, 8→64 3.35×.
pub fn pays(c_in: usize, c_out: usize) -> bool {
    c_in >= MIN_CHANNELS_IN && c_out >= MIN_CHANNELS_OUT
}

/// Whether the direct method is the fastest for a correlation from `c_in` to `c_out` channels
/// (with AVX-512; [`direct_pays_on`] adds AVX2's limit; its portable form has no FMA and is only
/// a fallback): when either side has fewer than [`DIRECT_BELOW`] channels, except a thin output
/// from many inputs (an input gradient to an RGB layer), where im2col's one long product wins.
/// `cnn-lab bench --conv`, Intel Xeon (Emerald Rapids, AVX-512), batch 64, 2026-12-06, ms
/// im2col / Winograd / direct, forward: 28×28 1→8 0.27 / 0.43 / 0.15, 14×14 8→16 0.65 / 0.47 / 0.30, 16→8 1.02 / 0.49 /
/// 0.30, 28×28 8→8 1.31 / 1.12 / 0.61, 32×32 3→32 1.63 / 4.08 / 1.54, 8→32 3.50 / 2.58 /
/// 2.15, 12→32 5.16 / 2.98 / 3.48, 16→32 7.56 / 3.41 / 3.99, 16×16 16→16 1.56 / 0.60 / 0.63,
/// 64→8 4.74 / 1.58 / 1.33; input gradients (from the filters to the inputs): 8→1 0.24 / 0.76 /
/// 0.26, 32→3 1.74 / 4.64 / 2.55, 32→8 3.67 / 3.38 / 2.64, 32→12 6.07 / 3.99 / 6.45, 8→64
/// 5.32 / 1.15 / 1.13.
pub fn direct_pays(c_in: usize, c_out: usize) -> bool {
    let thin = c_out <= DIRECT_THIN_OUT && c_in >= DIRECT_BELOW;
    (c_in < DIRECT_BELOW || c_out < DIRECT_BELOW) && !thin
}

/// [`direct_pays`] on `isa`'s kernel. AVX2's register block does 8 FMAs per 6 loads and
/// broadcasts (AVX-512's, 24 per 11), so there the direct method also needs a small layer, at
/// most [`DIRECT_AVX2_PAIRS`] channel pairs; Winograd takes the wider ones ([`pays_on`]).
/// `cnn-lab bench --conv` limited to AVX2 (`CNN_LAB_ISA=avx2`, the same Intel Xeon, 2026-12-06
/// evening, after the block was made to fit the registers), ms im2col / Winograd / direct,
/// forward: 28×28 1→8 0.21 / 0.28 / 0.10, 14×14 8→16 0.37 / 0.24 / 0.22, 28×28 8→8 0.72 / 0.60 /
/// 0.45, 32×32 3→32 0.99 / 1.05 / 0.98, 4→32 1.12 / 1.14 / 1.26, 8→32 2.04 / 1.41 / 2.13,
/// 16×16 64→8 2.47 / 0.69 / 1.14; input gradients: 8→1 0.23 / 0.45 / 0.14, 32→8 2.60 / 1.81 /
/// 2.36, 8→64 2.16 / 0.70 / 1.46.
pub fn direct_pays_on(isa: Isa, c_in: usize, c_out: usize) -> bool {
    direct_pays(c_in, c_out) && (isa != Isa::Avx2 || c_in * c_out <= DIRECT_AVX2_PAIRS)
}

/// Channel pairs up to which the direct method pays on AVX2 (see [`direct_pays_on`]): LeNet's
/// 8 → 16 layer is at the line.
const DIRECT_AVX2_PAIRS: usize = 128;

/// [`pays`] on `isa`: with AVX2, Winograd also beats im2col on 8 to 15 output channels (the
/// narrowing layers [`direct_pays_on`] leaves to it there: 32→8 1.81 against 2.60 ms, 16×16
/// 64→8 0.69 against 2.47).
pub fn pays_on(isa: Isa, c_in: usize, c_out: usize) -> bool {
    match isa {
        Isa::Avx2 => c_in >= MIN_CHANNELS_IN && c_out >= MIN_CHANNELS_IN,
        _ => pays(c_in, c_out),
    }
}

/// Channels (on either side) below which the direct method pays (see [`direct_pays`]).
const DIRECT_BELOW: usize = 12;

/// Output channels up to which many input channels go to im2col (see [`direct_pays`]).
const DIRECT_THIN_OUT: usize = 4;

/// Whether the direct method computes the kernel gradient of a layer from `c_in` to `c_out`
/// channels fastest: fewer than 16 input channels or 12 filters, and at most 4096 channel pairs
/// (its vector partial sums, 16 per kernel value, must stay in cache). `cnn-lab bench --conv`
/// as for [`direct_pays`], ms im2col / Winograd / direct: 28×28 1→8 0.35 / 0.88 / 0.19, 14×14
/// 8→16 0.67 / 0.64 / 0.35, 16→8 1.18 / 0.62 / 0.38, 32×32 3→32 2.06 / 3.11 / 1.72, 8→32 3.22 /
/// 3.17 / 2.92, 12→32 4.66 / 3.53 / 4.23, 16→32 7.20 / 4.64 / 5.25, 16×16 16→16 1.81 / 0.94 /
/// 0.87, 64→8 7.03 / 2.87 / 1.82, 8×8 64→64 4.32 / 2.77 / 6.20, 128→128 12.38 / 8.36 / 25.39.
pub fn direct_kernel_gradient_pays(c_in: usize, c_out: usize) -> bool {
    (c_in < 16 || c_out < DIRECT_BELOW) && c_in * c_out <= 4096
}

/// Whether Winograd computes a layer's kernel gradient faster than im2col, for `c_in` input
/// channels (any number of filters). Measured with `cnn-lab bench --conv` (AMD EPYC, AVX-512,
/// batch 64, quiet machine, 2026-12-05 after the transform work; im2col ms / Winograd ms, the
/// activation's gradient and the bias sums in both): 32×32 3→32 0.64×, 8→32 0.87×, 12→32
/// 1.10×, 16→32 1.15×, 32→32 1.55×, 32→64 1.46×; 16×16 32→64 1.55×, 64→64 1.91×, 64→8 1.81×;
/// 8×8 64→64 1.48×, 128→128 1.49×. With few input channels the input and output-gradient
/// transforms cost more than the thin products save.
pub fn kernel_gradient_pays(c_in: usize) -> bool {
    c_in >= MIN_CHANNELS_KERNEL_GRADIENT
}

/// Input channels from which Winograd computes the kernel gradient faster (see
/// [`kernel_gradient_pays`]).
const MIN_CHANNELS_KERNEL_GRADIENT: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_value_is_honoured_or_refused_with_a_reason() {
        assert_eq!(resolve(None), (None, None));
        assert_eq!(resolve(Some(" ")), (None, None));
        assert_eq!(resolve(Some("Winograd")), (Some(ConvAlgo::Winograd), None));
        assert_eq!(resolve(Some("im2col")), (Some(ConvAlgo::Im2col), None));
        assert_eq!(resolve(Some(" DIRECT")), (Some(ConvAlgo::Direct), None));
        let (algo, warning) = resolve(Some("fft"));
        assert_eq!(algo, None);
        assert!(warning.expect("a warning").contains("im2col, winograd or direct"));
    }

    #[test]
    fn winograd_pays_from_8_input_and_16_output_channels() {
        assert!(pays(32, 32) && pays(32, 64) && pays(64, 64) && pays(128, 128));
        // A thin layer, a 32→64 layer's input gradient, LeNet's second layer.
        assert!(pays(16, 32) && pays(64, 32) && pays(8, 16));
        // The cifar model's first layer, its input gradient if it had one, and a narrow output.
        assert!(!pays(3, 32) && !pays(4, 32) && !pays(32, 3) && !pays(32, 12));
    }

    #[test]
    fn the_direct_method_pays_below_12_channels_on_either_side_but_not_for_a_thin_output() {
        // LeNet's layers and their input gradients, an RGB first layer, a narrowing layer.
        assert!(direct_pays(1, 8) && direct_pays(8, 16) && direct_pays(16, 8) && direct_pays(8, 1));
        assert!(direct_pays(3, 32) && direct_pays(8, 32) && direct_pays(64, 8) && direct_pays(8, 64));
        // Winograd's: both sides at 12 or more.
        assert!(!direct_pays(12, 32) && !direct_pays(16, 16) && !direct_pays(32, 64));
        // An RGB layer's input gradient (32 → 3): im2col's one long product.
        assert!(!direct_pays(32, 3) && !direct_pays(16, 4) && direct_pays(16, 5));
    }

    #[test]
    fn on_avx2_the_direct_method_keeps_to_small_layers_and_winograd_takes_the_narrowing_ones() {
        let (avx2, avx512) = (Isa::Avx2, Isa::Avx512);
        // LeNet's layers and their input gradients, an RGB first layer: direct on both paths.
        for (c_in, c_out) in [(1, 8), (8, 1), (8, 16), (16, 8), (8, 8), (3, 32)] {
            assert!(direct_pays_on(avx2, c_in, c_out) && direct_pays_on(avx512, c_in, c_out));
        }
        // Wider layers with a thin side: direct with AVX-512, Winograd with AVX2.
        for (c_in, c_out) in [(8, 32), (32, 8), (64, 8), (8, 64)] {
            assert!(direct_pays_on(avx512, c_in, c_out), "{c_in}→{c_out}");
            assert!(
                !direct_pays_on(avx2, c_in, c_out) && pays_on(avx2, c_in, c_out),
                "{c_in}→{c_out}"
            );
        }
        // An RGB layer's input gradient stays with im2col; the same rules elsewhere.
        assert!(!direct_pays_on(avx2, 32, 3) && !pays_on(avx2, 32, 3) && !pays_on(avx2, 3, 32));
        assert_eq!(pays_on(avx512, 32, 8), pays(32, 8));
        assert_eq!(direct_pays_on(Isa::Portable, 8, 32), direct_pays(8, 32));
    }

    #[test]
    fn the_direct_kernel_gradient_pays_below_16_inputs_or_12_filters_within_4096_pairs() {
        assert!(direct_kernel_gradient_pays(1, 8) && direct_kernel_gradient_pays(8, 16));
        assert!(direct_kernel_gradient_pays(16, 8) && direct_kernel_gradient_pays(64, 8));
        assert!(direct_kernel_gradient_pays(12, 32) && direct_kernel_gradient_pays(3, 512));
        assert!(!direct_kernel_gradient_pays(16, 16) && !direct_kernel_gradient_pays(32, 64));
        assert!(!direct_kernel_gradient_pays(8, 1024) && !direct_kernel_gradient_pays(1024, 8));
    }

    #[test]
    fn the_kernel_gradient_pays_from_16_input_channels() {
        assert!(kernel_gradient_pays(16) && kernel_gradient_pays(32) && kernel_gradient_pays(128));
        assert!(!kernel_gradient_pays(3) && !kernel_gradient_pays(8));
    }
}
