//! The training configuration, read from TOML: model, data, objective, sampler, optimiser,
//! schedule, loop, evaluation and divergence guard. Unknown keys and wrong types are errors that
//! name the key and the line; the resolved configuration is written next to a run's outputs.

use crate::error::TrainError;
pub use crate::method::Selection;
use crate::objective_config::ObjectiveConfig;
use jeat_data::{Augmentation, DatasetName, ImageSet, ImageShape, Split};
use jeat_models::{ModelSpec, NormalizationSpec};
use jeat_sampling::{BufferInit, SgldConfig};
use std::path::{Path, PathBuf};

/// Everything a training run needs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The network.
    pub model: ModelConfig,
    /// The data.
    pub data: DataConfig,
    /// The method, its loss weights and its run settings.
    pub objective: ObjectiveConfig,
    /// The SGLD sampler of `jem`, `jeat` and `prejeat`.
    #[serde(default)]
    pub sampler: SamplerConfig,
    /// The optimiser.
    pub optimizer: OptimizerConfig,
    /// The learning-rate schedule.
    pub schedule: ScheduleConfig,
    /// The loop.
    pub training: LoopConfig,
    /// Evaluation on the held-out validation split.
    #[serde(default)]
    pub evaluation: EvaluationConfig,
    /// The divergence guard.
    #[serde(default)]
    pub guard: GuardConfig,
}

/// The network, by registry name.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// `wrn-34-10`, `wrn-28-10-nobn`, `preact-resnet-18`, `mnist-cnn`, ….
    pub arch: String,
    /// Input normalisation inside the model.
    #[serde(default = "no_normalization")]
    pub normalization: NormalizationSpec,
    /// Dropout (WideResNet only).
    #[serde(default)]
    pub dropout: f64,
}

fn no_normalization() -> NormalizationSpec {
    NormalizationSpec::None
}

/// Where the images come from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `cifar10`, `cifar100`, `mnist`, `fashion-mnist`, or `synthetic` (says so in every report).
    pub dataset: String,
    /// Data root (default: `$JEAT_DATA`, else `./data`; installed copies are found too).
    #[serde(default)]
    pub root: Option<PathBuf>,
    /// Train on a stratified random subset of this many training images.
    #[serde(default)]
    pub train_subset: Option<usize>,
    /// Images held out of the training split for validation (best-checkpoint selection).
    #[serde(default = "default_validation")]
    pub validation: usize,
    /// Random crop (pad 4) and flip; default: on for CIFAR, off otherwise.
    #[serde(default)]
    pub augment: Option<bool>,
    /// The synthetic set, when `dataset = "synthetic"`.
    #[serde(default)]
    pub synthetic: Option<SyntheticConfig>,
}

fn default_validation() -> usize {
    1000
}

/// A synthetic dataset (class templates plus noise).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Classes.
    pub classes: usize,
    /// `[C, H, W]`.
    pub shape: [usize; 3],
    /// Training images.
    pub train: usize,
    /// Test images.
    pub test: usize,
    /// Seed of the templates.
    #[serde(default)]
    pub seed: u64,
}

impl DataConfig {
    /// The dataset, if it is a named one.
    pub fn named(&self) -> Result<Option<DatasetName>, TrainError> {
        if self.dataset == "synthetic" {
            return Ok(None);
        }
        self.dataset.parse().map(Some).map_err(TrainError::from)
    }

    /// The data root.
    pub fn root(&self) -> PathBuf {
        self.root
            .clone()
            .unwrap_or_else(jeat_data::default_data_root)
    }

