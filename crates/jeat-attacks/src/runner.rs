//! Robust accuracy: a suite runs attack after attack on the points still robust. A point counts
//! as robust only if no attack fools it with a perturbation inside the threat ball. After each
//! batch the per-point results go to a state file (atomically), so a killed run resumes where it
//! stopped and reports exactly what an uninterrupted one would have.

use crate::adversarial_store;
use crate::error::AttackError;
use crate::sanity::{SanityFlag, check_model};
use crate::suite::Suite;
use burn::prelude::*;
use jeat_core::PointSource;
use jeat_core::host::{floats, predictions};
use jeat_core::rng;
use jeat_engine::threat::ThreatModel;
use jeat_models::Classifier;
use state::{AttackState, State};
use std::path::{Path, PathBuf};
use std::time::Instant;

mod state;

/// The fraction of points Square must fool after the white-box attacks for the
/// gradient-masking warning (the reference's 0.002).
pub const SQUARE_WARNING_FRACTION: f64 = 0.002;

/// Refuses images outside [0, 1].
pub fn check_unit_range(images: &Tensor<4>) -> Result<(), AttackError> {
    let min = images.clone().min().into_scalar::<f32>();
    let max = images.clone().max().into_scalar::<f32>();
    if min < 0.0 || max > 1.0 || min.is_nan() || max.is_nan() {
        return Err(AttackError::ImageRange { min, max });
    }
    Ok(())
}

/// Refuses a label at or above `classes` (the first one, by its point's index in `indices`).
fn check_labels(indices: &[usize], labels: &[usize], classes: usize) -> Result<(), AttackError> {
    match indices.iter().zip(labels).find(|(_, l)| **l >= classes) {
        Some((&index, &label)) => Err(AttackError::LabelOutOfRange {
            index,
            label,
            classes,
        }),
        None => Ok(()),
    }
}

/// What to evaluate and how.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The attacks.
    pub suite: Suite,
    /// The threat model.
    pub threat: ThreatModel,
    /// Points per attack batch.
    pub batch_size: usize,
    /// The seed every random choice derives from.
    pub seed: u64,
    /// A description of the model and the data (checkpoint and its hash, dataset, split, n):
    /// a state file is resumed only by a run with the same identity.
    pub identity: String,
    /// Where the per-point state is kept (and resumed from), if anywhere.
    pub state_path: Option<PathBuf>,
    /// Keep every adversarial example found beside the state file (needs `state_path`; read
    /// them with [`adversarial_examples`]).
    pub keep_adversarial: bool,
}

/// The result of one point.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PointResult {
    /// Its index in the source.
    pub index: usize,
    /// Its label.
    pub label: usize,
    /// The clean prediction.
    pub clean_prediction: usize,
    /// Still robust after the attacks run so far.
    pub robust: bool,
    /// The name of the attack that fooled it.
    pub fooled_by: Option<String>,
    /// That attack's position in the suite (a suite may name an attack twice: `fgsm,fgsm`, or
    /// `aa-standard,square`). Absent in state files written before it was recorded, where the
    /// first attack of that name is meant.
    #[serde(default)]
    pub fooled_at: Option<usize>,
    /// The prediction on the adversarial example.
    pub adversarial_prediction: Option<usize>,
    /// The size of that adversarial perturbation in the threat norm.
    pub perturbation: Option<f64>,
}

/// What one attack of the suite did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AttackSummary {
    /// Its name.
    pub name: String,
    /// Robust accuracy (%) after this attack and all before it.
    pub robust_accuracy: f64,
    /// Points it fooled.
    pub fooled: usize,
    /// Points it attacked.
    pub attacked: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The largest perturbation among the points it fooled.
    pub max_perturbation: f64,
    /// Points with a non-finite loss or gradient at some step.
    pub non_finite_points: usize,
    /// Points whose input gradient was exactly zero where a run of this attack started: the
    /// attack could not move them (AutoAttack warns about these for its DLR attacks).
    #[serde(default)]
    pub zero_gradient_points: usize,
}

/// The report of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Protocol id, e.g. `linf-8/255:aa-standard-v1`.
    pub protocol: String,
    /// The suite.
    pub suite: Suite,
    /// The threat model.
    pub threat: ThreatModel,
    /// The model and data.
    pub identity: String,
    /// Points evaluated.
    pub points: usize,
    /// The seed.
    pub seed: u64,
    /// Clean accuracy (%).
    pub clean_accuracy: f64,
    /// One entry per attack, cumulative.
    pub attacks: Vec<AttackSummary>,
    /// Robust accuracy (%) after the whole suite.
    pub robust_accuracy: f64,
    /// The largest perturbation used (≤ eps).
    pub max_perturbation: f64,
    /// Points with a non-finite loss or gradient, over all attacks.
    pub non_finite_points: usize,
    /// Reasons to distrust the numbers.
    pub flags: Vec<SanityFlag>,
    /// Wall-clock seconds of all attacks.
    pub seconds: f64,
}

