#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! Datasets as files on disk, read without shortcuts:
//!
//! - [`cifar`]: CIFAR-10 / CIFAR-100 binary batches;
//! - [`idx`]: MNIST / Fashion-MNIST IDX files (plain or gzip);
//! - [`png_folder`]: folders of `<dataset>_<index>_<label>.png`;
//! - [`catalog`]: the known datasets, their official sources and pinned checksums, and where
//!   installed copies are found (`$JEAT_DATA`, `./data`, Debian's `/usr/share/datasets`);
//! - [`download`]: resumable, verified, atomic downloads;
//! - [`augment`]: seeded random crop and flip;
//! - [`synthetic`]: seeded synthetic sets for smoke runs, always named `synthetic/…`;
//! - [`batch`]: burn `Dataset`/`Batcher` giving images `[B, C, H, W]` in [0, 1] and labels `[B]`.
//!
//! Everything is generic over the device: no backend is named here.

pub mod array_writer;
pub mod arrays;
pub mod augment;
pub mod batch;
pub mod catalog;
pub mod checksum;
pub mod cifar;
pub mod download;
pub mod error;
pub mod idx;
pub mod image_set;
pub mod png_folder;
pub mod synthetic;

pub use augment::Augmentation;
pub use batch::{EpochView, ImageBatch, ImageBatcher, ImageItem, SetSource, batch_at, epoch_order};
pub use catalog::{DatasetName, Split, default_data_root};
pub use error::{DataError, Result};
pub use image_set::{ImageSet, ImageShape};
