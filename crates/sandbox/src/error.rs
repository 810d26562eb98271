//! The one error type every sandbox backend returns.

use std::path::PathBuf;
use std::time::Duration;

/// What went wrong in a sandbox operation.
///
/// Variants are semantic so that the worker can decide what to do (retry, fail the task, tell the
/// operator) without parsing messages.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The backend cannot do this at all (see [`crate::Capabilities`]).
    #[error("{backend} sandboxes do not support {operation}")]
    Unsupported {
        /// The operation that was asked for.
        operation: &'static str,
        /// The backend's name.
        backend: &'static str,
    },
    /// No sandbox with this id exists (never created, or already destroyed).
    #[error("sandbox {id} not found")]
    NotFound {
        /// The sandbox id.
        id: String,
    },
    /// A sandbox with this id already exists.
    #[error("sandbox {id} already exists")]
    AlreadyExists {
        /// The sandbox id.
        id: String,
    },
    /// A file path was rejected: absolute, containing `..`, or leaving the sandbox via a symlink.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// The request itself is malformed (empty argv, bad id, ...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// An operation on the sandbox itself (not the command inside) took too long.
    #[error("{operation} timed out after {after:?}")]
    Timeout {
        /// The operation.
        operation: &'static str,
        /// How long we waited.
        after: Duration,
    },
    /// The backend cannot run here (missing or broken `bwrap`, no user namespaces, ...).
    #[error("sandbox backend unavailable: {reason}")]
    Unavailable {
        /// What is missing and how to fix it.
        reason: String,
    },
    /// A file or process operation on the host failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl SandboxError {
    /// Wraps an I/O error with what we were doing when it happened.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }

    /// An [`SandboxError::InvalidPath`] for `path`.
    pub fn invalid_path(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::InvalidPath { path: path.into(), reason: reason.into() }
    }
}

/// Result alias for sandbox operations.
pub type Result<T, E = SandboxError> = std::result::Result<T, E>;
