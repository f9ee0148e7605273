//! `jeat bench`: the time of the work this tool spends its time on (forward passes, attack
//! steps, adversarial-training iterations, SGLD steps, Inception forwards), on the chosen
//! backend. `cargo xtask bench-vs-pytorch` runs it beside the same workloads in PyTorch.
//!
//! Every workload runs once to warm up, then `--repeats` times; the median is reported. Each run
//! reads its result back to the host, so GPU backends are timed to completion. Inputs are
//! random and weights freshly initialised: the cost of these workloads does not depend on the
//! values.

use anyhow::{Context, Result};
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use clap::{Args, ValueEnum};
use jeat_attacks::engine::gradient;
use jeat_energy::{Objective, ObjectiveInputs, PointLoss, Reference};
use jeat_metrics::FidInception;
use jeat_metrics::extract::Features;
use jeat_models::{Classifier, ModelSpec};
use jeat_sampling::{Energy, SgldConfig};
use jeat_train::InnerAttack;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// The workloads, by the names the JSON output and `cargo xtask bench-vs-pytorch` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Workload {
    /// WRN-16-4, batch 128, CIFAR-shaped: one forward pass in inference mode.
    #[value(name = "wrn-16-4-forward")]
    Wrn16Forward,
    /// WRN-16-4, batch 128: forward and the cross-entropy's input gradient, inference mode
    /// (one step of PGD without the step itself).
    #[value(name = "wrn-16-4-attack-step")]
    Wrn16AttackStep,
    /// WRN-16-4, batch 128: one PGD-10 adversarial-training iteration (eps 8/255, step 2/255,
    /// uniform start; the attack on the inference-mode model, the loss in training mode,
    /// backward, one SGD step with momentum 0.9).
    #[value(name = "wrn-16-4-pgd10-at-iteration")]
    Wrn16PgdAtIteration,
    /// WRN-34-10, batch 32: forward and input gradient, inference mode.
    #[value(name = "wrn-34-10-attack-step")]
    Wrn34AttackStep,
    /// WRN-16-4, batch 128: one SGLD step on E(x) = −logsumexp f(x) (JEM's step 1, noise 0.01).
    #[value(name = "wrn-16-4-sgld-step")]
    Wrn16SgldStep,
    /// The FID Inception-v3 on 50 RGB images of 32×32, resized to 299×299: pool3 features.
    #[value(name = "inception-50")]
    Inception50,
}

impl Workload {
    /// The name in reports and JSON (the clap value name).
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The workloads (comma separated; default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    workloads: Vec<Workload>,
    /// Timed runs per workload after one warm-up run.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Also write `{workload: {"median_s": …, "runs_s": […]}}` here.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run(args: BenchArgs, device: Device) -> Result<()> {
    anyhow::ensure!(args.repeats > 0, "--repeats must be at least 1");
    let workloads = if args.workloads.is_empty() {
        Workload::value_variants().to_vec()
    } else {
        args.workloads.clone()
    };
    let mut results = BTreeMap::new();
    for workload in workloads {
        let runs = time_runs(workload, args.repeats, &device)?;
        let median = median(&runs);
        println!(
            "{:<28} median {median:>8.3} s over {} runs (all: {})",
            workload.name(),
            runs.len(),
            runs.iter()
                .map(|s| format!("{s:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        results.insert(
            workload.name(),
            serde_json::json!({"median_s": median, "runs_s": runs}),
        );
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&results)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The median of `values` (the upper one of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// Seconds of each of `repeats` runs of `workload`, after one untimed warm-up.
fn time_runs(workload: Workload, repeats: usize, device: &Device) -> Result<Vec<f64>> {
    let mut once = prepare(workload, device)?;
    once(0)?;
    (1..=repeats)
        .map(|i| {
            let started = Instant::now();
            once(i as u64)?;
            Ok(started.elapsed().as_secs_f64())
        })
        .collect()
}

/// A run of the workload: its argument seeds what the run draws.
type Run = Box<dyn FnMut(u64) -> Result<()>>;

fn cifar_batch(batch: usize, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let images = jeat_core::rng::uniform([batch, 3, 32, 32], 0.0, 1.0, 1, device);
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    (images, jeat_core::host::label_tensor(&labels, device))
}

fn inference_model(arch: &str, device: &Device) -> Result<jeat_models::Model> {
    Ok(ModelSpec::new(arch, 10, [3, 32, 32])
        .build_seeded(device, 0)?
        .valid())
}

fn attack_step(arch: &str, batch: usize, device: &Device) -> Result<Run> {
    let model = inference_model(arch, device)?;
    let (images, labels) = cifar_batch(batch, device);
    let reference = Reference::labels(labels);
    Ok(Box::new(move |_| {
        let step = gradient(&model, &images, PointLoss::CrossEntropy, &reference)?;
        step.grad.into_data();
        Ok(())
    }))
}

fn prepare(workload: Workload, device: &Device) -> Result<Run> {
    Ok(match workload {
        Workload::Wrn16Forward => {
            let model = inference_model("wrn-16-4", device)?;
            let (images, _) = cifar_batch(128, device);
            Box::new(move |_| {
                model.logits(images.clone()).into_data();
                Ok(())
            })
        }
        Workload::Wrn16AttackStep => attack_step("wrn-16-4", 128, device)?,
        Workload::Wrn34AttackStep => attack_step("wrn-34-10", 32, device)?,
        Workload::Wrn16PgdAtIteration => pgd_at_iteration(device)?,
        Workload::Wrn16SgldStep => {
            let model = inference_model("wrn-16-4", device)?;
            let (start, _) = cifar_batch(128, device);
            let step = SgldConfig::from_jem_units(1, 1.0, 0.01);
            Box::new(move |seed| {
                step.run(&model, start.clone(), Energy::Marginal, None, seed)?
                    .into_data();
                Ok(())
            })
        }
        Workload::Inception50 => {
            let model = FidInception::new(device).valid();
            let (images, _) = cifar_batch(50, device);
            Box::new(move |_| {
                let mut features = Features::default();
                features.add(&model, images.clone(), true);
                Ok(())
            })
        }
    })
}

fn pgd_at_iteration(device: &Device) -> Result<Run> {
    let autodiff = device.clone().autodiff();
    let mut model = Some(ModelSpec::new("wrn-16-4", 10, [3, 32, 32]).build_seeded(&autodiff, 0)?);
    let mut optimizer = SgdConfig::new()
        .with_momentum(Some(MomentumConfig {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
        }))
        .init();
    let (images, labels) = cifar_batch(128, device);
    let attack = InnerAttack::madry(8.0 / 255.0, 10);
    Ok(Box::new(move |seed| {
        let current = model
            .take()
            .context("the model of the previous iteration")?;
        let adversarial = jeat_train::inner::adversarial(
            &current.valid(),
            &images,
            &labels,
            &attack,
            PointLoss::CrossEntropy,
            seed,
        )?;
        let loss = Objective::PgdAt.loss(
            |x| current.forward(x),
            |x| current.forward(x),
            ObjectiveInputs {
                images: images.clone(),
                labels: labels.clone(),
                adversarial: Some(adversarial),
                samples: None,
                joint_samples: None,
            },
        )?;
        let grads = GradientsParams::from_grads(loss.total.backward(), &current);
        let updated = optimizer.step(0.1, current, grads);
        // Reading one logit back waits for the step on asynchronous backends.
        updated
            .valid()
            .forward(images.clone().narrow(0, 0, 1))
            .into_data();
        model = Some(updated);
        Ok(())
    }))
}
