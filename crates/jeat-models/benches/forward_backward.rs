//! Forward and forward+backward (gradients of the weights and of the input) of the WideResNets
//! the project trains: WRN-16-4 at batch 128 and WRN-34-10 at batch 32, CIFAR-shaped inputs, on
//! the default CPU backend. `JEAT_BENCH_QUICK=1` keeps only WRN-16-4.
//!
//! `JEAT_BENCH_BACKEND=ndarray` (with `--features ndarray`) runs the same on burn's deprecated
//! ndarray backend instead of flex, for the backend table of docs/performance.md.
#![allow(missing_docs)] // criterion's macros define undocumented public functions

use burn::prelude::*;
use burn::tensor::Distribution;
use criterion::{Criterion, criterion_group, criterion_main};
use jeat_models::ModelSpec;
use std::hint::black_box;
use std::time::Duration;

/// The backend under test: flex unless `JEAT_BENCH_BACKEND` names another one compiled in.
fn bench_device() -> (Device, &'static str) {
    match std::env::var("JEAT_BENCH_BACKEND").as_deref() {
        Err(_) | Ok("flex") => (jeat_core::testing::device(), "flex"),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)] // measured only to show why flex is the default
        Ok("ndarray") => (Device::ndarray(), "ndarray"),
        Ok(other) => panic!(
            "JEAT_BENCH_BACKEND={other}: this bench knows flex and, with --features ndarray, ndarray"
        ),
    }
}

fn bench_model(c: &mut Criterion, arch: &str, batch: usize) {
    let (device, backend) = bench_device();
    let model = ModelSpec::new(arch, 10, [3, 32, 32])
        .build(&device)
        .unwrap();
    let images = Tensor::<4>::random([batch, 3, 32, 32], Distribution::Uniform(0.0, 1.0), &device);
    let labels = Tensor::<1, Int>::from_data(
        TensorData::new(
            (0..batch as i64).map(|i| i % 10).collect::<Vec<_>>(),
            [batch],
        ),
        &device,
    );
    let mut group = c.benchmark_group(format!("{backend}/{arch}/batch{batch}"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));

    let inference = model.valid();
    group.bench_function("forward (inference mode)", |b| {
        b.iter(|| black_box(inference.forward(images.clone()).into_data()))
    });

    let ad_device = device.clone().autodiff();
    let trainable = model.fork(&ad_device).train();
    group.bench_function("forward+backward (weights and input)", |b| {
        b.iter(|| {
            let x = images.clone().autodiff().require_grad();
            let logits = trainable.forward(x.clone());
            let loss = burn::nn::loss::CrossEntropyLossConfig::new()
                .init(&ad_device)
                .forward(logits, labels.clone());
            let grads = loss.backward();
            black_box(x.grad(&grads).map(|g| g.into_data()))
        })
    });
    group.finish();
}

fn forward_backward(c: &mut Criterion) {
    jeat_core::allocator::keep_freed_memory();
    bench_model(c, "wrn-16-4", 128);
    if std::env::var_os("JEAT_BENCH_QUICK").is_none() {
        bench_model(c, "wrn-34-10", 32);
    }
}

criterion_group!(benches, forward_backward);
criterion_main!(benches);
