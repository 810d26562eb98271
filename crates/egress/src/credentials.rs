//! Per-run placeholders and what an agent is given instead of its real key.
//!
//! The agent gets a placeholder shaped like the provider's keys (some CLIs check the prefix)
//! and a base URL on the broker, `http://127.0.0.1:<port>/<route>`; the route holds the real key
//! and the upstream the agent would otherwise have used. Each strategy in
//! `drydock_sandbox::agents` already maps `AgentRun::api_key` and `AgentRun::base_url` onto its
//! CLI's own variables and config files, so these two values are all the worker changes.

use std::collections::BTreeMap;

use shared::agents::KeyProvider;

use crate::error::EgressError;
use crate::route::{Route, Secret};

/// A fresh placeholder for `provider`: `sk-ant-drydock-<hex>` for Anthropic,
/// `sk-drydock-<hex>` for OpenAI, `gho_drydock<hex>` for GitHub Copilot (the CLI refuses a
/// GitHub token shaped like a classic personal access token, `ghp_`), 32 random hex digits
/// otherwise (122 random bits each).
pub fn placeholder(provider: KeyProvider) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    match provider {
        KeyProvider::Anthropic => format!("sk-ant-drydock-{random}"),
        KeyProvider::Openai => format!("sk-drydock-{random}"),
        KeyProvider::GithubCopilot => format!("gho_drydock{random}"),
        KeyProvider::Gemini | KeyProvider::Cursor => random,
    }
}

/// The broker route name of a provider, when its traffic can be brokered.
pub fn provider_route(provider: KeyProvider) -> Option<&'static str> {
    match provider {
        KeyProvider::Anthropic => Some("anthropic"),
        KeyProvider::Openai => Some("openai"),
        KeyProvider::Gemini => Some("gemini"),
        KeyProvider::GithubCopilot => Some("github-copilot"),
        KeyProvider::Cursor => None,
    }
}

/// The base URL a CLI uses for `provider` when none is configured (the form each CLI's base
/// URL variable takes: OpenAI's includes `/v1`, Anthropic's and Gemini's do not).
pub fn default_upstream(provider: KeyProvider) -> Option<&'static str> {
    match provider {
        KeyProvider::Anthropic => Some("https://api.anthropic.com"),
        KeyProvider::Openai => Some("https://api.openai.com/v1"),
        KeyProvider::Gemini => Some("https://generativelanguage.googleapis.com"),
        KeyProvider::GithubCopilot | KeyProvider::Cursor => None,
    }
}

/// `http://127.0.0.1:<port>/<route>`: a route as seen from inside the sandbox.
pub fn broker_url(port: u16, route: &str) -> String {
    format!("http://127.0.0.1:{port}/{route}")
}

/// A model key, brokered.
#[derive(Debug, Clone)]
pub struct BrokeredKey {
    /// Goes into [`crate::ProxyConfig::routes`].
    pub route: Route,
    /// The agent's API key instead of the real one (`AgentRun::api_key`).
    pub placeholder: String,
    /// The agent's base URL (`AgentRun::base_url`).
    pub base_url: String,
}

/// Brokers the key of `provider`: `upstream_base` is the user's own base URL for it (a
/// gateway), or `None` for the provider's API; `port` is where the broker listens inside the
/// sandbox (`sandbox::EGRESS_PORT`).
pub fn broker_model_key(
    provider: KeyProvider,
    upstream_base: Option<&str>,
    secret: Secret,
    port: u16,
) -> Result<BrokeredKey, EgressError> {
    let name = provider_route(provider).ok_or(EgressError::Unsupported {
        provider: provider.as_str(),
        reason: "the Cursor CLI has no base URL setting and talks to Cursor's servers itself",
    })?;
    let upstream = upstream_base
        .filter(|u| !u.trim().is_empty())
        .or(default_upstream(provider))
        .ok_or(EgressError::Unsupported {
            provider: provider.as_str(),
            reason: "a GitHub token is brokered with broker_copilot_token, not as a model key",
        })?;
    let placeholder = placeholder(provider);
    let route = Route::new(name, upstream.trim())?.with_credential(placeholder.clone(), secret);
    Ok(BrokeredKey { route, placeholder, base_url: broker_url(port, name) })
}

