//! Whose token a forge call uses, and which forge a repository URL is on.
//!
//! The configured GitHub's host gets the GitHub client's token
//! ([`crate::git_credentials::github_token`]: the OAuth token, else a `github` credential);
//! every other host the user's credential for exactly that host
//! ([`crate::git_credentials::for_host`]), when it is a forge's (not a plain `git` host's).
//!
//! A token goes only to its own host: a repository URL matches an access only when scheme,
//! host and port equal the access's web URL, and calls go only to the access's API URL.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use url::Url;
use uuid::Uuid;

use super::gitea::Gitea;
use super::github::GithubForge;
use super::gitlab::Gitlab;
use super::rest::Rest;
use super::{host_key, Forge, ForgeAccess, ForgeKind, RepoPath};
use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use crate::github::client::GithubClient;
use crate::outbound::Outbound;
use crate::state::AppState;

/// Forge calls' timeout.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The process's forge plumbing: the guarded outbound client (user-supplied API URLs must not
/// reach private addresses).
#[derive(Clone)]
pub struct Forges {
    outbound: Outbound,
}

impl Forges {
    /// From the settings (`tasks.egress_allow` lifts the address check per exact `host:port`).
    pub fn new(settings: &Settings) -> Self {
        Self { outbound: Outbound::new(&settings.tasks.egress_allow, TIMEOUT) }
    }
}

/// The host of the configured GitHub's web URL.
pub(crate) fn github_host(settings: &Settings) -> Option<String> {
    host_key(&Url::parse(&settings.github.web_url).ok()?)
}

/// What resolving access needs: the worker has these without an [`AppState`].
pub struct Sources<'a> {
    /// Process settings (the configured GitHub).
    pub settings: &'a Settings,
    /// Opens sealed tokens.
    pub secrets: &'a crate::crypto::SecretBox,
}

impl<'a> Sources<'a> {
    /// From the request state.
    pub fn of(state: &'a AppState) -> Self {
        Self { settings: &state.settings, secrets: &state.secrets }
    }

    /// The user's access to `host`: on the configured GitHub, the GitHub client's token (a 422
    /// asking to connect GitHub when they have none); elsewhere their credential for exactly
    /// that host; `None` when they have none or it is a plain git host's.
    pub async fn lookup(
        &self,
        conn: &mut AsyncPgConnection,
        user_id: Uuid,
        host: &str,
    ) -> ApiResult<Option<ForgeAccess>> {
        let host = host.to_ascii_lowercase();
        if github_host(self.settings).as_deref() == Some(host.as_str()) {
            let token =
                crate::git_credentials::github_token(conn, self.settings, self.secrets, user_id)
                    .await?;
            return github_access(self.settings, token).map(Some);
        }
        let Some(stored) =
            crate::git_credentials::for_host(conn, self.secrets, user_id, &host).await?
        else {
            return Ok(None);
        };
        let Some(kind) = stored.kind.forge() else { return Ok(None) };
        let Some(api_url) = stored.api_url.as_deref().and_then(|u| Url::parse(u).ok()) else {
            return Ok(None);
        };
        Ok(Some(ForgeAccess::new(kind, api_url, stored.token)))
    }

    /// The access and path of a task's repository, when the user has access to its host;
    /// `None` for a local path or a host with no forge access.
    pub async fn for_repo_url(
        &self,
        conn: &mut AsyncPgConnection,
        user_id: Uuid,
        repo_url: &str,
    ) -> ApiResult<Option<(ForgeAccess, RepoPath)>> {
        let Some(host) = Url::parse(repo_url).ok().as_ref().and_then(host_key) else {
            return Ok(None);
        };
        let Some(access) = self.lookup(conn, user_id, &host).await? else { return Ok(None) };
        Ok(repo_on(&access, repo_url).map(|path| (access, path)))
    }
}

/// [`Sources::lookup`] with a 422 naming what to do when the user has no access to the host.
pub async fn for_host(state: &AppState, user_id: Uuid, host: &str) -> ApiResult<ForgeAccess> {
    let mut conn = state.conn().await?;
    Sources::of(state).lookup(&mut conn, user_id, host).await?.ok_or_else(|| {
        ApiError::Unprocessable(format!(
            "You have no token for {host}: store a personal access token for this host (with its kind and API URL) in Settings."
        ))
    })
}

