//! `GET`/`PUT /api/v1/admin/users/{id}/limits`: an administrator's overrides of one user's
//! daily quota and longest run.

use actix_web::{get, put, web};
use shared::agents::UserLimits;
use uuid::Uuid;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::limits;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_user_limits).service(put_user_limits);
}

async fn target_user(state: &AppState, id: Uuid) -> ApiResult<()> {
    let mut conn = state.conn().await?;
    crate::accounts::model::find(&mut conn, id).await?.ok_or(ApiError::NotFound)?;
    Ok(())
}

/// A user's limit overrides (admin).
#[utoipa::path(
    tag = "admin", operation_id = "get_user_limits", params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, body = UserLimits), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/admin/users/{id}/limits")]
async fn get_user_limits(
    state: web::Data<AppState>,
    _admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<UserLimits>> {
    target_user(&state, *id).await?;
    let mut conn = state.conn().await?;
    let (quota, duration) = limits::overrides(&mut conn, *id).await?;
    Ok(web::Json(UserLimits {
        daily_quota: quota.map(|q| q as u32),
        max_duration_minutes: duration.map(|d| d as u32),
    }))
}

/// Sets a user's daily quota and maximum duration (admin); `null` returns to the defaults.
#[utoipa::path(
    tag = "admin", operation_id = "put_user_limits", params(("id" = Uuid, Path, description = "User id")), request_body = UserLimits,
    responses((status = 200, body = UserLimits), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[put("/admin/users/{id}/limits")]
async fn put_user_limits(
    state: web::Data<AppState>,
    _admin: AdminUser,
    id: web::Path<Uuid>,
    body: web::Json<UserLimits>,
) -> ApiResult<web::Json<UserLimits>> {
    let body = body.into_inner();
    if body.max_duration_minutes == Some(0) {
        return Err(ApiError::invalid("max_duration_minutes", "must be at least 1"));
    }
    let to_i32 =
        |v: u32| i32::try_from(v).map_err(|_| ApiError::invalid("daily_quota", "is too large"));
    let quota = body.daily_quota.map(to_i32).transpose()?;
    let duration = body.max_duration_minutes.map(to_i32).transpose()?;
    target_user(&state, *id).await?;
    let mut conn = state.conn().await?;
    limits::set(&mut conn, *id, quota, duration).await?;
    Ok(web::Json(body))
}
