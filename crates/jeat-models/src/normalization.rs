//! Input normalisation as the first layer of a model, so every model takes images in [0, 1]
//! and every epsilon is in pixel units.

use burn::prelude::*;

/// Per-channel `(x - mean) / std`, with constants (not trained, not saved as parameters).
#[derive(Module, Debug)]
pub struct Normalization {
    #[module(skip)]
    mean: Vec<f32>,
    #[module(skip)]
    std: Vec<f32>,
}

impl Normalization {
    /// Normalisation by the given per-channel statistics.
    pub fn new(mean: Vec<f32>, std: Vec<f32>) -> Self {
        assert_eq!(
            mean.len(),
            std.len(),
            "mean and std need one value per channel"
        );
        Self { mean, std }
    }

    /// The identity: inputs are used as they are.
    pub fn none() -> Self {
        Self::new(Vec::new(), Vec::new())
    }

    /// CIFAR-10 training-set statistics (the values robust-training code uses).
    pub fn cifar10() -> Self {
        Self::new(vec![0.4914, 0.4822, 0.4465], vec![0.2471, 0.2435, 0.2616])
    }

    /// Whether this is the identity.
    pub fn is_identity(&self) -> bool {
        self.mean.is_empty()
    }

    /// `[B, C, H, W]` → `[B, C, H, W]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<4> {
        if self.is_identity() {
            return images;
        }
        let channels = self.mean.len();
        let device = images.device();
        let mean =
            Tensor::<1>::from_floats(self.mean.as_slice(), &device).reshape([1, channels, 1, 1]);
        let std =
            Tensor::<1>::from_floats(self.std.as_slice(), &device).reshape([1, channels, 1, 1]);
        (images - mean) / std
    }
}

/// Which normalisation a model starts with.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NormalizationSpec {
    /// None: the network sees [0, 1] inputs.
    None,
    /// CIFAR-10 channel means and standard deviations.
    Cifar10,
    /// Explicit per-channel values.
    Custom {
        /// Per-channel mean.
        mean: Vec<f32>,
        /// Per-channel standard deviation.
        std: Vec<f32>,
    },
}

impl NormalizationSpec {
    /// The layer.
    pub fn build(&self) -> Normalization {
        match self {
            Self::None => Normalization::none(),
            Self::Cifar10 => Normalization::cifar10(),
            Self::Custom { mean, std } => Normalization::new(mean.clone(), std.clone()),
        }
    }
}
