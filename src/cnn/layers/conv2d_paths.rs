//! Conv2D's algorithms against each other through the layer itself: Winograd's and the direct
//! method's forward pass, input gradient and kernel gradient against im2col's on odd and tail
//! shapes, on every matrix-multiply path this CPU can run. Error measure: max |theirs − im2col|
//! / max |im2col| over the whole tensor, at most 1e-4 (the naive f64 loops are in
//! `cnn::winograd`'s and `cnn::direct`'s tests).

use super::conv2d::{Conv2D, Conv2DLayer};
use super::{Layer, Mode};
use crate::cnn::conv_algo::ConvAlgo;
use crate::cnn::gemm::Isa;
use crate::cnn::geometry::Padding;
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;
use rand::SeedableRng;
use rand::rngs::StdRng;

const MAX_RELATIVE_ERROR: f32 = 1e-4;

fn values(len: usize, seed: f32) -> Vec<f32> {
    (0..len).map(|v| ((v as f32 + seed) * 0.737).sin()).collect()
}

/// max |got − want| / max |want|.
fn relative_error(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    let diff = got.iter().zip(want).map(|(g, w)| (g - w).abs()).fold(0.0, f32::max);
    let scale = want.iter().map(|w| w.abs()).fold(0.0, f32::max);
    if scale > 0.0 { diff / scale } else { diff }
}

/// Forward output, input gradient and kernel gradient of one layer by `algo`.
fn run(layer: &mut Conv2DLayer, algo: ConvAlgo, isa: Isa, x: &Tensor) -> (Tensor, Tensor, Vec<f32>) {
    let (mut y, mut dx) = (Tensor::default(), Tensor::default());
    layer.forward_with(algo, isa, x, &mut y);
    let mut dy = y.clone();
    let seed = dy.data().len() as f32;
    dy.data_mut().copy_from_slice(&values(y.data().len(), seed));
    layer.backward_with(algo, isa, x, &y, &mut dy, Some(&mut dx));
    (y, dx, layer.kernel().grad.clone())
}

#[test]
fn winograd_and_direct_match_im2col_on_odd_and_tail_shapes_on_every_path() {
    const SIDES: [usize; 9] = [1, 2, 3, 4, 5, 7, 9, 13, 32];
    const CHANNELS: [usize; 4] = [1, 3, 8, 17];
    let mut worst: f32 = 0.0;
    let mut cases = 0;
    for isa in Isa::runnable("winograd and direct against im2col") {
        let mut i = 0;
        for h in SIDES {
            for w in SIDES {
                for padding in [Padding::Valid, Padding::Same] {
                    i += 1;
                    let (c, f) = (CHANNELS[i % 4], CHANNELS[(i / 4 + i) % 4]);
                    let n = if i % 2 == 0 { 5 } else { 1 };
                    if padding == Padding::Valid && (h < 3 || w < 3) {
                        continue;
                    }
                    let spec = Conv2D::new(f, 3).padding(padding).relu();
                    let input = Shape::image(h, w, c);
                    let mut layer = Conv2DLayer::new(&spec, input, &mut StdRng::seed_from_u64(i as u64)).unwrap();
                    // Nonzero biases, so the ReLU cuts at varied places.
                    let bias = values(f, 9.0).iter().map(|b| b * 0.1).collect::<Vec<_>>();
                    layer.params_mut()[1].value.copy_from_slice(&bias);
                    let x = Tensor::from_vec(n, input, values(n * input.len(), i as f32)).unwrap();
                    let (y0, dx0, dk0) = run(&mut layer, ConvAlgo::Im2col, isa, &x);
                    for algo in [ConvAlgo::Winograd, ConvAlgo::Direct] {
                        let (y1, dx1, dk1) = run(&mut layer, algo, isa, &x);
                        let case = format!("{algo} on {isa} n={n} c={c} {h}×{w} f={f} {padding:?}");
                        let err = relative_error(y1.data(), y0.data());
                        assert!(err <= MAX_RELATIVE_ERROR, "{case} forward: {err:e}");
                        worst = worst.max(err);
                        let err = relative_error(dx1.data(), dx0.data());
                        assert!(err <= MAX_RELATIVE_ERROR, "{case} input gradient: {err:e}");
                        worst = worst.max(err);
                        // The kernel gradient sees dy through the ReLU mask, which may flip
                        // where y is within rounding of zero.
                        let err = relative_error(&dk1, &dk0);
                        assert!(err <= MAX_RELATIVE_ERROR, "{case} kernel gradient: {err:e}");
                        worst = worst.max(err);
                        cases += 1;
                    }
                }
            }
        }
    }
    println!("{cases} cases, worst relative error {worst:e}");
}

