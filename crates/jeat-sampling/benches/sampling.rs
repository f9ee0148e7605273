//! SGLD steps per second on WRN-16-4 (batch 128) and the Santurkar generator's images per second
//! (WRN-16-4, CIFAR-shaped, 60 steps), on the default CPU backend.
#![allow(missing_docs)] // criterion's macros define undocumented public functions

use burn::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use jeat_data::{ImageSet, ImageShape};
use jeat_models::ModelSpec;
use jeat_sampling::generate::{Request, Sources, generate_all};
use jeat_sampling::{ClassGaussians, Energy, Generator, SgldConfig};
use std::hint::black_box;
use std::time::Duration;

fn sampling(c: &mut Criterion) {
    jeat_core::allocator::keep_freed_memory();
    let device = jeat_core::testing::device();
    let model = ModelSpec::new("wrn-16-4", 10, [3, 32, 32])
        .build(&device)
        .unwrap()
        .valid();
    let mut group = c.benchmark_group("wrn-16-4");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));

    let start = jeat_core::rng::uniform([128, 3, 32, 32], 0.0, 1.0, 0, &device);
    let three_steps = SgldConfig::from_jem_units(3, 1.0, 0.01);
    group.bench_function("sgld-marginal, batch 128, 3 steps", |b| {
        b.iter(|| {
            black_box(
                three_steps
                    .run(&model, start.clone(), Energy::Marginal, None, 0)
                    .unwrap()
                    .into_data(),
            )
        })
    });

    // Seeds fitted on synthetic CIFAR-shaped data: the cost does not depend on the values.
    let shape = ImageShape::new(3, 32, 32);
    let pixels = (0..200 * shape.num_pixels())
        .map(|i| (i * 37 % 251) as u8)
        .collect();
    let labels = (0..200).map(|i| (i % 10) as u16).collect();
    let set = ImageSet::new("synthetic", shape, 10, pixels, labels).unwrap();
    let seeds = ClassGaussians::fit(&set, 1e-4).unwrap();
    let sources = Sources {
        seeds: Some(&seeds),
        buffer: None,
    };
    // One image per class (10 images), 60 steps each.
    group.bench_function("santurkar, 10 images, 60 steps", |b| {
        b.iter(|| {
            let request = Request {
                generator: &Generator::santurkar(),
                count: 1,
                shape: [3, 32, 32],
                sources,
                batch_size: 10,
                seed: 0,
                device: &device,
            };
            let out = generate_all(&model, &request).unwrap();
            black_box(out.images.into_data())
        })
    });
    group.finish();
}

criterion_group!(benches, sampling);
criterion_main!(benches);
