//! The git pipeline, run on the host against a sandbox's workspace directory.
//!
//! Git runs outside the sandbox so that the token never enters it: it exists only in the
//! environment of the git processes started here (see [`Credentials`]), never in
//! argv, `.git/config` or the agent's environment.
//!
//! The workspace is written by the agent, so host-side git must not trust it. Every command
//! runs with hooks and fsmonitor disabled, no system or global config, and credential helpers
//! reset; before committing, pushing or diffing, [`Git::sanitize`] rewrites `.git/config` from
//! what Drydock knows (dropping anything the agent added, such as `url.*.insteadOf`, filters or
//! `core.sshCommand`) and refuses a `.git` that is not a plain directory.
//!
//! Every command is reported through the recorder as a [`CommandRecord`] (argv without the
//! hardening options, secrets redacted, exit code, duration) so the worker can log it.

mod branch;
mod clone;
mod command;
mod commit;
mod diff;
mod fetch;
mod inspect;
mod remote;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use branch::{branch_name, branch_name_with_suffix};
pub use clone::CloneRequest;
pub use diff::{ChangeStatus, ChangedFile};
pub use fetch::PUSHED_REF;
pub use remote::Credentials;

/// A git command Drydock ran, for the task's event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    /// `git` and its arguments, without Drydock's hardening options, secrets redacted.
    pub argv: Vec<String>,
    /// Exit code; `None` when killed by a signal or the timeout.
    pub exit_code: Option<i32>,
    /// Wall time.
    pub duration: Duration,
}

/// Called with every git command run.
pub type Recorder = Arc<dyn Fn(CommandRecord) + Send + Sync>;

/// Who commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

/// A clone made by [`Git::clone_repo`]: everything later steps need. Serialisable, so a
/// follow-up run can pick it up again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClonedRepo {
    /// The working tree on the host.
    pub dir: PathBuf,
    /// The URL it was cloned from (never with credentials).
    pub url: String,
    /// The remote's default branch (or the requested base); `None` for an empty repository.
    pub base_branch: Option<String>,
    /// The commit the work started from; `None` for an empty repository.
    pub base_commit: Option<String>,
    /// The task's branch, checked out.
    pub branch: String,
    /// `sha1` or `sha256`.
    pub object_format: String,
}

/// Why a git step failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The URL is not one Drydock accepts.
    #[error("invalid repository URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A local path was given but the operator does not allow local repositories.
    #[error("local repositories are not allowed by this server ({url})")]
    LocalNotAllowed {
        /// The path or `file://` URL.
        url: String,
    },
    /// The remote refused the push (protected branch, hook, permissions...).
    #[error("push rejected by the remote: {message}")]
    PushRejected {
        /// Git's own explanation, secrets redacted.
        message: String,
    },
    /// The remote refused our credentials (no token, a wrong one, or one without access).
    #[error(
        "authentication to the git remote failed (missing, wrong or insufficient token): {message}"
    )]
    AuthenticationFailed {
        /// Git's message, secrets redacted.
        message: String,
    },
    /// A git command failed.
    #[error("`{command}` failed (exit {exit_code:?}): {stderr}")]
    Failed {
        /// The command, redacted.
        command: String,
        /// Its exit code.
        exit_code: Option<i32>,
        /// Its stderr, redacted.
        stderr: String,
    },
    /// A git command ran longer than [`Git::timeout`].
    #[error("`{command}` timed out after {after:?}")]
    Timeout {
        /// The command, redacted.
        command: String,
        /// The limit.
        after: Duration,
    },
    /// The working tree's `.git` was tampered with in a way we refuse to run git on.
    #[error("unsafe repository at {dir}: {reason}")]
    UnsafeRepository {
        /// The working tree.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Starting git or touching files failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Runs git for the pipeline. Cheap to clone.
#[derive(Clone)]
pub struct Git {
    program: PathBuf,
    allow_local: bool,
    allow_http: bool,
    timeout: Duration,
    recorder: Option<Recorder>,
}

impl std::fmt::Debug for Git {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Git")
            .field("program", &self.program)
            .field("allow_local", &self.allow_local)
            .field("allow_http", &self.allow_http)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for Git {
    fn default() -> Self {
        Self::new()
    }
}

impl Git {
    /// `git` from `PATH`, https remotes only, 10 minutes per command.
    pub fn new() -> Self {
        Self {
            program: PathBuf::from("git"),
            allow_local: false,
            allow_http: false,
            timeout: Duration::from_secs(600),
            recorder: None,
        }
    }

    /// Allows cloning from local paths and `file://` URLs.
    pub fn allow_local(mut self, allow: bool) -> Self {
        self.allow_local = allow;
        self
    }

    /// Allows plain `http://` remotes (tests and trusted networks only: the token travels in
    /// clear text).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Limit for each git command.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reports every command to `recorder`.
    pub fn with_recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }
}
