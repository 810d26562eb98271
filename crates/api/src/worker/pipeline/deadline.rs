//! The agent's time limit while it runs. It is recorded as the agent starts (the task's
//! `max_duration_minutes` from then) and comes back with every heartbeat (`claim::heartbeat`
//! reads it in the statement that renews the lease), so the owner's extend
//! ([`crate::tasks::deadline`]) moves it; the `run_time_limit` warning goes out
//! `tasks.deadline_warning_secs` before whatever the limit is by then, once per limit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::sandboxes::WarningKind;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Turn;
use crate::sandboxes::warnings::warning;
use crate::tasks::{deadline, limits};
use crate::worker::error::RunError;

/// The running agent's deadline, followed in the background until dropped.
pub(crate) struct Deadline {
    /// The deadline as the run's heartbeat reads it (`None` until it first has).
    moved: watch::Receiver<Option<DateTime<Utc>>>,
    first: DateTime<Utc>,
    started: DateTime<Utc>,
    /// The backstop for the sandbox's own timeout: the owner's maximum duration from the
    /// agent's start, which no extend can pass (they count from the run's start).
    pub hard_limit: Duration,
    warner: JoinHandle<()>,
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.warner.abort();
    }
}

impl Deadline {
    /// Records the deadline of an agent starting now, and starts warning before it.
    pub async fn start(turn: &Turn<'_>) -> Result<Self, RunError> {
        let task = &turn.job.task;
        let settings = &turn.ctx.settings.tasks;
        let minutes = task.max_duration_minutes.max(1);
        let started = Utc::now();
        let first = started + chrono::Duration::minutes(i64::from(minutes));
        let mut conn = turn.ctx.pool.get().await.map_err(RunError::internally("the database"))?;
        deadline::start(&mut conn, turn.job.run_id, first)
            .await
            .map_err(RunError::internally("recording the run's deadline"))?;
        let cap = limits::effective(&mut conn, settings, task.user_id)
            .await
            .map_err(RunError::internally("reading the owner's limits"))?
            .max_duration_minutes;
        drop(conn);
        let hard_limit = Duration::from_secs(u64::from(cap.max(minutes as u32)) * 60);

        let moved = turn.run.agent_deadline();
        let lead = chrono::Duration::seconds(settings.deadline_warning_secs as i64);
        let (mut follow, run) = (moved.clone(), turn.run.clone());
        let warner = tokio::spawn(async move {
            let mut warned: Option<DateTime<Utc>> = None;
            loop {
                let at = follow.borrow_and_update().unwrap_or(first);
                if warned != Some(at) {
                    let due = (at - lead - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                    tokio::select! {
                        () = tokio::time::sleep(due) => {
                            run.event(warning(WarningKind::RunTimeLimit, at));
                            warned = Some(at);
                            continue;
                        }
                        changed = follow.changed() => if changed.is_err() { return },
                    }
                } else if follow.changed().await.is_err() {
                    return;
                }
            }
        });
        Ok(Self { moved, first, started, hard_limit, warner })
    }

    fn now(&self, moved: &watch::Receiver<Option<DateTime<Utc>>>) -> DateTime<Utc> {
        moved.borrow().unwrap_or(self.first)
    }

    /// Resolves once the deadline, as it stands then, has passed.
    pub async fn passed(&self) {
        let mut moved = self.moved.clone();
        loop {
            let at = moved.borrow_and_update().unwrap_or(self.first);
            let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::select! {
                () = tokio::time::sleep(wait) => {
                    if self.now(&moved) <= at {
                        return;
                    }
                }
                changed = moved.changed() => {
                    if changed.is_err() {
                        tokio::time::sleep(wait).await;
                        return;
                    }
                }
            }
        }
    }

    /// The limit the agent had in the end, in whole minutes from its start.
    pub fn minutes(&self) -> i64 {
        ((self.now(&self.moved) - self.started).num_seconds() + 30) / 60
    }
}
