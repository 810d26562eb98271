//! What an executor can do while running: report progress and events, learn of a stop.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use shared::events::{EventBody, LogLevel};
use shared::tasks::{TaskStage, TaskStatus};
use tokio::sync::watch;
use uuid::Uuid;

use crate::db::enums::{Stage, Status};
use crate::db::schema::{runs, tasks};
use crate::db::DbPool;
use crate::events::writer::EventSender;

/// Updates columns of the task while it is still `processing`; a stopped or recovered task is
/// left alone.
macro_rules! update_live_task {
    ($ctx:expr, $values:expr) => {{
        if let Ok(mut conn) = $ctx.pool.get().await {
            let result = diesel::update(tasks::table)
                .filter(tasks::id.eq($ctx.task_id).and(tasks::status.eq(Status(TaskStatus::Processing))))
                .set(($values, tasks::updated_at.eq(diesel::dsl::now)))
                .execute(&mut conn)
                .await;
            if let Err(e) = result {
                tracing::warn!(task_id = %$ctx.task_id, error = %e, "updating the task failed");
            }
        }
    }};
}

/// The running run's handle.
#[derive(Clone)]
pub struct RunContext {
    pool: DbPool,
    task_id: Uuid,
    run_id: Uuid,
    events: EventSender,
    cancel: watch::Receiver<bool>,
    agent_deadline: watch::Receiver<Option<DateTime<Utc>>>,
}

impl RunContext {
    /// A context for `task_id`/`run_id`.
    pub fn new(
        pool: DbPool,
        task_id: Uuid,
        run_id: Uuid,
        events: EventSender,
        cancel: watch::Receiver<bool>,
        agent_deadline: watch::Receiver<Option<DateTime<Utc>>>,
    ) -> Self {
        Self { pool, task_id, run_id, events, cancel, agent_deadline }
    }

    /// The agent's deadline as the heartbeat last read it (`None` before the agent starts).
    pub fn agent_deadline(&self) -> watch::Receiver<Option<DateTime<Utc>>> {
        self.agent_deadline.clone()
    }

    /// Queues an event (batched, redacted).
    pub fn event(&self, body: EventBody) {
        self.events.send(body);
    }

    /// Queues an info log line.
    pub fn log(&self, message: impl Into<String>) {
        self.event(EventBody::Log { level: LogLevel::Info, message: message.into() });
    }

    /// Waits until queued events are committed.
    pub async fn flush(&self) {
        self.events.flush().await;
    }

    /// Whether a stop was requested.
    pub fn is_cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// Resolves when a stop is requested.
    pub async fn cancelled(&self) {
        let mut rx = self.cancel.clone();
        while !*rx.borrow() {
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Moves the task to a new stage and records it.
    pub async fn stage(&self, stage: TaskStage) {
        update_live_task!(self, tasks::stage.eq(Stage(stage)));
        self.event(EventBody::Stage { stage });
    }

    /// Records the work branch.
    pub async fn set_branch(&self, branch: &str) {
        update_live_task!(self, tasks::branch_name.eq(branch.to_owned()));
    }

    /// Records the resolved base branch.
    pub async fn set_base_branch(&self, branch: &str) {
        update_live_task!(self, tasks::base_branch.eq(branch.to_owned()));
    }

    /// Records the agent's session id, for resuming.
    pub async fn set_session(&self, session_id: &str) {
        update_live_task!(self, tasks::session_id.eq(session_id.to_owned()));
    }

    /// Records the sandbox kept for follow-ups (or `None` once destroyed).
    pub async fn set_sandbox(&self, sandbox_id: Option<&str>) {
        update_live_task!(self, tasks::sandbox_id.eq(sandbox_id.map(str::to_owned)));
    }

    /// Records the agent CLI version this run used.
    pub async fn set_agent_version(&self, version: &str) {
        update_live_task!(self, tasks::agent_version.eq(version.to_owned()));
        if let Ok(mut conn) = self.pool.get().await {
            let _ = diesel::update(runs::table.find(self.run_id))
                .set(runs::agent_version.eq(version.to_owned()))
                .execute(&mut conn)
                .await;
        }
    }
}
