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
    /// Test points of the FGSM, PGD and CW columns.
    pub attack_points: usize,
    /// Test points of the AutoAttack column.
    pub autoattack_points: usize,
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

fn columns() -> Vec<(String, String)> {
    [
        ("FGSM", "fgsm"),
        ("PGD-20", "pgd-20"),
        ("PGD-100", "pgd-100"),
        ("CW-30", "cw-30"),
        ("AutoAttack", "aa-standard"),
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
                attack_points: 64,
                autoattack_points: 32,
                columns: columns(),
                samples_per_class: 8,
                score_reference: ("test".into(), Some(128)),
                analysis_points: 64,
                landscape: (21, 2.0),
                batch_size: 64,
            },
            "cpu" => Self {
                name: name.into(),
                methods,
                eps: "0.1".into(),
                attack_points: 1000,
                autoattack_points: 500,
                columns: columns(),
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
                autoattack_points: 10_000,
                columns: columns(),
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
