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
    /// EB-JDAT (Yang et al., CVPR 2026), see [`EbJdatWeights`].
    EbJdat(EbJdatWeights),
    /// Mirza et al.'s WEAT (ECCV 2024): TRADES with every point weighted by
    /// `w(x) = 1 / softplus(|E(x)|)` of its clean energy (no gradient through the weight, see
    /// [`weat_weights`]): `mean w · [CE(x_adv, y) + beta · KL(p(·|x) ‖ p(·|x_adv))]`, or
    /// `CE(x, y)` in place of `CE(x_adv, y)` without `adversarial_ce` (their code's `WEAT_nat`).
    Weat {
        /// Weight of the KL term (6 in their code).
        beta: f64,
        /// Cross-entropy on the adversarial examples (their paper's loss, `WEAT_adv`) or on the
        /// data.
        adversarial_ce: bool,
    },
}

/// The weights of EB-JDAT's loss (Yang et al. 2025, as their code computes it):
/// `pyx · CE(x, y) + pya · CE(x_adv, y) + px · [E(x) - E(x_hat)] + adv · [E(x) - E(x_adv)]`:
/// JEM's terms, cross-entropy on the adversarial examples, and an alignment term that lowers
/// the data's energy and raises the adversarial examples'; `+ energy_l2 · (E(x)² + E(x_hat)²)`,
/// each square a mean over its rows, as for JEM.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EbJdatWeights {
    /// Weight of the contrastive term on the SGLD samples (theirs: 1).
    pub px: f64,
    /// Weight of the clean cross-entropy (theirs: 1).
    pub pyx: f64,
    /// Weight of the alignment term (theirs: 0.1).
    pub adv: f64,
    /// Weight of the adversarial cross-entropy (theirs: 1).
    pub pya: f64,
    /// Weight of the energy L2 regulariser (theirs: 0, their SADA-JEM variant's `l2_coeff`).
    #[serde(default)]
    pub energy_l2: f64,
}

/// WEAT's weight of a point of energy `e`: `1 / softplus(|e|)`, at most `1 / ln 2` (at
/// `e = 0`), so that points of low and of high energy count less. `[N]` → `[N]`.
pub fn weat_weights(energies: Tensor<1>) -> Tensor<1> {
    burn::tensor::activation::softplus(energies.abs(), 1.0).recip()
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

impl ObjectiveInputs {
    /// The same points on `device`.
    pub fn to_device(self, device: &Device) -> Self {
        Self {
            images: self.images.to_device(device),
            labels: self.labels.to_device(device),
            adversarial: self.adversarial.map(|x| x.to_device(device)),
            samples: self.samples.map(|x| x.to_device(device)),
            joint_samples: self.joint_samples.map(|x| x.to_device(device)),
        }
    }
}

/// What part of the whole batch a batch's rows are, by kind: the data rows (and the
/// adversarial examples and class-conditional samples, one per datum) and the negative samples
/// of `E(x)`, whose count is the sampler's own. Every mean over rows of a kind is scaled by its
/// share, so that the losses of a batch split into shares (data parallelism) sum to the whole
/// batch's loss, term by term. With one device both are 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowShares {
    /// The share of the data rows, in (0, 1].
    pub data: f64,
    /// The share of the negative samples, in [0, 1]: 0 for a share that has none (its sample
    /// terms are then 0, and it needs no samples).
    pub samples: f64,
}

impl RowShares {
    /// The whole batch.
    pub const WHOLE: Self = Self {
        data: 1.0,
        samples: 1.0,
    };
}

/// `mean(values) · share` (`[1]`), the mean itself when the share is 1.
fn share_of_mean(values: Tensor<1>, share: f64) -> Tensor<1> {
    match share == 1.0 {
        true => values.mean(),
        false => values.mean() * share,
    }
}

