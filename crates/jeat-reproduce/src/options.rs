//! How a reproduction runs: the profile's plan, where it writes, which device.

use crate::profile::ProfilePlan;
use burn::prelude::*;
use std::path::PathBuf;

/// How to run a profile.
pub struct Options {
    /// What to measure.
    pub plan: ProfilePlan,
    /// Where everything goes.
    pub out: PathBuf,
    /// The backend's name, for the report.
    pub backend: String,
    /// The device everything runs on.
    pub device: Device,
    /// The devices training splits each batch over (data parallelism), `device` first; empty
    /// (or just `device`) for one.
    pub training_devices: Vec<Device>,
    /// Inception weights (default: located under the data root).
    pub inception: Option<PathBuf>,
}
