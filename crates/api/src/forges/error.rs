//! A forge's failure, classified, and its one mapping to a problem the user can act on. The
//! forge's own words reach the user only as a short, single-line reason with the token cut out.

use chrono::{DateTime, Utc};

use super::ForgeKind;
use crate::error::ApiError;
use crate::github::client::GithubError;

/// Longest forge reason passed on to the user.
const REASON_MAX: usize = 200;

/// A forge failure.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// 401: the token was revoked, expired or never valid.
    #[error("the forge rejected the token")]
    Unauthorized,
    /// 403: the token may not do this (a missing scope or role).
    #[error("the forge refused: {0}")]
    Forbidden(String),
    /// A rate limit, until `reset_at`.
    #[error("rate limited until {reset_at}")]
    RateLimited {
        /// When the forge accepts requests again.
        reset_at: DateTime<Utc>,
    },
    /// 404: missing, or invisible to this token.
    #[error("not found")]
    NotFound,
    /// The request cannot be merged (conflicts, unmet rules, not open).
    #[error("{0}")]
    NotMergeable(String),
    /// An open pull or merge request exists for the branch already.
    #[error("{0}")]
    AlreadyExists(String),
    /// The forge rejected the input.
    #[error("{0}")]
    Rejected(String),
    /// The forge cannot do this at all (rebase on GitLab).
    #[error("{0}")]
    Unsupported(String),
    /// 5xx, or the forge could not be reached.
    #[error("the forge is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// An answer we could not understand.
    #[error("unexpected answer from the forge")]
    Unexpected(#[source] anyhow::Error),
}

/// A forge call's result.
pub type ForgeResult<T> = Result<T, ForgeError>;

impl From<GithubError> for ForgeError {
    fn from(err: GithubError) -> Self {
        match err {
            GithubError::Unauthorized => Self::Unauthorized,
            GithubError::RateLimited { reset_at } => Self::RateLimited { reset_at },
            GithubError::Forbidden(m) => Self::Forbidden(m),
            GithubError::NotFound => Self::NotFound,
            GithubError::NotMergeable(m) => Self::NotMergeable(m),
            GithubError::AlreadyExists(m) => Self::AlreadyExists(m),
            GithubError::Rejected(m) => Self::Rejected(m),
            GithubError::Unavailable(e) => Self::Unavailable(e),
            GithubError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

/// The forge's message made safe to show: one line, short, without the token.
pub fn short_reason(raw: &str, token: &str) -> String {
    let mut text: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if token.len() >= 4 {
        text = text.replace(token, "[token]");
    }
    let mut short: String = text.chars().take(REASON_MAX).collect();
    if text.chars().count() > REASON_MAX {
        short.push('…');
    }
    if short.is_empty() {
        "no reason given".into()
    } else {
        short
    }
}

impl ForgeError {
    /// The problem, in the words of `kind`'s forge. GitHub keeps the messages it always had.
    pub fn into_api(self, kind: ForgeKind) -> ApiError {
        let forge = kind.label();
        let noun = kind.request_noun();
        match (kind, self) {
            (ForgeKind::Github, Self::Unauthorized) => GithubError::Unauthorized.into(),
            (ForgeKind::Github, Self::Forbidden(m)) => GithubError::Forbidden(m).into(),
            (ForgeKind::Github, Self::NotMergeable(m)) => GithubError::NotMergeable(m).into(),
            (_, Self::Unauthorized) => ApiError::Unprocessable(format!(
                "{forge} rejected your token for this host: it was revoked, has expired or was never valid. Store a new personal access token for the host in Settings."
            )),
            (_, Self::Forbidden(m)) => ApiError::Forbidden(format!(
                "{forge} refused the request ({m}). Your token lacks a scope or role this needs: give it the `api` scope (GitLab) or repository and issue write access (Gitea), and Developer access or more to the repository."
            )),
            (_, Self::RateLimited { reset_at }) => ApiError::RateLimited {
                detail: format!("{forge}'s API rate limit for your account is exhausted; try again after the reset time."),
                reset_at,
            },
            (_, Self::NotFound) => ApiError::NotFound,
            (_, Self::NotMergeable(m)) => ApiError::Conflict(format!(
                "The {noun} cannot be merged: {m}. Resolve the conflicts (for example with a follow-up asking the agent to merge the base branch) and try again."
            )),
            (_, Self::AlreadyExists(m)) => ApiError::Conflict(m),
            (_, Self::Rejected(m)) => {
                ApiError::Unprocessable(format!("{forge} rejected the request: {m}"))
            }
            (_, Self::Unsupported(m)) => ApiError::invalid("method", m),
            (_, Self::Unavailable(cause)) => {
                ApiError::Unavailable(cause.context(format!("{forge} is unreachable or failing")))
            }
            (_, Self::Unexpected(cause)) => ApiError::Internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_short_single_lines_without_the_token() {
        let reason = short_reason("bad\n token glpat-secret123 here", "glpat-secret123");
        assert_eq!(reason, "bad token [token] here");
        assert!(short_reason(&"x".repeat(500), "t").chars().count() <= REASON_MAX + 1);
        assert_eq!(short_reason("  ", "t"), "no reason given");
    }
}
