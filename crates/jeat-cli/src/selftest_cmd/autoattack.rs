//! `autoattack-points`: AutoAttack's attacks on real Fashion-MNIST points against the `cpu`
//! profile's PGD-trained CNN (Linf 0.1), on the device and on flex, from the same seed: which
//! points each attack fools, and which stay robust under all of them, must be flex's.
//!
//! Each attack runs on every point (not only on those earlier attacks left robust, as
//! `jeat attack` does), so that each one is compared on its own. Without `--quick`: AutoAttack's
//! standard attacks (APGD-CE, APGD-T, FAB-T, Square-5000) on 20 points; with it, APGD-CE and
//! APGD-T (3 targets) of 10 iterations each on 8 points.

use super::fixtures;
use super::steps::EPS;
use super::{Context, Measurement, Outcome, images, outside_linf_ball};
use anyhow::Result;
use burn::prelude::*;
use jeat_attacks::apgd::{Apgd, ApgdLoss};
use jeat_attacks::suite::Suite;
use jeat_attacks::{Attack, Norm, ThreatModel};
use jeat_core::host::{floats, label_tensor, predictions};
use jeat_models::Classifier;

/// The seed of every attack.
const SEED: u64 = 7;
/// APGD's iterations with `--quick`.
const QUICK_ITERATIONS: usize = 10;
/// Points whose results may differ from flex's: a point whose margin is within float noise
/// of zero may end on either side of it.
const TOLERATED_POINTS: usize = 1;

/// What one attack did on one device.
struct Run {
    /// `[N]`: whether the model misclassifies the attack's output for each point.
    fooled: Vec<bool>,
    /// How far the outputs lie outside the eps-ball ∩ [0, 1] (0 inside).
    outside: f64,
}

pub fn autoattack_points(context: &Context) -> Result<Outcome> {
    let threat = ThreatModel::new(Norm::Linf, EPS)?;
    let attacks: Vec<Box<dyn Attack>> = match context.quick {
        true => vec![
            Box::new(Apgd {
                iterations: QUICK_ITERATIONS,
                ..Apgd::ce(threat.clone())
            }),
            Box::new(Apgd {
                iterations: QUICK_ITERATIONS,
                loss: ApgdLoss::TargetedDlr { targets: 3 },
                ..Apgd::ce(threat.clone())
            }),
        ],
        false => Suite::autoattack_standard()
            .attacks
            .iter()
            .map(|spec| spec.build(&threat))
            .collect(),
    };
    let (x_host, shape, labels) = fixtures::fashion_points(context.points())?;
    // `[attack]`: each attack's run on `device`.
    let runs = |device: &Device| -> Result<Vec<Run>> {
        let model = context.files.pgd_cnn(device)?;
        let x = images(&x_host, shape, device)?;
        let y = label_tensor(&labels, device);
        attacks
            .iter()
            .map(|attack| {
                let output = attack.run(&model, &x, &y, SEED)?;
                let fooled = predictions(model.logits(output.adversarial.clone()))
                    .iter()
                    .zip(&labels)
                    .map(|(p, y)| p != y)
                    .collect();
                let outside = outside_linf_ball(&floats(output.adversarial), &x_host, EPS);
                Ok(Run { fooled, outside })
            })
            .collect()
    };
    let on_device = runs(&context.device)?;
    let on_flex = runs(&context.flex)?;
    let robust = |runs: &[Run]| -> Vec<bool> {
        (0..labels.len())
            .map(|i| runs.iter().all(|r| !r.fooled[i]))
            .collect()
    };
    let (robust_device, robust_flex) = (robust(&on_device), robust(&on_flex));
    // A point disagrees when any attack's result on it, or its final verdict, differs.
    let disagreeing: Vec<usize> = (0..labels.len())
        .filter(|&i| {
            robust_device[i] != robust_flex[i]
                || on_device
                    .iter()
                    .zip(&on_flex)
                    .any(|(d, f)| d.fooled[i] != f.fooled[i])
        })
        .collect();
    let count = |flags: &[bool]| flags.iter().filter(|&&f| f).count();
    let mut notes = vec![match context.quick {
        true => format!(
            "--quick: APGD-CE and APGD-T (3 targets), {QUICK_ITERATIONS} iterations each, on {} points",
            labels.len()
        ),
        false => format!("AutoAttack standard's attacks on {} points", labels.len()),
    }];
    for ((attack, device), flex) in attacks.iter().zip(&on_device).zip(&on_flex) {
        notes.push(format!(
            "{}: fooled {} on the device, {} on flex",
            attack.name(),
            count(&device.fooled),
            count(&flex.fooled)
        ));
    }
    notes.push(format!(
        "robust under all: {} of {} on the device, {} on flex; points that differ: {disagreeing:?}",
        count(&robust_device),
        labels.len(),
        count(&robust_flex)
    ));
    let outside = on_device.iter().map(|r| r.outside).fold(0f64, f64::max);
    Ok(Outcome {
        measurements: vec![
            Measurement::at_most(
                "points whose fooled/robust results differ from flex's",
                disagreeing.len() as f64,
                TOLERATED_POINTS as f64,
            ),
            Measurement::at_most(
                "adversarial examples outside the eps-ball ∩ [0, 1] by",
                outside,
                1e-6,
            ),
        ],
        notes,
    })
}
