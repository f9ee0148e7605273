//! The warnings AutoAttack prints about a defence that may defeat gradient-based evaluation:
//! a randomised model, outputs that are already probabilities, a dynamic defence, zero
//! gradients, too few classes for the targeted attacks, and the black-box Square attack
//! succeeding where every white-box attack failed.

use burn::prelude::*;
use jeat_core::host::floats;
use jeat_energy::{PointLoss, Reference};
use jeat_engine::steps::gradient;
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
    /// A point's logits depend on the other points of its batch (batch statistics in the
    /// forward pass, test-time adaptation): attacks on one batch say little about another.
    BatchDependent {
        /// The largest normalised difference between a point alone and inside its batch.
        max_difference: f64,
    },
    /// The suite asks a targeted attack for more target classes than the model has besides the
    /// label; it runs with the ones there are.
    TargetsCapped {
        /// The attack.
        attack: String,
        /// Targets asked for.
        requested: usize,
        /// Targets there are.
        available: usize,
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
    /// An attack started from points whose input gradient was exactly zero: it could not move
    /// them, so their "robustness" says nothing.
    ZeroGradientsInAttack {
        /// The attack.
        attack: String,
        /// How many points.
        points: usize,
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
            Self::BatchDependent { max_difference } => write!(
                f,
                "a point's logits depend on the rest of its batch (by up to {max_difference:.3e}): a dynamic defence? robust accuracy may not transfer between batches"
            ),
            Self::TargetsCapped {
                attack,
                requested,
                available,
            } => write!(
                f,
                "{attack} asks for {requested} target classes but the model has only {available} besides the label; it used {available}"
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
            Self::ZeroGradientsInAttack { attack, points } => write!(
                f,
                "{attack} started from an exactly zero input gradient on {points} point(s): it could not move them, so their robustness is unverified"
            ),
            Self::SquareAfterWhiteBox { points } => write!(
                f,
                "Square (black-box) fooled {points} point(s) that every white-box attack missed: possible gradient masking"
            ),
        }
    }
}

/// Forward passes the randomness check compares (the reference's 5).
pub const RANDOMNESS_PASSES: usize = 5;

/// The checks that need only the model and a batch, as the reference's `checks.py` makes them:
/// randomness (five passes: a normalised output difference above 1e-4 or a change in the count
/// correct), probability outputs (every value in [0, 1] and every row summing to 1, within
/// 1e-5), batch dependence (our stand-in for the reference's check for dynamic defences, which
/// traces gradient calls inside the forward pass: a point's logits must not depend on the
/// other points of its batch) and zero gradients of the cross-entropy. `images` `[B, C, H, W]`,
/// `labels` `[B]`.
pub fn check_model(
    model: &dyn Classifier,
    images: &Tensor<4>,
    labels: &Tensor<1, Int>,
) -> Vec<SanityFlag> {
    let mut flags = Vec::new();
    let label_values = jeat_core::host::ints(labels.clone());
    let passes: Vec<Vec<f32>> = (0..RANDOMNESS_PASSES)
        .map(|_| floats(model.logits(images.clone())))
        .collect();
    let [batch, ..] = images.dims();
    let classes = passes[0].len() / batch.max(1);
    let correct = |values: &[f32]| {
        values
            .chunks(classes.max(1))
            .zip(&label_values)
            .filter(|(row, y)| argmax(row) == **y)
            .count()
    };
    let counts: Vec<usize> = passes.iter().map(|p| correct(p)).collect();
    let normalised: Vec<Vec<f64>> = passes.iter().map(|p| normalise_rows(p, classes)).collect();
    let mut max_difference = 0.0f64;
    for a in 0..normalised.len() {
        for b in a + 1..normalised.len() {
            max_difference =
                max_difference.max(row_distance(&normalised[a], &normalised[b], classes));
        }
    }
    if max_difference > 1e-4 || counts.iter().any(|&c| c != counts[0]) {
        flags.push(SanityFlag::Randomized { max_difference });
    }
    let first = &passes[0];
    let probability_like = batch > 0
        && first.iter().all(|&v| v > -1e-5 && v < 1.0 + 1e-5)
        && first
            .chunks(classes.max(1))
            .all(|row| (row.iter().map(|&v| f64::from(v)).sum::<f64>() - 1.0).abs() < 1e-5);
    if probability_like {
        flags.push(SanityFlag::ProbabilityOutputs);
    }
    // Batch dependence: the first points alone against the same points inside the batch.
    let alone = batch.min(4);
    if batch > 1 {
        let singles: Vec<f32> = (0..alone)
            .flat_map(|i| floats(model.logits(images.clone().narrow(0, i, 1))))
            .collect();
        let difference = row_distance(
            &normalise_rows(&singles, classes),
            &normalise_rows(&first[..alone * classes], classes),
            classes,
        );
        if difference > 1e-4 {
            flags.push(SanityFlag::BatchDependent {
                max_difference: difference,
            });
        }
    }
    if let Ok(evaluated) = gradient(
        model,
        images,
        PointLoss::CrossEntropy,
        &Reference::labels(labels.clone()),
    ) {
        let zero = jeat_engine::steps::zero_gradient_points(&evaluated.grad)
            .iter()
            .filter(|&&z| z)
            .count();
        if zero > 0 {
            flags.push(SanityFlag::ZeroGradients {
                points: zero,
                checked: batch,
            });
        }
    }
    flags
}

fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv { (i, v) } else { (bi, bv) }
        })
        .0
}

/// Each row divided by its L2 norm (+1e-10), as the reference's randomness check does.
fn normalise_rows(values: &[f32], classes: usize) -> Vec<f64> {
    values
        .chunks(classes.max(1))
        .flat_map(|row| {
            let norm = row
                .iter()
                .map(|&v| f64::from(v).powi(2))
                .sum::<f64>()
                .sqrt()
                + 1e-10;
            row.iter().map(move |&v| f64::from(v) / norm)
        })
        .collect()
}

/// The largest L2 distance between corresponding rows.
fn row_distance(a: &[f64], b: &[f64], classes: usize) -> f64 {
    a.chunks(classes.max(1))
        .zip(b.chunks(classes.max(1)))
        .map(|(x, y)| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - q).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .fold(0.0, f64::max)
}
