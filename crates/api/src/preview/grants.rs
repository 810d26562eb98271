//! One-time preview links and the preview cookie they turn into.
//!
//! A link carries a random token (stored as its SHA-256 only) that expires after
//! `preview.link_ttl_secs` and works once. Opening it sets `drydock_preview`, a random cookie
//! (also stored hashed) bound to the task and its owner for `preview.cookie_minutes`, scoped to
//! the preview alone: host-only on `<task-id>.<preview.domain>`, or `Path=/preview/<task-id>/`
//! without a preview domain. The main session cookie never reaches the preview's origin.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Duration, Utc};
use diesel_async::AsyncPgConnection;
use rand::RngCore;
use sha2::{Digest, Sha256};
use shared::preview::PreviewLink;
use uuid::Uuid;

use super::model;
use crate::config::Settings;
use crate::error::ApiResult;

/// The preview cookie's name.
pub const COOKIE: &str = "drydock_preview";
/// The reserved path, under the preview's root, that opens a link.
pub const LOGIN_PATH: &str = "__drydock/login";

/// A fresh random secret, URL-safe.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token or cookie.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Where a task's preview lives: `<scheme>://<task-id>.<domain>/` or
/// `<public base>/preview/<task-id>/`, always with the trailing slash.
pub fn preview_root(settings: &Settings, task_id: Uuid) -> String {
    let base = settings.public_base();
    match &settings.preview.domain {
        Some(domain) => {
            let scheme = if base.starts_with("https://") { "https" } else { "http" };
            format!("{scheme}://{task_id}.{}/", domain.trim_matches('.').to_ascii_lowercase())
        }
        None => format!("{base}/preview/{task_id}/"),
    }
}

/// The path prefix of the preview on its origin (`/` with a preview domain).
pub fn path_prefix(settings: &Settings, task_id: Uuid) -> String {
    match settings.preview.domain {
        Some(_) => "/".to_owned(),
        None => format!("/preview/{task_id}/"),
    }
}

/// Makes a one-time link for `user_id`, who owns `task_id` (the caller checked).
pub async fn create_link(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    task_id: Uuid,
    user_id: Uuid,
) -> ApiResult<PreviewLink> {
    let token = random_secret();
    let expires_at = Utc::now() + Duration::seconds(i64::from(settings.preview.link_ttl_secs));
    model::insert_grant(conn, task_id, user_id, &hash(&token), expires_at).await?;
    let root = preview_root(settings, task_id);
    Ok(PreviewLink {
        url: format!("{root}{LOGIN_PATH}?token={token}"),
        expires_at,
        preview_url: root,
    })
}
