//! Training on the test device reaches the weights training on flex reaches: the same
//! network (drawn on flex, forked to the test device), the same batch, three SGD steps, then
//! the logits compared. On flex itself, the test device is flex, so the comparison is with
//! something independent of flex's f32 kernels: the same training in f64 on flex (other
//! kernels, other rounding). It is one of the tests `cargo xtask test --backend wgpu` runs.

use burn::module::{ModuleMapper, Param};
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use burn::tensor::{FloatDType, TensorData};
use jeat_core::host::floats;
use jeat_core::rng;
use jeat_core::testing::TestBackend;
use jeat_energy::{PointLoss, Reference};
use jeat_models::{Classifier, Model, ModelSpec};

const N: usize = 12;
const SIDE: usize = 8;

/// `[N, K]` logits on `x` after three SGD steps (lr 0.5) of cross-entropy on (`x`, `y`).
fn logits_after_training(
    mut model: Model,
    device: &Device,
    x: &[f32],
    y: &[i64],
    dtype: FloatDType,
) -> Vec<f32> {
    let mut optimizer = SgdConfig::new().init();
    let x =
        Tensor::<4>::from_data(TensorData::new(x.to_vec(), [N, 1, SIDE, SIDE]), device).cast(dtype);
    let y = Tensor::<1, Int>::from_data(TensorData::new(y.to_vec(), [N]), device);
    for _ in 0..3 {
        let logits = model.logits(x.clone());
        let loss = PointLoss::CrossEntropy
            .per_point(logits, &Reference::labels(y.clone()))
            .mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(0.5, model, grads);
    }
    floats(
        model
            .valid()
            .logits(x.without_autodiff())
            .cast(FloatDType::F32),
    )
}

/// Every float of a module cast to `dtype`.
struct Cast(FloatDType);

impl ModuleMapper for Cast {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        Param::from_mapped_value(id, tensor.cast(self.0), mapper)
    }
}

#[test]
fn three_sgd_steps_on_the_test_device_match_flex() {
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
    let on_flex = logits_after_training(network(), &flex, &x, &y, FloatDType::F32);
    let (on_device, other) = match TestBackend::from_env() {
        TestBackend::Flex => {
            let in_f64 = network().valid().map(&mut Cast(FloatDType::F64)).train();
            let logits = logits_after_training(in_f64.fork(&flex), &flex, &x, &y, FloatDType::F64);
            (logits, "flex in f64")
        }
        _ => {
            let forked = network().fork(&test_device);
            let logits = logits_after_training(forked, &test_device, &x, &y, FloatDType::F32);
            (logits, "the test device")
        }
    };
    let untrained = floats(network().valid().logits(Tensor::from_data(
        TensorData::new(x.clone(), [N, 1, SIDE, SIDE]),
        &Device::flex(),
    )));
    let moved = on_flex
        .iter()
        .zip(&untrained)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(moved > 1e-2, "training did not move the logits ({moved})");
    let largest = on_flex
        .iter()
        .zip(&on_device)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    eprintln!("flex f32 against {other}: logits within {largest}");
    if TestBackend::from_env() == TestBackend::Flex {
        assert!(
            largest > 0.0,
            "f64 gave f32's logits bit for bit: it did not run in f64"
        );
    }
    // f32 reductions in another order (or f32 against f64): 1e-4 of logits of order 1.
    for (i, (a, b)) in on_flex.iter().zip(&on_device).enumerate() {
        assert!((a - b).abs() < 1e-4, "logit {i}: flex {a}, {other} {b}");
    }
}
