//! The `users` and `identities` tables.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{identities, users};

/// A user row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub auth_provider: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Fields of a new user.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub avatar_url: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub is_admin: bool,
    pub auth_provider: &'a str,
}

/// Finds a user by id.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table.find(id).select(User::as_select()).first(conn).await.optional()
}

/// Finds a user by username.
pub async fn find_by_username(
    conn: &mut AsyncPgConnection,
    username: &str,
) -> QueryResult<Option<User>> {
    users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// All users, oldest first.
pub async fn list(conn: &mut AsyncPgConnection) -> QueryResult<Vec<User>> {
    users::table.order(users::created_at.asc()).select(User::as_select()).load(conn).await
}

/// Number of users.
pub async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn).await
}

/// Inserts a user.
pub async fn insert(conn: &mut AsyncPgConnection, new: NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(&new)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// An OAuth identity row (tokens stay sealed).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = identities)]
pub struct Identity {
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider: String,
    pub external_id: String,
    pub login: String,
    pub access_token_enc: Option<String>,
    pub refresh_token_enc: Option<String>,
    pub scope: Option<String>,
}

/// The user's identity with `provider`, if any.
pub async fn identity(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    provider: &str,
) -> QueryResult<Option<Identity>> {
    identities::table
        .filter(identities::user_id.eq(user_id).and(identities::provider.eq(provider)))
        .select(Identity::as_select())
        .first(conn)
        .await
        .optional()
}

/// Profile data an OAuth provider returned.
#[derive(Debug, Clone)]
pub struct ExternalProfile {
    pub provider: String,
    pub external_id: String,
    pub login: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
}

/// Sealed tokens of an identity.
#[derive(Debug, Clone)]
pub struct SealedTokens {
    pub access: Option<String>,
    pub refresh: Option<String>,
    pub scope: Option<String>,
}

/// Finds or creates the user behind an external identity and stores its tokens, in one
/// transaction. A new user's username is the provider login, suffixed when already taken.
pub async fn upsert_external(
    conn: &mut AsyncPgConnection,
    profile: &ExternalProfile,
    tokens: &SealedTokens,
) -> QueryResult<User> {
    use diesel_async::AsyncConnection;
    let profile = profile.clone();
    let tokens = tokens.clone();
    conn.transaction(|conn| {
        Box::pin(async move {
            let existing: Option<Uuid> = identities::table
                .filter(identities::provider.eq(&profile.provider))
                .filter(identities::external_id.eq(&profile.external_id))
                .select(identities::user_id)
                .first(conn)
                .await
                .optional()?;
            let user = match existing {
                Some(user_id) => {
                    diesel::update(users::table.find(user_id))
                        .set((
                            users::name.eq(&profile.name),
                            users::email.eq(&profile.email),
                            users::avatar_url.eq(&profile.avatar_url),
                            users::updated_at.eq(diesel::dsl::now),
                        ))
                        .returning(User::as_returning())
                        .get_result(conn)
                        .await?
                }
                None => {
                    let username = free_username(conn, &profile.login, &profile.provider).await?;
                    let is_first = count(conn).await? == 0;
                    insert(
                        conn,
                        NewUser {
                            id: Uuid::new_v4(),
                            username: &username,
                            name: profile.name.as_deref(),
                            email: profile.email.as_deref(),
                            avatar_url: profile.avatar_url.as_deref(),
                            password_hash: None,
                            is_admin: is_first,
                            auth_provider: &profile.provider,
                        },
                    )
                    .await?
                }
            };
            diesel::insert_into(identities::table)
                .values((
                    identities::id.eq(Uuid::new_v4()),
                    identities::user_id.eq(user.id),
                    identities::provider.eq(&profile.provider),
                    identities::external_id.eq(&profile.external_id),
                    identities::login.eq(&profile.login),
                    identities::access_token_enc.eq(&tokens.access),
                    identities::refresh_token_enc.eq(&tokens.refresh),
                    identities::scope.eq(&tokens.scope),
                ))
                .on_conflict((identities::provider, identities::external_id))
                .do_update()
                .set((
                    identities::login.eq(&profile.login),
                    identities::access_token_enc.eq(&tokens.access),
                    identities::refresh_token_enc.eq(&tokens.refresh),
                    identities::scope.eq(&tokens.scope),
                    identities::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            Ok(user)
        })
    })
    .await
}

async fn free_username(
    conn: &mut AsyncPgConnection,
    login: &str,
    provider: &str,
) -> QueryResult<String> {
    let base: String = login
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' })
        .take(48)
        .collect();
    let base = if base.is_empty() { "user".to_owned() } else { base };
    let mut candidate = base.clone();
    for n in 1.. {
        if find_by_username(conn, &candidate).await?.is_none() {
            return Ok(candidate);
        }
        candidate =
            if n == 1 { format!("{base}-{provider}") } else { format!("{base}-{provider}{n}") };
    }
    unreachable!("the loop above only ends by returning")
}

/// Clears the stored tokens of an identity (after revoking them at the provider).
pub async fn forget_tokens(conn: &mut AsyncPgConnection, identity_id: Uuid) -> QueryResult<()> {
    diesel::update(identities::table.find(identity_id))
        .set((
            identities::access_token_enc.eq(None::<String>),
            identities::refresh_token_enc.eq(None::<String>),
            identities::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
