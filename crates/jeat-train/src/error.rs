//! Errors of the training crate, each one line.

/// What can stop a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A bad configuration (unknown key, wrong type, value out of range).
    #[error("config: {0}")]
    Config(String),
    /// Data could not be read.
    #[error(transparent)]
    Data(#[from] jeat_data::DataError),
    /// A model could not be built or loaded.
    #[error(transparent)]
    Model(#[from] jeat_models::ModelError),
    /// An inner attack failed.
    #[error(transparent)]
    Attack(#[from] jeat_attacks::AttackError),
    /// The gradient-step engine refused a parameter or met a non-finite value.
    #[error(transparent)]
    Engine(#[from] jeat_engine::EngineError),
    /// The sampler failed.
    #[error(transparent)]
    Sampling(#[from] jeat_sampling::SamplingError),
    /// A checkpoint could not be written or read.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The run directory cannot be used as asked.
    #[error("{0}")]
    RunDirectory(String),
    /// Training diverged more often than the guard allows.
    #[error("training diverged: {0}")]
    Diverged(String),
}

impl TrainError {
    pub(crate) fn io(path: &std::path::Path, error: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.display().to_string(),
            message: error.to_string(),
        }
    }
}
