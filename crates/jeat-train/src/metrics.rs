//! Per-step and per-epoch metrics as JSON lines (`metrics.jsonl`), kept consistent with the
//! checkpoints (a resume or a rollback drops the lines of the steps it redoes); at the end a PNG
//! of the curves and the same numbers as CSV (`steps.csv`, `epochs.csv`) for spreadsheets and
//! pandas.

use crate::error::TrainError;
use crate::validation::Validation;
use jeat_plot::{LinePanel, Series, line_figure};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One line of the log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Record {
    /// A training step.
    Step {
        /// Epoch (0-based).
        epoch: usize,
        /// Steps done in all, this one included.
        global_step: usize,
        /// Learning rate used.
        lr: f64,
        /// The loss and its parts.
        values: BTreeMap<String, f64>,
        /// Training images per second over the logging window.
        images_per_second: f64,
    },
    /// The end of an epoch.
    Epoch {
        /// Epoch (0-based).
        epoch: usize,
        /// Steps done in all.
        global_step: usize,
        /// Validation results.
        validation: Validation,
        /// Mean energy of the replay buffer's samples, if any.
        energy_samples: Option<f64>,
        /// Wall-clock seconds of the epoch.
        seconds: f64,
    },
    /// A rollback of the divergence guard.
    Rollback {
        /// The step at which divergence was seen.
        global_step: usize,
        /// Why.
        reason: String,
        /// The new learning-rate multiplier.
        lr_scale: f64,
    },
}

impl Record {
    fn global_step(&self) -> usize {
        match self {
            Self::Step { global_step, .. }
            | Self::Epoch { global_step, .. }
            | Self::Rollback { global_step, .. } => *global_step,
        }
    }
}

/// The metrics file of a run.
#[derive(Debug, Clone)]
pub struct MetricsLog {
    path: PathBuf,
}

impl MetricsLog {
    /// The log in `run`.
    pub fn new(run: &Path) -> Self {
        Self {
            path: run.join("metrics.jsonl"),
        }
    }

