//! Recovery of runs whose worker stopped heartbeating (killed, crashed, partitioned).
//!
//! The run is ended as `error` with an event saying why; retrying automatically is not safe in
//! general, because the agent may already have pushed or changed things. The user can send a
//! follow-up to try again.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use shared::tasks::TaskStatus;
use tokio::sync::watch;
use uuid::Uuid;

use super::WorkerContext;
use crate::db::enums::Status;
use crate::db::schema::runs;
use crate::tasks::model as tasks;

/// The message recorded on a recovered run.
pub const LOST_WORKER: &str =
    "The worker running this task stopped responding (its lease expired), so the run was ended. Send a follow-up to try again.";

/// Ends every expired run; returns the task ids it ended.
pub async fn recover_expired(ctx: &WorkerContext) -> anyhow::Result<Vec<Uuid>> {
    let mut conn = ctx.pool.get().await?;
    // One cheap statement when nothing expired (the usual case), instead of a transaction.
    let any_expired: bool = diesel::select(diesel::dsl::exists(
        runs::table
            .filter(runs::status.eq(Status(TaskStatus::Processing)))
            .filter(runs::lease_expires_at.lt(diesel::dsl::now)),
    ))
    .get_result(&mut conn)
    .await?;
    if !any_expired {
        return Ok(Vec::new());
    }
    let ended = conn
        .transaction(|conn| {
            Box::pin(async move {
                let expired: Vec<(Uuid, Uuid)> = diesel::update(
                    runs::table
                        .filter(runs::status.eq(Status(TaskStatus::Processing)))
                        .filter(runs::lease_expires_at.lt(diesel::dsl::now)),
                )
                .set((
                    runs::status.eq(Status(TaskStatus::Error)),
                    runs::error.eq(LOST_WORKER),
                    runs::finished_at.eq(diesel::dsl::now),
                ))
                .returning((runs::id, runs::task_id))
                .get_results(conn)
                .await?;
                for (_, task_id) in &expired {
                    tasks::finish_task(
                        conn,
                        *task_id,
                        shared::tasks::TaskStatus::Error,
                        Some(LOST_WORKER),
                    )
                    .await?;
                }
                Ok::<_, diesel::result::Error>(
                    expired.into_iter().map(|(_, t)| t).collect::<Vec<_>>(),
                )
            })
        })
        .await?;
    for task_id in &ended {
        tracing::warn!(%task_id, "recovered a run whose worker stopped responding");
    }
    Ok(ended)
}

/// Runs [`recover_expired`] and the sandbox garbage collection every third of a lease until
/// shutdown.
pub async fn reaper_loop(ctx: WorkerContext, mut shutdown: watch::Receiver<bool>) {
    let period = Duration::from_millis((ctx.settings.tasks.lease_secs * 1000 / 3).max(200));
    while !*shutdown.borrow() {
        if let Err(e) = recover_expired(&ctx).await {
            tracing::warn!(error = %e, "recovering expired runs failed");
        }
        if let Err(e) = crate::sandboxes::collect_expired(&*ctx.sandbox, &ctx.pool).await {
            tracing::warn!(error = %e, "collecting expired sandboxes failed");
        }
        let lead = Duration::from_secs(ctx.settings.tasks.deadline_warning_secs);
        if let Err(e) =
            crate::sandboxes::warnings::warn_expiring(&*ctx.sandbox, &ctx.pool, lead).await
        {
            tracing::warn!(error = %e, "warning of expiring sandboxes failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => {}
        }
    }
}
