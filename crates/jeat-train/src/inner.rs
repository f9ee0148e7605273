//! The extra points an objective trains on: adversarial examples from the attack engine and
//! negative samples from the persistent SGLD sampler. Both run on the model's inference-mode
//! snapshot (batch-norm running statistics, no parameter gradients), as the method specifies.

use crate::config::SamplerConfig;
use crate::error::TrainError;
use crate::objective_config::{InnerAttack, InnerStart};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use jeat_core::rng;
use jeat_energy::{PointLoss, Reference};
use jeat_engine::steps::{Constraint, Direction, GradientSteps};
use jeat_engine::threat::{Ball, Norm};
use jeat_models::Classifier;
use jeat_sampling::buffer::Draw;
use jeat_sampling::{ClassGaussians, Energy, ReplayBuffer};

/// Adversarial examples `[B, C, H, W]` of `images` for `attack` ascending `loss`: the random
/// start of [`adversarial_start`], then [`adversarial_from`].
pub fn adversarial(
    model: &dyn Classifier,
    images: &Tensor<4>,
    labels: &Tensor<1, Int>,
    attack: &InnerAttack,
    loss: PointLoss,
    seed: u64,
) -> Result<Tensor<4>, TrainError> {
    let start = adversarial_start(images, attack, seed);
    adversarial_from(model, start, images, labels, attack, loss, seed)
}

/// The inner attack's starting points `[B, C, H, W]` for `images`, drawn from `seed` and
/// projected into the ball and the box. Data-parallel training draws them for the whole batch,
/// so that each point starts where it would on one device.
pub fn adversarial_start(images: &Tensor<4>, attack: &InnerAttack, seed: u64) -> Tensor<4> {
    let device = images.device();
    let start = match attack.start {
        InnerStart::Clean => images.clone(),
        InnerStart::Uniform => {
            images.clone() + rng::uniform(images.dims(), -attack.eps, attack.eps, seed, &device)
        }
        InnerStart::Gaussian { std } => {
            images.clone() + rng::normal(images.dims(), std, seed, &device)
        }
        InnerStart::UniformWithin { radius } => {
            images.clone() + rng::uniform(images.dims(), -radius, radius, seed, &device)
        }
    };
    Constraint::ball_in_unit_box(ball(attack)).project(start, Some(images))
}

/// The inner attack's sign-gradient steps from `start` `[B, C, H, W]` (each point on its own:
/// the result for a point does not depend on the rest of the batch).
pub fn adversarial_from(
    model: &dyn Classifier,
    start: Tensor<4>,
    images: &Tensor<4>,
    labels: &Tensor<1, Int>,
    attack: &InnerAttack,
    loss: PointLoss,
    seed: u64,
) -> Result<Tensor<4>, TrainError> {
    let mut reference = Reference::labels(labels.clone());
    match loss {
        PointLoss::KlToClean => {
            reference = reference.with_clean_probs(softmax(model.logits(images.clone()), 1));
        }
        PointLoss::TrueLogitDrift => {
            reference = reference.with_clean_logits(model.logits(images.clone()));
        }
        _ => {}
    }
    let engine = GradientSteps::projected(
        loss,
        Direction::Ascend,
        ball(attack),
        attack.step_size,
        attack.steps,
    );
    Ok(engine
        .run(model, start, Some(images), &reference, seed, &mut |_| {})?
        .x)
}

/// The inner attack's Linf ball.
fn ball(attack: &InnerAttack) -> Ball {
    Ball {
        norm: Norm::Linf,
        radius: attack.eps,
    }
}

/// The starting points of a step's negative samples (advanced by [`advance_chains`], written
/// back once the step is accepted): `sampler.batch_size` or `batch` of them from the buffer
/// (`labels` `None`), or one per label of `labels` `[B]` from the class-conditional buffer.
pub fn draw_chains(
    buffer: &ReplayBuffer,
    seeds: Option<&ClassGaussians>,
    sampler: &SamplerConfig,
    batch: usize,
    labels: Option<&Tensor<1, Int>>,
    seed: u64,
    device: &Device,
) -> Result<Draw, TrainError> {
    let draw_seed = rng::derive(seed, &[0]);
    Ok(match labels {
        None => buffer.draw(
            sampler.batch_size.unwrap_or(batch),
            seeds,
            draw_seed,
            device,
        )?,
        Some(labels) => buffer.draw_for(
            &jeat_core::host::ints(labels.clone()),
            seeds,
            draw_seed,
            device,
        )?,
    })
}

/// SGLD from `start` `[N, C, H, W]`: on `E(x)` when `labels` is `None`, on `E(x, y)` for
/// `labels` `[N]` otherwise.
pub fn advance_chains(
    model: &dyn Classifier,
    sampler: &SamplerConfig,
    start: Tensor<4>,
    labels: Option<Tensor<1, Int>>,
    seed: u64,
) -> Result<Tensor<4>, TrainError> {
    let energy = match labels {
        None => Energy::Marginal,
        Some(_) => Energy::Joint,
    };
    Ok(sampler.sgld.run(model, start, energy, labels, seed)?)
}

/// The SGLD noise seed of the chains on data-parallel shard `shard` of the step whose sampling
/// seed is `seed` (shard 0's is the one-device seed, so one device runs as before).
pub fn chain_seed(seed: u64, shard: usize) -> u64 {
    match shard {
        0 => rng::derive(seed, &[1]),
        _ => rng::derive(seed, &[1, shard as u64]),
    }
}
