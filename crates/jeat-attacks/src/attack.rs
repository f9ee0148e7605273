//! What every attack provides, and the bookkeeping they share.

use crate::error::AttackError;
use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;
use jeat_core::host::{index_tensor, point_mask, predictions};
use jeat_engine::threat::ThreatModel;
use jeat_models::Classifier;

/// Adversarial candidates for a batch.
#[derive(Debug, Clone)]
pub struct AttackOutput {
    /// `[B, C, H, W]`: one candidate per point, inside the threat ball around it and in [0, 1]
    /// (the clean point itself where the attack found nothing better).
    pub adversarial: Tensor<4>,
    /// Points whose loss or gradient was non-finite at some step.
    pub non_finite_points: usize,
    /// Points whose input gradient was exactly zero where a run started (a white-box attack
    /// cannot move them: they must be reported, not silently kept as robust).
    pub zero_gradient_points: usize,
}

/// An attack under a threat model.
pub trait Attack {
    /// Its name with the parameters that matter (`pgd-20`, `apgd-ce`, `square-5000`, …).
    fn name(&self) -> String;

    /// The threat model it respects.
    fn threat(&self) -> &ThreatModel;

    /// Candidates for `images` `[B, C, H, W]` in [0, 1] with true `labels` `[B]`. The model
    /// must be in inference mode. `seed` drives every random choice.
    fn run(
        &self,
        model: &dyn Classifier,
        images: &Tensor<4>,
        labels: &Tensor<1, Int>,
        seed: u64,
    ) -> Result<AttackOutput, AttackError>;
}

/// Keeps, per point, the first visited point that the model misclassifies.
#[derive(Debug, Clone)]
pub struct FirstSuccess {
    labels: Vec<usize>,
    fooled: Vec<bool>,
    found: Tensor<4>,
}

impl FirstSuccess {
    /// Nothing found yet; `fallback` `[B, C, H, W]` is returned for points never fooled.
    pub fn new(labels: Vec<usize>, fallback: Tensor<4>) -> Self {
        Self {
            fooled: vec![false; labels.len()],
            labels,
            found: fallback,
        }
    }

    /// Records the points of `x` whose `logits` `[B, K]` are misclassified, if not fooled yet.
    pub fn visit(&mut self, x: &Tensor<4>, logits: Tensor<2>) {
        let newly: Vec<bool> = predictions(logits)
            .iter()
            .zip(&self.labels)
            .zip(&self.fooled)
            .map(|((p, y), done)| p != y && !done)
            .collect();
        if newly.iter().any(|&n| n) {
            let mask = point_mask(&newly, x.dims(), &x.device());
            self.found = self.found.clone().mask_where(mask, x.clone());
            for (done, new) in self.fooled.iter_mut().zip(newly) {
                *done |= new;
            }
        }
    }

    /// Evaluates `x` with `model` and records it.
    pub fn visit_with(&mut self, model: &dyn Classifier, x: &Tensor<4>) {
        let logits = model.logits(x.clone());
        self.visit(x, logits);
    }

    /// Which points are fooled.
    pub fn fooled(&self) -> &[bool] {
        &self.fooled
    }

    /// Points not fooled yet.
    pub fn remaining(&self) -> Vec<usize> {
        (0..self.fooled.len())
            .filter(|&i| !self.fooled[i])
            .collect()
    }

    /// Makes `last` `[B, C, H, W]` the candidate of every point not fooled.
    pub fn settle(&mut self, last: &Tensor<4>) {
        let keep: Vec<bool> = self.fooled.iter().map(|f| !f).collect();
        let mask = point_mask(&keep, last.dims(), &last.device());
        self.found = self.found.clone().mask_where(mask, last.clone());
    }

    /// `[B, C, H, W]`: the first misclassified point of each fooled point, the fallback else.
    pub fn into_found(self) -> Tensor<4> {
        self.found
    }

