//! Inception-v3 as the FID and IS protocols define it: the 2015-12-05 TensorFlow graph as
//! ported by pytorch-fid (1008 output classes, average pools that do not count padding, a max
//! pool in the last block's pooling branch, batch-norm eps 1e-3). Parameter names follow
//! pytorch-fid's state dict (`Conv2d_1a_3x3.conv.weight`, `Mixed_5b.branch1x1.bn.weight`, …,
//! `fc.weight`), so its `.pth` file loads directly.

#![allow(non_snake_case)]

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

/// Convolution without bias, batch norm (eps 1e-3), ReLU.
#[derive(Module, Debug)]
pub struct BasicConv2d {
    conv: Conv2d,
    bn: BatchNorm,
}

impl BasicConv2d {
    fn new(
        channels: [usize; 2],
        kernel: [usize; 2],
        stride: usize,
        padding: [usize; 2],
        device: &Device,
    ) -> Self {
        Self {
            conv: Conv2dConfig::new(channels, kernel)
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(
                    padding[0], padding[1], padding[0], padding[1],
                ))
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(channels[1])
                .with_epsilon(1e-3)
                .init(device),
        }
    }

    fn square(
        channels: [usize; 2],
        kernel: usize,
        stride: usize,
        padding: usize,
        device: &Device,
    ) -> Self {
        Self::new(
            channels,
            [kernel, kernel],
            stride,
            [padding, padding],
            device,
        )
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        jeat_models::conv::forward_bn_relu(&self.conv, &self.bn, x)
    }
}

/// 3×3 average pool, stride 1, padding 1, padding not counted (the TF graph's pooling).
fn branch_avg_pool() -> AvgPool2d {
    AvgPool2dConfig::new([3, 3])
        .with_strides([1, 1])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_count_include_pad(false)
        .init()
}

fn reduction_max_pool() -> MaxPool2d {
    MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).init()
}

/// Mixed_5b/5c/5d.
#[derive(Module, Debug)]
pub struct InceptionA {
    branch1x1: BasicConv2d,
    branch5x5_1: BasicConv2d,
    branch5x5_2: BasicConv2d,
    branch3x3dbl_1: BasicConv2d,
    branch3x3dbl_2: BasicConv2d,
    branch3x3dbl_3: BasicConv2d,
    branch_pool: BasicConv2d,
    pool: AvgPool2d,
}

