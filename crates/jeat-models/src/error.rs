//! Errors of the models crate, each one line naming what was wrong.

use std::path::PathBuf;

/// What can go wrong building a model or moving its weights.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An architecture name the registry does not know.
    #[error("unknown architecture '{name}'; valid: {valid}")]
    UnknownArchitecture {
        /// The name given.
        name: String,
        /// The known names, comma separated.
        valid: String,
    },
    /// A checkpoint tensor whose shape does not fit the model.
    #[error("{path}: tensor '{tensor}' has shape {found:?} but the model expects {expected:?}")]
    ShapeMismatch {
        /// The checkpoint.
        path: PathBuf,
        /// The tensor's name (in the model's naming).
        tensor: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The checkpoint's shape.
        found: Vec<usize>,
    },
    /// Keys missing from the checkpoint or left over in it.
    #[error(
        "{path}: checkpoint does not fit the model: missing [{missing}], unexpected [{unexpected}]"
    )]
    KeyMismatch {
        /// The checkpoint.
        path: PathBuf,
        /// Model parameters the checkpoint lacks.
        missing: String,
        /// Checkpoint tensors the model has no place for.
        unexpected: String,
    },
    /// A checkpoint of another variant than the model it was loaded into.
    #[error(
        "{path}: the checkpoint holds a {looks_like}, not a {expected} (use --arch {looks_like})"
    )]
    WrongVariant {
        /// The checkpoint.
        path: PathBuf,
        /// The architecture asked for.
        expected: String,
        /// The architecture the checkpoint's names and shapes describe.
        looks_like: String,
    },
    /// A pickle that would need more than tensors and plain containers to load.
    #[error(
        "{path}: refused: the pickle asks for '{global}', which is not a tensor or a plain container (jeat never runs code from a checkpoint)"
    )]
    UnsafePickle {
        /// The checkpoint.
        path: PathBuf,
        /// The Python global it references.
        global: String,
    },
    /// The file cannot be read as a checkpoint at all.
    #[error("{path}: {message}")]
    Unreadable {
        /// The checkpoint.
        path: PathBuf,
        /// What the reader said.
        message: String,
    },
}
