//! PreAct-ResNet-18 (He et al. 2016) in its two variants of the robustness literature, with
//! their parameter names `conv1`, `layer{1..4}.{i}.{bn1,conv1,bn2,conv2,shortcut.0}`, `bn`,
//! `linear`:
//! - Rice et al.'s robust-overfitting code (the default): the projection shortcut sees the
//!   activated input, and a final batch norm and ReLU precede the pooling;
//! - the "fast adversarial training" variant of Wong et al. and Andriushchenko et al., as
//!   RobustBench defines it: the shortcut sees the raw input, and there is no final batch norm.

use crate::conv;
use crate::layers::{self, pool_and_classify};
use crate::normalization::{Normalization, NormalizationSpec};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// Options of a PreAct-ResNet-18.
#[derive(Config, Debug, PartialEq)]
pub struct PreActResNet18Config {
    /// Output classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Input normalisation applied first.
    #[config(default = "NormalizationSpec::None")]
    pub normalization: NormalizationSpec,
    /// Rice et al.'s variant (true) or the fast-adversarial-training one (false).
    #[config(default = true)]
    pub rice: bool,
}

fn conv(channels: [usize; 2], kernel: usize, stride: usize, device: &Device) -> Conv2d {
    layers::conv(channels, kernel, stride, false, device)
}

/// Pre-activation block: BN-ReLU-conv3×3-BN-ReLU-conv3×3; the projection shortcut sees the
/// activated input (Rice et al.) or the raw one (fast adversarial training).
#[derive(Module, Debug)]
pub struct PreActBlock {
    bn1: BatchNorm,
    conv1: Conv2d,
    bn2: BatchNorm,
    conv2: Conv2d,
    shortcut: Vec<Conv2d>,
    #[module(skip)]
    activated_shortcut: bool,
}

impl PreActBlock {
    fn new(
        input: usize,
        output: usize,
        stride: usize,
        activated_shortcut: bool,
        device: &Device,
    ) -> Self {
        let shortcut = if stride != 1 || input != output {
            vec![conv([input, output], 1, stride, device)]
        } else {
            Vec::new()
        };
        Self {
            bn1: BatchNormConfig::new(input).init(device),
            conv1: conv([input, output], 3, stride, device),
            bn2: BatchNormConfig::new(output).init(device),
            conv2: conv([output, output], 3, 1, device),
            shortcut,
            activated_shortcut,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let activated = relu(self.bn1.forward(x.clone()));
        let shortcut = match self.shortcut.first() {
            Some(projection) if self.activated_shortcut => {
                conv::forward(projection, activated.clone())
            }
            Some(projection) => conv::forward(projection, x),
            None => x,
        };
        let out = conv::forward_bn_relu(&self.conv1, &self.bn2, activated);
        let out = conv::forward(&self.conv2, out);
        out + shortcut
    }
}

/// PreAct-ResNet-18.
#[derive(Module, Debug)]
pub struct PreActResNet18 {
    normalization: Normalization,
    conv1: Conv2d,
    layer1: Vec<PreActBlock>,
    layer2: Vec<PreActBlock>,
    layer3: Vec<PreActBlock>,
    layer4: Vec<PreActBlock>,
    bn: Option<BatchNorm>,
    linear: Linear,
}

impl PreActResNet18Config {
    /// Builds the network with fresh weights.
    pub fn init(&self, device: &Device) -> PreActResNet18 {
        let stage = |input: usize, output: usize, stride: usize| {
            vec![
                PreActBlock::new(input, output, stride, self.rice, device),
                PreActBlock::new(output, output, 1, self.rice, device),
            ]
        };
        PreActResNet18 {
            normalization: self.normalization.build(),
            conv1: conv([self.in_channels, 64], 3, 1, device),
            layer1: stage(64, 64, 1),
            layer2: stage(64, 128, 2),
            layer3: stage(128, 256, 2),
            layer4: stage(256, 512, 2),
            bn: self.rice.then(|| BatchNormConfig::new(512).init(device)),
            linear: LinearConfig::new(512, self.num_classes).init(device),
        }
    }
}

impl PreActResNet18 {
    /// Logits `[B, K]` of images `[B, C, H, W]` in [0, 1].
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = conv::forward(&self.conv1, self.normalization.forward(images));
        for stage in [&self.layer1, &self.layer2, &self.layer3, &self.layer4] {
            for block in stage {
                x = block.forward(x);
            }
        }
        let x = match &self.bn {
            Some(bn) => relu(bn.forward(x)),
            None => x,
        };
        pool_and_classify(x, &self.linear)
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.linear.weight.dims()[1]
    }
}
