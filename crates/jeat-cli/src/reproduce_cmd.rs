//! `jeat reproduce`: the paper's results table at one of three scales.

use anyhow::Result;
use burn::prelude::*;
use clap::Args;
use jeat_reproduce::profile::PROFILES;
use jeat_reproduce::{Options, Profile, report, run};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// smoke (minutes, synthetic data), cpu (real Fashion-MNIST, about two hours on 2 cores) or
    /// paper (CIFAR-10, WRN-34-10; needs a GPU).
    #[arg(long, help = format!("The scale: {PROFILES}"))]
    profile: String,
    /// Output directory (runs, cells, grids, landscape.png, table.md, results.json).
    #[arg(long)]
    out: PathBuf,
    /// Only these methods (comma separated; prejeat needs pgd-at).
    #[arg(long, value_delimiter = ',')]
    methods: Option<Vec<String>>,
    /// Inception weights (default: located under the data directory).
    #[arg(long)]
    inception: Option<PathBuf>,
}

pub fn run_command(args: ReproduceArgs, device: Device, backend: &str) -> Result<()> {
    let mut profile = Profile::named(&args.profile)?;
    if let Some(methods) = args.methods {
        profile.methods = methods;
    }
    let options = Options {
        profile,
        out: args.out.clone(),
        backend: backend.to_string(),
        device,
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
