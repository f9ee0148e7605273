//! DeepMind's WideResNet (Gowal et al. 2020, Rebuffi et al. 2021), as RobustBench's model zoo
//! defines it: pre-activation blocks with Swish (SiLU), TensorFlow's "SAME" padding (a
//! stride-2 convolution pads one zero row and column on the bottom and right only), the
//! normalisation inside the model, an 8×8 average pool. Parameter names match RobustBench's
//! checkpoints: `init_conv`, `layer.{g}.block.{i}.{batchnorm_0, conv_0, batchnorm_1, conv_1,
//! shortcut}`, `batchnorm`, `logits`.

use crate::conv as convolution;
use crate::layers::{conv, conv3x3_same, pool_and_classify, wrn_blocks};
use crate::normalization::{Normalization, NormalizationSpec};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::silu;

/// Shape of a DeepMind WideResNet.
#[derive(Config, Debug, PartialEq)]
pub struct DmWideResNetConfig {
    /// Depth `6n + 4` (28, 34, 70, 106, …).
    pub depth: usize,
    /// Width multiplier (10, 16, 20, …).
    pub width: usize,
    /// Output classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Input normalisation applied first (RobustBench's entries: CIFAR-10 statistics).
    #[config(default = "NormalizationSpec::None")]
    pub normalization: NormalizationSpec,
}

/// BN-Swish-conv3×3-BN-Swish-conv3×3; a 1×1 shortcut of the activated input when the width
/// changes, else the raw input.
#[derive(Module, Debug)]
pub struct DmBlock {
    batchnorm_0: BatchNorm,
    conv_0: Conv2d,
    batchnorm_1: BatchNorm,
    conv_1: Conv2d,
    shortcut: Option<Conv2d>,
}

impl DmBlock {
    fn new(input: usize, output: usize, stride: usize, device: &Device) -> Self {
        Self {
            batchnorm_0: BatchNormConfig::new(input).init(device),
            conv_0: conv3x3_same([input, output], stride, device),
            batchnorm_1: BatchNormConfig::new(output).init(device),
            conv_1: conv([output, output], 3, 1, false, device),
            shortcut: (input != output).then(|| conv([input, output], 1, stride, false, device)),
        }
    }

    /// `[B, Cin, H, W]` → `[B, Cout, H/stride, W/stride]`.
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let activated = silu(self.batchnorm_0.forward(x.clone()));
        let out = convolution::forward(&self.conv_0, activated.clone());
        let out = convolution::forward(&self.conv_1, silu(self.batchnorm_1.forward(out)));
        match &self.shortcut {
            Some(shortcut) => convolution::forward(shortcut, activated) + out,
            None => x + out,
        }
    }
}

/// The blocks of one width (`layer.{g}.block`).
#[derive(Module, Debug)]
pub struct DmBlockGroup {
    block: Vec<DmBlock>,
}

/// DeepMind's WideResNet-`depth`-`width` with Swish.
#[derive(Module, Debug)]
pub struct DmWideResNet {
    normalization: Normalization,
    init_conv: Conv2d,
    layer: Vec<DmBlockGroup>,
    batchnorm: BatchNorm,
    logits: Linear,
}

impl DmWideResNetConfig {
    /// Builds the network with fresh weights. Panics if `depth` is not `6n + 4`.
    pub fn init(&self, device: &Device) -> DmWideResNet {
        let blocks = wrn_blocks(self.depth);
        let widths = [16, 16 * self.width, 32 * self.width, 64 * self.width];
        let layer = (0..3)
            .map(|g| DmBlockGroup {
                block: (0..blocks)
                    .map(|i| match i {
                        0 => DmBlock::new(widths[g], widths[g + 1], [1, 2, 2][g], device),
                        _ => DmBlock::new(widths[g + 1], widths[g + 1], 1, device),
                    })
                    .collect(),
            })
            .collect();
        DmWideResNet {
            normalization: self.normalization.build(),
            init_conv: conv([self.in_channels, widths[0]], 3, 1, false, device),
            layer,
            batchnorm: BatchNormConfig::new(widths[3]).init(device),
            logits: LinearConfig::new(widths[3], self.num_classes).init(device),
        }
    }
}

impl DmWideResNet {
    /// Logits `[B, K]` of images `[B, C, H, W]` in [0, 1].
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = convolution::forward(&self.init_conv, self.normalization.forward(images));
        for group in &self.layer {
            for block in &group.block {
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
