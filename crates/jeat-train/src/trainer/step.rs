//! One training step: the batch and the step's random draws on the main device, each device's
//! share of it ([`share_gradient`]: the extra points, inner attack and SGLD chains, on the
//! inference-mode snapshot of its copy of the model, then the objective in training mode,
//! each term scaled by the share of its own kind of rows, and its gradient), the guard against divergence, one optimiser
//! step on the gathered gradients. With one device the share is the whole batch.

use super::{StepResult, Trainer};
use crate::config::{SampleBatchNorm, SamplerConfig};
use crate::error::TrainError;
use crate::inner;
use crate::objective_config::ObjectiveConfig;
use crate::parallel;
use burn::optim::GradientsParams;
use burn::prelude::*;
use jeat_core::rng;
use jeat_data::batch_at;
use jeat_energy::{ObjectiveInputs, Part, RowShares, TOTAL};
use jeat_models::Model;
use std::collections::BTreeMap;

impl Trainer {
    /// One optimiser step on the training images `indices` at learning rate `lr`.
    pub(super) fn step(&mut self, indices: &[usize], lr: f64) -> Result<StepResult, TrainError> {
        let seed = self.config.training.seed;
        let (epoch, position) = (self.state.epoch as u64, self.state.step_in_epoch as u64);
        let step_seed = rng::derive(seed, &[epoch, position]);
        let batch = batch_at(
            &self.train,
            indices,
            self.config.data.augmentation(),
            seed,
            epoch,
            &self.plain,
        );
        let mut images = batch.images;
        let noise = self.config.objective.data_noise();
        if noise > 0.0 {
            images = images.clone()
                + rng::normal(
                    images.dims(),
                    noise,
                    rng::derive(step_seed, &[4]),
                    &self.plain,
                );
        }
        let labels = batch.labels;
        let objective = self.config.objective.clone();
        let loss = objective.loss();
        let seeds = StepSeeds {
            adversarial: rng::derive(step_seed, &[1]),
            marginal: rng::derive(step_seed, &[2]),
            joint: rng::derive(step_seed, &[5]),
        };

        // The step's random draws, for the whole batch on the main device.
        let start = objective
            .inner_attack()
            .map(|(attack, _)| inner::adversarial_start(&images, &attack, seeds.adversarial));
        let draw = |labels: Option<&Tensor<1, Int>>, seed: u64| match &self.buffer {
            Some(buffer) => inner::draw_chains(
                buffer,
                self.seeds.as_ref(),
                &self.config.sampler,
                indices.len(),
                labels,
                seed,
                &self.plain,
            )
            .map(Some),
            None => Ok(None),
        };
        let draws = draw(None, seeds.marginal).and_then(|marginal| {
            let joint = match loss.needs_joint_samples() {
                true => draw(Some(&labels), seeds.joint)?,
                false => None,
            };
            Ok((marginal, joint))
        });
        let (draw, joint_draw) = match draws {
            Ok(draws) => draws,
            Err(TrainError::Sampling(e)) => return Ok(StepResult::Diverged(e.to_string())),
            Err(e) => return Err(e),
        };

        // Each device's share: its extra points, loss and gradient.
        let devices = self.active_devices(indices.len());
        let batch_rows = parallel::split(indices.len(), devices.len());
        let chain_rows = draw
            .as_ref()
            .map(|d| parallel::split(d.images.dims()[0], devices.len()));
        let weights: Vec<f64> = batch_rows
            .iter()
            .map(|rows| rows.len() as f64 / indices.len() as f64)
            .collect();
        let chain_share = |index: usize| {
            chain_rows.as_ref().map_or(1.0, |rows| {
                let total: usize = rows.iter().map(|r| r.len()).sum();
                rows[index].len() as f64 / total.max(1) as f64
            })
        };
        let mut shares: Vec<Share> = devices
            .iter()
            .enumerate()
            .map(|(index, device)| {
                let rows = &batch_rows[index];
                Share {
                    images: parallel::rows(&images, rows, device),
                    labels: parallel::rows(&labels, rows, device),
                    start: start.as_ref().map(|s| parallel::rows(s, rows, device)),
                    chains: draw
                        .as_ref()
                        .zip(chain_rows.as_ref())
                        .filter(|(_, r)| !r[index].is_empty())
                        .map(|(d, r)| parallel::rows(&d.images, &r[index], device)),
                    joint_chains: joint_draw
                        .as_ref()
                        .map(|d| parallel::rows(&d.images, rows, device)),
                    shares: RowShares {
                        data: weights[index],
                        samples: chain_share(index),
                    },
                    index,
                }
            })
            .collect();
        let model = self.model.take().expect("model present");
        let replicas: Vec<Model> = devices[1..]
            .iter()
            .map(|device| parallel::replicate(&model, device))
            .collect();
        let (sampler, objective) = (&self.config.sampler, &objective);
        let others = shares.split_off(1);
        let main_share = shares.pop().expect("one share per device");
        let outcomes = std::thread::scope(|scope| {
            let workers: Vec<_> = replicas
                .iter()
                .zip(others)
                .map(|(replica, share)| {
                    scope.spawn(move || share_gradient(replica, share, objective, sampler, seeds))
                })
                .collect();
            let mut outcomes = vec![share_gradient(
                &model, main_share, objective, sampler, seeds,
            )];
            for worker in workers {
                outcomes.push(
                    worker
                        .join()
                        .expect("a device's share of the step panicked"),
                );
            }
            outcomes
        });
        let mut results = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            match outcome {
                Ok(ShareOutcome::Done(result)) => results.push(*result),
                Ok(ShareOutcome::Diverged(reason)) => {
                    self.model = Some(model);
                    return Ok(StepResult::Diverged(reason));
                }
                Err(e) => {
                    self.model = Some(model);
                    return Err(e);
                }
            }
        }
        let values =
            parallel::summed_values(&results.iter().map(|r| r.values.clone()).collect::<Vec<_>>());
        let total = values[TOTAL];

