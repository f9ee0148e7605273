//! Training on the test device reaches the weights training on flex reaches: the same
//! network (drawn on flex, forked to the test device), the same batch, three SGD steps, then
//! the logits compared. On flex itself there is nothing to compare and the test says so; it is
//! one of the tests `cargo xtask test --backend wgpu` runs.

use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_core::host::floats;
use jeat_core::rng;
use jeat_core::testing::TestBackend;
use jeat_energy::{PointLoss, Reference};
use jeat_models::{Classifier, Model, ModelSpec};

const N: usize = 12;
const SIDE: usize = 8;

/// `[N, K]` logits on `x` after three SGD steps (lr 0.5) of cross-entropy on (`x`, `y`).
fn logits_after_training(mut model: Model, device: &Device, x: &[f32], y: &[i64]) -> Vec<f32> {
    let mut optimizer = SgdConfig::new().init();
    let x = Tensor::<4>::from_data(TensorData::new(x.to_vec(), [N, 1, SIDE, SIDE]), device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(y.to_vec(), [N]), device);
    for _ in 0..3 {
        let logits = model.logits(x.clone());
        let loss = PointLoss::CrossEntropy
            .per_point(logits, &Reference::labels(y.clone()))
            .mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(0.5, model, grads);
    }
    floats(model.valid().logits(x.without_autodiff()))
}

#[test]
fn three_sgd_steps_on_the_test_device_match_flex() {
    if TestBackend::from_env() == TestBackend::Flex {
        eprintln!("the test device is flex: nothing to compare (run with JEAT_TEST_BACKEND=wgpu)");
        return;
    }
    let flex = Device::flex().autodiff();
    let test_device = jeat_core::testing::device().autodiff();
    let network = || {
        ModelSpec::new("mnist-cnn", 10, [1, SIDE, SIDE])
            .build_seeded(&flex, 11)
            .unwrap()
    };
    let x = floats(rng::uniform(
        [N * SIDE * SIDE],
        0.0,
        1.0,
        0,
        &Device::flex(),
    ));
    let y: Vec<i64> = (0..N as i64).map(|i| i % 10).collect();
    let on_flex = logits_after_training(network(), &flex, &x, &y);
    let on_device = logits_after_training(network().fork(&test_device), &test_device, &x, &y);
    let untrained = floats(network().valid().logits(Tensor::from_data(
        TensorData::new(x.clone(), [N, 1, SIDE, SIDE]),
        &Device::flex(),
    )));
    let moved = on_flex
        .iter()
        .zip(&untrained)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(moved > 1e-2, "training did not move the logits ({moved})");
    // f32 reductions in another order: 1e-4 of logits of order 1.
    for (i, (a, b)) in on_flex.iter().zip(&on_device).enumerate() {
        assert!((a - b).abs() < 1e-4, "logit {i}: flex {a}, test device {b}");
    }
}
