//! `/api/v1/me/git-credentials`: the caller's tokens per git host, write-only.

use actix_web::{delete, get, put, web, HttpResponse};
use shared::git_hosts::{GitCredential, PutGitCredential};

use super::{model, to_dto, validate};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_git_credentials)
        .service(get_git_credential)
        .service(put_git_credential)
        .service(delete_git_credential);
}

/// A host from the path, or 404 for one no credential can be stored under.
fn host(raw: &str) -> ApiResult<String> {
    shared::git_hosts::normalise_host(raw).map_err(|_| ApiError::NotFound)
}

/// The caller's git host credentials (never the tokens).
#[utoipa::path(
    tag = "git-credentials", operation_id = "list_git_credentials",
    responses((status = 200, body = Vec<GitCredential>), (status = 401, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/git-credentials")]
async fn list_git_credentials(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> ApiResult<web::Json<Vec<GitCredential>>> {
    let mut conn = state.conn().await?;
    let rows = model::list(&mut conn, user.id).await?;
    Ok(web::Json(rows.iter().map(to_dto).collect()))
}

/// The caller's credential for one host (never the token).
#[utoipa::path(
    tag = "git-credentials", operation_id = "get_git_credential",
    params(("host" = String, Path, description = "`host` or `host:port`, e.g. gitlab.example.com")),
    responses((status = 200, body = GitCredential), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/git-credentials/{host}")]
async fn get_git_credential(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<GitCredential>> {
    let host = host(&path)?;
    let mut conn = state.conn().await?;
    let row = model::get(&mut conn, user.id, &host).await?.ok_or(ApiError::NotFound)?;
    Ok(web::Json(to_dto(&row)))
}

/// Stores or replaces the caller's token for a host, with its kind and API URL. The token is
/// used for clone and push to that host only, and for that forge's API.
#[utoipa::path(
    tag = "git-credentials", operation_id = "put_git_credential", request_body = PutGitCredential,
    params(("host" = String, Path, description = "`host` or `host:port`, e.g. gitlab.example.com")),
    responses((status = 200, description = "Replaced", body = GitCredential), (status = 201, description = "Created", body = GitCredential), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[put("/me/git-credentials/{host}")]
async fn put_git_credential(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Json<validate::Submitted>,
) -> ApiResult<HttpResponse> {
    let checked = validate::check(&state.settings, &path, body.into_inner())?;
    let mut conn = state.conn().await?;
    let row = super::store(&mut conn, &state.secrets, user.id, &checked).await?;
    tracing::info!(user_id = %user.id, host = %row.host, kind = %row.kind, "git credential stored");
    let created = row.created_at == row.updated_at;
    let mut response = if created { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(response.json(to_dto(&row)))
}

/// Deletes the caller's credential for a host.
#[utoipa::path(
    tag = "git-credentials", operation_id = "delete_git_credential",
    params(("host" = String, Path, description = "`host` or `host:port`, e.g. gitlab.example.com")),
    responses((status = 204, description = "Deleted"), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/me/git-credentials/{host}")]
async fn delete_git_credential(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let host = host(&path)?;
    let mut conn = state.conn().await?;
    if !model::delete(&mut conn, user.id, &host).await? {
        return Err(ApiError::NotFound);
    }
    tracing::info!(user_id = %user.id, %host, "git credential deleted");
    Ok(HttpResponse::NoContent().finish())
}
