//! Energies of sets of points, for histograms.

use burn::prelude::*;
use jeat_energy::{joint_energy, marginal_energy};
use jeat_models::Classifier;

/// `E(x)` and `E(x, y)` of each point of a set.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Energies {
    /// Marginal energies.
    pub marginal: Vec<f64>,
    /// Joint energies with the given labels.
    pub joint: Vec<f64>,
}

impl Energies {
    /// Appends the energies of `images` `[B, C, H, W]` with `labels` `[B]`.
    pub fn add(&mut self, model: &dyn Classifier, images: Tensor<4>, labels: Tensor<1, Int>) {
        let logits = model.logits(images);
        let read = |t: Tensor<1>| {
            t.into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .expect("f64 energies")
        };
        self.marginal.extend(read(marginal_energy(logits.clone())));
        self.joint.extend(read(joint_energy(logits, labels)));
    }

    /// Mean of the marginal energies.
    pub fn mean_marginal(&self) -> f64 {
        mean(&self.marginal)
    }

    /// Mean of the joint energies.
    pub fn mean_joint(&self) -> f64 {
        mean(&self.joint)
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The energies of `images` with `labels` in one pass.
pub fn energies(model: &dyn Classifier, images: Tensor<4>, labels: Tensor<1, Int>) -> Energies {
    let mut e = Energies::default();
    e.add(model, images, labels);
    e
}
