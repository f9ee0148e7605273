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
    /// Inception weights (default: located under the data root).
    pub inception: Option<PathBuf>,
}
