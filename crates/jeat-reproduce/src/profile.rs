//! The three scales of the reproduction. Which data, network and training each method uses come
//! from the training presets of `jeat-train` (`<profile>-<method>`); this adds what is measured.

use anyhow::{Result, bail};

/// What a profile measures.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    /// `smoke`, `cpu` or `paper`.
    pub name: String,
    /// The methods, in the order they are trained (`prejeat` after `pgd-at`).
    pub methods: Vec<String>,
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
    /// Landscape grid side and range (L2 pixel units along each unit direction).
    pub landscape: (usize, f64),
    /// Batch size of attacks and scores.
    pub batch_size: usize,
}

/// The valid profile names.
pub const PROFILES: &str = "smoke, cpu, paper";

/// The name of the AutoAttack column.
pub const AUTOATTACK: &str = "AutoAttack";

/// AutoAttack's four attacks with Square cut to 1,000 queries: the `smoke` profile's column,
/// where Square's 5,000 sequential queries would be most of the run. Its protocol id says so.
pub const AUTOATTACK_SMOKE: &str = "apgd-ce,apgd-t,fab-t,square-1000";

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

impl Profile {
    /// A profile by name.
    pub fn named(name: &str) -> Result<Self> {
        let methods: Vec<String> = ["standard", "pgd-at", "trades", "jem", "jeat", "prejeat"]
            .iter()
            .map(|m| m.to_string())
            .collect();
        Ok(match name {
            "smoke" => Self {
                name: name.into(),
                methods,
                eps: "0.1".into(),
                attack_points: 32,
                columns: columns(AUTOATTACK_SMOKE),
                samples_per_class: 4,
                score_reference: ("test".into(), Some(64)),
                analysis_points: 64,
                landscape: (15, 2.0),
                batch_size: 64,
            },
            "cpu" => Self {
                name: name.into(),
                methods,
                eps: "0.1".into(),
                attack_points: 1000,
                columns: columns("aa-standard"),
                samples_per_class: 100,
                score_reference: ("test".into(), Some(1000)),
                analysis_points: 500,
                landscape: (41, 6.0),
                batch_size: 250,
            },
            "paper" => Self {
                name: name.into(),
                methods,
                eps: "8/255".into(),
                attack_points: 10_000,
                columns: columns("aa-standard"),
                samples_per_class: 5000,
                score_reference: ("train".into(), None),
                analysis_points: 1000,
                landscape: (51, 10.0),
                batch_size: 250,
            },
            other => bail!("unknown profile '{other}'; valid: {PROFILES}"),
        })
    }

    /// The generator a method's samples are drawn with (robust-classifier generation for the
    /// discriminative methods, SGLD for the energy-based ones).
    pub fn generator(method: &str) -> &'static str {
        match method {
            "jem" => "sgld-marginal",
            "jeat" | "prejeat" => "sgld-joint",
            _ => "santurkar",
        }
    }
}