        let reason = self.divergence(&values);
        if let Some(reason) = reason {
            self.model = Some(model);
            return Ok(StepResult::Diverged(reason));
        }
        let (mut samples, mut joint_samples) = (Vec::new(), Vec::new());
        let mut grads = Vec::with_capacity(results.len());
        let mut kept_inputs = Vec::new();
        for result in results {
            kept_inputs.extend(result.inputs.map(|inputs| (inputs, result.shares)));
            grads.push(result.grads);
            samples.extend(result.samples.map(|s| s.to_device(&self.plain)));
            joint_samples.extend(result.joint_samples.map(|s| s.to_device(&self.plain)));
        }
        let grads = match replicas.is_empty() {
            true => grads.pop().expect("one share"),
            false => parallel::gather(&model, grads, &self.plain),
        };
        let model = match replicas.is_empty() {
            true => model,
            false => parallel::merge_running_statistics(model, &replicas, &weights, &grads),
        };
        let grads = match objective.sam() {
            Some(sam) => {
                match sharpness_aware_gradient(
                    &model,
                    &grads,
                    sam,
                    objective,
                    kept_inputs,
                    &self.plain,
                ) {
                    Ok(grads) => grads,
                    Err(e) => {
                        self.model = Some(model);
                        return Err(e);
                    }
                }
            }
            None => grads,
        };
        let model = self.optimizer.step(lr, model, grads);
        self.model = Some(model);
        if let Some(buffer) = self.buffer.as_mut() {
            for (draw, samples) in [(draw, samples), (joint_draw, joint_samples)] {
                if let Some(draw) = draw {
                    let samples = match samples.len() {
                        1 => samples.into_iter().next().expect("one"),
                        _ => Tensor::cat(samples, 0),
                    };
                    buffer.write_back(&draw.slots, samples);
                }
            }
        }
        Ok(StepResult::Done(values, total))
    }

    /// Why the step with loss parts `values` must not be taken (a non-finite value, an injected
    /// fault, a mean energy beyond the bound), if it must not.
    fn divergence(&mut self, values: &BTreeMap<String, f64>) -> Option<String> {
        let fault = self.fault_at == Some(self.state.global_step);
        if fault {
            self.fault_at = None;
        }
        if fault || values.values().any(|v| !v.is_finite()) {
            return Some(format!(
                "non-finite loss at step {}{}",
                self.state.global_step,
                if fault { " (injected)" } else { "" }
            ));
        }
        values
            .iter()
            .find(|(name, v)| {
                Part::named(name).is_some_and(Part::is_mean_energy)
                    && v.abs() > self.config.guard.energy_bound
            })
            .map(|(name, v)| {
                format!(
                    "|{name}| = {v:.3e} exceeds guard.energy_bound {:.3e} at step {}",
                    self.config.guard.energy_bound, self.state.global_step
                )
            })
    }

    /// The devices a batch of `batch` runs on: the main one, then the data-parallel ones, as many
    /// as have at least one row.
    fn active_devices(&self, batch: usize) -> Vec<Device> {
        let mut devices = vec![self.plain.clone()];
        devices.extend(self.parallel.iter().cloned());
        devices.truncate(batch.max(1));
        devices
    }
}

