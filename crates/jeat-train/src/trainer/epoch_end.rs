//! The end of an epoch: validation (clean and PGD accuracy, the mean energy of the replay
//! buffer's samples), the best checkpoint by the configured selection, the epoch's log record,
//! the final weights after the last epoch, and a checkpoint.

use super::{Event, Trainer};
use crate::config::Selection;
use crate::error::TrainError;
use crate::metrics::Record;
use crate::validation::validate;
use burn::prelude::*;
use jeat_core::rng;
use jeat_energy::marginal_energy;
use jeat_models::checkpoint::save_model;
use std::time::Instant;

impl Trainer {
    /// Ends the current epoch (begun at `epoch_started`) and moves the state to the next.
    pub(super) fn end_epoch(
        &mut self,
        epoch_started: Instant,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), TrainError> {
        let epoch = self.state.epoch;
        let valid = self.model().valid();
        let validation = validate(
            &valid,
            &self.validation,
            self.config.evaluation.points,
            self.config.evaluation_eps(),
            self.config.evaluation.pgd_steps,
            rng::derive(self.config.training.seed, &[epoch as u64, 0xe7a1]),
            &self.plain,
        )?;
        let energy_samples = self.buffer.as_ref().map(|buffer| {
            let slots: Vec<usize> = (0..buffer.len().min(256)).collect();
            f64::from(
                marginal_energy(valid.forward(buffer.get(&slots, &self.plain)))
                    .mean()
                    .into_scalar::<f32>(),
            )
        });
        let score = match self.config.evaluation.select_by {
            Selection::Robust => validation.pgd_accuracy,
            Selection::Clean => validation.clean_accuracy,
        };
        let best = self.state.best.is_none_or(|(b, _)| score > b);
        if best {
            self.state.best = Some((score, epoch));
            save_model(&valid, &self.spec, &self.run.join("best.safetensors"))?;
            let summary = serde_json::json!({ "epoch": epoch, "validation": validation });
            std::fs::write(self.run.join("best.json"), summary.to_string())
                .map_err(|e| TrainError::io(&self.run, e))?;
        }
        self.log.append(&Record::Epoch {
            epoch,
            global_step: self.state.global_step,
            validation: validation.clone(),
            energy_samples,
            seconds: epoch_started.elapsed().as_secs_f64(),
        })?;
        on_event(Event::Epoch {
            epoch,
            validation,
            best,
        });
        self.state.epoch += 1;
        self.state.step_in_epoch = 0;
        if self.state.epoch == self.config.training.epochs {
            save_model(&valid, &self.spec, &self.run.join("final.safetensors"))?;
            self.state.finished = true;
        }
        self.checkpoint()
    }
}
