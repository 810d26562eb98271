//! The one GitHub REST client: the user's token (server-side only), a configurable base URL
//! (github.com, GitHub Enterprise, the test fake), `Link` pagination, and GitHub's failures
//! sorted into [`GithubError`] so each becomes a problem the user can act on.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, LINK, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// How long to wait out an unspecified rate limit (a 429 without headers).
const DEFAULT_RETRY: Duration = Duration::from_secs(60);

/// A GitHub failure, classified.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// 401: the token was revoked, expired or never valid.
    #[error("GitHub rejected the token")]
    Unauthorized,
    /// 403/429 with rate-limit headers.
    #[error("GitHub rate limit until {reset_at}")]
    RateLimited {
        /// When GitHub accepts requests again.
        reset_at: DateTime<Utc>,
    },
    /// 403 without rate-limit headers: the token may not do this.
    #[error("GitHub refused: {0}")]
    Forbidden(String),
    /// 404: missing, or invisible to this token (GitHub does not tell which).
    #[error("not found on GitHub")]
    NotFound,
    /// 405/409: the pull request cannot be merged (conflicts, failing requirements).
    #[error("{0}")]
    NotMergeable(String),
    /// 422 "already exists" (a pull request for the branch, a repository name).
    #[error("{0}")]
    AlreadyExists(String),
    /// 400/422: GitHub rejected the input.
    #[error("{0}")]
    Rejected(String),
    /// 5xx, or GitHub could not be reached.
    #[error("GitHub is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// An answer we could not understand.
    #[error("unexpected answer from GitHub")]
    Unexpected(#[source] anyhow::Error),
}

impl From<GithubError> for ApiError {
    fn from(err: GithubError) -> Self {
        match err {
            GithubError::Unauthorized => ApiError::Unprocessable(
                "GitHub rejected your GitHub token: it was revoked or has expired. Sign in with GitHub again to reconnect your account.".into(),
            ),
            GithubError::RateLimited { reset_at } => ApiError::RateLimited {
                detail: "GitHub's API rate limit for your account is exhausted; try again after the reset time.".into(),
                reset_at,
            },
            GithubError::Forbidden(message) => ApiError::Forbidden(format!(
                "GitHub refused the request ({message}). Your GitHub token may lack access to this repository or organisation; sign in with GitHub again and grant access."
            )),
            GithubError::NotFound => ApiError::NotFound,
            GithubError::NotMergeable(message) => ApiError::Conflict(format!(
                "The pull request cannot be merged: {message}. Resolve the conflicts (for example with a follow-up asking the agent to merge the base branch) and try again."
            )),
            GithubError::AlreadyExists(message) => ApiError::Conflict(message),
            GithubError::Rejected(message) => {
                ApiError::Unprocessable(format!("GitHub rejected the request: {message}"))
            }
            GithubError::Unavailable(cause) => {
                ApiError::Unavailable(cause.context("GitHub is unreachable or failing"))
            }
            GithubError::Unexpected(cause) => ApiError::Internal(cause),
        }
    }
}

/// A client acting as one user.
#[derive(Clone)]
pub struct GithubClient {
    http: reqwest::Client,
    api: String,
    token: SecretString,
}

/// GitHub's error body.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    message: Option<String>,
    code: Option<String>,
}

impl ErrorBody {
    /// The message plus the per-field messages GitHub puts the real reason in.
    fn text(&self) -> String {
        let mut parts = vec![self.message.trim().to_owned()];
        parts.extend(self.errors.iter().filter_map(|e| e.message.clone().or(e.code.clone())));
        parts.retain(|p| !p.is_empty());
        if parts.is_empty() {
            "no reason given".into()
        } else {
            parts.join(": ")
        }
    }
}

impl GithubClient {
    /// A client for `api_url` (no trailing slash needed) acting with `token`.
    pub fn new(http: reqwest::Client, api_url: &str, token: SecretString) -> Self {
        Self { http, api: api_url.trim_end_matches('/').to_owned(), token }
    }

    fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.http
            .request(method, url)
            .header(AUTHORIZATION, format!("Bearer {}", self.token.expose_secret()))
            .header(ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
    }

    async fn send(&self, builder: RequestBuilder) -> Result<Response, GithubError> {
        let response = builder.send().await.map_err(|e| GithubError::Unavailable(e.into()))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(classify(response).await)
    }

