//! The `users` and `identities` tables.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use uuid::Uuid;

use crate::crypto::{SealedAt, SecretBox};
use crate::db::schema::{identities, sessions, users};

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
    /// Set while an administrator has disabled the account: it cannot sign in, and its
    /// sessions and tokens are refused.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl User {
    /// Whether the account may act at all.
    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none()
    }
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

/// Number of administrators whose accounts are active.
pub async fn count_admins(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    users::table
        .filter(users::is_admin.eq(true).and(users::disabled_at.is_null()))
        .count()
        .get_result(conn)
        .await
}

/// Grants or removes administration.
pub async fn set_admin(conn: &mut AsyncPgConnection, id: Uuid, admin: bool) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((users::is_admin.eq(admin), users::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Disables or re-enables an account. Disabling also ends every session of the user at once
/// (their tokens are refused by [`crate::auth`] while the account is disabled).
pub async fn set_disabled(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    disabled: bool,
) -> QueryResult<()> {
    use diesel_async::AsyncConnection;
    conn.transaction(|conn| {
        Box::pin(async move {
            let at = disabled.then(Utc::now);
            diesel::update(users::table.find(id))
                .set((users::disabled_at.eq(at), users::updated_at.eq(diesel::dsl::now)))
                .execute(conn)
                .await?;
            if disabled {
                diesel::delete(sessions::table.filter(sessions::user_id.eq(id)))
                    .execute(conn)
                    .await?;
            }
            Ok(())
        })
    })
    .await
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

/// The sealed columns of `identities`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityToken {
    /// `access_token_enc`.
    Access,
    /// `refresh_token_enc`.
    Refresh,
}

/// Where an identity's token is sealed: its owner, and the provider identity as the row (the
/// natural key, known before the row exists).
fn token_place<'a>(user_id: Uuid, row: &'a str, which: IdentityToken) -> SealedAt<'a> {
    SealedAt {
        table: "identities",
        column: match which {
            IdentityToken::Access => "access_token_enc",
            IdentityToken::Refresh => "refresh_token_enc",
        },
        owner: user_id,
        row,
    }
}

/// The row key the tokens of an identity are bound to.
pub fn identity_row_key(provider: &str, external_id: &str) -> String {
    format!("{provider}:{external_id}")
}

/// Seals a token for the identity `(provider, external_id)` of `user_id`.
pub fn seal_identity_token(
    secrets: &SecretBox,
    user_id: Uuid,
    provider: &str,
    external_id: &str,
    which: IdentityToken,
    token: &str,
) -> anyhow::Result<String> {
    let row = identity_row_key(provider, external_id);
    secrets.seal(&token_place(user_id, &row, which), token)
}

