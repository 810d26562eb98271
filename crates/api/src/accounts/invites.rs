//! The `invites` table: one-time links with which an administrator lets someone in while
//! registration is closed. The token is in the link only; the table keeps its SHA-256.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::crypto::{random_token, token_hash};
use crate::db::schema::invites;

/// An invitation row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invites)]
pub struct InviteRow {
    pub id: Uuid,
    pub is_admin: bool,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub used_by: Option<Uuid>,
}

impl From<InviteRow> for shared::admin::Invite {
    fn from(row: InviteRow) -> Self {
        Self {
            id: row.id,
            is_admin: row.is_admin,
            created_at: row.created_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            used_by: row.used_by,
        }
    }
}

/// Creates an invitation valid until `expires_at`; returns its row and its token.
pub async fn create(
    conn: &mut AsyncPgConnection,
    created_by: Option<Uuid>,
    is_admin: bool,
    expires_at: DateTime<Utc>,
) -> QueryResult<(InviteRow, String)> {
    let token = random_token(32);
    let row = diesel::insert_into(invites::table)
        .values((
            invites::id.eq(Uuid::new_v4()),
            invites::token_hash.eq(token_hash(&token)),
            invites::is_admin.eq(is_admin),
            invites::created_by.eq(created_by),
            invites::expires_at.eq(expires_at),
        ))
        .returning(InviteRow::as_returning())
        .get_result(conn)
        .await?;
    Ok((row, token))
}

/// Invitations, newest first.
pub async fn list(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<InviteRow>> {
    invites::table
        .order(invites::created_at.desc())
        .limit(limit)
        .select(InviteRow::as_select())
        .load(conn)
        .await
}

/// Deletes an unused invitation; `false` when there is no such unused one.
pub async fn revoke(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    let n = diesel::delete(
        invites::table.filter(invites::id.eq(id)).filter(invites::used_at.is_null()),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Whether `token` is an unused, unexpired invitation (checked before hashing a password for
/// it, so a guess costs no Argon2 hash; [`take`] decides, in the transaction).
pub async fn is_usable(conn: &mut AsyncPgConnection, token: &str) -> QueryResult<bool> {
    let n: i64 = invites::table
        .filter(invites::token_hash.eq(token_hash(token)))
        .filter(invites::used_at.is_null())
        .filter(invites::expires_at.gt(diesel::dsl::now))
        .count()
        .get_result(conn)
        .await?;
    Ok(n == 1)
}

/// Uses up the invitation behind `token` if it is unused and unexpired. Run it in the
/// transaction that creates the account, so a failed creation leaves the invitation usable
/// and two simultaneous uses cannot both succeed (the update locks the row).
pub async fn take(conn: &mut AsyncPgConnection, token: &str) -> QueryResult<Option<InviteRow>> {
    diesel::update(
        invites::table
            .filter(invites::token_hash.eq(token_hash(token)))
            .filter(invites::used_at.is_null())
            .filter(invites::expires_at.gt(diesel::dsl::now)),
    )
    .set(invites::used_at.eq(diesel::dsl::now))
    .returning(InviteRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Records who used an invitation.
pub async fn mark_used_by(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user_id: Uuid,
) -> QueryResult<()> {
    diesel::update(invites::table.find(id)).set(invites::used_by.eq(user_id)).execute(conn).await?;
    Ok(())
}

/// Uses the invitation behind `token` to create a local account, in one transaction: the
/// invitation is spent only if the account is made. `None` for an unusable invitation.
pub async fn create_local_account(
    conn: &mut AsyncPgConnection,
    token: &str,
    username: &str,
    password_hash: &str,
) -> QueryResult<Option<super::User>> {
    use diesel_async::AsyncConnection;
    let (token, username, hash) = (token.to_owned(), username.to_owned(), password_hash.to_owned());
    conn.transaction(|conn| {
        Box::pin(async move {
            let Some(invite) = take(conn, &token).await? else { return Ok(None) };
            let user = super::model::insert(
                conn,
                super::model::NewUser {
                    id: Uuid::new_v4(),
                    username: &username,
                    name: None,
                    email: None,
                    avatar_url: None,
                    password_hash: Some(&hash),
                    is_admin: invite.is_admin,
                    auth_provider: "local",
                },
            )
            .await?;
            mark_used_by(conn, invite.id, user.id).await?;
            Ok(Some(user))
        })
    })
    .await
}
