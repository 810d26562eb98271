//! Workers: claim runs from the PostgreSQL queue, execute them, and recover runs whose worker
//! died.
//!
//! A run is claimed with `FOR UPDATE SKIP LOCKED` under an advisory lock that makes the
//! concurrency caps exact, and held under a lease the worker renews by heartbeat. Any process's
//! reaper ends a run whose lease expired with a clear event, so a run never stays `processing`.

pub mod claim;
pub mod context;
pub mod executor;
pub mod pipeline;
pub mod reaper;
pub mod repo;
pub mod run;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::db::DbPool;
use crate::events::hub::{Hub, Signal};

pub use executor::Executor;

/// What workers share.
#[derive(Clone)]
pub struct WorkerContext {
    /// Database pool.
    pub pool: DbPool,
    /// Notifications.
    pub hub: Hub,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Opens users' sealed keys.
    pub secrets: SecretBox,
    /// Runs the pipeline of a claimed run.
    pub executor: Arc<dyn Executor>,
}

/// Starts `count` workers and one reaper; they stop when `shutdown` turns true.
pub fn spawn(
    ctx: WorkerContext,
    count: usize,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let process = format!("{}-{}", hostname(), std::process::id());
    let mut handles: Vec<_> = (0..count)
        .map(|i| {
            let id = format!("{process}-{i}");
            tokio::spawn(worker_loop(ctx.clone(), id, shutdown.clone()))
        })
        .collect();
    if count > 0 {
        handles.push(tokio::spawn(reaper::reaper_loop(ctx, shutdown)));
    }
    handles
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into())
}

async fn worker_loop(ctx: WorkerContext, worker_id: String, mut shutdown: watch::Receiver<bool>) {
    let mut signals = ctx.hub.subscribe();
    tracing::info!(%worker_id, "worker started");
    while !*shutdown.borrow() {
        match claim::next(&ctx, &worker_id).await {
            Ok(Some(job)) => run::execute(&ctx, &worker_id, job, shutdown.clone()).await,
            Ok(None) => {
                // Idle: wake on a new run, a finished run (a cap may have freed), or a poll tick.
                let wait = async {
                    loop {
                        match signals.recv().await {
                            Ok(Signal::RunPending | Signal::Resync) => break,
                            Ok(Signal::Events { .. } | Signal::Stop(_)) => continue,
                            Err(_) => break,
                        }
                    }
                };
                tokio::select! {
                    _ = wait => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                tracing::warn!(%worker_id, error = %e, "claiming a run failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    tracing::info!(%worker_id, "worker stopped");
}

/// Collects the known secret values of the task's owner (their keys, the GitHub token and their
/// connectors' secrets) so events are redacted by exact value.
pub async fn executor_secrets(
    ctx: &WorkerContext,
    job: &claim::Job,
) -> crate::events::redact::Redactor {
    use secrecy::ExposeSecret;
    let mut values = Vec::new();
    if let Ok(mut conn) = ctx.pool.get().await {
        if let Ok(keys) = crate::keys::model::list(&mut conn, job.task.user_id).await {
            values.extend(
                keys.iter()
                    .filter_map(|k| ctx.secrets.open(&k.value_enc).ok())
                    .map(|s| s.expose_secret().to_owned()),
            );
        }
        if let Ok(Some(identity)) =
            crate::accounts::model::identity(&mut conn, job.task.user_id, "github").await
        {
            if let Some(token) = identity.access_token_enc.and_then(|t| ctx.secrets.open(&t).ok()) {
                values.push(token.expose_secret().to_owned());
            }
        }
        values.extend(
            crate::connectors::secret_values(&mut conn, &ctx.secrets, job.task.user_id).await,
        );
    }
    crate::events::redact::Redactor::new(values)
}
