//! Executing one claimed run: heartbeat, stop handling, and the final, conditional write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use shared::tasks::{MessageRole, TaskStatus};
use tokio::sync::watch;

use super::claim::{self, Job};
use super::context::RunContext;
use super::inputs::RunInputs;
use super::pipeline::{self, provision, Finished, RunOutcome};
use super::WorkerContext;
use crate::db::enums::Status;
use crate::db::schema::{runs, tasks as task_columns};
use crate::events::hub::Signal;
use crate::events::redact::Redactor;
use crate::events::writer::EventSender;
use crate::tasks::model as tasks;

/// Why a run cut short by the process shutting down ends as `error`.
pub const SHUT_DOWN: &str =
    "Drydock was shut down while this run was in progress; send a follow-up to continue.";

/// Runs `job` to the end and records its outcome. When `shutdown` turns true the agent is
/// stopped like on a stop request, and the run ends as `error` saying so: a restart must not
/// wait for every running agent to finish, nor leave its runs for the reaper.
pub async fn execute(
    ctx: &WorkerContext,
    worker_id: &str,
    job: Job,
    shutdown: watch::Receiver<bool>,
) {
    let task_id = job.task.id;
    let run_id = job.run_id;
    tracing::info!(%task_id, %run_id, %worker_id, "run started");
    // Loaded before anything runs: without the full list of secrets, nothing may print.
    let inputs = RunInputs::load(ctx, &job).await;
    let redactor =
        inputs.as_ref().map(RunInputs::redactor).unwrap_or_else(|_| Redactor::new(Vec::new()));
    let events = EventSender::spawn(ctx.pool.clone(), task_id, redactor);
    events.send(shared::events::EventBody::Status { status: TaskStatus::Processing, reason: None });
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let (deadline_tx, deadline_rx) = watch::channel(None);
    let stop_requested = Arc::new(AtomicBool::new(false));

    // Stop requests arrive by notification (fast) and by heartbeat (fallback); a lost lease
    // (another process recovered the run) also stops the work here.
    let mut signals = ctx.hub.subscribe();
    let watcher = {
        let ctx = ctx.clone();
        let worker_id = worker_id.to_owned();
        let cancel_tx = cancel_tx.clone();
        let stop_requested = stop_requested.clone();
        tokio::spawn(async move {
            let mut beat =
                tokio::time::interval(Duration::from_millis(ctx.settings.tasks.heartbeat_ms));
            loop {
                tokio::select! {
                    signal = signals.recv() => match signal {
                        Ok(Signal::Stop(id)) if id == task_id => {
                            AtomicBool::store(&stop_requested, true, Ordering::SeqCst);
                            let _ = cancel_tx.send(true);
                        }
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => {}
                    },
                    _ = beat.tick() => match claim::heartbeat(&ctx, &worker_id, run_id, task_id).await {
                        Ok(claim::Heartbeat { ours, stop, agent_deadline }) => {
                            if stop.is_some() {
                                AtomicBool::store(&stop_requested, true, Ordering::SeqCst);
                            }
                            if !ours || stop.is_some() {
                                let _ = cancel_tx.send(true);
                            }
                            deadline_tx.send_if_modified(|d| std::mem::replace(d, agent_deadline) != agent_deadline);
                        }
                        Err(e) => tracing::warn!(%task_id, error = %e, "heartbeat failed"),
                    },
                }
            }
        })
    };

    let on_shutdown = {
        let cancel_tx = cancel_tx.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            while !*shutdown.borrow_and_update() {
                if shutdown.changed().await.is_err() {
                    return;
                }
            }
            let _ = cancel_tx.send(true);
        })
    };

    let run_ctx =
        RunContext::new(ctx.pool.clone(), task_id, run_id, events.clone(), cancel_rx, deadline_rx);
    let Finished { outcome, sandbox } = match &inputs {
        Ok(inputs) => pipeline::run(ctx, &job, &run_ctx, inputs).await,
        Err(_) => Finished { outcome: RunOutcome::Stopped, sandbox: None },
    };
    let outcome = match (inputs, outcome) {
        (Err(e), _) => RunOutcome::Failed(e.into_message(task_id, run_id)),
        (Ok(_), outcome @ RunOutcome::Completed { .. }) => outcome,
        _ if AtomicBool::load(&stop_requested, Ordering::SeqCst) => RunOutcome::Stopped,
        _ if *shutdown.borrow() && *cancel_tx.borrow() => RunOutcome::Failed(SHUT_DOWN.to_owned()),
        _ if *cancel_tx.borrow() => RunOutcome::Stopped,
        (Ok(_), other) => other,
    };
    // The sandbox is kept for follow-ups only after a completed run of a task that asked for
    // it. The outcome is recorded before a discarded sandbox is destroyed, so a stop is
    // reported as soon as the agent's processes are gone.
    let kept = match &sandbox {
        Some(handle) if job.task.keep_alive && matches!(outcome, RunOutcome::Completed { .. }) => {
            let until = provision::keep(ctx, handle).await;
            run_ctx.log(format!("Sandbox kept alive until {}", until.to_rfc3339()));
            Some(handle.id.clone())
        }
        _ => None,
    };
    events.flush().await;
    watcher.abort();
    on_shutdown.abort();
    if let Err(e) = finish(ctx, worker_id, &job, &outcome, kept.as_deref()).await {
        tracing::error!(%task_id, error = %e, "recording the outcome failed; the reaper will end the run");
    }
    if let (Some(handle), None) = (&sandbox, &kept) {
        provision::discard(ctx, handle).await;
    }
    if let Some(sandbox_id) = &kept {
        crate::preview::autostart(&ctx.preview_deps(), task_id, sandbox_id).await;
    }
    tracing::info!(%task_id, %run_id, ?outcome, "run finished");
}