    /// Reads a split (the whole official split; see [`DataConfig::training_sets`]).
    pub fn load(&self, split: Split) -> Result<ImageSet, TrainError> {
        match self.named()? {
            Some(name) => Ok(name.load(&self.root(), split)?),
            None => {
                let s = self.synthetic.as_ref().ok_or_else(|| {
                    TrainError::Config(
                        "data: dataset = \"synthetic\" needs a [data.synthetic] table".into(),
                    )
                })?;
                let [c, h, w] = s.shape;
                let (count, split_seed) = match split {
                    Split::Train => (s.train, 0),
                    Split::Test => (s.test, 1),
                };
                Ok(jeat_data::synthetic::class_templates(
                    s.classes,
                    ImageShape::new(c, h, w),
                    count,
                    s.seed,
                    split_seed,
                ))
            }
        }
    }

    /// The training set and the held-out validation set, both drawn from the training split with
    /// `seed` (stratified).
    pub fn training_sets(&self, seed: u64) -> Result<(ImageSet, ImageSet), TrainError> {
        let mut train = self.load(Split::Train)?;
        let name = train.name().to_string();
        if let Some(subset) = self
            .train_subset
            .filter(|&n| n + self.validation < train.len())
        {
            let (_, chosen) = train.split_validation(subset + self.validation, seed ^ 0x5eed)?;
            train = chosen;
        }
        let (rest, validation) = train.split_validation(self.validation, seed)?;
        let renamed = |set: ImageSet, part: &str| {
            let all: Vec<usize> = (0..set.len()).collect();
            set.select(format!("{name} ({part}, {} images)", set.len()), &all)
        };
        Ok((
            renamed(rest, "training part")?,
            renamed(validation, "held-out validation")?,
        ))
    }

    /// The augmentation of the training images.
    pub fn augmentation(&self) -> Augmentation {
        let cifar = matches!(
            self.named(),
            Ok(Some(DatasetName::Cifar10 | DatasetName::Cifar100))
        );
        match self.augment.unwrap_or(cifar) {
            true => Augmentation::CIFAR,
            false => Augmentation::NONE,
        }
    }
}

/// JEM's persistent SGLD sampler.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplerConfig {
    /// Replay buffer size (JEM: 10,000).
    #[serde(default = "default_buffer")]
    pub buffer_size: usize,
    /// Re-initialisation probability rho (JEM: 0.05).
    #[serde(default = "default_reinit")]
    pub reinit: f64,
    /// Where fresh chains start.
    #[serde(default = "uniform_init")]
    pub init: BufferInit,
    /// Samples per training step (default: the batch size).
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// The chain, [0, 1] units (default: JEM's 20 steps, alpha 0.25, sigma 0.005, no clamp).
    #[serde(default)]
    pub sgld: SgldConfig,
    /// JEM's class-conditional buffer (one part per class); required by the objectives'
    /// `joint_weight` (`p(x, y)`) term.
    #[serde(default)]
    pub class_conditional: bool,
    /// How batch norm treats the samples in the loss's forward pass.
    #[serde(default)]
    pub batch_norm: SampleBatchNorm,
}

/// How batch norm treats SGLD samples in the loss's forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SampleBatchNorm {
    /// Normalise them with the running statistics and leave those untouched (default): the
    /// running statistics, which every attack and validation uses, stay those of the data.
    #[default]
    RunningStatistics,
    /// Normalise them with their own batch statistics and let those flow into the running
    /// statistics (what JEM's PyTorch code does with a batch-norm network).
    UpdateRunning,
}

fn default_buffer() -> usize {
    10_000
}
fn default_reinit() -> f64 {
    0.05
}
fn uniform_init() -> BufferInit {
    BufferInit::Uniform
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self {
            buffer_size: default_buffer(),
            reinit: default_reinit(),
            init: uniform_init(),
            batch_size: None,
            sgld: SgldConfig::default(),
            class_conditional: false,
            batch_norm: SampleBatchNorm::default(),
        }
    }
}

