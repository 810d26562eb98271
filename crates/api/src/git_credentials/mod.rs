//! Git host credentials: a user's personal access token per host, with the host's kind and API
//! URL. Sealed like every other secret (bound to its row), write-only over the API, and opened
//! only server-side, for the host it was stored for:
//!
//! - host git gets it for clone and push to exactly that `host[:port]` ([`git_token`], which
//!   the worker and the branch readers call; `sandbox::git` keeps it in that one process);
//! - forge clients get it for that host's API ([`for_host`], [`for_repo_url`]);
//! - a `github` credential for the configured GitHub host stands in for the OAuth sign-in
//!   ([`github_token`]), so a local user with a token can use the GitHub features.
//!
//! The lookups are exact: a token stored for `git.example` is never offered to
//! `git.example.evil`, `evil.example/git.example` or `git.example:8443`.

pub mod endpoints;
pub mod model;
pub mod validate;

use diesel_async::AsyncPgConnection;
use secrecy::{ExposeSecret, SecretString};
use shared::git_hosts::{GitCredential, GitHostKind};
use uuid::Uuid;

use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::error::{ApiError, ApiResult};
use model::CredentialRow;

/// A user's credential for one host, token opened.
#[derive(Debug, Clone)]
pub struct HostCredential {
    /// `host` or `host:port`, lower case.
    pub host: String,
    /// What the host runs.
    pub kind: GitHostKind,
    /// The forge API base URL (no trailing slash); `None` for plain git hosts.
    pub api_url: Option<String>,
    /// The token.
    pub token: SecretString,
}

