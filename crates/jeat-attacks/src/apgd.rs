//! APGD (Croce & Hein 2020): PGD with momentum 0.75 and a step size that starts at 2·eps and is
//! halved at checkpoints where progress stalled, each halving restarting from the best point.
//! APGD-CE ascends cross-entropy; APGD-T the targeted DLR loss for the top-2 … top-(n+1)
//! classes in turn. Built on the engine's gradient, step rules and projection.
//!
//! The checkpoints and halving decisions are [`crate::apgd_schedule`]'s.

use crate::apgd_schedule::StepSchedule;
use crate::attack::{Attack, AttackOutput, RunResult, over_robust_points};
use crate::error::AttackError;
use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_core::host::{floats, ints, label_tensor, point_mask, predictions};
use jeat_core::rng;
use jeat_energy::{PointLoss, Reference};
use jeat_engine::steps::{StepRule, gradient, zero_gradient_points, zero_non_finite};
use jeat_engine::threat::{Norm, ThreatModel};
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

    /// One run on `x` `[n, C, H, W]` (every point still robust): which points it fooled, the
    /// fooling points, and the points with a non-finite or an all-zero starting gradient.
    fn single_run(
        &self,
        model: &dyn Classifier,
        x: &Tensor<4>,
        labels: &[usize],
        reference: &Reference,
        seed: u64,
    ) -> Result<RunResult, AttackError> {
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
        let evaluated = gradient(model, &x_adv, loss, reference)?;
        let (mut grad, mut non_finite) = zero_non_finite(evaluated.grad, &evaluated.loss);
        let zero_gradient = zero_gradient_points(&grad);
        let mut grad_best = grad.clone();
        let mut robust: Vec<bool> = predictions(evaluated.logits)
            .iter()
            .zip(labels)
            .map(|(p, y)| p == y)
            .collect();
        let mut schedule = StepSchedule::new(self.iterations, self.rho, floats(evaluated.loss));
        let mut steps = vec![2.0 * eps; n];
        let mut x_previous = x_adv.clone();

        for i in 0..self.iterations {
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

            let evaluated = gradient(model, &x_adv, loss, reference)?;
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
            let decision = schedule.record(floats(evaluated.loss));
            if decision.improved.iter().any(|&b| b) {
                let mask = point_mask(&decision.improved, dims, &device);
                x_best = x_best.mask_where(mask.clone(), x_adv.clone());
                grad_best = grad_best.mask_where(mask, grad.clone());
            }
            if let Some(halve) = decision.halve.filter(|h| h.iter().any(|&h| h)) {
                for (s, &h) in steps.iter_mut().zip(&halve) {
                    if h {
                        *s /= 2.0;
                    }
                }
                let mask = point_mask(&halve, dims, &device);
                x_adv = x_adv.mask_where(mask.clone(), x_best.clone());
                grad = grad.mask_where(mask, grad_best.clone());
            }
        }
        Ok(RunResult {
            fooled: robust.iter().map(|r| !r).collect(),
            candidates: x_best_adv,
            non_finite_points: non_finite,
            zero_gradient,
        })
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
        let target_ranks: Vec<Option<usize>> = match self.loss {
            ApgdLoss::TargetedDlr { targets } => {
                check_classes(model.num_classes(), 4, "APGD-T (the targeted DLR loss)")?;
                // Ranks 2..=targets+1 of the clean logits; never more than the other classes.
                let available = model.num_classes().saturating_sub(1);
                (2..=targets.min(available) + 1).map(Some).collect()
            }
            ApgdLoss::Dlr => {
                check_classes(model.num_classes(), 3, "APGD-DLR (the DLR loss)")?;
                vec![None]
            }
            ApgdLoss::CrossEntropy => vec![None],
        };
        over_robust_points(
            model,
            images,
            &label_values,
            &target_ranks,
            self.restarts,
            seed,
            |run| {
                let mut reference = Reference::labels(label_tensor(run.labels, &device));
                if let Some(targets) = &run.targets {
                    reference = reference.with_targets(label_tensor(targets, &device));
                }
                self.single_run(model, run.x, run.labels, &reference, run.seed)
            },
        )
    }
}

/// A clear error where a loss needs more classes than the model has.
pub(crate) fn check_classes(classes: usize, needed: usize, what: &str) -> Result<(), AttackError> {
    if classes < needed {
        return Err(AttackError::Invalid(format!(
            "{what} needs at least {needed} classes; the model has {classes}: leave it out of the suite (use apgd-ce)"
        )));
    }
    Ok(())
}
