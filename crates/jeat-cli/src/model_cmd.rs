//! `jeat model …` and `jeat convert`: build models by name and move their weights between
//! PyTorch, safetensors and burn's formats.

use crate::args::parse_shape;
use crate::backend::Backend;
use anyhow::{Context, Result, bail};
use clap::Args;
use jeat_models::checkpoint::{load_weights, save_safetensors};
use jeat_models::{ModelSpec, NormalizationSpec, PRESETS, trainable_params};
use std::path::Path;

/// Which model: architecture, classes, input shape.
#[derive(Debug, Args)]
pub struct ArchArgs {
    /// Architecture: wrn-34-10, wrn-28-10, wrn-28-10-nobn, wrn-16-4, wrn-16-1, preact-resnet-18,
    /// mnist-cnn (or any wrn-<6n+4>-<k>[-nobn]).
    #[arg(long)]
    arch: String,
    /// Number of classes.
    #[arg(long, default_value_t = 10)]
    num_classes: usize,
    /// Input shape CxHxW.
    #[arg(long, default_value = "3x32x32", value_parser = parse_shape)]
    input_shape: [usize; 3],
    /// Normalise inputs with the CIFAR-10 statistics inside the model.
    #[arg(long)]
    cifar_normalization: bool,
}

impl ArchArgs {
    pub fn spec(&self) -> ModelSpec {
        let mut spec = ModelSpec::new(self.arch.clone(), self.num_classes, self.input_shape);
        if self.cifar_normalization {
            spec.normalization = NormalizationSpec::Cifar10;
        }
        spec
    }
}

/// `jeat model info`: the architecture and its parameter count.
pub fn info(model: &ArchArgs, backend: Backend) -> Result<()> {
    let device = backend.device(None)?;
    let built = model.spec().build(&device)?;
    println!(
        "{}: {} classes, input {:?}, {} trainable parameters",
        model.arch,
        model.num_classes,
        model.input_shape,
        trainable_params(&built)
    );
    println!("presets: {}", PRESETS.join(", "));
    Ok(())
}

/// `jeat convert IN OUT`: reads any supported checkpoint, writes safetensors (PyTorch names).
pub fn convert(input: &Path, output: &Path, model: &ArchArgs, backend: Backend) -> Result<()> {
    if output.extension().is_none_or(|e| e != "safetensors") {
        bail!(
            "{}: the output must be a .safetensors file",
            output.display()
        );
    }
    let device = backend.device(None)?;
    let fresh = model.spec().build(&device)?;
    let (loaded, report) = load_weights(fresh, input)?;
    save_safetensors(&loaded, output).with_context(|| format!("writing {}", output.display()))?;
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
