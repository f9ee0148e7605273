#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! One training loop for every method ([`method`]: standard, pgd-at, trades, jem, jeat, prejeat)
//! with the losses of `jeat-energy`, the same code at smoke scale on a CPU and at the paper's
//! scale on a GPU:
//!
//! - [`config`]: the TOML configuration (unknown keys refused with their line), its
//!   `[objective]` ([`objective_config`]: the method's loss weights, inner attack and other run
//!   settings) and [`presets`] for the paper's, the CPU and the smoke runs;
//! - [`trainer`]: the loop; inner attacks and SGLD samples come from [`inner`]; [`parallel`]
//!   splits a step over several devices (`Trainer::data_parallel`);
//! - [`checkpoint`]: atomic checkpoints (model, optimiser, replay buffer, position) for exact
//!   resume; `best` by validation PGD accuracy ([`validation`]);
//! - the divergence guard (in [`trainer`]): rollback and a lower learning rate;
//! - [`metrics`]: JSON-lines logs and a PNG of the curves.
//!
//! burn-train's `Learner` is not used: its step cannot hold an inner attack loop, a replay
//! buffer or a rollback; burn's optimisers, records and data pieces are (see docs/training.md).

pub mod checkpoint;
pub mod config;
pub mod error;
pub mod inner;
pub mod method;
pub mod metrics;
pub mod objective_config;
pub mod optimizer;
pub mod overrides;
pub mod parallel;
pub mod presets;
pub mod sam;
pub mod trainer;
pub mod validation;

pub use config::TrainConfig;
pub use error::TrainError;
pub use method::TrainingMethod;
pub use objective_config::{InnerAttack, InnerStart, ObjectiveConfig};
pub use presets::Profile;
pub use trainer::{Event, Outcome, Trainer};
