#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! Drawing images from a classifier seen as an energy model, all on the attack engine of
//! `jeat-attacks` (gradient steps on an energy or a loss, with a projection):
//!
//! - [`sgld`]: stochastic gradient Langevin dynamics on `E(x)` or `E(x, y)`;
//! - [`buffer`]: JEM's persistent replay buffer, saved and restored with the training state;
//! - [`gaussian`]: class-conditional Gaussian seeds with full covariance (Cholesky by `faer`);
//! - [`generate`]: the generators (Santurkar et al., conditional SGLD, unconditional SGLD);
//! - [`grid`]: image files and a PNG grid with one row per class.
//!
//! Units: images are in [0, 1] and the model normalises inside, so step sizes and noise are in
//! [0, 1] pixel units; [`sgld::SgldConfig::from_jem_units`] converts JEM's [-1, 1] values.

pub mod buffer;
pub mod error;
pub mod folder;
pub mod gaussian;
pub mod generate;
pub mod grid;
pub mod sgld;

pub use buffer::{BufferInit, ReplayBuffer};
pub use error::SamplingError;
pub use folder::{FolderSummary, generate_to_folder};
pub use gaussian::ClassGaussians;
pub use generate::{Generated, Generator, Request};
pub use jeat_energy::Energy;
pub use sgld::SgldConfig;
