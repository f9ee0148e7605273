//! Fréchet Inception Distance: mean and covariance of pool3 features accumulated in float64, and
//! `‖mu1 - mu2‖² + tr(S1 + S2 - 2 (S1 S2)^½)` with the trace of the square root computed in
//! float64 as `Σ √λ` over the eigenvalues of the symmetric `S1^½ S2 S1^½` (faer).

use crate::error::MetricsError;
use faer::{Mat, Side};

/// Feature mean and covariance of a set of images.
#[derive(Debug, Clone, PartialEq)]
pub struct Statistics {
    /// Images seen.
    pub count: usize,
    /// `d` means.
    pub mu: Vec<f64>,
    /// `d × d` covariance (unbiased), row-major.
    pub sigma: Vec<f64>,
}

impl Statistics {
    /// The feature dimension.
    pub fn dim(&self) -> usize {
        self.mu.len()
    }
}

/// Running sums of features, in float64.
#[derive(Debug, Clone)]
pub struct Accumulator {
    dim: usize,
    count: usize,
    sum: Vec<f64>,
    outer: Mat<f64>,
}

impl Accumulator {
    /// Nothing seen yet, features of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            count: 0,
            sum: vec![0.0; dim],
            outer: Mat::zeros(dim, dim),
        }
    }

    /// Adds `rows` feature vectors stored one after the other in `features`.
    pub fn add(&mut self, features: &[f32]) {
        let rows = features.len() / self.dim;
        if rows == 0 {
            return;
        }
        let batch =
            Mat::<f64>::from_fn(rows, self.dim, |r, c| f64::from(features[r * self.dim + c]));
        for r in 0..rows {
            for c in 0..self.dim {
                self.sum[c] += batch[(r, c)];
            }
        }
        self.outer += batch.transpose() * &batch;
        self.count += rows;
    }

    /// Images seen so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Mean and unbiased covariance; needs at least two images.
    pub fn finish(&self) -> Result<Statistics, MetricsError> {
        let n = self.count;
        if n < 2 {
            return Err(MetricsError::Invalid(format!(
                "statistics need at least 2 images, got {n}"
            )));
        }
        let mu: Vec<f64> = self.sum.iter().map(|s| s / n as f64).collect();
        let mut sigma = vec![0.0; self.dim * self.dim];
        for r in 0..self.dim {
            for c in 0..self.dim {
                sigma[r * self.dim + c] =
                    (self.outer[(r, c)] - n as f64 * mu[r] * mu[c]) / (n - 1) as f64;
            }
        }
        Ok(Statistics {
            count: n,
            mu,
            sigma,
        })
    }
}

fn matrix(values: &[f64], d: usize) -> Mat<f64> {
    Mat::from_fn(d, d, |r, c| 0.5 * (values[r * d + c] + values[c * d + r]))
}

/// The symmetric square root of a positive semi-definite matrix (negative eigenvalues from
/// rounding are treated as 0).
fn sqrt_psd(m: &Mat<f64>) -> Result<Mat<f64>, MetricsError> {
    let eigen = m
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| MetricsError::Invalid(format!("eigendecomposition failed: {e:?}")))?;
    let (u, s) = (eigen.U(), eigen.S());
    let d = m.nrows();
    let scaled = Mat::<f64>::from_fn(d, d, |r, c| u[(r, c)] * s[c].max(0.0).sqrt());
    Ok(&scaled * u.transpose())
}

/// The Fréchet distance between two Gaussians.
pub fn frechet_distance(a: &Statistics, b: &Statistics) -> Result<f64, MetricsError> {
    let d = a.dim();
    if b.dim() != d || a.sigma.len() != d * d || b.sigma.len() != d * d {
        return Err(MetricsError::Invalid(format!(
            "statistics of dimension {d} and {} cannot be compared",
            b.dim()
        )));
    }
    let (s1, s2) = (matrix(&a.sigma, d), matrix(&b.sigma, d));
    let root = sqrt_psd(&s1)?;
    let inner = &root * &s2 * &root;
    let inner = Mat::<f64>::from_fn(d, d, |r, c| 0.5 * (inner[(r, c)] + inner[(c, r)]));
    let eigenvalues = inner
        .self_adjoint_eigenvalues(Side::Lower)
        .map_err(|e| MetricsError::Invalid(format!("eigenvalues failed: {e:?}")))?;
    let trace_sqrt: f64 = eigenvalues.iter().map(|&l| l.max(0.0).sqrt()).sum();
    let mean_term: f64 = a.mu.iter().zip(&b.mu).map(|(x, y)| (x - y).powi(2)).sum();
    let traces: f64 = (0..d).map(|i| s1[(i, i)] + s2[(i, i)]).sum();
    Ok(mean_term + traces - 2.0 * trace_sqrt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian(mu: Vec<f64>, sigma: Vec<f64>) -> Statistics {
        Statistics {
            count: 100,
            mu,
            sigma,
        }
    }

    #[test]
    fn equal_gaussians_are_at_distance_zero() {
        let s = gaussian(
            vec![0.3, -1.0, 2.0],
            vec![2.0, 0.5, 0.1, 0.5, 1.0, 0.2, 0.1, 0.2, 0.7],
        );
        assert!(frechet_distance(&s, &s).unwrap().abs() < 1e-10);
    }

    #[test]
    fn diagonal_covariances_follow_the_scalar_formula() {
        let (v1, v2) = ([1.0, 4.0, 0.25], [9.0, 1.0, 0.25]);
        let diag = |v: [f64; 3]| {
            (0..9)
                .map(|k| if k % 4 == 0 { v[k / 4] } else { 0.0 })
                .collect::<Vec<_>>()
        };
        let a = gaussian(vec![0.0, 1.0, 2.0], diag(v1));
        let b = gaussian(vec![1.0, 1.0, 0.0], diag(v2));
        let expected: f64 = 1.0
            + 4.0
            + (0..3)
                .map(|i| v1[i] + v2[i] - 2.0 * (v1[i] * v2[i]).sqrt())
                .sum::<f64>();
        assert!((frechet_distance(&a, &b).unwrap() - expected).abs() < 1e-10);
    }

    #[test]
    fn accumulated_statistics_equal_a_direct_computation() {
        let features: Vec<f32> = (0..30).map(|i| ((i * 7) % 11) as f32 / 3.0).collect();
        let mut acc = Accumulator::new(3);
        acc.add(&features[..12]);
        acc.add(&features[12..]);
        let stats = acc.finish().unwrap();
        let rows: Vec<&[f32]> = features.chunks(3).collect();
        let n = rows.len() as f64;
        for c in 0..3 {
            let mean = rows.iter().map(|r| f64::from(r[c])).sum::<f64>() / n;
            assert!((stats.mu[c] - mean).abs() < 1e-12);
            let var = rows
                .iter()
                .map(|r| (f64::from(r[c]) - mean).powi(2))
                .sum::<f64>()
                / (n - 1.0);
            assert!((stats.sigma[c * 3 + c] - var).abs() < 1e-10);
        }
        assert!(Accumulator::new(3).finish().is_err());
    }
}