/// One device's share of a step, on that device.
pub struct Share {
    /// `[b, C, H, W]` images (with any data noise).
    pub images: Tensor<4>,
    /// `[b]` labels.
    pub labels: Tensor<1, Int>,
    /// `[b, C, H, W]` the inner attack's starting points, when the objective has one.
    pub start: Option<Tensor<4>>,
    /// `[n, C, H, W]` the SGLD chains' starting points on `E(x)`, when it samples and the share
    /// has chains (with fewer chains than devices, the last shares have none).
    pub chains: Option<Tensor<4>>,
    /// `[b, C, H, W]` the chains' starting points on `E(x, y)`, one per label, for JEM's
    /// `p(x, y)` term.
    pub joint_chains: Option<Tensor<4>>,
    /// The share's part of the batch's data rows and of its chains (each sums to 1 over the
    /// shares): every term of its loss is scaled by the part of its own kind of rows.
    pub shares: RowShares,
    /// The share's position (0 on the main device).
    pub index: usize,
}

/// The step's seeds for the inner attack and the two kinds of chains.
#[derive(Debug, Clone, Copy)]
pub struct StepSeeds {
    /// The inner attack's.
    pub adversarial: u64,
    /// The chains on `E(x)`.
    pub marginal: u64,
    /// The chains on `E(x, y)`.
    pub joint: u64,
}

/// A share's result.
pub struct ShareResult {
    /// The share's loss and its named parts, scaled by its shares of the rows (summed over the
    /// shares, they are the whole batch's).
    pub values: BTreeMap<String, f64>,
    /// The gradient of the weighted loss, on the share's device.
    pub grads: GradientsParams,
    /// `[n, C, H, W]` the chains' ends on `E(x)`.
    pub samples: Option<Tensor<4>>,
    /// `[b, C, H, W]` the chains' ends on `E(x, y)`.
    pub joint_samples: Option<Tensor<4>>,
    /// The points the loss was taken on, kept for a sharpness-aware second pass.
    pub inputs: Option<ObjectiveInputs>,
    /// What part of the whole batch the share's rows are.
    pub shares: RowShares,
}

/// A share's result, or why its chains diverged.
pub enum ShareOutcome {
    /// The loss and gradient.
    Done(Box<ShareResult>),
    /// SGLD met a non-finite energy or gradient (the guard rolls back).
    Diverged(String),
}

