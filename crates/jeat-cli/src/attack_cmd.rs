//! `jeat attack`: robust accuracy of a checkpoint under a suite of attacks.

use crate::args::{DataArgs, ModelArgs, progress, sha256};
use anyhow::{Context, Result, bail};
use burn::prelude::*;
use clap::Args;
use jeat_attacks::runner::{Evaluation, adversarial_examples, evaluate, point_results};
use jeat_attacks::suite::{SUITE_NAMES, Suite};
use jeat_attacks::{Norm, ThreatModel};
use jeat_data::array_writer::{ArrayValues, NamedArray, write_arrays};
use jeat_data::{ImageSet, SetSource};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct AttackArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    data: DataArgs,
    /// The attacks (run in order on the points still robust).
    #[arg(long, help = format!("The attacks: {SUITE_NAMES}"))]
    suite: String,
    /// The radius, [0, 1] pixel units: 8/255 or 0.031.
    #[arg(long)]
    eps: String,
    /// The norm: linf or l2.
    #[arg(long, default_value = "linf")]
    norm: Norm,
    /// Points per batch.
    #[arg(long, default_value_t = 250)]
    batch_size: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the report here as JSON (per-point results beside it, .points.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Per-point state file, resumed if it exists (default: <out>.state.json, else
    /// <save-adv>.state.json).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Write the adversarial examples here (.npz or .safetensors): `x_adv` [N, C, H, W] (the
    /// clean image where no attack succeeded, as AutoAttack saves them), `y`, `fooled`,
    /// `prediction` (the model's class for `x_adv`).
    #[arg(long, value_name = "FILE")]
    save_adv: Option<PathBuf>,
    /// Replace an existing --save-adv or --robustbench-info file.
    #[arg(long)]
    overwrite: bool,
    /// Write a RobustBench `model_info` JSON entry for this evaluation (needs --suite
    /// aa-standard; link, name, authors, venue and the reported number are left to fill in).
    #[arg(long, value_name = "FILE")]
    robustbench_info: Option<PathBuf>,
}

pub fn run(args: AttackArgs, device: Device) -> Result<()> {
    let threat = ThreatModel::parse(args.norm, &args.eps)?;
    let suite = Suite::parse(&args.suite)?;
    for path in [&args.save_adv, &args.robustbench_info]
        .into_iter()
        .flatten()
    {
        if path.exists() && !args.overwrite {
            bail!(
                "{} exists already (pass --overwrite to replace it)",
                path.display()
            );
        }
    }
    if args.robustbench_info.is_some() {
        crate::robustbench::check_suite(&suite)?;
    }
    let (model, spec) = args.model.load(&device)?;
    let (set, full_size) = args.data.load_with_size()?;
    let identity = format!(
        "{} {} (sha256 {}) on {}",
        spec.arch,
        args.model.checkpoint.display(),
        &sha256(&args.model.checkpoint)?[..16],
        args.data.describe()
    );
    let state_path = args.state.clone().or_else(|| {
        args.out
            .as_ref()
            .or(args.save_adv.as_ref())
            .map(|o| o.with_extension("state.json"))
    });
    let evaluation = Evaluation {
        suite,
        threat,
        batch_size: args.batch_size,
        seed: args.seed,
        identity,
        state_path: state_path.clone(),
        keep_adversarial: args.save_adv.is_some(),
    };
    let mut bar: Option<(String, indicatif::ProgressBar)> = None;
    let report = evaluate(
        &evaluation,
        &model,
        &SetSource {
            set: &set,
            device: device.clone(),
        },
        &mut |p| {
            if bar.as_ref().is_none_or(|(stage, _)| stage != p.stage) {
                if let Some((_, b)) = bar.take() {
                    b.finish_and_clear();
                }
                bar = Some((p.stage.to_string(), progress(p.total as u64, p.stage)));
            }
            if let Some((_, b)) = &bar {
                b.set_position(p.done as u64);
            }
        },
    )?;
    if let Some((_, b)) = bar {
        b.finish_and_clear();
    }
    print!("{}", report.to_text());
    print!("{}", report.to_autoattack_log());
    if let Some(path) = &args.robustbench_info {
        let dataset = args.data.dataset.map(|d| d.to_string()).unwrap_or_default();
        let info =
            crate::robustbench::model_info(&report, &spec.arch, &dataset, &args.eps, full_size);
        std::fs::write(path, serde_json::to_string_pretty(&info)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("RobustBench model_info: {}", path.display());
    }
    if let (Some(path), Some(state)) = (&args.save_adv, &state_path) {
        save_adversarial(path, state, &set, args.overwrite)?;
        println!("adversarial examples: {}", path.display());
    }
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", out.display()))?;
        if let Some(state) = &state_path {
            let points = point_results(state)?;
            let path = out.with_extension("points.json");
            std::fs::write(&path, serde_json::to_string(&points)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        println!("report: {}", out.display());
    }
    Ok(())
}

/// Writes every point's adversarial example (its clean image where no attack succeeded) with
/// its label, whether it was fooled and the model's prediction on it.
fn save_adversarial(
    path: &std::path::Path,
    state: &std::path::Path,
    set: &ImageSet,
    overwrite: bool,
) -> Result<()> {
    let points = point_results(state)?;
    let mut examples = adversarial_examples(state)?;
    let shape = set.shape();
    let mut x_adv = Vec::with_capacity(points.len() * shape.num_pixels());
    for p in &points {
        match examples.remove(&p.index) {
            Some(image) => x_adv.extend(image),
            None => x_adv.extend(set.image(p.index).iter().map(|&v| f32::from(v) / 255.0)),
        }
    }
    let n = points.len();
    let ints = |f: &dyn Fn(&jeat_attacks::runner::PointResult) -> usize| {
        ArrayValues::I64(points.iter().map(|p| f(p) as i64).collect())
    };
    let arrays = [
        NamedArray {
            name: "x_adv".into(),
            shape: vec![n, shape.channels, shape.height, shape.width],
            values: ArrayValues::F32(x_adv),
        },
        NamedArray {
            name: "y".into(),
            shape: vec![n],
            values: ints(&|p| p.label),
        },
        NamedArray {
            name: "fooled".into(),
            shape: vec![n],
            values: ArrayValues::Bool(points.iter().map(|p| p.fooled_by.is_some()).collect()),
        },
        NamedArray {
            name: "prediction".into(),
            shape: vec![n],
            values: ints(&|p| p.adversarial_prediction.unwrap_or(p.clean_prediction)),
        },
    ];
    write_arrays(path, &arrays, overwrite)?;
    Ok(())
}