/// A term or diagnostic of a loss, logged under [`Part::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// Cross-entropy on the data.
    CeClean,
    /// Cross-entropy on the adversarial examples.
    CeAdv,
    /// TRADES' KL term.
    Kl,
    /// Mean `E(x)` of the data.
    EData,
    /// Mean `E(x)` of the adversarial examples.
    EAdv,
    /// Mean `E(x̂)` of the negative samples.
    ESample,
    /// Mean `E(x, y)` of the data (or adversarial examples) in JEM's `p(x, y)` term.
    EJointData,
    /// Mean `E(x̂_y, y)` of the class-conditional samples.
    EJointSample,
    /// The energy L2 regulariser.
    EnergyL2,
}

impl Part {
    /// Every part.
    pub const ALL: [Part; 9] = [
        Self::CeClean,
        Self::CeAdv,
        Self::Kl,
        Self::EData,
        Self::EAdv,
        Self::ESample,
        Self::EJointData,
        Self::EJointSample,
        Self::EnergyL2,
    ];

    /// The name logs and metrics use: `ce_clean`, `ce_adv`, `kl`, `e_data`, `e_adv`,
    /// `e_sample`, `e_joint_data`, `e_joint_sample`, `energy_l2`.
    pub fn name(self) -> &'static str {
        match self {
            Self::CeClean => "ce_clean",
            Self::CeAdv => "ce_adv",
            Self::Kl => "kl",
            Self::EData => "e_data",
            Self::EAdv => "e_adv",
            Self::ESample => "e_sample",
            Self::EJointData => "e_joint_data",
            Self::EJointSample => "e_joint_sample",
            Self::EnergyL2 => "energy_l2",
        }
    }

    /// Whether the part is a mean energy (what the divergence guard bounds and the energy
    /// curves plot).
    pub fn is_mean_energy(self) -> bool {
        matches!(
            self,
            Self::EData | Self::EAdv | Self::ESample | Self::EJointData | Self::EJointSample
        )
    }

    /// The part logged under `name`, if any.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The name the total of a loss is logged under.
pub const TOTAL: &str = "loss";

