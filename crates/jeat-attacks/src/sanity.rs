//! The warnings AutoAttack prints about a defence that may defeat gradient-based evaluation:
//! a randomised model, outputs that are already probabilities, zero gradients, and the
//! black-box Square attack succeeding where every white-box attack failed.

use crate::engine::gradient;
use crate::util::floats;
use burn::prelude::*;
use jeat_energy::{PointLoss, Reference};
use jeat_models::Classifier;

/// A reason to distrust a robust-accuracy number.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "flag", rename_all = "kebab-case")]
pub enum SanityFlag {
    /// Two forward passes on the same inputs differ: the model is randomised, and attacks
    /// should average gradients over randomness (EOT).
    Randomized {
        /// The largest difference between the two passes' logits.
        max_difference: f64,
    },
    /// Every output row is non-negative and sums to 1: a softmax inside the model squashes
    /// gradients; attacks need logits.
    ProbabilityOutputs,
    /// The cross-entropy gradient is exactly zero on some points: gradient masking, or
    /// saturated outputs.
    ZeroGradients {
        /// How many of the checked points.
        points: usize,
        /// Out of how many.
        checked: usize,
    },
    /// Square (black-box) fooled points that all earlier white-box attacks missed: a sign of
    /// gradient masking.
    SquareAfterWhiteBox {
        /// How many points.
        points: usize,
    },
}

impl std::fmt::Display for SanityFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Randomized { max_difference } => write!(
                f,
                "the model is randomised (two forward passes differ by up to {max_difference:.3e}); gradient attacks may be weakened"
            ),
            Self::ProbabilityOutputs => {
                write!(
                    f,
                    "the model outputs look like probabilities (softmax inside the model?); attacks need logits"
                )
            }
            Self::ZeroGradients { points, checked } => write!(
                f,
                "the loss gradient is exactly zero on {points} of {checked} checked points: possible gradient masking"
            ),
            Self::SquareAfterWhiteBox { points } => write!(
                f,
                "Square (black-box) fooled {points} point(s) that every white-box attack missed: possible gradient masking"
            ),
        }
    }
}

/// The checks that need only the model and a batch: randomness, probability outputs and zero
/// gradients. `images` `[B, C, H, W]`, `labels` `[B]`.
pub fn check_model(
    model: &dyn Classifier,
    images: &Tensor<4>,
    labels: &Tensor<1, Int>,
) -> Vec<SanityFlag> {
    let mut flags = Vec::new();
    let first = model.logits(images.clone());
    let second = model.logits(images.clone());
    let max_difference = f64::from((first.clone() - second).abs().max().into_scalar::<f32>());
    if max_difference > 1e-5 {
        flags.push(SanityFlag::Randomized { max_difference });
    }
    let [batch, _] = first.dims();
    let values = floats(first);
    let classes = values.len() / batch.max(1);
    let probability_like = batch > 0
        && values.chunks(classes).all(|row| {
            row.iter().all(|&v| (0.0..=1.0).contains(&v))
                && (row.iter().sum::<f32>() - 1.0).abs() < 1e-4
        });
    if probability_like {
        flags.push(SanityFlag::ProbabilityOutputs);
    }
    let grad = gradient(
        model,
        images,
        PointLoss::CrossEntropy,
        &Reference::labels(labels.clone()),
    )
    .grad;
    let per_point = crate::threat::Norm::Linf.per_point(grad);
    let zero = floats(per_point).iter().filter(|&&g| g == 0.0).count();
    if zero > 0 {
        flags.push(SanityFlag::ZeroGradients {
            points: zero,
            checked: batch,
        });
    }
    flags
}
