//! `GET /api/v1/me/quota`: how much of today's quota the caller has used.

use actix_web::{get, web};
use shared::tasks::Quota;

use super::limits;
use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::state::AppState;

/// Registers the route.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_quota);
}

/// The caller's daily quota.
#[utoipa::path(
    tag = "tasks", operation_id = "get_quota",
    responses((status = 200, body = Quota), (status = 401, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/quota")]
async fn get_quota(state: web::Data<AppState>, user: CurrentUser) -> ApiResult<web::Json<Quota>> {
    let mut conn = state.conn().await?;
    let limits = limits::effective(&mut conn, &state.settings.tasks, user.id).await?;
    let used = limits::used_today(&mut conn, user.id).await?;
    let (_, reset_at) = limits::today();
    Ok(web::Json(Quota {
        used,
        remaining: limits.daily_quota.saturating_sub(used),
        total: limits.daily_quota,
        reset_at,
    }))
}
