//! `/api/v1/admin/invites`: one-time links that let someone make an account while
//! registration is closed, locally or by signing in with a provider once.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::Utc;
use shared::admin::{CreateInvite, CreatedInvite, Invite};
use shared::page::Page;
use uuid::Uuid;

use crate::accounts::invites;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_invites).service(create_invite).service(revoke_invite);
}

/// The link an invitee opens: the web app's invitation page.
pub fn invite_url(web_base: &str, token: &str) -> String {
    format!("{web_base}/invite?token={token}")
}

/// Creates an invitation; its link is in this response only (admin).
#[utoipa::path(
    tag = "admin", operation_id = "create_invite", request_body = CreateInvite,
    responses((status = 201, body = CreatedInvite), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/admin/invites")]
async fn create_invite(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: web::Json<CreateInvite>,
) -> ApiResult<HttpResponse> {
    let expires_at =
        Utc::now() + chrono::Duration::hours(state.settings.auth.invite_ttl_hours.max(1));
    let mut conn = state.conn().await?;
    let (row, token) =
        invites::create(&mut conn, Some(admin.0.id), body.is_admin, expires_at).await?;
    tracing::info!(invite_id = %row.id, by = %admin.0.id, is_admin = row.is_admin, "invitation created");
    let url = invite_url(&state.settings.web_base(), &token);
    Ok(HttpResponse::Created().json(CreatedInvite { invite: row.into(), token, url }))
}

/// The latest invitations, used or not (admin).
#[utoipa::path(
    tag = "admin", operation_id = "list_invites",
    responses((status = 200, body = Page<Invite>), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/admin/invites")]
async fn list_invites(
    state: web::Data<AppState>,
    _admin: AdminUser,
) -> ApiResult<web::Json<Page<Invite>>> {
    let mut conn = state.conn().await?;
    let items = invites::list(&mut conn, 200).await?.into_iter().map(Into::into).collect();
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// Withdraws an unused invitation (admin).
#[utoipa::path(
    tag = "admin", operation_id = "revoke_invite", params(("id" = Uuid, Path, description = "Invitation id")),
    responses((status = 204, description = "Withdrawn"), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/admin/invites/{id}")]
async fn revoke_invite(
    state: web::Data<AppState>,
    _admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    if !invites::revoke(&mut conn, id.into_inner()).await? {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}
