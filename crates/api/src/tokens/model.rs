//! The `api_tokens` table. Only the SHA-256 of a secret is stored. A token has scopes and may
//! expire; an expired or revoked token authenticates nothing.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use shared::tokens::TokenScope;

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
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Parses stored scope names; names this build does not know grant nothing.
pub fn parse_scopes(names: &[String]) -> Vec<TokenScope> {
    names.iter().filter_map(|s| TokenScope::parse(s)).collect()
}

impl From<TokenRow> for shared::tokens::ApiToken {
    fn from(row: TokenRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            scopes: parse_scopes(&row.scopes),
            expires_at: row.expires_at,
        }
    }
}

/// Creates a token with every scope and no expiry (what an operator's `drydock token create`
/// makes) and returns its row and the secret, which is not stored.
pub async fn create(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    name: &str,
) -> QueryResult<(TokenRow, String)> {
    create_with(conn, user_id, name, &TokenScope::ALL, None).await
}

/// Creates a token with these scopes and expiry; returns its row and the secret.
pub async fn create_with(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    name: &str,
    scopes: &[TokenScope],
    expires_at: Option<DateTime<Utc>>,
) -> QueryResult<(TokenRow, String)> {
    let secret = format!("{TOKEN_PREFIX}{}", random_token(32));
    let prefix: String = secret.chars().take(TOKEN_PREFIX.len() + 6).collect();
    let mut names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let row = diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(Uuid::new_v4()),
            api_tokens::user_id.eq(user_id),
            api_tokens::name.eq(name),
            api_tokens::prefix.eq(&prefix),
            api_tokens::token_hash.eq(token_hash(&secret)),
            api_tokens::scopes.eq(names),
            api_tokens::expires_at.eq(expires_at),
        ))
        .returning(TokenRow::as_returning())
        .get_result(conn)
        .await?;
    Ok((row, secret))
}

/// The user's live tokens (revoked and expired ones left out), newest first.
pub async fn list(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<TokenRow>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id).and(api_tokens::revoked_at.is_null()))
        .filter(api_tokens::expires_at.is_null().or(api_tokens::expires_at.gt(diesel::dsl::now)))
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

/// A token that authenticated a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The token's id.
    pub token_id: Uuid,
    /// Its owner.
    pub user_id: Uuid,
    /// What it may do.
    pub scopes: Vec<TokenScope>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The live (unrevoked, unexpired) token behind `secret`, recording its use. `last_used_at` is
/// written at most once a minute per token so that a busy script does not turn every read
/// into a write.
pub async fn authenticate(
    conn: &mut AsyncPgConnection,
    secret: &str,
) -> QueryResult<Option<Authenticated>> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    type Found = (Uuid, Uuid, Option<DateTime<Utc>>, Vec<String>, Option<DateTime<Utc>>);
    let found: Option<Found> = api_tokens::table
        .filter(api_tokens::token_hash.eq(token_hash(secret)))
        .filter(api_tokens::revoked_at.is_null())
        .filter(api_tokens::expires_at.is_null().or(api_tokens::expires_at.gt(diesel::dsl::now)))
        .select((
            api_tokens::id,
            api_tokens::user_id,
            api_tokens::last_used_at,
            api_tokens::scopes,
            api_tokens::expires_at,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((id, user_id, last_used, scopes, expires_at)) = found else { return Ok(None) };
    if last_used.is_none_or(|t| Utc::now() - t > chrono::Duration::minutes(1)) {
        diesel::update(api_tokens::table.find(id))
            .set(api_tokens::last_used_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
    }
    Ok(Some(Authenticated { token_id: id, user_id, scopes: parse_scopes(&scopes), expires_at }))
}

/// Records that token `id` was used just now.
pub async fn record_use(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether token `id` still authenticates (not revoked, not expired).
pub async fn is_live(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    let n: i64 = api_tokens::table
        .filter(api_tokens::id.eq(id))
        .filter(api_tokens::revoked_at.is_null())
        .filter(api_tokens::expires_at.is_null().or(api_tokens::expires_at.gt(diesel::dsl::now)))
        .count()
        .get_result(conn)
        .await?;
    Ok(n > 0)
}
