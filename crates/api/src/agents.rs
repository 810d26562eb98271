//! `GET /api/v1/agents`: the catalogue, and whether the caller has each agent's key.

use actix_web::{get, web};
use shared::agents::{AgentInfo, AgentKind, KeyProvider};

use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_agents);
}

/// Static facts of an agent.
pub struct Entry {
    /// The agent.
    pub kind: AgentKind,
    /// Display name.
    pub name: &'static str,
    /// Models, default first.
    pub models: &'static [&'static str],
    /// Key provider.
    pub provider: KeyProvider,
}

/// The catalogue, in display order.
pub const CATALOGUE: [Entry; 7] = [
    Entry {
        kind: AgentKind::Claude,
        name: "Claude Code",
        models: &["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"],
        provider: KeyProvider::Anthropic,
    },
    Entry {
        kind: AgentKind::Codex,
        name: "OpenAI Codex CLI",
        models: &["gpt-5-codex", "gpt-5", "gpt-5-mini"],
        provider: KeyProvider::Openai,
    },
    Entry {
        kind: AgentKind::Copilot,
        name: "GitHub Copilot CLI",
        models: &["gpt-4.1", "claude-sonnet-4.5", "gpt-5"],
        provider: KeyProvider::GithubCopilot,
    },
    Entry {
        kind: AgentKind::Cursor,
        name: "Cursor CLI",
        models: &["auto", "sonnet-4.5", "gpt-5"],
        provider: KeyProvider::Cursor,
    },
    Entry {
        kind: AgentKind::Gemini,
        name: "Gemini CLI",
        models: &["gemini-2.5-pro", "gemini-2.5-flash"],
        provider: KeyProvider::Gemini,
    },
    Entry {
        kind: AgentKind::Opencode,
        name: "opencode",
        models: &["gpt-5", "gpt-5-mini"],
        provider: KeyProvider::Openai,
    },
    Entry {
        kind: AgentKind::Qwen,
        name: "Qwen Code",
        models: &["qwen3-coder-plus", "gpt-5-mini"],
        provider: KeyProvider::Openai,
    },
];

/// Looks up an agent.
pub fn entry(kind: AgentKind) -> &'static Entry {
    CATALOGUE.iter().find(|e| e.kind == kind).unwrap_or(&CATALOGUE[0])
}

/// The agents, their models, the key each needs and whether the caller has it.
#[utoipa::path(
    tag = "agents", operation_id = "list_agents",
    responses((status = 200, body = Vec<AgentInfo>), (status = 401, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/agents")]
async fn list_agents(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> ApiResult<web::Json<Vec<AgentInfo>>> {
    let configured =
        crate::keys::model::configured_providers(&mut *state.conn().await?, user.id).await?;
    let github = user.user.auth_provider == "github";
    Ok(web::Json(
        CATALOGUE
            .iter()
            .map(|e| AgentInfo {
                id: e.kind,
                name: e.name.to_owned(),
                models: e.models.iter().map(|m| (*m).to_owned()).collect(),
                key_provider: e.provider,
                has_key: configured.contains(&e.provider)
                    || (e.provider == KeyProvider::GithubCopilot && github),
                version: crate::agents::version(e.kind).to_owned(),
                available: e.kind != AgentKind::Cursor,
            })
            .collect(),
    ))
}

/// The pinned CLI version of an agent.
pub fn version(kind: AgentKind) -> &'static str {
    match kind {
        AgentKind::Claude => "2.1.197",
        AgentKind::Codex => "0.169.0",
        AgentKind::Copilot => "1.0.102",
        AgentKind::Cursor => "2025.11",
        AgentKind::Gemini => "0.61.0",
        AgentKind::Opencode => "1.18.33",
        AgentKind::Qwen => "0.15.10",
    }
}
