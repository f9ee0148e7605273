#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! `cargo xtask reproduce-table` (through `jeat reproduce`): the results table of Zhu et al.,
//! "Towards Understanding the Generative Capability of Adversarially Robust Classifiers"
//! (ICCV 2021), rebuilt from scratch at four scales ([`profile`]): train every method
//! ([`training`]), attack it column by column ([`attack_cell`]), generate ([`samples`]), score
//! ([`scores`]) and analyse its energies ([`analysis`]), strung together by [`pipeline`], and
//! write the report ([`report`]). Every cell is cached with the key that produced it
//! ([`cache`]); errors are typed ([`error`]).

pub mod analysis;
pub mod attack_cell;
pub mod cache;
pub mod cell;
pub mod claims;
pub mod error;
pub mod options;
pub mod pipeline;
pub mod profile;
pub mod report;
pub mod samples;
pub mod scores;
pub mod summary;
pub mod training;
pub mod verdict;

pub use error::{ReproduceError, Result};
pub use options::Options;
pub use pipeline::run;
pub use profile::ProfilePlan;
pub use summary::{MethodResult, Summary};
