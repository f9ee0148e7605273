//! The loop that turns an objective into a trained model, the same at smoke scale on a CPU and
//! at the paper's scale on a GPU. One step: a batch (augmented deterministically), the
//! objective's extra points (inner attack, SGLD samples) on the inference-mode snapshot, the
//! loss in training mode, a guard against divergence, an optimiser step. Every random draw comes
//! from the seed and the step's position, so a resumed run continues exactly.
//!
//! This file holds the loop ([`Trainer::run`]) and how a run is made or resumed; beside it,
//! `step` (one step), `epoch_end` (validation, the best and final weights), `checkpoints`
//! (saving, restoring, the guard's rollback) and `device_group` (data parallelism).

use crate::checkpoint::{self, RunState};
use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::metrics::{MetricsLog, Record};
use crate::optimizer;
use crate::validation::Validation;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use jeat_core::rng;
use jeat_data::{ImageSet, epoch_order};
use jeat_models::checkpoint::load_weights;
use jeat_models::{Model, ModelSpec};
use jeat_sampling::{ClassGaussians, ReplayBuffer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

mod checkpoints;
mod device_group;
mod epoch_end;
mod step;

/// What the loop reports as it goes.
#[derive(Debug, Clone)]
pub enum Event {
    /// The loop starts (or resumes at `from_step`).
    Started {
        /// Steps in the whole run.
        total_steps: usize,
        /// Steps already done.
        from_step: usize,
        /// The training and validation sets' names and sizes.
        data: String,
    },
    /// A step was logged.
    Step {
        /// Steps done.
        global_step: usize,
        /// The loss.
        loss: f64,
        /// The learning rate.
        lr: f64,
    },
    /// An epoch ended.
    Epoch {
        /// Its index (0-based).
        epoch: usize,
        /// Validation results.
        validation: Validation,
        /// Whether it is the best so far.
        best: bool,
    },
    /// The guard rolled back.
    Rollback {
        /// Why.
        reason: String,
        /// The step training continues from.
        to_step: usize,
        /// The new learning-rate multiplier.
        lr_scale: f64,
    },
}

/// Where a run ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The run's state.
    pub state: RunState,
    /// The best checkpoint (highest validation PGD or clean accuracy, as configured), if an
    /// epoch ended.
    pub best: Option<PathBuf>,
    /// The final weights, if the run finished.
    pub last: Option<PathBuf>,
}

/// A training run in a directory.
pub struct Trainer {
    config: TrainConfig,
    run: PathBuf,
    device: Device,
    plain: Device,
    parallel: Vec<Device>,
    spec: ModelSpec,
    model: Option<Model>,
    optimizer: ModuleOptimizer,
    buffer: Option<ReplayBuffer>,
    seeds: Option<ClassGaussians>,
    train: ImageSet,
    validation: ImageSet,
    state: RunState,
    log: MetricsLog,
    fault_at: Option<usize>,
    stop_after: Option<usize>,
    stop_request: Option<Arc<AtomicBool>>,
}

enum StepResult {
    Done(BTreeMap<String, f64>, f64),
    Diverged(String),
}

impl Trainer {
    /// Starts a new run of `config` in `run` on `device` (a plain device; training adds autodiff).
    /// A directory that already holds a run is refused unless `overwrite`.
    pub fn create(
        config: TrainConfig,
        run: &Path,
        device: &Device,
        overwrite: bool,
    ) -> Result<Self, TrainError> {
        config.validate()?;
        let config_path = run.join("config.toml");
        if config_path.exists() {
            if !overwrite {
                let finished = checkpoint::exists(run) && checkpoint_finished(run);
                return Err(TrainError::RunDirectory(format!(
                    "{} already holds a{} run; resume it with --resume, or pass --overwrite to replace it",
                    run.display(),
                    if finished {
                        " finished"
                    } else {
                        "n unfinished"
                    }
                )));
            }
            for entry in [
                "checkpoints",
                "metrics.jsonl",
                "best.safetensors",
                "best.json",
                "final.safetensors",
                "curves.png",
                "steps.csv",
                "epochs.csv",
                "config.toml",
            ] {
                let path = run.join(entry);
                let _ = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
            }
        }
        std::fs::create_dir_all(run).map_err(|e| TrainError::io(run, e))?;
        let mut trainer = Self::build(config, run, device)?;
        if let Some(pretrained) = trainer.config.objective.pretrained().cloned() {
            let (model, _) =
                load_weights(trainer.model.take().expect("model present"), &pretrained)?;
            trainer.model = Some(model);
        }
        std::fs::write(&config_path, trainer.config.to_toml())
            .map_err(|e| TrainError::io(&config_path, e))?;
        trainer.checkpoint()?;
        Ok(trainer)
    }

