//! Winograd against naive f64 loops on odd and tail shapes, on every matrix-multiply path this
//! CPU can run. Error measure: max |winograd − reference| / max |reference| over the whole
//! output, at most 1e-4.

use super::*;
use crate::cnn::gemm::Isa;
use crate::cnn::geometry::Padding;

/// The bar every comparison must meet.
const MAX_RELATIVE_ERROR: f64 = 1e-4;

/// Deterministic values in [-1, 1).
pub(crate) fn values(len: usize, seed: f32) -> Vec<f32> {
    (0..len).map(|v| ((v as f32 + seed) * 0.737).sin()).collect()
}

/// max |got − want| / max |want| (or the plain max difference when `want` is all zeros).
pub(crate) fn relative_error(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let diff = got
        .iter()
        .zip(want)
        .map(|(g, w)| (*g as f64 - w).abs())
        .fold(0.0, f64::max);
    let scale = want.iter().map(|w| w.abs()).fold(0.0, f64::max);
    if scale > 0.0 { diff / scale } else { diff }
}

/// The shape of a 3×3 stride-1 convolution: (N, C, H, W) in, F filters, `win`'s padding.
#[derive(Clone, Copy)]
struct Dims<'a> {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    f: usize,
    win: &'a Window,
}

/// Calls `tap(output index, input index, kernel index)` for every multiply of the convolution
/// whose input pixel lies inside the image (padding contributes nothing).
fn for_each_tap(d: Dims, mut tap: impl FnMut(usize, usize, usize)) {
    let Dims { n, c, h, w, f, win } = d;
    let (oh, ow) = win.out_hw();
    let (pt, pl) = (win.rows.pad_before as isize, win.cols.pad_before as isize);
    for s in 0..n {
        for o in 0..f {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ch in 0..c {
                        for k in 0..9 {
                            let iy = (oy + k / 3) as isize - pt;
                            let ix = (ox + k % 3) as isize - pl;
                            if (0..h as isize).contains(&iy) && (0..w as isize).contains(&ix) {
                                let x_at = ((s * c + ch) * h + iy as usize) * w + ix as usize;
                                tap(((s * f + o) * oh + oy) * ow + ox, x_at, (o * c + ch) * 9 + k);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// y (N, F, OH, OW) of a 3×3 stride-1 convolution, in f64.
#[allow(clippy::too_many_arguments)]
fn naive_forward(
    x: &[f32],
    kernel: &[f32],
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    f: usize,
    win: &Window,
) -> Vec<f64> {
    let (oh, ow) = win.out_hw();
    let mut y = vec![0.0; n * f * oh * ow];
    for_each_tap(Dims { n, c, h, w, f, win }, |yi, xi, ki| {
        y[yi] += x[xi] as f64 * kernel[ki] as f64;
    });
    y
}

/// dx (N, C, H, W) of the same convolution for dy (N, F, OH, OW): every output's gradient
/// scattered back onto the pixels it read (the adjoint, not the rotated-kernel identity).
#[allow(clippy::too_many_arguments)]
fn naive_input_gradient(
    dy: &[f32],
    kernel: &[f32],
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    f: usize,
    win: &Window,
) -> Vec<f64> {
    let mut dx = vec![0.0; n * c * h * w];
    for_each_tap(Dims { n, c, h, w, f, win }, |yi, xi, ki| {
        dx[xi] += dy[yi] as f64 * kernel[ki] as f64;
    });
    dx
}

/// The shapes of the brief: every (H, W) pair of the list (square and not), channel counts
/// and batch sizes cycled so each value meets several others, valid and same padding.
pub(crate) fn shapes() -> Vec<(usize, usize, usize, usize, usize, Padding)> {
    const SIDES: [usize; 9] = [1, 2, 3, 4, 5, 7, 9, 13, 32];
    const CHANNELS: [usize; 4] = [1, 3, 8, 17];
    let mut out = Vec::new();
    let mut i = 0;
    for h in SIDES {
        for w in SIDES {
            for padding in [Padding::Valid, Padding::Same, Padding::Explicit(3)] {
                i += 1;
                let (c, f) = (CHANNELS[i % 4], CHANNELS[(i / 4 + i) % 4]);
                let n = if i % 3 == 0 { 5 } else { 1 };
                if Window::new(h, w, (3, 3), (1, 1), padding).is_some() {
                    out.push((n, c, h, w, f, padding));
                }
            }
        }
    }
    out
}

#[test]
fn forward_and_input_gradient_match_naive_loops_on_every_path() {
    let mut worst: f64 = 0.0;
    let mut ws = Workspace::default();
    let mut u = Vec::new();
    for isa in Isa::runnable("winograd") {
        for (n, c, h, w, f, padding) in shapes() {
            let win = Window::new(h, w, (3, 3), (1, 1), padding).unwrap();
            let (oh, ow) = win.out_hw();
            let kernel = values(f * c * 9, 0.3);
            let bias = values(f, 7.0);
            let x = values(n * c * h * w, 1.1);
            let dy = values(n * f * oh * ow, 2.7);
            let case = format!("{isa} n={n} c={c} {h}×{w} f={f} {padding:?}");

            let geo = Geometry::forward(&win, c, h, w, f);
            filters_forward(&kernel, f, c, &mut u);
            let mut y = vec![f32::NAN; n * f * oh * ow];
            let mut finished = 0;
            correlate(isa, &geo, &u, &x, &mut y, &bias, &mut ws, |_| finished += 1);
            assert_eq!(finished, n, "{case}: every sample is finished once");
            let mut want = naive_forward(&x, &kernel, n, c, h, w, f, &win);
            for (i, v) in want.iter_mut().enumerate() {
                *v += bias[i / (oh * ow) % f] as f64;
            }
            let err = relative_error(&y, &want);
            assert!(err <= MAX_RELATIVE_ERROR, "{case} forward: relative error {err:e}");
            worst = worst.max(err);

            let geo = Geometry::input_gradient(&win, c, h, w, f);
            filters_input_gradient(&kernel, f, c, &mut u);
            let mut dx = vec![f32::NAN; n * c * h * w];
            correlate(isa, &geo, &u, &dy, &mut dx, &[], &mut ws, |_| {});
            let want = naive_input_gradient(&dy, &kernel, n, c, h, w, f, &win);
            let err = relative_error(&dx, &want);
            assert!(
                err <= MAX_RELATIVE_ERROR,
                "{case} input gradient: relative error {err:e}"
            );
            worst = worst.max(err);
        }
    }
    println!("worst relative error: {worst:e}");
}

/// A `same` 3×3 window on `side`×`side`, `n` samples of image-like inputs (ReLU outputs in
/// [0, 1), a third of them zero) over `c` channels, and small output gradients of both signs over
/// `f` channels.
fn realistic_data(
    rng: &mut rand::rngs::StdRng,
    n: usize,
    c: usize,
    side: usize,
    f: usize,
) -> (Window, Vec<f32>, Vec<f32>) {
    use rand::RngExt;
    let win = Window::new(side, side, (3, 3), (1, 1), Padding::Same).unwrap();
    let x = (0..n * c * side * side)
        .map(|_| rng.random_range(-0.7f32..1.0).max(0.0))
        .collect();
    let dy = (0..n * f * side * side)
        .map(|_| rng.random_range(-1e-3f32..1e-3))
        .collect();
    (win, x, dy)
}

#[test]
fn the_tile_transforms_give_the_same_bits_on_every_path() {
    // The transforms are written once over `vector::Vector` and must run the same operations in
    // the same order on every vector type: tail lane groups, padding and a bias included. 11
    // columns: 3 tiles per row (the staged gather); 13: 4 per row (AVX-512 gathers whole quads
    // of tiles straight into registers), 3 samples of 16 tiles.
    let (n, c, h, f) = (3, 5, 13, 4);
    let inputs = |isa, w: usize| {
        let win = Window::new(h, w, (3, 3), (1, 1), Padding::Same).unwrap();
        let geo = Geometry::forward(&win, c, h, w, f);
        let x = values(n * c * h * w, 0.9);
        let total = n * geo.tiles();
        let mut ws = Workspace::default();
        let v = conv::transformed_inputs(isa, &geo, &x, 0, total, &mut ws);
        v.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    };
    // M's 36 planes, 40 values apart, read 16 lanes at a time from three places.
    let m = values(36 * 40 + 16, 4.2);
    // SAFETY: `runnable` lists only paths this CPU has.
    let outputs =
        |isa| [0, 7, 24].map(|at| unsafe { conv::output_rows(isa, &m, 40, at, 0.37) }.map(|row| row.map(f32::to_bits)));
    let want_out = outputs(Isa::Portable);
    for isa in Isa::runnable("the tile transforms") {
        for w in [11, 13] {
            let want_in = inputs(Isa::Portable, w);
            assert!(want_in.iter().any(|&v| v != 0));
            assert!(
                inputs(isa, w) == want_in,
                "{isa}, {w} columns: the input transform differs from the portable one"
            );
        }
        assert!(
            outputs(isa) == want_out,
            "{isa}: the output transform differs from the portable one"
        );
    }
}

#[test]
fn realistic_layers_stay_within_the_bar() {
    // Image-like inputs in [0, 1) and ReLU outputs (never negative, so no cancellation helps),
    // Glorot-uniform kernels, the cifar model's layer sizes; forward and input gradient.
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    let mut rng = StdRng::seed_from_u64(16);
    let mut u = Vec::new();
    let mut ws = Workspace::default();
    let mut worst: f64 = 0.0;
    for (n, c, side, f) in [
        (4, 3, 32, 32),
        (4, 32, 32, 32),
        (4, 32, 16, 64),
        (2, 64, 16, 64),
        (2, 128, 8, 128),
    ] {
        let (win, x, dy) = realistic_data(&mut rng, n, c, side, f);
        let limit = (6.0 / (9.0 * (c + f) as f32)).sqrt();
        let kernel: Vec<f32> = (0..f * c * 9).map(|_| rng.random_range(-limit..limit)).collect();
        let geo = Geometry::forward(&win, c, side, side, f);
        filters_forward(&kernel, f, c, &mut u);
        let mut y = vec![0.0; n * f * side * side];
        correlate(Isa::active(), &geo, &u, &x, &mut y, &[], &mut ws, |_| {});
        let err = relative_error(&y, &naive_forward(&x, &kernel, n, c, side, side, f, &win));
        assert!(err <= MAX_RELATIVE_ERROR, "c={c} f={f} {side}×{side} forward: {err:e}");
        worst = worst.max(err);
        let geo = Geometry::input_gradient(&win, c, side, side, f);
        filters_input_gradient(&kernel, f, c, &mut u);
        let mut dx = vec![0.0; n * c * side * side];
        correlate(Isa::active(), &geo, &u, &dy, &mut dx, &[], &mut ws, |_| {});
        let err = relative_error(&dx, &naive_input_gradient(&dy, &kernel, n, c, side, side, f, &win));
        assert!(
            err <= MAX_RELATIVE_ERROR,
            "c={c} f={f} {side}×{side} input gradient: {err:e}"
        );
        println!(
            "c={c} f={f} {side}×{side}: forward and input gradient within {:e}",
            worst.max(err)
        );
        worst = worst.max(err);
    }
    println!("worst relative error on realistic layers: {worst:e}");
}

#[test]
fn chunks_of_tiles_do_not_change_the_result() {
    // 64 samples of 32×32 with 64 channels take several chunks, some splitting a sample; each
    // tile's numbers must not depend on the chunk (or task) it lands in.
    let (n, c, h, w, f) = (6, 64, 32, 32, 64);
    let win = Window::new(h, w, (3, 3), (1, 1), Padding::Same).unwrap();
    let geo = Geometry::forward(&win, c, h, w, f);
    let kernel = values(f * c * 9, 0.3);
    let x = values(n * c * h * w, 1.1);
    let mut u = Vec::new();
    filters_forward(&kernel, f, c, &mut u);
    let mut ws = Workspace::default();
    let mut all = vec![0.0; n * f * h * w];
    correlate(Isa::active(), &geo, &u, &x, &mut all, &[], &mut ws, |_| {});
    let sample = c * h * w;
    for s in 0..n {
        let mut one = vec![0.0; f * h * w];
        correlate(
            Isa::active(),
            &geo,
            &u,
            &x[s * sample..(s + 1) * sample],
            &mut one,
            &[],
            &mut ws,
            |_| {},
        );
        assert!(one == all[s * f * h * w..(s + 1) * f * h * w], "sample {s}");
    }
}

#[test]
fn only_stride_1_undilated_3x3_windows_apply() {
    let win = |k, s, pad| Window::new(9, 9, (k, k), (s, s), pad).unwrap();
    assert!(applies(&win(3, 1, Padding::Same)));
    assert!(applies(&win(3, 1, Padding::Valid)));
    assert!(!applies(&win(3, 2, Padding::Same)));
    assert!(!applies(&win(5, 1, Padding::Same)));
    assert!(!applies(&Window::line(9, 3, 1, 2, Padding::Same).unwrap()));
}

/// dkernel (F, C, 3, 3) of the same convolution for dy (N, F, OH, OW): every multiply's output
/// gradient times the input it read, summed per kernel value; and per kernel value the sum of
/// the products' magnitudes (what rounding errors scale with).
fn naive_kernel_gradient(dy: &[f32], x: &[f32], d: Dims) -> (Vec<f64>, Vec<f64>) {
    let (mut dk, mut magnitude) = (vec![0.0; d.f * d.c * 9], vec![0.0; d.f * d.c * 9]);
    for_each_tap(d, |yi, xi, ki| {
        let product = dy[yi] as f64 * x[xi] as f64;
        dk[ki] += product;
        magnitude[ki] += product.abs();
    });
    (dk, magnitude)
}

/// [`kernel_gradient`] of `x` and `dy` for `d` on `isa` against the naive loops: its relative
/// error (max |got − want| / max |want|) and how much the sums cancel (max Σ|product| /
/// max |want|).
fn kernel_gradient_error(isa: Isa, d: Dims, x: &[f32], dy: &[f32], ws: &mut WeightWorkspace) -> (f64, f64) {
    let geo = Geometry::forward(d.win, d.c, d.h, d.w, d.f);
    let mut dk = vec![f32::NAN; d.f * d.c * 9];
    let mut db = vec![f32::NAN; d.f];
    kernel_gradient(isa, &geo, x, dy, &mut dk, &mut db, ws);
    // The bias gradient, summed from the transformed tiles: each channel's dy summed, to f32
    // rounding of its values' magnitudes.
    let plane = dy.len() / (d.n * d.f).max(1);
    for (o, got) in db.iter().enumerate() {
        let values = (0..d.n).flat_map(|s| &dy[(s * d.f + o) * plane..][..plane]);
        let (sum, magnitude) = values.fold((0.0, 0.0), |(s, m), &v| (s + v as f64, m + (v as f64).abs()));
        assert!(
            (*got as f64 - sum).abs() <= 1e-5 * magnitude.max(1e-30),
            "bias gradient of channel {o}: {got} vs {sum}"
        );
    }
    let (want, magnitude) = naive_kernel_gradient(dy, x, d);
    let max = |v: &[f64]| v.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let cancellation = if max(&want) > 0.0 {
        max(&magnitude) / max(&want)
    } else {
        1.0
    };
    (relative_error(&dk, &want), cancellation)
}

/// Sums that cancel by more than this factor are held to [`MAX_RELATIVE_ERROR`] of their
/// products' magnitude / this factor rather than of the result (see
/// `kernel_gradient_matches_naive_loops_on_every_path`).
const CANCELLATION_ALLOWANCE: f64 = 50.0;

#[test]
fn kernel_gradient_of_one_tile_is_the_transposed_forward_pass() {
    // One 6×6 input, one 4×4 output tile, one channel each way: dW = Gᵀ[(A dy Aᵀ) ⊙ (Bᵀ d B)]G.
    // Measured: 1.2e-5 on every path (f32 tile transforms, as in the forward pass).
    let win = Window::new(6, 6, (3, 3), (1, 1), Padding::Valid).unwrap();
    let d = Dims {
        n: 1,
        c: 1,
        h: 6,
        w: 6,
        f: 1,
        win: &win,
    };
    let (x, dy) = (values(36, 0.4), values(16, 3.3));
    let mut ws = WeightWorkspace::default();
    for isa in Isa::runnable("winograd kernel gradient, one tile") {
        let (err, _) = kernel_gradient_error(isa, d, &x, &dy, &mut ws);
        assert!(err <= 5e-5, "{isa}: relative error {err:e}");
    }
}

#[test]
fn kernel_gradient_matches_naive_loops_on_every_path() {
    // The bar is 1e-4 of max |want|. The test data are sines of one frequency, so some kernel
    // gradients are sums that cancel almost completely: on 7 of these 215 shapes max Σ|product|
    // is 137–3644 × max |want|, and there the Winograd error reaches 1.3e-4–2.5e-3 of max |want|
    // (the tile transforms scale values by up to 15 × 10 per axis before the sums; a plain f32
    // sum in tap order gets 1e-4 on the worst one). Measured against the products' magnitude,
    // every shape is within 3.7e-6 of max Σ|product|. So the bound here is 1e-4 of
    // max(max |want|, max Σ|product| / 50): the 1e-4 bar itself unless the sums cancel by more
    // than 50×. Realistic layers (next test) cancel little and stay within 5e-6.
    let mut worst: f64 = 0.0;
    let mut ws = WeightWorkspace::default();
    let mut shapes = shapes();
    // Batch 3, and sides that are neither multiples of 4 nor square.
    shapes.extend([
        (3, 2, 9, 11, 5, Padding::Same),
        (3, 1, 11, 9, 1, Padding::Valid),
        (3, 17, 7, 5, 3, Padding::Same),
        (1, 1, 1, 1, 1, Padding::Same),
    ]);
    let mut beyond = 0;
    for isa in Isa::runnable("winograd kernel gradient") {
        for &(n, c, h, w, f, padding) in &shapes {
            let win = Window::new(h, w, (3, 3), (1, 1), padding).unwrap();
            let (oh, ow) = win.out_hw();
            let d = Dims {
                n,
                c,
                h,
                w,
                f,
                win: &win,
            };
            let x = values(n * c * h * w, 1.1);
            let dy = values(n * f * oh * ow, 2.7);
            let (err, cancellation) = kernel_gradient_error(isa, d, &x, &dy, &mut ws);
            let case = format!("{isa} n={n} c={c} {h}×{w} f={f} {padding:?}");
            let bound = MAX_RELATIVE_ERROR * (cancellation / CANCELLATION_ALLOWANCE).max(1.0);
            assert!(
                err <= bound,
                "{case}: relative error {err:e}, sums cancel {cancellation:.0}×"
            );
            if err > MAX_RELATIVE_ERROR {
                println!("{case}: relative error {err:e}, sums cancel {cancellation:.0}×");
                beyond += 1;
            } else {
                worst = worst.max(err);
            }
        }
    }
    println!("{beyond} cases beyond 1e-4 (cancelling sums); the others within {worst:e}");
}

#[test]
fn kernel_gradient_of_realistic_layers_stays_within_the_bar() {
    // Image-like inputs in [0, 1) and ReLU outputs, small output gradients of both signs, the
    // cifar model's layer sizes, several chunks of tiles. Measured: within 5e-6.
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    let mut rng = StdRng::seed_from_u64(17);
    let mut ws = WeightWorkspace::default();
    let mut worst: f64 = 0.0;
    for (n, c, side, f) in [
        (8, 3, 32, 32),
        (8, 32, 32, 32),
        (8, 32, 16, 64),
        (8, 64, 16, 64),
        (8, 128, 8, 128),
    ] {
        let (win, x, dy) = realistic_data(&mut rng, n, c, side, f);
        let d = Dims {
            n,
            c,
            h: side,
            w: side,
            f,
            win: &win,
        };
        let (err, _) = kernel_gradient_error(Isa::active(), d, &x, &dy, &mut ws);
        println!("c={c} f={f} {side}×{side} n={n}: kernel gradient within {err:e}");
        assert!(err <= MAX_RELATIVE_ERROR, "c={c} f={f} {side}×{side}: {err:e}");
        worst = worst.max(err);
    }
    println!("worst relative error on realistic layers: {worst:e}");
}

#[test]
fn kernel_gradient_does_not_depend_on_the_chunks_or_on_reuse() {
    // Enough tiles for several chunks (one splitting a sample); a second call on the same
    // buffers, after a call of another shape, gives the same bits.
    let (n, c, h, w, f) = (6, 24, 19, 21, 40);
    let win = Window::new(h, w, (3, 3), (1, 1), Padding::Same).unwrap();
    let geo = Geometry::forward(&win, c, h, w, f);
    let (x, dy) = (values(n * c * h * w, 0.2), values(n * f * h * w, 5.1));
    let mut ws = WeightWorkspace::default();
    let mut first = vec![0.0; f * c * 9];
    kernel_gradient(Isa::active(), &geo, &x, &dy, &mut first, &mut [], &mut ws);
    let small = Geometry::forward(&win, 1, h, w, 2);
    let mut other = vec![0.0; 2 * 9];
    kernel_gradient(
        Isa::active(),
        &small,
        &x[..h * w],
        &dy[..2 * h * w],
        &mut other,
        &mut [0.0; 2],
        &mut ws,
    );
    let mut again = vec![0.0; f * c * 9];
    kernel_gradient(Isa::active(), &geo, &x, &dy, &mut again, &mut [], &mut ws);
    assert!(first == again);
    let d = Dims {
        n,
        c,
        h,
        w,
        f,
        win: &win,
    };
    let (err, _) = kernel_gradient_error(Isa::active(), d, &x, &dy, &mut ws);
    assert!(err <= MAX_RELATIVE_ERROR, "relative error {err:e}");
}
