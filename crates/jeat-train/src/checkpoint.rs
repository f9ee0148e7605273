//! The training state on disk, written atomically: `checkpoints/last/` holds the model
//! (burnpack, parameter ids kept for the optimiser), the optimiser state, the replay buffer and
//! `state.json`. A new checkpoint is written to `last.tmp/` and swapped in by renames, so a crash
//! or a full disk at any point leaves a complete previous checkpoint.

use crate::error::TrainError;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::optim::OptimizerRecord;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use jeat_models::Model;
use jeat_sampling::ReplayBuffer;
use std::path::{Path, PathBuf};

/// Where a run stands: enough, with the files beside it, to continue exactly.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunState {
    /// The epoch in progress (0-based).
    pub epoch: usize,
    /// Steps of that epoch already done.
    pub step_in_epoch: usize,
    /// Steps done in all.
    pub global_step: usize,
    /// Multiplier of the scheduled learning rate (lowered by rollbacks).
    pub lr_scale: f64,
    /// Rollbacks so far.
    pub rollbacks: usize,
    /// The best validation accuracy (%, PGD or clean as configured) so far and its epoch.
    pub best: Option<(f64, usize)>,
    /// Whether the run completed.
    pub finished: bool,
}

impl RunState {
    /// The state of a run that has not started.
    pub fn new() -> Self {
        Self {
            epoch: 0,
            step_in_epoch: 0,
            global_step: 0,
            lr_scale: 1.0,
            rollbacks: 0,
            best: None,
            finished: false,
        }
    }
}

impl Default for RunState {
    fn default() -> Self {
        Self::new()
    }
}

/// The directory of the last checkpoint.
pub fn last_dir(run: &Path) -> PathBuf {
    run.join("checkpoints").join("last")
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    std::fs::write(path, bytes)
        .map_err(|e| TrainError::io(path, format!("cannot write checkpoint file: {e}")))
}

fn read(path: &Path) -> Result<Vec<u8>, TrainError> {
    std::fs::read(path)
        .map_err(|e| TrainError::io(path, format!("cannot read checkpoint file: {e}")))
}

/// Writes a complete checkpoint; the previous one stays intact until the new one is whole.
pub fn save(
    run: &Path,
    model: &Model,
    optimizer: &ModuleOptimizer,
    buffer: Option<&ReplayBuffer>,
    state: &RunState,
) -> Result<(), TrainError> {
    let last = last_dir(run);
    let parent = last.parent().expect("last has a parent");
    let tmp = parent.join("last.tmp");
    let old = parent.join("last.old");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    let model_bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| TrainError::io(&tmp, e))?;
    write(&tmp.join("model.bpk"), &model_bytes)?;
    let optimizer_bytes = optimizer
        .to_record()
        .into_bytes()
        .map_err(|e| TrainError::io(&tmp, e))?;
    write(&tmp.join("optimizer.bpk"), &optimizer_bytes)?;
    if let Some(buffer) = buffer {
        buffer.save(&tmp.join("buffer.safetensors"))?;
    }
    write(
        &tmp.join("state.json"),
        serde_json::to_string_pretty(state)
            .expect("state serialises")
            .as_bytes(),
    )?;
    // Swap: last -> last.old, last.tmp -> last, remove last.old.
    let _ = std::fs::remove_dir_all(&old);
    if last.exists() {
        std::fs::rename(&last, &old).map_err(|e| TrainError::io(&last, e))?;
    }
    std::fs::rename(&tmp, &last).map_err(|e| TrainError::io(&last, e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// The checkpoint directory to resume from: `last`, or `last.old` if a crash came between the
/// two renames of [`save`].
fn resumable_dir(run: &Path) -> Option<PathBuf> {
    let last = last_dir(run);
    if last.join("state.json").is_file() {
        return Some(last);
    }
    let old = last.with_file_name("last.old");
    old.join("state.json").is_file().then_some(old)
}

/// Whether `run` holds a checkpoint.
pub fn exists(run: &Path) -> bool {
    resumable_dir(run).is_some()
}

/// What a checkpoint holds.
pub struct Restored {
    /// The model, loaded into the given fresh model.
    pub model: Model,
    /// The optimiser, loaded into the given fresh optimiser.
    pub optimizer: ModuleOptimizer,
    /// The replay buffer, if the run has one.
    pub buffer: Option<ReplayBuffer>,
    /// The run state.
    pub state: RunState,
}

/// Reads the last checkpoint of `run` into `fresh_model` and `fresh_optimizer`.
pub fn load(
    run: &Path,
    fresh_model: Model,
    fresh_optimizer: ModuleOptimizer,
) -> Result<Restored, TrainError> {
    let dir = resumable_dir(run).ok_or_else(|| {
        TrainError::RunDirectory(format!("{}: no checkpoint to resume from", run.display()))
    })?;
    let state_path = dir.join("state.json");
    let state: RunState = serde_json::from_slice(&read(&state_path)?)
        .map_err(|e| TrainError::io(&state_path, format!("corrupt run state: {e}")))?;
    let model_path = dir.join("model.bpk");
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(read(&model_path)?))
        .map_err(|e| TrainError::io(&model_path, e))?;
    let model = fresh_model.try_load_record(record).map_err(|e| {
        TrainError::io(
            &model_path,
            format!("checkpoint does not fit the model: {e}"),
        )
    })?;
    let optimizer_path = dir.join("optimizer.bpk");
    let record = OptimizerRecord::from_bytes(Bytes::from_bytes_vec(read(&optimizer_path)?))
        .map_err(|e| TrainError::io(&optimizer_path, e))?;
    let optimizer = fresh_optimizer.load_record(record);
    let buffer_path = dir.join("buffer.safetensors");
    let buffer = match buffer_path.is_file() {
        true => Some(ReplayBuffer::load(&buffer_path)?),
        false => None,
    };
    Ok(Restored {
        model,
        optimizer,
        buffer,
        state,
    })
}