#[test]
fn winograd_and_direct_are_deterministic_and_independent_of_the_thread_count() {
    for algo in [ConvAlgo::Winograd, ConvAlgo::Direct] {
        deterministic(algo);
    }
}

fn deterministic(algo: ConvAlgo) {
    let spec = Conv2D::new(24, 3).same().relu();
    let input = Shape::image(13, 11, 16);
    let mut layer = Conv2DLayer::new(&spec, input, &mut StdRng::seed_from_u64(5)).unwrap();
    let x = Tensor::from_vec(7, input, values(7 * input.len(), 0.5)).unwrap();
    let isa = Isa::active();
    let on = |threads: usize, layer: &mut Conv2DLayer| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| run(layer, algo, isa, &x))
    };
    let (y1, dx1, _) = on(1, &mut layer);
    for threads in [1, 2, 3] {
        let (y, dx, dk) = on(threads, &mut layer);
        assert!(y.data() == y1.data(), "forward, {threads} threads");
        assert!(dx.data() == dx1.data(), "input gradient, {threads} threads");
        // The kernel gradient's partial sums follow the split into tasks (as im2col's do), so
        // it is compared run against run on the same thread count.
        let (_, _, again) = on(threads, &mut layer);
        assert!(dk == again, "kernel gradient, {threads} threads");
    }
}

#[test]
fn the_layer_passes_take_the_chosen_algorithm() {
    // Through `Layer::forward`, a 32→32 3×3 layer and a narrowing one (64→32) equal the
    // Winograd path, one with 3, 4 or 8 input channels the direct path (on the portable path
    // im2col, and Winograd from 8; with AVX2 Winograd from 8, over 128 channel pairs), a
    // strided one the im2col path, bit for bit, unless CNN_LAB_CONV forces one.
    let isa = Isa::active();
    let portable = isa == Isa::Portable;
    let thin = if portable { ConvAlgo::Im2col } else { ConvAlgo::Direct };
    let eight = if portable || isa == Isa::Avx2 {
        ConvAlgo::Winograd
    } else {
        ConvAlgo::Direct
    };
    let cases = [
        (32, 1, ConvAlgo::Winograd),
        (3, 1, thin),
        (4, 1, thin),
        (8, 1, eight),
        (32, 2, ConvAlgo::Im2col),
        (64, 1, ConvAlgo::Winograd),
    ];
    for (c, stride, rule) in cases {
        let spec = Conv2D::new(32, 3).same().strides(stride);
        let input = Shape::image(9, 9, c);
        let mut layer = Conv2DLayer::new(&spec, input, &mut StdRng::seed_from_u64(1)).unwrap();
        let x = Tensor::from_vec(2, input, values(2 * input.len(), 0.1)).unwrap();
        let mut y = Tensor::default();
        layer.forward(&x, &mut y, Mode::Infer);
        let want = match ConvAlgo::forced() {
            Some(algo) if stride == 1 || algo == ConvAlgo::Im2col => algo,
            _ => rule,
        };
        let mut by = Tensor::default();
        layer.forward_with(want, isa, &x, &mut by);
        assert!(y.data() == by.data(), "c={c} stride {stride}: not the {want} path");
    }
}