    async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, GithubError> {
        let url = response.url().path().to_owned();
        let bytes = response.bytes().await.map_err(|e| GithubError::Unavailable(e.into()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| GithubError::Unexpected(anyhow::anyhow!("decoding GitHub {url}: {e}")))
    }

    /// `GET path` (relative to the API base, with its query).
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, GithubError> {
        self.get_page(path).await.map(|(value, _)| value)
    }

    /// `GET path`, with the URL of the next page when GitHub's `Link` header has one.
    pub async fn get_page<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<(T, Option<String>), GithubError> {
        self.get_url(&format!("{}{path}", self.api)).await
    }

    async fn get_url<T: DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<(T, Option<String>), GithubError> {
        let response = self.send(self.request(Method::GET, url)).await?;
        let next = next_link(response.headers())
            // The token goes only to the configured API host, wherever a Link points.
            .filter(|next| next.starts_with(&format!("{}/", self.api)));
        Ok((Self::decode(response).await?, next))
    }

    /// Every item of a list, following `rel="next"` for at most `max_pages` pages.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        max_pages: usize,
    ) -> Result<Vec<T>, GithubError> {
        let mut items = Vec::new();
        let mut url = Some(format!("{}{path}", self.api));
        let mut pages = 0;
        while let Some(current) = url.take() {
            let (mut page, next): (Vec<T>, _) = self.get_url(&current).await?;
            items.append(&mut page);
            pages += 1;
            if pages < max_pages {
                url = next;
            }
        }
        Ok(items)
    }

    /// A request with a JSON body (`POST`, `PATCH`, `PUT`), decoding the JSON answer.
    pub async fn send_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, GithubError> {
        let url = format!("{}{path}", self.api);
        let response = self.send(self.request(method, &url).json(body)).await?;
        Self::decode(response).await
    }
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| p.trim().eq_ignore_ascii_case("rel=\"next\""));
        is_next.then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

fn header_i64(headers: &HeaderMap, name: &str) -> Option<i64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// When a rate-limited request may be retried, if the answer is a rate limit at all.
fn rate_limit_reset(status: StatusCode, headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let exhausted = header_i64(headers, "x-ratelimit-remaining") == Some(0);
    let retry_after = header_i64(headers, RETRY_AFTER.as_str());
    if exhausted {
        if let Some(at) = header_i64(headers, "x-ratelimit-reset")
            .and_then(|epoch| DateTime::from_timestamp(epoch, 0))
        {
            return Some(at);
        }
    }
    if let Some(secs) = retry_after {
        return Some(Utc::now() + chrono::Duration::seconds(secs.max(1)));
    }
    (exhausted || status == StatusCode::TOO_MANY_REQUESTS)
        .then(|| Utc::now() + chrono::Duration::from_std(DEFAULT_RETRY).unwrap_or_default())
}

async fn classify(response: Response) -> GithubError {
    let status = response.status();
    let headers = response.headers().clone();
    let body: ErrorBody = response.json().await.unwrap_or_default();
    let text = body.text();
    match status.as_u16() {
        401 => GithubError::Unauthorized,
        403 | 429 => match rate_limit_reset(status, &headers) {
            Some(reset_at) => GithubError::RateLimited { reset_at },
            None => GithubError::Forbidden(text),
        },
        404 => GithubError::NotFound,
        405 | 409 => GithubError::NotMergeable(text),
        422 if text.to_lowercase().contains("already exist") => GithubError::AlreadyExists(text),
        400 | 422 => GithubError::Rejected(text),
        s if s >= 500 => {
            GithubError::Unavailable(anyhow::anyhow!("GitHub answered {status}: {text}"))
        }
        _ => GithubError::Unexpected(anyhow::anyhow!("GitHub answered {status}: {text}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn finds_the_next_link() {
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            HeaderValue::from_static(
                "<https://api.github.com/user/repos?page=1>; rel=\"prev\", <https://api.github.com/user/repos?page=3>; rel=\"next\", <https://api.github.com/user/repos?page=9>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://api.github.com/user/repos?page=3")
        );
        headers.insert(LINK, HeaderValue::from_static("<https://x/?page=1>; rel=\"first\""));
        assert_eq!(next_link(&headers), None);
    }

    #[test]
    fn rate_limits_use_the_reset_header_then_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("4102444800"));
        let at = rate_limit_reset(StatusCode::FORBIDDEN, &headers).unwrap();
        assert_eq!(at.timestamp(), 4_102_444_800);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        let at = rate_limit_reset(StatusCode::TOO_MANY_REQUESTS, &headers).unwrap();
        assert!((at - Utc::now()).num_seconds() > 20);
        assert!(rate_limit_reset(StatusCode::FORBIDDEN, &HeaderMap::new()).is_none());
    }
}
