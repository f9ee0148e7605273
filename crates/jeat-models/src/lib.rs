#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! The classifiers jeat trains, attacks and samples from. Every model takes images `[B, C, H, W]`
//! in [0, 1] (normalisation is its first layer) and returns logits `[B, K]`.
//!
//! - [`wide_resnet`] — WideResNet with or without batch norm (`wrn-34-10`, `wrn-28-10-nobn`, …);
//! - [`preact_resnet`] — PreAct-ResNet-18;
//! - [`mnist_cnn`] — the small MNIST CNN of advertorch;
//! - [`registry`] — build any of them by name into one [`Model`] type;
//! - [`torchscript`] — parameters of TorchScript archives, read without running their code;
//! - [`checkpoint`] — PyTorch (`.pt`/`.pth`, zip and legacy) and safetensors in, safetensors out,
//!   with the reference implementations' parameter names.
//!
//! No backend is named here: models live on whatever `Device` they are built on. Every
//! convolution goes through [`conv::forward`]: burn's `Conv2d::forward` on other backends, and on
//! the flex CPU backend, with the optional `flex-kernels` feature (on in the `jeat` binary's
//! `flex` feature), a convolution with a weight-gradient kernel of jeat's, or with `onednn`,
//! oneDNN's. `flex-kernels` also adds [`flex_pool`], a faster pooling kernel the MNIST CNN uses
//! on flex in inference.

pub mod checkpoint;
pub mod classifier;
pub mod conv;
pub mod error;
#[cfg(feature = "flex-kernels")]
pub mod flex_pool;
pub mod mnist_cnn;
pub mod normalization;
pub mod pickle;
mod pickle_guard;
pub mod preact_resnet;
pub mod registry;
pub mod torchscript;
pub mod wide_resnet;

pub use classifier::Classifier;
pub use error::ModelError;
pub use normalization::{Normalization, NormalizationSpec};
pub use registry::{Model, ModelSpec, PRESETS, trainable_params};
