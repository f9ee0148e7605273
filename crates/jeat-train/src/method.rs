//! The training methods of the paper's table, and what each needs: the generator of its samples, how its best checkpoint is chosen, whether it fine-tunes another method's
//! model.

use jeat_sampling::Generator;

/// A training method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrainingMethod {
    /// Plain cross-entropy.
    Standard,
    /// Madry et al.'s PGD adversarial training.
    PgdAt,
    /// Zhang et al.'s TRADES.
    Trades,
    /// Grathwohl et al.'s JEM.
    Jem,
    /// Joint Energy Adversarial Training **[reconstruction]**.
    Jeat,
    /// JEAT fine-tuned from a trained `pgd-at` model **[reconstruction]**.
    Prejeat,
    /// Mirza et al.'s WEAT: TRADES weighted by each point's energy.
    Weat,
    /// Yang & Ji's JEM++: JEM's loss with proximal SGLD chains started from class-conditional
    /// Gaussians.
    Jempp,
    /// Yang & Ji's SADA-JEM: JEM++'s loss and chain with sharpness-aware minimisation.
    SadaJem,
    /// Yang et al.'s EB-JDAT: JEM++ with adversarial examples and an energy alignment term.
    EbJdat,
}

impl TrainingMethod {
    /// Every method.
    pub const ALL: [Self; 10] = [
        Self::Standard,
        Self::PgdAt,
        Self::Trades,
        Self::Jem,
        Self::Jeat,
        Self::Prejeat,
        Self::Weat,
        Self::Jempp,
        Self::SadaJem,
        Self::EbJdat,
    ];

    /// The robust generative classifiers beside their baselines, compared under one protocol by
    /// `jeat reproduce --methods family`.
    pub const FAMILY: [Self; 9] = [
        Self::Standard,
        Self::PgdAt,
        Self::Trades,
        Self::Jem,
        Self::Jempp,
        Self::SadaJem,
        Self::Jeat,
        Self::Weat,
        Self::EbJdat,
    ];

    /// The methods of the paper's table, in the order the reproduction trains them (`prejeat`
    /// after `pgd-at`).
    pub const PAPER: [Self; 6] = [
        Self::Standard,
        Self::PgdAt,
        Self::Trades,
        Self::Jem,
        Self::Jeat,
        Self::Prejeat,
    ];

    /// The name (`standard`, `pgd-at`, `trades`, `jem`, `jeat`, `prejeat`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::PgdAt => "pgd-at",
            Self::Trades => "trades",
            Self::Jem => "jem",
            Self::Jeat => "jeat",
            Self::Prejeat => "prejeat",
            Self::Weat => "weat",
            Self::Jempp => "jempp",
            Self::EbJdat => "eb-jdat",
            Self::SadaJem => "sada-jem",
        }
    }

    /// The method whose trained model this one starts from (`prejeat`: `pgd-at`).
    pub fn starts_from(self) -> Option<Self> {
        (self == Self::Prejeat).then_some(Self::PgdAt)
    }

    /// Whether the method trains an energy model with SGLD samples.
    pub fn energy_based(self) -> bool {
        matches!(
            self,
            Self::Jem | Self::Jempp | Self::SadaJem | Self::Jeat | Self::Prejeat | Self::EbJdat
        )
    }

    /// How its best checkpoint is chosen: standard training's and JEM's PGD accuracy is near
    /// zero and says nothing, so by clean accuracy; the adversarially trained ones' by PGD
    /// accuracy.
    pub fn selection(self) -> Selection {
        match self {
            Self::Standard | Self::Jem | Self::Jempp | Self::SadaJem => Selection::Clean,
            _ => Selection::Robust,
        }
    }

    /// The generator of its samples: robust-classifier generation for the discriminative
    /// methods, SGLD for the energy-based ones.
    pub fn generator(self) -> Generator {
        match self {
            Self::Jem | Self::Jempp | Self::SadaJem | Self::EbJdat => Generator::sgld_marginal(),
            Self::Jeat | Self::Prejeat => Generator::sgld_joint(),
            _ => Generator::santurkar(),
        }
    }
}

impl std::fmt::Display for TrainingMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TrainingMethod {
    type Err = crate::TrainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == text)
            .ok_or_else(|| {
                crate::TrainError::Config(format!(
                    "unknown method '{text}'; valid: {}",
                    Self::ALL.map(Self::name).join(", ")
                ))
            })
    }
}

/// The validation number that picks a method's best checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Selection {
    /// PGD accuracy.
    #[default]
    Robust,
    /// Clean accuracy.
    Clean,
}
