//! Inception Score (Salimans et al. 2016), computed as torch-fidelity computes it: rows shuffled
//! with numpy's `RandomState(2020)`, the IS from the logits in float64
//! (`p · (log_softmax − log p̄)`), splits `[k·N/s, (k+1)·N/s)`; and the spread of a score over
//! its splits or subsets.

use crate::error::MetricsError;
use crate::numpy_rng::LegacyRandomState;

/// A score's mean and standard deviation over its splits or subsets.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (population, as numpy's default).
    pub std: f64,
}

/// The mean and population standard deviation of `values`.
pub(crate) fn spread(values: &[f64]) -> Spread {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    Spread { mean, std }
}

/// How the Inception Score splits its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IsSplits {
    /// Number of splits (10).
    pub splits: usize,
    /// Shuffle the rows first with numpy's `RandomState(seed)` (torch-fidelity: 2020); `None`
    /// keeps their order (the original TensorFlow code, which is only right for rows in random
    /// order: `jeat generate` writes its images class by class).
    pub shuffle_seed: Option<u32>,
}

impl Default for IsSplits {
    /// torch-fidelity's: 10 splits after a shuffle with seed 2020.
    fn default() -> Self {
        Self {
            splits: 10,
            shuffle_seed: Some(2020),
        }
    }
}

impl IsSplits {
    /// The split part of a protocol id: `10splits-shuffled2020` or `10splits-ordered`.
    pub fn id(&self) -> String {
        match self.shuffle_seed {
            Some(seed) => format!("{}splits-shuffled{seed}", self.splits),
            None => format!("{}splits-ordered", self.splits),
        }
    }
}

/// IS of `logits` (`rows × classes`, the 1008-way logits without the `fc` bias for the TF-2015
/// protocol): `exp(mean_x KL(p(y|x) ‖ p(y)))` per split, with `p = softmax(logits)` in float64.
pub fn inception_score(
    logits: &[f32],
    classes: usize,
    splits: IsSplits,
) -> Result<Spread, MetricsError> {
    let rows = logits.len() / classes.max(1);
    let parts = splits.splits;
    if parts == 0 || rows < parts {
        return Err(MetricsError::Invalid(format!(
            "the Inception Score needs at least {parts} images (one per split) and at least one split, got {rows}"
        )));
    }
    let order: Vec<usize> = match splits.shuffle_seed {
        Some(seed) => LegacyRandomState::new(seed).permutation(rows),
        None => (0..rows).collect(),
    };
    // Per row, in the shuffled order: p and log p.
    let (mut probs, mut log_probs) = (Vec::with_capacity(logits.len()), Vec::new());
    log_probs.reserve(logits.len());
    for &r in &order {
        let row = &logits[r * classes..(r + 1) * classes];
        let max = row
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let log_total = row
            .iter()
            .map(|&v| (f64::from(v) - max).exp())
            .sum::<f64>()
            .ln();
        for &v in row {
            let log_p = f64::from(v) - max - log_total;
            log_probs.push(log_p);
            probs.push(log_p.exp());
        }
    }
    let scores: Vec<f64> = (0..parts)
        .map(|k| {
            let (start, end) = (k * rows / parts, (k + 1) * rows / parts);
            let count = (end - start) as f64;
            let part = &probs[start * classes..end * classes];
            let log_part = &log_probs[start * classes..end * classes];
            let log_marginal: Vec<f64> = (0..classes)
                .map(|c| (part.iter().skip(c).step_by(classes).sum::<f64>() / count).ln())
                .collect();
            let kl: f64 = part
                .chunks(classes)
                .zip(log_part.chunks(classes))
                .map(|(p, log_p)| {
                    p.iter()
                        .zip(log_p)
                        .zip(&log_marginal)
                        .map(|((p, lp), lm)| p * (lp - lm))
                        .sum::<f64>()
                })
                .sum::<f64>()
                / count;
            kl.exp()
        })
        .collect();
    Ok(spread(&scores))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered(splits: usize) -> IsSplits {
        IsSplits {
            splits,
            shuffle_seed: None,
        }
    }

    /// Log-probabilities of a probability table, as logits.
    fn logits_of(probs: &[f64]) -> Vec<f32> {
        probs.iter().map(|&p| p.ln() as f32).collect()
    }

    #[test]
    fn inception_score_matches_hand_computed_tables() {
        // Confident and uniformly spread over 4 classes: IS = 4 in every split.
        let mut confident = Vec::new();
        for i in 0..40 {
            let mut row = vec![-60.0f32; 4];
            row[i % 4] = 0.0;
            confident.extend(row);
        }
        let score = inception_score(&confident, 4, ordered(10)).unwrap();
        assert!(
            (score.mean - 4.0).abs() < 1e-9 && score.std < 1e-9,
            "{score:?}"
        );
        // Every image uniform: KL = 0, IS = 1.
        let uniform = vec![0.0f32; 40 * 4];
        assert!((inception_score(&uniform, 4, ordered(10)).unwrap().mean - 1.0).abs() < 1e-12);
        // Two splits by hand: split 1 rows (0.9, 0.1), (0.1, 0.9): p(y) = (0.5, 0.5),
        // KL = 0.9 ln 1.8 + 0.1 ln 0.2 for both rows; split 2 rows (0.5, 0.5) twice: IS 1.
        let table = logits_of(&[0.9, 0.1, 0.1, 0.9, 0.5, 0.5, 0.5, 0.5]);
        let kl = 0.9f64 * 1.8f64.ln() + 0.1 * 0.2f64.ln();
        let score = inception_score(&table, 2, ordered(2)).unwrap();
        let (s1, s2) = (kl.exp(), 1.0);
        assert!((score.mean - (s1 + s2) / 2.0).abs() < 1e-6, "{score:?}");
        assert!((score.std - (s1 - s2) / 2.0).abs() < 1e-6);
        assert!(inception_score(&table, 2, ordered(10)).is_err());
        assert!(inception_score(&table, 2, ordered(0)).is_err());
    }

    /// Class-major rows (as `jeat generate` writes them): ordered splits each hold one class and
    /// score 1; shuffled splits see every class.
    #[test]
    fn shuffling_makes_class_major_rows_score_across_classes() {
        let mut rows = Vec::new();
        for i in 0..100 {
            let mut row = vec![-60.0f32; 10];
            row[i / 10] = 0.0;
            rows.extend(row);
        }
        let within = inception_score(&rows, 10, ordered(10)).unwrap();
        assert!((within.mean - 1.0).abs() < 1e-9, "{within:?}");
        let across = inception_score(&rows, 10, IsSplits::default()).unwrap();
        assert!(across.mean > 5.0, "{across:?}");
        assert_eq!(IsSplits::default().id(), "10splits-shuffled2020");
        assert_eq!(ordered(10).id(), "10splits-ordered");
    }
}
