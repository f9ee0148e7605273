//! `jeat reproduce`: the paper's results table at one of four scales.

use crate::backend::Backend;
use anyhow::{Result, bail};
use clap::Args;
use jeat_reproduce::{Options, ProfilePlan, report, run};
use jeat_train::{Profile, TrainingMethod};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// smoke (minutes, synthetic data), quick (real Fashion-MNIST, about 12 minutes on 2 cores),
    /// cpu (real Fashion-MNIST, about three hours on 2 cores) or paper (CIFAR-10, WRN-34-10;
    /// needs a GPU).
    #[arg(long, value_parser = parse_profile)]
    profile: Profile,
    /// Output directory (runs, cells, grids, landscape.png, table.md, results.json).
    #[arg(long)]
    out: PathBuf,
    /// Only these methods (comma separated; prejeat needs pgd-at).
    #[arg(long, value_delimiter = ',', value_parser = parse_method)]
    methods: Option<Vec<TrainingMethod>>,
    /// Inception weights (default: located under the data directory).
    #[arg(long)]
    inception: Option<PathBuf>,
    /// Data-parallel training: split each batch over these devices (comma separated indices,
    /// the first the main one, which also runs the attacks and scores), e.g. `--devices 0,1,2,3`.
    #[arg(long, value_delimiter = ',')]
    devices: Option<Vec<usize>>,
    /// Train and evaluate every method with this many seeds (the profile's, then +1, +2, …):
    /// the table shows the first, the spread over all of them enters the verdicts.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
}

pub fn run_command(args: ReproduceArgs, backend: Backend, index: Option<usize>) -> Result<()> {
    let training_devices = match &args.devices {
        Some(_) if index.is_some() => {
            bail!("give --devices or --device, not both (the first of --devices is the main one)")
        }
        Some(indices) => backend.data_parallel_devices(indices)?,
        None => vec![backend.device(index)?],
    };
    let device = training_devices[0].clone();
    let mut plan = ProfilePlan::of(args.profile);
    if let Some(methods) = args.methods {
        plan.methods = methods;
    }
    plan.seeds = args.seeds as usize;
    let options = Options {
        plan,
        out: args.out.clone(),
        backend: backend.feature().to_string(),
        device,
        training_devices,
        inception: args.inception,
    };
    let summary = run(&options, &mut |line| {
        eprintln!("[{:>6.0} s] {line}", elapsed())
    })?;
    report::write(&summary, &args.out)?;
    println!("{}", std::fs::read_to_string(args.out.join("table.md"))?);
    Ok(())
}

fn elapsed() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
}

fn parse_profile(text: &str) -> Result<Profile, String> {
    text.parse()
        .map_err(|e: jeat_train::TrainError| e.to_string())
}

fn parse_method(text: &str) -> Result<TrainingMethod, String> {
    text.parse()
        .map_err(|e: jeat_train::TrainError| e.to_string())
}
