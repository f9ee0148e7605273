//! Errors of the metrics crate, each one line.

/// What can go wrong computing a score.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A bad input or parameter.
    #[error("{0}")]
    Invalid(String),
    /// Weights that cannot be used.
    #[error(transparent)]
    Weights(#[from] jeat_models::ModelError),
    /// Images that cannot be read.
    #[error(transparent)]
    Data(#[from] jeat_data::DataError),
    /// A statistics file that cannot be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl MetricsError {
    pub(crate) fn io(path: &std::path::Path, error: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.display().to_string(),
            message: error.to_string(),
        }
    }
}