impl InceptionA {
    fn new(input: usize, pool_features: usize, d: &Device) -> Self {
        Self {
            branch1x1: BasicConv2d::square([input, 64], 1, 1, 0, d),
            branch5x5_1: BasicConv2d::square([input, 48], 1, 1, 0, d),
            branch5x5_2: BasicConv2d::square([48, 64], 5, 1, 2, d),
            branch3x3dbl_1: BasicConv2d::square([input, 64], 1, 1, 0, d),
            branch3x3dbl_2: BasicConv2d::square([64, 96], 3, 1, 1, d),
            branch3x3dbl_3: BasicConv2d::square([96, 96], 3, 1, 1, d),
            branch_pool: BasicConv2d::square([input, pool_features], 1, 1, 0, d),
            pool: branch_avg_pool(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b5 = self
            .branch5x5_2
            .forward(self.branch5x5_1.forward(x.clone()));
        let b3 = self.branch3x3dbl_3.forward(
            self.branch3x3dbl_2
                .forward(self.branch3x3dbl_1.forward(x.clone())),
        );
        let bp = self.branch_pool.forward(self.pool.forward(x));
        Tensor::cat(vec![b1, b5, b3, bp], 1)
    }
}

/// Mixed_6a.
#[derive(Module, Debug)]
pub struct InceptionB {
    branch3x3: BasicConv2d,
    branch3x3dbl_1: BasicConv2d,
    branch3x3dbl_2: BasicConv2d,
    branch3x3dbl_3: BasicConv2d,
    pool: MaxPool2d,
}

impl InceptionB {
    fn new(input: usize, d: &Device) -> Self {
        Self {
            branch3x3: BasicConv2d::square([input, 384], 3, 2, 0, d),
            branch3x3dbl_1: BasicConv2d::square([input, 64], 1, 1, 0, d),
            branch3x3dbl_2: BasicConv2d::square([64, 96], 3, 1, 1, d),
            branch3x3dbl_3: BasicConv2d::square([96, 96], 3, 2, 0, d),
            pool: reduction_max_pool(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self.branch3x3.forward(x.clone());
        let bd = self.branch3x3dbl_3.forward(
            self.branch3x3dbl_2
                .forward(self.branch3x3dbl_1.forward(x.clone())),
        );
        Tensor::cat(vec![b3, bd, self.pool.forward(x)], 1)
    }
}

/// Mixed_6b…6e.
#[derive(Module, Debug)]
pub struct InceptionC {
    branch1x1: BasicConv2d,
    branch7x7_1: BasicConv2d,
    branch7x7_2: BasicConv2d,
    branch7x7_3: BasicConv2d,
    branch7x7dbl_1: BasicConv2d,
    branch7x7dbl_2: BasicConv2d,
    branch7x7dbl_3: BasicConv2d,
    branch7x7dbl_4: BasicConv2d,
    branch7x7dbl_5: BasicConv2d,
    branch_pool: BasicConv2d,
    pool: AvgPool2d,
}

impl InceptionC {
    fn new(input: usize, c7: usize, d: &Device) -> Self {
        let row = |c: [usize; 2]| BasicConv2d::new(c, [1, 7], 1, [0, 3], d);
        let column = |c: [usize; 2]| BasicConv2d::new(c, [7, 1], 1, [3, 0], d);
        Self {
            branch1x1: BasicConv2d::square([input, 192], 1, 1, 0, d),
            branch7x7_1: BasicConv2d::square([input, c7], 1, 1, 0, d),
            branch7x7_2: row([c7, c7]),
            branch7x7_3: column([c7, 192]),
            branch7x7dbl_1: BasicConv2d::square([input, c7], 1, 1, 0, d),
            branch7x7dbl_2: column([c7, c7]),
            branch7x7dbl_3: row([c7, c7]),
            branch7x7dbl_4: column([c7, c7]),
            branch7x7dbl_5: row([c7, 192]),
            branch_pool: BasicConv2d::square([input, 192], 1, 1, 0, d),
            pool: branch_avg_pool(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b7 = self.branch7x7_3.forward(
            self.branch7x7_2
                .forward(self.branch7x7_1.forward(x.clone())),
        );
        let mut bd = self.branch7x7dbl_1.forward(x.clone());
        for layer in [
            &self.branch7x7dbl_2,
            &self.branch7x7dbl_3,
            &self.branch7x7dbl_4,
            &self.branch7x7dbl_5,
        ] {
            bd = layer.forward(bd);
        }
        let bp = self.branch_pool.forward(self.pool.forward(x));
        Tensor::cat(vec![b1, b7, bd, bp], 1)
    }
}

/// Mixed_7a.
#[derive(Module, Debug)]
pub struct InceptionD {
    branch3x3_1: BasicConv2d,
    branch3x3_2: BasicConv2d,
    branch7x7x3_1: BasicConv2d,
    branch7x7x3_2: BasicConv2d,
    branch7x7x3_3: BasicConv2d,
    branch7x7x3_4: BasicConv2d,
    pool: MaxPool2d,
}

impl InceptionD {
    fn new(input: usize, d: &Device) -> Self {
        Self {
            branch3x3_1: BasicConv2d::square([input, 192], 1, 1, 0, d),
            branch3x3_2: BasicConv2d::square([192, 320], 3, 2, 0, d),
            branch7x7x3_1: BasicConv2d::square([input, 192], 1, 1, 0, d),
            branch7x7x3_2: BasicConv2d::new([192, 192], [1, 7], 1, [0, 3], d),
            branch7x7x3_3: BasicConv2d::new([192, 192], [7, 1], 1, [3, 0], d),
            branch7x7x3_4: BasicConv2d::square([192, 192], 3, 2, 0, d),
            pool: reduction_max_pool(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self
            .branch3x3_2
            .forward(self.branch3x3_1.forward(x.clone()));
        let mut b7 = self.branch7x7x3_1.forward(x.clone());
        for layer in [
            &self.branch7x7x3_2,
            &self.branch7x7x3_3,
            &self.branch7x7x3_4,
        ] {
            b7 = layer.forward(b7);
        }
        Tensor::cat(vec![b3, b7, self.pool.forward(x)], 1)
    }
}

/// Mixed_7b (average-pool branch) and Mixed_7c (max-pool branch, as in the TF graph).
#[derive(Module, Debug)]
pub struct InceptionE {
    branch1x1: BasicConv2d,
    branch3x3_1: BasicConv2d,
    branch3x3_2a: BasicConv2d,
    branch3x3_2b: BasicConv2d,
    branch3x3dbl_1: BasicConv2d,
    branch3x3dbl_2: BasicConv2d,
    branch3x3dbl_3a: BasicConv2d,
    branch3x3dbl_3b: BasicConv2d,
    branch_pool: BasicConv2d,
    avg: AvgPool2d,
    max: MaxPool2d,
    #[module(skip)]
    max_pool_branch: bool,
}

impl InceptionE {
    fn new(input: usize, max_pool_branch: bool, d: &Device) -> Self {
        Self {
            branch1x1: BasicConv2d::square([input, 320], 1, 1, 0, d),
            branch3x3_1: BasicConv2d::square([input, 384], 1, 1, 0, d),
            branch3x3_2a: BasicConv2d::new([384, 384], [1, 3], 1, [0, 1], d),
            branch3x3_2b: BasicConv2d::new([384, 384], [3, 1], 1, [1, 0], d),
            branch3x3dbl_1: BasicConv2d::square([input, 448], 1, 1, 0, d),
            branch3x3dbl_2: BasicConv2d::square([448, 384], 3, 1, 1, d),
            branch3x3dbl_3a: BasicConv2d::new([384, 384], [1, 3], 1, [0, 1], d),
            branch3x3dbl_3b: BasicConv2d::new([384, 384], [3, 1], 1, [1, 0], d),
            branch_pool: BasicConv2d::square([input, 192], 1, 1, 0, d),
            avg: branch_avg_pool(),
            max: MaxPool2dConfig::new([3, 3])
                .with_strides([1, 1])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            max_pool_branch,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let a = self.branch3x3_1.forward(x.clone());
        let b3 = Tensor::cat(
            vec![
                self.branch3x3_2a.forward(a.clone()),
                self.branch3x3_2b.forward(a),
            ],
            1,
        );
        let d = self
            .branch3x3dbl_2
            .forward(self.branch3x3dbl_1.forward(x.clone()));
        let bd = Tensor::cat(
            vec![
                self.branch3x3dbl_3a.forward(d.clone()),
                self.branch3x3dbl_3b.forward(d),
            ],
            1,
        );
        let pooled = if self.max_pool_branch {
            self.max.forward(x)
        } else {
            self.avg.forward(x)
        };
        Tensor::cat(vec![b1, b3, bd, self.branch_pool.forward(pooled)], 1)
    }
}

/// The FID Inception-v3.
#[derive(Module, Debug)]
pub struct FidInception {
    Conv2d_1a_3x3: BasicConv2d,
    Conv2d_2a_3x3: BasicConv2d,
    Conv2d_2b_3x3: BasicConv2d,
    Conv2d_3b_1x1: BasicConv2d,
    Conv2d_4a_3x3: BasicConv2d,
    Mixed_5b: InceptionA,
    Mixed_5c: InceptionA,
    Mixed_5d: InceptionA,
    Mixed_6a: InceptionB,
    Mixed_6b: InceptionC,
    Mixed_6c: InceptionC,
    Mixed_6d: InceptionC,
    Mixed_6e: InceptionC,
    Mixed_7a: InceptionD,
    Mixed_7b: InceptionE,
    Mixed_7c: InceptionE,
    fc: Linear,
    stem_pool: MaxPool2d,
}

/// Width of the pool3 features (FID, KID).
pub const POOL3_DIM: usize = 2048;

/// Classes of the 1008-way output layer (IS).
pub const LOGIT_CLASSES: usize = 1008;

/// The network's outputs for a batch.
#[derive(Debug, Clone)]
pub struct InceptionOutput {
    /// `[B, 2048]`: pool3 features (FID, KID).
    pub pool3: Tensor<2>,
    /// `[B, 1008]`: logits of the 1008-way layer without its bias, `pool3 · Wᵀ`: what the
    /// original TensorFlow Inception Score and torch-fidelity use (the bias would shift a
    /// CIFAR-10 IS by about 2.5 %).
    pub logits: Tensor<2>,
}

impl FidInception {
    /// The network with fresh weights (load real ones with [`crate::weights`]).
    pub fn new(device: &Device) -> Self {
        Self {
            Conv2d_1a_3x3: BasicConv2d::square([3, 32], 3, 2, 0, device),
            Conv2d_2a_3x3: BasicConv2d::square([32, 32], 3, 1, 0, device),
            Conv2d_2b_3x3: BasicConv2d::square([32, 64], 3, 1, 1, device),
            Conv2d_3b_1x1: BasicConv2d::square([64, 80], 1, 1, 0, device),
            Conv2d_4a_3x3: BasicConv2d::square([80, 192], 3, 1, 0, device),
            Mixed_5b: InceptionA::new(192, 32, device),
            Mixed_5c: InceptionA::new(256, 64, device),
            Mixed_5d: InceptionA::new(288, 64, device),
            Mixed_6a: InceptionB::new(288, device),
            Mixed_6b: InceptionC::new(768, 128, device),
            Mixed_6c: InceptionC::new(768, 160, device),
            Mixed_6d: InceptionC::new(768, 160, device),
            Mixed_6e: InceptionC::new(768, 192, device),
            Mixed_7a: InceptionD::new(768, device),
            Mixed_7b: InceptionE::new(1280, false, device),
            Mixed_7c: InceptionE::new(2048, true, device),
            fc: LinearConfig::new(POOL3_DIM, LOGIT_CLASSES).init(device),
            stem_pool: reduction_max_pool(),
        }
    }

    /// Outputs for preprocessed images `[B, 3, 299, 299]` (see [`crate::preprocess`]).
    pub fn forward(&self, x: Tensor<4>) -> InceptionOutput {
        let x = self.Conv2d_1a_3x3.forward(x);
        let x = self.Conv2d_2b_3x3.forward(self.Conv2d_2a_3x3.forward(x));
        let x = self.stem_pool.forward(x);
        let x = self.Conv2d_4a_3x3.forward(self.Conv2d_3b_1x1.forward(x));
        let x = self.stem_pool.forward(x);
        let x = self
            .Mixed_5d
            .forward(self.Mixed_5c.forward(self.Mixed_5b.forward(x)));
        let x = self.Mixed_6a.forward(x);
        let x = self.Mixed_6e.forward(
            self.Mixed_6d
                .forward(self.Mixed_6c.forward(self.Mixed_6b.forward(x))),
        );
        let x = self
            .Mixed_7c
            .forward(self.Mixed_7b.forward(self.Mixed_7a.forward(x)));
        let [b, c, _, _] = x.dims();
        let pool3 = x.mean_dim(3).mean_dim(2).reshape([b, c]);
        InceptionOutput {
            logits: self.unbiased_logits(pool3.clone()),
            pool3,
        }
    }

    /// `[B, 1008]` logits of pool3 features `[B, 2048]` without the `fc` bias.
    fn unbiased_logits(&self, pool3: Tensor<2>) -> Tensor<2> {
        // burn stores a Linear's weight as `[d_in, d_out]`: `x · weight` is PyTorch's `x · Wᵀ`.
        pool3.matmul(self.fc.weight.val())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Inception Score's logits leave out the `fc` bias (torch-fidelity's `logits_unbiased`).
    #[test]
    fn is_logits_leave_out_the_fc_bias() {
        let device = jeat_core::testing::device();
        let mut model = FidInception::new(&device);
        model.fc.bias = Some(burn::module::Param::from_tensor(Tensor::<1>::full(
            [1008],
            0.5,
            &device,
        )));
        let pool3 = Tensor::<2>::random(
            [3, 2048],
            burn::tensor::Distribution::Uniform(0.0, 1.0),
            &device,
        );
        let ours = model.unbiased_logits(pool3.clone());
        let with_bias = model.fc.forward(pool3);
        let difference: Vec<f32> = (with_bias - ours).into_data().try_to_vec().unwrap();
        assert!(
            difference.iter().all(|d| (d - 0.5).abs() < 1e-4),
            "the logits are not pool3 · Wᵀ"
        );
    }
}
