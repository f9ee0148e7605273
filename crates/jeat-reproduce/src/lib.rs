//! # jeat-reproduce
//!
//! `cargo xtask reproduce-table` (through `jeat reproduce`): the results table of Zhu et al.,
//! "Towards Understanding the Generative Capability of Adversarially Robust Classifiers"
//! (ICCV 2021), rebuilt from scratch at three scales ([`profile`]): train every method, attack
//! it column by column, generate, score and analyse its energies ([`pipeline`]), and write the
//! report ([`report`]). Every cell is cached with the key that produced it ([`cache`]).

pub mod analysis;
pub mod attack_cell;
pub mod cache;
pub mod pipeline;
pub mod profile;
pub mod report;
pub mod scores;

pub use pipeline::{Options, SetSource, Summary, run};
pub use profile::Profile;