/// A loss and its parts (each a `[1]` tensor, for logging).
#[derive(Debug, Clone)]
pub struct LossParts {
    /// `[1]`: what the optimiser minimises.
    pub total: Tensor<1>,
    /// Its terms and diagnostics.
    pub parts: Vec<(Part, Tensor<1>)>,
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
            Self::Weat { .. } => "weat",
            Self::EbJdat(_) => "eb-jdat",
        }
    }

    /// Checks the weights: every one finite and ≥ 0.
    pub fn validate(&self) -> Result<(), ObjectiveError> {
        let weights: Vec<(&str, f64)> = match self {
            Self::Standard | Self::PgdAt => Vec::new(),
            Self::Trades { beta } | Self::Weat { beta, .. } => vec![("beta", *beta)],
            Self::EbJdat(w) => vec![
                ("px", w.px),
                ("pyx", w.pyx),
                ("adv", w.adv),
                ("pya", w.pya),
                ("energy_l2", w.energy_l2),
            ],
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
        matches!(
            self,
            Self::PgdAt | Self::Trades { .. } | Self::Jeat(_) | Self::Weat { .. } | Self::EbJdat(_)
        )
    }

    /// Whether the loss needs negative samples from the sampler.
    pub fn needs_samples(&self) -> bool {
        matches!(self, Self::Jem { .. } | Self::Jeat(_) | Self::EbJdat(_))
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
        self.share_loss(forward, forward_samples, inputs, RowShares::WHOLE)
    }

    /// [`Objective::loss`] of one share of a batch whose rows are `shares` of the whole: every
    /// term and part is its mean over the share's rows times the share, so that the shares'
    /// losses and parts sum to the whole batch's. A share without negative samples
    /// (`shares.samples` 0) needs none and adds nothing to their terms.
    pub fn share_loss(
        &self,
        forward: impl Fn(Tensor<4>) -> Tensor<2>,
        forward_samples: impl Fn(Tensor<4>) -> Tensor<2>,
        inputs: ObjectiveInputs,
        shares: RowShares,
    ) -> Result<LossParts, ObjectiveError> {
        let name = self.name();
        let data_mean = |values: Tensor<1>| share_of_mean(values, shares.data);
        let adversarial = || {
            inputs
                .adversarial
                .clone()
                .ok_or(ObjectiveError::MissingInput {
                    objective: name,
                    what: "adversarial examples",
                })
        };
        // The energies of the negative samples, `None` for a share that has none.
        let sample_energies = || match inputs.samples.clone() {
            _ if shares.samples == 0.0 => Ok(None),
            Some(samples) => Ok(Some(marginal_energy(forward_samples(samples)))),
            None => Err(ObjectiveError::MissingInput {
                objective: name,
                what: "negative samples",
            }),
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
                let ce = data_mean(cross_entropy(forward(inputs.images), labels));
                parts.push((Part::CeClean, ce.clone()));
                ce
            }
            Self::PgdAt => {
                let logits = forward(adversarial()?);
                parts.push((
                    Part::EAdv,
                    data_mean(marginal_energy(logits.clone())).detach(),
                ));
                let ce = data_mean(cross_entropy(logits, labels));
                parts.push((Part::CeAdv, ce.clone()));
                ce
            }
            Self::Trades { beta } => {
                let clean_logits = forward(inputs.images);
                let adv_logits = forward(adversarial()?);
                let reference = Reference::labels(labels.clone())
                    .with_clean_probs(softmax(clean_logits.clone(), 1));
                let kl = data_mean(PointLoss::KlToClean.per_point(adv_logits, &reference));
                let ce = data_mean(cross_entropy(clean_logits, labels));
                parts.push((Part::CeClean, ce.clone()));
                parts.push((Part::Kl, kl.clone()));
                ce + kl * *beta
            }
            Self::Weat {
                beta,
                adversarial_ce,
            } => {
                let clean_logits = forward(inputs.images);
                let adv_logits = forward(adversarial()?);
                let e_clean = marginal_energy(clean_logits.clone());
                let weights = weat_weights(e_clean.clone().detach());
                let reference = Reference::labels(labels.clone())
                    .with_clean_probs(softmax(clean_logits.clone(), 1));
                let kl = PointLoss::KlToClean.per_point(adv_logits.clone(), &reference);
                let (ce_part, ce) = match adversarial_ce {
                    true => (Part::CeAdv, cross_entropy(adv_logits, labels)),
                    false => (Part::CeClean, cross_entropy(clean_logits, labels)),
                };
                let ce = data_mean(ce * weights.clone());
                let kl = data_mean(kl * weights);
                parts.push((Part::EData, data_mean(e_clean).detach()));
                parts.push((ce_part, ce.clone()));
                parts.push((Part::Kl, kl.clone()));
                ce + kl * *beta
            }
            Self::EbJdat(w) => {
                let logits = forward(inputs.images);
                let adv_logits = forward(adversarial()?);
                let e_data = marginal_energy(logits.clone());
                let e_adv = data_mean(marginal_energy(adv_logits.clone()));
                let ce = data_mean(cross_entropy(logits, labels.clone()));
                let ce_adv = data_mean(cross_entropy(adv_logits, labels));
                parts.push((Part::CeClean, ce.clone()));
                parts.push((Part::CeAdv, ce_adv.clone()));
                parts.push((Part::EAdv, e_adv.clone().detach()));
                let alignment = (data_mean(e_data.clone()) - e_adv) * w.adv;
                contrastive(
                    ce * w.pyx + ce_adv * w.pya + alignment,
                    (e_data, Part::EData),
                    sample_energies()?,
                    (w.px, w.energy_l2),
                    shares,
                    &mut parts,
                )
            }
            Self::Jem { energy_l2, .. } => {
                let logits = forward(inputs.images);
                let e_data = marginal_energy(logits.clone());
                let e_sample = sample_energies()?;
                let ce = data_mean(cross_entropy(logits.clone(), labels.clone()));
                parts.push((Part::CeClean, ce.clone()));
                let loss = contrastive(
                    ce,
                    (e_data, Part::EData),
                    e_sample,
                    (1.0, *energy_l2),
                    shares,
                    &mut parts,
                );
                self.with_joint_term(
                    loss,
                    logits,
                    &labels,
                    &forward_samples,
                    joint_samples,
                    shares.data,
                    &mut parts,
                )?
            }
            Self::Jeat(params) => {
                let adv_logits = forward(adversarial()?);
                let e_adv = marginal_energy(adv_logits.clone());
                let e_sample = sample_energies()?;
                let mut loss = data_mean(cross_entropy(adv_logits.clone(), labels.clone()));
                parts.push((Part::CeAdv, loss.clone()));
                if params.clean_ce_weight > 0.0 {
                    let clean = data_mean(cross_entropy(forward(inputs.images), labels.clone()));
                    parts.push((Part::CeClean, clean.clone()));
                    loss = loss + clean * params.clean_ce_weight;
                }
                let loss = contrastive(
                    loss,
                    (e_adv, Part::EAdv),
                    e_sample,
                    (params.lambda, params.energy_l2),
                    shares,
                    &mut parts,
                );
                self.with_joint_term(
                    loss,
                    adv_logits,
                    &labels,
                    &forward_samples,
                    joint_samples,
                    shares.data,
                    &mut parts,
                )?
            }
        };
        Ok(LossParts { total, parts })
    }

    /// `loss + joint_weight · [mean E(positive, y) - mean E(x̂_y, y)]` (JEM's `p(x, y)` term;
    /// one sample per datum, so both means are over data rows, scaled by `data_share`), or
    /// `loss` when the weight is 0.
    #[allow(clippy::too_many_arguments)]
    fn with_joint_term(
        &self,
        loss: Tensor<1>,
        positive_logits: Tensor<2>,
        labels: &Tensor<1, Int>,
        forward_samples: &impl Fn(Tensor<4>) -> Tensor<2>,
        joint_samples: impl FnOnce() -> Result<Tensor<4>, ObjectiveError>,
        data_share: f64,
        parts: &mut Vec<(Part, Tensor<1>)>,
    ) -> Result<Tensor<1>, ObjectiveError> {
        let weight = self.joint_weight();
        if weight <= 0.0 {
            return Ok(loss);
        }
        let e_positive = share_of_mean(joint_energy(positive_logits, labels.clone()), data_share);
        let e_sample = share_of_mean(
            joint_energy(forward_samples(joint_samples()?), labels.clone()),
            data_share,
        );
        parts.push((Part::EJointData, e_positive.clone().detach()));
        parts.push((Part::EJointSample, e_sample.clone().detach()));
        Ok(loss + (e_positive - e_sample) * weight)
    }
}

