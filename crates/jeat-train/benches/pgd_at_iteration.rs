//! One PGD-10 adversarial-training iteration of WRN-16-4 at batch 128 (CIFAR-shaped inputs, eps
//! 8/255, step 2/255): the inner attack on the inference-mode snapshot, the loss in training
//! mode, backward, an SGD step — timed directly (an iteration takes tens of seconds on a CPU, too
//! long for criterion's sampling). Prints the median of `JEAT_ITERATIONS` (default 3) after one
//! warm-up. Compare with pytorch_pgd_at_iteration.py on the same machine.
#![allow(missing_docs)] // criterion's macros define undocumented public functions

use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use jeat_energy::{Objective, ObjectiveInputs};
use jeat_models::ModelSpec;
use jeat_train::InnerAttack;
use std::time::Instant;

fn main() {
    let iterations: usize = std::env::var("JEAT_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let device = jeat_core::testing::device();
    let autodiff = device.clone().autodiff();
    let mut model = ModelSpec::new("wrn-16-4", 10, [3, 32, 32])
        .build_seeded(&autodiff, 0)
        .unwrap();
    let mut optimizer = SgdConfig::new()
        .with_momentum(Some(MomentumConfig {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
        }))
        .init();
    let images = jeat_core::rng::uniform([128, 3, 32, 32], 0.0, 1.0, 1, &device);
    let labels = Tensor::<1, Int>::from_data(
        TensorData::new((0..128i64).map(|i| i % 10).collect::<Vec<_>>(), [128]),
        &device,
    );
    let attack = InnerAttack::madry(8.0 / 255.0, 10);
    let objective = Objective::PgdAt;
    let mut times = Vec::new();
    for i in 0..=iterations {
        let started = Instant::now();
        let adversarial = jeat_train::inner::adversarial(
            &model.valid(),
            &images,
            &labels,
            &attack,
            jeat_energy::PointLoss::CrossEntropy,
            i as u64,
        )
        .unwrap();
        let loss = objective
            .loss(
                |x| model.forward(x),
                |x| model.forward(x),
                ObjectiveInputs {
                    images: images.clone(),
                    labels: labels.clone(),
                    adversarial: Some(adversarial),
                    samples: None,
                    joint_samples: None,
                },
            )
            .unwrap();
        let grads = GradientsParams::from_grads(loss.total.backward(), &model);
        model = optimizer.step(0.1, model, grads);
        let _ = model
            .valid()
            .forward(images.clone().narrow(0, 0, 1))
            .into_data();
        if i > 0 {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "pgd-10 adversarial-training iteration, wrn-16-4, batch 128: median {:.2} s over {iterations} (all: {times:.2?})",
        times[times.len() / 2]
    );
}
