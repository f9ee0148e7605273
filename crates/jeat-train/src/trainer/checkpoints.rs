//! The run's checkpoints: writing one, restoring the last, what a finished or stopped run
//! leaves ([`Outcome`]), and the divergence guard's rollback to the last checkpoint at a lower
//! learning rate.

use super::{Event, Outcome, Trainer};
use crate::checkpoint;
use crate::error::TrainError;
use crate::metrics::Record;
use crate::optimizer;

impl Trainer {
    pub(super) fn checkpoint(&self) -> Result<(), TrainError> {
        checkpoint::save(
            &self.run,
            self.model(),
            &self.optimizer,
            self.buffer.as_ref(),
            &self.state,
        )
    }

    pub(super) fn restore(&mut self) -> Result<(), TrainError> {
        let fresh = self
            .spec
            .build_seeded(&self.device, self.config.training.seed)?;
        let restored =
            checkpoint::load(&self.run, fresh, optimizer::build(&self.config.optimizer))?;
        self.model = Some(restored.model);
        self.optimizer = restored.optimizer;
        if restored.buffer.is_some() {
            self.buffer = restored.buffer;
        }
        self.state = restored.state;
        Ok(())
    }

    pub(super) fn outcome(&self) -> Outcome {
        let exists = |name: &str| Some(self.run.join(name)).filter(|p| p.is_file());
        Outcome {
            state: self.state.clone(),
            best: exists("best.safetensors"),
            last: exists("final.safetensors"),
        }
    }

    pub(super) fn rollback(
        &mut self,
        reason: String,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), TrainError> {
        let rollbacks = self.state.rollbacks + 1;
        let lr_scale = self.state.lr_scale * self.config.guard.lr_factor;
        let at = self.state.global_step;
        if rollbacks > self.config.guard.max_rollbacks {
            return Err(TrainError::Diverged(format!(
                "{reason}; already rolled back {} time(s), the limit (learning rate now ×{:.3}); lower schedule.lr, add objective.energy_l2, or raise guard.max_rollbacks",
                self.state.rollbacks, self.state.lr_scale
            )));
        }
        self.restore()?;
        self.state.rollbacks = rollbacks;
        self.state.lr_scale = lr_scale;
        self.log.truncate_after(self.state.global_step)?;
        self.log.append(&Record::Rollback {
            global_step: at,
            reason: reason.clone(),
            lr_scale,
        })?;
        self.checkpoint()?;
        on_event(Event::Rollback {
            reason,
            to_step: self.state.global_step,
            lr_scale,
        });
        Ok(())
    }
}
