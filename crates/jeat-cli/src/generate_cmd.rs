//! `jeat generate`: images from a classifier (Santurkar et al., conditional or unconditional
//! SGLD), written as PNG files plus a grid with one row per class.

use crate::args::{ModelArgs, progress};
use anyhow::{Result, bail};
use burn::prelude::*;
use clap::Args;
use jeat_data::{DatasetName, Split, default_data_root};
use jeat_sampling::generate::{GENERATOR_NAMES, Request, Sources};
use jeat_sampling::generate_to_folder;
use jeat_sampling::{ClassGaussians, Generator, ReplayBuffer};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The generator.
    #[arg(long, help = format!("The generator: {GENERATOR_NAMES}"))]
    method: String,
    /// Images per class (santurkar, sgld-joint) or in all (sgld-marginal).
    #[arg(long)]
    n: usize,
    /// Output directory: images/, grid.png, generation.json.
    #[arg(long)]
    out: PathBuf,
    /// Dataset whose training split the class-conditional seeds are fitted on.
    #[arg(long, conflicts_with = "images")]
    dataset: Option<DatasetName>,
    /// Or the user's own labelled images to fit the seeds on: a .npy (with --labels) or an .npz
    /// holding images and labels.
    #[arg(long)]
    images: Option<PathBuf>,
    /// Labels for --images (a .npy of integers).
    #[arg(long, requires = "images")]
    labels: Option<PathBuf>,
    /// Data directory (default: $JEAT_DATA, else ./data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// A replay buffer (.safetensors) for sgld-marginal (a training run's checkpoints/last/buffer.safetensors).
    #[arg(long)]
    buffer: Option<PathBuf>,
    /// SGLD steps (default 200) or Santurkar steps (default 60).
    #[arg(long)]
    steps: Option<usize>,
    /// Step size: SGLD alpha in [0, 1] units (default 0.25) or the L2 step of Santurkar (0.5).
    #[arg(long)]
    step_size: Option<f64>,
    /// SGLD noise in [0, 1] units (default 0.005).
    #[arg(long)]
    noise: Option<f64>,
    /// Images per batch.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// santurkar: return the last iterate instead of the lowest-loss one (the robustness
    /// library's use_best = False).
    #[arg(long)]
    last_iterate: bool,
}

fn method(args: &GenerateArgs) -> Result<Generator> {
    let mut method = Generator::parse(&args.method)?;
    match &mut method {
        Generator::Santurkar {
            steps,
            step_size,
            use_best,
            ..
        } => {
            *steps = args.steps.unwrap_or(*steps);
            *step_size = args.step_size.unwrap_or(*step_size);
            *use_best = !args.last_iterate;
        }
        Generator::SgldJoint { sgld } | Generator::SgldMarginal { sgld } => {
            sgld.steps = args.steps.unwrap_or(sgld.steps);
            sgld.step_size = args.step_size.unwrap_or(sgld.step_size);
            sgld.noise = args.noise.unwrap_or(sgld.noise);
        }
    }
    Ok(method)
}

pub fn run(args: GenerateArgs, device: Device) -> Result<()> {
    let method = method(&args)?;
    let (model, spec) = args.model.load(&device)?;
    let fitted_on = match (method.conditional(), &args.images, args.dataset) {
        (false, _, _) => None,
        (true, Some(images), _) => Some(images.display().to_string()),
        (true, None, Some(dataset)) => Some(format!("{dataset}/train")),
        (true, None, None) => None,
    };
    let seeds = match (method.conditional(), args.dataset, &args.images) {
        (true, _, Some(images)) => {
            let train = jeat_data::arrays::read_image_arrays(images, args.labels.as_deref())?;
            Some(fit_seeds(&train)?)
        }
        (true, Some(dataset), None) => {
            let root = args.data_dir.clone().unwrap_or_else(default_data_root);
            let train = dataset.load(&root, Split::Train)?;
            Some(fit_seeds(&train)?)
        }
        (true, None, None) => bail!(
            "{} starts from class-conditional seeds: pass --dataset (its training split is used) or --images",
            method.name()
        ),
        (false, _, _) => None,
    };
    let buffer = args
        .buffer
        .as_ref()
        .map(|p| ReplayBuffer::load(p))
        .transpose()?;
    let total = if method.conditional() {
        args.n * spec.num_classes
    } else {
        args.n
    };
    let bar = progress(total as u64, method.name());
    let request = Request {
        generator: &method,
        count: args.n,
        shape: spec.input_shape,
        sources: Sources {
            seeds: seeds.as_ref(),
            buffer: buffer.as_ref(),
        },
        batch_size: args.batch_size,
        seed: args.seed,
        device: &device,
    };
    let written = generate_to_folder(&model, &request, &args.out, &mut |written| {
        bar.set_position(written as u64)
    })?;
    bar.finish_and_clear();
    let (images_dir, grid) = (args.out.join("images"), args.out.join("grid.png"));
    let summary = serde_json::json!({
        "method": method,
        "checkpoint": args.model.checkpoint,
        "model": spec,
        "images": written.written,
        "classified_as_target": method.conditional().then(|| written.on_target_fraction()),
        "seed": args.seed,
        "seeds_fitted_on": fitted_on,
    });
    std::fs::write(
        args.out.join("generation.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    println!(
        "{} images in {}, grid {}",
        written.written,
        images_dir.display(),
        grid.display()
    );
    if method.conditional() {
        println!(
            "classified as their target class: {:.1} %",
            100.0 * written.on_target_fraction()
        );
    }
    Ok(())
}

/// Class-conditional Gaussian seeds fitted on `train`.
fn fit_seeds(train: &jeat_data::ImageSet) -> Result<ClassGaussians> {
    eprintln!(
        "fitting class-conditional Gaussian seeds on {} ({} images)",
        train.name(),
        train.len()
    );
    Ok(ClassGaussians::fit(train, 1e-4)?)
}
