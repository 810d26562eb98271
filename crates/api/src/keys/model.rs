//! The `user_keys` table.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::agents::KeyProvider;
use uuid::Uuid;

use crate::crypto::SealedAt;
use crate::db::schema::user_keys;

/// Where a user's key for `provider` is sealed: the row `(user_id, provider)`.
pub fn sealed_at(user_id: Uuid, provider: &str) -> SealedAt<'_> {
    SealedAt { table: "user_keys", column: "value_enc", owner: user_id, row: provider }
}

/// A stored key, still sealed.
#[derive(Debug, Clone, Queryable)]
pub struct KeyRow {
    pub provider: String,
    pub value_enc: String,
    pub last4: String,
    pub base_url: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The user's keys.
pub async fn list(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<KeyRow>> {
    user_keys::table
        .filter(user_keys::user_id.eq(user_id))
        .select((
            user_keys::provider,
            user_keys::value_enc,
            user_keys::last4,
            user_keys::base_url,
            user_keys::updated_at,
        ))
        .load(conn)
        .await
}

/// One of the user's keys.
pub async fn get(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    provider: KeyProvider,
) -> QueryResult<Option<KeyRow>> {
    user_keys::table
        .filter(user_keys::user_id.eq(user_id).and(user_keys::provider.eq(provider.as_str())))
        .select((
            user_keys::provider,
            user_keys::value_enc,
            user_keys::last4,
            user_keys::base_url,
            user_keys::updated_at,
        ))
        .first(conn)
        .await
        .optional()
}

/// The providers the user has a key for.
pub async fn configured_providers(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<KeyProvider>> {
    Ok(list(conn, user_id).await?.iter().filter_map(|k| KeyProvider::parse(&k.provider)).collect())
}

/// Stores (or replaces) a key.
pub async fn put(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    provider: KeyProvider,
    sealed: &str,
    last4: &str,
    base_url: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(user_keys::table)
        .values((
            user_keys::user_id.eq(user_id),
            user_keys::provider.eq(provider.as_str()),
            user_keys::value_enc.eq(sealed),
            user_keys::last4.eq(last4),
            user_keys::base_url.eq(base_url),
        ))
        .on_conflict((user_keys::user_id, user_keys::provider))
        .do_update()
        .set((
            user_keys::value_enc.eq(sealed),
            user_keys::last4.eq(last4),
            user_keys::base_url.eq(base_url),
            user_keys::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a key; `false` when there was none.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    provider: KeyProvider,
) -> QueryResult<bool> {
    let n = diesel::delete(
        user_keys::table
            .filter(user_keys::user_id.eq(user_id).and(user_keys::provider.eq(provider.as_str()))),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}