impl Report {
    /// A table for people.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{} on {} ({} points, seed {})\nclean accuracy: {:.2} %\n",
            self.protocol, self.identity, self.points, self.seed, self.clean_accuracy
        );
        text.push_str(
            "attack             robust %   fooled   seconds   max pert.   non-finite   zero grad.\n",
        );
        for a in &self.attacks {
            text.push_str(&format!(
                "{:<18} {:>8.2} {:>8} {:>9.1} {:>11.5} {:>12} {:>12}\n",
                a.name,
                a.robust_accuracy,
                a.fooled,
                a.seconds,
                a.max_perturbation,
                a.non_finite_points,
                a.zero_gradient_points
            ));
        }
        text.push_str(&format!(
            "robust accuracy: {:.2} %  (max perturbation {:.5} ≤ eps {:.5})\n",
            self.robust_accuracy, self.max_perturbation, self.threat.eps
        ));
        for flag in &self.flags {
            text.push_str(&format!("warning: {flag}\n"));
        }
        text
    }
}

impl Report {
    /// The run as fra31/auto-attack logs it (`initial accuracy: …`, `robust accuracy after
    /// APGD-CE: …`, `max Linf perturbation: …`, `robust accuracy: …`), for scripts that read
    /// those lines.
    pub fn to_autoattack_log(&self) -> String {
        let mut log = format!("initial accuracy: {:.2}%\n", self.clean_accuracy);
        let mut seconds = 0.0;
        for a in &self.attacks {
            seconds += a.seconds;
            log.push_str(&format!(
                "robust accuracy after {}: {:.2}% (total time {:.1} s)\n",
                a.name.to_uppercase(),
                a.robust_accuracy,
                seconds
            ));
        }
        let norm = match self.threat.norm {
            crate::Norm::Linf => "Linf",
            crate::Norm::L2 => "L2",
        };
        log.push_str(&format!(
            "max {norm} perturbation: {:.5}, nan in tensor: {}\n",
            self.max_perturbation, self.non_finite_points
        ));
        log.push_str(&format!("robust accuracy: {:.2}%\n", self.robust_accuracy));
        log
    }
}

/// Progress of a run, for progress bars.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// `clean` or the attack's name.
    pub stage: &'a str,
    /// Points done in this stage.
    pub done: usize,
    /// Points in this stage.
    pub total: usize,
}

/// Runs `evaluation` on every point of `source` with `model` (in inference mode): resumes its
/// state file or starts one, makes the clean pass, then runs each attack of the suite on the
/// points still robust.
pub fn evaluate(
    evaluation: &Evaluation,
    model: &dyn Classifier,
    source: &dyn PointSource,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, AttackError> {
    if source.is_empty() {
        return Err(AttackError::NoPoints);
    }
    let protocol = evaluation.suite.protocol_id(&evaluation.threat);
    let batch_size = evaluation.batch_size.max(1);
    let store = match (&evaluation.state_path, evaluation.keep_adversarial) {
        (Some(path), true) => Some(adversarial_store::store_path(path)),
        (None, true) => {
            return Err(AttackError::Invalid(
                "keeping adversarial examples needs a state file to keep them beside".into(),
            ));
        }
        (_, false) => None,
    };
    let (mut state, resumed) =
        State::resume_or_start(evaluation, &protocol, batch_size, source.len())?;
    if let Some(store) = &store
        && (!resumed || !store.exists())
    {
        if resumed && state.points.iter().any(|p| p.fooled_by.is_some()) {
            return Err(AttackError::Invalid(format!(
                "{} is missing: the state file counts fooled points whose examples were not kept; \
                 delete the state file to start again",
                store.display()
            )));
        }
        let [_, c, h, w] = source.load(&[0]).0.dims();
        adversarial_store::create(store, c * h * w)?;
    }
    let passes = Passes {
        evaluation,
        model,
        source,
        batch_size,
        store: store.as_deref(),
    };
    let class_flags = evaluation.suite.check_classes(model.num_classes())?;
    if state.points.len() != source.len() {
        passes.clean_pass(&mut state, class_flags, progress)?;
    }
    for (a, spec) in evaluation.suite.attacks.iter().enumerate() {
        passes.attack_pass(
            &mut state,
            a,
            spec.build(&evaluation.threat).as_ref(),
            progress,
        )?;
    }
    Ok(summarise(evaluation, &state, protocol))
}

/// What every pass of one [`evaluate`] call reads.
struct Passes<'a> {
    evaluation: &'a Evaluation,
    model: &'a dyn Classifier,
    source: &'a dyn PointSource,
    batch_size: usize,
    /// Where fooling examples are kept, if they are.
    store: Option<&'a Path>,
}

