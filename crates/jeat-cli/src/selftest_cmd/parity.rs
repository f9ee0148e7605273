//! `wrn-pytorch` and `mnist-cnn-pytorch`: the networks of jeat-models' PyTorch parity fixtures
//! on the device under test, against what PyTorch computed on the same weights and inputs:
//! eval-mode logits, and the gradient of the summed cross-entropy (labels `i % 10`) with
//! respect to the inputs (the step every attack and sampler takes). Tolerance: `max |ours −
//! PyTorch| / max |PyTorch|` ≤ 1e-3 for each (f32 sums in another order stay near 1e-6).

use super::fixtures::{self, GRADIENTS, PARITY_IO};
use super::{Context, Measurement, Outcome, images, relative_error};
use anyhow::Result;
use burn::module::Module;
use jeat_core::host::{floats, label_tensor};
use jeat_energy::{PointLoss, Reference};
use jeat_engine::steps::gradient;
use jeat_models::{Classifier, Model};

/// The relative error both comparisons allow.
pub const TOLERANCE: f64 = 1e-3;

/// What PyTorch computed for one network.
#[derive(Debug, Clone)]
pub struct PytorchValues {
    /// `[N, C, H, W]` inputs, as host values.
    pub inputs: Vec<f32>,
    /// Their shape.
    pub shape: [usize; 4],
    /// `[N]` labels of the cross-entropy.
    pub labels: Vec<usize>,
    /// `[N, K]` eval-mode logits.
    pub logits: Vec<f32>,
    /// `[N, C, H, W]`: the gradient of `Σ_i CE(f(x_i), y_i)` with respect to the inputs.
    pub input_grad: Vec<f32>,
}

impl PytorchValues {
    /// The committed values of `prefix` (`wrn` or `cnn`).
    pub fn committed(prefix: &str) -> Result<Self> {
        let (inputs, shape) = fixtures::tensor_f32(PARITY_IO, &format!("{prefix}_inputs"))?;
        Ok(Self {
            inputs,
            shape: fixtures::shape4(&shape)?,
            labels: fixtures::tensor_labels(GRADIENTS, &format!("{prefix}_labels"))?,
            logits: fixtures::tensor_f32(PARITY_IO, &format!("{prefix}_logits"))?.0,
            input_grad: fixtures::tensor_f32(GRADIENTS, &format!("{prefix}_input_grad"))?.0,
        })
    }
}

pub fn wrn(context: &Context) -> Result<Outcome> {
    let model = context.files.wrn(&context.device)?;
    compare(&model, &PytorchValues::committed("wrn")?, context)
}

pub fn mnist_cnn(context: &Context) -> Result<Outcome> {
    let model = context.files.mnist_cnn(&context.device)?;
    compare(&model, &PytorchValues::committed("cnn")?, context)
}

/// `model`'s logits and input gradient on the device against `pytorch`'s. The logits are those
/// of the gradient's forward pass (autodiff); without `--quick` also those of a plain
/// inference-mode forward pass, which runs other (fused) kernels.
pub fn compare(model: &Model, pytorch: &PytorchValues, context: &Context) -> Result<Outcome> {
    let device = &context.device;
    let model = model.valid();
    let x = images(&pytorch.inputs, pytorch.shape, device)?;
    let reference = Reference::labels(label_tensor(&pytorch.labels, device));
    let step = gradient(&model, &x, PointLoss::CrossEntropy, &reference)?;
    let (logits, grad) = (floats(step.logits), floats(step.grad));
    let mut measurements = vec![
        Measurement::at_most(
            "logits (forward pass with autodiff) against PyTorch, max |Δ| / max |PyTorch|",
            relative_error(&logits, &pytorch.logits),
            TOLERANCE,
        ),
        Measurement::at_most(
            "input gradient of the summed CE against PyTorch, max |Δ| / max |PyTorch|",
            relative_error(&grad, &pytorch.input_grad),
            TOLERANCE,
        ),
    ];
    if !context.quick {
        let plain = floats(model.logits(x));
        measurements.push(Measurement::at_most(
            "logits (inference-mode forward pass) against PyTorch, max |Δ| / max |PyTorch|",
            relative_error(&plain, &pytorch.logits),
            TOLERANCE,
        ));
    }
    Ok(Outcome {
        measurements,
        notes: vec![format!(
            "{} inputs of {:?}, labels {:?}",
            pytorch.shape[0],
            &pytorch.shape[1..],
            pytorch.labels
        )],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::Device;

    fn context() -> Context {
        Context {
            device: Device::flex(),
            flex: Device::flex(),
            quick: true,
            files: fixtures::Scratch::new().unwrap(),
        }
    }

    /// The committed values pass; a gradient 1 % off fails, while the logits still pass.
    #[test]
    fn a_wrong_reference_gradient_fails_the_check() {
        let context = context();
        let model = context.files.mnist_cnn(&context.device).unwrap();
        let mut pytorch = PytorchValues::committed("cnn").unwrap();
        let outcome = compare(&model, &pytorch, &context).unwrap();
        assert!(outcome.measurements.iter().all(|m| m.passed), "{outcome:?}");
        for g in &mut pytorch.input_grad {
            *g *= 1.01;
        }
        let outcome = compare(&model, &pytorch, &context).unwrap();
        let passed: Vec<bool> = outcome.measurements.iter().map(|m| m.passed).collect();
        assert_eq!(passed, [true, false], "{outcome:?}");
        let result = super::super::CheckResult::new("mnist-cnn-pytorch", Ok(outcome), 0.0);
        assert!(!result.passed);
        assert!(result.error.unwrap() > 5e-3, "{result:?}");
    }
}
