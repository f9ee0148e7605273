//! The CIFAR ResNets of the robustness literature (Kuang Liu's pytorch-cifar, as RobustBench's
//! model zoo and MadryLab's robustness library define them): a 3×3 stem without max pooling,
//! post-activation residual blocks, a 4×4 average pool. ResNet-18 has basic blocks, ResNet-50
//! bottlenecks. Parameter names match those checkpoints: `conv1`, `bn1`,
//! `layer{1..4}.{i}.{conv1, bn1, conv2, bn2[, conv3, bn3], shortcut.{0,1}}`, `linear`.

use crate::conv;
use crate::layers::{self, pool_and_classify};
use crate::normalization::{Normalization, NormalizationSpec};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// Which CIFAR ResNet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ResNetDepth {
    /// ResNet-18: basic blocks `[2, 2, 2, 2]`.
    R18,
    /// ResNet-50: bottlenecks `[3, 4, 6, 3]`, expansion 4.
    R50,
}

/// Options of a CIFAR ResNet.
#[derive(Config, Debug, PartialEq)]
pub struct ResNetConfig {
    /// ResNet-18 or ResNet-50.
    pub depth: ResNetDepth,
    /// Output classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Input normalisation applied first.
    #[config(default = "NormalizationSpec::None")]
    pub normalization: NormalizationSpec,
}

fn conv(channels: [usize; 2], kernel: usize, stride: usize, device: &Device) -> Conv2d {
    layers::conv(channels, kernel, stride, false, device)
}

/// A residual block: `relu(body(x) + shortcut(x))`, the body's last convolution followed by its
/// batch norm; a basic block has two 3×3 convolutions, a bottleneck 1×1, 3×3 (strided), 1×1.
#[derive(Module, Debug)]
pub struct ResidualBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    conv3: Option<Conv2d>,
    bn3: Option<BatchNorm>,
    shortcut: Option<(Conv2d, BatchNorm)>,
}

impl ResidualBlock {
    fn new(
        depth: ResNetDepth,
        input: usize,
        planes: usize,
        stride: usize,
        device: &Device,
    ) -> Self {
        let bn = |channels| BatchNormConfig::new(channels).init(device);
        let (output, block) = match depth {
            ResNetDepth::R18 => (
                planes,
                Self {
                    conv1: conv([input, planes], 3, stride, device),
                    bn1: bn(planes),
                    conv2: conv([planes, planes], 3, 1, device),
                    bn2: bn(planes),
                    conv3: None,
                    bn3: None,
                    shortcut: None,
                },
            ),
            ResNetDepth::R50 => (
                4 * planes,
                Self {
                    conv1: conv([input, planes], 1, 1, device),
                    bn1: bn(planes),
                    conv2: conv([planes, planes], 3, stride, device),
                    bn2: bn(planes),
                    conv3: Some(conv([planes, 4 * planes], 1, 1, device)),
                    bn3: Some(bn(4 * planes)),
                    shortcut: None,
                },
            ),
        };
        Self {
            shortcut: (stride != 1 || input != output)
                .then(|| (conv([input, output], 1, stride, device), bn(output))),
            ..block
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = conv::forward_bn_relu(&self.conv1, &self.bn1, x.clone());
        let out = match (&self.conv3, &self.bn3) {
            (Some(conv3), Some(bn3)) => {
                let out = conv::forward_bn_relu(&self.conv2, &self.bn2, out);
                bn3.forward(conv::forward(conv3, out))
            }
            _ => self.bn2.forward(conv::forward(&self.conv2, out)),
        };
        let shortcut = match &self.shortcut {
            Some((projection, bn)) => bn.forward(conv::forward(projection, x)),
            None => x,
        };
        relu(out + shortcut)
    }
}

/// A CIFAR ResNet-18 or ResNet-50.
#[derive(Module, Debug)]
pub struct ResNet {
    normalization: Normalization,
    conv1: Conv2d,
    bn1: BatchNorm,
    layer1: Vec<ResidualBlock>,
    layer2: Vec<ResidualBlock>,
    layer3: Vec<ResidualBlock>,
    layer4: Vec<ResidualBlock>,
    linear: Linear,
}

impl ResNetConfig {
    /// Builds the network with fresh weights.
    pub fn init(&self, device: &Device) -> ResNet {
        let (blocks, expansion) = match self.depth {
            ResNetDepth::R18 => ([2, 2, 2, 2], 1),
            ResNetDepth::R50 => ([3, 4, 6, 3], 4),
        };
        let mut input = 64;
        let mut stages = [64, 128, 256, 512]
            .into_iter()
            .zip(blocks)
            .zip([1, 2, 2, 2])
            .map(|((planes, count), stride)| {
                (0..count)
                    .map(|i| {
                        let block = ResidualBlock::new(
                            self.depth,
                            input,
                            planes,
                            if i == 0 { stride } else { 1 },
                            device,
                        );
                        input = planes * expansion;
                        block
                    })
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
            .into_iter();
        let mut stage = || stages.next().expect("four stages");
        ResNet {
            normalization: self.normalization.build(),
            conv1: conv([self.in_channels, 64], 3, 1, device),
            bn1: BatchNormConfig::new(64).init(device),
            layer1: stage(),
            layer2: stage(),
            layer3: stage(),
            layer4: stage(),
            linear: LinearConfig::new(512 * expansion, self.num_classes).init(device),
        }
    }
}

impl ResNet {
    /// Logits `[B, K]` of images `[B, C, H, W]` in [0, 1].
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let stem = self.normalization.forward(images);
        let mut x = conv::forward_bn_relu(&self.conv1, &self.bn1, stem);
        for stage in [&self.layer1, &self.layer2, &self.layer3, &self.layer4] {
            for block in stage {
                x = block.forward(x);
            }
        }
        pool_and_classify(x, &self.linear)
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.linear.weight.dims()[1]
    }
}
