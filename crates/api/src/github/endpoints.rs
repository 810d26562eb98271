//! Registers the GitHub routes.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the routes.
pub fn configure(cfg: &mut ServiceConfig) {
    super::repos::configure(cfg);
    super::tasks_from::configure(cfg);
}
