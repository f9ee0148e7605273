//! What each profile measures. Which data, network and training each method uses come from the
//! training presets of `jeat-train` ([`jeat_train::Profile::config`]); this adds the attack
//! columns, the samples, the scores and the analysis.

use jeat_data::Split;
use jeat_train::{Profile, TrainingMethod};

/// What a profile measures.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProfilePlan {
    /// The profile.
    pub profile: Profile,
    /// The methods, in the order they are trained (`prejeat` after `pgd-at`).
    pub methods: Vec<TrainingMethod>,
    /// Test points of every attack column (the same points for all, so that they compare).
    pub attack_points: usize,
    /// The attack columns: (column name, suite).
    pub columns: Vec<(String, String)>,
    /// Generated images per class (conditional generators; in all: times the classes).
    pub samples_per_class: usize,
    /// Reference images of FID and KID: the first N (all for `None`) of this split.
    pub score_reference: (Split, Option<usize>),
    /// Test points of the energy histograms and flatness numbers.
    pub analysis_points: usize,
    /// Landscape grid side, and the range of its wide view in units of eps (the near view spans
    /// ±2 eps).
    pub landscape: (usize, f64),
    /// Batch size of attacks and scores.
    pub batch_size: usize,
    /// Training seeds per method (`--seeds`): the first is the profile's own seed, each further
    /// one trains, attacks, generates and scores the method again from seed + k.
    #[serde(default = "one")]
    pub seeds: usize,
}

fn one() -> usize {
    1
}

/// The name of the AutoAttack column.
pub const AUTOATTACK: &str = "AutoAttack";

/// AutoAttack's four attacks with Square cut to 1,000 queries: the `smoke` profile's column,
/// where Square's 5,000 sequential queries would be most of the run. Its protocol id says so.
pub const AUTOATTACK_SMOKE: &str = "apgd-ce,apgd-t,fab-t,square-1000";

/// The `quick` profile's AutoAttack column: APGD-CE then APGD-DLR, AutoAttack's two
/// untargeted gradient attacks (a `custom` version of it). The targeted APGD-T, FAB-T and Square
/// run nine targets or thousands of queries per point, most of the run's time on two cores
/// (APGD-T alone ≈ 1 s per robust point there). Its protocol id says so.
pub const AUTOATTACK_QUICK: &str = "apgd-ce,apgd-dlr";

/// The attack columns, with `autoattack` as the suite of the AutoAttack column.
fn columns(autoattack: &str) -> Vec<(String, String)> {
    [
        ("FGSM", "fgsm"),
        ("PGD-20", "pgd-20"),
        ("PGD-100", "pgd-100"),
        ("CW-30", "cw-30"),
        (AUTOATTACK, autoattack),
    ]
    .iter()
    .map(|(c, s)| (c.to_string(), s.to_string()))
    .collect()
}

impl ProfilePlan {
    /// The Linf radius of every attack column, as written (`8/255`, `0.1`): the profile's one
    /// radius, the one its methods train at.
    pub fn eps(&self) -> &'static str {
        self.profile.eps_text()
    }

    /// What `profile` measures.
    pub fn of(profile: Profile) -> Self {
        let methods = TrainingMethod::PAPER.to_vec();
        match profile {
            Profile::Smoke => Self {
                profile,
                methods,
                attack_points: 32,
                columns: columns(AUTOATTACK_SMOKE),
                samples_per_class: 4,
                score_reference: (Split::Test, Some(64)),
                analysis_points: 64,
                landscape: (15, 10.0),
                batch_size: 64,
                seeds: 1,
            },
            Profile::Cpu => Self {
                profile,
                methods,
                attack_points: 1000,
                columns: columns("aa-standard"),
                samples_per_class: 100,
                score_reference: (Split::Test, Some(1000)),
                analysis_points: 500,
                landscape: (41, 10.0),
                batch_size: 250,
                seeds: 1,
            },
            // Budgeted for 15 minutes on two cores: the Inception network (≈ 0.5 s per image
            // there) and training dominate, so few samples and reference images.
            Profile::Quick => Self {
                profile,
                methods,
                attack_points: 100,
                columns: columns(AUTOATTACK_QUICK),
                samples_per_class: 5,
                score_reference: (Split::Test, Some(200)),
                analysis_points: 200,
                landscape: (21, 10.0),
                batch_size: 100,
                seeds: 1,
            },
            Profile::Paper => Self {
                profile,
                methods,
                attack_points: 10_000,
                columns: columns("aa-standard"),
                samples_per_class: 5000,
                score_reference: (Split::Train, None),
                analysis_points: 1000,
                landscape: (51, 10.0),
                batch_size: 250,
                seeds: 1,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeat_attacks::{Norm, ThreatModel};

    /// One radius per profile: the attack columns' threat model, every method's validation
    /// attack and inner attack (TRADES' reference inner attack rounds 8/255 to 0.031).
    #[test]
    fn every_method_trains_at_the_radius_the_columns_attack_at() {
        for profile in Profile::ALL {
            let plan = ProfilePlan::of(profile);
            let columns = ThreatModel::parse(Norm::Linf, plan.eps()).unwrap().eps;
            for method in TrainingMethod::ALL {
                let pretrained = method.starts_from().map(|_| "pgd-at.safetensors".into());
                let config = profile.config(method, pretrained).unwrap();
                assert_eq!(config.evaluation_eps(), columns, "{profile:?} {method}");
                if let Some((attack, _)) = config.objective.inner_attack() {
                    let tolerance = match method {
                        TrainingMethod::Trades => 0.02 * columns,
                        // EB-JDAT's own attack is not bounded by a ball: ours keeps it in
                        // 9/8 of the radius, which its steps never reach past.
                        TrainingMethod::EbJdat => columns / 8.0,
                        _ => 0.0,
                    };
                    assert!(
                        (attack.eps - columns).abs() <= tolerance,
                        "{profile:?} {method}: trains at {} against columns at {columns}",
                        attack.eps
                    );
                }
            }
        }
    }
}