    /// Continues the run in `run` from its last checkpoint. If `given` is a configuration, it
    /// must equal the run's own.
    pub fn resume(
        run: &Path,
        device: &Device,
        given: Option<&TrainConfig>,
    ) -> Result<Self, TrainError> {
        let config = TrainConfig::load(&run.join("config.toml")).map_err(|e| {
            TrainError::RunDirectory(format!("{}: not a resumable run ({e})", run.display()))
        })?;
        if let Some(given) = given {
            let difference = config.difference(given);
            if !difference.is_empty() {
                return Err(TrainError::RunDirectory(format!(
                    "{} was started with another configuration; refusing to resume (- the run's, + given): {}",
                    run.display(),
                    difference.join("; ")
                )));
            }
        }
        let mut trainer = Self::build(config, run, device)?;
        trainer.restore()?;
        trainer.log.truncate_after(trainer.state.global_step)?;
        Ok(trainer)
    }

    fn build(config: TrainConfig, run: &Path, device: &Device) -> Result<Self, TrainError> {
        let plain = device.clone().without_autodiff();
        let autodiff = plain.clone().autodiff();
        let seed = config.training.seed;
        let (train, validation) = config.data.training_sets(seed)?;
        let spec = config.model_spec(train.num_classes(), train.shape());
        let model = spec.build_seeded(&autodiff, seed)?;
        let optimizer = optimizer::build(&config.optimizer);
        let needs_samples = config.objective.loss().needs_samples();
        let seeds = match (needs_samples, config.sampler.init) {
            (true, jeat_sampling::BufferInit::ClassGaussian) => {
                Some(ClassGaussians::fit(&train, 1e-4)?)
            }
            _ => None,
        };
        let buffer = match needs_samples {
            true => {
                let shape = [
                    train.shape().channels,
                    train.shape().height,
                    train.shape().width,
                ];
                Some(ReplayBuffer::new(
                    config.sampler.buffer_size,
                    shape,
                    config.sampler.reinit,
                    config.sampler.init,
                    config
                        .sampler
                        .class_conditional
                        .then(|| train.num_classes()),
                    seeds.as_ref(),
                    rng::derive(seed, &[0xb0f]),
                )?)
            }
            false => None,
        };
        Ok(Self {
            config,
            run: run.to_path_buf(),
            device: autodiff,
            plain,
            parallel: Vec::new(),
            spec,
            model: Some(model),
            optimizer,
            buffer,
            seeds,
            train,
            validation,
            state: RunState::new(),
            log: MetricsLog::new(run),
            fault_at: None,
            stop_after: None,
            stop_request: None,
        })
    }

    /// Treats the loss of global step `step` as non-finite (to exercise the guard). A test hook:
    /// only with the `testing` feature.
    #[cfg(feature = "testing")]
    pub fn inject_fault_at(&mut self, step: usize) {
        self.fault_at = Some(step);
    }

    /// Stops (without finishing) once `steps` steps are done, as if the process were killed
    /// right after its last checkpoint. A test hook: only with the `testing` feature.
    #[cfg(feature = "testing")]
    pub fn stop_after(&mut self, steps: usize) {
        self.stop_after = Some(steps);
    }

    /// Stops at the next step once `request` is set (by a signal handler, a dashboard's quit
    /// key), after writing a checkpoint there: `Trainer::resume` continues from that very step.
    pub fn stop_on_request(&mut self, request: Arc<AtomicBool>) {
        self.stop_request = Some(request);
    }

    /// The run's state.
    pub fn state(&self) -> &RunState {
        &self.state
    }

    /// The model being trained.
    pub fn model(&self) -> &Model {
        self.model.as_ref().expect("model present")
    }

