#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! The paper's explanation of why robust classifiers generate, made measurable (see
//! docs/method.md):
//!
//! - [`landscape`]: `E(x + a·d1 + b·d2, y)` on a grid around a test image along two random
//!   directions, the same directions and range for every model (Figure 2), and 1-D slices
//!   along the attack's direction;
//! - [`energies`]: `E(x)` and `E(x, y)` of sets of points, for histograms of clean, adversarial
//!   and generated points;
//! - [`flatness`]: mean `|E(x + δ, y) - E(x, y)|` over random `δ` in the eps-ball, and the
//!   clean-to-adversarial energy gap;
//! - [`figures`]: the PNGs.

pub mod energies;
pub mod figures;
pub mod flatness;
pub mod landscape;

pub use energies::{Energies, energies};
pub use flatness::{Flatness, flatness};
pub use landscape::{Directions, Landscape, Slice, eps_ball_outline, landscape, slice};
