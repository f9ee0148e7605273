//! End-of-epoch evaluation on the held-out validation split: clean accuracy, PGD accuracy (what
//! picks the best checkpoint, since robust accuracy falls late in training), and the mean
//! energies of clean, adversarial and sampled points.

use crate::error::TrainError;
use burn::prelude::*;
use jeat_attacks::{Attack, Norm, ThreatModel, pgd::Pgd};
use jeat_core::host::predictions;
use jeat_data::{Augmentation, ImageSet, batch_at};
use jeat_energy::marginal_energy;
use jeat_models::Classifier;

/// What the validation split says about the model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Validation {
    /// Points evaluated.
    pub points: usize,
    /// Clean accuracy (%).
    pub clean_accuracy: f64,
    /// Accuracy (%) under PGD-k at the evaluation eps.
    pub pgd_accuracy: f64,
    /// Mean `E(x)` of clean points.
    pub energy_clean: f64,
    /// Mean `E(x)` of the PGD points.
    pub energy_adversarial: f64,
}

/// Evaluates `model` (inference mode) on the first `points` images of `set`.
pub fn validate(
    model: &dyn Classifier,
    set: &ImageSet,
    points: usize,
    eps: f64,
    pgd_steps: usize,
    seed: u64,
    device: &Device,
) -> Result<Validation, TrainError> {
    let n = points.min(set.len());
    let attack = Pgd::madry(ThreatModel::new(Norm::Linf, eps)?, pgd_steps);
    let (mut clean, mut robust) = (0usize, 0usize);
    let (mut energy_clean, mut energy_adversarial) = (0f64, 0f64);
    let indices: Vec<usize> = (0..n).collect();
    for (b, chunk) in indices.chunks(256).enumerate() {
        let batch = batch_at(set, chunk, Augmentation::NONE, 0, 0, device);
        let labels: Vec<usize> = chunk.iter().map(|&i| set.label(i)).collect();
        let logits = model.logits(batch.images.clone());
        energy_clean += f64::from(marginal_energy(logits.clone()).sum().into_scalar::<f32>());
        let correct: Vec<bool> = predictions(logits)
            .iter()
            .zip(&labels)
            .map(|(p, y)| p == y)
            .collect();
        clean += correct.iter().filter(|&&c| c).count();
        let adversarial = attack
            .run(
                model,
                &batch.images,
                &batch.labels,
                jeat_core::rng::derive(seed, &[b as u64]),
            )?
            .adversarial;
        let logits = model.logits(adversarial);
        energy_adversarial += f64::from(marginal_energy(logits.clone()).sum().into_scalar::<f32>());
        // Robust: right before and after the attack.
        robust += predictions(logits)
            .iter()
            .zip(&labels)
            .zip(&correct)
            .filter(|((p, y), c)| **c && p == y)
            .count();
    }
    let total = n.max(1) as f64;
    Ok(Validation {
        points: n,
        clean_accuracy: 100.0 * clean as f64 / total,
        pgd_accuracy: 100.0 * robust as f64 / total,
        energy_clean: energy_clean / total,
        energy_adversarial: energy_adversarial / total,
    })
}