/// [`Sources::for_repo_url`] from the request state.
pub async fn for_repo_url(
    state: &AppState,
    user_id: Uuid,
    repo_url: &str,
) -> ApiResult<Option<(ForgeAccess, RepoPath)>> {
    let mut conn = state.conn().await?;
    Sources::of(state).for_repo_url(&mut conn, user_id, repo_url).await
}

fn github_access(settings: &Settings, token: secrecy::SecretString) -> ApiResult<ForgeAccess> {
    let parse = |u: &str| {
        Url::parse(u).map_err(|e| ApiError::Internal(anyhow::anyhow!("github URL {u}: {e}")))
    };
    Ok(ForgeAccess {
        kind: ForgeKind::Github,
        api_url: parse(&settings.github.api_url)?,
        web_url: parse(&settings.github.web_url)?,
        token,
    })
}

/// The repository path `repo_url` names under `access`'s web URL, when it is on that host
/// (same scheme, host and port, no credentials in the URL).
pub fn repo_on(access: &ForgeAccess, repo_url: &str) -> Option<RepoPath> {
    let url = Url::parse(repo_url).ok()?;
    let web = &access.web_url;
    let same = matches!(url.scheme(), "https" | "http")
        && url.scheme() == web.scheme()
        && url.username().is_empty()
        && url.password().is_none()
        && host_key(&url) == host_key(web)
        && url.query().is_none();
    if !same {
        return None;
    }
    let rest = url.path().strip_prefix(web.path().trim_end_matches('/'))?;
    RepoPath::parse(access.kind, rest)
}

impl Forges {
    /// The forge client for `access`. GitHub's configured API gets `http` (the server's own
    /// client); every other API URL is the user's choice and goes through the outbound guard.
    pub fn client(
        &self,
        settings: &Settings,
        http: &reqwest::Client,
        access: &ForgeAccess,
    ) -> ApiResult<Box<dyn Forge>> {
        let api = access.api_url.as_str().trim_end_matches('/');
        let configured_github = access.kind == ForgeKind::Github
            && api == settings.github.api_url.trim_end_matches('/');
        let http = if configured_github {
            http.clone()
        } else {
            self.outbound
                .client_for(api)
                .map_err(|refused| {
                    ApiError::Unprocessable(format!(
                        "The forge's API URL cannot be used: {refused}."
                    ))
                })?
                .clone()
        };
        let web = access.web_url.as_str().trim_end_matches('/');
        let token = access.token.clone();
        Ok(match access.kind {
            ForgeKind::Github => {
                Box::new(GithubForge::new(GithubClient::new(http, api, token), web))
            }
            ForgeKind::Gitlab => {
                Box::new(Gitlab::new(Rest::new(http, access.kind, api, token), web))
            }
            ForgeKind::Gitea => Box::new(Gitea::new(Rest::new(http, access.kind, api, token), web)),
        })
    }
}

/// [`Forges::client`] from the request state.
pub fn client(state: &AppState, access: &ForgeAccess) -> ApiResult<Box<dyn Forge>> {
    state.forges.client(&state.settings, &state.http, access)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(kind: ForgeKind, api: &str) -> ForgeAccess {
        ForgeAccess::new(kind, Url::parse(api).unwrap(), "t".to_owned().into())
    }

    #[test]
    fn repository_urls_match_only_their_own_host() {
        let gl = access(ForgeKind::Gitlab, "https://git.example/gl/api/v4");
        let path = |u| repo_on(&gl, u).map(|p| p.as_str().to_owned());
        assert_eq!(
            path("https://git.example/gl/team/sub/app.git").as_deref(),
            Some("team/sub/app")
        );
        for other in [
            "https://git.example.evil/gl/team/app.git",
            "http://git.example/gl/team/app.git",
            "https://git.example:8443/gl/team/app.git",
            "https://user:pw@git.example/gl/team/app.git",
            "https://git.example/team/app.git",
            "https://git.example/gl/app",
            "/srv/git/app.git",
        ] {
            assert_eq!(path(other), None, "{other}");
        }
        let gitea = access(ForgeKind::Gitea, "http://127.0.0.1:9/api/v1");
        assert!(repo_on(&gitea, "http://127.0.0.1:9/o/r.git").is_some());
        assert!(repo_on(&gitea, "http://127.0.0.1:10/o/r.git").is_none());
        assert!(repo_on(&gitea, "http://127.0.0.1:9/o/r/x").is_none());
    }
}
