//! The training objectives as losses: each names the points it needs besides the data
//! (adversarial examples, negative samples from SGLD) and turns a batch with those points into a
//! loss and its named parts. How the points are made (the inner attack, the sampler, the
//! checkpoint a run starts from) is a training-run setting of `jeat-train`: this crate knows only
//! logits.
//!
//! The `jeat` loss is our reconstruction of Zhu et al. (ICCV 2021), whose code is not public;
//! every choice is a field here (see docs/method.md).

use crate::energy::{cross_entropy, joint_energy, marginal_energy};
use crate::point_loss::{PointLoss, Reference};
use burn::prelude::*;
use burn::tensor::activation::softmax;

/// A bad objective or a batch that lacks what the objective needs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ObjectiveError {
    /// A parameter outside its valid range.
    #[error("objective {objective}: {message}")]
    Invalid {
        /// The objective's name.
        objective: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The batch lacks adversarial examples or samples the objective needs.
    #[error("objective {objective} needs {what} in the batch")]
    MissingInput {
        /// The objective's name.
        objective: &'static str,
        /// What is missing.
        what: &'static str,
    },
}

/// The weights of the `jeat` loss **[reconstruction]**:
/// `clean_ce_weight · CE(x, y) + CE(x_adv, y) + lambda · [E(x_adv) - E(x_hat)]
///  + energy_l2 · (E(x_adv)² + E(x_hat)²) + joint_weight · [E(x_adv, y) - E(x_hat_y, y)]`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JeatLoss {
    /// Weight of the contrastive energy term (1 makes the loss `E(x_adv, y) - E(x_hat)`).
    pub lambda: f64,
    /// Weight of the clean cross-entropy.
    pub clean_ce_weight: f64,
    /// Weight of the energy L2 regulariser (the usual stabiliser of JEM training).
    pub energy_l2: f64,
    /// Weight of JEM's `p(x, y)` term, with `x_hat_y` from SGLD on `E(x, y)`.
    pub joint_weight: f64,
}

impl Default for JeatLoss {
    /// `lambda` 1, every other weight 0.
    fn default() -> Self {
        Self {
            lambda: 1.0,
            clean_ce_weight: 0.0,
            energy_l2: 0.0,
            joint_weight: 0.0,
        }
    }
}

/// A training loss.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Objective {
    /// `CE(x, y)`.
    Standard,
    /// Madry et al.: `CE(x_adv, y)`.
    PgdAt,
    /// Zhang et al.: `CE(x, y) + beta · KL(p(·|x) ‖ p(·|x_adv))`.
    Trades {
        /// Weight of the KL term (6 in the paper).
        beta: f64,
    },
    /// Grathwohl et al.: `CE(x, y) + E(x) - E(x_hat)` (+ `energy_l2 · (E(x)² + E(x_hat)²)`,
    /// + `joint_weight · [E(x, y) - E(x_hat_y, y)]`).
    Jem {
        /// Weight of the energy L2 regulariser.
        energy_l2: f64,
        /// Weight of the `p(x, y)` term (JEM's `--pxycontrast`).
        joint_weight: f64,
    },
    /// Joint Energy Adversarial Training **[reconstruction]**.
    Jeat(JeatLoss),
}

/// `v ≥ 0` and finite (false for NaN).
fn non_negative(v: f64) -> bool {
    v.is_finite() && v >= 0.0
}

/// The points of a batch an objective's loss is computed on.
#[derive(Debug, Clone)]
pub struct ObjectiveInputs {
    /// `[B, C, H, W]` data in [0, 1] (with JEM's noise already added when it asks for it).
    pub images: Tensor<4>,
    /// `[B]` labels.
    pub labels: Tensor<1, Int>,
    /// `[B, C, H, W]` adversarial examples, when [`Objective::needs_adversarial`].
    pub adversarial: Option<Tensor<4>>,
    /// `[N, C, H, W]` negative samples, when [`Objective::needs_samples`].
    pub samples: Option<Tensor<4>>,
    /// `[B, C, H, W]` class-conditional negative samples, one per label of the batch, when
    /// [`Objective::needs_joint_samples`].
    pub joint_samples: Option<Tensor<4>>,
}

