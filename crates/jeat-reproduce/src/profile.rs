//! What each profile measures. Which data, network and training each method uses come from the
//! training presets of `jeat-train` ([`jeat_train::Profile::config`]); this adds the attack
//! columns, the samples, the scores and the analysis.

use jeat_train::{Profile, TrainingMethod};

/// What a profile measures.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProfilePlan {
    /// The profile.
    pub profile: Profile,
    /// The methods, in the order they are trained (`prejeat` after `pgd-at`).
    pub methods: Vec<TrainingMethod>,
    /// Linf radius of every attack column, as written (`8/255`, `0.1`).
    pub eps: String,
    /// Test points of every attack column (the same points for all, so that they compare).
    pub attack_points: usize,
    /// The attack columns: (column name, suite).
    pub columns: Vec<(String, String)>,
    /// Generated images per class (conditional generators; in all: times the classes).
    pub samples_per_class: usize,
    /// Reference images of FID and KID: the first N of this split of the dataset.
    pub score_reference: (String, Option<usize>),
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
    /// What `profile` measures.
    pub fn of(profile: Profile) -> Self {
        let methods = TrainingMethod::ALL.to_vec();
        match profile {
            Profile::Smoke => Self {
                profile,
                methods,
                eps: "0.1".into(),
                attack_points: 32,
                columns: columns(AUTOATTACK_SMOKE),
                samples_per_class: 4,
                score_reference: ("test".into(), Some(64)),
                analysis_points: 64,
                landscape: (15, 10.0),
                batch_size: 64,
                seeds: 1,
            },
            Profile::Cpu => Self {
                profile,
                methods,
                eps: "0.1".into(),
                attack_points: 1000,
                columns: columns("aa-standard"),
                samples_per_class: 100,
                score_reference: ("test".into(), Some(1000)),
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
                eps: "0.1".into(),
                attack_points: 100,
                columns: columns(AUTOATTACK_QUICK),
                samples_per_class: 5,
                score_reference: ("test".into(), Some(200)),
                analysis_points: 200,
                landscape: (21, 10.0),
                batch_size: 100,
                seeds: 1,
            },
            Profile::Paper => Self {
                profile,
                methods,
                eps: "8/255".into(),
                attack_points: 10_000,
                columns: columns("aa-standard"),
                samples_per_class: 5000,
                score_reference: ("train".into(), None),
                analysis_points: 1000,
                landscape: (51, 10.0),
                batch_size: 250,
                seeds: 1,
            },
        }
    }
}
