//! The `tasks`, `runs` and `task_messages` tables.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use shared::events::{EventBody, LogLevel};
use shared::tasks::{MessageRole, Task, TaskMessage, TaskStage, TaskStatus};
use uuid::Uuid;

use crate::db::enums::{Stage, Status, TERMINAL};
use crate::db::schema::{runs, task_messages, task_pull_requests, tasks};
use crate::events::hub::{RUNS_CHANNEL, STOP_CHANNEL};
use crate::events::store;

/// A task row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tasks)]
pub struct TaskRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    pub prompt: String,
    pub repo_url: String,
    pub agent: String,
    pub model: Option<String>,
    pub agent_version: Option<String>,
    pub status: Status,
    pub stage: Stage,
    pub base_branch: Option<String>,
    pub branch_name: Option<String>,
    pub error: Option<String>,
    pub install_dependencies: bool,
    pub max_duration_minutes: i32,
    pub keep_alive: bool,
    pub create_pr: bool,
    pub enable_browser: bool,
    pub connector_ids: Vec<Uuid>,
    pub session_id: Option<String>,
    pub sandbox_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The task's pull request, from `task_pull_requests`.
    #[diesel(embed)]
    pub pr: Option<TaskPrRef>,
}

/// What a task row shows of its pull request.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = task_pull_requests)]
pub struct TaskPrRef {
    pub number: i64,
    pub url: String,
}

impl TaskRow {
    /// The number of the task's pull request, once it has one.
    pub fn pr_number(&self) -> Option<i64> {
        self.pr.as_ref().map(|p| p.number)
    }

    /// The public status.
    pub fn status(&self) -> TaskStatus {
        self.status.0
    }

    /// The wire form.
    pub fn to_dto(&self) -> Task {
        let status = self.status();
        let stage = self.stage.0;
        Task {
            id: self.id,
            title: self.title.clone(),
            prompt: self.prompt.clone(),
            repo_url: self.repo_url.clone(),
            agent: self.agent.clone(),
            model: self.model.clone(),
            agent_version: self.agent_version.clone(),
            status,
            stage,
            progress: if status.is_terminal() { 100 } else { stage.progress() },
            base_branch: self.base_branch.clone(),
            branch_name: self.branch_name.clone(),
            error: self.error.clone(),
            install_dependencies: self.install_dependencies,
            max_duration_minutes: self.max_duration_minutes.max(0) as u32,
            keep_alive: self.keep_alive,
            create_pr: self.create_pr,
            enable_browser: self.enable_browser,
            connector_ids: self.connector_ids.clone(),
            pr_url: self.pr.as_ref().map(|p| p.url.clone()),
            pr_number: self.pr_number(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            started_at: self.started_at,
            completed_at: self.completed_at,
        }
    }
}

/// Fields of a new task.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub user_id: Uuid,
    pub title: String,
    pub prompt: String,
    pub repo_url: String,
    pub agent: String,
    pub model: Option<String>,
    pub base_branch: Option<String>,
    pub install_dependencies: bool,
    pub max_duration_minutes: i32,
    pub keep_alive: bool,
    pub create_pr: bool,
    pub enable_browser: bool,
    pub connector_ids: Vec<Uuid>,
    /// The issue or commit it was started from.
    pub source_url: Option<String>,
}

/// The user's task, not deleted; `NotFound` for anyone else's.
pub async fn owned(conn: &mut AsyncPgConnection, user_id: Uuid, id: Uuid) -> QueryResult<TaskRow> {
    tasks::table
        .left_join(task_pull_requests::table)
        .filter(tasks::id.eq(id).and(tasks::user_id.eq(user_id)).and(tasks::deleted_at.is_null()))
        .select(TaskRow::as_select())
        .first(conn)
        .await
}

/// A task by id regardless of owner (workers).
pub async fn get(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<TaskRow> {
    tasks::table
        .left_join(task_pull_requests::table)
        .filter(tasks::id.eq(id))
        .select(TaskRow::as_select())
        .first(conn)
        .await
}

async fn wake_workers(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("SELECT pg_notify('{RUNS_CHANNEL}', '')")).execute(conn).await?;
    Ok(())
}

