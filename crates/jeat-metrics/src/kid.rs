//! KID (Bińkowski et al. 2018): the unbiased MMD² between two sets of features with the cubic
//! polynomial kernel `(xᵀy / dim + 1)³`, averaged over random subsets drawn as torch-fidelity
//! draws them (numpy's `RandomState(2020)`); and its standard error, from the U-statistic's
//! first-order variance, for deciding whether two KIDs differ.

use crate::error::MetricsError;
use crate::inception_score::{Spread, spread};
use crate::numpy_rng::LegacyRandomState;
use faer::Mat;

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

/// The rows per subset for sets of `na` and `nb` rows, at least 2.
fn subset_size(na: usize, nb: usize, subsets: KidSubsets) -> Result<usize, MetricsError> {
    let m = subsets.size_for(na, nb);
    if m < 2 {
        return Err(MetricsError::Invalid(format!(
            "KID needs at least 2 images in each set, got {na} and {nb}"
        )));
    }
    Ok(m)
}

/// KID's kernel `(xᵀy / dim + 1)³` between the rows of `x` and of `y`.
fn kernel(x: &Mat<f64>, y: &Mat<f64>, dim: usize) -> Mat<f64> {
    let gram = x * y.transpose();
    Mat::from_fn(gram.nrows(), gram.ncols(), |i, j| {
        (gram[(i, j)] / dim as f64 + 1.0).powi(3)
    })
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
    let m = subset_size(na, nb, subsets)?;
    let gather = |set: &[f32], rows: &[usize]| {
        Mat::<f64>::from_fn(rows.len(), dim, |r, c| f64::from(set[rows[r] * dim + c]))
    };
    let kernel = |x: &Mat<f64>, y: &Mat<f64>| kernel(x, y, dim);
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

/// The largest number of rows of each set [`kid_standard_error`] reads (evenly spaced through
/// the set): its cost is quadratic in them.
const STANDARD_ERROR_ROWS: usize = 2000;

/// The standard error of one KID subset estimate (`subsets.size_for` rows of each set) of `a`
/// against `b` (`rows × dim` each), from the first-order variance of the unbiased MMD²
/// U-statistic: `4·Var(h_a)/m + 4·Var(h_b)/m`, with `h_a(x) = E k(x, x') − E k(x, y)` and
/// `h_b(y) = E k(y, y') − E k(x, y)` estimated on (up to [`STANDARD_ERROR_ROWS`] of) the rows.
/// KID's spread over subsets is no error bar where the subsets are the whole sets (1,000
/// samples against 1,000 reference images: every subset is the same); this is one. Averaging
/// over subsets can only lower the error, so it is an upper bound for the reported mean.
pub fn kid_standard_error(
    a: &[f32],
    b: &[f32],
    dim: usize,
    subsets: KidSubsets,
) -> Result<f64, MetricsError> {
    let (na, nb) = (a.len() / dim, b.len() / dim);
    let m = subset_size(na, nb, subsets)?;
    let rows = |set: &[f32], n: usize| {
        let take = n.min(STANDARD_ERROR_ROWS);
        Mat::<f64>::from_fn(take, dim, |r, c| f64::from(set[(r * n / take) * dim + c]))
    };
    let (x, y) = (rows(a, na), rows(b, nb));
    let kernel = |p: &Mat<f64>, q: &Mat<f64>| kernel(p, q, dim);
    let (kxx, kyy, kxy) = (kernel(&x, &x), kernel(&y, &y), kernel(&x, &y));
    let (px, py) = (x.nrows(), y.nrows());
    // Mean of a row without its diagonal element, and of a full row or column of kxy.
    let within = |k: &Mat<f64>, i: usize, n: usize| {
        ((0..n).map(|j| k[(i, j)]).sum::<f64>() - k[(i, i)]) / (n - 1) as f64
    };
    let h_a: Vec<f64> = (0..px)
        .map(|i| within(&kxx, i, px) - (0..py).map(|j| kxy[(i, j)]).sum::<f64>() / py as f64)
        .collect();
    let h_b: Vec<f64> = (0..py)
        .map(|j| within(&kyy, j, py) - (0..px).map(|i| kxy[(i, j)]).sum::<f64>() / px as f64)
        .collect();
    let variance = |h: &[f64]| {
        let n = h.len() as f64;
        let mean = h.iter().sum::<f64>() / n;
        h.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)
    };
    Ok((4.0 * (variance(&h_a) + variance(&h_b)) / m as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn kid_is_near_zero_for_one_distribution_and_positive_for_two() {
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

    /// The standard error predicts how much KID scatters between independent draws of the
    /// same two distributions: 200 pairs of sets of 150 rows, each KID on the whole sets.
    #[test]
    fn the_standard_error_is_the_scatter_of_kid_over_draws() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut draw = |shift: f32, n: usize| -> Vec<f32> {
            (0..n * 8)
                .map(|k| rng.random_range(-1.0..1.0f32) + shift * (k % 8) as f32 / 8.0)
                .collect()
        };
        let whole = KidSubsets {
            subsets: 1,
            subset_size: 150,
            seed: 0,
        };
        let (mut estimates, mut errors) = (Vec::new(), Vec::new());
        for _ in 0..200 {
            let (a, b) = (draw(0.0, 150), draw(0.6, 150));
            estimates.push(kernel_inception_distance(&a, &b, 8, whole).unwrap().mean);
            errors.push(kid_standard_error(&a, &b, 8, whole).unwrap());
        }
        let scatter = spread(&estimates).std;
        let predicted = errors.iter().sum::<f64>() / errors.len() as f64;
        assert!(
            (predicted / scatter - 1.0).abs() < 0.2,
            "predicted {predicted}, observed scatter {scatter}"
        );
    }
}