/// `base + weight · [mean E(positive) - mean E(samples)] + l2 · mean(E(positive)² + E(samples)²)`,
/// each mean scaled by its rows' share (`e_sample` `None` for a share without samples: its terms
/// are 0), logging both mean energies.
fn contrastive(
    base: Tensor<1>,
    (e_positive, positive_part): (Tensor<1>, Part),
    e_sample: Option<Tensor<1>>,
    (weight, l2): (f64, f64),
    shares: RowShares,
    parts: &mut Vec<(Part, Tensor<1>)>,
) -> Tensor<1> {
    let positive_mean = share_of_mean(e_positive.clone(), shares.data);
    let sample_mean = e_sample
        .clone()
        .map(|e| share_of_mean(e, shares.samples))
        .unwrap_or_else(|| Tensor::zeros([1], &positive_mean.device()));
    parts.push((positive_part, positive_mean.clone().detach()));
    parts.push((Part::ESample, sample_mean.clone().detach()));
    let mut loss = base + (positive_mean - sample_mean) * weight;
    if l2 > 0.0 {
        let mut regulariser = share_of_mean(e_positive.powi_scalar(2), shares.data);
        if let Some(e_sample) = e_sample {
            regulariser = regulariser + share_of_mean(e_sample.powi_scalar(2), shares.samples);
        }
        parts.push((Part::EnergyL2, regulariser.clone().detach()));
        loss = loss + regulariser * l2;
    }
    loss
}
