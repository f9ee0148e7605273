//! Attacks by name and suites of them: `fgsm`, `pgd-20`, `pgd-100`, `cw-30`, `mim-20`,
//! `apgd-ce`, `apgd-dlr`, `apgd-t`, `fab-t`, `square`, `aa-standard` (AutoAttack's standard
//! version: APGD-CE, APGD-T, FAB-T, Square), or a comma-separated list of these.

use crate::apgd::{Apgd, ApgdLoss};
use crate::attack::Attack;
use crate::error::AttackError;
use crate::fab::FabTargeted;
use crate::pgd::Pgd;
use crate::square::Square;
use crate::threat::ThreatModel;

/// One attack of a suite, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackSpec {
    /// FGSM.
    Fgsm,
    /// PGD-k on CE, steps eps/4, random start.
    Pgd(usize),
    /// PGD-k on the CW margin.
    Cw(usize),
    /// Momentum iterative FGSM, k steps.
    Mim(usize),
    /// APGD on CE, 100 iterations.
    ApgdCe,
    /// APGD on DLR, 100 iterations.
    ApgdDlr,
    /// APGD on targeted DLR, 9 targets × 100 iterations.
    ApgdT,
    /// FAB-T, 9 targets × 100 iterations.
    FabT,
    /// Square with this many queries.
    Square(usize),
}

/// Names accepted by [`Suite::parse`], for help texts and errors.
pub const SUITE_NAMES: &str = "fgsm, pgd-<k> (pgd-20, pgd-100), cw-<k> (cw-30), mim-<k>, apgd-ce, apgd-dlr, apgd-t, fab-t, square[-<queries>], aa-standard, or a comma-separated list";

impl AttackSpec {
    /// The attack named `name` (one attack, not a suite).
    pub fn parse(name: &str) -> Option<Self> {
        let steps = |prefix: &str| {
            name.strip_prefix(prefix)
                .and_then(|k| k.parse::<usize>().ok())
                .filter(|&k| k > 0)
        };
        Some(match name {
            "fgsm" => Self::Fgsm,
            "apgd-ce" => Self::ApgdCe,
            "apgd-dlr" => Self::ApgdDlr,
            "apgd-t" => Self::ApgdT,
            "fab-t" => Self::FabT,
            "square" => Self::Square(5000),
            _ => {
                if let Some(k) = steps("pgd-") {
                    Self::Pgd(k)
                } else if let Some(k) = steps("cw-") {
                    Self::Cw(k)
                } else if let Some(k) = steps("mim-") {
                    Self::Mim(k)
                } else if let Some(k) = steps("square-") {
                    Self::Square(k)
                } else {
                    return None;
                }
            }
        })
    }

    /// The attack under `threat`.
    pub fn build(self, threat: &ThreatModel) -> Box<dyn Attack> {
        let threat = threat.clone();
        match self {
            Self::Fgsm => Box::new(Pgd::fgsm(threat)),
            Self::Pgd(k) => Box::new(Pgd::madry(threat, k)),
            Self::Cw(k) => Box::new(Pgd::cw(threat, k)),
            Self::Mim(k) => Box::new(Pgd::mim(threat, k)),
            Self::ApgdCe => Box::new(Apgd::ce(threat)),
            Self::ApgdDlr => Box::new(Apgd {
                loss: ApgdLoss::Dlr,
                ..Apgd::ce(threat)
            }),
            Self::ApgdT => Box::new(Apgd::targeted(threat)),
            Self::FabT => Box::new(FabTargeted::standard(threat)),
            Self::Square(queries) => Box::new(Square {
                queries,
                ..Square::standard(threat)
            }),
        }
    }

    /// Whether the attack uses gradients (Square does not).
    pub fn white_box(self) -> bool {
        !matches!(self, Self::Square(_))
    }
}

/// A named sequence of attacks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Suite {
    /// The name it was asked for by.
    pub name: String,
    /// The attacks, in order.
    pub attacks: Vec<AttackSpec>,
}

impl Suite {
    /// AutoAttack's standard version.
    pub fn autoattack_standard() -> Self {
        Self {
            name: "aa-standard".into(),
            attacks: vec![
                AttackSpec::ApgdCe,
                AttackSpec::ApgdT,
                AttackSpec::FabT,
                AttackSpec::Square(5000),
            ],
        }
    }

    /// A suite by name or a comma-separated list of names.
    pub fn parse(name: &str) -> Result<Self, AttackError> {
        let mut attacks = Vec::new();
        for part in name.split(',').map(str::trim) {
            if part == "aa-standard" {
                attacks.extend(Self::autoattack_standard().attacks);
            } else if let Some(spec) = AttackSpec::parse(part) {
                attacks.push(spec);
            } else {
                return Err(AttackError::Invalid(format!(
                    "unknown attack or suite '{part}'; valid: {SUITE_NAMES}"
                )));
            }
        }
        Ok(Self {
            name: name.trim().to_string(),
            attacks,
        })
    }

    /// The protocol id of this suite under `threat`, e.g. `linf-8/255:aa-standard-v1`.
    pub fn protocol_id(&self, threat: &ThreatModel) -> String {
        let suite = if self.name == "aa-standard" {
            "aa-standard-v1".to_string()
        } else {
            self.name.clone()
        };
        format!("{}:{suite}", threat.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_parse_and_unknown_names_list_the_valid_ones() {
        let aa = Suite::parse("aa-standard").unwrap();
        assert_eq!(aa.attacks, Suite::autoattack_standard().attacks);
        let custom = Suite::parse("fgsm, pgd-20,square-100").unwrap();
        assert_eq!(
            custom.attacks,
            vec![
                AttackSpec::Fgsm,
                AttackSpec::Pgd(20),
                AttackSpec::Square(100)
            ]
        );
        let err = Suite::parse("pgd-20,bim").unwrap_err().to_string();
        assert!(
            err.contains("'bim'") && err.contains("aa-standard"),
            "{err}"
        );
        assert!(Suite::parse("pgd-0").is_err());
        let threat = ThreatModel::parse(crate::Norm::Linf, "8/255").unwrap();
        assert_eq!(aa.protocol_id(&threat), "linf-8/255:aa-standard-v1");
        let names: Vec<String> = aa.attacks.iter().map(|a| a.build(&threat).name()).collect();
        assert_eq!(names, ["apgd-ce", "apgd-t", "fab-t", "square-5000"]);
    }
}
