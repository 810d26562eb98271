//! `/api/v1/me/keys`.

use actix_web::{delete, get, put, web, HttpResponse};
use shared::agents::{KeyProvider, KeyStatus, PutKey};

use super::model;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_keys).service(put_key).service(delete_key);
}

fn provider(raw: &str) -> ApiResult<KeyProvider> {
    KeyProvider::parse(raw).ok_or(ApiError::NotFound)
}

/// Every provider, with whether the caller configured a key (never the key).
#[utoipa::path(
    tag = "keys", operation_id = "list_keys",
    responses((status = 200, body = Vec<KeyStatus>), (status = 401, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/keys")]
async fn list_keys(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> ApiResult<web::Json<Vec<KeyStatus>>> {
    let mut conn = state.conn().await?;
    let stored = model::list(&mut conn, user.id).await?;
    Ok(web::Json(
        KeyProvider::ALL
            .into_iter()
            .map(|p| match stored.iter().find(|k| k.provider == p.as_str()) {
                Some(k) => KeyStatus {
                    provider: p,
                    configured: true,
                    last4: Some(k.last4.clone()),
                    base_url: k.base_url.clone(),
                    updated_at: Some(k.updated_at),
                },
                None => KeyStatus {
                    provider: p,
                    configured: false,
                    last4: None,
                    base_url: None,
                    updated_at: None,
                },
            })
            .collect(),
    ))
}

/// Sets the caller's key for a provider, with an optional gateway base URL.
#[utoipa::path(
    tag = "keys", operation_id = "put_key", request_body = PutKey,
    params(("provider" = String, Path, description = "anthropic, openai, gemini, cursor or github-copilot")),
    responses((status = 200, body = KeyStatus), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[put("/me/keys/{provider}")]
async fn put_key(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Json<PutKey>,
) -> ApiResult<web::Json<KeyStatus>> {
    let provider = provider(&path)?;
    let PutKey { value, base_url } = body.into_inner();
    let value = value.trim().to_owned();
    let mut errors = std::collections::BTreeMap::new();
    if value.len() < 8 || value.len() > 4096 || value.chars().any(char::is_whitespace) {
        errors.insert(
            "value".to_owned(),
            vec!["must be 8 to 4096 characters without spaces".to_owned()],
        );
    }
    let base_url =
        base_url.map(|u| u.trim().trim_end_matches('/').to_owned()).filter(|u| !u.is_empty());
    if let Some(u) = &base_url {
        if url::Url::parse(u).map(|p| !matches!(p.scheme(), "http" | "https")).unwrap_or(true) {
            errors.insert("base_url".to_owned(), vec!["must be an http(s) URL".to_owned()]);
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let last4: String = value.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    let sealed = state.secrets.seal(&model::sealed_at(user.id, provider.as_str()), &value)?;
    let mut conn = state.conn().await?;
    model::put(&mut conn, user.id, provider, &sealed, &last4, base_url.as_deref()).await?;
    let row = model::get(&mut conn, user.id, provider).await?.ok_or(ApiError::NotFound)?;
    Ok(web::Json(KeyStatus {
        provider,
        configured: true,
        last4: Some(row.last4),
        base_url: row.base_url,
        updated_at: Some(row.updated_at),
    }))
}

/// Deletes the caller's key for a provider.
#[utoipa::path(
    tag = "keys", operation_id = "delete_key",
    params(("provider" = String, Path, description = "anthropic, openai, gemini, cursor or github-copilot")),
    responses((status = 204, description = "Deleted"), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/me/keys/{provider}")]
async fn delete_key(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let provider = provider(&path)?;
    let mut conn = state.conn().await?;
    if !model::delete(&mut conn, user.id, provider).await? {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}
