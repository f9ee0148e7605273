//! How flat the joint energy is around data: `mean |E(x + δ, y) - E(x, y)|` over `δ` drawn
//! uniformly from a threat model's ball (clipped to the box), and the gap between the
//! joint energy of adversarial and clean points. The paper's claim: adversarial training makes
//! both small. Both are kept per point too, so that two models measured on the same points (and
//! the same random draws) compare point by point, and with the spread of each model's clean
//! energies, the scale a scale-free comparison divides by (a model with logits twice as large
//! has energies twice as large, and changes twice as large).

use burn::prelude::*;
use jeat_attacks::ThreatModel;
use jeat_core::host::floats;
use jeat_core::rng;
use jeat_energy::joint_energy;
use jeat_models::Classifier;

/// Flatness numbers of a model on a set of points.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Flatness {
    /// Mean `|E(x + δ, y) - E(x, y)|` over random `δ` in the ball.
    pub random_change: f64,
    /// Mean `E(x_adv, y) - E(x, y)` (what an attack achieves).
    pub adversarial_gap: f64,
    /// Points used.
    pub points: usize,
    /// `[points]` each point's mean `|E(x + δ, y) - E(x, y)|` over the draws.
    #[serde(default)]
    pub random_change_per_point: Vec<f64>,
    /// `[points]` each point's `E(x_adv, y) - E(x, y)`.
    #[serde(default)]
    pub adversarial_gap_per_point: Vec<f64>,
    /// The standard deviation of `E(x, y)` over the clean points: the model's energy scale.
    #[serde(default)]
    pub energy_spread: f64,
}

/// Flatness of `model` around `images` `[B, C, H, W]` (labels `[B]`) with `draws` random
/// perturbations per point drawn from `ball` (its norm and radius), and the gap to
/// `adversarial` `[B, C, H, W]`.
pub fn flatness(
    model: &dyn Classifier,
    images: &Tensor<4>,
    labels: &Tensor<1, Int>,
    adversarial: &Tensor<4>,
    threat: &ThreatModel,
    draws: usize,
    seed: u64,
) -> Flatness {
    let energy = |x: Tensor<4>| joint_energy(model.logits(x), labels.clone());
    let clean = energy(images.clone());
    let [points, ..] = images.dims();
    let draws = draws.max(1);
    let mut change = vec![0f64; points];
    for draw in 0..draws {
        let moved = threat.random_start(images, rng::derive(seed, &[draw as u64]));
        for (total, value) in change
            .iter_mut()
            .zip(floats((energy(moved) - clean.clone()).abs()))
        {
            *total += f64::from(value) / draws as f64;
        }
    }
    let gap: Vec<f64> = floats(energy(adversarial.clone()) - clean.clone())
        .into_iter()
        .map(f64::from)
        .collect();
    let clean: Vec<f64> = floats(clean).into_iter().map(f64::from).collect();
    Flatness {
        random_change: mean(&change),
        adversarial_gap: mean(&gap),
        points,
        random_change_per_point: change,
        adversarial_gap_per_point: gap,
        energy_spread: standard_deviation(&clean),
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The sample standard deviation (0 for fewer than two values).
fn standard_deviation(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values);
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}