impl Identity {
    /// Opens one of the identity's tokens; `Ok(None)` when none is stored.
    pub fn open_token(
        &self,
        secrets: &SecretBox,
        which: IdentityToken,
    ) -> anyhow::Result<Option<SecretString>> {
        let sealed = match which {
            IdentityToken::Access => &self.access_token_enc,
            IdentityToken::Refresh => &self.refresh_token_enc,
        };
        let Some(sealed) = sealed else { return Ok(None) };
        let row = identity_row_key(&self.provider, &self.external_id);
        secrets.open(&token_place(self.user_id, &row, which), sealed).map(Some)
    }
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

/// The user behind an external identity, if it is known.
pub async fn identity_owner(
    conn: &mut AsyncPgConnection,
    provider: &str,
    external_id: &str,
) -> QueryResult<Option<User>> {
    identities::table
        .inner_join(users::table)
        .filter(identities::provider.eq(provider))
        .filter(identities::external_id.eq(external_id))
        .select(User::as_select())
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
    /// Addresses the provider says the user verified (what email allow-lists check).
    pub verified_emails: Vec<String>,
    pub avatar_url: Option<String>,
}

/// An identity's tokens as the provider issued them, sealed on the way into the row.
#[derive(Clone)]
pub struct ProviderTokens {
    pub access: SecretString,
    pub refresh: Option<SecretString>,
    pub scope: Option<String>,
}

/// How a sign-in of an unknown identity may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission<'a> {
    /// Registration is open, or an allow-list admits the user.
    Admitted,
    /// Only by using this invitation token.
    Invite(&'a str),
    /// Not at all.
    Refused,
}

/// What became of an external sign-in.
#[derive(Debug)]
pub enum ExternalSignIn {
    /// Signed in as this (possibly new) user.
    SignedIn(User),
    /// The identity's account is disabled.
    Disabled,
    /// The identity is unknown and may not create an account.
    Refused,
    /// The invitation was unknown, used or expired.
    InviteInvalid,
}

/// Signs in the user behind an external identity, creating them when `admission` allows, and
/// stores the tokens, in one transaction. A new user's username is the provider login,
/// suffixed when already taken; they are never an administrator unless their invitation says so.
pub async fn sign_in_external(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    profile: &ExternalProfile,
    tokens: &ProviderTokens,
    admission: Admission<'_>,
) -> QueryResult<ExternalSignIn> {
    use diesel_async::AsyncConnection;
    let profile = profile.clone();
    let tokens = tokens.clone();
    let secrets = secrets.clone();
    let invite = match admission {
        Admission::Invite(token) => Some(token.to_owned()),
        _ => None,
    };
    let admitted = admission == Admission::Admitted;
    conn.transaction(|conn| {
        Box::pin(async move {
            let existing = identity_owner(conn, &profile.provider, &profile.external_id).await?;
            let user = match existing {
                Some(user) if !user.is_active() => return Ok(ExternalSignIn::Disabled),
                Some(user) => {
                    diesel::update(users::table.find(user.id))
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
                    let invited = match &invite {
                        Some(token) => match super::invites::take(conn, token).await? {
                            Some(row) => Some(row),
                            None => return Ok(ExternalSignIn::InviteInvalid),
                        },
                        None if admitted => None,
                        None => return Ok(ExternalSignIn::Refused),
                    };
                    let username = free_username(conn, &profile.login, &profile.provider).await?;
                    let user = insert(
                        conn,
                        NewUser {
                            id: Uuid::new_v4(),
                            username: &username,
                            name: profile.name.as_deref(),
                            email: profile.email.as_deref(),
                            avatar_url: profile.avatar_url.as_deref(),
                            password_hash: None,
                            is_admin: invited.as_ref().is_some_and(|i| i.is_admin),
                            auth_provider: &profile.provider,
                        },
                    )
                    .await?;
                    if let Some(invite) = invited {
                        super::invites::mark_used_by(conn, invite.id, user.id).await?;
                    }
                    user
                }
            };
            store_identity(conn, &secrets, user.id, &profile, &tokens).await?;
            Ok(ExternalSignIn::SignedIn(user))
        })
    })
    .await
}

/// Seals the tokens and stores the identity for `user_id` (or updates its tokens and login).
async fn store_identity(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    user_id: Uuid,
    profile: &ExternalProfile,
    tokens: &ProviderTokens,
) -> QueryResult<()> {
    use secrecy::ExposeSecret;
    let seal = |which, token: &str| {
        seal_identity_token(secrets, user_id, &profile.provider, &profile.external_id, which, token)
            .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))
    };
    let access = Some(seal(IdentityToken::Access, tokens.access.expose_secret())?);
    let refresh = tokens
        .refresh
        .as_ref()
        .map(|t| seal(IdentityToken::Refresh, t.expose_secret()))
        .transpose()?;
    diesel::insert_into(identities::table)
        .values((
            identities::id.eq(Uuid::new_v4()),
            identities::user_id.eq(user_id),
            identities::provider.eq(&profile.provider),
            identities::external_id.eq(&profile.external_id),
            identities::login.eq(&profile.login),
            identities::access_token_enc.eq(&access),
            identities::refresh_token_enc.eq(&refresh),
            identities::scope.eq(&tokens.scope),
        ))
        .on_conflict((identities::provider, identities::external_id))
        .do_update()
        .set((
            identities::login.eq(&profile.login),
            identities::access_token_enc.eq(&access),
            identities::refresh_token_enc.eq(&refresh),
            identities::scope.eq(&tokens.scope),
            identities::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// What became of connecting an external identity to a signed-in user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalLink {
    /// Connected (or its tokens renewed, when it was this user's already).
    Linked,
    /// The identity belongs to another user here.
    InUse,
    /// The user has another identity of this provider connected; disconnect it first.
    OtherLinked,
}

/// Connects the external identity `profile` to `user_id`, with its tokens, in one transaction.
pub async fn link_external(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    user_id: Uuid,
    profile: &ExternalProfile,
    tokens: &ProviderTokens,
) -> QueryResult<ExternalLink> {
    use diesel_async::AsyncConnection;
    let (profile, tokens, secrets) = (profile.clone(), tokens.clone(), secrets.clone());
    conn.transaction(|conn| {
        Box::pin(async move {
            let owner = identity_owner(conn, &profile.provider, &profile.external_id).await?;
            if owner.is_some_and(|u| u.id != user_id) {
                return Ok(ExternalLink::InUse);
            }
            let current = identity(conn, user_id, &profile.provider).await?;
            if current.is_some_and(|i| i.external_id != profile.external_id) {
                return Ok(ExternalLink::OtherLinked);
            }
            store_identity(conn, &secrets, user_id, &profile, &tokens).await?;
            Ok(ExternalLink::Linked)
        })
    })
    .await
}

/// Removes the user's identity with `provider`; returns it (for revoking its token).
pub async fn unlink(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    provider: &str,
) -> QueryResult<Option<Identity>> {
    diesel::delete(
        identities::table
            .filter(identities::user_id.eq(user_id).and(identities::provider.eq(provider))),
    )
    .returning(Identity::as_returning())
    .get_result(conn)
    .await
    .optional()
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
