//! Errors of the sampling crate, each one line.

/// What can go wrong while sampling.
#[derive(Debug, thiserror::Error)]
pub enum SamplingError {
    /// A chain met a non-finite energy or gradient; the buffer keeps its state from before.
    #[error("SGLD stopped: {0}")]
    Chain(#[from] jeat_engine::EngineError),
    /// Too few images of a class to fit its Gaussian.
    #[error("class {class} has {count} image(s); fitting its Gaussian needs at least {needed}")]
    TooFewImages {
        /// The class.
        class: usize,
        /// Its images.
        count: usize,
        /// The minimum.
        needed: usize,
    },
    /// A bad parameter or a linear-algebra failure.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a file failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl SamplingError {
    pub(crate) fn io(path: &std::path::Path, error: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.display().to_string(),
            message: error.to_string(),
        }
    }
}
