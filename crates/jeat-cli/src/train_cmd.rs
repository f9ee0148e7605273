//! `jeat train`: a run from a TOML config or a preset, or the continuation of one.

use crate::args::progress;
use crate::backend::Backend;
use anyhow::{Result, bail};
use clap::Args;
use jeat_train::presets::preset;
use jeat_train::{Event, Outcome, TrainConfig, Trainer};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// A TOML configuration (see `--preset … --print-config` for one to start from).
    #[arg(long, conflicts_with = "preset")]
    config: Option<PathBuf>,
    /// A preset: <paper|cpu|quick|smoke>-<standard|pgd-at|trades|jem|jeat|prejeat>.
    #[arg(long)]
    preset: Option<String>,
    /// The checkpoint a prejeat (or jeat) run starts from, a pgd-at one for prejeat; with
    /// --config it replaces the file's `objective.pretrained`. Refused for the other methods.
    #[arg(long)]
    pretrained: Option<PathBuf>,
    /// The run directory (config, checkpoints, metrics, best and final weights).
    #[arg(long, required_unless_present_any = ["resume", "print_config"])]
    out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint.
    #[arg(long, conflicts_with_all = ["out", "preset"])]
    resume: Option<PathBuf>,
    /// Replace a run that already exists in --out.
    #[arg(long)]
    overwrite: bool,
    /// Override a configuration key, e.g. `--set schedule.lr=0.05 --set objective.attack.steps=5`
    /// (repeatable; values are TOML).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Data-parallel training: split each batch over these devices of the backend (comma
    /// separated indices, the first the main one), e.g. `--devices 0,1,2,3`; in place of
    /// `--device`.
    #[arg(long, value_delimiter = ',')]
    devices: Option<Vec<usize>>,
    /// Live progress in burn-train's terminal dashboard (plots of the loss, learning rate,
    /// validation accuracies and energies; `q` stops at the next step with a checkpoint).
    /// Needs a terminal and a jeat built with the `dashboard` feature.
    #[arg(long)]
    dashboard: bool,
    /// Print the resolved configuration as TOML and exit.
    #[arg(long)]
    print_config: bool,
}

fn config(args: &TrainArgs) -> Result<Option<TrainConfig>> {
    let base = match (&args.config, &args.preset) {
        (Some(path), _) => {
            let mut config = TrainConfig::load(path)?;
            if let Some(pretrained) = &args.pretrained {
                config.objective.set_pretrained(pretrained.clone())?;
            }
            config
        }
        (None, Some(name)) => preset(name, args.pretrained.clone())?,
        (None, None) if args.pretrained.is_some() => {
            bail!(
                "--pretrained goes with --config FILE or --preset NAME (a resumed run keeps its own)"
            )
        }
        (None, None) if args.sets.is_empty() => return Ok(None),
        (None, None) => bail!("--set changes a configuration: give --config FILE or --preset NAME"),
    };
    Ok(Some(jeat_train::overrides::apply_overrides(
        &base, &args.sets,
    )?))
}

