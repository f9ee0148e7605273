//! The extra points an objective trains on: adversarial examples from the attack engine and
//! negative samples from the persistent SGLD sampler. Both run on the model's inference-mode
//! snapshot (batch-norm running statistics, no parameter gradients), as the method specifies.

use crate::config::SamplerConfig;
use crate::error::TrainError;
use crate::objective_config::{InnerAttack, InnerStart};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use jeat_attacks::engine::{Constraint, Direction, GradientSteps, StepRule};
use jeat_attacks::{Ball, Norm};
use jeat_core::rng;
use jeat_energy::{PointLoss, Reference};
use jeat_models::Classifier;
use jeat_sampling::buffer::Draw;
use jeat_sampling::{ClassGaussians, Energy, ReplayBuffer};

/// Adversarial examples `[B, C, H, W]` of `images` for `attack` ascending `loss`.
pub fn adversarial(
    model: &dyn Classifier,
    images: &Tensor<4>,
    labels: &Tensor<1, Int>,
    attack: &InnerAttack,
    loss: PointLoss,
    seed: u64,
) -> Result<Tensor<4>, TrainError> {
    let ball = Ball {
        norm: Norm::Linf,
        radius: attack.eps,
    };
    let constraint = Constraint::ball_in_unit_box(ball);
    let device = images.device();
    let start = match attack.start {
        InnerStart::Clean => images.clone(),
        InnerStart::Uniform => {
            images.clone() + rng::uniform(images.dims(), -attack.eps, attack.eps, seed, &device)
        }
        InnerStart::Gaussian { std } => {
            images.clone() + rng::normal(images.dims(), std, seed, &device)
        }
    };
    let start = constraint.project(start, Some(images));
    let mut reference = Reference::labels(labels.clone());
    if loss == PointLoss::KlToClean {
        reference = reference.with_clean_probs(softmax(model.logits(images.clone()), 1));
    }
    let engine = GradientSteps {
        loss,
        direction: Direction::Ascend,
        rule: StepRule::Sign,
        step_size: attack.step_size,
        steps: attack.steps,
        momentum: None,
        noise_std: 0.0,
        constraint,
        fail_on_non_finite: false,
    };
    Ok(engine
        .run(model, start, Some(images), &reference, seed, &mut |_| {})?
        .x)
}

/// Negative samples: a draw from the buffer advanced by SGLD, on `E(x)` (`labels` `None`:
/// `sampler.batch_size` or `batch` samples) or, for JEM's `p(x, y)` term, on `E(x, y)` from the
/// class-conditional buffer, one per label of `labels` `[B]`. The buffer itself is not touched;
/// write the result back once the step that used it is accepted.
#[allow(clippy::too_many_arguments)]
pub fn negative_samples(
    model: &dyn Classifier,
    buffer: &ReplayBuffer,
    seeds: Option<&ClassGaussians>,
    sampler: &SamplerConfig,
    batch: usize,
    labels: Option<&Tensor<1, Int>>,
    seed: u64,
    device: &Device,
) -> Result<(Draw, Tensor<4>), TrainError> {
    let draw_seed = rng::derive(seed, &[0]);
    let (draw, energy) = match labels {
        None => (
            buffer.draw(
                sampler.batch_size.unwrap_or(batch),
                seeds,
                draw_seed,
                device,
            )?,
            Energy::Marginal,
        ),
        Some(labels) => (
            buffer.draw_for(
                &jeat_core::host::ints(labels.clone()),
                seeds,
                draw_seed,
                device,
            )?,
            Energy::Joint,
        ),
    };
    let samples = sampler.sgld.run(
        model,
        draw.images.clone(),
        energy,
        labels.cloned(),
        rng::derive(seed, &[1]),
    )?;
    Ok((draw, samples))
}