/// The optimiser.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// SGD with momentum (PyTorch semantics: no dampening) and coupled weight decay.
    Sgd {
        /// Momentum (0.9).
        #[serde(default = "default_momentum")]
        momentum: f64,
        /// L2 weight decay (5e-4).
        #[serde(default = "default_weight_decay")]
        weight_decay: f64,
        /// Nesterov momentum.
        #[serde(default)]
        nesterov: bool,
    },
    /// Adam.
    Adam {
        /// beta1 (0.9).
        #[serde(default = "default_beta1")]
        beta1: f64,
        /// beta2 (0.999).
        #[serde(default = "default_beta2")]
        beta2: f64,
        /// L2 weight decay (0).
        #[serde(default)]
        weight_decay: f64,
    },
}

fn default_momentum() -> f64 {
    0.9
}
fn default_weight_decay() -> f64 {
    5e-4
}
fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}

/// The learning rate over training.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// The base learning rate.
    pub lr: f64,
    /// Its shape.
    #[serde(default)]
    pub decay: Decay,
    /// Linear warm-up from 0 over this many epochs (fractions allowed).
    #[serde(default)]
    pub warmup_epochs: f64,
}

/// How the learning rate decays.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Decay {
    /// Constant.
    #[default]
    Constant,
    /// Multiplied by `factor` at each milestone epoch.
    Piecewise {
        /// Epochs at which the rate drops.
        milestones: Vec<usize>,
        /// The factor (0.1).
        factor: f64,
    },
    /// Cosine from the base rate to 0 over the run.
    Cosine,
}

impl ScheduleConfig {
    /// The learning rate at global step `step` of a run of `epochs` epochs of `steps_per_epoch`.
    pub fn lr_at(&self, step: usize, steps_per_epoch: usize, epochs: usize) -> f64 {
        let per_epoch = steps_per_epoch.max(1) as f64;
        let epoch = step as f64 / per_epoch;
        let decayed = match &self.decay {
            Decay::Constant => self.lr,
            Decay::Piecewise { milestones, factor } => {
                let passed = milestones.iter().filter(|&&m| epoch >= m as f64).count();
                self.lr * factor.powi(passed as i32)
            }
            Decay::Cosine => {
                let progress = (epoch / epochs.max(1) as f64).min(1.0);
                self.lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        };
        let warmup_steps = self.warmup_epochs * per_epoch;
        if warmup_steps > 0.0 && (step as f64) < warmup_steps {
            decayed * (step as f64 + 1.0) / warmup_steps
        } else {
            decayed
        }
    }
}

/// The loop.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoopConfig {
    /// Epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch_size: usize,
    /// The seed every random choice derives from.
    #[serde(default)]
    pub seed: u64,
    /// Write the `last` checkpoint every this many steps (and at every epoch's end).
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
    /// Log step metrics every this many steps.
    #[serde(default = "default_log_every")]
    pub log_every: usize,
}

fn default_checkpoint_every() -> usize {
    200
}
fn default_log_every() -> usize {
    20
}

/// End-of-epoch evaluation on the validation split.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationConfig {
    /// Validation points used (at most the split's size).
    #[serde(default = "default_eval_points")]
    pub points: usize,
    /// PGD steps of the robust-accuracy check that picks the best checkpoint.
    #[serde(default = "default_eval_steps")]
    pub pgd_steps: usize,
    /// Its eps (default: the objective's training eps, else 8/255).
    #[serde(default)]
    pub eps: Option<f64>,
    /// What picks the best checkpoint: `robust` (validation PGD accuracy: robust accuracy falls
    /// late in adversarial training) or `clean` (validation accuracy: for standard training,
    /// whose PGD accuracy is near zero and says nothing).
    #[serde(default)]
    pub select_by: Selection,
}

fn default_eval_points() -> usize {
    1000
}
fn default_eval_steps() -> usize {
    10
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        Self {
            points: default_eval_points(),
            pgd_steps: default_eval_steps(),
            eps: None,
            select_by: Selection::Robust,
        }
    }
}

