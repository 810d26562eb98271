//! `/api/v1/me/tokens`.

use actix_web::{delete, get, post, web, HttpResponse};
use shared::page::Page;
use shared::tokens::{ApiToken, CreateToken, CreatedToken, TOKEN_NAME_MAX};
use uuid::Uuid;

use super::model;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

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

/// Creates an API token; the secret is in this response only.
#[utoipa::path(
    tag = "tokens", operation_id = "create_token", request_body = CreateToken,
    responses(
        (status = 201, body = CreatedToken),
        (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 422, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/me/tokens")]
async fn create_token(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<CreateToken>,
) -> ApiResult<HttpResponse> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > TOKEN_NAME_MAX {
        return Err(ApiError::invalid("name", format!("must be 1 to {TOKEN_NAME_MAX} characters")));
    }
    let mut conn = state.conn().await?;
    let (row, secret) = model::create(&mut conn, user.id, name).await?;
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
    let mut conn = state.conn().await?;
    if !model::revoke(&mut conn, user.id, id.into_inner()).await? {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}
