//! The building blocks the architectures share: their convolutions, the WideResNet depth rule,
//! and the pooled classifier head.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, PaddingConfig2d};
use burn::prelude::*;

/// A `kernel`×`kernel` convolution with `kernel / 2` zero padding on every side.
pub(crate) fn conv(
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    bias: bool,
    device: &Device,
) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(bias)
        .init(device)
}

/// A 3×3 convolution without bias and with TensorFlow's "SAME" padding: one pixel on every side
/// at stride 1, one on the bottom and right only at stride 2 (DeepMind's `_pad`).
pub(crate) fn conv3x3_same(channels: [usize; 2], stride: usize, device: &Device) -> Conv2d {
    let padding = match stride {
        1 => PaddingConfig2d::Explicit(1, 1, 1, 1),
        _ => PaddingConfig2d::Explicit(0, 0, 1, 1),
    };
    Conv2dConfig::new(channels, [3, 3])
        .with_stride([stride, stride])
        .with_padding(padding)
        .with_bias(false)
        .init(device)
}

/// Blocks per stage of a WideResNet of `depth`. Panics unless `depth` is `6n + 4`.
pub(crate) fn wrn_blocks(depth: usize) -> usize {
    assert!(
        depth >= 10 && (depth - 4).is_multiple_of(6),
        "WideResNet depth must be 6n + 4, got {depth}"
    );
    (depth - 4) / 6
}

/// `head(mean over H and W of x)`: `[B, C, H, W]` → `[B, K]`. On the 32×32 inputs of these
/// models it is the references' fixed-window average pool.
pub(crate) fn pool_and_classify(x: Tensor<4>, head: &Linear) -> Tensor<2> {
    let [b, c, _, _] = x.dims();
    head.forward(x.mean_dim(3).mean_dim(2).reshape([b, c]))
}
