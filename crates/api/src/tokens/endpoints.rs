//! `/api/v1/me/tokens`.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use shared::page::Page;
use shared::tokens::{ApiToken, CreateToken, CreatedToken, TokenScope, TOKEN_NAME_MAX};
use uuid::Uuid;

use super::model;
use crate::auth::{AuthVia, CurrentUser};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::throttle::Action;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_tokens).service(create_token).service(revoke_token);
}

/// Lists the caller's API tokens (never their secrets).
#[utoipa::path(
    tag = "tokens", operation_id = "list_tokens",
    responses((status = 200, body = Page<ApiToken>), (status = 401, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/tokens")]
async fn list_tokens(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> ApiResult<web::Json<Page<ApiToken>>> {
    let mut conn = state.conn().await?;
    let items = model::list(&mut conn, user.id).await?.into_iter().map(Into::into).collect();
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// Creates an API token; the secret is in this response only. A token may mint tokens only
/// with the `tokens` scope, and never with a scope it lacks or a lifetime beyond its own.
/// Creation is throttled per client address and per user (429 with `Retry-After`).
#[utoipa::path(
    tag = "tokens", operation_id = "create_token", request_body = CreateToken,
    responses(
        (status = 201, body = CreatedToken),
        (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/me/tokens")]
async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Json<CreateToken>,
) -> ApiResult<HttpResponse> {
    if !user.may(TokenScope::Tokens) {
        return Err(ApiError::Forbidden(
            "This token lacks the `tokens` scope: it cannot create tokens.".into(),
        ));
    }
    let address = crate::proxy::client_ip(&req, state.settings.trust_proxy);
    state.throttle.check(Action::CreateToken, address, Some(&user.id.to_string()))?;
    let CreateToken { name, scopes, expires_at } = body.into_inner();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > TOKEN_NAME_MAX {
        return Err(ApiError::invalid("name", format!("must be 1 to {TOKEN_NAME_MAX} characters")));
    }
    let scopes = scopes.unwrap_or_else(|| TokenScope::DEFAULT.to_vec());
    if scopes.is_empty() {
        return Err(ApiError::invalid("scopes", "must name at least one scope"));
    }
    if expires_at.is_some_and(|t| t <= Utc::now()) {
        return Err(ApiError::invalid("expires_at", "must be in the future"));
    }
    let expires_at = match &user.via {
        AuthVia::Token { scopes: own, expires_at: own_expiry, .. } => {
            if let Some(extra) = scopes.iter().find(|s| !own.contains(s)) {
                return Err(ApiError::Forbidden(format!(
                    "A token cannot give another the `{}` scope it lacks itself.",
                    extra.as_str()
                )));
            }
            match (expires_at, *own_expiry) {
                (Some(asked), Some(own)) if asked > own => {
                    return Err(ApiError::invalid(
                        "expires_at",
                        "must not be later than the expiry of the token making it",
                    ))
                }
                (None, Some(own)) => Some(own),
                (asked, _) => asked,
            }
        }
        AuthVia::Session { .. } => expires_at,
    };
    let mut conn = state.conn().await?;
    let (row, secret) = model::create_with(&mut conn, user.id, name, &scopes, expires_at).await?;
    tracing::info!(user_id = %user.id, token_id = %row.id, "API token created");
    Ok(HttpResponse::Created().json(CreatedToken { token: row.into(), secret }))
}

/// Revokes one of the caller's tokens. Another user's token id answers 404.
#[utoipa::path(
    tag = "tokens", operation_id = "revoke_token",
    params(("id" = Uuid, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/me/tokens/{id}")]
async fn revoke_token(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let mut conn = state.conn().await?;
    if !model::revoke(&mut conn, user.id, id).await? {
        return Err(ApiError::NotFound);
    }
    // Other processes hear it from the table's trigger; this one stops at once.
    state.auth.forget(crate::events::hub::AuthChange::Token(id));
    Ok(HttpResponse::NoContent().finish())
}
