//! The `task_dev_servers` and `preview_grants` tables.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::preview::{DevServer, DevServerState};
use uuid::Uuid;

use crate::db::schema::{preview_grants, task_dev_servers, tasks};

/// A task's dev server row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = task_dev_servers)]
pub struct DevServerRow {
    pub task_id: Uuid,
    pub dev_command: Option<String>,
    pub dev_port: Option<i32>,
    pub state: String,
    pub command: Option<String>,
    pub port: Option<i32>,
    pub source: Option<String>,
    pub exit_code: Option<i32>,
    pub detail: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl DevServerRow {
    /// The task's own port, when it set one.
    pub fn own_port(&self) -> Option<u16> {
        self.dev_port.and_then(|p| u16::try_from(p).ok())
    }

    /// The wire form.
    pub fn to_dto(&self) -> DevServer {
        DevServer {
            state: parse_state(&self.state),
            command: self.command.clone(),
            port: self.port.and_then(|p| u16::try_from(p).ok()),
            source: self.source.clone(),
            exit_code: self.exit_code,
            started_at: self.started_at,
            detail: self.detail.clone(),
        }
    }
}

/// The stored spelling of a state.
pub fn state_name(state: DevServerState) -> &'static str {
    match state {
        DevServerState::NotFound => "not_found",
        DevServerState::Stopped => "stopped",
        DevServerState::Running => "running",
        DevServerState::Exited => "exited",
    }
}

fn parse_state(name: &str) -> DevServerState {
    match name {
        "not_found" => DevServerState::NotFound,
        "running" => DevServerState::Running,
        "exited" => DevServerState::Exited,
        _ => DevServerState::Stopped,
    }
}

/// The task's own `dev_command` and `dev_port`, saved with the task.
pub async fn save_settings(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    dev_command: Option<&str>,
    dev_port: Option<i32>,
) -> QueryResult<()> {
    diesel::insert_into(task_dev_servers::table)
        .values((
            task_dev_servers::task_id.eq(task_id),
            task_dev_servers::dev_command.eq(dev_command),
            task_dev_servers::dev_port.eq(dev_port),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The task's dev server row, if it has one.
pub async fn get(conn: &mut AsyncPgConnection, task_id: Uuid) -> QueryResult<Option<DevServerRow>> {
    task_dev_servers::table
        .find(task_id)
        .select(DevServerRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// What the dev server is doing now.
#[derive(Debug, Clone, Default)]
pub struct StateChange<'a> {
    pub command: Option<&'a str>,
    pub port: Option<u16>,
    pub source: Option<&'a str>,
    pub exit_code: Option<i32>,
    pub detail: Option<&'a str>,
    pub started_at: Option<DateTime<Utc>>,
}

/// Records a new state (creating the row for tasks that set no dev settings).
pub async fn set_state(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    state: DevServerState,
    change: StateChange<'_>,
) -> QueryResult<()> {
    let port = change.port.map(i32::from);
    let values = (
        task_dev_servers::task_id.eq(task_id),
        task_dev_servers::state.eq(state_name(state)),
        task_dev_servers::command.eq(change.command),
        task_dev_servers::port.eq(port),
        task_dev_servers::source.eq(change.source),
        task_dev_servers::exit_code.eq(change.exit_code),
        task_dev_servers::detail.eq(change.detail),
        task_dev_servers::started_at.eq(change.started_at),
        task_dev_servers::updated_at.eq(Utc::now()),
    );
    diesel::insert_into(task_dev_servers::table)
        .values(values)
        .on_conflict(task_dev_servers::task_id)
        .do_update()
        .set((
            task_dev_servers::state.eq(state_name(state)),
            task_dev_servers::command.eq(change.command),
            task_dev_servers::port.eq(port),
            task_dev_servers::source.eq(change.source),
            task_dev_servers::exit_code.eq(change.exit_code),
            task_dev_servers::detail.eq(change.detail),
            task_dev_servers::started_at.eq(change.started_at),
            task_dev_servers::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that a process ended, unless a newer one started since (`started_at` differs).
pub async fn set_ended(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    started_at: DateTime<Utc>,
    state: DevServerState,
    exit_code: Option<i32>,
    detail: &str,
) -> QueryResult<()> {
    diesel::update(
        task_dev_servers::table
            .filter(task_dev_servers::task_id.eq(task_id))
            .filter(task_dev_servers::started_at.eq(started_at)),
    )
    .set((
        task_dev_servers::state.eq(state_name(state)),
        task_dev_servers::exit_code.eq(exit_code),
        task_dev_servers::detail.eq(detail),
        task_dev_servers::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores a new one-time link for `user_id` to `task_id`'s preview.
pub async fn insert_grant(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    user_id: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    // Old links and cookies go as new ones are made: nothing else ever reads them.
    let stale = Utc::now() - chrono::Duration::days(1);
    diesel::delete(
        preview_grants::table.filter(preview_grants::token_expires_at.lt(stale)).filter(
            preview_grants::cookie_expires_at
                .is_null()
                .or(preview_grants::cookie_expires_at.lt(stale)),
        ),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(preview_grants::table)
        .values((
            preview_grants::id.eq(Uuid::new_v4()),
            preview_grants::task_id.eq(task_id),
            preview_grants::user_id.eq(user_id),
            preview_grants::token_hash.eq(token_hash),
            preview_grants::token_expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Uses a link once: when `token_hash` names an unused, unexpired link to `task_id` whose user
/// still owns the task, marks it used and attaches the cookie. True when it did.
pub async fn redeem(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    token_hash: &[u8],
    cookie_hash: &[u8],
    cookie_expires_at: DateTime<Utc>,
) -> QueryResult<bool> {
    let now = Utc::now();
    let owners = tasks::table
        .filter(tasks::id.eq(task_id))
        .filter(tasks::deleted_at.is_null())
        .select(tasks::user_id);
    let used = diesel::update(
        preview_grants::table
            .filter(preview_grants::token_hash.eq(token_hash))
            .filter(preview_grants::task_id.eq(task_id))
            .filter(preview_grants::used_at.is_null())
            .filter(preview_grants::token_expires_at.gt(now))
            .filter(preview_grants::user_id.eq_any(owners)),
    )
    .set((
        preview_grants::used_at.eq(now),
        preview_grants::cookie_hash.eq(cookie_hash),
        preview_grants::cookie_expires_at.eq(cookie_expires_at),
    ))
    .execute(conn)
    .await?;
    Ok(used == 1)
}

/// Whether a preview cookie lets its holder into `task_id`'s preview now: it was set by a link
/// to this task, has not expired, and its user still owns the task.
pub async fn cookie_grants(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    cookie_hash: &[u8],
) -> QueryResult<bool> {
    let found: Option<Uuid> = preview_grants::table
        .inner_join(tasks::table)
        .filter(preview_grants::cookie_hash.eq(cookie_hash))
        .filter(preview_grants::task_id.eq(task_id))
        .filter(preview_grants::cookie_expires_at.gt(Utc::now()))
        .filter(tasks::user_id.eq(preview_grants::user_id))
        .filter(tasks::deleted_at.is_null())
        .select(preview_grants::id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}
