//! The small MNIST network of advertorch's tutorials and pretrained models ("LeNet5" there):
//! conv 1→32 3×3 pad 1, ReLU, max-pool 2; conv 32→64 3×3 pad 1, ReLU, max-pool 2;
//! linear 3136→200, ReLU; linear 200→10. Names `conv1, conv2, linear1, linear2`.

use crate::conv;
use crate::normalization::{Normalization, NormalizationSpec};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// Options of the MNIST CNN.
#[derive(Config, Debug, PartialEq)]
pub struct MnistCnnConfig {
    /// Output classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Input side length (28 for MNIST); must be divisible by 4.
    #[config(default = 28)]
    pub input_size: usize,
    /// Input normalisation applied first.
    #[config(default = "NormalizationSpec::None")]
    pub normalization: NormalizationSpec,
}

/// The network.
#[derive(Module, Debug)]
pub struct MnistCnn {
    normalization: Normalization,
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    linear1: Linear,
    linear2: Linear,
}

impl MnistCnnConfig {
    /// Builds the network with fresh weights.
    pub fn init(&self, device: &Device) -> MnistCnn {
        let conv = |channels| {
            Conv2dConfig::new(channels, [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        let side = self.input_size / 4;
        MnistCnn {
            normalization: self.normalization.build(),
            conv1: conv([self.in_channels, 32]),
            conv2: conv([32, 64]),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            linear1: LinearConfig::new(64 * side * side, 200).init(device),
            linear2: LinearConfig::new(200, self.num_classes).init(device),
        }
    }
}

impl MnistCnn {
    /// Logits `[B, K]` of images `[B, C, H, W]` in [0, 1].
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.normalization.forward(images);
        let x = self.max_pool(conv::forward_relu(&self.conv1, x));
        let x = self.max_pool(conv::forward_relu(&self.conv2, x));
        // Flatten in PyTorch's (C, H, W) order so imported weights line up.
        let x: Tensor<2> = x.flatten(1, 3);
        self.linear2.forward(relu(self.linear1.forward(x)))
    }

    /// 2×2 max pooling: flex's own kernel in inference where `flex-kernels` is on (same values,
    /// a fraction of the time), burn's pooling otherwise.
    fn max_pool(&self, x: Tensor<4>) -> Tensor<4> {
        #[cfg(feature = "flex-kernels")]
        if let Some(pooled) = crate::flex_pool::max_pool_2x2(&x) {
            return pooled;
        }
        self.pool.forward(x)
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.linear2.weight.dims()[1]
    }
}
