//! `/healthz` (the process answers) and `/readyz` (the database answers too).

use actix_web::{get, web, HttpResponse};
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(super::metrics::metrics);
}

/// Health check body.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    status: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(tag = "ops", operation_id = "get_health", responses((status = 200, body = Health)))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the database answers a query.
#[utoipa::path(
    tag = "ops", operation_id = "get_readiness",
    responses((status = 200, body = Health), (status = 503, body = shared::Problem))
)]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    diesel::sql_query("SELECT 1")
        .execute(&mut conn)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}
