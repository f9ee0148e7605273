//! Attacks by name and suites of them: `fgsm`, `pgd-20`, `pgd-100`, `cw-30`, `mim-20`,
//! `apgd-ce`, `apgd-dlr`, `apgd-t`, `fab-t`, `square`, `aa-standard` (AutoAttack's standard
//! version: APGD-CE, APGD-T, FAB-T, Square), or a comma-separated list of these.

use crate::apgd::{Apgd, ApgdLoss};
use crate::attack::Attack;
use crate::error::AttackError;
use crate::fab::FabTargeted;
use crate::pgd::Pgd;
use crate::sanity::SanityFlag;
use crate::square::Square;
use jeat_engine::threat::ThreatModel;

/// The options of the PGD family (`pgd-<k>`, `cw-<k>`, `mim-<k>`): `:step=<size>` (a number or a
/// fraction such as `2/255`, [0, 1] pixel units) and `:restarts=<n>`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PgdOptions {
    /// Steps per restart.
    pub steps: usize,
    /// The step size as written, when not the attack's default (eps/4; eps/k for MIM).
    pub step: Option<String>,
    /// Runs from fresh random starts on the points not fooled yet (1).
    pub restarts: usize,
}

impl PgdOptions {
    fn new(steps: usize) -> Self {
        Self {
            steps,
            step: None,
            restarts: 1,
        }
    }

    /// `pgd-40:step=0.01:restarts=5`: the attack's canonical name for protocol ids.
    fn name(&self, family: &str) -> String {
        let mut name = format!("{family}-{}", self.steps);
        if let Some(step) = &self.step {
            name.push_str(&format!(":step={step}"));
        }
        if self.restarts > 1 {
            name.push_str(&format!(":restarts={}", self.restarts));
        }
        name
    }

    fn apply(&self, mut attack: Pgd, family: &str) -> Pgd {
        if let Some(step) = &self.step {
            attack.step_size = parse_size(step).expect("checked when parsed");
        }
        attack.restarts = self.restarts;
        attack.label = self.name(family);
        attack
    }
}

/// One attack of a suite, with its parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackSpec {
    /// FGSM.
    Fgsm,
    /// PGD-k on CE, steps eps/4 unless told, random start.
    Pgd(PgdOptions),
    /// PGD-k on the CW margin.
    Cw(PgdOptions),
    /// Momentum iterative FGSM, k steps.
    Mim(PgdOptions),
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
pub const SUITE_NAMES: &str = "fgsm, pgd-<k>[:step=<size>][:restarts=<n>] (pgd-20, pgd-100, pgd-40:step=2/255:restarts=5), cw-<k>[…] (cw-30), mim-<k>[…], apgd-ce, apgd-dlr, apgd-t, fab-t, square[-<queries>], aa-standard, or a comma-separated list";

/// A positive size written as a number (`0.01`) or a fraction (`2/255`).
fn parse_size(text: &str) -> Option<f64> {
    let value = match text.split_once('/') {
        Some((a, b)) => a.trim().parse::<f64>().ok()? / b.trim().parse::<f64>().ok()?,
        None => text.trim().parse().ok()?,
    };
    (value.is_finite() && value > 0.0).then_some(value)
}

