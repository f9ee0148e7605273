//! DeepMind's PreAct-ResNet-18 (Rebuffi et al. 2021), as RobustBench's model zoo defines it:
//! Swish, TensorFlow's "SAME" padding, a 3×3 projection shortcut of the raw input, the
//! normalisation inside the model. Parameter names match RobustBench's checkpoints:
//! `conv_2d`, `layer_{0..3}.{i}.{batchnorm_0, conv_2d_1, batchnorm_1, conv_2d_2, shortcut}`,
//! `batchnorm`, `logits`.

use crate::conv;
use crate::layers::{conv3x3_same, pool_and_classify};
use crate::normalization::{Normalization, NormalizationSpec};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::silu;

/// Options of a DeepMind PreAct-ResNet-18.
#[derive(Config, Debug, PartialEq)]
pub struct DmPreActResNet18Config {
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

/// BN-Swish-conv3×3-BN-Swish-conv3×3, plus the raw input or its 3×3 projection.
#[derive(Module, Debug)]
pub struct DmPreActBlock {
    batchnorm_0: BatchNorm,
    conv_2d_1: Conv2d,
    batchnorm_1: BatchNorm,
    conv_2d_2: Conv2d,
    shortcut: Option<Conv2d>,
}

impl DmPreActBlock {
    fn new(input: usize, output: usize, stride: usize, device: &Device) -> Self {
        Self {
            batchnorm_0: BatchNormConfig::new(input).init(device),
            conv_2d_1: conv3x3_same([input, output], stride, device),
            batchnorm_1: BatchNormConfig::new(output).init(device),
            conv_2d_2: conv3x3_same([output, output], 1, device),
            shortcut: (stride != 1 || input != output)
                .then(|| conv3x3_same([input, output], stride, device)),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = silu(self.batchnorm_0.forward(x.clone()));
        let shortcut = match &self.shortcut {
            Some(projection) => conv::forward(projection, x),
            None => x,
        };
        let out = conv::forward(&self.conv_2d_1, out);
        let out = conv::forward(&self.conv_2d_2, silu(self.batchnorm_1.forward(out)));
        out + shortcut
    }
}

/// DeepMind's PreAct-ResNet-18.
#[derive(Module, Debug)]
pub struct DmPreActResNet18 {
    normalization: Normalization,
    conv_2d: Conv2d,
    layer_0: Vec<DmPreActBlock>,
    layer_1: Vec<DmPreActBlock>,
    layer_2: Vec<DmPreActBlock>,
    layer_3: Vec<DmPreActBlock>,
    batchnorm: BatchNorm,
    logits: Linear,
}

impl DmPreActResNet18Config {
    /// Builds the network with fresh weights.
    pub fn init(&self, device: &Device) -> DmPreActResNet18 {
        let stage = |input: usize, output: usize, stride: usize| {
            vec![
                DmPreActBlock::new(input, output, stride, device),
                DmPreActBlock::new(output, output, 1, device),
            ]
        };
        DmPreActResNet18 {
            normalization: self.normalization.build(),
            conv_2d: conv3x3_same([self.in_channels, 64], 1, device),
            layer_0: stage(64, 64, 1),
            layer_1: stage(64, 128, 2),
            layer_2: stage(128, 256, 2),
            layer_3: stage(256, 512, 2),
            batchnorm: BatchNormConfig::new(512).init(device),
            logits: LinearConfig::new(512, self.num_classes).init(device),
        }
    }
}

impl DmPreActResNet18 {
    /// Logits `[B, K]` of images `[B, C, H, W]` in [0, 1].
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = conv::forward(&self.conv_2d, self.normalization.forward(images));
        for stage in [&self.layer_0, &self.layer_1, &self.layer_2, &self.layer_3] {
            for block in stage {
                x = block.forward(x);
            }
        }
        let x = silu(self.batchnorm.forward(x));
        pool_and_classify(x, &self.logits)
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.logits.weight.dims()[1]
    }
}
