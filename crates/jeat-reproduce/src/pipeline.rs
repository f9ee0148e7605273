//! The reproduction, method by method: train (resumable run directories), attack each column,
//! generate, score, analyse; every cell cached under the output directory with the key that
//! produced it, so an interrupted run resumes and a rerun redoes only what changed.

use crate::attack_cell::evaluate_cell;
use crate::cache::{cached, file_hash};
use crate::profile::Profile;
use anyhow::{Context, Result};
use burn::prelude::*;
use jeat_analysis::{Flatness, Landscape};
use jeat_attacks::runner::{Evaluation, PointSource, Report};
use jeat_attacks::suite::Suite;
use jeat_attacks::{Norm, ThreatModel};
use jeat_data::{Augmentation, ImageSet, Split, batch_at};
use jeat_metrics::scoring::Scored;
use jeat_models::checkpoint::load_model;
use jeat_models::{Model, ModelSpec};
use jeat_sampling::generate::Sources;
use jeat_sampling::generate_to_folder;
use jeat_sampling::{ClassGaussians, Method, ReplayBuffer};
use jeat_train::presets::preset;
use jeat_train::{Event, TrainConfig, Trainer};
use std::path::{Path, PathBuf};

/// How to run a profile.
pub struct Options {
    /// What to measure.
    pub profile: Profile,
    /// Where everything goes.
    pub out: PathBuf,
    /// The backend's name, for the report.
    pub backend: String,
    /// The device everything runs on.
    pub device: Device,
    /// Inception weights (default: located under the data root).
    pub inception: Option<PathBuf>,
}

/// An attack column's result.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Column {
    /// Column name (`PGD-20`).
    pub name: String,
    /// Robust accuracy (%) and the report it comes from.
    pub report: Report,
    /// Seconds it took.
    pub seconds: f64,
}

/// Generated samples.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Samples {
    /// The generator.
    pub generator: Method,
    /// Images made.
    pub count: usize,
    /// Fraction the model classifies as their target class (conditional generators).
    pub classified_as_target: Option<f64>,
}

/// IS, FID and KID of a method's samples, or why they are missing.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Scores {
    /// FID.
    pub fid: Option<Scored>,
    /// KID (mean and std over subsets).
    pub kid: Option<Scored>,
    /// IS (mean and std over splits).
    pub is: Option<Scored>,
    /// Why a score is missing.
    pub notes: Vec<String>,
}

/// The energy analysis of one model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Analysis {
    /// Flatness around test points.
    pub flatness: Flatness,
    /// Mean E(x) and E(x, y) of clean, PGD-20 and generated points.
    pub mean_energies: Vec<(String, f64, f64)>,
    /// The landscape around the first test image.
    pub landscape: Landscape,
}

/// Everything measured for one method.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MethodResult {
    /// The method.
    pub method: String,
    /// The evaluated checkpoint (best validation PGD accuracy).
    pub checkpoint: PathBuf,
    /// Its model.
    pub model: ModelSpec,
    /// Training seconds.
    pub training_seconds: f64,
    /// Clean accuracy (%) on the attack points.
    pub clean_accuracy: f64,
    /// The attack columns.
    pub columns: Vec<Column>,
    /// The samples.
    pub samples: Samples,
    /// Their scores.
    pub scores: Scores,
    /// The energy analysis.
    pub analysis: Analysis,
}

/// The whole run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// The profile.
    pub profile: Profile,
    /// The data, as named by its reader (`synthetic/…` for generated data).
    pub data: String,
    /// Whether the data is real.
    pub real_data: bool,
    /// The backend.
    pub backend: String,
    /// One entry per method that completed.
    pub methods: Vec<MethodResult>,
    /// Methods that failed, and why (the others still run).
    pub failures: Vec<(String, String)>,
    /// Wall-clock seconds of this invocation.
    pub seconds: f64,
}

/// An image set as the attack runner's point source (batches without augmentation).
pub struct SetSource<'a> {
    /// The images.
    pub set: &'a ImageSet,
    /// Where batches go.
    pub device: Device,
}

impl PointSource for SetSource<'_> {
    fn len(&self) -> usize {
        self.set.len()
    }
    fn load(&self, indices: &[usize]) -> (Tensor<4>, Tensor<1, Int>) {
        let batch = batch_at(self.set, indices, Augmentation::NONE, 0, 0, &self.device);
        (batch.images, batch.labels)
    }
}