impl AttackSpec {
    /// The attack named `name` (one attack, not a suite), or why the name is wrong.
    pub fn parse(name: &str) -> Result<Self, String> {
        let mut parts = name.split(':');
        let head = parts.next().unwrap_or_default();
        let options: Vec<&str> = parts.collect();
        let steps = |prefix: &str| {
            head.strip_prefix(prefix)
                .and_then(|k| k.parse::<usize>().ok())
                .filter(|&k| k > 0)
        };
        let family = |options_of: fn(PgdOptions) -> Self, k: usize| -> Result<Self, String> {
            let mut parsed = PgdOptions::new(k);
            for option in &options {
                match option.split_once('=') {
                    Some(("step", value)) if parse_size(value).is_some() => {
                        parsed.step = Some(value.trim().to_string());
                    }
                    Some(("restarts", value)) if value.parse::<usize>().is_ok_and(|r| r > 0) => {
                        parsed.restarts = value.parse().expect("checked");
                    }
                    _ => {
                        return Err(format!(
                            "bad option '{option}' of '{name}': write step=<size> (0.01 or 2/255) or restarts=<n ≥ 1>"
                        ));
                    }
                }
            }
            Ok(options_of(parsed))
        };
        let plain = |spec: Self| {
            if options.is_empty() {
                Ok(spec)
            } else {
                Err(format!(
                    "'{head}' takes no options (':{}')",
                    options.join(":")
                ))
            }
        };
        match head {
            "fgsm" => plain(Self::Fgsm),
            "apgd-ce" => plain(Self::ApgdCe),
            "apgd-dlr" => plain(Self::ApgdDlr),
            "apgd-t" => plain(Self::ApgdT),
            "fab-t" => plain(Self::FabT),
            "square" => plain(Self::Square(5000)),
            _ => {
                if let Some(k) = steps("pgd-") {
                    family(Self::Pgd, k)
                } else if let Some(k) = steps("cw-") {
                    family(Self::Cw, k)
                } else if let Some(k) = steps("mim-") {
                    family(Self::Mim, k)
                } else if let Some(k) = steps("square-") {
                    plain(Self::Square(k))
                } else {
                    Err(format!(
                        "unknown attack or suite '{name}'; valid: {SUITE_NAMES}"
                    ))
                }
            }
        }
    }

    /// The attack under `threat`.
    pub fn build(&self, threat: &ThreatModel) -> Box<dyn Attack> {
        let threat = threat.clone();
        match self {
            Self::Fgsm => Box::new(Pgd::fgsm(threat)),
            Self::Pgd(o) => Box::new(o.apply(Pgd::madry(threat, o.steps), "pgd")),
            Self::Cw(o) => Box::new(o.apply(Pgd::cw(threat, o.steps), "cw")),
            Self::Mim(o) => Box::new(o.apply(Pgd::mim(threat, o.steps), "mim")),
            Self::ApgdCe => Box::new(Apgd::ce(threat)),
            Self::ApgdDlr => Box::new(Apgd {
                loss: ApgdLoss::Dlr,
                ..Apgd::ce(threat)
            }),
            Self::ApgdT => Box::new(Apgd::targeted(threat)),
            Self::FabT => Box::new(FabTargeted::standard(threat)),
            Self::Square(queries) => Box::new(Square {
                queries: *queries,
                ..Square::standard(threat)
            }),
        }
    }

    /// The canonical name (what protocol ids record).
    pub fn name(&self) -> String {
        match self {
            Self::Fgsm => "fgsm".into(),
            Self::Pgd(o) => o.name("pgd"),
            Self::Cw(o) => o.name("cw"),
            Self::Mim(o) => o.name("mim"),
            Self::ApgdCe => "apgd-ce".into(),
            Self::ApgdDlr => "apgd-dlr".into(),
            Self::ApgdT => "apgd-t".into(),
            Self::FabT => "fab-t".into(),
            Self::Square(q) => format!("square-{q}"),
        }
    }

    /// Whether the attack uses gradients (Square does not).
    pub fn white_box(&self) -> bool {
        !matches!(self, Self::Square(_))
    }

    /// The target classes a targeted attack asks for (APGD-T and FAB-T: 9).
    pub fn targets(&self) -> Option<usize> {
        matches!(self, Self::ApgdT | Self::FabT).then_some(9)
    }

    /// The fewest classes the attack's loss is defined for (the DLR losses need 3, the
    /// targeted DLR loss 4), if it needs more than 2.
    pub fn min_classes(&self) -> Option<usize> {
        match self {
            Self::ApgdDlr => Some(3),
            Self::ApgdT => Some(4),
            _ => None,
        }
    }
}

