//! The one error type of the data crate: every variant renders as a single line that names the
//! file, what was expected and what was found.

use std::path::PathBuf;

/// Everything that can go wrong while finding, downloading or reading a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An operating-system error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file exists but its contents are not in the expected format.
    #[error("{path}: {message}")]
    Format {
        /// The offending file.
        path: PathBuf,
        /// What was expected and what was found.
        message: String,
    },
    /// A checksum did not match the pinned value.
    #[error(
        "{path}: {algorithm} checksum mismatch: expected {expected}, found {found} (delete the file and fetch it again)"
    )]
    Checksum {
        /// The offending file.
        path: PathBuf,
        /// `md5` or `sha256`.
        algorithm: &'static str,
        /// The pinned value.
        expected: String,
        /// The value of the file on disk.
        found: String,
    },
    /// The dataset is in none of the places searched.
    #[error("{dataset} not found (looked in {searched}); {hint}")]
    NotFound {
        /// The dataset's name.
        dataset: String,
        /// The places searched, comma separated.
        searched: String,
        /// How to get the data.
        hint: String,
    },
    /// A download failed.
    #[error("download of {url} failed: {message}")]
    Download {
        /// The address.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A request the caller made does not make sense (an unknown name, an impossible split).
    #[error("{0}")]
    Invalid(String),
}

impl DataError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A format error on `path`.
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The data crate's result type.
pub type Result<T, E = DataError> = std::result::Result<T, E>;
