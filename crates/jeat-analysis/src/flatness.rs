//! How flat the joint energy is around data: `mean |E(x + δ, y) - E(x, y)|` over `δ` drawn
//! uniformly from a threat model's ball (clipped to the box), and the gap between the
//! joint energy of adversarial and clean points. The paper's claim: adversarial training makes
//! both small.

use burn::prelude::*;
use jeat_attacks::ThreatModel;
use jeat_core::rng;
use jeat_energy::joint_energy;
use jeat_models::Classifier;

/// Flatness numbers of a model on a set of points.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Flatness {
    /// Mean `|E(x + δ, y) - E(x, y)|` over random `δ` in the ball.
    pub random_change: f64,
    /// Mean `E(x_adv, y) - E(x, y)` (what an attack achieves).
    pub adversarial_gap: f64,
    /// Points used.
    pub points: usize,
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
    let mut change = 0f64;
    for draw in 0..draws.max(1) {
        let moved = threat.random_start(images, rng::derive(seed, &[draw as u64]));
        change += f64::from(
            (energy(moved) - clean.clone())
                .abs()
                .mean()
                .into_scalar::<f32>(),
        );
    }
    let gap = f64::from(
        (energy(adversarial.clone()) - clean)
            .mean()
            .into_scalar::<f32>(),
    );
    let [points, ..] = images.dims();
    Flatness {
        random_change: change / draws.max(1) as f64,
        adversarial_gap: gap,
        points,
    }
}