pub fn run(args: TrainArgs, backend: Backend, index: Option<usize>) -> Result<()> {
    let config = config(&args)?;
    if args.print_config {
        match &config {
            Some(config) => print!("{}", config.to_toml()),
            None => bail!("--print-config needs --config or --preset"),
        }
        return Ok(());
    }
    let devices = match &args.devices {
        Some(_) if index.is_some() => {
            bail!("give --devices or --device, not both (the first of --devices is the main one)")
        }
        Some(indices) => backend.data_parallel_devices(indices)?,
        None => vec![backend.device(index)?],
    };
    if args.dashboard {
        dashboard_ready()?;
    }
    let device = devices[0].clone();
    let mut trainer = match (&args.resume, config) {
        (Some(dir), given) => Trainer::resume(dir, &device, given.as_ref())?,
        (None, Some(config)) => Trainer::create(
            config,
            args.out.as_ref().expect("clap requires --out"),
            &device,
            args.overwrite,
        )?,
        (None, None) => bail!("give --config FILE or --preset NAME (or --resume DIR)"),
    };
    if devices.len() > 1 {
        eprintln!("data parallel: {}", trainer.data_parallel(&devices)?);
    }
    let outcome = match args.dashboard {
        true => with_dashboard(&mut trainer)?,
        false => with_progress_bar(&mut trainer)?,
    };
    let selection = match trainer.config().evaluation.select_by {
        jeat_train::config::Selection::Robust => "PGD",
        jeat_train::config::Selection::Clean => "clean",
    };
    match (&outcome.best, &outcome.last) {
        (Some(best), Some(last)) => println!(
            "finished: best {} (validation {selection} accuracy {:.2} %), final {}",
            best.display(),
            outcome.state.best.map(|b| b.0).unwrap_or(0.0),
            last.display()
        ),
        _ => println!(
            "stopped at step {} (checkpointed; `jeat train --resume {}` continues)",
            outcome.state.global_step,
            args.resume
                .as_ref()
                .or(args.out.as_ref())
                .expect("clap requires --out or --resume")
                .display()
        ),
    }
    Ok(())
}

/// Trains with a progress bar and one line per epoch and rollback on stderr.
fn with_progress_bar(trainer: &mut Trainer) -> Result<Outcome> {
    let mut bar = None;
    let outcome = trainer.run(&mut |event| match event {
        Event::Started {
            total_steps,
            from_step,
            data,
        } => {
            eprintln!("training on {data}");
            let b = progress(total_steps as u64, "training");
            b.set_position(from_step as u64);
            bar = Some(b);
        }
        Event::Step {
            global_step,
            loss,
            lr,
        } => {
            if let Some(b) = &bar {
                b.set_position(global_step as u64);
                b.set_message(format!("loss {loss:.3} lr {lr:.1e}"));
            }
        }
        Event::Epoch {
            epoch,
            validation,
            best,
        } => {
            let line = format!(
                "epoch {}: clean {:.2} %, PGD {:.2} %, E(x) clean {:.3}, PGD {:.3}{}",
                epoch + 1,
                validation.clean_accuracy,
                validation.pgd_accuracy,
                validation.energy_clean,
                validation.energy_adversarial,
                if best { " (best)" } else { "" }
            );
            match &bar {
                Some(b) => b.println(line),
                None => eprintln!("{line}"),
            }
        }
        Event::Rollback {
            reason,
            to_step,
            lr_scale,
        } => {
            let line = format!(
                "divergence: {reason}; rolled back to step {to_step}, learning rate ×{lr_scale}"
            );
            match &bar {
                Some(b) => b.println(line),
                None => eprintln!("{line}"),
            }
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(outcome)
}

/// Trains with burn-train's terminal dashboard; its quit key stops at the next step with a
/// checkpoint there.
#[cfg(feature = "dashboard")]
fn with_dashboard(trainer: &mut Trainer) -> Result<Outcome> {
    let (mut dashboard, request, interrupter) =
        crate::dashboard::Terminal::open(trainer.config().training.epochs)?;
    trainer.stop_on_request(request.clone());
    let outcome = trainer.run(&mut |event| {
        dashboard.show(&event);
        crate::dashboard::forward_stop(&interrupter, &request);
    });
    dashboard.finish();
    Ok(outcome?)
}

#[cfg(not(feature = "dashboard"))]
fn with_dashboard(_: &mut Trainer) -> Result<Outcome> {
    dashboard_ready()?;
    unreachable!("dashboard_ready refuses without the feature")
}

/// Whether `--dashboard` can be shown, checked before a run directory is touched.
#[cfg(feature = "dashboard")]
fn dashboard_ready() -> Result<()> {
    crate::dashboard::require_terminal()
}

#[cfg(not(feature = "dashboard"))]
fn dashboard_ready() -> Result<()> {
    bail!(
        "this jeat was built without the dashboard: build it with `--features dashboard` \
         (burn-train's terminal UI), or leave out --dashboard for the progress bar"
    )
}
