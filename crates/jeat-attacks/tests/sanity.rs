//! The model checks of AutoAttack's `checks.py`, each on a model built to trip it (and a plain
//! model that trips none).

mod common;

use burn::prelude::*;
use burn::tensor::activation::softmax;
use common::{images, labels};
use jeat_attacks::sanity::{SanityFlag, check_model};
use jeat_models::{Classifier, Model, ModelSpec};
use std::cell::Cell;

const SIDE: usize = 8;

fn plain() -> Model {
    ModelSpec::new("mnist-cnn", 10, [1, SIDE, SIDE])
        .build_seeded(&jeat_core::testing::device(), 4)
        .unwrap()
        .valid()
}

fn batch(n: usize) -> (Tensor<4>, Tensor<1, Int>) {
    let device = jeat_core::testing::device();
    let x: Vec<f32> = (0..n * SIDE * SIDE)
        .map(|i| ((i * 37) % 101) as f32 / 100.0)
        .collect();
    let y: Vec<i64> = (0..n as i64).map(|i| i % 10).collect();
    (images(x, n, SIDE, &device), labels(&y, &device))
}

/// Logits plus a little noise that changes at every call.
struct Noisy {
    inner: Model,
    calls: Cell<u64>,
}

impl Classifier for Noisy {
    fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        self.calls.set(self.calls.get() + 1);
        let logits = self.inner.logits(x);
        let noise = jeat_core::rng::normal(logits.dims(), 0.05, self.calls.get(), &logits.device());
        logits + noise
    }
    fn num_classes(&self) -> usize {
        10
    }
}

/// Probabilities instead of logits.
struct Softmaxed(Model);

impl Classifier for Softmaxed {
    fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        softmax(self.0.logits(x), 1)
    }
    fn num_classes(&self) -> usize {
        10
    }
}

/// Logits centred on their batch mean: a point's output depends on its batch.
struct BatchCentred(Model);

impl Classifier for BatchCentred {
    fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        let logits = self.0.logits(x);
        logits.clone() - logits.mean_dim(0)
    }
    fn num_classes(&self) -> usize {
        10
    }
}

fn has(flags: &[SanityFlag], pick: fn(&SanityFlag) -> bool) -> bool {
    flags.iter().any(pick)
}

#[test]
fn a_plain_model_trips_no_check() {
    let (x, y) = batch(12);
    let flags = check_model(&plain(), &x, &y);
    assert!(flags.is_empty(), "{flags:?}");
}

#[test]
fn a_randomised_model_is_flagged() {
    let (x, y) = batch(12);
    let model = Noisy {
        inner: plain(),
        calls: Cell::new(0),
    };
    let flags = check_model(&model, &x, &y);
    assert!(
        has(&flags, |f| matches!(f, SanityFlag::Randomized { .. })),
        "{flags:?}"
    );
}

#[test]
fn probability_outputs_are_flagged() {
    let (x, y) = batch(12);
    let flags = check_model(&Softmaxed(plain()), &x, &y);
    assert!(
        has(&flags, |f| matches!(f, SanityFlag::ProbabilityOutputs)),
        "{flags:?}"
    );
    assert!(!has(&flags, |f| matches!(f, SanityFlag::Randomized { .. })));
}

#[test]
fn a_batch_dependent_model_is_flagged() {
    let (x, y) = batch(12);
    let flags = check_model(&BatchCentred(plain()), &x, &y);
    assert!(
        has(&flags, |f| matches!(f, SanityFlag::BatchDependent { .. })),
        "{flags:?}"
    );
}
