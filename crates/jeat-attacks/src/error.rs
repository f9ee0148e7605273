//! Errors of the attacks crate, each one line.

/// What can go wrong setting up or running an attack.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AttackError {
    /// A bad parameter (eps, suite name, norm, …).
    #[error("{0}")]
    Invalid(String),
    /// Images outside [0, 1].
    #[error(
        "images must lie in [0, 1] (normalisation belongs inside the model); found values in [{min}, {max}]"
    )]
    ImageRange {
        /// Smallest value found.
        min: f32,
        /// Largest value found.
        max: f32,
    },
    /// A label the model has no class for.
    #[error(
        "point {index} has label {label}, but the model has {classes} classes (labels 0 to {last}): \
         are the labels and the checkpoint from the same dataset?",
        last = classes - 1
    )]
    LabelOutOfRange {
        /// The point's index in the source (the first such point).
        index: usize,
        /// Its label.
        label: usize,
        /// The model's number of classes.
        classes: usize,
    },
    /// No points to evaluate.
    #[error("no points to evaluate: the image set is empty")]
    NoPoints,
    /// The gradient-step engine stopped a chain (a non-finite loss or gradient).
    #[error(transparent)]
    Chain(jeat_engine::EngineError),
    /// A resume state written for another run.
    #[error("refusing to resume from {path}: it was written for {found}, this run is {expected}")]
    StateMismatch {
        /// The state file.
        path: String,
        /// What this run is.
        expected: String,
        /// What the state file describes.
        found: String,
    },
    /// Reading or writing a results or state file failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl From<jeat_engine::EngineError> for AttackError {
    fn from(error: jeat_engine::EngineError) -> Self {
        match error {
            jeat_engine::EngineError::Invalid(message) => Self::Invalid(message),
            chain => Self::Chain(chain),
        }
    }
}
