//! What can stop a reproduction, one line each, typed so that callers can tell them apart.

use std::path::Path;

/// An error of the reproduction.
#[derive(Debug, thiserror::Error)]
pub enum ReproduceError {
    /// A profile or method that does not fit (unknown name, `prejeat` without `pgd-at`).
    #[error("{0}")]
    Plan(String),
    /// Training failed.
    #[error(transparent)]
    Train(#[from] jeat_train::TrainError),
    /// An attack column failed.
    #[error(transparent)]
    Attack(#[from] jeat_attacks::AttackError),
    /// Generating samples failed.
    #[error(transparent)]
    Sampling(#[from] jeat_sampling::SamplingError),
    /// Scoring failed.
    #[error(transparent)]
    Metrics(#[from] jeat_metrics::MetricsError),
    /// A dataset could not be read.
    #[error(transparent)]
    Data(#[from] jeat_data::DataError),
    /// A checkpoint could not be read.
    #[error(transparent)]
    Model(#[from] jeat_models::ModelError),
    /// A figure could not be drawn.
    #[error(transparent)]
    Plot(#[from] jeat_plot::PlotError),
    /// A file of the output directory could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl ReproduceError {
    /// An I/O error at `path`.
    pub fn io(path: &Path, error: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.display().to_string(),
            message: error.to_string(),
        }
    }
}

/// The reproduction's result type.
pub type Result<T, E = ReproduceError> = std::result::Result<T, E>;
