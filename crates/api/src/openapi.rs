//! The OpenAPI document, generated from the registered routes. `openapi.yaml` at the repository
//! root is this document; a test regenerates it and fails when the committed file differs.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::Modify;

/// Static parts of the document: info, tags, security schemes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Drydock API",
        description = "Run AI coding agents against your repositories in isolated sandboxes.\n\nErrors are `application/problem+json` (RFC 9457). Authenticate with a personal API token (`Authorization: Bearer dd_...`) or the browser session cookie; cookie-authenticated POST, PUT, PATCH and DELETE requests must also send the `X-CSRF-Token` header with the `csrf_token` from `GET /api/v1/me`."
    ),
    modifiers(&SecuritySchemes),
    // Sent as SSE `data:` on `/me/events/stream`, so no operation names it as a body.
    components(schemas(shared::user_events::UserEvent)),
    tags(
        (name = "auth", description = "Sign-in and the current user"),
        (name = "tokens", description = "Personal API tokens"),
        (name = "tasks", description = "Tasks, their runs, conversation and events"),
        (name = "sandboxes", description = "Live sandboxes: status, start, stop and extend"),
        (name = "keys", description = "Provider API keys (write-only)"),
        (name = "connectors", description = "MCP servers (connectors) offered to agents; secrets are write-only"),
        (name = "git-credentials", description = "Personal access tokens per git host (GitHub, GitLab, Gitea/Forgejo, plain git), write-only; each goes only to its own host"),
        (name = "agents", description = "The agent catalogue"),
        (name = "capabilities", description = "Optional features this server offers"),
        (name = "preview", description = "A task's dev server in its kept-alive sandbox, and one-time links to its preview (served outside /api/v1: see docs/preview.md)"),
        (name = "github", description = "GitHub repositories, creating them, and tasks from issues, pull requests and commits"),
        (name = "forges", description = "Any forge the user has a token for (GitHub, GitLab, Gitea/Forgejo): the repository picker and browser, tasks from issues, pull or merge requests and commits, and a task's pull or merge request with its comments and checks"),
        (name = "workspace", description = "The live sandbox's working tree for the web editor: folders, files, moves, copies, deletes (see docs/workspace.md)"),
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
    describe_problems(&mut api);
    api
}

/// The media type of every error body (RFC 9457).
const PROBLEM_JSON: &str = "application/problem+json";

/// Makes the document say what the server sends for errors: the handlers declare their error
/// bodies as `Problem` schemas, which utoipa lists under `application/json`; they are
/// `application/problem+json` on the wire. And every operation that takes input can meet input
/// it cannot parse (a path segment that is no UUID, a query value of the wrong type, a body that
/// is no JSON), which actix's extractors answer with 400.
fn describe_problems(api: &mut OpenApi) {
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.options,
            &mut item.head,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            for response in operation.responses.responses.values_mut() {
                let RefOr::T(response) = response else { continue };
                let is_problem = response.content.get("application/json").is_some_and(|content| {
                    matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem"))
                });
                if is_problem {
                    if let Some(content) = response.content.shift_remove("application/json") {
                        response.content.insert(PROBLEM_JSON.to_owned(), content);
                    }
                }
            }
            if !takes_input(operation) {
                continue;
            }
            for (status, description) in [
                ("400", "The path, query or body could not be read"),
                ("422", "A value is not acceptable; `errors` names each field and the reason"),
            ] {
                if operation.responses.responses.contains_key(status) {
                    continue;
                }
                let problem = ResponseBuilder::new()
                    .description(description)
                    .content(
                        PROBLEM_JSON,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build();
                operation.responses.responses.insert(status.to_owned(), RefOr::T(problem));
            }
        }
    }
}

fn takes_input(operation: &Operation) -> bool {
    operation.request_body.is_some() || operation.parameters.as_ref().is_some_and(|p| !p.is_empty())
}

/// The document as YAML, as committed in `openapi.yaml`.
pub fn yaml() -> anyhow::Result<String> {
    Ok(document().to_yaml()?)
}