/// The loss and gradient of `share` for `model` (in training mode, on the share's device).
pub fn share_gradient(
    model: &Model,
    share: Share,
    objective: &ObjectiveConfig,
    sampler: &SamplerConfig,
    seeds: StepSeeds,
) -> Result<ShareOutcome, TrainError> {
    let loss = objective.loss();
    let (adversarial, samples, joint_samples) = {
        let valid = model.valid();
        let adversarial = match (objective.inner_attack(), share.start) {
            (Some((attack, point_loss)), Some(start)) => Some(inner::adversarial_from(
                &valid,
                start,
                &share.images,
                &share.labels,
                &attack,
                point_loss,
                seeds.adversarial,
            )?),
            _ => None,
        };
        let advance = |start: Option<Tensor<4>>, labels: Option<&Tensor<1, Int>>, seed: u64| {
            start
                .map(|start| {
                    inner::advance_chains(
                        &valid,
                        sampler,
                        start,
                        labels.cloned(),
                        inner::chain_seed(seed, share.index),
                    )
                })
                .transpose()
        };
        let samples = match advance(share.chains, None, seeds.marginal) {
            Ok(samples) => samples,
            Err(TrainError::Sampling(e)) => return Ok(ShareOutcome::Diverged(e.to_string())),
            Err(e) => return Err(e),
        };
        let joint_samples = match advance(share.joint_chains, Some(&share.labels), seeds.joint) {
            Ok(samples) => samples,
            Err(TrainError::Sampling(e)) => return Ok(ShareOutcome::Diverged(e.to_string())),
            Err(e) => return Err(e),
        };
        (adversarial, samples, joint_samples)
    };

    let sample_model = match sampler.batch_norm {
        SampleBatchNorm::RunningStatistics if loss.needs_samples() => {
            Some(model.with_frozen_batch_norm())
        }
        _ => None,
    };
    let inputs = ObjectiveInputs {
        images: share.images,
        labels: share.labels,
        adversarial,
        samples: samples.clone(),
        joint_samples: joint_samples.clone(),
    };
    let kept = objective.sam().map(|_| inputs.clone());
    let parts = loss
        .share_loss(
            |x| model.forward(x),
            |x| sample_model.as_ref().unwrap_or(model).forward(x),
            inputs,
            share.shares,
        )
        .map_err(|e| TrainError::Config(e.to_string()))?;
    drop(sample_model);
    let mut values = BTreeMap::from([(
        TOTAL.to_string(),
        f64::from(parts.total.clone().into_scalar::<f32>()),
    )]);
    for (part, value) in &parts.parts {
        values.insert(
            part.name().to_string(),
            f64::from(value.clone().into_scalar::<f32>()),
        );
    }
    let grads = GradientsParams::from_grads(parts.total.backward(), model);
    Ok(ShareOutcome::Done(Box::new(ShareResult {
        values,
        grads,
        samples,
        joint_samples,
        inputs: kept,
        shares: share.shares,
    })))
}

/// SAM's second pass: the gradient of `objective`'s loss on the same points at the weights
/// moved along `grads` (see [`crate::sam`]), with every batch norm on its running statistics
/// (SADA-JEM's second pass leaves them alone too, but normalises with the batch's), for the
/// base optimiser to step `model` with. `shares` are each device's points and part of the
/// batch; on data-parallel devices the second pass runs on `main` over all of them, so the
/// step is the one a single device takes.
fn sharpness_aware_gradient(
    model: &Model,
    grads: &GradientsParams,
    sam: crate::sam::Sam,
    objective: &ObjectiveConfig,
    shares: Vec<(ObjectiveInputs, RowShares)>,
    main: &Device,
) -> Result<GradientsParams, TrainError> {
    let perturbed = sam.perturbed(model, grads).with_frozen_batch_norm();
    let loss = objective.loss();
    let mut total: Option<Tensor<1>> = None;
    for (inputs, share) in shares {
        let parts = loss
            .share_loss(
                |x| perturbed.forward(x),
                |x| perturbed.forward(x),
                inputs.to_device(main),
                share,
            )
            .map_err(|e| TrainError::Config(e.to_string()))?;
        total = Some(match total {
            Some(total) => total + parts.total,
            None => parts.total,
        });
    }
    let total = total.expect("every share keeps its points for the second pass");
    Ok(GradientsParams::from_grads(total.backward(), &perturbed))
}