/// The broker route of the GitHub API paths the Copilot CLI calls with a GitHub token. The CLI
/// joins them to the origin of its GitHub API URL, dropping any path, so the route is named
/// after the paths themselves and the CLI is given the broker's bare origin.
pub const COPILOT_GITHUB_ROUTE: &str = "copilot_internal";

/// The default Copilot API, the one every plan's GitHub token is accepted at.
pub const DEFAULT_COPILOT_API: &str = "https://api.githubcopilot.com";

/// A GitHub token for the Copilot CLI, brokered.
#[derive(Debug, Clone)]
pub struct BrokeredGithubToken {
    /// Go into [`crate::ProxyConfig::routes`]: [`COPILOT_GITHUB_ROUTE`] and the Copilot API.
    pub routes: Vec<Route>,
    /// The agent's GitHub token instead of the real one.
    pub placeholder: String,
    /// The GitHub API URL to give the CLI: the broker's origin.
    pub github_api_url: String,
    /// The Copilot API URL to give the CLI: the `github-copilot` route.
    pub copilot_api_url: String,
}

/// Brokers the GitHub token the Copilot CLI signs in with. `github_api` is the GitHub REST API
/// (`https://api.github.com`, or an Enterprise host's); only its `copilot_internal/...` paths
/// are reachable with the placeholder, so the token cannot be used for the rest of the API (the
/// user's repositories) from inside the sandbox. `copilot_api` is where the model calls go; the
/// CLI sends the GitHub token itself there (there is no short-lived token exchange), so the
/// same placeholder is swapped on both routes.
pub fn broker_copilot_token(
    github_api: &str,
    copilot_api: &str,
    token: Secret,
    port: u16,
) -> Result<BrokeredGithubToken, EgressError> {
    let provider = KeyProvider::GithubCopilot;
    let placeholder = placeholder(provider);
    let github_upstream =
        format!("{}/{COPILOT_GITHUB_ROUTE}", github_api.trim().trim_end_matches('/'));
    let github = Route::new(COPILOT_GITHUB_ROUTE, &github_upstream)?
        .with_credential(placeholder.clone(), token.clone());
    let name = provider_route(provider).unwrap_or("github-copilot");
    let copilot = Route::new(name, copilot_api.trim())?.with_credential(placeholder.clone(), token);
    Ok(BrokeredGithubToken {
        routes: vec![github, copilot],
        placeholder,
        github_api_url: format!("http://127.0.0.1:{port}"),
        copilot_api_url: broker_url(port, name),
    })
}

/// A remote MCP connector, brokered.
#[derive(Debug, Clone)]
pub struct BrokeredMcp {
    /// Goes into [`crate::ProxyConfig::routes`].
    pub route: Route,
    /// The URL to give the agent instead of the connector's.
    pub url: String,
    /// The headers to give the agent: the connector's names, each value a placeholder.
    pub headers: BTreeMap<String, String>,
}