/// A named sequence of attacks.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
            } else {
                attacks.push(AttackSpec::parse(part).map_err(AttackError::Invalid)?);
            }
        }
        Ok(Self {
            name: name.trim().to_string(),
            attacks,
        })
    }

    /// The protocol id of this suite under `threat`, e.g. `linf-8/255:aa-standard-v1` or
    /// `linf-8/255:fgsm,pgd-40:step=2/255:restarts=5`: every attack's parameters that differ
    /// from its defaults are in it.
    pub fn protocol_id(&self, threat: &ThreatModel) -> String {
        let suite = if self.attacks == Self::autoattack_standard().attacks {
            "aa-standard-v1".to_string()
        } else {
            self.attacks
                .iter()
                .map(AttackSpec::name)
                .collect::<Vec<_>>()
                .join(",")
        };
        format!("{}:{suite}", threat.id())
    }

    /// Refuses attacks the model has too few classes for, and flags targeted attacks that will
    /// run with fewer targets than they ask for.
    pub fn check_classes(&self, classes: usize) -> Result<Vec<SanityFlag>, AttackError> {
        let mut flags = Vec::new();
        for spec in &self.attacks {
            if let Some(needed) = spec.min_classes().filter(|&n| classes < n) {
                return Err(AttackError::Invalid(format!(
                    "{} needs a model with at least {needed} classes; this one has {classes}: leave it out of the suite (use apgd-ce)",
                    spec.name()
                )));
            }
            if let Some(requested) = spec.targets().filter(|&t| t + 1 > classes) {
                flags.push(SanityFlag::TargetsCapped {
                    attack: spec.name(),
                    requested,
                    available: classes.saturating_sub(1),
                });
            }
        }
        Ok(flags)
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
                AttackSpec::Pgd(PgdOptions::new(20)),
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
        assert!(Suite::parse("apgd-ce:step=1").is_err());
    }

    #[test]
    fn pgd_step_and_restarts_are_options_recorded_in_the_protocol_id() {
        let threat = ThreatModel::parse(crate::Norm::Linf, "8/255").unwrap();
        let suite = Suite::parse("pgd-40:step=2/255:restarts=5, cw-30:step=0.01").unwrap();
        assert_eq!(
            suite.protocol_id(&threat),
            "linf-8/255:pgd-40:step=2/255:restarts=5,cw-30:step=0.01"
        );
        let AttackSpec::Pgd(options) = &suite.attacks[0] else {
            panic!("not PGD")
        };
        let attack = options.apply(Pgd::madry(threat.clone(), options.steps), "pgd");
        assert!((attack.step_size - 2.0 / 255.0).abs() < 1e-15);
        assert_eq!(attack.restarts, 5);
        assert_eq!(attack.steps, 40);
        let default = Suite::parse("pgd-20").unwrap();
        let AttackSpec::Pgd(options) = &default.attacks[0] else {
            panic!("not PGD")
        };
        let attack = options.apply(Pgd::madry(threat.clone(), 20), "pgd");
        assert!((attack.step_size - threat.eps / 4.0).abs() < 1e-15);
        assert_eq!(default.protocol_id(&threat), "linf-8/255:pgd-20");
        for bad in [
            "pgd-40:step=0",
            "pgd-40:restarts=0",
            "pgd-40:steps=3",
            "pgd-40:step=x",
        ] {
            let err = Suite::parse(bad).unwrap_err().to_string();
            assert!(err.contains("bad option"), "{bad}: {err}");
        }
    }

    #[test]
    fn too_few_classes_are_refused_or_flagged_not_a_panic() {
        let suite = Suite::autoattack_standard();
        let err = suite.check_classes(3).unwrap_err().to_string();
        assert!(err.contains("apgd-t") && err.contains("4 classes"), "{err}");
        let flags = suite.check_classes(5).unwrap();
        assert_eq!(flags.len(), 2, "{flags:?}");
        assert!(suite.check_classes(10).unwrap().is_empty());
        assert!(Suite::parse("apgd-dlr").unwrap().check_classes(2).is_err());
    }
}
