//! Per-point losses of logits: what an attack ascends, a targeted attack or a sampler descends.
//! Each maps logits `[B, K]` (and a [`Reference`]) to one value per point `[B]`, so that the
//! gradient of their sum is, row by row, the gradient of each point's own loss.

use crate::energy::{cross_entropy, joint_energy, marginal_energy};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// What a per-point loss is measured against.
#[derive(Debug, Clone)]
pub struct Reference {
    /// `[B]`: the class each point's loss refers to: the true label for untargeted losses,
    /// the target for targeted cross-entropy and the joint energy of a chosen class.
    pub labels: Tensor<1, Int>,
    /// `[B]`: target classes of the targeted DLR loss (whose `labels` stay the true ones).
    pub targets: Option<Tensor<1, Int>>,
    /// `[B, K]`: the model's probabilities on the clean points, for the KL loss.
    pub clean_probs: Option<Tensor<2>>,
    /// `[B, K]`: the model's logits on the clean points, for EB-JDAT's attack loss.
    pub clean_logits: Option<Tensor<2>>,
}

impl Reference {
    /// Losses against `labels` only.
    pub fn labels(labels: Tensor<1, Int>) -> Self {
        Self {
            labels,
            targets: None,
            clean_probs: None,
            clean_logits: None,
        }
    }

    /// Adds the targets of the targeted DLR loss.
    pub fn with_targets(mut self, targets: Tensor<1, Int>) -> Self {
        self.targets = Some(targets);
        self
    }

    /// Adds the clean probabilities of the KL loss.
    pub fn with_clean_probs(mut self, probs: Tensor<2>) -> Self {
        self.clean_probs = Some(probs);
        self
    }

    /// The same reference with the clean points' logits `[B, K]`.
    pub fn with_clean_logits(mut self, logits: Tensor<2>) -> Self {
        self.clean_logits = Some(logits);
        self
    }

    /// The rows at `indices` (`[n]`) of every tensor.
    pub fn select(&self, indices: Tensor<1, Int>) -> Self {
        Self {
            labels: self.labels.clone().select(0, indices.clone()),
            targets: self.targets.clone().map(|t| t.select(0, indices.clone())),
            clean_probs: self
                .clean_probs
                .clone()
                .map(|p| p.select(0, indices.clone())),
            clean_logits: self.clean_logits.clone().map(|l| l.select(0, indices)),
        }
    }
}

/// A per-point loss of logits `z` `[B, K]` with reference class `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PointLoss {
    /// `CE(z, y) = logsumexp(z) - z_y`.
    CrossEntropy,
    /// Carlini–Wagner margin `max_{j≠y} z_j - z_y` (positive once misclassified).
    Margin,
    /// Difference of logits ratio (Croce & Hein 2020):
    /// `-(z_y - max_{j≠y} z_j) / (z_π1 - z_π3 + 1e-12)`, π sorting `z` in decreasing order.
    /// Needs `K ≥ 3`.
    Dlr,
    /// Targeted DLR: `-(z_y - z_t) / (z_π1 - (z_π3 + z_π4) / 2 + 1e-12)`, `t` from
    /// [`Reference::targets`]. Needs `K ≥ 4`.
    TargetedDlr,
    /// Targeted margin `z_t - z_y`, `t` from [`Reference::targets`] (positive once `t` beats
    /// `y`; FAB's linearised boundary, targeted CW).
    TargetMargin,
    /// `KL(p_clean ‖ softmax(z))`, `p_clean` from [`Reference::clean_probs`] (TRADES).
    KlToClean,
    /// The marginal energy `E(x) = -logsumexp(z)`.
    MarginalEnergy,
    /// The joint energy `E(x, y) = -z_y`.
    JointEnergy,
    /// EB-JDAT's attack loss: the true class's logit plus the squared distance between the
    /// L2-normalised logits and the clean point's, `z_y + ‖z / ‖z‖ - z_c / ‖z_c‖‖²`.
    TrueLogitDrift,
}

impl PointLoss {
    /// What the loss needs and `reference` or `classes` lacks (targets for the targeted losses,
    /// clean probabilities for KL, at least 3 classes for DLR and 4 for targeted DLR), as a
    /// sentence; `None` when the loss can be computed. Callers check this first and turn it
    /// into their error.
    pub fn missing(self, reference: &Reference, classes: usize) -> Option<String> {
        let needs_targets = matches!(self, Self::TargetedDlr | Self::TargetMargin);
        if needs_targets && reference.targets.is_none() {
            return Some(format!("the {} loss needs target classes", self.name()));
        }
        if self == Self::KlToClean && reference.clean_probs.is_none() {
            return Some("the KL loss needs the clean points' probabilities".into());
        }
        if self == Self::TrueLogitDrift && reference.clean_logits.is_none() {
            return Some("the true-logit-drift loss needs the clean points' logits".into());
        }
        let fewest = match self {
            Self::Dlr => 3,
            Self::TargetedDlr => 4,
            _ => 1,
        };
        (classes < fewest).then(|| {
            format!(
                "the {} loss needs at least {fewest} classes, the model has {classes}",
                self.name()
            )
        })
    }

