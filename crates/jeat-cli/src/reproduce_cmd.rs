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
    /// Only these methods (comma separated; prejeat needs pgd-at). `family` stands for the
    /// robust generative classifiers beside their baselines: standard, pgd-at, trades, jem,
    /// jempp, sada-jem, jeat, weat, eb-jdat.
    #[arg(long, value_delimiter = ',', value_parser = parse_methods)]
    methods: Option<Vec<Methods>>,
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
        // Each once, in the order first named (`pgd-at,family` names pgd-at twice).
        plan.methods = Vec::new();
        for method in methods.into_iter().flat_map(|m| m.0) {
            if !plan.methods.contains(&method) {
                plan.methods.push(method);
            }
        }
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

/// The methods one item of `--methods` names.
#[derive(Debug, Clone, PartialEq)]
struct Methods(Vec<TrainingMethod>);

/// A method, or `family` for [`TrainingMethod::FAMILY`].
fn parse_methods(text: &str) -> Result<Methods, String> {
    match text {
        "family" => Ok(Methods(TrainingMethod::FAMILY.to_vec())),
        _ => text
            .parse()
            .map(|method| Methods(vec![method]))
            .map_err(|e: jeat_train::TrainError| format!("{e}, or family")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ReproduceArgs,
    }

    fn parse(methods: &str) -> Result<Vec<TrainingMethod>, clap::Error> {
        let cli = Cli::try_parse_from([
            "jeat",
            "--profile",
            "smoke",
            "--out",
            "x",
            "--methods",
            methods,
        ])?;
        Ok(cli
            .args
            .methods
            .unwrap()
            .into_iter()
            .flat_map(|m| m.0)
            .collect())
    }

    #[test]
    fn family_stands_for_the_family_and_mixes_with_single_methods() {
        let methods = parse("pgd-at,family").unwrap();
        assert_eq!(methods.len(), 1 + TrainingMethod::FAMILY.len());
        assert_eq!(methods[1..], TrainingMethod::FAMILY);
        let err = parse("famly").unwrap_err().to_string();
        assert!(err.contains("or family"), "{err}");
    }
}
