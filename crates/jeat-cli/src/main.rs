//! `jeat`: classifiers that are also energy-based models, from the command line.

mod backend;
mod data_cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Train, attack, sample from and score robust classifiers that are also energy models.
#[derive(Debug, Parser)]
#[command(name = "jeat", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Datasets: fetch them, and describe what is on disk.
    #[command(subcommand)]
    Data(data_cmd::DataCommand),
    /// The compute backends compiled into this binary, and the one a run would use.
    Backends,
}

fn main() {
    let cli = Cli::parse();
    if let Err(error) = run(cli) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Data(command) => data_cmd::run(command),
        Command::Backends => {
            for backend in backend::Backend::ALL {
                let state = match backend.device() {
                    Ok(device) => format!("compiled in, device {device:?}"),
                    Err(_) => "not compiled in".to_string(),
                };
                println!(
                    "{:<5} {state} (feature `{}`)",
                    backend.feature(),
                    backend.feature()
                );
            }
            println!("avx512 {}", backend::avx512_status());
            Ok(())
        }
    }
}