/// Ends the run and its task, if this worker still holds it, and records which sandbox the
/// task keeps (`None`: it keeps none).
async fn finish(
    ctx: &WorkerContext,
    worker_id: &str,
    job: &Job,
    outcome: &RunOutcome,
    kept_sandbox: Option<&str>,
) -> anyhow::Result<()> {
    let (status, reason, message) = match outcome {
        RunOutcome::Completed { agent_message } => {
            (TaskStatus::Completed, None, agent_message.clone())
        }
        RunOutcome::Failed(reason) => (TaskStatus::Error, Some(reason.clone()), None),
        RunOutcome::Stopped => (TaskStatus::Stopped, Some("Stopped on request.".to_owned()), None),
    };
    let task_id = job.task.id;
    let run_id = job.run_id;
    let worker_id = worker_id.to_owned();
    let kept_sandbox = kept_sandbox.map(str::to_owned);
    let mut conn = ctx.pool.get().await?;
    conn.transaction(|conn| {
        Box::pin(async move {
            // Only the worker that holds the run may end it; a recovered run stays as the reaper
            // left it.
            let n = diesel::update(
                runs::table
                    .filter(runs::id.eq(run_id))
                    .filter(runs::worker_id.eq(&worker_id))
                    .filter(runs::status.eq(Status(TaskStatus::Processing))),
            )
            .set((
                runs::status.eq(Status(status)),
                runs::error.eq(&reason),
                runs::finished_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
            if n == 0 {
                return Ok(());
            }
            if let Some(text) = message.as_deref().filter(|t| !t.trim().is_empty()) {
                tasks::insert_message(conn, task_id, Some(run_id), MessageRole::Agent, text)
                    .await?;
            }
            diesel::update(task_columns::table.find(task_id))
                .set(task_columns::sandbox_id.eq(&kept_sandbox))
                .execute(conn)
                .await?;
            tasks::finish_task(conn, task_id, status, reason.as_deref()).await?;
            Ok::<_, diesel::result::Error>(())
        })
    })
    .await?;
    Ok(())
}
