//! `jeat attack`: robust accuracy of a checkpoint under a suite of attacks.

use crate::args::{DataArgs, ModelArgs, progress, sha256};
use anyhow::{Context, Result};
use burn::prelude::*;
use clap::Args;
use jeat_attacks::runner::{Evaluation, evaluate, point_results};
use jeat_attacks::suite::{SUITE_NAMES, Suite};
use jeat_attacks::{Norm, ThreatModel};
use jeat_data::SetSource;
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
    /// Per-point state file, resumed if it exists (default: <out>.state.json).
    #[arg(long)]
    state: Option<PathBuf>,
}

pub fn run(args: AttackArgs, device: Device) -> Result<()> {
    let threat = ThreatModel::parse(args.norm, &args.eps)?;
    let suite = Suite::parse(&args.suite)?;
    let (model, spec) = args.model.load(&device)?;
    let set = args.data.load()?;
    let identity = format!(
        "{} {} (sha256 {}) on {}",
        spec.arch,
        args.model.checkpoint.display(),
        &sha256(&args.model.checkpoint)?[..16],
        args.data.describe()
    );
    let state_path = args
        .state
        .clone()
        .or_else(|| args.out.as_ref().map(|o| o.with_extension("state.json")));
    let evaluation = Evaluation {
        suite,
        threat,
        batch_size: args.batch_size,
        seed: args.seed,
        identity,
        state_path: state_path.clone(),
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
