//! The convolutions of every model: burn's `Conv2d` modules (their parameters, records and
//! names unchanged), computed on the flex CPU backend by the fastest path the build has.
//!
//! - With the `onednn` feature and oneDNN's library present: oneDNN's forward pass, input
//!   gradient and weight gradient (the kernels PyTorch runs on CPUs), through `jeat-onednn`.
//! - Otherwise (`flex-kernels`): flex's own forward pass and input gradient, and the weight
//!   gradient of [`weight_gradient`] instead of burn's generic fallback.
//! - On every other backend, and for what these paths do not take (groups, `Same` padding, other
//!   dtypes), burn's `Conv2d::forward`.
//!
//! Both CPU paths are one burn backend extension ([`extension`]) for flex and for autodiff over
//! flex, with its own backward step: the weight gradient is computed only when the weight is
//! tracked, so attacks and SGLD (models in inference mode) never pay for it. [`path`] says which
//! path runs; `jeat backends` prints it.

#[cfg(feature = "flex-kernels")]
mod extension;
#[cfg(feature = "onednn")]
mod onednn;
#[cfg(feature = "flex-kernels")]
pub mod weight_gradient;

use burn::nn::conv::Conv2d;
use burn::prelude::*;

/// The geometry of a 2-D convolution with one group: `x [batch, in_channels, h, w]` and
/// `w [out_channels, in_channels, kh, kw]` give `y [batch, out_channels, oh, ow]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    /// `N`.
    pub batch: usize,
    /// `C_in`.
    pub in_channels: usize,
    /// `[H, W]`.
    pub input: [usize; 2],
    /// `C_out`.
    pub out_channels: usize,
    /// `[KH, KW]`.
    pub kernel: [usize; 2],
    /// `[OH, OW]`.
    pub output: [usize; 2],
    /// Stride per spatial dimension.
    pub stride: [usize; 2],
    /// Zero padding before the first row and column (`[top, left]`); the padding after them is
    /// what makes the output `[OH, OW]`.
    pub padding: [usize; 2],
    /// Dilation per spatial dimension (1: none).
    pub dilation: [usize; 2],
}

impl Geometry {
    /// Elements of the input.
    pub fn input_len(&self) -> usize {
        self.batch * self.in_channels * self.input[0] * self.input[1]
    }

    /// Elements of the weights.
    pub fn weights_len(&self) -> usize {
        self.out_channels * self.in_channels * self.kernel[0] * self.kernel[1]
    }

    /// Elements of the output.
    pub fn output_len(&self) -> usize {
        self.batch * self.out_channels * self.output[0] * self.output[1]
    }
}

/// The convolution paths of the CPU backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// burn's own convolutions (this build has no CPU kernels of jeat's: `flex-kernels` is off).
    Burn,
    /// flex's forward pass and input gradient, jeat's pure-Rust weight gradient.
    Flex,
    /// oneDNN's forward pass, input gradient and weight gradient.
    OneDnn,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Burn => "burn's convolutions",
            Self::Flex => "flex's convolutions with jeat's weight-gradient kernel",
            Self::OneDnn => "oneDNN",
        })
    }
}

/// The path flex convolutions take in this process, and why where it is not the fastest one
/// compiled in (oneDNN asked for but not usable).
pub fn path() -> (Path, Option<String>) {
    #[cfg(feature = "onednn")]
    {
        match onednn::available() {
            Ok(()) => (Path::OneDnn, None),
            Err(why) => (Path::Flex, Some(why)),
        }
    }
    #[cfg(all(feature = "flex-kernels", not(feature = "onednn")))]
    {
        (Path::Flex, None)
    }
    #[cfg(not(feature = "flex-kernels"))]
    {
        (Path::Burn, None)
    }
}

/// The precision the CPU path's convolutions read their inputs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 throughout (the default).
    #[default]
    F32,
    /// bf16 inputs (activations, weights, output gradients) on AMX or AVX-512-bf16, f32
    /// accumulation and outputs; everything besides the convolutions stays f32. Needs oneDNN.
    Bf16,
}

impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "f32" => Ok(Self::F32),
            "bf16" => Ok(Self::Bf16),
            other => Err(format!("precision '{other}': f32 or bf16")),
        }
    }
}

