//! APGD (Croce & Hein 2020): PGD with momentum 0.75 and a step size that starts at 2·eps and is
//! halved at checkpoints where progress stalled, each halving restarting from the best point.
//! APGD-CE ascends cross-entropy; APGD-T the targeted DLR loss for the top-2 … top-(n+1)
//! classes in turn. Built on the engine's gradient, step rules and projection.
//!
//! Checkpoints follow the reference: the first after `⌊0.22·N⌋` iterations, then periods
//! shrinking by `⌊0.03·N⌋` down to `⌊0.06·N⌋`. At a checkpoint a point's step is halved when
//! the loss rose in at most `rho` (0.75) of the steps since the last one, or when its best loss
//! did not improve and its step was not halved at the last checkpoint.

use crate::attack::{Attack, AttackOutput};
use crate::engine::{StepRule, gradient, zero_non_finite};
use crate::error::AttackError;
use crate::rng;
use crate::threat::{Norm, ThreatModel};
use crate::util::{floats, index_tensor, ints, label_tensor, point_mask, predictions};
use burn::prelude::*;
use burn::tensor::{IndexingUpdateOp, TensorData};
use jeat_energy::{PointLoss, Reference};
use jeat_models::Classifier;

/// What APGD ascends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApgdLoss {
    /// Cross-entropy (APGD-CE).
    CrossEntropy,
    /// The DLR loss (APGD-DLR).
    Dlr,
    /// Targeted DLR against the top-2 … top-(`targets` + 1) classes (APGD-T).
    TargetedDlr {
        /// How many target classes (9 in AutoAttack).
        targets: usize,
    },
}

/// Auto-PGD.
#[derive(Debug, Clone, PartialEq)]
pub struct Apgd {
    /// The threat model.
    pub threat: ThreatModel,
    /// Iterations per run (100).
    pub iterations: usize,
    /// Runs from random starts per target (1 in AutoAttack's standard version).
    pub restarts: usize,
    /// The fraction of successful steps below which the step is halved (0.75).
    pub rho: f64,
    /// The loss.
    pub loss: ApgdLoss,
}

impl Apgd {
    /// APGD-CE as in AutoAttack's standard version: 100 iterations, 1 run.
    pub fn ce(threat: ThreatModel) -> Self {
        Self {
            threat,
            iterations: 100,
            restarts: 1,
            rho: 0.75,
            loss: ApgdLoss::CrossEntropy,
        }
    }

    /// APGD-T as in AutoAttack's standard version: 9 targets, 100 iterations each.
    pub fn targeted(threat: ThreatModel) -> Self {
        Self {
            loss: ApgdLoss::TargetedDlr { targets: 9 },
            ..Self::ce(threat)
        }
    }

