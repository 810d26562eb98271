//! `GET /api/v1/capabilities`: the optional features this server can offer, so the web app
//! hides or disables options the API would refuse.

use actix_web::{get, web};
use shared::capabilities::{Capabilities, Capability};

use crate::auth::CurrentUser;
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_capabilities);
}

/// Which optional features tasks may ask for on this server, and what is missing otherwise.
#[utoipa::path(
    tag = "capabilities", operation_id = "get_capabilities",
    responses((status = 200, body = Capabilities), (status = 401, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/capabilities")]
async fn get_capabilities(
    state: web::Data<AppState>,
    _user: CurrentUser,
) -> web::Json<Capabilities> {
    web::Json(current(&state.settings))
}

/// What this host offers now (checked on every call: an operator may install Chromium later).
pub fn current(settings: &crate::config::Settings) -> Capabilities {
    let browser = match crate::browser::detect(&settings.browser) {
        Ok(_) => Capability { available: true, reason: None },
        Err(reason) => Capability { available: false, reason: Some(reason) },
    };
    Capabilities { browser }
}
