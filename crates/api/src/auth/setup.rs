//! The one-time setup link that creates the first administrator of a fresh install. It is the
//! only way the web makes an administrator out of nobody: signing in first (with GitHub, say)
//! makes an ordinary account, and the link keeps working until an active administrator exists.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::crypto::{random_token, token_hash};
use crate::db::schema::setup_tokens;

/// Issues a new setup token when no active administrator exists (replacing unused ones).
/// `None` otherwise.
pub async fn issue_if_needed(conn: &mut AsyncPgConnection) -> QueryResult<Option<String>> {
    if crate::accounts::model::count_admins(conn).await? > 0 {
        return Ok(None);
    }
    let token = random_token(24);
    diesel::delete(setup_tokens::table.filter(setup_tokens::used_at.is_null()))
        .execute(conn)
        .await?;
    diesel::insert_into(setup_tokens::table)
        .values(setup_tokens::token_hash.eq(token_hash(&token)))
        .execute(conn)
        .await?;
    Ok(Some(token))
}

/// Whether `token` is an unused setup token (checked before hashing a password for it, so a
/// guess costs no Argon2 hash; [`consume`] checks again in its transaction).
pub async fn is_usable(conn: &mut AsyncPgConnection, token: &str) -> QueryResult<bool> {
    let n: i64 = setup_tokens::table
        .filter(setup_tokens::token_hash.eq(token_hash(token)))
        .filter(setup_tokens::used_at.is_null())
        .count()
        .get_result(conn)
        .await?;
    Ok(n == 1)
}

/// Whether a setup token is waiting (no active administrator yet).
pub async fn pending(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    Ok(crate::accounts::model::count_admins(conn).await? == 0)
}

/// Marks the token used if it is valid and no active administrator exists yet, then runs
/// `create` in the same transaction, so two concurrent setups cannot both create one.
pub async fn consume<F, T>(
    conn: &mut AsyncPgConnection,
    token: &str,
    create: F,
) -> QueryResult<Option<T>>
where
    F: for<'c> FnOnce(
            &'c mut AsyncPgConnection,
        ) -> futures_util::future::BoxFuture<'c, QueryResult<T>>
        + Send,
    T: Send,
{
    let hash = token_hash(token);
    conn.transaction(|conn| {
        Box::pin(async move {
            diesel::sql_query("LOCK TABLE setup_tokens IN EXCLUSIVE MODE").execute(conn).await?;
            if crate::accounts::model::count_admins(conn).await? > 0 {
                return Ok(None);
            }
            let n = diesel::update(
                setup_tokens::table
                    .filter(setup_tokens::token_hash.eq(hash))
                    .filter(setup_tokens::used_at.is_null()),
            )
            .set(setup_tokens::used_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
            if n != 1 {
                return Ok(None);
            }
            create(conn).await.map(Some)
        })
    })
    .await
}
