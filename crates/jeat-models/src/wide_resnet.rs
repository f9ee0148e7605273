//! WideResNet (Zagoruyko & Komodakis), the pre-activation variant of the adversarial-training
//! literature (TRADES, MART, AWP, RobustBench), with parameter names that match that code:
//! `conv1`, `block{1,2,3}.layer.{i}.{bn1,conv1,bn2,conv2,conv_shortcut}`, `bn1`, `fc`.
//! Batch norm can be switched off (JEM trains a norm-free WRN-28-10).

use crate::conv;
use crate::layers::{pool_and_classify, wrn_blocks};
use crate::normalization::{Normalization, NormalizationSpec};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// Shape and options of a WideResNet.
#[derive(Config, Debug, PartialEq)]
pub struct WideResNetConfig {
    /// Depth `6n + 4` (16, 28, 34, …).
    pub depth: usize,
    /// Width multiplier `k` (1, 4, 10, …).
    pub widen_factor: usize,
    /// Output classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Dropout probability between the two convolutions of a block.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Batch norm (true) or none (false, JEM's variant).
    #[config(default = true)]
    pub batch_norm: bool,
    /// Input normalisation applied first.
    #[config(default = "NormalizationSpec::None")]
    pub normalization: NormalizationSpec,
}

/// Batch norm when enabled, else nothing (named like the reference: `bn1` etc.).
fn batch_norm(enabled: bool, channels: usize, device: &Device) -> Option<BatchNorm> {
    enabled.then(|| BatchNormConfig::new(channels).init(device))
}

fn apply_norm(norm: &Option<BatchNorm>, x: Tensor<4>) -> Tensor<4> {
    match norm {
        Some(norm) => norm.forward(x),
        None => x,
    }
}

fn conv3x3(channels: [usize; 2], stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new(channels, [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(false)
        .init(device)
}

/// Pre-activation residual block: BN-ReLU-conv3×3-BN-ReLU-(dropout)-conv3×3, with a 1×1
/// shortcut convolution when the width changes.
#[derive(Module, Debug)]
pub struct BasicBlock {
    bn1: Option<BatchNorm>,
    conv1: Conv2d,
    bn2: Option<BatchNorm>,
    conv2: Conv2d,
    dropout: Dropout,
    conv_shortcut: Option<Conv2d>,
}

impl BasicBlock {
    fn new(
        channels: [usize; 2],
        stride: usize,
        config: &WideResNetConfig,
        device: &Device,
    ) -> Self {
        let [input, output] = channels;
        let conv_shortcut = (input != output).then(|| {
            Conv2dConfig::new([input, output], [1, 1])
                .with_stride([stride, stride])
                .with_bias(false)
                .init(device)
        });
        Self {
            bn1: batch_norm(config.batch_norm, input, device),
            conv1: conv3x3([input, output], stride, device),
            bn2: batch_norm(config.batch_norm, output, device),
            conv2: conv3x3([output, output], 1, device),
            dropout: DropoutConfig::new(config.dropout).init(),
            conv_shortcut,
        }
    }

    /// `[B, Cin, H, W]` → `[B, Cout, H/stride, W/stride]`.
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let activated = relu(apply_norm(&self.bn1, x.clone()));
        let out = match &self.bn2 {
            Some(bn2) => conv::forward_bn_relu(&self.conv1, bn2, activated.clone()),
            None => conv::forward_relu(&self.conv1, activated.clone()),
        };
        let out = self.dropout.forward(out);
        let out = conv::forward(&self.conv2, out);
        // As in the reference code, a widening shortcut sees the activated input.
        let shortcut = match &self.conv_shortcut {
            Some(shortcut) => conv::forward(shortcut, activated),
            None => x,
        };
        out + shortcut
    }
}

/// A stage of blocks of one width.
#[derive(Module, Debug)]
pub struct NetworkBlock {
    layer: Vec<BasicBlock>,
}

impl NetworkBlock {
    fn forward(&self, mut x: Tensor<4>) -> Tensor<4> {
        for block in &self.layer {
            x = block.forward(x);
        }
        x
    }
}

/// WideResNet-`depth`-`widen_factor`.
#[derive(Module, Debug)]
pub struct WideResNet {
    normalization: Normalization,
    conv1: Conv2d,
    block1: NetworkBlock,
    block2: NetworkBlock,
    block3: NetworkBlock,
    bn1: Option<BatchNorm>,
    fc: Linear,
}

impl WideResNetConfig {
    /// Builds the network with fresh weights. Panics if `depth` is not `6n + 4`.
    pub fn init(&self, device: &Device) -> WideResNet {
        let n = wrn_blocks(self.depth);
        let widths = [
            16,
            16 * self.widen_factor,
            32 * self.widen_factor,
            64 * self.widen_factor,
        ];
        let stage = |input: usize, output: usize, stride: usize| NetworkBlock {
            layer: (0..n)
                .map(|i| {
                    let (cin, s) = if i == 0 { (input, stride) } else { (output, 1) };
                    BasicBlock::new([cin, output], s, self, device)
                })
                .collect(),
        };
        WideResNet {
            normalization: self.normalization.build(),
            conv1: conv3x3([self.in_channels, widths[0]], 1, device),
            block1: stage(widths[0], widths[1], 1),
            block2: stage(widths[1], widths[2], 2),
            block3: stage(widths[2], widths[3], 2),
            bn1: batch_norm(self.batch_norm, widths[3], device),
            fc: LinearConfig::new(widths[3], self.num_classes).init(device),
        }
    }
}

impl WideResNet {
    /// Logits `[B, K]` of images `[B, C, H, W]` in [0, 1].
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = conv::forward(&self.conv1, self.normalization.forward(images));
        let x = self
            .block3
            .forward(self.block2.forward(self.block1.forward(x)));
        let x = relu(apply_norm(&self.bn1, x));
        pool_and_classify(x, &self.fc)
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.fc.weight.dims()[1]
    }
}
