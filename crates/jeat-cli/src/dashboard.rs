//! `jeat train --dashboard`: live progress in burn-train's terminal dashboard (the loss and the
//! learning rate per step, the validation accuracies and mean energies per epoch, progress and
//! its ETA, the number of rollbacks). Compiled with the `dashboard` feature; the progress
//! bar and the log lines stay the default, and what pipes and CI get. The dashboard's quit key
//! asks the trainer to stop: it checkpoints at the next step, and `jeat train --resume`
//! continues from there.

use anyhow::{Result, bail};
use burn_train::Interrupter;
use burn_train::metric::{
    MetricAttributes, MetricDefinition, MetricEntry, MetricId, NumericAttributes, NumericEntry,
    SerializedEntry,
};
use burn_train::renderer::tui::TuiMetricsRendererWrapper;
use burn_train::renderer::{MetricState, MetricsRenderer};
use jeat_train::Event;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A dashboard metric: its name, unit and whether larger is better.
struct Metric {
    name: &'static str,
    unit: Option<&'static str>,
    higher_is_better: bool,
}

const LOSS: Metric = Metric {
    name: "Loss",
    unit: None,
    higher_is_better: false,
};
const LEARNING_RATE: Metric = Metric {
    name: "Learning rate",
    unit: None,
    higher_is_better: false,
};
const CLEAN_ACCURACY: Metric = Metric {
    name: "Clean accuracy",
    unit: Some("%"),
    higher_is_better: true,
};
const PGD_ACCURACY: Metric = Metric {
    name: "PGD accuracy",
    unit: Some("%"),
    higher_is_better: true,
};
const ENERGY_CLEAN: Metric = Metric {
    name: "E(x) clean",
    unit: None,
    higher_is_better: false,
};
const ENERGY_PGD: Metric = Metric {
    name: "E(x) PGD",
    unit: None,
    higher_is_better: false,
};
const METRICS: [&Metric; 6] = [
    &LOSS,
    &LEARNING_RATE,
    &CLEAN_ACCURACY,
    &PGD_ACCURACY,
    &ENERGY_CLEAN,
    &ENERGY_PGD,
];

impl Metric {
    fn id(&self) -> MetricId {
        MetricId::new(Arc::new(self.name.to_string()))
    }

    fn definition(&self) -> MetricDefinition {
        MetricDefinition {
            metric_id: self.id(),
            name: Arc::new(self.name.to_string()),
            description: None,
            attributes: MetricAttributes::Numeric(NumericAttributes {
                unit: self.unit.map(str::to_string),
                higher_is_better: self.higher_is_better,
            }),
        }
    }

    /// The value as a renderer entry: formatted for the text panel, numeric for the plots.
    fn state(&self, value: f64) -> MetricState {
        let formatted = match self.unit {
            Some(unit) => format!("{value:.2} {unit}"),
            None if value != 0.0 && value.abs() < 1e-2 => format!("{value:.2e}"),
            None => format!("{value:.4}"),
        };
        let entry = MetricEntry::new(
            self.id(),
            SerializedEntry::new(formatted, value.to_string()),
        );
        MetricState::Numeric(entry, Some(NumericEntry::Value(value)))
    }
}

/// Training events shown on a burn-train renderer `R` (the terminal dashboard, or a recording
/// one in tests).
pub struct Dashboard<R> {
    renderer: R,
    epochs: usize,
    steps_per_epoch: usize,
    /// Whether a training split is open on the renderer.
    in_split: bool,
}

/// The terminal dashboard and the trainer's stop request its quit key sets.
pub type Terminal = Dashboard<TuiMetricsRendererWrapper>;

impl Terminal {
    /// Opens the dashboard for a run of `epochs` epochs, and the flag the trainer is to stop on
    /// ([`jeat_train::Trainer::stop_on_request`]). Refused where stdout is not a terminal.
    pub fn open(epochs: usize) -> Result<(Self, Arc<AtomicBool>, Interrupter)> {
        require_terminal()?;
        let interrupter = Interrupter::new();
        let renderer = TuiMetricsRendererWrapper::new(interrupter.clone(), None);
        Ok((
            Dashboard::new(renderer, epochs),
            Arc::new(AtomicBool::new(false)),
            interrupter,
        ))
    }
}