    /// Appends a record.
    pub fn append(&self, record: &Record) -> Result<(), TrainError> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| TrainError::io(&self.path, e))?;
        writeln!(
            file,
            "{}",
            serde_json::to_string(record).expect("records serialise")
        )
        .map_err(|e| TrainError::io(&self.path, e))
    }

    /// Every record.
    pub fn read(&self) -> Result<Vec<Record>, TrainError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(TrainError::io(&self.path, e)),
        }
    }

    /// Drops the step and epoch records after `global_step` (steps a resume redoes); rollback
    /// records stay.
    pub fn truncate_after(&self, global_step: usize) -> Result<(), TrainError> {
        let kept: Vec<Record> = self
            .read()?
            .into_iter()
            .filter(|r| matches!(r, Record::Rollback { .. }) || r.global_step() <= global_step)
            .collect();
        let text: String = kept
            .iter()
            .map(|r| serde_json::to_string(r).expect("records serialise") + "\n")
            .collect();
        let tmp = self.path.with_extension("jsonl.tmp");
        std::fs::write(&tmp, text).map_err(|e| TrainError::io(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| TrainError::io(&self.path, e))
    }

    /// Writes `steps.csv` (epoch, global_step, lr, images_per_second, then one column per loss
    /// part) and `epochs.csv` (epoch, global_step, seconds, the validation numbers,
    /// energy_samples) next to the log; an empty cell where a value is absent.
    pub fn write_csv(&self) -> Result<[PathBuf; 2], TrainError> {
        let records = self.read()?;
        let parts: std::collections::BTreeSet<&String> = records
            .iter()
            .filter_map(|r| match r {
                Record::Step { values, .. } => Some(values.keys()),
                _ => None,
            })
            .flatten()
            .collect();
        let steps_path = self.path.with_file_name("steps.csv");
        let epochs_path = self.path.with_file_name("epochs.csv");
        let csv_error = |path: &Path| {
            let path = path.to_path_buf();
            move |e: csv::Error| TrainError::io(&path, std::io::Error::other(e))
        };
        let mut steps = csv::Writer::from_path(&steps_path).map_err(csv_error(&steps_path))?;
        let mut header = vec!["epoch", "global_step", "lr", "images_per_second"];
        header.extend(parts.iter().map(|p| p.as_str()));
        steps
            .write_record(&header)
            .map_err(csv_error(&steps_path))?;
        let mut epochs = csv::Writer::from_path(&epochs_path).map_err(csv_error(&epochs_path))?;
        epochs
            .write_record([
                "epoch",
                "global_step",
                "seconds",
                "points",
                "clean_accuracy",
                "pgd_accuracy",
                "energy_clean",
                "energy_adversarial",
                "energy_samples",
            ])
            .map_err(csv_error(&epochs_path))?;
        for record in &records {
            match record {
                Record::Step {
                    epoch,
                    global_step,
                    lr,
                    values,
                    images_per_second,
                } => {
                    let mut row = vec![
                        epoch.to_string(),
                        global_step.to_string(),
                        lr.to_string(),
                        images_per_second.to_string(),
                    ];
                    row.extend(
                        parts
                            .iter()
                            .map(|p| values.get(*p).map(f64::to_string).unwrap_or_default()),
                    );
                    steps.write_record(&row).map_err(csv_error(&steps_path))?;
                }
                Record::Epoch {
                    epoch,
                    global_step,
                    validation: v,
                    energy_samples,
                    seconds,
                } => epochs
                    .write_record([
                        epoch.to_string(),
                        global_step.to_string(),
                        seconds.to_string(),
                        v.points.to_string(),
                        v.clean_accuracy.to_string(),
                        v.pgd_accuracy.to_string(),
                        v.energy_clean.to_string(),
                        v.energy_adversarial.to_string(),
                        energy_samples.map(|e| e.to_string()).unwrap_or_default(),
                    ])
                    .map_err(csv_error(&epochs_path))?,
                Record::Rollback { .. } => {}
            }
        }
        steps.flush().map_err(|e| TrainError::io(&steps_path, e))?;
        epochs
            .flush()
            .map_err(|e| TrainError::io(&epochs_path, e))?;
        Ok([steps_path, epochs_path])
    }

    /// Draws `curves.png` next to the log: loss parts per step, validation accuracy and energies
    /// per epoch.
    pub fn plot(&self, title: &str) -> Result<PathBuf, TrainError> {
        let records = self.read()?;
        let mut losses: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        let (mut clean, mut pgd, mut e_clean, mut e_adv, mut e_samples) =
            (vec![], vec![], vec![], vec![], vec![]);
        for record in &records {
            match record {
                Record::Step {
                    global_step,
                    values,
                    ..
                } => {
                    for (name, v) in values {
                        if !jeat_energy::Part::named(name)
                            .is_some_and(jeat_energy::Part::is_mean_energy)
                        {
                            losses
                                .entry(name.clone())
                                .or_default()
                                .push((*global_step as f64, *v));
                        }
                    }
                }
                Record::Epoch {
                    epoch,
                    validation,
                    energy_samples,
                    ..
                } => {
                    let x = (*epoch + 1) as f64;
                    clean.push((x, validation.clean_accuracy));
                    pgd.push((x, validation.pgd_accuracy));
                    e_clean.push((x, validation.energy_clean));
                    e_adv.push((x, validation.energy_adversarial));
                    if let Some(e) = energy_samples {
                        e_samples.push((x, *e));
                    }
                }
                Record::Rollback { .. } => {}
            }
        }
        let series = |name: &str, points: Vec<(f64, f64)>| Series {
            name: name.into(),
            points,
        };
        let mut energies = vec![series("E(x) clean", e_clean), series("E(x) PGD", e_adv)];
        if !e_samples.is_empty() {
            energies.push(series("E(x) samples", e_samples));
        }
        let panels = [
            LinePanel {
                title: "training loss".into(),
                x_label: "step".into(),
                y_label: "loss".into(),
                series: losses
                    .into_iter()
                    .map(|(name, points)| Series { name, points })
                    .collect(),
            },
            LinePanel {
                title: "validation accuracy".into(),
                x_label: "epoch".into(),
                y_label: "%".into(),
                series: vec![series("clean", clean), series("PGD", pgd)],
            },
            LinePanel {
                title: "mean energies".into(),
                x_label: "epoch".into(),
                y_label: "E(x)".into(),
                series: energies,
            },
        ];
        let path = self.path.with_file_name("curves.png");
        line_figure(&path, title, &panels).map_err(|e| TrainError::io(&path, e))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_files_hold_every_step_and_epoch_with_each_loss_part_in_its_column() {
        let dir = tempfile::tempdir().unwrap();
        let log = MetricsLog::new(dir.path());
        let step = |global_step: usize, values: &[(&str, f64)]| Record::Step {
            epoch: 0,
            global_step,
            lr: 0.1,
            values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            images_per_second: 50.0,
        };
        log.append(&step(1, &[("loss", 2.5), ("ce", 2.0)])).unwrap();
        log.append(&step(2, &[("loss", 1.5)])).unwrap();
        log.append(&Record::Epoch {
            epoch: 0,
            global_step: 2,
            validation: Validation {
                points: 64,
                clean_accuracy: 75.0,
                pgd_accuracy: 40.0,
                energy_clean: -3.0,
                energy_adversarial: -2.0,
            },
            energy_samples: None,
            seconds: 9.0,
        })
        .unwrap();
        let [steps, epochs] = log.write_csv().unwrap();
        assert_eq!(
            std::fs::read_to_string(steps).unwrap(),
            "epoch,global_step,lr,images_per_second,ce,loss\n0,1,0.1,50,2,2.5\n0,2,0.1,50,,1.5\n"
        );
        assert_eq!(
            std::fs::read_to_string(epochs).unwrap().lines().nth(1),
            Some("0,2,9,64,75,40,-3,-2,")
        );
    }
}
