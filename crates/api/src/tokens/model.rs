//! The `api_tokens` table. Only the SHA-256 of a secret is stored.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::crypto::{random_token, token_hash};
use crate::db::schema::api_tokens;

/// Every token starts with this, so leaked tokens are recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "dd_";

/// A token row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct TokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for shared::tokens::ApiToken {
    fn from(row: TokenRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// Creates a token and returns its row and the secret, which is not stored.
pub async fn create(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    name: &str,
) -> QueryResult<(TokenRow, String)> {
    let secret = format!("{TOKEN_PREFIX}{}", random_token(32));
    let prefix: String = secret.chars().take(TOKEN_PREFIX.len() + 6).collect();
    let row = diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(Uuid::new_v4()),
            api_tokens::user_id.eq(user_id),
            api_tokens::name.eq(name),
            api_tokens::prefix.eq(&prefix),
            api_tokens::token_hash.eq(token_hash(&secret)),
        ))
        .returning(TokenRow::as_returning())
        .get_result(conn)
        .await?;
    Ok((row, secret))
}

/// The user's live tokens, newest first.
pub async fn list(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<TokenRow>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id).and(api_tokens::revoked_at.is_null()))
        .order(api_tokens::created_at.desc())
        .select(TokenRow::as_select())
        .load(conn)
        .await
}

/// Revokes one of the user's tokens; `false` when there is no such live token of theirs.
pub async fn revoke(conn: &mut AsyncPgConnection, user_id: Uuid, id: Uuid) -> QueryResult<bool> {
    let n = diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Revokes a token by id regardless of owner (operator command).
pub async fn revoke_any(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    let n = diesel::update(
        api_tokens::table.filter(api_tokens::id.eq(id)).filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// The owner of a live token, recording its use. `last_used_at` is written at most once a
/// minute per token so that a busy script does not turn every read into a write.
pub async fn authenticate(conn: &mut AsyncPgConnection, secret: &str) -> QueryResult<Option<Uuid>> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let found: Option<(Uuid, Uuid, Option<DateTime<Utc>>)> = api_tokens::table
        .filter(api_tokens::token_hash.eq(token_hash(secret)))
        .filter(api_tokens::revoked_at.is_null())
        .select((api_tokens::id, api_tokens::user_id, api_tokens::last_used_at))
        .first(conn)
        .await
        .optional()?;
    let Some((id, user_id, last_used)) = found else { return Ok(None) };
    if last_used.is_none_or(|t| Utc::now() - t > chrono::Duration::minutes(1)) {
        diesel::update(api_tokens::table.find(id))
            .set(api_tokens::last_used_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
    }
    Ok(Some(user_id))
}
