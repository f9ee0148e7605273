//! `jeat`: classifiers that are also energy-based models, from the command line.

mod args;
mod attack_cmd;
mod backend;
mod bench_cmd;
#[cfg(feature = "dashboard")]
mod dashboard;
mod data_cmd;
mod generate_cmd;
mod model_cmd;
mod reproduce_cmd;
mod robustbench;
mod score_cmd;
mod selftest_cmd;
mod train_cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Train, attack, sample from and score robust classifiers that are also energy models.
#[derive(Debug, Parser)]
#[command(name = "jeat", version, about)]
struct Cli {
    /// Compute backend (must be compiled in; see `jeat backends`).
    #[arg(long, global = true, value_enum, default_value_t = backend::Backend::Flex)]
    backend: backend::Backend,
    /// Which GPU of a GPU backend (default: the backend's default device).
    #[arg(long, global = true)]
    device: Option<usize>,
    /// Precision of the CPU convolutions: f32, or bf16 (inputs in bf16 on AMX or
    /// AVX-512-bf16, f32 accumulation; needs oneDNN; refused on other CPUs).
    #[arg(long, global = true, default_value = "f32")]
    precision: jeat_models::conv::Precision,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Datasets: fetch them, and describe what is on disk.
    #[command(subcommand)]
    Data(data_cmd::DataCommand),
    /// Train a classifier with any objective (standard, pgd-at, trades, jem, jeat, prejeat).
    Train(train_cmd::TrainArgs),
    /// Robust accuracy of a checkpoint under a suite of attacks (FGSM … AutoAttack).
    Attack(attack_cmd::AttackArgs),
    /// Generate images from a classifier (santurkar, sgld-joint, sgld-marginal).
    Generate(generate_cmd::GenerateArgs),
    /// FID, Inception Score and KID (TensorFlow-2015 protocol), and the weights they need.
    #[command(subcommand)]
    Score(score_cmd::ScoreCommand),
    /// The results table of Zhu et al. (ICCV 2021): train, attack, generate, score, analyse.
    Reproduce(reproduce_cmd::ReproduceArgs),
    /// Models: build one by name and describe it.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Convert a checkpoint (PyTorch .pt/.pth, safetensors, burnpack) to safetensors with
    /// PyTorch names, checking that it fits the architecture.
    Convert {
        /// The checkpoint to read.
        input: std::path::PathBuf,
        /// The .safetensors file to write.
        output: std::path::PathBuf,
        #[command(flatten)]
        model: args::ArchArgs,
    },
    /// The compute backends compiled into this binary, and the one a run would use.
    Backends,
    /// Time the workloads this tool spends its time on (forward, attack step, PGD-10
    /// adversarial-training iteration, SGLD step, Inception) on the chosen backend.
    Bench(bench_cmd::BenchArgs),
    /// Check the chosen backend and device against the flex CPU backend and committed PyTorch
    /// values (forward and input gradients, FGSM/PGD, SGD, SGLD, fusion layout, AutoAttack);
    /// exits non-zero when a check fails. `--quick`: small enough for a software GPU driver.
    Selftest(selftest_cmd::SelftestArgs),
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Architecture and parameter count.
    Info {
        #[command(flatten)]
        model: args::ArchArgs,
    },
}

fn main() {
    jeat_core::allocator::keep_freed_memory();
    let cli = Cli::parse();
    if let Err(error) = run(cli) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    jeat_models::conv::set_precision(cli.precision).map_err(anyhow::Error::msg)?;
    match cli.command {
        Command::Data(command) => data_cmd::run(command),
        Command::Bench(args) => bench_cmd::run(args, cli.backend.device(cli.device)?),
        Command::Selftest(args) => {
            selftest_cmd::run(args, cli.backend, cli.backend.device(cli.device)?)
        }
        Command::Train(args) => train_cmd::run(args, cli.backend, cli.device),
        Command::Attack(args) => attack_cmd::run(args, cli.backend.device(cli.device)?),
        Command::Generate(args) => generate_cmd::run(args, cli.backend.device(cli.device)?),
        Command::Score(command) => score_cmd::run(command, cli.backend.device(cli.device)?),
        Command::Reproduce(args) => reproduce_cmd::run_command(args, cli.backend, cli.device),
        Command::Model(ModelCommand::Info { model }) => model_cmd::info(&model, cli.backend),
        Command::Convert {
            input,
            output,
            model,
        } => model_cmd::convert(&input, &output, &model, cli.backend),
        Command::Backends => {
            for backend in backend::Backend::ALL {
                let state = match backend.device(None) {
                    Ok(device) if backend.fused_and_autotuned() => {
                        format!("compiled in, fusion and autotune on, default device {device:?}")
                    }
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
            println!("conv  {}", backend::convolution_status());
            Ok(())
        }
    }
}
