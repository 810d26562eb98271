//! Checking a credential before it is stored: the host, the API URL (defaulted for forges),
//! and the token.
//!
//! The API URL is where the forge clients send the token, so it must be on the credential's
//! own host (or `api.HOST`, as github.com's API is), https unless this server allows plain
//! http (the same switch as repository URLs), and an address the server may call
//! ([`crate::outbound`]: no loopback, private, link-local or metadata literals unless the
//! operator lists the exact `host:port` in `tasks.egress_allow`).

use std::collections::BTreeMap;
use std::time::Duration;

use shared::git_hosts::{normalise_host, GitHostKind};

use crate::config::Settings;
use crate::error::ApiError;

/// A credential ready to be sealed and stored.
#[derive(Debug)]
pub struct Checked {
    /// The normalised host.
    pub host: String,
    /// Its kind.
    pub kind: GitHostKind,
    /// The API base URL, without a trailing slash; `None` for plain git hosts.
    pub api_url: Option<String>,
    /// The token, trimmed.
    pub token: String,
}

/// Whether this server accepts plain `http://` remotes and APIs: only when the operator's
/// GitHub API is itself plain http (the tests' fakes), as for repository URLs.
pub fn plain_http_allowed(settings: &Settings) -> bool {
    settings.github.api_url.starts_with("http://")
}

/// The host of the configured GitHub (`github.web_url`), as credentials are keyed.
pub fn github_host(settings: &Settings) -> Option<String> {
    super::host_of(&settings.github.web_url)
}

/// The API URL a forge on `host` has when none is given.
fn default_api_url(settings: &Settings, host: &str, kind: GitHostKind) -> Option<String> {
    match kind {
        GitHostKind::Git => None,
        GitHostKind::Github if github_host(settings).as_deref() == Some(host) => {
            Some(settings.github.api_url.trim_end_matches('/').to_owned())
        }
        GitHostKind::Github if host == "github.com" => Some("https://api.github.com".into()),
        GitHostKind::Github => Some(format!("https://{host}/api/v3")),
        GitHostKind::Gitlab => Some(format!("https://{host}/api/v4")),
        GitHostKind::Gitea => Some(format!("https://{host}/api/v1")),
    }
}

/// Whether host git may clone from and push to the http(s) remote `url`, by its address: a
/// literal loopback, private, link-local or metadata address is refused (the server's git
/// would otherwise reach into its own network for the user), unless it is the configured
/// GitHub, an exact `host:port` of `tasks.egress_allow`, or loopback on a server that allows
/// plain http (the tests' switch, as for repository URLs). Names are the resolver's business:
/// they are not resolved here.
pub fn remote_allowed(settings: &Settings, url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return true };
    let Some(host) = parsed.host_str() else { return true };
    let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() else { return true };
    let Some(refusal) = egress::classify(ip) else { return true };
    if github_host(settings).is_some_and(|gh| super::host_of(url) == Some(gh)) {
        return true;
    }
    if refusal.class == egress::AddressClass::Loopback && plain_http_allowed(settings) {
        return true;
    }
    address_allowed(settings, url)
}

/// Whether the server may call `url` (an `http(s)://host[:port]` URL) at all.
fn address_allowed(settings: &Settings, url: &str) -> bool {
    crate::outbound::Outbound::new(&settings.tasks.egress_allow, Duration::from_secs(1))
        .client_for(url)
        .is_ok()
}

fn api_url_problem(settings: &Settings, host: &str, raw: &str) -> Option<&'static str> {
    let Ok(url) = url::Url::parse(raw) else { return Some("must be an absolute https URL") };
    let http_ok = plain_http_allowed(settings);
    if !(url.scheme() == "https" || (url.scheme() == "http" && http_ok)) {
        return Some("must be an https URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Some("must not contain a user or password: the token is sent separately");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Some("must not have a query or fragment");
    }
    let Some(api_host) = super::host_of(raw) else { return Some("must name a host") };
    // The operator's own GitHub API stands for the configured GitHub host.
    let operators = github_host(settings).as_deref() == Some(host)
        && raw == settings.github.api_url.trim_end_matches('/');
    if !operators && api_host != host && api_host != format!("api.{host}") {
        return Some(
            "must be on the credential's host (or api.HOST): a token goes only to its own host",
        );
    }
    if !operators && !address_allowed(settings, raw) {
        return Some(
            "is an address Drydock does not call (loopback, private, link-local or metadata)",
        );
    }
    None
}

/// A credential as sent (`PUT /me/git-credentials/{host}`, `drydock git-credentials add`),
/// before checking. The kind is text so an unknown one is a reason on `kind`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submitted {
    /// `github`, `gitlab`, `gitea` or `git`.
    pub kind: String,
    /// The API base URL, if given.
    #[serde(default)]
    pub api_url: Option<String>,
    /// The token.
    pub token: String,
}

