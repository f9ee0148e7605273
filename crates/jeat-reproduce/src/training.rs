//! The training stage: trains (or resumes, or reuses) a method's run directory and loads its
//! best checkpoint.

use crate::cache::file_hash;
use crate::cell::{MethodCell, Reproduction};
use crate::error::{ReproduceError, Result};
use burn::prelude::*;
use jeat_models::checkpoint::load_model;
use jeat_train::{Event, TrainConfig, Trainer, TrainingMethod};
use std::path::{Path, PathBuf};

/// The name of `method`'s row for training seed `replicate`, and of its directories: the
/// method's own name for the first seed (so a profile run with more seeds reuses a one-seed
/// run), `<method>-seed<k>` for the others.
pub fn row_name(method: TrainingMethod, replicate: usize) -> String {
    match replicate {
        0 => method.name().to_string(),
        k => format!("{}-seed{k}", method.name()),
    }
}

/// Trains `method` with the profile's seed plus `replicate` (from `pretrained` where it
/// fine-tunes another model) and loads its best checkpoint.
pub fn train(
    run: &Reproduction,
    method: TrainingMethod,
    replicate: usize,
    pretrained: Option<PathBuf>,
    say: &mut dyn FnMut(String),
) -> Result<MethodCell> {
    let options = run.options;
    let mut config = options.plan.profile.config(method, pretrained)?;
    config.training.seed += replicate as u64;
    let name = row_name(method, replicate);
    let run_dir = options.out.join("runs").join(&name);
    let devices = match options.training_devices.is_empty() {
        true => std::slice::from_ref(&options.device),
        false => &options.training_devices[..],
    };
    let (checkpoint, training_seconds) = train_run(&config, &run_dir, devices, say)?;
    let (model, spec, _) = load_model(&checkpoint, None, &options.device)?;
    Ok(MethodCell {
        method,
        hash: file_hash(&checkpoint)?,
        checkpoint,
        model: model.valid(),
        spec,
        run_dir,
        dir: options.out.join("cells").join(&name),
        name,
        training_seconds,
    })
}

/// Trains (or resumes, or reuses) the run of `config` in `dir` on `devices` (data parallel when
/// there are several; the first is the main one); returns its best checkpoint and the training
/// time.
fn train_run(
    config: &TrainConfig,
    dir: &Path,
    devices: &[Device],
    say: &mut dyn FnMut(String),
) -> Result<(PathBuf, f64)> {
    let device = &devices[0];
    let method = config.objective.name();
    let timing = dir.join("training.json");
    let recorded = || {
        std::fs::read_to_string(&timing)
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let same =
        TrainConfig::load(&dir.join("config.toml")).is_ok_and(|existing| &existing == config);
    if same && dir.join("final.safetensors").is_file() {
        return Ok((dir.join("best.safetensors"), recorded()));
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
    if devices.len() > 1 {
        say(format!(
            "{method}: data parallel, {}",
            trainer.data_parallel(devices)?
        ));
    }
    let started = std::time::Instant::now();
    let before = recorded();
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
    std::fs::write(&timing, format!("{seconds}")).map_err(|e| ReproduceError::io(&timing, e))?;
    Ok((dir.join("best.safetensors"), seconds))
}