static PRECISION: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets the precision of every CPU convolution of this process from now on (a process setting,
/// like the allocator's: set it first thing). bf16 is refused, with the reason, where oneDNN is
/// not in use or the CPU has no bf16 kernels, before any work starts.
pub fn set_precision(precision: Precision) -> Result<(), String> {
    if precision == Precision::Bf16 {
        bf16_available()?;
    }
    PRECISION.store(
        precision == Precision::Bf16,
        std::sync::atomic::Ordering::Relaxed,
    );
    Ok(())
}

/// The precision set by [`set_precision`].
pub fn precision() -> Precision {
    match PRECISION.load(std::sync::atomic::Ordering::Relaxed) {
        true => Precision::Bf16,
        false => Precision::F32,
    }
}

/// Whether `--precision bf16` can run here, or why not: oneDNN in use and a CPU with bf16
/// convolution kernels (AMX or AVX-512-bf16).
pub fn bf16_available() -> Result<(), String> {
    #[cfg(feature = "onednn")]
    {
        onednn::available()
            .map_err(|why| format!("bf16 convolutions need oneDNN, which is not in use: {why}"))?;
        match jeat_onednn::bf16_supported() {
            true => Ok(()),
            false => Err(
                "this CPU has no bf16 convolution kernels (AMX or AVX-512-bf16): use f32".into(),
            ),
        }
    }
    #[cfg(not(feature = "onednn"))]
    {
        Err("bf16 convolutions need oneDNN: build jeat with --features onednn".into())
    }
}

/// oneDNN's version `(major, minor, patch)` where this build links it.
pub fn onednn_version() -> Option<(u32, u32, u32)> {
    #[cfg(feature = "onednn")]
    {
        Some(jeat_onednn::version())
    }
    #[cfg(not(feature = "onednn"))]
    {
        None
    }
}

/// The fastest path compiled into this build.
pub fn compiled() -> Path {
    match (cfg!(feature = "onednn"), cfg!(feature = "flex-kernels")) {
        (true, _) => Path::OneDnn,
        (false, true) => Path::Flex,
        (false, false) => Path::Burn,
    }
}

/// `conv.forward(x)` (`x [B, C_in, H, W]` → `[B, C_out, OH, OW]`), through jeat's CPU path where
/// it applies: `x` and the weights on flex (with or without autodiff), f32, one group, `Valid` or
/// `Explicit` padding. Everywhere else burn's own.
pub fn forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex-kernels")]
    if let Some(options) = applies(conv, &x) {
        return extension::conv2d(
            x,
            conv.weight.val(),
            conv.bias.as_ref().map(|b| b.val()),
            options,
        );
    }
    conv.forward(x)
}

/// `relu(conv.forward(x))`: where jeat's path applies and nothing has autodiff (pure
/// inference), one convolution with the ReLU fused into it (oneDNN's post-op; flex applies it
/// after its convolution); otherwise the two ops.
pub fn forward_relu(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex-kernels")]
    if let Some(options) = fusable(conv, &x) {
        let bias = match &conv.bias {
            Some(bias) => bias.val(),
            None => Tensor::zeros([conv.weight.dims()[0]], &x.device()),
        };
        return extension::conv2d_relu(x, conv.weight.val(), bias, options);
    }
    burn::tensor::activation::relu(forward(conv, x))
}

/// `relu(bn.forward(conv.forward(x)))` with `bn` in inference mode (`x` without autodiff): where
/// jeat's path applies, one convolution with the batch norm folded into its weights and bias
/// (`w · γ/√(σ² + ε)` per output channel, `(b − μ) · γ/√(σ² + ε) + β`) and the ReLU fused;
/// otherwise the three ops.
pub fn forward_bn_relu(conv: &Conv2d, bn: &burn::nn::BatchNorm, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex-kernels")]
    if let Some(options) = fusable(conv, &x) {
        let channels = conv.weight.dims()[0];
        let scale = bn.gamma.val() / (bn.running_var.value() + bn.epsilon).sqrt();
        let shift = bn.beta.val() - bn.running_mean.value() * scale.clone();
        let weight = conv.weight.val() * scale.clone().reshape([channels, 1, 1, 1]);
        let bias = match &conv.bias {
            Some(bias) => bias.val() * scale + shift,
            None => shift,
        };
        return extension::conv2d_relu(x, weight, bias, options);
    }
    burn::tensor::activation::relu(bn.forward(forward(conv, x)))
}

/// The options of `conv` on `x` where a fused inference convolution can run: jeat's path
/// applies and nothing has autodiff.
#[cfg(feature = "flex-kernels")]
fn fusable(conv: &Conv2d, x: &Tensor<4>) -> Option<burn::tensor::ops::ConvOptions<2>> {
    let inference = !x.is_autodiff() && !conv.weight.val().is_autodiff();
    match inference {
        true => applies(conv, x),
        false => None,
    }
}

/// The options of `conv` on `x`, where jeat's CPU path takes it.
#[cfg(feature = "flex-kernels")]
fn applies(conv: &Conv2d, x: &Tensor<4>) -> Option<burn::tensor::ops::ConvOptions<2>> {
    use burn::backend::DType;
    use burn::nn::PaddingConfig2d;
    let weight = conv.weight.val();
    let on_flex = |device: Device| device.without_autodiff() == Device::flex();
    if !(on_flex(x.device()) && on_flex(weight.device()))
        || x.dtype() != DType::F32
        || weight.dtype() != DType::F32
        || conv.groups != 1
    {
        return None;
    }
    let [top, left, bottom, right] = match conv.padding {
        PaddingConfig2d::Valid => [0; 4],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
        PaddingConfig2d::Same => return None,
    };
    Some(burn::tensor::ops::ConvOptions::new_with_padding(
        conv.stride,
        [(top, bottom), (left, right)],
        conv.dilation,
        1,
    ))
}
