//! `/api/v1/connectors`: the caller's MCP servers, and the presets.

use std::collections::BTreeMap;

use actix_web::{delete, get, patch, post, web, HttpResponse};
use shared::connectors::{
    valid_connector_name, Connector, ConnectorKind, ConnectorPreset, CreateConnector,
    UpdateConnector,
};
use uuid::Uuid;

use super::model::{self, ConnectorRow, ConnectorValues};
use super::SecretColumn;
use crate::auth::CurrentUser;
use crate::crypto::SecretBox;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_presets)
        .service(list_connectors)
        .service(create_connector)
        .service(get_connector)
        .service(update_connector)
        .service(delete_connector);
}

const MAX_ARGS: usize = 64;
const MAX_ENTRIES: usize = 50;
const MAX_VALUE: usize = 8192;

/// The wire form: secret names only.
fn to_dto(secrets: &SecretBox, row: &ConnectorRow) -> Connector {
    let keys = |column| match super::open_map(secrets, row, column) {
        Ok(map) => map.into_keys().collect(),
        Err(e) => {
            tracing::warn!(connector_id = %row.id, error = %e, "opening connector secrets failed");
            Vec::new()
        }
    };
    Connector {
        id: row.id,
        name: row.name.clone(),
        kind: ConnectorKind::parse(&row.kind).unwrap_or(ConnectorKind::Local),
        command: row.command.clone(),
        args: row.args.clone(),
        url: row.url.clone(),
        env_keys: keys(SecretColumn::Env),
        header_keys: keys(SecretColumn::Headers),
        enabled: row.enabled,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// A connector as validated plain values, before sealing.
struct Draft {
    name: String,
    kind: ConnectorKind,
    command: Option<String>,
    args: Vec<String>,
    url: Option<String>,
    env: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    enabled: bool,
}

impl Draft {
    fn validate(&mut self) -> ApiResult<()> {
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut err = |field: &str, reason: &str| {
            errors.entry(field.to_owned()).or_default().push(reason.to_owned());
        };
        self.name = self.name.trim().to_owned();
        if !valid_connector_name(&self.name) {
            err("name", "must be 1 to 64 letters, digits, `-` or `_`");
        }
        self.command = self.command.take().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        self.url = self.url.take().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
        match self.kind {
            ConnectorKind::Local => {
                match &self.command {
                    None => err("command", "is required for a local connector"),
                    Some(c) if c.len() > 1024 || c.contains('\0') => {
                        err("command", "must be at most 1024 characters")
                    }
                    Some(_) => {}
                }
                if self.url.is_some() {
                    err("url", "must be empty for a local connector");
                }
                if !self.headers.is_empty() {
                    err("headers", "must be empty for a local connector (use env)");
                }
            }
            ConnectorKind::Remote => {
                match &self.url {
                    None => err("url", "is required for a remote connector"),
                    Some(u) => {
                        let ok = url::Url::parse(u)
                            .map(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some())
                            .unwrap_or(false);
                        if !ok || u.len() > 2048 {
                            err("url", "must be an http(s) URL");
                        }
                    }
                }
                if self.command.is_some() {
                    err("command", "must be empty for a remote connector");
                }
                if !self.args.is_empty() {
                    err("args", "must be empty for a remote connector");
                }
                if !self.env.is_empty() {
                    err("env", "must be empty for a remote connector (use headers)");
                }
            }
        }
        if self.args.len() > MAX_ARGS
            || self.args.iter().any(|a| a.len() > 4096 || a.contains('\0'))
        {
            err("args", "at most 64 arguments of at most 4096 characters");
        }
        let env_name = |k: &str| {
            let mut chars = k.chars();
            k.len() <= 128
                && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if self.env.len() > MAX_ENTRIES || !self.env.keys().all(|k| env_name(k)) {
            err(
                "env",
                "names must be letters, digits and `_`, not starting with a digit (at most 50)",
            );
        }
        if self.env.values().any(|v| v.len() > MAX_VALUE || v.contains('\0')) {
            err("env", "values must be at most 8192 characters");
        }
        let header_name = |k: &str| {
            !k.is_empty()
                && k.len() <= 128
                && k.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
        };
        if self.headers.len() > MAX_ENTRIES || !self.headers.keys().all(|k| header_name(k)) {
            err("headers", "names must be HTTP header names (at most 50)");
        }
        if self
            .headers
            .values()
            .any(|v| v.len() > MAX_VALUE || v.chars().any(|c| c == '\r' || c == '\n' || c == '\0'))
        {
            err("headers", "values must be at most 8192 characters on one line");
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    /// Seals the secrets for the connector `id` of `user_id`.
    fn seal(&self, secrets: &SecretBox, user_id: Uuid, id: Uuid) -> ApiResult<ConnectorValues> {
        let id = id.to_string();
        let at = |column| super::sealed_at(user_id, &id, column);
        Ok(ConnectorValues {
            name: self.name.clone(),
            kind: self.kind.as_str().to_owned(),
            command: self.command.clone(),
            args: self.args.clone(),
            url: self.url.clone(),
            env_enc: super::seal_map(secrets, &at(SecretColumn::Env), &self.env)?,
            headers_enc: super::seal_map(secrets, &at(SecretColumn::Headers), &self.headers)?,
            enabled: self.enabled,
        })
    }
}

fn name_taken(name: &str) -> ApiError {
    ApiError::Conflict(format!("You already have a connector named `{name}`."))
}

/// The presets: ready-made connectors with the secrets each needs.
#[utoipa::path(
    tag = "connectors", operation_id = "list_connector_presets",
    responses((status = 200, body = Vec<ConnectorPreset>), (status = 401, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/connectors/presets")]
async fn list_presets(_user: CurrentUser) -> web::Json<Vec<ConnectorPreset>> {
    web::Json(super::presets::all())
}

/// The caller's connectors, by name. Secret values are never returned, only their names.
#[utoipa::path(
    tag = "connectors", operation_id = "list_connectors",
    responses((status = 200, body = Vec<Connector>), (status = 401, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/connectors")]
async fn list_connectors(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> ApiResult<web::Json<Vec<Connector>>> {
    let mut conn = state.conn().await?;
    let rows = model::list(&mut conn, user.id).await?;
    Ok(web::Json(rows.iter().map(|r| to_dto(&state.secrets, r)).collect()))
}

/// Creates a connector. `env` and `headers` are write-only and stored encrypted.
#[utoipa::path(
    tag = "connectors", operation_id = "create_connector", request_body = CreateConnector,
    responses(
        (status = 201, body = Connector), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 409, body = shared::Problem), (status = 422, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/connectors")]
async fn create_connector(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<CreateConnector>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let mut draft = Draft {
        name: b.name,
        kind: b.kind,
        command: b.command,
        args: b.args,
        url: b.url,
        env: b.env,
        headers: b.headers,
        enabled: b.enabled,
    };
    draft.validate()?;
    let id = Uuid::new_v4();
    let values = draft.seal(&state.secrets, user.id, id)?;
    let mut conn = state.conn().await?;
    let row = model::insert(&mut conn, id, user.id, &values)
        .await?
        .ok_or_else(|| name_taken(&values.name))?;
    tracing::info!(user_id = %user.id, connector_id = %row.id, "connector created");
    Ok(HttpResponse::Created().json(to_dto(&state.secrets, &row)))
}

/// One of the caller's connectors.
#[utoipa::path(
    tag = "connectors", operation_id = "get_connector",
    params(("id" = Uuid, Path, description = "Connector id")),
    responses((status = 200, body = Connector), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/connectors/{id}")]
async fn get_connector(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<Uuid>,
) -> ApiResult<web::Json<Connector>> {
    let mut conn = state.conn().await?;
    let row = model::get(&mut conn, user.id, path.into_inner()).await?.ok_or(ApiError::NotFound)?;
    Ok(web::Json(to_dto(&state.secrets, &row)))
}

/// Changes a connector: absent fields keep their value; `env` or `headers`, when present,
/// replace the stored map. Changing `type` clears the fields of the other type.
#[utoipa::path(
    tag = "connectors", operation_id = "update_connector", request_body = UpdateConnector,
    params(("id" = Uuid, Path, description = "Connector id")),
    responses(
        (status = 200, body = Connector), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem),
        (status = 422, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[patch("/connectors/{id}")]
async fn update_connector(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<Uuid>,
    body: web::Json<UpdateConnector>,
) -> ApiResult<web::Json<Connector>> {
    let id = path.into_inner();
    let patch = body.into_inner();
    let mut conn = state.conn().await?;
    let row = model::get(&mut conn, user.id, id).await?.ok_or(ApiError::NotFound)?;
    let old_kind = ConnectorKind::parse(&row.kind).unwrap_or(ConnectorKind::Local);
    let kind = patch.kind.unwrap_or(old_kind);
    let switched = kind != old_kind;
    let mut draft = Draft {
        name: patch.name.unwrap_or(row.name.clone()),
        kind,
        command: patch.command.or(if switched { None } else { row.command.clone() }),
        args: patch.args.unwrap_or_else(|| if switched { Vec::new() } else { row.args.clone() }),
        url: patch.url.or(if switched { None } else { row.url.clone() }),
        env: match patch.env {
            Some(env) => env,
            None if switched => BTreeMap::new(),
            None => super::open_map(&state.secrets, &row, SecretColumn::Env)?,
        },
        headers: match patch.headers {
            Some(h) => h,
            None if switched => BTreeMap::new(),
            None => super::open_map(&state.secrets, &row, SecretColumn::Headers)?,
        },
        enabled: patch.enabled.unwrap_or(row.enabled),
    };
    draft.validate()?;
    let values = draft.seal(&state.secrets, user.id, id)?;
    let updated = match model::update(&mut conn, user.id, id, &values).await {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => return Err(name_taken(&values.name)),
        other => other?.ok_or(ApiError::NotFound)?,
    };
    Ok(web::Json(to_dto(&state.secrets, &updated)))
}

/// Deletes a connector. Tasks that listed it run without it.
#[utoipa::path(
    tag = "connectors", operation_id = "delete_connector",
    params(("id" = Uuid, Path, description = "Connector id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/connectors/{id}")]
async fn delete_connector(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    if !model::delete(&mut conn, user.id, path.into_inner()).await? {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}
