//! The `git_credentials` table. Tokens are always sealed bound to their row (`v2.`): the table
//! is younger than row binding, so [`crate::reseal`] has nothing to bind here, and rotating the
//! master key works as for every sealed value (`previous_master_keys` keeps them readable).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::crypto::SealedAt;
use crate::db::schema::git_credentials;

/// Where a user's token for `host` is sealed: the row `(user_id, host)`.
pub fn sealed_at(user_id: Uuid, host: &str) -> SealedAt<'_> {
    SealedAt { table: "git_credentials", column: "token_enc", owner: user_id, row: host }
}

/// A stored credential, token still sealed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = git_credentials)]
pub struct CredentialRow {
    pub user_id: Uuid,
    pub host: String,
    pub kind: String,
    pub api_url: Option<String>,
    pub token_enc: String,
    pub token_last4: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What [`put`] stores.
pub struct NewCredential<'a> {
    pub user_id: Uuid,
    pub host: &'a str,
    pub kind: &'a str,
    pub api_url: Option<&'a str>,
    pub token_enc: &'a str,
    pub token_last4: &'a str,
}

/// The user's credentials, by host.
pub async fn list(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<CredentialRow>> {
    git_credentials::table
        .filter(git_credentials::user_id.eq(user_id))
        .order(git_credentials::host.asc())
        .select(CredentialRow::as_select())
        .load(conn)
        .await
}

/// The user's credential for exactly `host`.
pub async fn get(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    host: &str,
) -> QueryResult<Option<CredentialRow>> {
    git_credentials::table
        .filter(git_credentials::user_id.eq(user_id).and(git_credentials::host.eq(host)))
        .select(CredentialRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Stores or replaces a credential (its `created_at` stays); returns the row.
pub async fn put(
    conn: &mut AsyncPgConnection,
    new: NewCredential<'_>,
) -> QueryResult<CredentialRow> {
    let values = (
        git_credentials::kind.eq(new.kind),
        git_credentials::api_url.eq(new.api_url),
        git_credentials::token_enc.eq(new.token_enc),
        git_credentials::token_last4.eq(new.token_last4),
    );
    diesel::insert_into(git_credentials::table)
        .values((
            git_credentials::user_id.eq(new.user_id),
            git_credentials::host.eq(new.host),
            values,
        ))
        .on_conflict((git_credentials::user_id, git_credentials::host))
        .do_update()
        .set((values, git_credentials::updated_at.eq(diesel::dsl::now)))
        .returning(CredentialRow::as_returning())
        .get_result(conn)
        .await
}

/// Deletes a credential; `false` when there was none.
pub async fn delete(conn: &mut AsyncPgConnection, user_id: Uuid, host: &str) -> QueryResult<bool> {
    let n = diesel::delete(
        git_credentials::table
            .filter(git_credentials::user_id.eq(user_id).and(git_credentials::host.eq(host))),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Records that the credential was used now.
pub async fn touch(conn: &mut AsyncPgConnection, user_id: Uuid, host: &str) -> QueryResult<()> {
    diesel::update(
        git_credentials::table
            .filter(git_credentials::user_id.eq(user_id).and(git_credentials::host.eq(host))),
    )
    .set(git_credentials::last_used_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
}
