//! `[objective]` of a training config: which method, its loss weights (a
//! [`jeat_energy::Objective`]), and the run settings that make its points: the inner attack, the
//! noise on the data, the checkpoint a fine-tuning run starts from.
//!
//! Parts of `jeat` and `prejeat` are our reconstruction of Zhu et al. (ICCV 2021), whose code is
//! not public; every choice is a field here (see docs/method.md).

use crate::error::TrainError;
use crate::method::TrainingMethod;
use jeat_energy::{EbJdatWeights, JeatLoss, Objective, PointLoss};
use std::path::PathBuf;

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
    /// Uniform in a smaller Linf ball of `radius` (EB-JDAT: half the radius).
    UniformWithin {
        /// Radius in [0, 1] pixel units.
        radius: f64,
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

    fn validate(&self, method: &str) -> Result<(), TrainError> {
        let bad =
            |message: String| Err(TrainError::Config(format!("objective {method}: {message}")));
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
        if let InnerStart::UniformWithin { radius } = self.start
            && !(radius.is_finite() && (0.0..=self.eps).contains(&radius))
        {
            return bad(format!(
                "attack start radius must be in [0, eps = {}], got {radius}",
                self.eps
            ));
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

/// The settings of `jeat` and `prejeat` **[reconstruction]**: the loss's weights (see
/// [`JeatLoss`]), what the inner attack ascends, the attack, the starting checkpoint.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JeatConfig {
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

impl JeatConfig {
    fn loss(&self) -> JeatLoss {
        JeatLoss {
            lambda: self.lambda,
            clean_ce_weight: self.clean_ce_weight,
            energy_l2: self.energy_l2,
            joint_weight: self.joint_weight,
        }
    }
}

/// `v > 0` and finite (false for NaN).
fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
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

/// A training method with its settings, as `[objective]` in a config.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ObjectiveConfig {
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
    /// Yang & Ji's SADA-JEM: JEM++'s loss and chain, each step sharpness-aware (see
    /// [`crate::sam`]), the data without noise.
    SadaJem {
        /// Standard deviation of the noise added to the data, [0, 1] units (theirs: 0).
        #[serde(default)]
        data_noise: f64,
        /// Weight of the energy L2 regulariser (theirs: 0).
        #[serde(default)]
        energy_l2: f64,
        /// SAM's radius (theirs: 2).
        sam_rho: f64,
        /// Adaptive SAM (theirs: on, since their code turns it on for any radius ≥ 0.5).
        #[serde(default = "yes")]
        sam_adaptive: bool,
    },
    /// EB-JDAT (Yang et al., CVPR 2026) as its code trains: JEM's terms plus cross-entropy on
    /// adversarial examples and an alignment term (see [`jeat_energy::EbJdatWeights`]); the
    /// examples ascend the true logit plus the drift of the normalised logits
    /// (`PointLoss::TrueLogitDrift`); the chains are JEM++'s.
    EbJdat {
        /// Weight of the contrastive term on the SGLD samples (theirs: 1).
        px: f64,
        /// Weight of the clean cross-entropy (theirs: 1).
        pyx: f64,
        /// Weight of the alignment term `E(x) - E(x_adv)` (theirs: 0.1).
        adv: f64,
        /// Weight of the adversarial cross-entropy (theirs: 1).
        pya: f64,
        /// Weight of the energy L2 regulariser (theirs: 0).
        #[serde(default)]
        energy_l2: f64,
        /// Standard deviation of the noise added to the data, [0, 1] units (theirs: 0.03 in
        /// [-1, 1]).
        #[serde(default = "default_data_noise")]
        data_noise: f64,
        /// The inner attack (theirs: uniform start within half the radius, 5 sign steps of an
        /// eighth of it, kept only in the box: a ball of 9/8 of the radius, which never binds).
        attack: InnerAttack,
    },
    /// Yang & Ji's JEM++: JEM's loss `CE(x, y) + E(x) - E(x_hat)` (+ `energy_l2`), x_hat from
    /// the proximal chain (`sampler.sgld.max_step`) started from class-conditional Gaussians
    /// (`sampler.init = "class-gaussian"`), the data with `data_noise · N(0, I)`.
    Jempp {
        /// Standard deviation of the noise added to the data, [0, 1] units (theirs: 0.03 in
        /// [-1, 1]).
        #[serde(default = "default_data_noise")]
        data_noise: f64,
        /// Weight of the energy L2 regulariser (theirs: 0).
        #[serde(default)]
        energy_l2: f64,
    },
    /// Joint Energy Adversarial Training **[reconstruction]**.
    Jeat(JeatConfig),
    /// JEAT fine-tuned from a trained `pgd-at` checkpoint **[reconstruction]**.
    Prejeat(JeatConfig),
    /// Mirza et al.'s WEAT: TRADES with each point weighted by `1 / softplus(|E(x)|)`, x_adv by
    /// PGD on the KL term.
    Weat {
        /// Weight of the KL term (6 in their code).
        beta: f64,
        /// Cross-entropy on the adversarial examples (their paper's loss, the default) or, when
        /// false, on the data (their code's default, `WEAT_nat`).
        #[serde(default = "yes")]
        adversarial_ce: bool,
        /// The inner attack (theirs: 10 steps of 2/255 in 8/255 from `x + 0.001 · N(0, I)`).
        attack: InnerAttack,
    },
}

fn yes() -> bool {
    true
}

impl ObjectiveConfig {
    /// The method.
    pub fn method(&self) -> TrainingMethod {
        match self {
            Self::Standard => TrainingMethod::Standard,
            Self::PgdAt { .. } => TrainingMethod::PgdAt,
            Self::Trades { .. } => TrainingMethod::Trades,
            Self::Jem { .. } => TrainingMethod::Jem,
            Self::Jempp { .. } => TrainingMethod::Jempp,
            Self::SadaJem { .. } => TrainingMethod::SadaJem,
            Self::EbJdat { .. } => TrainingMethod::EbJdat,
            Self::Jeat(_) => TrainingMethod::Jeat,
            Self::Prejeat(_) => TrainingMethod::Prejeat,
            Self::Weat { .. } => TrainingMethod::Weat,
        }
    }

    /// The method's name (`standard`, `pgd-at`, …).
    pub fn name(&self) -> &'static str {
        self.method().name()
    }

    /// The loss.
    pub fn loss(&self) -> Objective {
        match self {
            Self::Standard => Objective::Standard,
            Self::PgdAt { .. } => Objective::PgdAt,
            Self::Trades { beta, .. } => Objective::Trades { beta: *beta },
            Self::Jem {
                energy_l2,
                joint_weight,
                ..
            } => Objective::Jem {
                energy_l2: *energy_l2,
                joint_weight: *joint_weight,
            },
            Self::EbJdat {
                px,
                pyx,
                adv,
                pya,
                energy_l2,
                ..
            } => Objective::EbJdat(EbJdatWeights {
                px: *px,
                pyx: *pyx,
                adv: *adv,
                pya: *pya,
                energy_l2: *energy_l2,
            }),
            Self::Jempp { energy_l2, .. } | Self::SadaJem { energy_l2, .. } => Objective::Jem {
                energy_l2: *energy_l2,
                joint_weight: 0.0,
            },
            Self::Jeat(c) | Self::Prejeat(c) => Objective::Jeat(c.loss()),
            Self::Weat {
                beta,
                adversarial_ce,
                ..
            } => Objective::Weat {
                beta: *beta,
                adversarial_ce: *adversarial_ce,
            },
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), TrainError> {
        let name = self.name();
        self.loss()
            .validate()
            .map_err(|e| TrainError::Config(format!("{name}: {e}")))?;
        match self {
            Self::Standard => Ok(()),
            Self::PgdAt { attack } | Self::Trades { attack, .. } | Self::Weat { attack, .. } => {
                attack.validate(name)
            }
            Self::EbJdat { attack, .. } => attack.validate(name),
            Self::SadaJem { sam_rho, .. } if !(sam_rho.is_finite() && *sam_rho > 0.0) => {
                Err(TrainError::Config(format!(
                    "objective {name}: sam_rho must be > 0, got {sam_rho}"
                )))
            }
            Self::Jem { data_noise, .. }
            | Self::Jempp { data_noise, .. }
            | Self::SadaJem { data_noise, .. } => {
                if !(data_noise.is_finite() && *data_noise >= 0.0) {
                    return Err(TrainError::Config(format!(
                        "objective {name}: data_noise must be ≥ 0, got {data_noise}"
                    )));
                }
                Ok(())
            }
            Self::Jeat(c) | Self::Prejeat(c) => {
                if matches!(self, Self::Prejeat(_)) && c.pretrained.is_none() {
                    return Err(TrainError::Config(
                        "objective prejeat: it starts from a trained pgd-at checkpoint: set `pretrained`"
                            .into(),
                    ));
                }
                c.attack.validate(name)
            }
        }
    }

    /// The inner attack and the per-point loss it ascends, if the method trains on adversarial
    /// examples.
    pub fn inner_attack(&self) -> Option<(InnerAttack, PointLoss)> {
        match self {
            Self::Standard | Self::Jem { .. } | Self::Jempp { .. } | Self::SadaJem { .. } => None,
            Self::PgdAt { attack } => Some((*attack, PointLoss::CrossEntropy)),
            Self::Trades { attack, .. } | Self::Weat { attack, .. } => {
                Some((*attack, PointLoss::KlToClean))
            }
            Self::EbJdat { attack, .. } => Some((*attack, PointLoss::TrueLogitDrift)),
            Self::Jeat(c) | Self::Prejeat(c) => Some((
                c.attack,
                match c.attack_loss {
                    AttackLoss::CrossEntropy => PointLoss::CrossEntropy,
                    AttackLoss::JointEnergy => PointLoss::JointEnergy,
                },
            )),
        }
    }

    /// The sharpness-aware step of the method, if it takes one (`sada-jem`).
    pub fn sam(&self) -> Option<crate::sam::Sam> {
        match self {
            Self::SadaJem {
                sam_rho,
                sam_adaptive,
                ..
            } => Some(crate::sam::Sam {
                rho: *sam_rho,
                adaptive: *sam_adaptive,
            }),
            _ => None,
        }
    }

    /// Standard deviation of the noise the training loop adds to the data ([0, 1] units).
    pub fn data_noise(&self) -> f64 {
        match self {
            Self::Jem { data_noise, .. }
            | Self::Jempp { data_noise, .. }
            | Self::SadaJem { data_noise, .. }
            | Self::EbJdat { data_noise, .. } => *data_noise,
            _ => 0.0,
        }
    }

    /// Makes training start from the checkpoint `path`: for `prejeat` (which needs one) and
    /// `jeat`; refused for the methods that train from scratch.
    pub fn set_pretrained(&mut self, path: PathBuf) -> Result<(), TrainError> {
        match self {
            Self::Prejeat(c) | Self::Jeat(c) => {
                c.pretrained = Some(path);
                Ok(())
            }
            other => Err(TrainError::Config(format!(
                "objective {} trains from scratch and takes no pretrained checkpoint ({}): only jeat and prejeat start from one",
                other.name(),
                path.display()
            ))),
        }
    }

    /// The checkpoint training starts from, if the method prescribes one.
    pub fn pretrained(&self) -> Option<&PathBuf> {
        match self {
            Self::Prejeat(c) | Self::Jeat(c) => c.pretrained.as_ref(),
            _ => None,
        }
    }

    /// The settings of `method` at Linf radius `eps` with `steps` inner steps: PGD with step
    /// eps/4 from a uniform start; TRADES' reference inner attack (see [`trades_attack`]);
    /// JEM's data noise; JEAT's default weights; `pretrained` for `prejeat`.
    pub fn preset(
        method: TrainingMethod,
        eps: f64,
        steps: usize,
        pretrained: Option<PathBuf>,
    ) -> Self {
        let attack = InnerAttack::madry(eps, steps);
        let jeat = || JeatConfig {
            lambda: 1.0,
            attack_loss: AttackLoss::CrossEntropy,
            clean_ce_weight: 0.0,
            energy_l2: 0.0,
            joint_weight: 0.0,
            attack,
            pretrained: pretrained.clone(),
        };
        match method {
            TrainingMethod::Standard => Self::Standard,
            TrainingMethod::PgdAt => Self::PgdAt { attack },
            TrainingMethod::Trades => Self::Trades {
                beta: 6.0,
                attack: trades_attack(eps, steps),
            },
            TrainingMethod::Jem => Self::Jem {
                data_noise: default_data_noise(),
                energy_l2: 0.0,
                joint_weight: 0.0,
            },
            TrainingMethod::Jeat => Self::Jeat(jeat()),
            TrainingMethod::Prejeat => Self::Prejeat(jeat()),
            TrainingMethod::EbJdat => Self::EbJdat {
                px: 1.0,
                pyx: 1.0,
                adv: 0.1,
                pya: 1.0,
                energy_l2: 0.0,
                data_noise: default_data_noise(),
                attack: InnerAttack {
                    eps: 9.0 * eps / 8.0,
                    step_size: eps / 8.0,
                    steps: 5,
                    start: InnerStart::UniformWithin { radius: eps / 2.0 },
                },
            },
            TrainingMethod::SadaJem => Self::SadaJem {
                data_noise: 0.0,
                energy_l2: 0.0,
                sam_rho: 2.0,
                sam_adaptive: true,
            },
            TrainingMethod::Jempp => Self::Jempp {
                data_noise: default_data_noise(),
                energy_l2: 0.0,
            },
            TrainingMethod::Weat => Self::Weat {
                beta: 6.0,
                adversarial_ce: true,
                attack: InnerAttack {
                    start: InnerStart::Gaussian { std: 0.001 },
                    ..attack
                },
            },
        }
    }
}

/// The radius TRADES' reference code trains CIFAR-10 with (0.031, not 8/255).
pub const TRADES_CIFAR_EPS: f64 = 0.031;

/// TRADES' inner attack as its reference code runs it (CIFAR-10: eps 0.031, step 0.007, 10
/// steps, start `x + 0.001 · N(0, I)`); at another radius, the same step-to-radius ratio.
pub fn trades_attack(eps: f64, steps: usize) -> InnerAttack {
    InnerAttack {
        eps,
        step_size: eps * (0.007 / TRADES_CIFAR_EPS),
        steps,
        start: InnerStart::Gaussian { std: 0.001 },
    }
}
