#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! A classifier with logits `f(x)` is an energy model (Grathwohl et al. 2020):
//!
//! - joint energy `E(x, y) = -f(x)[y]`, marginal energy `E(x) = -logsumexp_y f(x)[y]`;
//! - `p(y | x) = exp(-E(x, y)) / exp(-E(x))`, so `CE(x, y) = E(x, y) - E(x)`.
//!
//! This crate knows only logits: [`energy`] computes the energies, [`point_loss`] the per-point
//! losses that attacks ascend and samplers descend (CE, CW margin, DLR, KL, energies), and
//! [`objective`] the training losses as values of one type. Points the objectives need
//! (adversarial examples, SGLD samples) are made elsewhere (`jeat-attacks`, `jeat-sampling`) and
//! handed in, so the arrows of dependency point one way.

pub mod energy;
pub mod objective;
pub mod point_loss;

pub use energy::{Energy, cross_entropy, joint_energy, logsumexp, marginal_energy};
pub use objective::{
    EbJdatWeights, JeatLoss, LossParts, Objective, ObjectiveError, ObjectiveInputs, Part,
    RowShares, TOTAL,
};
pub use point_loss::{PointLoss, Reference};
