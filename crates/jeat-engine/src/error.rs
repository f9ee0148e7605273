//! Errors of the engine, each one line.

/// What can go wrong setting up or running a chain of gradient steps.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// A bad parameter (eps, norm, a loss without what it needs).
    #[error("{0}")]
    Invalid(String),
    /// A chain met a non-finite loss or gradient and was told to stop.
    #[error(
        "non-finite {what} at step {step} on {points} point(s); the state before that step is kept"
    )]
    NonFinite {
        /// `loss` or `gradient`.
        what: &'static str,
        /// The step (0-based) whose evaluation failed.
        step: usize,
        /// How many points were affected.
        points: usize,
    },
}
