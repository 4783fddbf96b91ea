//! Once a model has run a batch size, its training steps and inference passes allocate nothing
//! on our matrix-multiply paths (AVX-512, AVX2): every buffer is the model's and is reused. Counted by a global allocator that sees every
//! thread (rayon's workers too), so this file holds one test: a second one running beside it
//! would be counted as well.

use cnn_lab::cnn::gemm::{Isa, Op, sgemm};
use cnn_lab::cnn::spec::{BatchNormalization, Conv2D, Dense, Dropout, GlobalAveragePooling2D, Pool2D};
use cnn_lab::cnn::{LayerSpec, Mode, Model, Optimizer, OptimizerKind, Shape, Tensor, zoo};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The system allocator, counting allocations (and growths) while `ARMED` is set.
struct Counting;

static ARMED: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

fn note(size: usize) {
    if ARMED.load(Ordering::Relaxed) {
        COUNT.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches only atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// (allocations, bytes) made while `f` runs.
fn count(f: impl FnOnce()) -> (usize, usize) {
    COUNT.store(0, Ordering::SeqCst);
    BYTES.store(0, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    f();
    ARMED.store(false, Ordering::SeqCst);
    (COUNT.load(Ordering::SeqCst), BYTES.load(Ordering::SeqCst))
}

fn batch(input: Shape, n: usize) -> (Tensor, Vec<u32>) {
    let data = (0..n * input.len()).map(|i| (i % 251) as f32 / 251.0).collect();
    let x = Tensor::from_vec(n, input, data).expect("sizes match");
    (x, (0..n as u32).map(|i| i % 10).collect())
}

#[test]
fn training_steps_and_inference_allocate_nothing_once_warm() {
    // The steps run on the engine's thread pool, as a step's own parallel work does. (Work sent
    // in from a thread outside the pool goes through rayon's injector queue, which allocates a
    // 1.5 KB block every 63 jobs: rayon's cost, not the engine's.)
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a thread pool");
    // Each thread's matrix-multiply packing buffer is allocated on its first product, at the
    // size the largest product needs; which thread runs which task first varies, so give each
    // one a product now.
    pool.broadcast(|_| {
        let (a, b, mut c) = (vec![1.0; 256], vec![1.0; 256], vec![0.0; 256]);
        sgemm(16, 16, 16, &a, Op::N, &b, Op::N, &mut c, false, false);
        assert_eq!(c[0], 16.0);
    });
    if Isa::active() == Isa::Portable {
        // matrixmultiply allocates its packing buffers in every product.
        eprintln!("the portable path (matrixmultiply) allocates per product; not checked");
        return;
    }
    pool.install(every_reference_model_steps_without_allocating);
}

fn every_reference_model_steps_without_allocating() {
    // The reference models, and one with the other kinds that hold parameters or state.
    let others = vec![
        LayerSpec::Conv2D(Conv2D::new(8, 3).strides(2)),
        LayerSpec::BatchNormalization(BatchNormalization::default()),
        LayerSpec::AveragePooling2D(Pool2D::new(2)),
        LayerSpec::Dropout(Dropout::new(0.25)),
        LayerSpec::GlobalAveragePooling2D(GlobalAveragePooling2D),
        LayerSpec::Dense(Dense::new(10)),
    ];
    let models = [
        ("lenet", zoo::lenet()),
        ("cifar", zoo::cifar()),
        ("signals", zoo::signals()),
        ("batch norm", (Shape::image(16, 16, 3), others)),
    ];
    for (name, (input, specs)) in models {
        let mut model = Model::build(input, &specs, Some(10), 0).expect("reference models are valid");
        for optimizer in [OptimizerKind::sgd(0.9), OptimizerKind::adam()] {
            let mut opt = Optimizer::new(optimizer.clone(), 0.0);
            for n in [64, 1, 7] {
                let (x, labels) = batch(input, n);
                // Warm: the first step at a batch size sizes the buffers.
                model.train_step(&x, &labels, &mut opt, 0.01);
                model.logits(&x, Mode::Infer);
                let (count, bytes) = count(|| {
                    for _ in 0..3 {
                        model.train_step(&x, &labels, &mut opt, 0.01);
                        model.logits(&x, Mode::Infer);
                    }
                });
                assert_eq!(
                    (count, bytes),
                    (0, 0),
                    "{name}, {optimizer:?}, batch {n}: (allocations, bytes) in 3 warm steps"
                );
            }
        }
    }
}