    /// The model's spec.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The resolved configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Images per step: `training.batch_size`, or the whole training set where it is smaller (one
    /// partial batch per epoch). Otherwise an epoch's last partial batch is dropped.
    fn batch_size(&self) -> usize {
        self.config.training.batch_size.min(self.train.len()).max(1)
    }

    fn steps_per_epoch(&self) -> usize {
        (self.train.len() / self.batch_size()).max(1)
    }

    /// Trains until the configured epochs are done (or [`Trainer::stop_after`], or a stop
    /// request: [`Trainer::stop_on_request`]).
    pub fn run(&mut self, on_event: &mut dyn FnMut(Event)) -> Result<Outcome, TrainError> {
        let steps_per_epoch = self.steps_per_epoch();
        let epochs = self.config.training.epochs;
        on_event(Event::Started {
            total_steps: epochs * steps_per_epoch,
            from_step: self.state.global_step,
            data: format!(
                "{} ({} images), validation {} ({} images){}",
                self.train.name(),
                self.train.len(),
                self.validation.name(),
                self.validation.len(),
                match self.batch_size() < self.config.training.batch_size {
                    true => format!(
                        "; batches of {} (all the training images: fewer than training.batch_size {})",
                        self.batch_size(),
                        self.config.training.batch_size
                    ),
                    false => String::new(),
                }
            ),
        });
        let mut order: Option<(usize, Vec<usize>)> = None;
        let mut window = (Instant::now(), 0usize);
        let mut epoch_started = Instant::now();
        while self.state.epoch < epochs {
            if self
                .stop_after
                .is_some_and(|limit| self.state.global_step >= limit)
            {
                return Ok(self.outcome());
            }
            let epoch = self.state.epoch;
            if order.as_ref().is_none_or(|(e, _)| *e != epoch) {
                order = Some((
                    epoch,
                    epoch_order(self.train.len(), self.config.training.seed, epoch as u64),
                ));
            }
            if self.state.step_in_epoch < steps_per_epoch {
                if self
                    .stop_request
                    .as_ref()
                    .is_some_and(|request| request.load(Ordering::Relaxed))
                {
                    self.checkpoint()?;
                    return Ok(self.outcome());
                }
                let indices = {
                    let (_, order) = order.as_ref().expect("set above");
                    let bs = self.batch_size();
                    order[self.state.step_in_epoch * bs..(self.state.step_in_epoch + 1) * bs]
                        .to_vec()
                };
                let lr =
                    self.config
                        .schedule
                        .lr_at(self.state.global_step, steps_per_epoch, epochs)
                        * self.state.lr_scale;
                match self.step(&indices, lr)? {
                    StepResult::Diverged(reason) => {
                        self.rollback(reason, on_event)?;
                        continue;
                    }
                    StepResult::Done(values, loss) => {
                        self.state.step_in_epoch += 1;
                        self.state.global_step += 1;
                        window.1 += indices.len();
                        if self
                            .state
                            .global_step
                            .is_multiple_of(self.config.training.log_every.max(1))
                        {
                            let seconds = window.0.elapsed().as_secs_f64().max(1e-9);
                            self.log.append(&Record::Step {
                                epoch,
                                global_step: self.state.global_step,
                                lr,
                                values,
                                images_per_second: window.1 as f64 / seconds,
                            })?;
                            window = (Instant::now(), 0);
                        }
                        on_event(Event::Step {
                            global_step: self.state.global_step,
                            loss,
                            lr,
                        });
                    }
                }
                if self
                    .state
                    .global_step
                    .is_multiple_of(self.config.training.checkpoint_every.max(1))
                    && self.state.step_in_epoch < steps_per_epoch
                {
                    self.checkpoint()?;
                }
                continue;
            }
            // End of the epoch: validate, keep the best, checkpoint.
            self.end_epoch(epoch_started, on_event)?;
            epoch_started = Instant::now();
        }
        let title = format!("{} on {}", self.config.objective.name(), self.train.name());
        self.log.plot(&title)?;
        self.log.write_csv()?;
        Ok(self.outcome())
    }
}

fn checkpoint_finished(run: &Path) -> bool {
    std::fs::read(checkpoint::last_dir(run).join("state.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<RunState>(&bytes).ok())
        .is_some_and(|s| s.finished)
}
