//! The OpenAPI document, generated from the registered routes. `openapi.yaml` at the repository
//! root is this document; a test regenerates it and fails when the committed file differs.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::Modify;

/// Static parts of the document: info, tags, security schemes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Drydock API",
        description = "Run AI coding agents against your repositories in isolated sandboxes.\n\nErrors are `application/problem+json` (RFC 9457). Authenticate with a personal API token (`Authorization: Bearer dd_...`) or the browser session cookie; cookie-authenticated POST, PUT, PATCH and DELETE requests must also send the `X-CSRF-Token` header with the `csrf_token` from `GET /api/v1/me`."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Sign-in and the current user"),
        (name = "tokens", description = "Personal API tokens"),
        (name = "tasks", description = "Tasks, their runs, conversation and events"),
        (name = "keys", description = "Provider API keys (write-only)"),
        (name = "connectors", description = "MCP servers (connectors) offered to agents; secrets are write-only"),
        (name = "agents", description = "The agent catalogue"),
        (name = "preview", description = "A task's dev server in its kept-alive sandbox, and one-time links to its preview (served outside /api/v1: see docs/preview.md)"),
        (name = "github", description = "GitHub repositories, tasks from issues, pull requests and commits, and task pull requests, comments and checks"),
        (name = "admin", description = "Administration"),
        (name = "ops", description = "Health and metrics")
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A personal API token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::startup::SESSION_COOKIE,
                "The browser session; unsafe methods also need X-CSRF-Token",
            ))),
        );
    }
}

/// The full document, without touching a database.
pub fn document() -> OpenApi {
    use utoipa::OpenApi as _;
    use utoipa_actix_web::AppExt;
    let (_, mut api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::all)
        .split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api
}

/// The document as YAML, as committed in `openapi.yaml`.
pub fn yaml() -> anyhow::Result<String> {
    Ok(document().to_yaml()?)
}