/// The divergence guard: a non-finite loss or energy, or an energy beyond `energy_bound`, rolls
/// back to the last good checkpoint and multiplies the learning rate by `lr_factor`, at most
/// `max_rollbacks` times.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    /// Largest |mean energy| tolerated.
    #[serde(default = "default_energy_bound")]
    pub energy_bound: f64,
    /// Learning-rate factor after a rollback.
    #[serde(default = "default_lr_factor")]
    pub lr_factor: f64,
    /// Rollbacks before giving up.
    #[serde(default = "default_max_rollbacks")]
    pub max_rollbacks: usize,
}

fn default_energy_bound() -> f64 {
    1e4
}
fn default_lr_factor() -> f64 {
    0.5
}
fn default_max_rollbacks() -> usize {
    3
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            energy_bound: default_energy_bound(),
            lr_factor: default_lr_factor(),
            max_rollbacks: default_max_rollbacks(),
        }
    }
}

impl TrainConfig {
    /// Parses TOML text; `origin` names the source in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, TrainError> {
        let config: Self = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_string();
            let line = e
                .span()
                .map(|span| {
                    format!(
                        " at line {}",
                        text[..span.start.min(text.len())].matches('\n').count() + 1
                    )
                })
                .unwrap_or_default();
            TrainError::Config(format!("{origin}{line}: {message}"))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a TOML file.
    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The TOML text of this configuration.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a training config serialises")
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(m));
        self.objective.validate()?;
        self.sampler
            .sgld
            .validate()
            .map_err(|e| TrainError::Config(e.to_string()))?;
        if self.training.epochs == 0 || self.training.batch_size == 0 {
            return bad("training.epochs and training.batch_size must be ≥ 1".into());
        }
        if !(self.schedule.lr.is_finite() && self.schedule.lr > 0.0) {
            return bad(format!("schedule.lr must be > 0, got {}", self.schedule.lr));
        }
        if !(self.guard.lr_factor > 0.0 && self.guard.lr_factor < 1.0) {
            return bad(format!(
                "guard.lr_factor must be in (0, 1), got {}",
                self.guard.lr_factor
            ));
        }
        if self.data.validation == 0 {
            return bad("data.validation must be ≥ 1 (the best checkpoint is chosen on it)".into());
        }
        if self.objective.loss().needs_joint_samples() && !self.sampler.class_conditional {
            return bad(
                "objective.joint_weight > 0 needs JEM's class-conditional buffer: set sampler.class_conditional = true".into(),
            );
        }
        if self.objective.loss().needs_samples() && !(0.0..=1.0).contains(&self.sampler.reinit) {
            return bad(format!(
                "sampler.reinit must be in [0, 1], got {}",
                self.sampler.reinit
            ));
        }
        self.data.named()?;
        Ok(())
    }

    /// The model spec for data of `classes` classes and images of `shape`.
    pub fn model_spec(&self, classes: usize, shape: ImageShape) -> ModelSpec {
        ModelSpec {
            arch: self.model.arch.clone(),
            num_classes: classes,
            input_shape: [shape.channels, shape.height, shape.width],
            normalization: self.model.normalization.clone(),
            dropout: self.model.dropout,
        }
    }

    /// The eps of the validation PGD check.
    pub fn evaluation_eps(&self) -> f64 {
        self.evaluation
            .eps
            .or_else(|| self.objective.inner_attack().map(|(attack, _)| attack.eps))
            .unwrap_or(8.0 / 255.0)
    }

    /// Lines of `self` that differ from `other` (TOML, `-` ours, `+` theirs).
    pub fn difference(&self, other: &Self) -> Vec<String> {
        let (ours, theirs) = (self.to_toml(), other.to_toml());
        let ours: Vec<&str> = ours.lines().collect();
        let theirs: Vec<&str> = theirs.lines().collect();
        let mut lines: Vec<String> = ours
            .iter()
            .filter(|l| !theirs.contains(l))
            .map(|l| format!("- {l}"))
            .collect();
        lines.extend(
            theirs
                .iter()
                .filter(|l| !ours.contains(l))
                .map(|l| format!("+ {l}")),
        );
        lines
    }
}
