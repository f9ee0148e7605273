//! Attack iterations per second on WRN-16-4 (CIFAR-shaped, batch 128, default CPU backend):
//! one PGD step (forward + input gradient + signed step + projection) and one APGD iteration.
#![allow(missing_docs)] // criterion's macros define undocumented public functions

use burn::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use jeat_attacks::apgd::Apgd;
use jeat_attacks::pgd::Pgd;
use jeat_attacks::{Attack, Norm, ThreatModel};
use jeat_models::ModelSpec;
use std::hint::black_box;
use std::time::Duration;

fn attack_steps(c: &mut Criterion) {
    jeat_core::allocator::keep_freed_memory();
    let device = jeat_core::testing::device();
    let model = ModelSpec::new("wrn-16-4", 10, [3, 32, 32])
        .build(&device)
        .unwrap()
        .valid();
    let images = jeat_core::rng::uniform([128, 3, 32, 32], 0.0, 1.0, 0, &device);
    // Labels the model predicts, so that every point is attacked for the whole budget.
    let labels = model.forward(images.clone()).argmax(1).squeeze_dim::<1>(1);
    let threat = ThreatModel::parse(Norm::Linf, "8/255").unwrap();
    let mut group = c.benchmark_group("wrn-16-4/batch128");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    // Three iterations per sample: per-iteration time is the reported time / 3.
    let pgd = Pgd::madry(threat.clone(), 3);
    group.bench_function("pgd, 3 iterations", |b| {
        b.iter(|| {
            black_box(
                pgd.run(&model, &images, &labels, 0)
                    .unwrap()
                    .adversarial
                    .into_data(),
            )
        })
    });
    let apgd = Apgd {
        iterations: 3,
        ..Apgd::ce(threat)
    };
    group.bench_function("apgd-ce, 3 iterations", |b| {
        b.iter(|| {
            black_box(
                apgd.run(&model, &images, &labels, 0)
                    .unwrap()
                    .adversarial
                    .into_data(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, attack_steps);
criterion_main!(benches);
