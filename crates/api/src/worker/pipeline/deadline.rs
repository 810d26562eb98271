//! The agent's time limit while it runs. It is recorded as the agent starts (the task's
//! `max_duration_minutes` from then) and read again every heartbeat, so the owner's extend
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
    now: watch::Receiver<DateTime<Utc>>,
    started: DateTime<Utc>,
    /// The backstop for the sandbox's own timeout: the owner's maximum duration from the
    /// agent's start, which no extend can pass (they count from the run's start).
    pub hard_limit: Duration,
    follower: JoinHandle<()>,
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

impl Deadline {
    /// Records the deadline of an agent starting now, and starts following it.
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

        let (tx, now) = watch::channel(first);
        let (pool, run_id, run) = (turn.ctx.pool.clone(), turn.job.run_id, turn.run.clone());
        let (every, lead) = (
            Duration::from_millis(settings.heartbeat_ms.max(100)),
            chrono::Duration::seconds(settings.deadline_warning_secs as i64),
        );
        let follower = tokio::spawn(async move {
            let mut beat = tokio::time::interval(every);
            let mut warned: Option<DateTime<Utc>> = None;
            loop {
                beat.tick().await;
                if let Ok(mut conn) = pool.get().await {
                    if let Ok(Some(moved)) = deadline::current(&mut conn, run_id).await {
                        tx.send_if_modified(|d| std::mem::replace(d, moved) != moved);
                    }
                }
                let at = *tx.borrow();
                if warned != Some(at) && Utc::now() + lead >= at {
                    run.event(warning(WarningKind::RunTimeLimit, at));
                    warned = Some(at);
                }
            }
        });
        Ok(Self { now, started, hard_limit, follower })
    }

    /// Resolves once the deadline, as it stands then, has passed.
    pub async fn passed(&self) {
        let mut now = self.now.clone();
        loop {
            let at = *now.borrow_and_update();
            let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::select! {
                () = tokio::time::sleep(wait) => {
                    if *now.borrow() <= at {
                        return;
                    }
                }
                changed = now.changed() => {
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
        ((*self.now.borrow() - self.started).num_seconds() + 30) / 60
    }
}
