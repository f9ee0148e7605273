//! The WideResNet of JEM (Grathwohl et al. 2020) and of the models that reuse its code (JEM++,
//! SADA-JEM, EB-JDAT): pre-activation blocks with LeakyReLU(0.2), biases in every convolution,
//! the stride on a block's second convolution, a shortcut of the raw input, batch norm or none.
//! As in their `CCF` model, the classifier is the backbone `f` and the head `class_output`; the
//! backbone's own `linear` and the `energy_output` head are kept so that their checkpoints load
//! strictly and ours load into their code, but neither is used: the energy is
//! `-logsumexp(class_output(f(x)))`. Parameter names: `f.conv1`,
//! `f.layer{1,2,3}.{i}.{bn1, conv1, bn2, conv2, shortcut.0}`, `f.bn1`, `f.linear`,
//! `energy_output`, `class_output`.

use crate::conv;
use crate::layers::{self, pool_and_classify, wrn_blocks};
use crate::normalization::{Normalization, NormalizationSpec};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;

/// The negative slope of JEM's LeakyReLU.
const LEAK: f64 = 0.2;

/// Shape and options of a JEM WideResNet.
#[derive(Config, Debug, PartialEq)]
pub struct JemWideResNetConfig {
    /// Depth `6n + 4` (28 in every release).
    pub depth: usize,
    /// Width multiplier (10 in every release).
    pub widen_factor: usize,
    /// Output classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Batch norm (JEM++, SADA-JEM, EB-JDAT) or none (JEM).
    #[config(default = true)]
    pub batch_norm: bool,
    /// Input normalisation applied first (the releases: `(x - 0.5) / 0.5`, images in [-1, 1]).
    #[config(default = "NormalizationSpec::None")]
    pub normalization: NormalizationSpec,
}

/// A convolution with bias, as every one of JEM's.
fn conv(channels: [usize; 2], kernel: usize, stride: usize, device: &Device) -> Conv2d {
    layers::conv(channels, kernel, stride, true, device)
}

fn norm(x: Tensor<4>, bn: &Option<BatchNorm>) -> Tensor<4> {
    leaky_relu(
        match bn {
            Some(bn) => bn.forward(x),
            None => x,
        },
        LEAK,
    )
}

/// `conv2(act(bn2(conv1(act(bn1(x)))))) + shortcut(x)`, the stride on `conv2`.
#[derive(Module, Debug)]
pub struct JemBlock {
    bn1: Option<BatchNorm>,
    conv1: Conv2d,
    bn2: Option<BatchNorm>,
    conv2: Conv2d,
    shortcut: Vec<Conv2d>,
}

impl JemBlock {
    fn new(channels: [usize; 2], stride: usize, batch_norm: bool, device: &Device) -> Self {
        let [input, output] = channels;
        let bn = |c| batch_norm.then(|| BatchNormConfig::new(c).init(device));
        Self {
            bn1: bn(input),
            conv1: conv([input, output], 3, 1, device),
            bn2: bn(output),
            conv2: conv([output, output], 3, stride, device),
            shortcut: match stride != 1 || input != output {
                true => vec![conv([input, output], 1, stride, device)],
                false => Vec::new(),
            },
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = conv::forward(&self.conv1, norm(x.clone(), &self.bn1));
        let out = conv::forward(&self.conv2, norm(out, &self.bn2));
        match self.shortcut.first() {
            Some(projection) => out + conv::forward(projection, x),
            None => out + x,
        }
    }
}

/// The backbone (`f`): features `[B, 64k]`.
#[derive(Module, Debug)]
pub struct JemBackbone {
    conv1: Conv2d,
    layer1: Vec<JemBlock>,
    layer2: Vec<JemBlock>,
    layer3: Vec<JemBlock>,
    bn1: Option<BatchNorm>,
    /// The backbone's own classifier, unused by JEM's models (kept for their checkpoints).
    linear: Linear,
}

/// JEM's classifier: backbone and `class_output` head.
#[derive(Module, Debug)]
pub struct JemWideResNet {
    normalization: Normalization,
    f: JemBackbone,
    /// The unconditional energy head, unused by the released models (kept for their
    /// checkpoints).
    energy_output: Linear,
    class_output: Linear,
}

impl JemWideResNetConfig {
    /// Builds the network with fresh weights. Panics if `depth` is not `6n + 4`.
    pub fn init(&self, device: &Device) -> JemWideResNet {
        let n = wrn_blocks(self.depth);
        let k = self.widen_factor;
        let widths = [16, 16 * k, 32 * k, 64 * k];
        let stage = |g: usize, stride: usize| -> Vec<JemBlock> {
            (0..n)
                .map(|i| match i {
                    0 => JemBlock::new([widths[g], widths[g + 1]], stride, self.batch_norm, device),
                    _ => JemBlock::new([widths[g + 1]; 2], 1, self.batch_norm, device),
                })
                .collect()
        };
        let features = widths[3];
        JemWideResNet {
            normalization: self.normalization.build(),
            f: JemBackbone {
                conv1: conv([self.in_channels, widths[0]], 3, 1, device),
                layer1: stage(0, 1),
                layer2: stage(1, 2),
                layer3: stage(2, 2),
                bn1: self
                    .batch_norm
                    .then(|| BatchNormConfig::new(features).init(device)),
                linear: LinearConfig::new(features, self.num_classes).init(device),
            },
            energy_output: LinearConfig::new(features, 1).init(device),
            class_output: LinearConfig::new(features, self.num_classes).init(device),
        }
    }
}

impl JemWideResNet {
    /// Logits `[B, K]` (`class_output`) of images `[B, C, H, W]` in [0, 1].
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let f = &self.f;
        let mut x = conv::forward(&f.conv1, self.normalization.forward(images));
        for stage in [&f.layer1, &f.layer2, &f.layer3] {
            for block in stage {
                x = block.forward(x);
            }
        }
        let x = norm(x, &f.bn1);
        pool_and_classify(x, &self.class_output)
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_output.weight.dims()[1]
    }
}