/// Inserts a task with its first run, the user's message and the first events, paying one unit
/// of quota, all in one transaction. `None` when the quota is exhausted (nothing is written).
pub async fn create(
    conn: &mut AsyncPgConnection,
    new: NewTask,
    quota: u32,
) -> QueryResult<Option<TaskRow>> {
    conn.transaction(|conn| {
        Box::pin(async move {
            if !super::limits::consume(conn, new.user_id, quota).await? {
                return Ok(None);
            }
            let id = Uuid::new_v4();
            diesel::insert_into(tasks::table)
                .values((
                    tasks::id.eq(id),
                    tasks::user_id.eq(new.user_id),
                    tasks::title.eq(&new.title),
                    tasks::prompt.eq(&new.prompt),
                    tasks::repo_url.eq(&new.repo_url),
                    tasks::agent.eq(&new.agent),
                    tasks::model.eq(&new.model),
                    tasks::base_branch.eq(&new.base_branch),
                    tasks::install_dependencies.eq(new.install_dependencies),
                    tasks::max_duration_minutes.eq(new.max_duration_minutes),
                    tasks::keep_alive.eq(new.keep_alive),
                    tasks::create_pr.eq(new.create_pr),
                    tasks::enable_browser.eq(new.enable_browser),
                    tasks::connector_ids.eq(&new.connector_ids),
                    tasks::source_url.eq(&new.source_url),
                ))
                .execute(conn)
                .await?;
            let run_id = insert_run(conn, id, new.user_id, 1, &new.prompt).await?;
            insert_message(conn, id, Some(run_id), MessageRole::User, &new.prompt).await?;
            store::append_in_tx(
                conn,
                id,
                &[
                    EventBody::Status { status: TaskStatus::Pending, reason: None },
                    EventBody::Stage { stage: TaskStage::Queued },
                ],
            )
            .await?;
            wake_workers(conn).await?;
            get(conn, id).await.map(Some)
        })
    })
    .await
}

