#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! What every other jeat crate builds on, and nothing else:
//!
//! - [`allocator`]: the heap setting every jeat binary starts with (freed tensor buffers kept
//!   for reuse instead of returned to the kernel);
//! - [`rng`]: seeds derived from a run's seed and the position of a draw (so that a resumed run
//!   draws what an uninterrupted one would have), and seeded random tensors made on the host;
//! - [`layout`]: tensors given their canonical strides before a fused GPU kernel reads them
//!   (a workaround for a kernel-fusion defect of burn 0.22.1 on wgpu);
//! - [`host`]: conversions between tensors and host values (indices, labels, predictions, masks);
//! - [`source`]: [`PointSource`], labelled points loaded batch by batch;
//! - [`testing`] (feature `testing`): the device every test and benchmark runs on, chosen by
//!   `JEAT_TEST_BACKEND`.

pub mod allocator;
pub mod host;
pub mod layout;
pub mod rng;
pub mod source;
#[cfg(feature = "testing")]
pub mod testing;

pub use source::PointSource;