/// Refuses where stdout is not a terminal (the dashboard draws there).
pub fn require_terminal() -> Result<()> {
    if !std::io::stdout().is_terminal() {
        bail!(
            "--dashboard needs an interactive terminal (stdout is a pipe or a file); without \
             it training logs plain lines"
        );
    }
    Ok(())
}

/// Forwards the dashboard's stop (its quit key) to the trainer's stop request.
pub fn forward_stop(interrupter: &Interrupter, request: &AtomicBool) {
    if interrupter.should_stop() {
        request.store(true, Ordering::Relaxed);
    }
}

impl<R: MetricsRenderer> Dashboard<R> {
    /// Registers jeat's metrics on `renderer` for a run of `epochs` epochs.
    pub fn new(mut renderer: R, epochs: usize) -> Self {
        for metric in METRICS {
            renderer.register_metric(metric.definition());
        }
        Self {
            renderer,
            epochs: epochs.max(1),
            steps_per_epoch: 1,
            in_split: false,
        }
    }

    /// Shows `event`.
    pub fn show(&mut self, event: &Event) {
        match event {
            Event::Started {
                total_steps,
                from_step,
                data,
            } => {
                self.steps_per_epoch = (total_steps / self.epochs).max(1);
                let epoch = from_step / self.steps_per_epoch;
                self.renderer.start(
                    self.epochs,
                    epoch,
                    Some(*total_steps),
                    Some(&format!("training on {data}")),
                );
                self.renderer.update_epoch(epoch);
            }
            Event::Step {
                global_step,
                loss,
                lr,
            } => {
                if !self.in_split {
                    self.renderer.start_split("train", self.steps_per_epoch);
                    self.in_split = true;
                }
                self.renderer.update_train(LOSS.state(*loss));
                self.renderer.update_train(LEARNING_RATE.state(*lr));
                let in_epoch = (global_step - 1) % self.steps_per_epoch + 1;
                self.renderer.update_split(in_epoch);
            }
            Event::Epoch {
                epoch, validation, ..
            } => {
                if self.in_split {
                    self.renderer.end_split();
                    self.in_split = false;
                }
                self.renderer.start_split("valid", 1);
                for (metric, value) in [
                    (&CLEAN_ACCURACY, validation.clean_accuracy),
                    (&PGD_ACCURACY, validation.pgd_accuracy),
                    (&ENERGY_CLEAN, validation.energy_clean),
                    (&ENERGY_PGD, validation.energy_adversarial),
                ] {
                    self.renderer.update_valid(metric.state(value));
                }
                self.renderer.update_split(1);
                self.renderer.end_split();
                self.renderer.update_epoch(epoch + 1);
            }
            // The event counter counts events by name, so the reason goes to the log only.
            Event::Rollback { .. } => self
                .renderer
                .log_event_training("Rollbacks (divergence guard)".into()),
        }
    }

