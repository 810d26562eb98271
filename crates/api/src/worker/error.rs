//! Why a run failed: what the user sees, kept apart from the internal cause that only the log
//! sees.
//!
//! There is deliberately no blanket `From<E: Display>`: each failure says whether its text is
//! for the user (a git remote's refusal, a missing key, the agent's own error) or internal (a
//! pool, database, sandbox or io error), whose text never becomes `task.error`.

use sandbox::git::GitError;
use uuid::Uuid;

/// A failed run.
#[derive(Debug)]
pub struct RunError {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// Safe and useful to show as it is.
    User(String),
    /// Something broke inside Drydock while doing `doing`.
    Internal { doing: &'static str, cause: anyhow::Error },
}

impl RunError {
    /// A failure the user should read as it is.
    pub fn user(message: impl Into<String>) -> Self {
        Self { kind: Kind::User(message.into()) }
    }

    /// An internal failure while `doing` something (`"preparing the sandbox"`); the cause goes
    /// to the log only.
    pub fn internal(doing: &'static str, cause: impl Into<anyhow::Error>) -> Self {
        Self { kind: Kind::Internal { doing, cause: cause.into() } }
    }

    /// A `map_err` adaptor for [`RunError::internal`].
    pub fn internally<E: Into<anyhow::Error>>(doing: &'static str) -> impl FnOnce(E) -> Self {
        move |cause| Self::internal(doing, cause)
    }

    /// The text for `task.error`. Internal causes are logged here, once, with the run's ids,
    /// and the text points at that log line.
    pub fn into_message(self, task_id: Uuid, run_id: Uuid) -> String {
        match self.kind {
            Kind::User(message) => message,
            Kind::Internal { doing, cause } => {
                tracing::error!(%task_id, %run_id, error = ?cause, "run failed while {doing}");
                format!(
                    "Drydock failed while {doing} (an internal error, logged with run id {run_id}); \
                     send a follow-up to try again."
                )
            }
        }
    }
}

/// Git failures are the remote's or the repository's words (redacted by `sandbox::git`), and
/// tell the user what to fix, except for local io.
impl From<GitError> for RunError {
    fn from(e: GitError) -> Self {
        match e {
            GitError::Io { .. } => Self::internal("running git", e),
            other => Self::user(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_causes_never_reach_the_message() {
        let (task, run) = (Uuid::new_v4(), Uuid::new_v4());
        let e = RunError::internal(
            "loading the run",
            anyhow::anyhow!("connection to db.internal:5432 refused, password=hunter2"),
        );
        let text = e.into_message(task, run);
        assert!(!text.contains("hunter2") && !text.contains("5432"), "{text}");
        assert!(text.contains("loading the run") && text.contains(&run.to_string()), "{text}");
    }

    #[test]
    fn user_messages_and_git_refusals_pass_through() {
        let (task, run) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(RunError::user("Add a key").into_message(task, run), "Add a key");
        let git = GitError::PushRejected { message: "protected branch".into() };
        assert!(RunError::from(git).into_message(task, run).contains("protected branch"));
        let io = GitError::Io { context: "x".into(), source: std::io::Error::other("disk") };
        assert!(!RunError::from(io).into_message(task, run).contains("disk"));
    }
}
