#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! The numbers papers compare generated images by, computed with the one network and the one
//! preprocessing that make them comparable (the TensorFlow 2015-12-05 Inception-v3 protocol):
//!
//! - [`inception`]: the FID Inception-v3 in burn; [`weights`]: loading pytorch-fid's file or
//!   fid-helper's TorchScript archive;
//! - [`preprocess`]: 8-bit values, TF1 bilinear resize to 299, `(x - 128) / 128`;
//! - [`extract`]: features (and logits) of image batches;
//! - [`fid`]: float64 statistics and the Fréchet distance; [`stats_file`]: pytorch-fid `.npz`;
//! - [`scoring`]: the scoring API (protocols, protocol ids, the reference-feature cache);
//! - [`inception_score`]: Inception Score and [`kid`]: KID, as torch-fidelity computes them
//!   ([`numpy_rng`]: its shuffling and subset draws), with KID's standard error.

pub mod error;
pub mod extract;
pub mod fid;
pub mod inception;
pub mod inception_score;
pub mod kid;
pub mod numpy_rng;
pub mod preprocess;
pub mod scoring;
pub mod stats_file;
pub mod weights;

pub use error::MetricsError;
pub use fid::{Accumulator, Statistics, frechet_distance};
pub use inception::FidInception;
pub use inception_score::{IsSplits, Spread, inception_score};
pub use kid::{KidSubsets, kernel_inception_distance, kid_standard_error};