async fn insert_run(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    user_id: Uuid,
    number: i32,
    prompt: &str,
) -> QueryResult<Uuid> {
    let id = Uuid::new_v4();
    diesel::insert_into(runs::table)
        .values((
            runs::id.eq(id),
            runs::task_id.eq(task_id),
            runs::user_id.eq(user_id),
            runs::number.eq(number),
            runs::prompt.eq(prompt),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Records a message of the conversation.
pub async fn insert_message(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    run_id: Option<Uuid>,
    role: MessageRole,
    content: &str,
) -> QueryResult<()> {
    let role = match role {
        MessageRole::User => "user",
        MessageRole::Agent => "agent",
    };
    diesel::insert_into(task_messages::table)
        .values((
            task_messages::id.eq(Uuid::new_v4()),
            task_messages::task_id.eq(task_id),
            task_messages::run_id.eq(run_id),
            task_messages::role.eq(role),
            task_messages::content.eq(content),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A message row: id, role, content, when, and its run's number.
type MessageRow = (Uuid, String, String, DateTime<Utc>, Option<i32>);

/// The conversation, oldest first.
pub async fn messages(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
) -> QueryResult<Vec<TaskMessage>> {
    let rows: Vec<MessageRow> = task_messages::table
        .left_join(runs::table)
        .filter(task_messages::task_id.eq(task_id))
        .order((task_messages::created_at.asc(), task_messages::id.asc()))
        .select((
            task_messages::id,
            task_messages::role,
            task_messages::content,
            task_messages::created_at,
            runs::number.nullable(),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, role, content, created_at, run)| TaskMessage {
            id,
            role: if role == "agent" { MessageRole::Agent } else { MessageRole::User },
            content,
            created_at,
            run,
        })
        .collect())
}

/// Outcome of a follow-up.
pub enum FollowUp {
    /// Queued as a new run.
    Queued(Box<TaskRow>),
    /// The task still runs.
    Busy,
    /// No quota left.
    OverQuota,
}

/// Queues a follow-up: a new run, the task back to `pending`, one unit of quota.
pub async fn follow_up(
    conn: &mut AsyncPgConnection,
    task: &TaskRow,
    content: String,
    quota: u32,
) -> QueryResult<FollowUp> {
    let task_id = task.id;
    let user_id = task.user_id;
    conn.transaction(|conn| {
        Box::pin(async move {
            let n = diesel::update(
                tasks::table.filter(tasks::id.eq(task_id)).filter(tasks::status.eq_any(TERMINAL)),
            )
            .set((
                tasks::status.eq(Status(TaskStatus::Pending)),
                tasks::stage.eq(Stage(TaskStage::Queued)),
                tasks::error.eq(None::<String>),
                tasks::stop_requested_at.eq(None::<DateTime<Utc>>),
                tasks::completed_at.eq(None::<DateTime<Utc>>),
                tasks::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
            if n == 0 {
                return Ok(FollowUp::Busy);
            }
            if !super::limits::consume(conn, user_id, quota).await? {
                // Rolls back the status change above.
                return Err(diesel::result::Error::RollbackTransaction);
            }
            let number: i32 = runs::table
                .filter(runs::task_id.eq(task_id))
                .select(diesel::dsl::max(runs::number))
                .first::<Option<i32>>(conn)
                .await?
                .unwrap_or(0)
                + 1;
            let run_id = insert_run(conn, task_id, user_id, number, &content).await?;
            insert_message(conn, task_id, Some(run_id), MessageRole::User, &content).await?;
            store::append_in_tx(
                conn,
                task_id,
                &[
                    EventBody::Log {
                        level: LogLevel::Info,
                        message: format!("Follow-up #{}", number - 1),
                    },
                    EventBody::Status { status: TaskStatus::Pending, reason: None },
                    EventBody::Stage { stage: TaskStage::Queued },
                ],
            )
            .await?;
            wake_workers(conn).await?;
            Ok(FollowUp::Queued(Box::new(get(conn, task_id).await?)))
        })
    })
    .await
    .or_else(|e| match e {
        diesel::result::Error::RollbackTransaction => Ok(FollowUp::OverQuota),
        other => Err(other),
    })
}

/// Asks for the task to stop. A run still waiting in the queue stops at once; a running one is
/// signalled to its worker, which kills the agent and records `stopped`. Terminal tasks are
/// left as they are.
pub async fn request_stop(conn: &mut AsyncPgConnection, task_id: Uuid) -> QueryResult<TaskRow> {
    conn.transaction(|conn| {
        Box::pin(async move {
            // Lock the row (the outer join below cannot be locked), then read it.
            tasks::table.find(task_id).for_update().select(tasks::id).first::<Uuid>(conn).await?;
            let task = get(conn, task_id).await?;
            match task.status() {
                TaskStatus::Pending => {
                    diesel::update(
                        runs::table
                            .filter(runs::task_id.eq(task_id))
                            .filter(runs::status.eq(Status(TaskStatus::Pending))),
                    )
                    .set((
                        runs::status.eq(Status(TaskStatus::Stopped)),
                        runs::finished_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)
                    .await?;
                    finish_task(
                        conn,
                        task_id,
                        TaskStatus::Stopped,
                        Some("Stopped before it started."),
                    )
                    .await?;
                }
                TaskStatus::Processing => {
                    diesel::update(tasks::table.find(task_id))
                        .set(tasks::stop_requested_at.eq(diesel::dsl::now))
                        .execute(conn)
                        .await?;
                    store::append_in_tx(
                        conn,
                        task_id,
                        &[EventBody::Log {
                            level: LogLevel::Info,
                            message: "Stop requested".into(),
                        }],
                    )
                    .await?;
                    diesel::sql_query(format!("SELECT pg_notify('{STOP_CHANNEL}', '{task_id}')"))
                        .execute(conn)
                        .await?;
                }
                _ => {}
            }
            get(conn, task_id).await
        })
    })
    .await
}

/// Moves a task from a live status to a terminal one and records the status event. A task that
/// is already terminal is never changed: `false` then.
pub async fn finish_task(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    status: TaskStatus,
    reason: Option<&str>,
) -> QueryResult<bool> {
    let n = diesel::update(tasks::table.filter(tasks::id.eq(task_id)).filter(
        tasks::status.eq_any([Status(TaskStatus::Pending), Status(TaskStatus::Processing)]),
    ))
    .set((
        tasks::status.eq(Status(status)),
        tasks::stage.eq(Stage(if status == TaskStatus::Completed {
            TaskStage::Done
        } else {
            TaskStage::Queued
        })),
        tasks::error.eq(if status == TaskStatus::Completed { None } else { reason }),
        tasks::completed_at.eq(diesel::dsl::now),
        tasks::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await?;
    if n == 1 {
        let mut events = Vec::new();
        if status == TaskStatus::Error {
            if let Some(reason) = reason {
                events.push(EventBody::Error { message: reason.to_owned() });
            }
        }
        events.push(EventBody::Status { status, reason: reason.map(str::to_owned) });
        store::append_in_tx(conn, task_id, &events).await?;
        // A run slot freed: idle workers anywhere may now take a run a cap held back.
        wake_workers(conn).await?;
    }
    Ok(n == 1)
}

/// Listing filters.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub statuses: Vec<TaskStatus>,
    pub repo: Option<String>,
    /// (created_at, id) of the last item of the previous page.
    pub before: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

impl ListFilter {
    /// The filter as one string, equal exactly when two filters list the same page (the key
    /// of the page in [`super::cache`]). The repository goes last, so no text it holds can make
    /// two filters look alike.
    pub fn cache_key(&self) -> String {
        let statuses: Vec<&str> = self.statuses.iter().map(|s| s.as_str()).collect();
        let before = self.before.map(|(at, id)| format!("{}/{id}", at.timestamp_micros()));
        let repo = self.repo.as_deref().map(|r| format!("={r}"));
        format!(
            "{}|{}|{}|{}",
            self.limit,
            statuses.join(","),
            before.as_deref().unwrap_or("-"),
            repo.as_deref().unwrap_or("-")
        )
    }
}

/// The user's tasks, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    f: &ListFilter,
) -> QueryResult<Vec<TaskRow>> {
    let mut q = tasks::table
        .left_join(task_pull_requests::table)
        .filter(tasks::user_id.eq(user_id))
        .filter(tasks::deleted_at.is_null())
        .select(TaskRow::as_select())
        .order((tasks::created_at.desc(), tasks::id.desc()))
        .limit(f.limit)
        .into_boxed();
    if !f.statuses.is_empty() {
        q = q.filter(
            tasks::status.eq_any(f.statuses.iter().map(|s| Status(*s)).collect::<Vec<_>>()),
        );
    }
    if let Some(repo) = &f.repo {
        q = q.filter(tasks::repo_url.eq(repo.clone()));
    }
    if let Some((at, id)) = f.before {
        q = q.filter(tasks::created_at.lt(at).or(tasks::created_at.eq(at).and(tasks::id.lt(id))));
    }
    q.load(conn).await
}

/// Soft-deletes the user's tasks by id or by status; returns the ids deleted. Running tasks are
/// not deleted (stop them first).
pub async fn soft_delete(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    id: Option<Uuid>,
    statuses: &[TaskStatus],
) -> QueryResult<Vec<Uuid>> {
    let mut q = diesel::update(tasks::table)
        .filter(tasks::user_id.eq(user_id))
        .filter(tasks::deleted_at.is_null())
        .filter(tasks::status.eq_any(TERMINAL))
        .into_boxed();
    if let Some(id) = id {
        q = q.filter(tasks::id.eq(id));
    }
    if !statuses.is_empty() {
        q = q.filter(tasks::status.eq_any(statuses.iter().map(|s| Status(*s)).collect::<Vec<_>>()));
    }
    q.set((tasks::deleted_at.eq(diesel::dsl::now), tasks::updated_at.eq(diesel::dsl::now)))
        .returning(tasks::id)
        .get_results(conn)
        .await
}