/// Runs the profile; `say` receives one line per step.
pub fn run(options: &Options, say: &mut dyn FnMut(String)) -> Result<Summary> {
    let started = std::time::Instant::now();
    let profile = &options.profile;
    let out = &options.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let first = preset(&format!("{}-standard", profile.name), None)?;
    let test = first.data.load(Split::Test)?;
    let training_set = first.data.load(Split::Train)?;
    let real_data = !test.name().starts_with("synthetic/");
    say(format!(
        "data: {} ({} test images){}",
        test.name(),
        test.len(),
        if real_data { "" } else { " — SYNTHETIC data" }
    ));
    let threat = ThreatModel::parse(Norm::Linf, &profile.eps)?;
    let seeds = std::cell::OnceCell::new();
    let inception = std::cell::OnceCell::new();
    let mut results: Vec<MethodResult> = Vec::new();
    let mut failures: Vec<(String, String)> = Vec::new();
    for method in &profile.methods {
        let outcome = (|| -> Result<MethodResult> {
            let pretrained = match method.as_str() {
                "prejeat" => Some(
                    results
                        .iter()
                        .find(|r| r.method == "pgd-at")
                        .map(|r| r.checkpoint.clone())
                        .context(
                            "prejeat starts from the pgd-at checkpoint: keep pgd-at before prejeat",
                        )?,
                ),
                _ => None,
            };
            let config = preset(&format!("{}-{method}", profile.name), pretrained)?;
            let (checkpoint, training_seconds) = train_method(
                &config,
                &out.join("runs").join(method),
                &options.device,
                say,
            )?;
            let (model, spec, _) = load_model(&checkpoint, None, &options.device)?;
            let model = model.valid();
            let model_hash = file_hash(&checkpoint)?;
            let cells = out.join("cells").join(method);

            // Attack columns.
            let mut columns = Vec::new();
            // Every column on the same points, so that columns compare.
            let set = test.take(profile.attack_points);
            for (name, suite) in &profile.columns {
                let key = serde_json::json!({"model": model_hash, "suite": suite, "eps": profile.eps, "points": set.len(), "data": test.name(), "attacks": jeat_attacks::REVISION});
                let file = cells.join(format!("attack-{}.json", suite));
                let (report, seconds) = cached(&file, &key, || {
                    say(format!("{method}: {name} on {} points", set.len()));
                    let evaluation = Evaluation {
                        suite: Suite::parse(suite)?,
                        threat: threat.clone(),
                        batch_size: profile.batch_size,
                        seed: 0,
                        identity: format!(
                            "{method} {} on {}[:{}], attacks revision {}",
                            &model_hash[..16],
                            test.name(),
                            set.len(),
                            jeat_attacks::REVISION
                        ),
                        state_path: Some(cells.join(format!("attack-{suite}.state.json"))),
                    };
                    std::fs::create_dir_all(&cells)?;
                    evaluate_cell(
                        &evaluation,
                        &model,
                        &SetSource {
                            set: &set,
                            device: options.device.clone(),
                        },
                        say,
                    )
                })?;
                say(format!(
                    "{method}: {name} {:.2} % (clean {:.2} %)",
                    report.robust_accuracy, report.clean_accuracy
                ));
                columns.push(Column {
                    name: name.clone(),
                    report,
                    seconds,
                });
            }
            let clean_accuracy = columns.first().map_or(0.0, |c| c.report.clean_accuracy);

            // Generation.
            let generator = Method::parse(Profile::generator(method))?;
            let samples_dir = cells.join("samples");
            let buffer_path = out
                .join("runs")
                .join(method)
                .join("checkpoints/last/buffer.safetensors");
            let key = serde_json::json!({"model": model_hash, "generator": generator, "per_class": profile.samples_per_class, "seed": 0});
            let (samples, _) = cached(&cells.join("samples.json"), &key, || {
                say(format!("{method}: generating with {}", generator.name()));
                let seeds = match generator.conditional() {
                    true => Some(
                        seeds
                            .get_or_init(|| ClassGaussians::fit(&training_set, 1e-4))
                            .as_ref()
                            .map_err(|e| anyhow::anyhow!("{e}"))?,
                    ),
                    false => None,
                };
                let buffer = match buffer_path.is_file() {
                    true => Some(ReplayBuffer::load(&buffer_path)?),
                    false => None,
                };
                generate_samples(
                    &model,
                    &spec,
                    &generator,
                    profile,
                    seeds,
                    buffer.as_ref(),
                    &samples_dir,
                    &options.device,
                )
            })?;
            let grids = out.join("grids");
            std::fs::create_dir_all(&grids)?;
            let _ = std::fs::copy(
                samples_dir.join("grid.png"),
                grids.join(format!("{method}.png")),
            );

            // Scores.
            let scores =
                crate::scores::score(options, &inception, &cells, &samples_dir, &key, &test, say)?;

            // Energy analysis.
            let key = serde_json::json!({"model": model_hash, "points": profile.analysis_points, "eps": profile.eps, "landscape": profile.landscape, "samples": samples.count});
            let (analysis, _) = cached(&cells.join("analysis.json"), &key, || {
                say(format!("{method}: energy analysis"));
                crate::analysis::analyse(
                    &model,
                    &spec,
                    &test,
                    &threat,
                    profile,
                    &samples_dir,
                    &cells,
                    method,
                    &options.device,
                )
            })?;
            Ok(MethodResult {
                method: method.clone(),
                checkpoint,
                model: spec,
                training_seconds,
                clean_accuracy,
                columns,
                samples,
                scores,
                analysis,
            })
        })();
        match outcome {
            Ok(result) => results.push(result),
            Err(error) => {
                say(format!("{method}: FAILED: {error:#}"));
                failures.push((method.clone(), format!("{error:#}")));
            }
        }
    }
    let panels: Vec<(String, Landscape)> = results
        .iter()
        .map(|r| (r.method.clone(), r.analysis.landscape.clone()))
        .collect();
    jeat_analysis::figures::landscape_figure(
        &out.join("landscape.png"),
        &format!(
            "E(x + a d1 + b d2, y) around test image 0 ({})",
            test.name()
        ),
        &panels,
    )?;
    Ok(Summary {
        profile: profile.clone(),
        data: test.name().to_string(),
        real_data,
        backend: options.backend.clone(),
        methods: results,
        failures,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Trains (or resumes, or reuses) the run of `config` in `dir`; returns its best checkpoint and
/// the training time.
fn train_method(
    config: &TrainConfig,
    dir: &Path,
    device: &Device,
    say: &mut dyn FnMut(String),
) -> Result<(PathBuf, f64)> {
    let method = config.objective.name();
    let timing = dir.join("training.json");
    let same =
        TrainConfig::load(&dir.join("config.toml")).is_ok_and(|existing| &existing == config);
    if same && dir.join("final.safetensors").is_file() {
        let seconds = std::fs::read_to_string(&timing)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0.0);
        return Ok((dir.join("best.safetensors"), seconds));
    }
    let mut trainer = match same && jeat_train::checkpoint::exists(dir) {
        true => {
            say(format!("{method}: resuming training in {}", dir.display()));
            Trainer::resume(dir, device, Some(config))?
        }
        false => {
            say(format!(
                "{method}: training ({} epochs) in {}",
                config.training.epochs,
                dir.display()
            ));
            Trainer::create(config.clone(), dir, device, true)?
        }
    };
    let started = std::time::Instant::now();
    let before = std::fs::read_to_string(&timing)
        .ok()
        .and_then(|t| t.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    trainer.run(&mut |event| match event {
        Event::Epoch {
            epoch, validation, ..
        } => say(format!(
            "{method}: epoch {}: validation clean {:.2} %, PGD {:.2} %",
            epoch + 1,
            validation.clean_accuracy,
            validation.pgd_accuracy
        )),
        Event::Rollback {
            reason, lr_scale, ..
        } => say(format!("{method}: rollback ({reason}), lr ×{lr_scale}")),
        _ => {}
    })?;
    let seconds = before + started.elapsed().as_secs_f64();
    std::fs::write(&timing, format!("{seconds}"))?;
    Ok((dir.join("best.safetensors"), seconds))
}

#[allow(clippy::too_many_arguments)]
fn generate_samples(
    model: &Model,
    spec: &ModelSpec,
    generator: &Method,
    profile: &Profile,
    seeds: Option<&ClassGaussians>,
    buffer: Option<&ReplayBuffer>,
    dir: &Path,
    device: &Device,
) -> Result<Samples> {
    let images = dir.join("images");
    let _ = std::fs::remove_dir_all(&images);
    std::fs::create_dir_all(&images)?;
    let count = if generator.conditional() {
        profile.samples_per_class
    } else {
        profile.samples_per_class * spec.num_classes
    };
    let summary = generate_to_folder(
        model,
        generator,
        count,
        spec.input_shape,
        Sources { seeds, buffer },
        profile.batch_size.min(100),
        0,
        device,
        dir,
        &mut |_| {},
    )?;
    Ok(Samples {
        generator: generator.clone(),
        count: summary.written,
        classified_as_target: generator
            .conditional()
            .then(|| summary.on_target_fraction()),
    })
}
