//! Inception forward images per second (fresh weights: the cost does not depend on them) at
//! batch 16 on the default CPU backend, from 32×32 RGB images (resize included).
#![allow(missing_docs)] // criterion's macros define undocumented public functions

use burn::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use jeat_metrics::FidInception;
use jeat_metrics::extract::Features;
use std::time::Duration;

fn inception(c: &mut Criterion) {
    jeat_core::allocator::keep_freed_memory();
    let device = jeat_core::testing::device();
    let model = FidInception::new(&device).valid();
    let images = Tensor::<4>::random(
        [16, 3, 32, 32],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let mut group = c.benchmark_group("inception");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("forward, batch 16 (32x32 -> 299x299)", |b| {
        b.iter(|| {
            let mut features = Features::default();
            features.add(&model, images.clone(), true);
            features.rows
        })
    });
    group.finish();
}

criterion_group!(benches, inception);
criterion_main!(benches);