#[test]
fn the_kernel_gradient_takes_its_own_algorithm() {
    // Through `Layer::backward`, the kernel gradient of a 3×3 stride-1 layer from 16 or more
    // input channels to 32 filters equals the Winograd path's, that of a thinner one (8
    // channels) or of 16 channels to 8 filters the direct path's (on the portable path
    // im2col's and Winograd's), and that of a strided layer the im2col path's, bit for bit, unless CNN_LAB_CONV
    // forces one.
    let isa = Isa::active();
    let (direct, winograd, im2col) = (ConvAlgo::Direct, ConvAlgo::Winograd, ConvAlgo::Im2col);
    let portable = isa == Isa::Portable;
    let cases = [
        (32, 32, 1, winograd),
        (64, 32, 1, winograd),
        (16, 32, 1, winograd),
        (8, 32, 1, if portable { im2col } else { direct }),
        (16, 8, 1, if portable { winograd } else { direct }),
        (32, 32, 2, ConvAlgo::Im2col),
    ];
    for (c, f, stride, rule) in cases {
        let spec = Conv2D::new(f, 3).same().strides(stride).relu();
        let input = Shape::image(9, 9, c);
        let mut layer = Conv2DLayer::new(&spec, input, &mut StdRng::seed_from_u64(2)).unwrap();
        let x = Tensor::from_vec(2, input, values(2 * input.len(), 0.4)).unwrap();
        let mut y = Tensor::default();
        layer.forward(&x, &mut y, Mode::Train);
        let mut dy = y.clone();
        dy.data_mut().copy_from_slice(&values(y.data().len(), 1.9));
        layer.backward(&x, &y, &mut dy.clone(), None);
        let got = layer.kernel().grad.clone();
        let want = match ConvAlgo::forced() {
            Some(algo) if stride == 1 || algo == ConvAlgo::Im2col => algo,
            _ => rule,
        };
        layer.backward_with(want, isa, &x, &y, &mut dy.clone(), None);
        assert!(
            got == layer.kernel().grad,
            "c={c} f={f} stride {stride}: not the {want} path"
        );
    }
}

#[test]
fn winograd_transforms_the_filters_again_when_the_kernel_changes() {
    // The forward pass keeps its filter transform between calls while the kernel is unchanged;
    // an optimizer step (here: scaling and shifting the kernel) must be seen at the next call.
    let spec = Conv2D::new(32, 3).same();
    let input = Shape::image(8, 8, 32);
    let mut layer = Conv2DLayer::new(&spec, input, &mut StdRng::seed_from_u64(7)).unwrap();
    let x = Tensor::from_vec(3, input, values(3 * input.len(), 0.3)).unwrap();
    let isa = Isa::active();
    let (mut y, mut want) = (Tensor::default(), Tensor::default());
    for step in 0..3 {
        layer.forward_with(ConvAlgo::Winograd, isa, &x, &mut y);
        layer.forward_with(ConvAlgo::Im2col, isa, &x, &mut want);
        let err = relative_error(y.data(), want.data());
        assert!(err <= MAX_RELATIVE_ERROR, "after {step} kernel changes: {err:e}");
        let kernel = &mut layer.params_mut()[0].value;
        kernel
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = *v * -1.5 + (i % 5) as f32 * 0.01);
    }
}

/// A conv and the plain max pool after it, fused against one after the other: bitwise on every
/// algorithm, every path and batches of 1 (the products split their rows), 3 and 17 (several
/// fused runs per task). Returns the cases compared.
fn fused_matches_the_two_layers(layer: &mut Conv2DLayer, input: Shape, pool: &mut dyn Layer, label: &str) -> usize {
    assert!(pool.is_plain_max_pool(), "{label}");
    let mut cases = 0;
    for isa in Isa::runnable("conv + pool fused") {
        for algo in ConvAlgo::ALL {
            for n in [1, 3, 17] {
                let x = Tensor::from_vec(n, input, values(n * input.len(), (input.len() * n) as f32)).unwrap();
                let (mut y, mut want, mut got) = (Tensor::default(), Tensor::default(), Tensor::default());
                layer.forward_with(algo, isa, &x, &mut y);
                pool.forward(&y, &mut want, Mode::Infer);
                assert!(layer.forward_pooled_with(algo, isa, &x, &mut got));
                assert_eq!((got.batch(), got.shape()), (want.batch(), want.shape()));
                let bits = |t: &Tensor| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert!(
                    bits(&got) == bits(&want),
                    "{isa} {algo:?} {label}, batch {n}: fused differs"
                );
                assert!(want.data().iter().any(|&v| v > 0.0) && want.data().iter().any(|&v| v != want.data()[0]));
                cases += 1;
            }
        }
    }
    cases
}

