//! The device group of a data-parallel run: which devices share each step's batch.

use super::Trainer;
use crate::error::TrainError;
use crate::parallel;
use burn::prelude::*;

impl Trainer {
    /// Splits every step's batch across `devices` (plain devices, the first the one this run was
    /// made on): each runs its share of the inner attack, SGLD and loss on its own copy of the
    /// model, and the gradients are summed on the first for one optimiser step (see
    /// [`crate::parallel`]). Returns how the batch is split, in words.
    pub fn data_parallel(&mut self, devices: &[Device]) -> Result<String, TrainError> {
        let Some((main, others)) = devices.split_first() else {
            return Err(TrainError::Config(
                "data parallelism needs at least one device".into(),
            ));
        };
        if main.clone().without_autodiff() != self.plain {
            return Err(TrainError::Config(format!(
                "the first of the data-parallel devices must be the run's own ({:?}), not {main:?}",
                self.plain
            )));
        }
        let batch = self.batch_size();
        if batch < devices.len() {
            return Err(TrainError::Config(format!(
                "training.batch_size {batch} cannot be split over {} devices: use at least one image per device",
                devices.len()
            )));
        }
        self.parallel = others
            .iter()
            .map(|d| d.clone().without_autodiff())
            .collect();
        Ok(parallel::describe_split(batch, devices.len()))
    }
}
