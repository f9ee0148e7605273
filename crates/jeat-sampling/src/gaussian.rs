//! Class-conditional Gaussian seeds (Santurkar et al. 2019): for each class `y`, the mean and
//! full covariance of its images, `N(mu_y, Sigma_y + reg · I)`, sampled through a Cholesky
//! factor computed by `faer` (3072 × 3072 for CIFAR) and clamped to [0, 1].

use crate::error::SamplingError;
use burn::prelude::*;
use burn::tensor::TensorData;
use faer::{Mat, Side};
use jeat_data::{ImageSet, ImageShape};
use rand_distr::{Distribution, StandardNormal};

/// One Gaussian per class over flattened images in [0, 1].
#[derive(Debug, Clone)]
pub struct ClassGaussians {
    shape: ImageShape,
    means: Vec<Vec<f64>>,
    /// Lower Cholesky factors of `Sigma_y + reg · I`, `[d, d]`, kept in f32 (a CIFAR class's
    /// factor is 38 MB).
    factors: Vec<Mat<f32>>,
}

impl ClassGaussians {
    /// Fits every class of `set`: mean, unbiased covariance, plus `regularization · I`
    /// (1e-4 in the paper). A class with fewer than 2 images is an error.
    pub fn fit(set: &ImageSet, regularization: f64) -> Result<Self, SamplingError> {
        let shape = set.shape();
        let d = shape.num_pixels();
        let mut means = Vec::new();
        let mut factors = Vec::new();
        for class in 0..set.num_classes() {
            let members: Vec<usize> = (0..set.len()).filter(|&i| set.label(i) == class).collect();
            if members.len() < 2 {
                return Err(SamplingError::TooFewImages {
                    class,
                    count: members.len(),
                    needed: 2,
                });
            }
            let m = members.len();
            let mut mean = vec![0f64; d];
            for &i in &members {
                for (acc, &v) in mean.iter_mut().zip(set.image(i)) {
                    *acc += f64::from(v) / 255.0;
                }
            }
            mean.iter_mut().for_each(|v| *v /= m as f64);
            let centered = Mat::<f64>::from_fn(m, d, |r, c| {
                f64::from(set.image(members[r])[c]) / 255.0 - mean[c]
            });
            let mut covariance = centered.transpose() * &centered;
            for r in 0..d {
                for c in 0..d {
                    covariance[(r, c)] /= (m - 1) as f64;
                }
                covariance[(r, r)] += regularization;
            }
            let factor = covariance
                .llt(Side::Lower)
                .map_err(|e| SamplingError::Invalid(format!("class {class}: covariance is not positive definite ({e:?}); raise the regularisation")))?;
            let lower = factor.L();
            factors.push(Mat::<f32>::from_fn(d, d, |r, c| lower[(r, c)] as f32));
            means.push(mean);
        }
        Ok(Self {
            shape,
            means,
            factors,
        })
    }

    /// The image shape.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.means.len()
    }

    /// The mean of `class`, `d` values.
    pub fn mean(&self, class: usize) -> &[f64] {
        &self.means[class]
    }

    /// `L Lᵀ` of `class`: the fitted covariance plus the regularisation, `[d, d]`.
    pub fn covariance(&self, class: usize) -> Mat<f64> {
        let l = &self.factors[class];
        let l64 = Mat::<f64>::from_fn(l.nrows(), l.ncols(), |r, c| f64::from(l[(r, c)]));
        &l64 * l64.transpose()
    }

    /// Unclamped draws `mu + L z` for `classes` (one image per entry), `n × d` values.
    pub fn sample_raw(&self, classes: &[usize], seed: u64) -> Vec<f32> {
        let d = self.shape.num_pixels();
        let mut rng = jeat_core::rng::generator(seed);
        let mut out = vec![0f32; classes.len() * d];
        for class in 0..self.num_classes() {
            let rows: Vec<usize> = (0..classes.len())
                .filter(|&i| classes[i] == class)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let z = Mat::<f32>::from_fn(d, rows.len(), |_, _| {
                let v: f64 = StandardNormal.sample(&mut rng);
                v as f32
            });
            let draws = &self.factors[class] * &z;
            for (j, &row) in rows.iter().enumerate() {
                for k in 0..d {
                    out[row * d + k] = (self.means[class][k] + f64::from(draws[(k, j)])) as f32;
                }
            }
        }
        out
    }

    /// Seeds for `classes`, clamped to [0, 1]: `[n, C, H, W]`.
    pub fn sample(&self, classes: &[usize], seed: u64, device: &Device) -> Tensor<4> {
        let values: Vec<f32> = self
            .sample_raw(classes, seed)
            .into_iter()
            .map(|v| v.clamp(0.0, 1.0))
            .collect();
        let ImageShape {
            channels,
            height,
            width,
        } = self.shape;
        Tensor::from_data(
            TensorData::new(values, [classes.len(), channels, height, width]),
            device,
        )
    }
}