    /// Takes over the results of `part`, a tracker over the points at `indices` (in this
    /// tracker's order) that are not fooled here: its rows replace theirs, fooled or not.
    pub fn absorb(&mut self, indices: &[usize], part: FirstSuccess) {
        let device = part.found.device();
        self.found = self.found.clone().select_assign(
            0,
            index_tensor(indices, &device),
            part.found,
            IndexingUpdateOp::Assign,
        );
        for (&i, fooled) in indices.iter().zip(part.fooled) {
            self.fooled[i] |= fooled;
        }
    }
}

/// What one run of an attack did on the points it was given.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Which of them it fooled.
    pub fooled: Vec<bool>,
    /// `[n, C, H, W]`: the fooling point of each fooled one (other rows are ignored).
    pub candidates: Tensor<4>,
    /// Points with a non-finite loss or gradient at some step.
    pub non_finite_points: usize,
    /// Which of them had an all-zero input gradient at the start.
    pub zero_gradient: Vec<bool>,
}

/// One run's inputs: the points still robust.
#[derive(Debug)]
pub struct RunInput<'a> {
    /// `[n, C, H, W]`: their clean images.
    pub x: &'a Tensor<4>,
    /// Their labels.
    pub labels: &'a [usize],
    /// Their target classes, for targeted rounds (the class of that rank in the clean logits).
    pub targets: Option<Vec<usize>>,
    /// The restart (0-based) within the round.
    pub restart: usize,
    /// The run's seed.
    pub seed: u64,
}

/// AutoAttack's loop over targets and restarts: for each target rank (`None` for an untargeted
/// round; rank 2 is the class of the second-largest clean logit) and each restart, `run` attacks
/// the points no earlier run fooled; the fooling points are kept, as in the reference.
pub fn over_robust_points(
    model: &dyn Classifier,
    images: &Tensor<4>,
    labels: &[usize],
    target_ranks: &[Option<usize>],
    restarts: usize,
    seed: u64,
    mut run: impl FnMut(RunInput<'_>) -> Result<RunResult, AttackError>,
) -> Result<AttackOutput, AttackError> {
    let device = images.device();
    let mut robust: Vec<bool> = predictions(model.logits(images.clone()))
        .iter()
        .zip(labels)
        .map(|(p, y)| p == y)
        .collect();
    let mut adversarial = images.clone();
    let mut non_finite_points = 0;
    let mut zero_gradient = vec![false; labels.len()];
    for (round, rank) in target_ranks.iter().enumerate() {
        for restart in 0..restarts.max(1) {
            let remaining: Vec<usize> = (0..robust.len()).filter(|&i| robust[i]).collect();
            if remaining.is_empty() {
                break;
            }
            let x = images.clone().select(0, index_tensor(&remaining, &device));
            let y: Vec<usize> = remaining.iter().map(|&i| labels[i]).collect();
            let targets = rank.map(|rank| {
                let (_, order) = model.logits(x.clone()).sort_descending_with_indices(1);
                jeat_core::host::ints(order.narrow(1, rank - 1, 1).squeeze_dim::<1>(1))
            });
            let result = run(RunInput {
                x: &x,
                labels: &y,
                targets,
                restart,
                seed: jeat_core::rng::derive(seed, &[round as u64, restart as u64]),
            })?;
            non_finite_points += result.non_finite_points;
            for (&point, &zero) in remaining.iter().zip(&result.zero_gradient) {
                zero_gradient[point] |= zero;
            }
            let found: Vec<usize> = (0..remaining.len()).filter(|&j| result.fooled[j]).collect();
            if found.is_empty() {
                continue;
            }
            let points: Vec<usize> = found.iter().map(|&j| remaining[j]).collect();
            adversarial = adversarial.select_assign(
                0,
                index_tensor(&points, &device),
                result.candidates.select(0, index_tensor(&found, &device)),
                IndexingUpdateOp::Assign,
            );
            for p in points {
                robust[p] = false;
            }
        }
    }
    Ok(AttackOutput {
        adversarial,
        non_finite_points,
        zero_gradient_points: zero_gradient.iter().filter(|&&z| z).count(),
    })
}