/// A loss and its named parts (each a `[1]` tensor, for logging).
#[derive(Debug, Clone)]
pub struct LossParts {
    /// `[1]`: what the optimiser minimises.
    pub total: Tensor<1>,
    /// Named terms and diagnostics: `ce_clean`, `ce_adv`, `kl`, `e_data`, `e_adv`, `e_sample`,
    /// `e_joint_data`, `e_joint_sample`, `energy_l2`.
    pub parts: Vec<(&'static str, Tensor<1>)>,
}

impl Objective {
    /// The loss's name (`standard`, `pgd-at`, `trades`, `jem`, `jeat`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::PgdAt => "pgd-at",
            Self::Trades { .. } => "trades",
            Self::Jem { .. } => "jem",
            Self::Jeat(_) => "jeat",
        }
    }

    /// Checks the weights: every one finite and ≥ 0.
    pub fn validate(&self) -> Result<(), ObjectiveError> {
        let weights: Vec<(&str, f64)> = match self {
            Self::Standard | Self::PgdAt => Vec::new(),
            Self::Trades { beta } => vec![("beta", *beta)],
            Self::Jem {
                energy_l2,
                joint_weight,
            } => vec![("energy_l2", *energy_l2), ("joint_weight", *joint_weight)],
            Self::Jeat(w) => vec![
                ("lambda", w.lambda),
                ("clean_ce_weight", w.clean_ce_weight),
                ("energy_l2", w.energy_l2),
                ("joint_weight", w.joint_weight),
            ],
        };
        match weights.iter().find(|(_, v)| !non_negative(*v)) {
            Some((name, value)) => Err(ObjectiveError::Invalid {
                objective: self.name(),
                message: format!("{name} must be ≥ 0, got {value}"),
            }),
            None => Ok(()),
        }
    }

    /// Whether the loss is computed on adversarial examples.
    pub fn needs_adversarial(&self) -> bool {
        matches!(self, Self::PgdAt | Self::Trades { .. } | Self::Jeat(_))
    }

    /// Whether the loss needs negative samples from the sampler.
    pub fn needs_samples(&self) -> bool {
        matches!(self, Self::Jem { .. } | Self::Jeat(_))
    }

    /// Whether the loss needs class-conditional samples for its `p(x, y)` term.
    pub fn needs_joint_samples(&self) -> bool {
        self.joint_weight() > 0.0
    }

    fn joint_weight(&self) -> f64 {
        match self {
            Self::Jem { joint_weight, .. } => *joint_weight,
            Self::Jeat(w) => w.joint_weight,
            _ => 0.0,
        }
    }

    /// The loss of a batch, with `forward` the model in training mode (images → logits) for the
    /// data and adversarial points, and `forward_samples` the same parameters for the SGLD
    /// samples (the trainer passes a copy whose batch norms keep their running statistics, so
    /// that the samples' batch statistics do not leak into them).
    pub fn loss(
        &self,
        forward: impl Fn(Tensor<4>) -> Tensor<2>,
        forward_samples: impl Fn(Tensor<4>) -> Tensor<2>,
        inputs: ObjectiveInputs,
    ) -> Result<LossParts, ObjectiveError> {
        let name = self.name();
        let adversarial = || {
            inputs
                .adversarial
                .clone()
                .ok_or(ObjectiveError::MissingInput {
                    objective: name,
                    what: "adversarial examples",
                })
        };
        let samples = || {
            inputs.samples.clone().ok_or(ObjectiveError::MissingInput {
                objective: name,
                what: "negative samples",
            })
        };
        let joint_samples = || {
            inputs
                .joint_samples
                .clone()
                .ok_or(ObjectiveError::MissingInput {
                    objective: name,
                    what: "class-conditional samples",
                })
        };
        let labels = inputs.labels.clone();
        let mut parts = Vec::new();
        let total = match self {
            Self::Standard => {
                let ce = cross_entropy(forward(inputs.images), labels).mean();
                parts.push(("ce_clean", ce.clone()));
                ce
            }
            Self::PgdAt => {
                let logits = forward(adversarial()?);
                parts.push(("e_adv", marginal_energy(logits.clone()).mean().detach()));
                let ce = cross_entropy(logits, labels).mean();
                parts.push(("ce_adv", ce.clone()));
                ce
            }
            Self::Trades { beta } => {
                let clean_logits = forward(inputs.images);
                let adv_logits = forward(adversarial()?);
                let reference = Reference::labels(labels.clone())
                    .with_clean_probs(softmax(clean_logits.clone(), 1));
                let kl = PointLoss::KlToClean
                    .per_point(adv_logits, &reference)
                    .mean();
                let ce = cross_entropy(clean_logits, labels).mean();
                parts.push(("ce_clean", ce.clone()));
                parts.push(("kl", kl.clone()));
                ce + kl * *beta
            }
            Self::Jem { energy_l2, .. } => {
                let logits = forward(inputs.images);
                let e_data = marginal_energy(logits.clone());
                let e_sample = marginal_energy(forward_samples(samples()?));
                let ce = cross_entropy(logits.clone(), labels.clone()).mean();
                parts.push(("ce_clean", ce.clone()));
                let loss = contrastive(ce, e_data, "e_data", e_sample, 1.0, *energy_l2, &mut parts);
                self.with_joint_term(
                    loss,
                    logits,
                    &labels,
                    &forward_samples,
                    joint_samples,
                    &mut parts,
                )?
            }
            Self::Jeat(params) => {
                let adv_logits = forward(adversarial()?);
                let e_adv = marginal_energy(adv_logits.clone());
                let e_sample = marginal_energy(forward_samples(samples()?));
                let mut loss = cross_entropy(adv_logits.clone(), labels.clone()).mean();
                parts.push(("ce_adv", loss.clone()));
                if params.clean_ce_weight > 0.0 {
                    let clean = cross_entropy(forward(inputs.images), labels.clone()).mean();
                    parts.push(("ce_clean", clean.clone()));
                    loss = loss + clean * params.clean_ce_weight;
                }
                let loss = contrastive(
                    loss,
                    e_adv,
                    "e_adv",
                    e_sample,
                    params.lambda,
                    params.energy_l2,
                    &mut parts,
                );
                self.with_joint_term(
                    loss,
                    adv_logits,
                    &labels,
                    &forward_samples,
                    joint_samples,
                    &mut parts,
                )?
            }
        };
        Ok(LossParts { total, parts })
    }

    /// `loss + joint_weight · [mean E(positive, y) - mean E(x̂_y, y)]` (JEM's `p(x, y)` term),
    /// or `loss` when the weight is 0.
    fn with_joint_term(
        &self,
        loss: Tensor<1>,
        positive_logits: Tensor<2>,
        labels: &Tensor<1, Int>,
        forward_samples: &impl Fn(Tensor<4>) -> Tensor<2>,
        joint_samples: impl FnOnce() -> Result<Tensor<4>, ObjectiveError>,
        parts: &mut Vec<(&'static str, Tensor<1>)>,
    ) -> Result<Tensor<1>, ObjectiveError> {
        let weight = self.joint_weight();
        if weight <= 0.0 {
            return Ok(loss);
        }
        let e_positive = joint_energy(positive_logits, labels.clone()).mean();
        let e_sample = joint_energy(forward_samples(joint_samples()?), labels.clone()).mean();
        parts.push(("e_joint_data", e_positive.clone().detach()));
        parts.push(("e_joint_sample", e_sample.clone().detach()));
        Ok(loss + (e_positive - e_sample) * weight)
    }
}

/// `base + weight · [mean E(positive) - mean E(samples)] + l2 · mean(E(positive)² + E(samples)²)`,
/// logging both mean energies.
fn contrastive(
    base: Tensor<1>,
    e_positive: Tensor<1>,
    positive_name: &'static str,
    e_sample: Tensor<1>,
    weight: f64,
    l2: f64,
    parts: &mut Vec<(&'static str, Tensor<1>)>,
) -> Tensor<1> {
    parts.push((positive_name, e_positive.clone().mean().detach()));
    parts.push(("e_sample", e_sample.clone().mean().detach()));
    let mut loss = base + (e_positive.clone().mean() - e_sample.clone().mean()) * weight;
    if l2 > 0.0 {
        let regulariser = e_positive.powi_scalar(2).mean() + e_sample.powi_scalar(2).mean();
        parts.push(("energy_l2", regulariser.clone().detach()));
        loss = loss + regulariser * l2;
    }
    loss
}
