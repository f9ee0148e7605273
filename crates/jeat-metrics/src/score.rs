//! Inception Score (Salimans et al. 2016, the original protocol: 10 ordered splits) and KID
//! (Bińkowski et al. 2018: unbiased MMD² with the cubic polynomial kernel, over random subsets).

use crate::error::MetricsError;
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

/// A score's mean and standard deviation over its splits or subsets.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (population, as numpy's default).
    pub std: f64,
}

fn spread(values: &[f64]) -> Spread {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    Spread { mean, std }
}

/// IS of class probabilities `probs` (`rows × classes`, each row summing to 1) in `splits`
/// consecutive splits (no shuffling): `exp(mean_x KL(p(y|x) ‖ p(y)))` per split.
pub fn inception_score(
    probs: &[f64],
    classes: usize,
    splits: usize,
) -> Result<Spread, MetricsError> {
    let rows = probs.len() / classes.max(1);
    if rows < splits || splits == 0 {
        return Err(MetricsError::Invalid(format!(
            "the Inception Score needs at least {splits} images, got {rows}"
        )));
    }
    let scores: Vec<f64> = (0..splits)
        .map(|k| {
            let (start, end) = (k * rows / splits, (k + 1) * rows / splits);
            let part = &probs[start * classes..end * classes];
            let count = (end - start) as f64;
            let marginal: Vec<f64> = (0..classes)
                .map(|c| part.iter().skip(c).step_by(classes).sum::<f64>() / count)
                .collect();
            let kl: f64 = part
                .chunks(classes)
                .map(|row| {
                    row.iter()
                        .zip(&marginal)
                        .filter(|(p, _)| **p > 0.0)
                        .map(|(p, m)| p * (p.ln() - m.ln()))
                        .sum::<f64>()
                })
                .sum::<f64>()
                / count;
            kl.exp()
        })
        .collect();
    Ok(spread(&scores))
}

/// The softmax of each row of `logits` (`rows × classes`), in float64.
pub fn softmax_rows(logits: &[f32], classes: usize) -> Vec<f64> {
    logits
        .chunks(classes)
        .flat_map(|row| {
            let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let exps: Vec<f64> = row.iter().map(|&v| f64::from(v - max).exp()).collect();
            let total: f64 = exps.iter().sum();
            exps.into_iter().map(move |e| e / total)
        })
        .collect()
}

/// KID between feature sets `a` and `b` (`rows × dim` each): the unbiased MMD² with kernel
/// `(xᵀy / dim + 1)³`, averaged over `subsets` random subsets of `subset_size` rows of each
/// (capped at the smaller set).
pub fn kernel_inception_distance(
    a: &[f32],
    b: &[f32],
    dim: usize,
    subsets: usize,
    subset_size: usize,
    seed: u64,
) -> Result<Spread, MetricsError> {
    let (na, nb) = (a.len() / dim, b.len() / dim);
    let m = subset_size.min(na).min(nb);
    if m < 2 {
        return Err(MetricsError::Invalid(format!(
            "KID needs at least 2 images in each set, got {na} and {nb}"
        )));
    }
    let kernel = |x: &[f32], y: &[f32]| {
        let dot: f64 = x
            .iter()
            .zip(y)
            .map(|(p, q)| f64::from(*p) * f64::from(*q))
            .sum();
        (dot / dim as f64 + 1.0).powi(3)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let estimates: Vec<f64> = (0..subsets.max(1))
        .map(|_| {
            let x: Vec<usize> = sample(&mut rng, na, m).into_vec();
            let y: Vec<usize> = sample(&mut rng, nb, m).into_vec();
            let (mut kxx, mut kyy, mut kxy) = (0.0, 0.0, 0.0);
            for i in 0..m {
                for j in 0..m {
                    if i != j {
                        kxx += kernel(row(a, x[i], dim), row(a, x[j], dim));
                        kyy += kernel(row(b, y[i], dim), row(b, y[j], dim));
                    }
                    kxy += kernel(row(a, x[i], dim), row(b, y[j], dim));
                }
            }
            let m = m as f64;
            kxx / (m * (m - 1.0)) + kyy / (m * (m - 1.0)) - 2.0 * kxy / (m * m)
        })
        .collect();
    Ok(spread(&estimates))
}

fn row(set: &[f32], i: usize, dim: usize) -> &[f32] {
    &set[i * dim..(i + 1) * dim]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inception_score_matches_hand_computed_tables() {
        // Confident and uniformly spread over 4 classes: IS = 4 in every split.
        let mut probs = Vec::new();
        for i in 0..40 {
            let mut row = vec![0.0; 4];
            row[i % 4] = 1.0;
            probs.extend(row);
        }
        let score = inception_score(&probs, 4, 10).unwrap();
        assert!(
            (score.mean - 4.0).abs() < 1e-12 && score.std < 1e-12,
            "{score:?}"
        );
        // Every image uniform: KL = 0, IS = 1.
        let uniform = vec![0.25; 40 * 4];
        assert!((inception_score(&uniform, 4, 10).unwrap().mean - 1.0).abs() < 1e-12);
        // Two splits by hand: split 1 rows (0.9, 0.1), (0.1, 0.9): p(y) = (0.5, 0.5),
        // KL = 0.9 ln 1.8 + 0.1 ln 0.2 for both rows; split 2 rows (0.5, 0.5) twice: IS 1.
        let table = [0.9, 0.1, 0.1, 0.9, 0.5, 0.5, 0.5, 0.5];
        let kl = 0.9f64 * 1.8f64.ln() + 0.1 * 0.2f64.ln();
        let score = inception_score(&table, 2, 2).unwrap();
        let (s1, s2) = (kl.exp(), 1.0);
        assert!((score.mean - (s1 + s2) / 2.0).abs() < 1e-12);
        assert!((score.std - (s1 - s2) / 2.0).abs() < 1e-12);
        assert!(inception_score(&table, 2, 10).is_err());
    }

    #[test]
    fn kid_is_near_zero_for_one_distribution_and_positive_for_two() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut draw = |shift: f32, n: usize| -> Vec<f32> {
            use rand::Rng;
            (0..n * 8)
                .map(|_| rng.random_range(-1.0..1.0f32) + shift)
                .collect()
        };
        let (a, b, c) = (draw(0.0, 300), draw(0.0, 300), draw(0.5, 300));
        let same = kernel_inception_distance(&a, &b, 8, 20, 100, 0).unwrap();
        let different = kernel_inception_distance(&a, &c, 8, 20, 100, 0).unwrap();
        assert!(same.mean.abs() < 3.0 * same.std.max(1e-3), "{same:?}");
        assert!(
            different.mean > 10.0 * same.mean.abs().max(1e-4),
            "{different:?} vs {same:?}"
        );
    }
}
