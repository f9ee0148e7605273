//! `jeat model …` and `jeat convert`: build models by name and move their weights between
//! PyTorch, safetensors and burn's formats.

use crate::args::ArchArgs;
use crate::backend::Backend;
use anyhow::{Context, Result, bail};
use jeat_models::checkpoint::save_model;
use jeat_models::{PRESETS, trainable_params};
use std::path::Path;

/// `jeat model info`: the architecture and its parameter count.
pub fn info(model: &ArchArgs, backend: Backend) -> Result<()> {
    let Some(chosen) = model.chosen()? else {
        bail!("say which model: --arch, --robustbench or --published");
    };
    let spec = chosen.spec;
    let device = backend.device(None)?;
    let built = spec.build(&device)?;
    println!(
        "{}: {} classes, input {:?}, normalisation {:?}, {} trainable parameters",
        spec.arch,
        spec.num_classes,
        spec.input_shape,
        spec.normalization,
        trainable_params(&built)
    );
    println!("presets: {}", PRESETS.join(", "));
    Ok(())
}

/// `jeat convert IN OUT`: reads any supported checkpoint, writes safetensors (PyTorch names)
/// that record the model, so that every other command takes the file alone.
pub fn convert(input: &Path, output: &Path, model: &ArchArgs, backend: Backend) -> Result<()> {
    if output.extension().is_none_or(|e| e != "safetensors") {
        bail!(
            "{}: the output must be a .safetensors file",
            output.display()
        );
    }
    let device = backend.device(None)?;
    let (loaded, spec, report) = model.load(input, &device)?;
    save_model(&loaded, &spec, output).with_context(|| format!("writing {}", output.display()))?;
    println!(
        "{} ({:?}{}) -> {}: {} tensors{}",
        input.display(),
        report.format,
        report
            .top_level_key
            .map(|k| format!(", under '{k}'"))
            .unwrap_or_default(),
        output.display(),
        report.applied,
        if report.ignored.is_empty() {
            String::new()
        } else {
            format!(", ignored {} unused entries", report.ignored.len())
        }
    );
    Ok(())
}
