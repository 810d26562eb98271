//! What every handler can reach: passed in, never global.

use std::sync::Arc;

use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::db::DbPool;
use crate::ops::metrics::Metrics;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// Database pool.
    pub pool: DbPool,
    /// Settings the process started with.
    pub settings: Arc<Settings>,
    /// Seals and opens secrets at rest.
    pub secrets: SecretBox,
    /// Outbound HTTP (OAuth providers, GitHub), with timeouts and no redirects.
    pub http: reqwest::Client,
    /// Prometheus registry and instruments.
    pub metrics: Metrics,
    /// The sandbox backend, built once (see [`crate::sandboxes`]).
    pub sandbox: crate::sandboxes::Backend,
    /// Rate limits of the sign-in and token endpoints, and the per-user stream cap.
    pub throttle: crate::throttle::Throttle,
    /// Who tokens and sessions belong to, for a few seconds (see [`crate::auth::cache`]).
    pub auth: crate::auth::cache::AuthCache,
    /// Task reads, for a few seconds (see [`crate::tasks::cache`]).
    pub tasks: crate::tasks::cache::TaskCache,
    /// Forge clients' outbound guard and the tokens granted per host (see [`crate::forges`]).
    pub forges: crate::forges::access::Forges,
}

impl AppState {
    /// A pooled connection, or a 503 when the pool cannot supply one in time.
    pub async fn conn(&self) -> Result<crate::db::Conn, crate::error::ApiError> {
        Ok(self.pool.get().await?)
    }
}