    /// Ends the run's display.
    pub fn finish(mut self) {
        if self.in_split {
            self.renderer.end_split();
        }
        self.renderer.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
    use burn_train::renderer::{
        EvaluationName, MetricsRendererEvaluation, MetricsRendererTraining,
    };
    use jeat_train::validation::Validation;
    use std::sync::Mutex;

    /// A renderer that writes down what it is told, one line per call.
    #[derive(Default, Clone)]
    struct Recording(Arc<Mutex<Vec<String>>>);

    impl Recording {
        fn say(&self, line: String) {
            self.0.lock().unwrap().push(line);
        }
    }

    fn shown(state: &MetricState) -> String {
        match state {
            MetricState::Numeric(entry, Some(NumericEntry::Value(v))) => {
                format!("{v} as '{}'", entry.serialized_entry.formatted)
            }
            other => format!("{other:?}"),
        }
    }

    impl MetricsRendererTraining for Recording {
        fn update_train(&mut self, state: MetricState) {
            self.say(format!("train {}", shown(&state)));
        }
        fn update_valid(&mut self, state: MetricState) {
            self.say(format!("valid {}", shown(&state)));
        }
    }
    impl MetricsRendererEvaluation for Recording {
        fn update_test(&mut self, _: EvaluationName, _: MetricState) {}
    }
    impl TrainingProgressLogger for Recording {
        fn start(&mut self, epochs: usize, from: usize, items: Option<usize>, _: Option<&str>) {
            self.say(format!(
                "start {epochs} epochs from {from}, {items:?} items"
            ));
        }
        fn update_epoch(&mut self, epoch: usize) {
            self.say(format!("epoch {epoch}"));
        }
        fn start_split(&mut self, split: &str, items: usize) {
            self.say(format!("split {split} of {items}"));
        }
        fn update_split(&mut self, done: usize) {
            self.say(format!("done {done}"));
        }
        fn end_split(&mut self) {
            self.say("end split".into());
        }
        fn end(&mut self) {
            self.say("end".into());
        }
        fn log_event_training(&mut self, event: String) {
            self.say(format!("event {event}"));
        }
    }
    impl EvaluationProgressLogger for Recording {
        fn start_global_progress(&mut self, _: usize) {}
        fn start_test(&mut self, _: &str, _: usize) {}
        fn update_test_progress(&mut self, _: usize) {}
        fn end_test(&mut self) {}
        fn end_global_progress(&mut self) {}
        fn log_event_evaluation(&mut self, _: String) {}
    }
    impl MetricsRenderer for Recording {
        fn manual_close(&mut self) {}
        fn register_metric(&mut self, definition: MetricDefinition) {
            self.say(format!("metric {}", definition.name));
        }
    }

    #[test]
    fn training_events_become_burn_train_progress_and_metrics() {
        let recording = Recording::default();
        let mut dashboard = Dashboard::new(recording.clone(), 2);
        // A run of 2 epochs of 3 steps, resumed after step 2.
        let events = [
            Event::Started {
                total_steps: 6,
                from_step: 2,
                data: "d".into(),
            },
            Event::Step {
                global_step: 3,
                loss: 0.5,
                lr: 0.001,
            },
            Event::Epoch {
                epoch: 0,
                validation: Validation {
                    points: 10,
                    clean_accuracy: 90.0,
                    pgd_accuracy: 40.0,
                    energy_clean: -3.0,
                    energy_adversarial: -2.0,
                },
                best: true,
            },
            Event::Step {
                global_step: 4,
                loss: 0.25,
                lr: 0.1,
            },
            Event::Rollback {
                reason: "non-finite loss".into(),
                to_step: 3,
                lr_scale: 0.5,
            },
        ];
        for event in &events {
            dashboard.show(event);
        }
        dashboard.finish();
        let lines = recording.0.lock().unwrap().clone();
        let expected = [
            "metric Loss",
            "metric Learning rate",
            "metric Clean accuracy",
            "metric PGD accuracy",
            "metric E(x) clean",
            "metric E(x) PGD",
            "start 2 epochs from 0, Some(6) items",
            "epoch 0",
            "split train of 3",
            "train 0.5 as '0.5000'",
            "train 0.001 as '1.00e-3'",
            "done 3",
            "end split",
            "split valid of 1",
            "valid 90 as '90.00 %'",
            "valid 40 as '40.00 %'",
            "valid -3 as '-3.0000'",
            "valid -2 as '-2.0000'",
            "done 1",
            "end split",
            "epoch 1",
            "split train of 3",
            "train 0.25 as '0.2500'",
            "train 0.1 as '0.1000'",
            "done 1",
            "event Rollbacks (divergence guard)",
            "end split",
            "end",
        ];
        assert_eq!(lines, expected);
    }
}
