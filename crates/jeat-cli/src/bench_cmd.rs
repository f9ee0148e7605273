//! `jeat bench`: the time of the work this tool spends its time on (forward passes, attack
//! steps, adversarial-training iterations, SGLD steps, Inception forwards), on the chosen
//! backend. `cargo xtask bench-vs-pytorch` runs it beside the same workloads in PyTorch.
//!
//! Every workload runs once to warm up, then `--repeats` times; the median is reported. Each run
//! reads its result back to the host, so GPU backends are timed to completion. Inputs are
//! random and weights freshly initialised: the cost of these workloads does not depend on the
//! values. `--quick` runs the same code on tiny shapes (WRN-10-1, batch 4, 2 Inception images,
//! APGD-CE and Square-20 on 2 points instead of the standard AutoAttack on 20), each once without
//! a warm-up, so that `cargo xtask gpu-check --quick` can run on a software GPU driver in CI.

use anyhow::{Context, Result};
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use clap::{Args, ValueEnum};
use jeat_attacks::runner::{Evaluation, evaluate};
use jeat_attacks::suite::Suite;
use jeat_attacks::{Norm, ThreatModel};
use jeat_core::PointSource;
use jeat_energy::{Objective, ObjectiveInputs, PointLoss, Reference};
use jeat_engine::steps::gradient;
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
    /// WRN-34-10, batch 128: one PGD-10 adversarial-training iteration (the paper's unit of
    /// GPU work).
    #[value(name = "wrn-34-10-pgd10-at-iteration")]
    Wrn34PgdAtIteration,
    /// WRN-16-4, batch 128: one SGLD step on E(x) = −logsumexp f(x) (JEM's step 1, noise 0.01).
    #[value(name = "wrn-16-4-sgld-step")]
    Wrn16SgldStep,
    /// The FID Inception-v3 on 50 RGB images of 32×32, resized to 299×299: pool3 features.
    #[value(name = "inception-50")]
    Inception50,
    /// AutoAttack (standard, Linf 8/255) on 20 CIFAR-shaped points of a WRN-16-4, labelled
    /// with its own predictions so that every point is attacked.
    #[value(name = "wrn-16-4-autoattack-20")]
    Wrn16AutoAttack20,
}

/// The sizes the workloads run at: their names' sizes, or tiny ones (`--quick`).
#[derive(Debug, Clone, Copy)]
struct Shapes {
    /// Replaces WRN-34-10.
    large: &'static str,
    /// Replaces WRN-16-4.
    small: &'static str,
    /// Replaces batch 128 (batch 32 becomes a quarter of it, at least 1).
    batch: usize,
    /// Replaces the 50 Inception images.
    inception_images: usize,
    /// Replaces the 20 AutoAttack points.
    autoattack_points: usize,
    /// Replaces AutoAttack's standard suite.
    autoattack_suite: &'static str,
}

impl Shapes {
    const NAMED: Self = Self {
        large: "wrn-34-10",
        small: "wrn-16-4",
        batch: 128,
        inception_images: 50,
        autoattack_points: 20,
        autoattack_suite: "aa-standard",
    };
    const QUICK: Self = Self {
        large: "wrn-10-1",
        small: "wrn-10-1",
        batch: 4,
        inception_images: 2,
        autoattack_points: 2,
        // A gradient attack and the query attack of the suite, with a short query budget.
        autoattack_suite: "apgd-ce,square-20",
    };
}

impl Workload {
    /// The workloads `jeat bench` runs when none is named: all but the two sized for a GPU
    /// (the WRN-34-10 training iteration and AutoAttack), which `cargo xtask gpu-check` names.
    pub fn default_set() -> Vec<Self> {
        Self::value_variants()
            .iter()
            .copied()
            .filter(|w| !matches!(w, Self::Wrn34PgdAtIteration | Self::Wrn16AutoAttack20))
            .collect()
    }

