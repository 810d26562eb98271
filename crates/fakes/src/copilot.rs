//! The GitHub and Copilot API endpoints the Copilot CLI calls when it signs in with a GitHub
//! token (what version 1.0.102 was seen to request), served by [`crate::FakeModel`] under two
//! prefixes: [`GITHUB_API_PREFIX`] for the GitHub REST API (`copilot_internal/...`) and
//! [`COPILOT_API_PREFIX`] for the Copilot API (`GET /models`; `POST /chat/completions` is the
//! ordinary scripted Chat Completions turn).
//!
//! The answers carry what the CLI needs to start: a Copilot seat whose plan allows third-party
//! MCP servers (`is_mcp_enabled`), and a model list in Copilot's shape with limits and tool
//! support. The `endpoints` a real GitHub returns are public hosts, as GitHub's are, so a CLI
//! that followed them instead of its `COPILOT_API_URL` would reach nothing.

use serde_json::{json, Value};

use crate::wire::Reply;

/// Where the fake GitHub REST API is mounted (`<base>/github/copilot_internal/user`).
pub const GITHUB_API_PREFIX: &str = "/github";
/// Where the fake Copilot API is mounted (`<base>/copilot/chat/completions`).
pub const COPILOT_API_PREFIX: &str = "/copilot";
/// The models the fake Copilot API lists.
pub const MODELS: &[&str] = &["gpt-4o", "claude-sonnet-4.5", "gpt-5"];

/// The answer to `method route` when it is one of Copilot's non-model endpoints.
pub(crate) fn answer(method: &str, route: &str) -> Option<Reply> {
    if let Some(path) = route.strip_prefix(GITHUB_API_PREFIX) {
        return match (method, path) {
            ("GET", "/copilot_internal/user") => Some(Reply::json(200, user())),
            // No organisation policy: the CLI's defaults apply.
            (
                "GET",
                "/copilot_internal/managed_settings" | "/copilot_internal/team_customizations",
            ) => Some(Reply::json(200, json!({}))),
            _ => Some(Reply::json(404, json!({"message": "Not Found"}))),
        };
    }
    match (method, route.strip_prefix(COPILOT_API_PREFIX)?) {
        ("GET", "/models") => Some(Reply::json(200, models())),
        _ => None,
    }
}

fn user() -> Value {
    json!({
        "login": "octocat",
        "access_type_sku": "monthly_subscriber",
        "copilot_plan": "individual",
        "chat_enabled": true,
        "is_mcp_enabled": true,
        "endpoints": {
            "api": "https://api.individual.githubcopilot.com",
            "proxy": "https://proxy.individual.githubcopilot.com",
            "telemetry": "https://telemetry.individual.githubcopilot.com",
            "origin-tracker": "https://origin-tracker.individual.githubcopilot.com"
        }
    })
}

fn models() -> Value {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|id| {
            json!({
                "id": id, "name": id, "object": "model", "vendor": "fake", "version": id,
                "model_picker_enabled": true, "preview": false,
                "policy": {"state": "enabled", "terms": ""},
                "supported_endpoints": ["/chat/completions"],
                "capabilities": {
                    "family": id, "type": "chat", "object": "model_capabilities",
                    "tokenizer": "o200k_base",
                    "limits": {"max_context_window_tokens": 128_000, "max_output_tokens": 4096,
                               "max_prompt_tokens": 64_000},
                    "supports": {"streaming": true, "tool_calls": true, "parallel_tool_calls": true}
                }
            })
        })
        .collect();
    json!({"object": "list", "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copilot_routes_are_answered_under_their_prefixes_only() {
        let user = answer("GET", "/github/copilot_internal/user").unwrap();
        assert!(user.body.contains("\"is_mcp_enabled\":true"));
        assert_eq!(answer("GET", "/github/user").unwrap().status, 404);
        let models = answer("GET", "/copilot/models").unwrap();
        assert!(models.body.contains("\"gpt-4o\""));
        assert!(answer("GET", "/v1/models").is_none(), "the OpenAI list stays as it was");
        assert!(answer("POST", "/copilot/chat/completions").is_none(), "a scripted turn");
    }
}
