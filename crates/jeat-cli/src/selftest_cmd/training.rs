//! `sgd-steps`: training on the device reaches the weights training on flex reaches (the
//! approach of jeat-train's `backend_agreement` test). The same network (drawn or loaded on
//! flex, forked to the device), the same batch, three steps of the training loop's SGD
//! (jeat-train's optimiser: momentum 0.9, weight decay 5e-4, learning rate 0.1) on the
//! `standard` objective's cross-entropy, in training mode (batch norm on batch statistics).

use super::fixtures::{self, PARITY_IO};
use super::{Context, Measurement, Outcome, images, max_abs_difference};
use anyhow::Result;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use jeat_core::host::{floats, label_tensor};
use jeat_energy::{Objective, ObjectiveInputs};
use jeat_models::{Model, ModelSpec};
use jeat_train::config::OptimizerConfig;

/// SGD steps taken.
const STEPS: usize = 3;
/// Their learning rate.
const LEARNING_RATE: f64 = 0.1;
/// `max |device − flex|` over all weights, relative to how far training moved them on flex.
const TOLERANCE: f64 = 1e-3;

/// The MNIST CNN (fresh, seeded) on the Fashion-MNIST points; without `--quick` also the
/// WRN-16-1 of the PyTorch fixtures (batch norm) on its 4 inputs.
pub fn sgd_steps(context: &Context) -> Result<Outcome> {
    let flex = context.flex.clone().autodiff();
    let mut outcome = Outcome::default();
    let (x, shape, labels) = fixtures::fashion_points(context.points())?;
    let cnn = || Ok(ModelSpec::new("mnist-cnn", 10, [1, 28, 28]).build_seeded(&flex, 11)?);
    compare("mnist-cnn", &cnn, &x, shape, &labels, context, &mut outcome)?;
    if !context.quick {
        let (x, shape) = fixtures::tensor_f32(PARITY_IO, "wrn_inputs")?;
        let shape = fixtures::shape4(&shape)?;
        let labels: Vec<usize> = (0..shape[0]).map(|i| i % 10).collect();
        let wrn = || Ok(context.files.wrn(&flex)?.train());
        compare("wrn-16-1", &wrn, &x, shape, &labels, context, &mut outcome)?;
    }
    Ok(outcome)
}

/// Trains a `network()` (made on flex's autodiff device; a new one for each run, since clones
/// share their batch-norm running statistics) on the batch (`x` `[N, C, H, W]` host values,
/// `labels` `[N]`) on flex and, forked, on the device, and adds the measurements to `outcome`.
fn compare(
    name: &str,
    network: &dyn Fn() -> Result<Model>,
    x: &[f32],
    shape: [usize; 4],
    labels: &[usize],
    context: &Context,
    outcome: &mut Outcome,
) -> Result<()> {
    let device = context.device.clone().autodiff();
    let start = weights(&network()?);
    let on_device = weights(&train(network()?.fork(&device), x, shape, labels, &device)?);
    let flex = context.flex.clone().autodiff();
    let on_flex = weights(&train(network()?, x, shape, labels, &flex)?);
    let largest = |of: &dyn Fn(usize) -> f64| (0..start.len()).map(of).fold(0f64, f64::max);
    let moved = largest(&|i| max_abs_difference(&on_flex[i], &start[i]));
    let apart = largest(&|i| max_abs_difference(&on_device[i], &on_flex[i]));
    outcome.measurements.push(Measurement::at_most(
        format!("{name}: weights after {STEPS} steps, max |device − flex| / max |flex − start|"),
        apart / moved,
        TOLERANCE,
    ));
    outcome.measurements.push(Measurement::at_least(
        format!("{name}: training moved the weights on flex by (max |flex − start|)"),
        moved,
        1e-4,
    ));
    outcome.notes.push(format!(
        "{name}: batch of {}, {} weight tensors, largest difference {apart:.2e}",
        shape[0],
        start.len()
    ));
    Ok(())
}

/// `STEPS` SGD steps of cross-entropy on one batch, on `device` (an autodiff device).
fn train(
    mut model: Model,
    x: &[f32],
    shape: [usize; 4],
    labels: &[usize],
    device: &Device,
) -> Result<Model> {
    let mut optimizer = jeat_train::optimizer::build(&OptimizerConfig::Sgd {
        momentum: 0.9,
        weight_decay: 5e-4,
        nesterov: false,
    });
    let images = images(x, shape, device)?;
    let labels = label_tensor(labels, device);
    for _ in 0..STEPS {
        let loss = Objective::Standard.loss(
            |x| model.forward(x),
            |x| model.forward(x),
            ObjectiveInputs {
                images: images.clone(),
                labels: labels.clone(),
                adversarial: None,
                samples: None,
                joint_samples: None,
            },
        )?;
        let grads = GradientsParams::from_grads(loss.total.backward(), &model);
        model = optimizer.step(LEARNING_RATE, model, grads);
    }
    Ok(model)
}

/// Every trainable parameter of `model` (not the batch-norm running statistics), in the
/// module's order, as host values.
fn weights(model: &Model) -> Vec<Vec<f32>> {
    struct Collect {
        path: Vec<String>,
        values: Vec<Vec<f32>>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _container: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let field = self.path.last().map(String::as_str);
            if !matches!(field, Some("running_mean" | "running_var")) {
                self.values.push(floats(param.val()));
            }
        }
    }
    let mut collect = Collect {
        path: Vec::new(),
        values: Vec::new(),
    };
    model.visit(&mut collect);
    collect.values
}