    /// The name in reports and JSON (the clap value name).
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The workloads (comma separated; default: all but wrn-34-10-pgd10-at-iteration and
    /// wrn-16-4-autoattack-20).
    #[arg(long, value_enum, value_delimiter = ',')]
    workloads: Vec<Workload>,
    /// Timed runs per workload after one warm-up run.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Also write `{workload: {"median_s": …, "runs_s": […], "device_bytes_reserved": …}}`
    /// here (the device allocator's reserved bytes after the workload, where the backend
    /// reports them).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Tiny shapes (WRN-10-1, batch 4, 2 Inception images; APGD-CE and Square-20 on 2 points
    /// for AutoAttack): checks that every workload runs, not how fast.
    #[arg(long)]
    quick: bool,
}

pub fn run(args: BenchArgs, device: Device) -> Result<()> {
    anyhow::ensure!(args.repeats > 0, "--repeats must be at least 1");
    let workloads = if args.workloads.is_empty() {
        Workload::default_set()
    } else {
        args.workloads.clone()
    };
    let shapes = if args.quick {
        Shapes::QUICK
    } else {
        Shapes::NAMED
    };
    let mut results = BTreeMap::new();
    for workload in workloads {
        // --quick only shows that the path runs: no warm-up, so its times include compiling
        // the kernels.
        let runs = time_runs(workload, shapes, args.repeats, !args.quick, &device)?;
        let reserved = device.memory_pool_usage().map(|usage| usage.bytes_reserved);
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
            serde_json::json!({
                "median_s": median,
                "runs_s": runs,
                "device_bytes_reserved": reserved,
                "quick": args.quick,
            }),
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

/// Seconds of each of `repeats` runs of `workload`, after one untimed warm-up where `warm_up`.
fn time_runs(
    workload: Workload,
    shapes: Shapes,
    repeats: usize,
    warm_up: bool,
    device: &Device,
) -> Result<Vec<f64>> {
    let mut once = prepare(workload, shapes, device)?;
    if warm_up {
        once(0)?;
    }
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

fn prepare(workload: Workload, shapes: Shapes, device: &Device) -> Result<Run> {
    let batch = shapes.batch;
    Ok(match workload {
        Workload::Wrn16Forward => {
            let model = inference_model(shapes.small, device)?;
            let (images, _) = cifar_batch(batch, device);
            Box::new(move |_| {
                model.logits(images.clone()).into_data();
                Ok(())
            })
        }
        Workload::Wrn16AttackStep => attack_step(shapes.small, batch, device)?,
        Workload::Wrn34AttackStep => attack_step(shapes.large, (batch / 4).max(1), device)?,
        Workload::Wrn16PgdAtIteration => pgd_at_iteration(shapes.small, batch, device)?,
        Workload::Wrn34PgdAtIteration => pgd_at_iteration(shapes.large, batch, device)?,
        Workload::Wrn16AutoAttack20 => autoattack(shapes, device)?,
        Workload::Wrn16SgldStep => {
            let model = inference_model(shapes.small, device)?;
            let (start, _) = cifar_batch(batch, device);
            let step = SgldConfig::from_jem_units(1, 1.0, 0.01);
            Box::new(move |seed| {
                step.run(&model, start.clone(), Energy::Marginal, None, seed)?
                    .into_data();
                Ok(())
            })
        }
        Workload::Inception50 => {
            let model = FidInception::new(device).valid();
            let (images, _) = cifar_batch(shapes.inception_images, device);
            Box::new(move |_| {
                let mut features = Features::default();
                features.add(&model, images.clone(), true);
                Ok(())
            })
        }
    })
}

/// Points held in memory, for the attack runner.
struct InMemory {
    images: Tensor<4>,
    labels: Tensor<1, Int>,
}

impl PointSource for InMemory {
    fn len(&self) -> usize {
        self.images.dims()[0]
    }

    fn load(&self, indices: &[usize]) -> (Tensor<4>, Tensor<1, Int>) {
        let rows = jeat_core::host::index_tensor(indices, &self.images.device());
        (
            self.images.clone().select(0, rows.clone()),
            self.labels.clone().select(0, rows),
        )
    }
}

fn autoattack(shapes: Shapes, device: &Device) -> Result<Run> {
    let model = inference_model(shapes.small, device)?;
    let (images, _) = cifar_batch(shapes.autoattack_points, device);
    let labels = model.logits(images.clone()).argmax(1).squeeze_dim::<1>(1);
    let points = InMemory { images, labels };
    let evaluation = Evaluation {
        suite: Suite::parse(shapes.autoattack_suite)?,
        threat: ThreatModel::new(Norm::Linf, 8.0 / 255.0)?,
        batch_size: shapes.autoattack_points,
        seed: 0,
        identity: format!("bench: random {} on random points", shapes.small),
        state_path: None,
        keep_adversarial: false,
    };
    Ok(Box::new(move |_| {
        evaluate(&evaluation, &model, &points, &mut |_| {})?;
        Ok(())
    }))
}

fn pgd_at_iteration(arch: &str, batch: usize, device: &Device) -> Result<Run> {
    let autodiff = device.clone().autodiff();
    let mut model = Some(ModelSpec::new(arch, 10, [3, 32, 32]).build_seeded(&autodiff, 0)?);
    let mut optimizer = SgdConfig::new()
        .with_momentum(Some(MomentumConfig {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
        }))
        .init();
    let (images, labels) = cifar_batch(batch, device);
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
