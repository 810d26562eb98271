//! Which repositories are on GitHub: `WEB_URL/OWNER/REPO(.git)` under the configured web host
//! (github.com, a GitHub Enterprise host, or the test fake), and safe owner/repo names.

use crate::error::ApiError;

/// A repository on the configured GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    /// Owner login.
    pub owner: String,
    /// Repository name, without `.git`.
    pub name: String,
}

/// Whether `s` is a login or repository name GitHub could have. Rejecting everything else
/// keeps path parameters from reshaping the API path (`..`, `/`, `?`).
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s != "."
        && s != ".."
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl RepoRef {
    /// From path parameters, or a 404 for names GitHub cannot have.
    pub fn from_path(owner: &str, name: &str) -> Result<Self, ApiError> {
        let name = name.strip_suffix(".git").unwrap_or(name);
        if valid_name(owner) && valid_name(name) {
            Ok(Self { owner: owner.to_owned(), name: name.to_owned() })
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// The API path of the repository, `/repos/OWNER/NAME`.
    pub fn api_path(&self) -> String {
        format!("/repos/{}/{}", self.owner, self.name)
    }

    /// The URL a task uses for it: `WEB_URL/OWNER/NAME`.
    pub fn repo_url(&self, web_url: &str) -> String {
        format!("{}/{}/{}", web_url.trim_end_matches('/'), self.owner, self.name)
    }

    /// `OWNER/NAME`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// The GitHub repository a task's `repo_url` names, when it is on the configured GitHub host
/// (`https://HOST/OWNER/REPO`, with or without `.git`, or `git@HOST:OWNER/REPO.git`).
pub fn parse(web_url: &str, repo_url: &str) -> Option<RepoRef> {
    let web = url::Url::parse(web_url).ok()?;
    let host = web.host_str()?.to_ascii_lowercase();
    let path = if let Some(rest) = repo_url.strip_prefix("git@") {
        let (h, path) = rest.split_once(':')?;
        if !h.eq_ignore_ascii_case(&host) {
            return None;
        }
        path.to_owned()
    } else {
        let url = url::Url::parse(repo_url).ok()?;
        let same_host = url.host_str().map(str::to_ascii_lowercase) == Some(host)
            && url.port_or_known_default() == web.port_or_known_default()
            && matches!(url.scheme(), "https" | "http")
            && url.username().is_empty();
        if !same_host {
            return None;
        }
        // Under a path prefix when the web URL has one (some Enterprise proxies do).
        let prefix = web.path().trim_end_matches('/');
        url.path().strip_prefix(prefix)?.to_owned()
    };
    let mut parts = path.trim_matches('/').split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    RepoRef::from_path(owner, name).ok()
}

/// Whether `repo_url` is an http(s) URL on the configured GitHub host (same host and port),
/// whatever its path: the only URLs the user's GitHub token may be sent to.
pub fn on_github_host(web_url: &str, repo_url: &str) -> bool {
    let (Ok(web), Ok(url)) = (url::Url::parse(web_url), url::Url::parse(repo_url)) else {
        return false;
    };
    matches!(url.scheme(), "https" | "http")
        && url.scheme() == web.scheme()
        && url.host_str().map(str::to_ascii_lowercase)
            == web.host_str().map(str::to_ascii_lowercase)
        && url.port_or_known_default() == web.port_or_known_default()
}

/// The task's repository, or a 422 saying this host has no pull requests.
pub fn require(web_url: &str, repo_url: &str) -> Result<RepoRef, ApiError> {
    parse(web_url, repo_url)
        .ok_or_else(|| crate::git_credentials::no_pull_requests(web_url, repo_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(owner: &str, name: &str) -> Option<RepoRef> {
        Some(RepoRef { owner: owner.into(), name: name.into() })
    }

    #[test]
    fn github_urls() {
        let gh = "https://github.com";
        assert_eq!(parse(gh, "https://github.com/octo/my.repo.git"), r("octo", "my.repo"));
        assert_eq!(parse(gh, "https://GitHub.com/octo/app/"), r("octo", "app"));
        assert_eq!(parse(gh, "git@github.com:octo/app.git"), r("octo", "app"));
        assert_eq!(parse("http://127.0.0.1:9/", "http://127.0.0.1:9/o/r.x"), r("o", "r.x"));
        for other in [
            "https://gitlab.com/octo/app",
            "/srv/git/app.git",
            "file:///srv/app",
            "https://github.com/octo",
            "https://github.com/octo/app/tree/main",
            "https://user:tok@github.com/octo/app",
            "https://github.com:8443/octo/app",
            "https://github.com/../app",
        ] {
            assert_eq!(parse(gh, other), None, "{other}");
        }
    }

    #[test]
    fn the_token_host_is_exactly_the_github_host() {
        let gh = "https://github.com";
        assert!(on_github_host(gh, "https://github.com/octo/app.git"));
        assert!(on_github_host(gh, "https://GITHUB.com/a/b/c"));
        for other in [
            "https://github.com.evil.example/octo/app",
            "https://evil.example/github.com/octo/app",
            "http://github.com/octo/app",
            "https://github.com:8443/octo/app",
            "https://gitlab.com/octo/app",
            "/srv/git/app.git",
            "git@github.com:octo/app.git",
        ] {
            assert!(!on_github_host(gh, other), "{other}");
        }
        assert!(on_github_host("http://127.0.0.1:9", "http://127.0.0.1:9/o/r"));
        assert!(!on_github_host("http://127.0.0.1:9", "http://127.0.0.1:10/o/r"));
    }
}
