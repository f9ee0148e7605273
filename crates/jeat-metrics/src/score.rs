//! Inception Score (Salimans et al. 2016) and KID (Bińkowski et al. 2018: the unbiased MMD² with
//! the cubic polynomial kernel, over random subsets), computed as torch-fidelity computes them:
//! rows shuffled (IS) and subsets drawn (KID) with numpy's `RandomState(2020)`, the IS from the
//! logits in float64 (`p · (log_softmax − log p̄)`), splits `[k·N/s, (k+1)·N/s)`.

use crate::error::MetricsError;
use crate::numpy_rng::LegacyRandomState;
use faer::Mat;

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

/// How KID draws its subsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KidSubsets {
    /// Subsets averaged over (torch-fidelity: 100).
    pub subsets: usize,
    /// Rows per subset (torch-fidelity: 1000), capped at the smaller set.
    pub subset_size: usize,
    /// numpy `RandomState` seed of the draws (torch-fidelity: 2020).
    pub seed: u32,
}

impl Default for KidSubsets {
    /// torch-fidelity's: 100 subsets of 1,000, seed 2020.
    fn default() -> Self {
        Self {
            subsets: 100,
            subset_size: 1000,
            seed: 2020,
        }
    }
}

impl KidSubsets {
    /// The size actually used for sets of `a` and `b` rows.
    pub fn size_for(&self, a: usize, b: usize) -> usize {
        self.subset_size.min(a).min(b)
    }
}

/// KID between feature sets `a` and `b` (`rows × dim` each): the unbiased MMD² with kernel
/// `(xᵀy / dim + 1)³`, in float64, averaged over `subsets.subsets` subsets of each set drawn
/// without replacement (`choice(n, m, replace=False)`, first of `a`, then of `b`).
pub fn kernel_inception_distance(
    a: &[f32],
    b: &[f32],
    dim: usize,
    subsets: KidSubsets,
) -> Result<Spread, MetricsError> {
    let (na, nb) = (a.len() / dim, b.len() / dim);
    let m = subsets.size_for(na, nb);
    if m < 2 {
        return Err(MetricsError::Invalid(format!(
            "KID needs at least 2 images in each set, got {na} and {nb}"
        )));
    }
    let gather = |set: &[f32], rows: &[usize]| {
        Mat::<f64>::from_fn(rows.len(), dim, |r, c| f64::from(set[rows[r] * dim + c]))
    };
    let kernel = |x: &Mat<f64>, y: &Mat<f64>| -> Mat<f64> {
        let gram = x * y.transpose();
        Mat::from_fn(gram.nrows(), gram.ncols(), |i, j| {
            (gram[(i, j)] / dim as f64 + 1.0).powi(3)
        })
    };
    let mut rng = LegacyRandomState::new(subsets.seed);
    let estimates: Vec<f64> = (0..subsets.subsets.max(1))
        .map(|_| {
            let x = gather(a, &rng.choice_without_replacement(na, m));
            let y = gather(b, &rng.choice_without_replacement(nb, m));
            let (kxx, kyy, kxy) = (kernel(&x, &x), kernel(&y, &y), kernel(&x, &y));
            let off_diagonal = |k: &Mat<f64>| {
                let mut total = 0.0;
                for i in 0..m {
                    for j in 0..m {
                        if i != j {
                            total += k[(i, j)];
                        }
                    }
                }
                total
            };
            let all: f64 = (0..m)
                .flat_map(|i| (0..m).map(move |j| (i, j)))
                .map(|(i, j)| kxy[(i, j)])
                .sum();
            let m = m as f64;
            (off_diagonal(&kxx) + off_diagonal(&kyy)) / (m * (m - 1.0)) - 2.0 * all / (m * m)
        })
        .collect();
    Ok(spread(&estimates))
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

    #[test]
    fn kid_is_near_zero_for_one_distribution_and_positive_for_two() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut draw = |shift: f32, n: usize| -> Vec<f32> {
            (0..n * 8)
                .map(|_| rng.random_range(-1.0..1.0f32) + shift)
                .collect()
        };
        let (a, b, c) = (draw(0.0, 300), draw(0.0, 300), draw(0.5, 300));
        let subsets = KidSubsets {
            subsets: 20,
            subset_size: 100,
            seed: 0,
        };
        let same = kernel_inception_distance(&a, &b, 8, subsets).unwrap();
        let different = kernel_inception_distance(&a, &c, 8, subsets).unwrap();
        assert!(same.mean.abs() < 3.0 * same.std.max(1e-3), "{same:?}");
        assert!(
            different.mean > 10.0 * same.mean.abs().max(1e-4),
            "{different:?} vs {same:?}"
        );
    }
}