impl Passes<'_> {
    fn save(&self, state: &State) -> Result<(), AttackError> {
        match &self.evaluation.state_path {
            Some(path) => state.save(path),
            None => Ok(()),
        }
    }

    /// The clean predictions of every point (which points start robust) and the model checks
    /// on the first batch; refuses images outside [0, 1] and labels the model has no class for.
    fn clean_pass(
        &self,
        state: &mut State,
        class_flags: Vec<SanityFlag>,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(), AttackError> {
        let (model, source) = (self.model, self.source);
        state.points.clear();
        let all: Vec<usize> = (0..source.len()).collect();
        for (b, chunk) in all.chunks(self.batch_size).enumerate() {
            let (images, labels) = source.load(chunk);
            check_unit_range(&images)?;
            let labels_here = jeat_core::host::ints(labels.clone());
            check_labels(chunk, &labels_here, model.num_classes())?;
            if b == 0 {
                state.flags = class_flags.clone();
                state.flags.extend(check_model(model, &images, &labels));
            }
            let predicted = predictions(model.logits(images));
            for ((&index, label), clean_prediction) in chunk.iter().zip(labels_here).zip(predicted)
            {
                state.points.push(PointResult {
                    index,
                    label,
                    clean_prediction,
                    robust: label == clean_prediction,
                    fooled_by: None,
                    fooled_at: None,
                    adversarial_prediction: None,
                    perturbation: None,
                });
            }
            progress(Progress {
                stage: "clean",
                done: state.points.len(),
                total: source.len(),
            });
        }
        self.save(state)
    }

    /// The `a`-th attack of the suite on the points robust when it starts, batch by batch from
    /// where a resumed state stopped; a point it fools inside the ball stops being robust.
    fn attack_pass(
        &self,
        state: &mut State,
        a: usize,
        attack: &dyn crate::attack::Attack,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(), AttackError> {
        let evaluation = self.evaluation;
        let batch_size = self.batch_size;
        if state.attacks.len() <= a {
            state.attacks.push(AttackState {
                name: attack.name(),
                targets: state
                    .points
                    .iter()
                    .filter(|p| p.robust)
                    .map(|p| p.index)
                    .collect(),
                batches_done: 0,
                seconds: 0.0,
                non_finite_points: 0,
                zero_gradient_points: 0,
            });
            self.save(state)?;
        }
        let targets = state.attacks[a].targets.clone();
        let chunks: Vec<&[usize]> = targets.chunks(batch_size).collect();
        for (b, chunk) in chunks
            .iter()
            .enumerate()
            .skip(state.attacks[a].batches_done)
        {
            let started = Instant::now();
            let (images, labels) = self.source.load(chunk);
            let seed = rng::derive(evaluation.seed, &[a as u64, b as u64]);
            let output = attack.run(self.model, &images, &labels, seed)?;
            let sizes = floats(
                evaluation
                    .threat
                    .norm
                    .per_point(output.adversarial.clone() - images),
            );
            let predicted = predictions(self.model.logits(output.adversarial.clone()));
            let tolerance = evaluation.threat.eps * (1.0 + 1e-6) + 1e-7;
            if let Some(store) = self.store {
                let fooled: Vec<usize> = (0..chunk.len())
                    .filter(|&j| predicted[j] != state.points[chunk[j]].label)
                    .collect();
                let rows = jeat_core::host::rows(output.adversarial);
                let images: Vec<f32> = fooled.iter().flat_map(|&j| rows[j].clone()).collect();
                let indices: Vec<usize> = fooled.iter().map(|&j| chunk[j]).collect();
                adversarial_store::append(store, &indices, &images)?;
            }
            for (j, &index) in chunk.iter().enumerate() {
                let point = &mut state.points[index];
                if predicted[j] == point.label {
                    continue;
                }
                let size = f64::from(sizes[j]);
                if size > tolerance {
                    return Err(AttackError::Invalid(format!(
                        "{} returned a perturbation of {size} > eps {} on point {index}: refusing to count it",
                        attack.name(),
                        evaluation.threat.eps
                    )));
                }
                point.robust = false;
                point.fooled_by = Some(attack.name());
                point.fooled_at = Some(a);
                point.adversarial_prediction = Some(predicted[j]);
                point.perturbation = Some(size);
            }
            let record = &mut state.attacks[a];
            record.batches_done = b + 1;
            record.seconds += started.elapsed().as_secs_f64();
            record.non_finite_points += output.non_finite_points;
            record.zero_gradient_points += output.zero_gradient_points;
            let name = record.name.clone();
            self.save(state)?;
            progress(Progress {
                stage: &name,
                done: ((b + 1) * batch_size).min(targets.len()),
                total: targets.len(),
            });
        }
        Ok(())
    }
}

fn summarise(evaluation: &Evaluation, state: &State, protocol: String) -> Report {
    let n = state.points.len().max(1) as f64;
    let percent = |count: usize| 100.0 * count as f64 / n;
    let clean = state
        .points
        .iter()
        .filter(|p| p.label == p.clean_prediction)
        .count();
    let mut robust = clean;
    let mut attacks = Vec::new();
    for (position, record) in state.attacks.iter().enumerate() {
        let fooled: Vec<&PointResult> = state
            .points
            .iter()
            .filter(|p| fooled_position(p, &state.attacks) == Some(position))
            .collect();
        robust -= fooled.len();
        attacks.push(AttackSummary {
            name: record.name.clone(),
            robust_accuracy: percent(robust),
            fooled: fooled.len(),
            attacked: record.targets.len(),
            seconds: record.seconds,
            max_perturbation: fooled
                .iter()
                .filter_map(|p| p.perturbation)
                .fold(0.0, f64::max),
            non_finite_points: record.non_finite_points,
            zero_gradient_points: record.zero_gradient_points,
        });
    }
    let mut flags = state.flags.clone();
    for attack in attacks.iter().filter(|a| a.zero_gradient_points > 0) {
        flags.push(SanityFlag::ZeroGradientsInAttack {
            attack: attack.name.clone(),
            points: attack.zero_gradient_points,
        });
    }
    // Square fooling points after white-box attacks: AutoAttack's gradient-masking warning.
    let white_box_before = evaluation
        .suite
        .attacks
        .iter()
        .position(|spec| !spec.white_box())
        .is_some_and(|i| {
            evaluation.suite.attacks[..i]
                .iter()
                .any(|spec| spec.white_box())
        });
    if white_box_before {
        let square = evaluation
            .suite
            .attacks
            .iter()
            .position(|spec| !spec.white_box())
            .unwrap_or(0);
        // The reference warns when Square lowers the robust accuracy by more than 0.2 points
        // (`check_square_sr`, alpha 0.002).
        let threshold = SQUARE_WARNING_FRACTION * state.points.len() as f64;
        if let Some(summary) = attacks.get(square).filter(|s| s.fooled as f64 > threshold) {
            flags.push(SanityFlag::SquareAfterWhiteBox {
                points: summary.fooled,
            });
        }
    }
    Report {
        protocol,
        suite: evaluation.suite.clone(),
        threat: evaluation.threat.clone(),
        identity: state.identity.clone(),
        points: state.points.len(),
        seed: state.seed,
        clean_accuracy: percent(clean),
        robust_accuracy: percent(robust),
        max_perturbation: attacks
            .iter()
            .map(|a| a.max_perturbation)
            .fold(0.0, f64::max),
        non_finite_points: attacks.iter().map(|a| a.non_finite_points).sum(),
        seconds: attacks.iter().map(|a| a.seconds).sum(),
        attacks,
        flags,
    }
}

/// The position in the suite of the attack that fooled `point`: recorded, or, in state files
/// written before positions were, the first attack of its name.
fn fooled_position(point: &PointResult, attacks: &[AttackState]) -> Option<usize> {
    let name = point.fooled_by.as_deref()?;
    point
        .fooled_at
        .or_else(|| attacks.iter().position(|a| a.name == name))
}

/// The per-point results kept in a state file (for `--out`'s per-point companion).
pub fn point_results(state_path: &Path) -> Result<Vec<PointResult>, AttackError> {
    Ok(State::load(state_path)?
        .map(|s| s.points)
        .unwrap_or_default())
}

/// The adversarial examples of the points a run kept them for (its `keep_adversarial`), by point
/// index: each `[C, H, W]` values in [0, 1] that fooled the model. Only points the state file
/// counts as fooled are returned.
pub fn adversarial_examples(
    state_path: &Path,
) -> Result<std::collections::BTreeMap<usize, Vec<f32>>, AttackError> {
    let fooled: std::collections::BTreeSet<usize> = point_results(state_path)?
        .into_iter()
        .filter(|p| p.fooled_by.is_some())
        .map(|p| p.index)
        .collect();
    let (_, mut images) = adversarial_store::read(&adversarial_store::store_path(state_path))?;
    images.retain(|index, _| fooled.contains(index));
    if let Some(missing) = fooled.iter().find(|i| !images.contains_key(i)) {
        return Err(AttackError::Invalid(format!(
            "point {missing} was fooled but its adversarial example was not kept"
        )));
    }
    Ok(images)
}
