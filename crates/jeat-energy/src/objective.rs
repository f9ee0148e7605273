//! The training objectives, as values of one type. Each names the points it needs besides the
//! data (adversarial examples from an inner attack, negative samples from SGLD), and turns a batch
//! with those points into a loss and its named parts. Making the points is the training loop's
//! job (`jeat-train`, with `jeat-attacks` and `jeat-sampling`): this crate knows only logits.
//!
//! Parts of `jeat` and `prejeat` are our reconstruction of Zhu et al. (ICCV 2021), whose code is
//! not public; every choice is a field here (see docs/method.md).

use crate::energy::{cross_entropy, joint_energy, marginal_energy};
use crate::point_loss::{PointLoss, Reference};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use std::path::PathBuf;

/// A bad objective configuration or a batch that lacks what the objective needs.
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

/// How an inner attack starts inside its ball.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum InnerStart {
    /// At the data point.
    Clean,
    /// Uniform in the Linf ball (Madry et al.).
    Uniform,
    /// The data point plus `std · N(0, I)` (TRADES: std 0.001).
    Gaussian {
        /// Standard deviation in [0, 1] pixel units.
        std: f64,
    },
}

/// The inner maximisation of adversarial training: Linf PGD in [0, 1] pixel units.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InnerAttack {
    /// Radius of the Linf ball.
    pub eps: f64,
    /// Size of each signed-gradient step.
    pub step_size: f64,
    /// Number of steps.
    pub steps: usize,
    /// Where the attack starts.
    pub start: InnerStart,
}

impl InnerAttack {
    /// PGD-`steps` at `eps` with step `eps / 4` and a uniform start (the paper's 8/255, 2/255,
    /// 10 steps when `eps = 8/255`).
    pub fn madry(eps: f64, steps: usize) -> Self {
        Self {
            eps,
            step_size: eps / 4.0,
            steps,
            start: InnerStart::Uniform,
        }
    }

    fn validate(&self, objective: &'static str) -> Result<(), ObjectiveError> {
        let bad = |message: String| Err(ObjectiveError::Invalid { objective, message });
        if !(positive(self.eps) && self.eps <= 1.0) {
            return bad(format!("attack eps must be in (0, 1], got {}", self.eps));
        }
        if !positive(self.step_size) {
            return bad(format!(
                "attack step_size must be > 0, got {}",
                self.step_size
            ));
        }
        if self.steps == 0 {
            return bad("attack steps must be ≥ 1".into());
        }
        Ok(())
    }
}

/// What JEAT's inner attack ascends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackLoss {
    /// Cross-entropy (as PGD-AT).
    CrossEntropy,
    /// The joint energy `E(x, y)`.
    JointEnergy,
}

/// Parameters of `jeat` and `prejeat` **[reconstruction]**:
/// `clean_ce_weight · CE(x, y) + CE(x_adv, y) + lambda · [E(x_adv) - E(x_hat)]
///  + energy_l2 · (E(x_adv)² + E(x_hat)²)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JeatParams {
    /// Weight of the contrastive energy term (1 makes the loss `E(x_adv, y) - E(x_hat)`).
    #[serde(default = "one")]
    pub lambda: f64,
    /// What the inner attack ascends.
    #[serde(default = "cross_entropy_loss")]
    pub attack_loss: AttackLoss,
    /// Weight of the clean cross-entropy (default 0).
    #[serde(default)]
    pub clean_ce_weight: f64,
    /// Weight of the energy L2 regulariser (default 0; the usual stabiliser of JEM training).
    #[serde(default)]
    pub energy_l2: f64,
    /// Weight of JEM's `p(x, y)` term, `E(x_adv, y) - E(x̂_y, y)` with `x̂_y` from SGLD on
    /// `E(x, y)` in a class-conditional buffer (default 0: off).
    #[serde(default)]
    pub joint_weight: f64,
    /// The inner attack.
    pub attack: InnerAttack,
    /// A trained checkpoint to start from: required by `prejeat` (a `pgd-at` model).
    #[serde(default)]
    pub pretrained: Option<PathBuf>,
}

/// `v > 0` and finite (false for NaN).
fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// `v ≥ 0` and finite (false for NaN).
fn non_negative(v: f64) -> bool {
    v.is_finite() && v >= 0.0
}

fn one() -> f64 {
    1.0
}

fn cross_entropy_loss() -> AttackLoss {
    AttackLoss::CrossEntropy
}

fn default_data_noise() -> f64 {
    // JEM's 0.03 in [-1, 1] units.
    0.015
}

/// A training objective.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Objective {
    /// `CE(x, y)`.
    Standard,
    /// Madry et al.: `CE(x_adv, y)`, x_adv by PGD on CE.
    PgdAt {
        /// The inner attack.
        attack: InnerAttack,
    },
    /// Zhang et al.: `CE(x, y) + beta · KL(p(·|x) ‖ p(·|x_adv))`, x_adv by PGD on the KL term.
    Trades {
        /// Weight of the KL term (6 in the paper).
        beta: f64,
        /// The inner attack (TRADES starts at `x + 0.001 · N(0, I)`).
        attack: InnerAttack,
    },
    /// Grathwohl et al.: `CE(x, y) + E(x) - E(x_hat)` (+ `energy_l2 · (E(x)² + E(x_hat)²)`),
    /// x_hat from persistent SGLD; the data carry `data_noise · N(0, I)`.
    Jem {
        /// Standard deviation of the noise added to the data, [0, 1] units (JEM: 0.03 in [-1, 1]).
        #[serde(default = "default_data_noise")]
        data_noise: f64,
        /// Weight of the energy L2 regulariser.
        #[serde(default)]
        energy_l2: f64,
        /// Weight of JEM's `p(x, y)` term, `E(x, y) - E(x̂_y, y)` with `x̂_y` from SGLD on
        /// `E(x, y)` in a class-conditional buffer (JEM's `--pxycontrast`; default 0: off).
        #[serde(default)]
        joint_weight: f64,
    },
    /// Joint Energy Adversarial Training **[reconstruction]**.
    Jeat(JeatParams),
    /// JEAT fine-tuned from a trained `pgd-at` checkpoint **[reconstruction]**.
    Prejeat(JeatParams),
}

