//! Building the HTTP server: state, middleware, routes, the SPA, all passed in.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpServer};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;

use crate::auth::session_store::PgSessionStore;
use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::db::DbPool;
use crate::error::ApiError;
use crate::events::hub::Hub;
use crate::ops::metrics::Metrics;
use crate::state::AppState;

/// Memory for full event pages kept encoded (see [`crate::events::pages`]).
const CLOSED_PAGE_BYTES: usize = 64 << 20;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "drydock_session";

/// A bound, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    auth: crate::auth::cache::AuthCache,
}

impl Application {
    /// Binds `settings.listen` (port 0 picks a free port) and builds the server around the
    /// process's one sandbox backend.
    pub fn build(
        mut settings: Settings,
        pool: DbPool,
        secrets: SecretBox,
        hub: Hub,
        sandbox: crate::sandboxes::Backend,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen)
            .map_err(|e| anyhow::anyhow!("binding {}: {e}", settings.listen))?;
        // With port 0 the OS picked one; URLs derived from `listen` must carry the real port.
        settings.listen = listener.local_addr()?;
        let port = settings.listen.port();
        crate::auth::providers::enabled(&settings)?;
        let throttle = crate::throttle::Throttle::new(&settings)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("drydock")
            .build()?;
        let auth =
            crate::auth::cache::AuthCache::new(Duration::from_secs(settings.auth.cache_secs));
        auth.follow(&hub);
        let tasks = crate::tasks::cache::TaskCache::new(Duration::from_secs(
            settings.tasks.read_cache_secs,
        ));
        tasks.observe(&hub);
        let state = AppState {
            forges: crate::forges::access::Forges::new(&settings),
            pool: pool.clone(),
            settings: Arc::new(settings),
            secrets,
            http,
            metrics: Metrics::new()?,
            sandbox,
            throttle,
            auth: auth.clone(),
            tasks,
        };
        let server = serve(listener, state, hub)?;
        Ok(Self { port, server, auth })
    }

    /// The server's auth cache (tests wait on what it forgot).
    pub fn auth_cache(&self) -> crate::auth::cache::AuthCache {
        self.auth.clone()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until stopped (SIGINT/SIGTERM stop it gracefully).
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }

    /// The server, for callers that need its handle.
    pub fn into_server(self) -> Server {
        self.server
    }
}

fn cors(settings: &Settings) -> Cors {
    // The API's own origin and the web app's are always allowed: browsers send `Origin` on
    // same-origin POSTs too.
    let mut origins: Vec<String> = settings.cors_origins.clone();
    origins.push(settings.public_base());
    origins.push(settings.web_base());
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::ACCEPT,
            header::HeaderName::from_static("x-csrf-token"),
            header::HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([header::RETRY_AFTER, header::HeaderName::from_static("x-request-id")])
        .supports_credentials()
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(&origin);
    }
    cors
}

fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).error_handler(|err, _req| {
        use actix_web::error::JsonPayloadError as E;
        let api = match &err {
            E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::PayloadTooLarge,
            E::ContentType => ApiError::BadRequest("Send the body as application/json.".into()),
            E::Deserialize(e) if e.is_data() => data_error(&e.to_string()),
            E::Deserialize(e) => ApiError::BadRequest(format!("Malformed JSON: {e}")),
            other => ApiError::BadRequest(format!("Unreadable body: {other}")),
        };
        api.into()
    })
}

/// Turns serde's data errors into a field-level validation problem.
fn data_error(message: &str) -> ApiError {
    let quoted = |s: &str| s.split('`').nth(1).map(str::to_owned);
    let (field, reason) = if let Some(rest) = message.strip_prefix("unknown field ") {
        (
            quoted(rest),
            "is not a known field (server-owned and unknown fields are rejected)".to_owned(),
        )
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        (quoted(rest), "is required".to_owned())
    } else {
        (None, message.split(" at line").next().unwrap_or(message).to_owned())
    };
    ApiError::invalid(field.as_deref().unwrap_or("body"), reason)
}

async fn no_route(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    tracing::debug!(path = %req.path(), "no such route");
    Err(ApiError::NoSuchRoute)
}