/// Checks `body` for `raw_host`; the field errors otherwise.
pub fn check(settings: &Settings, raw_host: &str, body: Submitted) -> Result<Checked, ApiError> {
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut err = |field: &str, reason: &str| {
        errors.entry(field.to_owned()).or_default().push(reason.to_owned());
    };
    let host = match normalise_host(raw_host) {
        Ok(host) => {
            if !remote_allowed(settings, &format!("https://{host}/")) {
                err("host", "is an address Drydock does not call (loopback, private, link-local or metadata)");
            }
            host
        }
        Err(reason) => {
            err("host", reason);
            String::new()
        }
    };
    let kind = GitHostKind::parse(body.kind.trim()).unwrap_or_else(|| {
        err("kind", "must be github, gitlab, gitea or git");
        GitHostKind::Git
    });
    let token = body.token.trim().to_owned();
    if token.len() < 8
        || token.len() > 4096
        || token.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        err("token", "must be 8 to 4096 characters without spaces");
    }
    let given =
        body.api_url.map(|u| u.trim().trim_end_matches('/').to_owned()).filter(|u| !u.is_empty());
    let api_url = match (kind, given) {
        (GitHostKind::Git, Some(_)) => {
            err("api_url", "must be empty for a plain git host (kind `git` has no API)");
            None
        }
        (kind, None) => default_api_url(settings, &host, kind),
        (_, Some(u)) => {
            if !host.is_empty() {
                if let Some(reason) = api_url_problem(settings, &host, &u) {
                    err("api_url", reason);
                }
            }
            Some(u)
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Checked { host, kind, api_url, token })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &str) -> Settings {
        Settings::from_toml(extra).unwrap()
    }

    fn put(kind: GitHostKind, api_url: Option<&str>) -> Submitted {
        Submitted {
            kind: kind.as_str().into(),
            api_url: api_url.map(str::to_owned),
            token: "glpat-0123456789".into(),
        }
    }

    fn field_errors(result: Result<Checked, ApiError>) -> BTreeMap<String, Vec<String>> {
        match result {
            Err(ApiError::Validation(errors)) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    // Addresses as data only: nothing here is connected to.
    #[test]
    fn forges_get_default_api_urls_and_plain_git_hosts_none() {
        let s = settings("");
        let c = check(&s, "GitLab.com", put(GitHostKind::Gitlab, None)).unwrap();
        assert_eq!(
            (c.host.as_str(), c.api_url.as_deref()),
            ("gitlab.com", Some("https://gitlab.com/api/v4"))
        );
        let c = check(&s, "github.com", put(GitHostKind::Github, None)).unwrap();
        assert_eq!(c.api_url.as_deref(), Some("https://api.github.com"));
        let c = check(&s, "ghe.corp.example", put(GitHostKind::Github, None)).unwrap();
        assert_eq!(c.api_url.as_deref(), Some("https://ghe.corp.example/api/v3"));
        let c = check(&s, "code.example:8443", put(GitHostKind::Gitea, None)).unwrap();
        assert_eq!(c.api_url.as_deref(), Some("https://code.example:8443/api/v1"));
        assert_eq!(check(&s, "git.example", put(GitHostKind::Git, None)).unwrap().api_url, None);
    }

    #[test]
    fn api_urls_stay_on_the_host_over_https() {
        let s = settings("");
        for (host, url) in [
            ("gitlab.example", "http://gitlab.example/api/v4"),
            ("gitlab.example", "https://evil.example/api/v4"),
            ("gitlab.example", "https://user:pw@gitlab.example/api/v4"),
            ("gitlab.example", "https://gitlab.example/api/v4?x=1"),
            ("gitlab.example", "not a url"),
            ("gitlab.example", "https://gitlab.example:8443/api/v4"),
        ] {
            let errors = field_errors(check(&s, host, put(GitHostKind::Gitlab, Some(url))));
            assert!(errors.contains_key("api_url"), "{url}: {errors:?}");
        }
        let ok = check(&s, "github.com", put(GitHostKind::Github, Some("https://api.github.com/")))
            .unwrap();
        assert_eq!(ok.api_url.as_deref(), Some("https://api.github.com"));
        let errors = field_errors(check(
            &s,
            "git.example",
            put(GitHostKind::Git, Some("https://git.example/api")),
        ));
        assert!(errors.contains_key("api_url"));
    }

    #[test]
    fn private_and_loopback_hosts_are_refused_unless_allowed_exactly() {
        let s = settings("");
        for host in ["127.0.0.1:9000", "10.1.2.3", "169.254.169.254"] {
            let errors = field_errors(check(&s, host, put(GitHostKind::Git, None)));
            assert!(errors.contains_key("host"), "{host}");
        }
        let s = settings("[tasks]\negress_allow = [\"127.0.0.1:9000\"]\n[github]\napi_url = \"http://127.0.0.1:9001/api\"\nweb_url = \"http://127.0.0.1:9001\"\n");
        assert!(check(
            &s,
            "127.0.0.1:9000",
            put(GitHostKind::Gitlab, Some("http://127.0.0.1:9000/api/v4"))
        )
        .is_ok());
        let c = check(&s, "127.0.0.1:9001", put(GitHostKind::Github, None)).unwrap();
        assert_eq!(
            c.api_url.as_deref(),
            Some("http://127.0.0.1:9001/api"),
            "the operator's GitHub API"
        );
        assert!(
            check(&s, "127.0.0.1:9002", put(GitHostKind::Git, None)).is_ok(),
            "loopback git hosts where plain http is allowed (the tests' fakes)"
        );
        assert!(check(&s, "10.1.2.3", put(GitHostKind::Git, None)).is_err(), "never private");
        let errors = field_errors(check(
            &s,
            "127.0.0.1:9002",
            put(GitHostKind::Gitlab, Some("http://127.0.0.1:9002/api/v4")),
        ));
        assert!(errors.contains_key("api_url"), "the API call goes through the outbound guard");
    }

    #[test]
    fn tokens_and_hosts_are_checked_together() {
        let s = settings("");
        let body = Submitted { kind: "svn".into(), api_url: None, token: "short".into() };
        let errors = field_errors(check(&s, "a/b", body));
        for field in ["host", "token", "kind"] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
    }
}
