//! What the stages of a reproduction share: the run (its options, cache, data, threat model,
//! and what is loaded once: the class Gaussians and the Inception network) and, per method, its
//! trained model and the directory its cells go to.

use crate::cache::Cache;
use crate::options::Options;
use jeat_attacks::ThreatModel;
use jeat_data::ImageSet;
use jeat_metrics::weights::LoadedInception;
use jeat_models::{Model, ModelSpec};
use jeat_sampling::ClassGaussians;
use jeat_train::TrainingMethod;
use std::cell::OnceCell;
use std::path::PathBuf;

/// The state of one reproduction, shared by every method's row.
pub struct Reproduction<'a> {
    /// How it runs.
    pub options: &'a Options,
    /// Its cells' cache.
    pub cache: Cache,
    /// The test split (attack points, analysis points, score reference).
    pub test: ImageSet,
    /// The training split (class Gaussians, score reference of the paper profile).
    pub training_set: ImageSet,
    /// The threat model of every attack column.
    pub threat: ThreatModel,
    /// Class-conditional Gaussian seeds, fitted on first use.
    pub seeds: OnceCell<ClassGaussians>,
    /// The Inception network, loaded on first use.
    pub inception: OnceCell<LoadedInception>,
}

/// One method's row: its trained model and where its cells go.
pub struct MethodCell {
    /// The method.
    pub method: TrainingMethod,
    /// The row's name: the method's, with `-seed<k>` for the profile's further training seeds.
    pub name: String,
    /// The evaluated checkpoint (best validation accuracy, as the method chooses it).
    pub checkpoint: PathBuf,
    /// Its model, in inference mode.
    pub model: Model,
    /// The model's spec.
    pub spec: ModelSpec,
    /// The checkpoint's SHA-256 (what its cells' keys name).
    pub hash: String,
    /// `<out>/runs/<method>`: the training run.
    pub run_dir: PathBuf,
    /// `<out>/cells/<method>`: its cached cells.
    pub dir: PathBuf,
    /// Training seconds.
    pub training_seconds: f64,
}
