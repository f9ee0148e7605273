//! What a reproduction measured: a row per method, and the run around them.

use crate::analysis::Analysis;
use crate::attack_cell::Column;
use crate::profile::ProfilePlan;
use crate::samples::Samples;
use crate::scores::Scores;
use jeat_models::ModelSpec;
use jeat_train::TrainingMethod;
use std::path::PathBuf;

/// Everything measured for one method.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MethodResult {
    /// The method.
    pub method: TrainingMethod,
    /// The evaluated checkpoint (best validation accuracy, as the method chooses it).
    pub checkpoint: PathBuf,
    /// Its model.
    pub model: ModelSpec,
    /// Training seconds.
    pub training_seconds: f64,
    /// Clean accuracy (%) on the attack points.
    pub clean_accuracy: f64,
    /// The attack columns.
    pub columns: Vec<Column>,
    /// The samples.
    pub samples: Samples,
    /// Their scores.
    pub scores: Scores,
    /// The energy analysis.
    pub analysis: Analysis,
    /// Which training seed of the profile this row is: 0 for the first (`--seeds`).
    #[serde(default)]
    pub replicate: usize,
}

impl MethodResult {
    /// The robust accuracy (%) of the attack column `name`, if it was measured.
    pub fn column(&self, name: &str) -> Option<f64> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.report.robust_accuracy)
    }
}

/// The whole run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// What was measured.
    pub plan: ProfilePlan,
    /// The data, as named by its reader (`synthetic/…` for generated data).
    pub data: String,
    /// The dataset, `None` for synthetic data.
    #[serde(default)]
    pub dataset: Option<jeat_data::DatasetName>,
    /// Whether the data is real.
    pub real_data: bool,
    /// The backend.
    pub backend: String,
    /// One entry per method that completed (trained with the profile's first seed).
    pub methods: Vec<MethodResult>,
    /// The rows of the other training seeds (`--seeds`), in seed order.
    #[serde(default)]
    pub replicates: Vec<MethodResult>,
    /// Methods that failed, and why (the others still run).
    pub failures: Vec<(TrainingMethod, String)>,
    /// Cells found in the cache and cells computed by this invocation.
    pub cells: (usize, usize),
    /// Wall-clock seconds of this invocation.
    pub seconds: f64,
}

impl Summary {
    /// The row of `method`, if it completed.
    pub fn row(&self, method: TrainingMethod) -> Option<&MethodResult> {
        self.methods.iter().find(|r| r.method == method)
    }

    /// Every completed row of `method`, one per training seed, in seed order.
    pub fn rows_of(&self, method: TrainingMethod) -> Vec<&MethodResult> {
        self.methods
            .iter()
            .chain(&self.replicates)
            .filter(|r| r.method == method)
            .collect()
    }
}
