#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! Measuring robust accuracy honestly:
//!
//! - attacks on the one gradient-step engine (`jeat-engine`, which adversarial training and
//!   sampling share; its threat models are re-exported here): [`pgd`] (FGSM, PGD, CW, MIM, targeted variants), [`apgd`]
//!   (APGD-CE, APGD-T); stand-alone: [`fab`] (FAB-T), [`square`] (Square);
//! - [`suite`] and [`runner`]: named suites (`pgd-20`, `aa-standard`, …) run attack after
//!   attack on the points still robust, with per-point results, sanity flags ([`sanity`]) and a
//!   resumable state file.
//!
//! Images are `[B, C, H, W]` in [0, 1]; models take them as they are (normalisation inside) and
//! must be passed in inference mode (`model.valid()`).

pub mod adversarial_store;
pub mod apgd;
pub mod apgd_schedule;
pub mod attack;
pub mod error;
pub mod fab;
pub mod pgd;
pub mod runner;
pub mod sanity;
pub mod square;
pub mod suite;

pub use attack::{Attack, AttackOutput};

/// Bumped whenever an attack computes differently (cached results of an older revision are
/// recomputed): 2 is APGD's first checkpoint and Square's L2 proposal as the reference has them.
pub const REVISION: u32 = 2;
pub use error::AttackError;
pub use jeat_engine::{Ball, Norm, ThreatModel, threat};
