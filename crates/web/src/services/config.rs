//! The runtime configuration: `config.json` served beside `index.html`, so one build of the SPA
//! can be pointed at any API deployment (never a compile-time URL).

use std::cell::RefCell;

use serde::Deserialize;

/// Contents of `config.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RuntimeConfig {
    /// Origin (and optional path prefix) of the API; empty means the SPA's own origin.
    #[serde(default)]
    pub api_base_url: String,
}

thread_local! {
    static BASE_URL: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Fetches `/config.json`; a missing or broken file means "same origin", so a plain
/// `drydock serve` needs no config at all.
pub async fn load() -> RuntimeConfig {
    let config = match gloo_net::http::Request::get("/config.json").send().await {
        Ok(resp) if resp.ok() => resp.json::<RuntimeConfig>().await.unwrap_or_default(),
        _ => RuntimeConfig::default(),
    };
    BASE_URL.with(|b| *b.borrow_mut() = config.api_base_url.trim_end_matches('/').to_owned());
    config
}

/// Sets the API base URL without fetching `config.json` (the lazily loaded pages module gets
/// it from the main app).
pub fn set_base_url(url: &str) {
    BASE_URL.with(|b| *b.borrow_mut() = url.to_owned());
}

/// The API base URL in force (empty for same origin).
pub fn base_url() -> String {
    BASE_URL.with(|b| b.borrow().clone())
}

/// URL of an `/api/v1` path.
pub fn api_url(path: &str) -> String {
    join(&base_url(), &format!("/api/v1{path}"))
}

/// Joins a base URL and a path; absolute URLs are returned unchanged (provider login URLs may
/// point elsewhere).
pub fn join(base: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_owned();
    }
    let base = base.trim_end_matches('/');
    if path.starts_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_handles_slashes_and_absolute_urls() {
        assert_eq!(join("", "/api/v1/me"), "/api/v1/me");
        assert_eq!(join("https://api.example/", "/api/v1/me"), "https://api.example/api/v1/me");
        assert_eq!(join("https://a", "x"), "https://a/x");
        assert_eq!(join("https://a", "https://b/login"), "https://b/login");
    }
}