/// Brokers the remote MCP connector `name` at `url` whose requests carry `headers` (each value
/// is treated as a secret and replaced by a placeholder of its own).
pub fn broker_mcp(
    name: &str,
    url: &str,
    headers: &BTreeMap<String, String>,
    port: u16,
) -> Result<BrokeredMcp, EgressError> {
    let route_name = format!("mcp/{name}");
    let mut parsed = url::Url::parse(url).map_err(|e| EgressError::InvalidRoute {
        name: route_name.clone(),
        reason: format!("connector URL {url:?}: {e}"),
    })?;
    let query = parsed.query().map(str::to_string);
    parsed.set_query(None);
    parsed.set_fragment(None);
    let mut route = Route::new(&route_name, parsed.as_str())?;
    let mut given = BTreeMap::new();
    for (header, value) in headers {
        let placeholder = format!("drydock-mcp-{}", uuid::Uuid::new_v4().simple());
        route = route
            .with_header(header)?
            .with_credential(placeholder.clone(), Secret::new(value.clone()));
        given.insert(header.clone(), placeholder);
    }
    let mut agent_url = broker_url(port, &route_name);
    if let Some(query) = query {
        agent_url.push('?');
        agent_url.push_str(&query);
    }
    Ok(BrokeredMcp { route, url: agent_url, headers: given })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_look_like_keys_and_differ_per_run() {
        let a = placeholder(KeyProvider::Anthropic);
        assert!(a.starts_with("sk-ant-drydock-") && a.len() == "sk-ant-drydock-".len() + 32, "{a}");
        assert!(placeholder(KeyProvider::Openai).starts_with("sk-drydock-"));
        let g = placeholder(KeyProvider::Gemini);
        assert!(g.len() == 32 && g.bytes().all(|b| b.is_ascii_hexdigit()), "{g}");
        assert_ne!(a, placeholder(KeyProvider::Anthropic));
    }

    #[test]
    fn model_keys_get_a_route_a_placeholder_and_a_base_url() {
        let key = broker_model_key(KeyProvider::Anthropic, None, Secret::new("sk-ant-real"), 3128)
            .unwrap();
        assert_eq!(key.base_url, "http://127.0.0.1:3128/anthropic");
        assert_eq!(key.route.upstream().as_str(), "https://api.anthropic.com/");
        assert_eq!(key.route.credentials[0].placeholder, key.placeholder);
        let key = broker_model_key(
            KeyProvider::Openai,
            Some("https://gw.example/v1"),
            Secret::new("k"),
            3128,
        )
        .unwrap();
        assert_eq!(key.route.upstream().as_str(), "https://gw.example/v1");
        assert_eq!(key.base_url, "http://127.0.0.1:3128/openai");
        let copilot = broker_model_key(
            KeyProvider::GithubCopilot,
            Some("http://127.0.0.1:9/v1"),
            Secret::new("k"),
            1,
        );
        assert_eq!(copilot.unwrap().base_url, "http://127.0.0.1:1/github-copilot");
        assert!(broker_model_key(KeyProvider::GithubCopilot, None, Secret::new("gho"), 1).is_err());
        assert!(broker_model_key(KeyProvider::Cursor, None, Secret::new("c"), 1).is_err());
    }

    #[test]
    fn a_github_token_gets_the_copilot_internal_route_and_the_copilot_api() {
        let token = Secret::new("gho_REAL");
        let brokered =
            broker_copilot_token("https://ghe.example/api/v3/", DEFAULT_COPILOT_API, token, 3128)
                .unwrap();
        assert!(brokered.placeholder.starts_with("gho_drydock"), "{}", brokered.placeholder);
        assert_eq!(brokered.github_api_url, "http://127.0.0.1:3128");
        assert_eq!(brokered.copilot_api_url, "http://127.0.0.1:3128/github-copilot");
        let [github, copilot] = &brokered.routes[..] else { panic!("two routes") };
        assert_eq!(github.name(), "copilot_internal");
        assert_eq!(github.upstream().as_str(), "https://ghe.example/api/v3/copilot_internal");
        assert_eq!(copilot.upstream().as_str(), "https://api.githubcopilot.com/");
        for route in [github, copilot] {
            assert_eq!(route.credentials[0].placeholder, brokered.placeholder);
            assert_eq!(route.credentials[0].secret.expose(), "gho_REAL");
        }
        assert!(
            broker_copilot_token("not a url", DEFAULT_COPILOT_API, Secret::new("t"), 1).is_err()
        );
    }

    #[test]
    fn mcp_connectors_get_placeholder_headers() {
        let headers = BTreeMap::from([("Authorization".to_string(), "Bearer real".to_string())]);
        let mcp = broker_mcp("docs", "https://mcp.example/v1/mcp?team=7", &headers, 3128).unwrap();
        assert_eq!(mcp.url, "http://127.0.0.1:3128/mcp/docs?team=7");
        assert_eq!(mcp.route.upstream().as_str(), "https://mcp.example/v1/mcp");
        let placeholder = &mcp.headers["Authorization"];
        assert!(placeholder.starts_with("drydock-mcp-"));
        assert_eq!(mcp.route.credentials[0].secret.expose(), "Bearer real");
        assert!(broker_mcp("bad name", "https://x/", &BTreeMap::new(), 1).is_err());
    }
}
