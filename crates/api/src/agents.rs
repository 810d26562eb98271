//! `GET /api/v1/agents`: the catalogue, and whether the caller has each agent's key. Everything
//! about an agent comes from its strategy's [`sandbox::agents::AgentSpec`], the one place that
//! also decides how it runs.

use actix_web::{get, web};
use sandbox::agents::strategy_for;
use shared::agents::{AgentInfo, AgentKind, KeyProvider};

use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_agents);
}

/// The catalogue entry of one agent for a caller with keys for `configured`.
pub fn info(kind: AgentKind, configured: &[KeyProvider], has_github: bool) -> AgentInfo {
    let spec = strategy_for(kind).spec();
    AgentInfo {
        id: kind,
        name: spec.display_name.to_owned(),
        models: spec.models_default_first().into_iter().map(str::to_owned).collect(),
        key_provider: spec.provider,
        has_key: configured.contains(&spec.provider)
            || (spec.provider == KeyProvider::GithubCopilot && has_github),
        version: spec.version.to_owned(),
        available: spec.available(),
    }
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
    Ok(web::Json(AgentKind::ALL.into_iter().map(|k| info(k, &configured, github)).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_what_the_strategies_run() {
        for kind in AgentKind::ALL {
            let spec = strategy_for(kind).spec();
            let entry = info(kind, &[], false);
            assert_eq!(entry.version, spec.version, "{kind:?}");
            assert_eq!(entry.models[0], spec.default_model, "{kind:?}: the default comes first");
            assert!(entry
                .models
                .iter()
                .all(|m| m == spec.default_model || spec.models.contains(&m.as_str())));
            assert_eq!(entry.available, kind != AgentKind::Cursor);
        }
        assert!(info(AgentKind::Copilot, &[], true).has_key, "a GitHub sign-in serves Copilot");
        assert!(info(AgentKind::Claude, &[KeyProvider::Anthropic], false).has_key);
        assert!(!info(AgentKind::Claude, &[KeyProvider::Openai], false).has_key);
    }
}