/// The key credentials are stored under for an `http(s)` URL: its lower-case host, plus the
/// port when it is not the scheme's default. `None` for anything else (local paths, SSH, a URL
/// with a user in it), which gets no token.
pub fn host_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    if !matches!(url.scheme(), "https" | "http") || !url.username().is_empty() {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// The wire view of a row: never the token.
pub fn to_dto(row: &CredentialRow) -> GitCredential {
    GitCredential {
        host: row.host.clone(),
        kind: GitHostKind::parse(&row.kind).unwrap_or(GitHostKind::Git),
        api_url: row.api_url.clone(),
        token_last4: row.token_last4.clone(),
        created_at: row.created_at,
        updated_at: row.updated_at,
        last_used_at: row.last_used_at,
    }
}

/// Seals and stores (or replaces) a checked credential of `user_id`.
pub async fn store(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    user_id: Uuid,
    checked: &validate::Checked,
) -> ApiResult<CredentialRow> {
    let chars: Vec<char> = checked.token.chars().collect();
    let last4: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    let sealed = secrets.seal(&model::sealed_at(user_id, &checked.host), &checked.token)?;
    let row = model::put(
        conn,
        model::NewCredential {
            user_id,
            host: &checked.host,
            kind: checked.kind.as_str(),
            api_url: checked.api_url.as_deref(),
            token_enc: &sealed,
            token_last4: &last4,
        },
    )
    .await?;
    Ok(row)
}

fn unreadable(host: &str) -> ApiError {
    ApiError::Unprocessable(format!(
        "Your stored token for {host} can no longer be read (the server's master key changed); store it again under Settings → Git hosts."
    ))
}

fn open(secrets: &SecretBox, row: &CredentialRow) -> ApiResult<SecretString> {
    secrets
        .open(&model::sealed_at(row.user_id, &row.host), &row.token_enc)
        .map_err(|_| unreadable(&row.host))
}

/// The user's credential for exactly `host` (normalised first), opened; records its use.
pub async fn for_host(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    user_id: Uuid,
    host: &str,
) -> ApiResult<Option<HostCredential>> {
    let Ok(host) = shared::git_hosts::normalise_host(host) else { return Ok(None) };
    let Some(row) = model::get(conn, user_id, &host).await? else { return Ok(None) };
    // A kind a newer server wrote is not ours to use.
    let Some(kind) = GitHostKind::parse(&row.kind) else { return Ok(None) };
    let token = open(secrets, &row)?;
    model::touch(conn, user_id, &host).await?;
    Ok(Some(HostCredential { host, kind, api_url: row.api_url, token }))
}

/// The user's credential for the host of `url` (a repository's clone URL), opened.
pub async fn for_repo_url(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    user_id: Uuid,
    url: &str,
) -> ApiResult<Option<HostCredential>> {
    match host_of(url) {
        Some(host) => for_host(conn, secrets, user_id, &host).await,
        None => Ok(None),
    }
}

/// The user's GitHub OAuth token, when they signed in with (or connected) GitHub and it opens.
async fn oauth_token(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    user_id: Uuid,
) -> ApiResult<Option<SecretString>> {
    use crate::accounts::model::IdentityToken;
    let identity = crate::accounts::model::identity(conn, user_id, "github").await?;
    // A token sealed under a key that is no longer configured, or not for this row, is as
    // good as none.
    Ok(identity.and_then(|i| i.open_token(secrets, IdentityToken::Access).ok().flatten()))
}

/// The token the GitHub client acts with for the user: their OAuth token, else a `github`
/// credential stored for the configured GitHub host; a 422 asking to connect one otherwise.
pub async fn github_token(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    secrets: &SecretBox,
    user_id: Uuid,
) -> ApiResult<SecretString> {
    if let Some(token) = oauth_token(conn, secrets, user_id).await? {
        return Ok(token);
    }
    if let Some(host) = validate::github_host(settings) {
        if let Some(c) = for_host(conn, secrets, user_id, &host).await? {
            if c.kind == GitHostKind::Github {
                return Ok(c.token);
            }
        }
    }
    Err(crate::github::model::not_connected())
}

/// What host git authenticates with to a repository's host: the token as the password of the
/// user name the host's kind documents ([`GitHostKind::git_username`]).
#[derive(Debug, Clone)]
pub struct GitLogin {
    /// The Basic user name.
    pub username: &'static str,
    /// The token.
    pub token: SecretString,
}

/// The login host git uses for `repo_url`: on the configured GitHub host the user's OAuth
/// token when they have one, otherwise the credential stored for exactly the URL's host.
/// `None` (clone anonymously) when there is neither.
pub async fn git_token(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    secrets: &SecretBox,
    user_id: Uuid,
    repo_url: &str,
) -> ApiResult<Option<GitLogin>> {
    if crate::github::remote::on_github_host(&settings.github.web_url, repo_url) {
        if let Some(token) = oauth_token(conn, secrets, user_id).await? {
            return Ok(Some(GitLogin { username: GitHostKind::Github.git_username(), token }));
        }
    }
    let stored = for_repo_url(conn, secrets, user_id, repo_url).await?;
    Ok(stored.map(|c| GitLogin { username: c.kind.git_username(), token: c.token }))
}

/// Every token of the user, opened, for redacting a run's events. A token that cannot be
/// opened is an error: a run must not start with a redaction list that misses it.
pub async fn secret_values(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    user_id: Uuid,
) -> ApiResult<Vec<String>> {
    let rows = model::list(conn, user_id).await?;
    rows.iter().map(|row| open(secrets, row).map(|t| t.expose_secret().to_owned())).collect()
}

/// The 422 of the pull request endpoints for a repository on a host without pull requests
/// (a plain git host, a local path): the branch is pushed, and merging happens elsewhere.
pub fn no_pull_requests(web_url: &str, repo_url: &str) -> ApiError {
    let place = host_of(repo_url).unwrap_or_else(|| repo_url.to_owned());
    ApiError::Unprocessable(format!(
        "This host has no pull requests: Drydock has no forge API for {place} (pull requests, comments and checks need the configured GitHub, {web_url}, or a GitLab or Gitea host you have a token for). The task's branch is pushed there; merge it on the host itself."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_urls_map_to_exact_host_keys() {
        assert_eq!(
            host_of("https://GitLab.example/team/app.git").as_deref(),
            Some("gitlab.example")
        );
        assert_eq!(host_of("https://git.example:443/a/b").as_deref(), Some("git.example"));
        assert_eq!(host_of("https://git.example:8443/a/b").as_deref(), Some("git.example:8443"));
        assert_eq!(host_of("http://127.0.0.1:9000/o/r").as_deref(), Some("127.0.0.1:9000"));
        for none in [
            "/srv/git/app.git",
            "file:///srv/app",
            "ssh://git@host/a/b",
            "git@host:a/b.git",
            "https://u:p@git.example/a/b",
        ] {
            assert_eq!(host_of(none), None, "{none}");
        }
        // Look-alikes are other hosts.
        assert_eq!(host_of("https://git.example.evil/a/b").as_deref(), Some("git.example.evil"));
        assert_eq!(host_of("https://evil.example/git.example/b").as_deref(), Some("evil.example"));
    }
}
