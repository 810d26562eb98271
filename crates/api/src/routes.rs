//! Every route, registered in one place so that serving and the OpenAPI document agree.

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the API under `/api/v1` and the operations endpoints at the root.
pub fn all(cfg: &mut ServiceConfig) {
    cfg.service(scope::scope("/api/v1").configure(api_v1)).configure(crate::ops::health::configure);
}

fn api_v1(cfg: &mut ServiceConfig) {
    crate::auth::endpoints::configure(cfg);
    crate::auth::oauth::configure(cfg);
    crate::tokens::endpoints::configure(cfg);
    crate::tasks::endpoints::configure(cfg);
    crate::tasks::quota::configure(cfg);
    crate::repos::endpoints::configure(cfg);
    crate::admin::limits::configure(cfg);
    crate::admin::users::configure(cfg);
    crate::admin::invites::configure(cfg);
    crate::events::endpoints::configure(cfg);
    crate::events::user_endpoints::configure(cfg);
    crate::changes::endpoints::configure(cfg);
    crate::sandboxes::endpoints::configure(cfg);
    crate::keys::endpoints::configure(cfg);
    crate::connectors::endpoints::configure(cfg);
    crate::git_credentials::endpoints::configure(cfg);
    crate::agents::configure(cfg);
    crate::capabilities::configure(cfg);
    crate::github::endpoints::configure(cfg);
    crate::forges::endpoints::configure(cfg);
    crate::terminal::configure(cfg);
    crate::preview::endpoints::configure(cfg);
    crate::workspace::endpoints::configure(cfg);
    crate::workspace::git_endpoints::configure(cfg);
}