/// The points of a batch an objective's loss is computed on.
#[derive(Debug, Clone)]
pub struct ObjectiveInputs {
    /// `[B, C, H, W]` data in [0, 1] (with JEM's noise already added when it asks for it).
    pub images: Tensor<4>,
    /// `[B]` labels.
    pub labels: Tensor<1, Int>,
    /// `[B, C, H, W]` adversarial examples, when [`Objective::inner_attack`] asks for them.
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
    /// Named terms and diagnostics: `ce_clean`, `ce_adv`, `kl`, `e_data`, `e_adv`, `e_sample`.
    pub parts: Vec<(&'static str, Tensor<1>)>,
}

impl Objective {
    /// The objective's name (`standard`, `pgd-at`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::PgdAt { .. } => "pgd-at",
            Self::Trades { .. } => "trades",
            Self::Jem { .. } => "jem",
            Self::Jeat(_) => "jeat",
            Self::Prejeat(_) => "prejeat",
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ObjectiveError> {
        let name = self.name();
        let bad = |message: String| {
            Err(ObjectiveError::Invalid {
                objective: name,
                message,
            })
        };
        match self {
            Self::Standard => Ok(()),
            Self::PgdAt { attack } => attack.validate(name),
            Self::Trades { beta, attack } => {
                if !non_negative(*beta) {
                    return bad(format!("beta must be ≥ 0, got {beta}"));
                }
                attack.validate(name)
            }
            Self::Jem {
                data_noise,
                energy_l2,
                joint_weight,
            } => {
                if !(non_negative(*data_noise)
                    && non_negative(*energy_l2)
                    && non_negative(*joint_weight))
                {
                    return bad("data_noise, energy_l2 and joint_weight must be ≥ 0".into());
                }
                Ok(())
            }
            Self::Jeat(params) | Self::Prejeat(params) => {
                if !(non_negative(params.lambda)
                    && non_negative(params.clean_ce_weight)
                    && non_negative(params.energy_l2)
                    && non_negative(params.joint_weight))
                {
                    return bad(
                        "lambda, clean_ce_weight, energy_l2 and joint_weight must be ≥ 0".into(),
                    );
                }
                if matches!(self, Self::Prejeat(_)) && params.pretrained.is_none() {
                    return bad(
                        "prejeat starts from a trained pgd-at checkpoint: set `pretrained`".into(),
                    );
                }
                params.attack.validate(name)
            }
        }
    }

    /// The inner attack and the per-point loss it ascends, if the objective trains on
    /// adversarial examples.
    pub fn inner_attack(&self) -> Option<(InnerAttack, PointLoss)> {
        match self {
            Self::Standard | Self::Jem { .. } => None,
            Self::PgdAt { attack } => Some((*attack, PointLoss::CrossEntropy)),
            Self::Trades { attack, .. } => Some((*attack, PointLoss::KlToClean)),
            Self::Jeat(params) | Self::Prejeat(params) => Some((
                params.attack,
                match params.attack_loss {
                    AttackLoss::CrossEntropy => PointLoss::CrossEntropy,
                    AttackLoss::JointEnergy => PointLoss::JointEnergy,
                },
            )),
        }
    }

    /// Whether the objective needs negative samples from the sampler.
    pub fn needs_samples(&self) -> bool {
        matches!(self, Self::Jem { .. } | Self::Jeat(_) | Self::Prejeat(_))
    }

    /// Whether the objective needs class-conditional samples for its `p(x, y)` term.
    pub fn needs_joint_samples(&self) -> bool {
        self.joint_weight() > 0.0
    }

    fn joint_weight(&self) -> f64 {
        match self {
            Self::Jem { joint_weight, .. } => *joint_weight,
            Self::Jeat(params) | Self::Prejeat(params) => params.joint_weight,
            _ => 0.0,
        }
    }

    /// Standard deviation of the noise the training loop adds to the data ([0, 1] units).
    pub fn data_noise(&self) -> f64 {
        match self {
            Self::Jem { data_noise, .. } => *data_noise,
            _ => 0.0,
        }
    }

    /// The checkpoint training starts from, if the objective prescribes one.
    pub fn pretrained(&self) -> Option<&PathBuf> {
        match self {
            Self::Prejeat(params) | Self::Jeat(params) => params.pretrained.as_ref(),
            _ => None,
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
            Self::PgdAt { .. } => {
                let logits = forward(adversarial()?);
                parts.push(("e_adv", marginal_energy(logits.clone()).mean().detach()));
                let ce = cross_entropy(logits, labels).mean();
                parts.push(("ce_adv", ce.clone()));
                ce
            }
            Self::Trades { beta, .. } => {
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
            Self::Jeat(params) | Self::Prejeat(params) => {
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