    /// One run on `x` `[n, C, H, W]` (every point still robust); returns which points stay
    /// robust, the candidates (the fooling point where one was found, else the point of highest
    /// loss) and the number of non-finite points.
    fn single_run(
        &self,
        model: &dyn Classifier,
        x: &Tensor<4>,
        labels: &[usize],
        reference: &Reference,
        seed: u64,
    ) -> (Vec<bool>, Tensor<4>, usize) {
        let device = x.device();
        let dims = x.dims();
        let n = dims[0];
        let eps = self.threat.eps;
        let loss = match self.loss {
            ApgdLoss::CrossEntropy => PointLoss::CrossEntropy,
            ApgdLoss::Dlr => PointLoss::Dlr,
            ApgdLoss::TargetedDlr { .. } => PointLoss::TargetedDlr,
        };
        let rule = StepRule::steepest(self.threat.norm);
        let project = |z: Tensor<4>| self.threat.project(z, x);
        let iterations = self.iterations;
        let first_period = ((0.22 * iterations as f64) as usize).max(1);
        let min_period = ((0.06 * iterations as f64) as usize).max(1);
        let period_decrease = ((0.03 * iterations as f64) as usize).max(1);

        // Start on the ball's surface in a random direction.
        let direction = match self.threat.norm {
            Norm::Linf => rng::uniform(dims, -1.0, 1.0, seed, &device),
            Norm::L2 => rng::normal(dims, 1.0, seed, &device),
        };
        let scale = self
            .threat
            .norm
            .per_point(direction.clone())
            .reshape([n, 1, 1, 1])
            + 1e-12;
        let mut x_adv = (x.clone() + direction / scale * eps).clamp(0.0, 1.0);
        let mut x_best = x_adv.clone();
        let mut x_best_adv = x_adv.clone();
        let evaluated = gradient(model, &x_adv, loss, reference);
        let (mut grad, mut non_finite) = zero_non_finite(evaluated.grad, &evaluated.loss);
        let mut grad_best = grad.clone();
        let mut robust: Vec<bool> = predictions(evaluated.logits)
            .iter()
            .zip(labels)
            .map(|(p, y)| p == y)
            .collect();
        let initial_loss = floats(evaluated.loss);
        let mut loss_best = initial_loss.clone();
        let mut history: Vec<Vec<f32>> = Vec::with_capacity(iterations);
        let mut steps = vec![2.0 * eps; n];
        let mut x_previous = x_adv.clone();
        let mut period = first_period;
        let mut since_check = 0;
        let mut best_at_last_check = loss_best.clone();
        let mut halved_at_last_check = vec![true; n];

        for i in 0..iterations {
            let momentum = if i > 0 { 0.75 } else { 1.0 };
            let last_move = x_adv.clone() - x_previous;
            x_previous = x_adv.clone();
            let step = Tensor::<1>::from_data(
                TensorData::new(steps.iter().map(|&s| s as f32).collect::<Vec<_>>(), [n]),
                &device,
            )
            .reshape([n, 1, 1, 1]);
            let z = project(x_adv.clone() + rule.apply(grad) * step);
            x_adv = project(
                x_adv.clone() + (z - x_adv.clone()) * momentum + last_move * (1.0 - momentum),
            );

            let evaluated = gradient(model, &x_adv, loss, reference);
            let (g, bad) = zero_non_finite(evaluated.grad, &evaluated.loss);
            grad = g;
            non_finite += bad;
            let fooled_now: Vec<bool> = predictions(evaluated.logits)
                .iter()
                .zip(labels)
                .map(|(p, y)| p != y)
                .collect();
            if fooled_now.iter().any(|&f| f) {
                x_best_adv =
                    x_best_adv.mask_where(point_mask(&fooled_now, dims, &device), x_adv.clone());
            }
            for (r, f) in robust.iter_mut().zip(&fooled_now) {
                *r &= !f;
            }
            let current = floats(evaluated.loss);
            let improved: Vec<bool> = current.iter().zip(&loss_best).map(|(c, b)| c > b).collect();
            if improved.iter().any(|&b| b) {
                let mask = point_mask(&improved, dims, &device);
                x_best = x_best.mask_where(mask.clone(), x_adv.clone());
                grad_best = grad_best.mask_where(mask, grad.clone());
                for ((best, c), imp) in loss_best.iter_mut().zip(&current).zip(&improved) {
                    if *imp {
                        *best = *c;
                    }
                }
            }
            history.push(current);

            since_check += 1;
            if since_check == period {
                let loss_at = |j: isize, p: usize| {
                    if j < 0 {
                        initial_loss[p]
                    } else {
                        history[j as usize][p]
                    }
                };
                let halve: Vec<bool> = (0..n)
                    .map(|p| {
                        let rises = (0..period)
                            .filter(|&back| {
                                let j = i as isize - back as isize;
                                loss_at(j, p) > loss_at(j - 1, p)
                            })
                            .count();
                        let oscillating = rises as f64 <= period as f64 * self.rho;
                        let stalled =
                            !halved_at_last_check[p] && best_at_last_check[p] >= loss_best[p];
                        oscillating || stalled
                    })
                    .collect();
                if halve.iter().any(|&h| h) {
                    for (s, &h) in steps.iter_mut().zip(&halve) {
                        if h {
                            *s /= 2.0;
                        }
                    }
                    let mask = point_mask(&halve, dims, &device);
                    x_adv = x_adv.mask_where(mask.clone(), x_best.clone());
                    grad = grad.mask_where(mask, grad_best.clone());
                }
                halved_at_last_check = halve;
                best_at_last_check = loss_best.clone();
                period = period.saturating_sub(period_decrease).max(min_period);
                since_check = 0;
            }
        }
        let candidates = x_best_adv.mask_where(point_mask(&robust, dims, &device), x_best);
        (robust, candidates, non_finite)
    }
}

impl Attack for Apgd {
    fn name(&self) -> String {
        match self.loss {
            ApgdLoss::CrossEntropy => "apgd-ce".into(),
            ApgdLoss::Dlr => "apgd-dlr".into(),
            ApgdLoss::TargetedDlr { .. } => "apgd-t".into(),
        }
    }

    fn threat(&self) -> &ThreatModel {
        &self.threat
    }

    fn run(
        &self,
        model: &dyn Classifier,
        images: &Tensor<4>,
        labels: &Tensor<1, Int>,
        seed: u64,
    ) -> Result<AttackOutput, AttackError> {
        let device = images.device();
        let label_values = ints(labels.clone());
        let mut robust: Vec<bool> = predictions(model.logits(images.clone()))
            .iter()
            .zip(&label_values)
            .map(|(p, y)| p == y)
            .collect();
        let mut adversarial = images.clone();
        let mut non_finite_points = 0;
        let target_ranks: Vec<Option<usize>> = match self.loss {
            ApgdLoss::TargetedDlr { targets } => {
                // Ranks 2..=targets+1 of the clean logits; never more than the other classes.
                let available = model.num_classes().saturating_sub(1);
                (2..=targets.min(available) + 1).map(Some).collect()
            }
            _ => vec![None],
        };
        for (round, rank) in target_ranks.into_iter().enumerate() {
            for restart in 0..self.restarts {
                let remaining: Vec<usize> = (0..robust.len()).filter(|&i| robust[i]).collect();
                if remaining.is_empty() {
                    break;
                }
                let rows = index_tensor(&remaining, &device);
                let x = images.clone().select(0, rows.clone());
                let y: Vec<usize> = remaining.iter().map(|&i| label_values[i]).collect();
                let mut reference = Reference::labels(label_tensor(&y, &device));
                if let Some(rank) = rank {
                    let (_, order) = model.logits(x.clone()).sort_descending_with_indices(1);
                    reference =
                        reference.with_targets(order.narrow(1, rank - 1, 1).squeeze_dim::<1>(1));
                }
                let seed = rng::derive(seed, &[round as u64, restart as u64]);
                let (still_robust, candidates, bad) =
                    self.single_run(model, &x, &y, &reference, seed);
                non_finite_points += bad;
                adversarial =
                    adversarial.select_assign(0, rows, candidates, IndexingUpdateOp::Assign);
                for (j, &point) in remaining.iter().enumerate() {
                    robust[point] = still_robust[j];
                }
            }
        }
        Ok(AttackOutput {
            adversarial,
            non_finite_points,
        })
    }
}
