//! The HTTP client GitLab and Gitea share: one API base, the token in the forge's header, JSON
//! both ways, page-number pagination (`Link: rel="next"` or GitLab's `x-next-page`), and the
//! forge's failures classified into [`ForgeError`].

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, ACCEPT, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::short_reason;
use super::{ForgeError, ForgeKind, ForgeResult};

/// One forge's REST API, acting with one token.
#[derive(Clone)]
pub struct Rest {
    http: reqwest::Client,
    kind: ForgeKind,
    /// The API base without a trailing slash.
    api: String,
    header: HeaderName,
    /// The header's value prefix (`token ` for Gitea, nothing for GitLab's `PRIVATE-TOKEN`).
    prefix: &'static str,
    token: SecretString,
}

impl Rest {
    /// A client for `api` (the guarded client the caller chose for it).
    pub fn new(http: reqwest::Client, kind: ForgeKind, api: &str, token: SecretString) -> Self {
        let (header, prefix) = match kind {
            ForgeKind::Gitlab => (HeaderName::from_static("private-token"), ""),
            ForgeKind::Gitea | ForgeKind::Github => (
                reqwest::header::AUTHORIZATION,
                if kind == ForgeKind::Gitea { "token " } else { "Bearer " },
            ),
        };
        Self { http, kind, api: api.trim_end_matches('/').to_owned(), header, prefix, token }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.api))
            .header(&self.header, format!("{}{}", self.prefix, self.token.expose_secret()))
            .header(ACCEPT, "application/json")
    }

    async fn send(&self, builder: RequestBuilder) -> ForgeResult<Response> {
        let response = builder.send().await.map_err(|e| {
            // reqwest's error names the URL, never the header: safe to keep as the cause.
            ForgeError::Unavailable(anyhow::anyhow!("{} request failed: {e}", self.kind.label()))
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.classify(response).await)
    }

    async fn decode<T: DeserializeOwned>(&self, response: Response) -> ForgeResult<T> {
        let path = response.url().path().to_owned();
        let bytes = response.bytes().await.map_err(|e| ForgeError::Unavailable(e.into()))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            ForgeError::Unexpected(anyhow::anyhow!("decoding {} {path}: {e}", self.kind.label()))
        })
    }

    /// `GET path` (relative to the API base, with its query).
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> ForgeResult<T> {
        Ok(self.get_page(path).await?.0)
    }

    /// `GET path`, and whether the forge says there is a next page.
    pub async fn get_page<T: DeserializeOwned>(&self, path: &str) -> ForgeResult<(T, bool)> {
        let response = self.send(self.request(Method::GET, path)).await?;
        let more = has_next(response.headers());
        Ok((self.decode(response).await?, more))
    }

    /// Every item of a list: `path` must end in a query; `&page=N` is added for up to
    /// `max_pages` pages.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        max_pages: u32,
    ) -> ForgeResult<Vec<T>> {
        let mut items = Vec::new();
        for page in 1..=max_pages {
            let (mut batch, more): (Vec<T>, bool) =
                self.get_page(&format!("{path}&page={page}")).await?;
            items.append(&mut batch);
            if !more {
                break;
            }
        }
        Ok(items)
    }

    /// A request with a JSON body, decoding the JSON answer.
    pub async fn send_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> ForgeResult<T> {
        let response = self.send(self.request(method, path).json(body)).await?;
        self.decode(response).await
    }

    /// A request with a JSON body whose answer is not needed (Gitea's merge answers empty).
    pub async fn send_only<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> ForgeResult<()> {
        self.send(self.request(method, path).json(body)).await.map(drop)
    }

    async fn classify(&self, response: Response) -> ForgeError {
        let status = response.status();
        let headers = response.headers().clone();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let reason = short_reason(&message_of(&body), self.token.expose_secret());
        match status.as_u16() {
            401 => ForgeError::Unauthorized,
            403 => ForgeError::Forbidden(reason),
            429 => ForgeError::RateLimited { reset_at: retry_at(&headers) },
            404 => ForgeError::NotFound,
            // Each operation decides what a 405/406/409 means (merge conflict, existing
            // request); as such they are refusals of the request's state.
            405 | 406 | 409 => ForgeError::NotMergeable(reason),
            400 | 422 => ForgeError::Rejected(reason),
            s if s >= 500 => ForgeError::Unavailable(anyhow::anyhow!(
                "{} answered {status}: {reason}",
                self.kind.label()
            )),
            _ => ForgeError::Unexpected(anyhow::anyhow!(
                "{} answered {status}: {reason}",
                self.kind.label()
            )),
        }
    }
}

/// The human part of a GitLab or Gitea error body: `message` (a string, a list, or GitLab's
/// field → messages object) or `error`.
fn message_of(body: &serde_json::Value) -> String {
    fn flatten(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
            serde_json::Value::Object(map) => {
                for (field, v) in map {
                    let mut inner = Vec::new();
                    flatten(v, &mut inner);
                    out.push(format!("{field} {}", inner.join(", ")));
                }
            }
            _ => {}
        }
    }
    let mut parts = Vec::new();
    flatten(
        body.get("message").or_else(|| body.get("error")).unwrap_or(&serde_json::Value::Null),
        &mut parts,
    );
    parts.join("; ")
}

/// Whether the headers announce another page.
fn has_next(headers: &HeaderMap) -> bool {
    let gitlab_next = headers
        .get("x-next-page")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty());
    gitlab_next || crate::github::client::next_link(headers).is_some()
}

fn retry_at(headers: &HeaderMap) -> DateTime<Utc> {
    let secs = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(60);
    Utc::now() + chrono::Duration::seconds(secs.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_of_every_shape() {
        assert_eq!(message_of(&json!({"message": "401 Unauthorized"})), "401 Unauthorized");
        assert_eq!(
            message_of(&json!({"message": ["Another open merge request already exists"]})),
            "Another open merge request already exists"
        );
        assert_eq!(
            message_of(&json!({"message": {"title": ["is too long"]}})),
            "title is too long"
        );
        assert_eq!(message_of(&json!({"error": "insufficient_scope"})), "insufficient_scope");
        assert_eq!(message_of(&json!(null)), "");
    }
}
