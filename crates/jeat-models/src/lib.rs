#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! The classifiers jeat trains, attacks and samples from. Every model takes images `[B, C, H, W]`
//! in [0, 1] (normalisation is its first layer) and returns logits `[B, K]`.
//!
//! - [`wide_resnet`] — WideResNet with or without batch norm (`wrn-34-10`, `wrn-28-10-nobn`, …);
//! - [`preact_resnet`] — PreAct-ResNet-18 (Rice et al.'s and the fast-adversarial-training one);
//! - [`dm_wide_resnet`], [`dm_preact_resnet`] — DeepMind's WideResNet and PreAct-ResNet-18 with
//!   Swish, as RobustBench's model zoo has them;
//! - [`resnet`] — the CIFAR ResNet-18 and ResNet-50;
//! - [`jem_wide_resnet`] — JEM's WideResNet (JEM, JEM++, SADA-JEM, EB-JDAT checkpoints);
//! - [`zoo`] — RobustBench entries and published energy-model checkpoints by name;
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
pub mod dm_preact_resnet;
pub mod dm_wide_resnet;
pub mod error;
#[cfg(feature = "flex-kernels")]
pub mod flex_pool;
pub mod jem_wide_resnet;
mod layers;
pub mod mnist_cnn;
pub mod normalization;
pub mod pickle;
mod pickle_guard;
pub mod preact_resnet;
pub mod registry;
pub mod resnet;
pub mod torchscript;
pub mod variant;
pub mod wide_resnet;
pub mod zoo;

pub use classifier::Classifier;
pub use error::ModelError;
pub use normalization::{Normalization, NormalizationSpec};
pub use registry::{Model, ModelSpec, PRESETS, trainable_params};