    /// The loss of each point: logits `[B, K]` → `[B]`.
    ///
    /// Panics where [`PointLoss::missing`] names something missing; check it first.
    pub fn per_point(self, logits: Tensor<2>, reference: &Reference) -> Tensor<1> {
        let labels = reference.labels.clone();
        match self {
            Self::CrossEntropy => cross_entropy(logits, labels),
            Self::Margin => {
                let [_, classes] = logits.dims();
                let own = logits.clone().gather(1, column(labels.clone()));
                let is_own = labels.one_hot::<2>(classes).bool();
                let others = logits.mask_fill(is_own, f32::NEG_INFINITY);
                (others.max_dim(1) - own).squeeze_dim::<1>(1)
            }
            Self::Dlr => dlr(logits, labels, None),
            Self::TargetedDlr => {
                let targets = reference
                    .targets
                    .clone()
                    .expect("the targeted DLR loss needs Reference::targets");
                dlr(logits, labels, Some(targets))
            }
            Self::TargetMargin => {
                let targets = reference
                    .targets
                    .clone()
                    .expect("the target margin needs Reference::targets");
                (logits.clone().gather(1, column(targets)) - logits.gather(1, column(labels)))
                    .squeeze_dim::<1>(1)
            }
            Self::KlToClean => {
                let clean = reference
                    .clean_probs
                    .clone()
                    .expect("the KL loss needs Reference::clean_probs");
                // p log p is 0 where p is 0: clamp only inside the logarithm.
                let log_clean = clean.clone().clamp_min(1e-30).log();
                (clean * (log_clean - log_softmax(logits, 1)))
                    .sum_dim(1)
                    .squeeze_dim::<1>(1)
            }
            Self::MarginalEnergy => marginal_energy(logits),
            Self::JointEnergy => joint_energy(logits, labels),
            Self::TrueLogitDrift => {
                let clean = reference
                    .clean_logits
                    .clone()
                    .expect("the true-logit-drift loss needs Reference::clean_logits");
                let unit = |z: Tensor<2>| {
                    let norm = z.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
                    z / norm
                };
                let drift = (unit(logits.clone()) - unit(clean))
                    .powi_scalar(2)
                    .sum_dim(1)
                    .squeeze_dim::<1>(1);
                -joint_energy(logits, labels) + drift
            }
        }
    }

    /// A short name for logs and protocol ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::CrossEntropy => "ce",
            Self::Margin => "margin",
            Self::Dlr => "dlr",
            Self::TargetedDlr => "dlr-targeted",
            Self::TargetMargin => "margin-targeted",
            Self::KlToClean => "kl",
            Self::MarginalEnergy => "energy-marginal",
            Self::JointEnergy => "energy-joint",
            Self::TrueLogitDrift => "true-logit-drift",
        }
    }
}

fn column(labels: Tensor<1, Int>) -> Tensor<2, Int> {
    let [batch] = labels.dims();
    labels.reshape([batch, 1])
}

/// DLR and its targeted form; gradients flow through the gathered logits (the sort only picks
/// which logits those are, exactly as a differentiable sort would).
fn dlr(logits: Tensor<2>, labels: Tensor<1, Int>, targets: Option<Tensor<1, Int>>) -> Tensor<1> {
    let [_, classes] = logits.dims();
    let needed = if targets.is_some() { 4 } else { 3 };
    assert!(
        classes >= needed,
        "the DLR loss needs at least {needed} classes, got {classes}"
    );
    let (_, order) = logits.clone().detach().sort_descending_with_indices(1);
    let ranked = |rank: usize| logits.clone().gather(1, order.clone().narrow(1, rank, 1));
    let own = logits.clone().gather(1, column(labels.clone()));
    let numerator = match targets {
        None => {
            // max_{j≠y} z_j: the top logit unless it is y's, then the second.
            let top_is_own = order.clone().narrow(1, 0, 1).equal(column(labels));
            let best_other = ranked(0).mask_where(top_is_own, ranked(1));
            own - best_other
        }
        Some(targets) => own - logits.clone().gather(1, column(targets)),
    };
    let denominator = match needed {
        3 => ranked(0) - ranked(2),
        _ => ranked(0) - (ranked(2) + ranked(3)) * 0.5,
    };
    (numerator.neg() / (denominator + 1e-12)).squeeze_dim::<1>(1)
}