/// Every minute: forget expired sessions, idle throttle keys and old user events.
fn spawn_housekeeping(store: PgSessionStore, throttle: crate::throttle::Throttle, pool: DbPool) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            throttle.forget_idle();
            if let Err(e) = store.purge_expired().await {
                tracing::warn!(error = %e, "purging expired sessions failed");
            }
            if let Err(e) = prune_user_events(&pool).await {
                tracing::warn!(error = %e, "pruning old user events failed");
            }
        }
    });
}

/// Deletes the user events older than [`crate::events::user_store::KEPT_FOR`].
pub async fn prune_user_events(pool: &DbPool) -> anyhow::Result<usize> {
    let mut conn = pool.get().await?;
    let before = chrono::Utc::now() - crate::events::user_store::KEPT_FOR;
    Ok(crate::events::user_store::prune(&mut conn, before).await?)
}

fn serve(listener: TcpListener, state: AppState, hub: Hub) -> anyhow::Result<Server> {
    let settings = state.settings.clone();
    if settings.session_idle_minutes < 1 || settings.session_ttl_hours < 1 {
        anyhow::bail!("session_idle_minutes and session_ttl_hours must be at least 1");
    }
    let key = Key::derive_from(state.secrets.current_key());
    let store = PgSessionStore::new(
        state.pool.clone(),
        chrono::Duration::hours(settings.session_ttl_hours),
        state.auth.clone(),
    );
    spawn_housekeeping(store.clone(), state.throttle.clone(), state.pool.clone());
    let web_dir = settings.web_dir.clone().filter(|d| d.join("index.html").is_file());
    let index_html = match &web_dir {
        Some(dir) => Some(std::fs::read_to_string(dir.join("index.html"))?),
        None => None,
    };
    let headers = web::Data::new(crate::security_headers::SecurityHeaders::new(
        &settings,
        index_html.as_deref(),
    )?);
    let feeds = web::Data::new(crate::events::feed::Feeds::new(state.pool.clone(), hub));
    let terminals = web::Data::new(crate::terminal::Terminals::new(&settings));
    let pages = web::Data::new(crate::events::pages::ClosedPages::new(CLOSED_PAGE_BYTES));
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        // The cookie and the row live for the idle timeout, renewed as the session is used;
        // the store ends a session at `session_ttl_hours` however busy it is.
        let session = SessionMiddleware::builder(store.clone(), key.clone())
            .cookie_name(SESSION_COOKIE.to_owned())
            .cookie_secure(settings.secure_cookies())
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_content_security(CookieContentSecurity::Signed)
            .session_lifecycle(
                PersistentSession::default()
                    .session_ttl(actix_web::cookie::time::Duration::minutes(
                        settings.session_idle_minutes,
                    ))
                    .session_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
            )
            .build();
        let (app, _) = App::new()
            .into_utoipa_app()
            .app_data(data.clone())
            .app_data(feeds.clone())
            .app_data(terminals.clone())
            .app_data(pages.clone())
            .app_data(headers.clone())
            .app_data(json_config(settings.max_body_bytes))
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                ApiError::BadRequest(format!("Invalid query: {err}")).into()
            }))
            .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()))
            .configure(crate::routes::all)
            .split_for_parts();
        let app = app
            .wrap(from_fn(crate::tasks::cache::forget_after_writes))
            .wrap(session)
            // Outside the session: a preview request is served before routing and never loads
            // or renews the user's session (its cookie is stripped before the dev server).
            .wrap(from_fn(crate::preview::gateway::route))
            .wrap(from_fn(crate::proxy::secure_cookies))
            .wrap(cors(&settings))
            .wrap(from_fn(crate::security_headers::apply))
            .wrap(from_fn(crate::ops::metrics::record))
            .wrap(from_fn(crate::request_id::stamp))
            .wrap(from_fn(crate::compress::compress))
            .wrap(TracingLogger::<crate::request_span::RedactedRootSpan>::new());
        match &web_dir {
            Some(dir) => app.service(crate::spa::files(dir)),
            None => app.default_service(web::to(no_route)),
        }
    })
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}
