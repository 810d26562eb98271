//! Database access for the GitHub features: the user's sealed token and the pull request
//! fields of `tasks`.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use shared::github::PullRequest;
use uuid::Uuid;

use crate::crypto::SecretBox;
use crate::db::schema::{task_messages, task_pull_requests, tasks};
use crate::error::ApiError;

/// The problem of a user without a usable GitHub connection.
pub fn not_connected() -> ApiError {
    ApiError::Unprocessable(
        "This needs your GitHub account: sign in with GitHub, or add a GitHub token for this GitHub host under Settings → Git hosts, so Drydock can act on GitHub for you.".into(),
    )
}

/// The user's GitHub token, opened; a 422 asking to connect GitHub when there is none.
pub async fn token(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    user_id: Uuid,
) -> Result<SecretString, ApiError> {
    use crate::accounts::model::IdentityToken;
    let identity = crate::accounts::model::identity(conn, user_id, "github").await?;
    let identity = identity.ok_or_else(not_connected)?;
    // A token sealed under a key that is no longer configured, or not for this row, is as
    // good as none.
    identity.open_token(secrets, IdentityToken::Access).ok().flatten().ok_or_else(not_connected)
}

/// Records a pull request on its task (number, URL, status, merge commit).
pub async fn save_pr(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    pr: &PullRequest,
) -> QueryResult<()> {
    let values = (
        task_pull_requests::number.eq(pr.number),
        task_pull_requests::url.eq(&pr.url),
        task_pull_requests::status.eq(pr.status.as_str()),
        task_pull_requests::merge_sha.eq(&pr.merge_sha),
        task_pull_requests::updated_at.eq(diesel::dsl::now),
    );
    diesel::insert_into(task_pull_requests::table)
        .values((task_pull_requests::task_id.eq(task_id), values))
        .on_conflict(task_pull_requests::task_id)
        .do_update()
        .set(values)
        .execute(conn)
        .await?;
    diesel::update(tasks::table.find(task_id))
        .set(tasks::updated_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets the branch a new task continues instead of creating its own (a pull request's head).
pub async fn set_branch(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    branch: &str,
) -> QueryResult<()> {
    diesel::update(tasks::table.find(task_id))
        .set(tasks::branch_name.eq(branch))
        .execute(conn)
        .await?;
    Ok(())
}

/// The agent's most recent final message on the task, the default pull request body.
pub async fn last_agent_message(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
) -> QueryResult<Option<String>> {
    task_messages::table
        .filter(task_messages::task_id.eq(task_id))
        .filter(task_messages::role.eq("agent"))
        .order((task_messages::created_at.desc(), task_messages::id.desc()))
        .select(task_messages::content)
        .first(conn)
        .await
        .optional()
}