#[test]
fn a_conv_fused_with_a_2x2_max_pool_gives_the_bits_of_the_two_layers() {
    // Odd sizes (the pool drops the last row or column), every activation (softmax reads
    // across channels, so the direct method compacts first), padding or none (the direct
    // method copies a `valid` layer's input in one piece).
    use super::max_pooling2d::{MaxPool, MaxPooling2D};
    use crate::cnn::activation::Activation;
    let shapes = [
        (8, 8, 3, 16, 3, Padding::Same, Activation::Relu),
        (7, 9, 5, 8, 3, Padding::Same, Activation::Tanh),
        (13, 12, 2, 4, 5, Padding::Valid, Activation::Sigmoid),
        (32, 32, 8, 32, 3, Padding::Same, Activation::LeakyRelu(0.2)),
        (28, 28, 1, 20, 5, Padding::Valid, Activation::Relu),
        (11, 10, 3, 6, 3, Padding::Valid, Activation::Softmax),
        (9, 9, 4, 5, 1, Padding::Valid, Activation::Linear),
    ];
    let mut cases = 0;
    for (h, w, c, f, size, padding, activation) in shapes {
        let spec = Conv2D {
            activation,
            ..Conv2D::new(f, size).padding(padding)
        };
        let input = Shape::image(h, w, c);
        let mut layer = Conv2DLayer::new(&spec, input, &mut StdRng::seed_from_u64(4)).unwrap();
        let mut pool = MaxPool::new(&MaxPooling2D::new(2), layer.output_shape()).unwrap();
        let label = format!("{h}×{w}×{c} → {f}, {size}×{size}, {padding:?}, {activation:?}");
        cases += fused_matches_the_two_layers(&mut layer, input, &mut pool, &label);
    }
    assert!(cases >= shapes.len() * ConvAlgo::ALL.len() * 3);
}

#[test]
fn a_conv1d_fused_with_a_2_step_max_pool_gives_the_bits_of_the_two_layers() {
    use super::conv1d::Conv1D;
    use super::kind::{Init, LayerKind};
    use super::max_pooling1d::MaxPooling1D;
    use crate::cnn::activation::Activation;
    let mut rng = StdRng::seed_from_u64(6);
    let mut cases = 0;
    // Causal and dilated (the wide rows are longer), an odd output length (the last step is
    // dropped), a kernel of 1 (the wide rows are the outputs).
    let specs = [
        (31, 3, Conv1D::new(8, 5).relu()),
        (
            30,
            4,
            Conv1D {
                activation: Activation::Tanh,
                ..Conv1D::new(6, 3).dilation(2).padding(Padding::Causal)
            },
        ),
        (17, 2, Conv1D::new(12, 1).relu()),
        (
            20,
            3,
            Conv1D {
                activation: Activation::Softmax,
                ..Conv1D::new(5, 3).padding(Padding::Same)
            },
        ),
    ];
    for (steps, c, spec) in &specs {
        let input = Shape::sequence(*steps, *c);
        let mut layer = Conv2DLayer::from_setup(spec.setup(input).unwrap(), &mut rng);
        let mut init = Init {
            rng: &mut rng,
            seed: 6,
            index: 1,
        };
        let mut pool = MaxPooling1D::new(2).build(layer.output_shape(), &mut init).unwrap();
        let label = format!("{steps}×{c}, {spec:?}");
        cases += fused_matches_the_two_layers(&mut layer, input, pool.as_mut(), &label);
    }
    assert!(cases >= specs.len() * 3);
}

#[test]
fn a_conv_without_a_2x2_output_does_not_fuse() {
    let spec = Conv2D::new(4, 3);
    let mut layer = Conv2DLayer::new(&spec, Shape::image(3, 9, 2), &mut StdRng::seed_from_u64(5)).unwrap();
    let x = Tensor::from_vec(2, Shape::image(3, 9, 2), values(2 * 54, 0.5)).unwrap();
    let mut y = Tensor::default();
    // One output row: no 2×2 window fits.
    assert!(!layer.forward_pooled(&x, &mut y));
    assert_eq!(y.data().len(), 0);
}
