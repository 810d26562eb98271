//! Workers: claim runs from the PostgreSQL queue, execute them, and recover runs whose worker
//! died.
//!
//! A run is claimed with `FOR UPDATE SKIP LOCKED` under an advisory lock that makes the
//! concurrency caps exact, and held under a lease the worker renews by heartbeat. Any process's
//! reaper ends a run whose lease expired with a clear event, so a run never stays `processing`.

pub mod claim;
pub mod context;
pub mod error;
pub mod inputs;
pub mod pipeline;
pub mod reaper;
pub mod run;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::db::DbPool;
use crate::events::hub::{Hub, Signal};
use crate::sandboxes::Backend;

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
    /// The process's sandbox backend.
    pub sandbox: Backend,
}

impl WorkerContext {
    /// What the dev server of a kept-alive task needs (see [`crate::preview`]).
    pub fn preview_deps(&self) -> crate::preview::Deps {
        crate::preview::Deps {
            pool: self.pool.clone(),
            sandbox: self.sandbox.clone(),
            settings: self.settings.clone(),
        }
    }

    /// A context for workers, after proving that sandboxes work here (a broken install fails at
    /// start with a clear message, never later or silently without isolation) and putting
    /// configured custom agent binaries into the tool cache.
    pub async fn new(
        settings: Arc<Settings>,
        pool: DbPool,
        hub: Hub,
        secrets: SecretBox,
        sandbox: Backend,
    ) -> anyhow::Result<Self> {
        crate::sandboxes::check(&settings, &*sandbox).await?;
        let overrides = settings.tools_dir().join(pipeline::OVERRIDES);
        std::fs::create_dir_all(&overrides)?;
        for (agent, path) in &settings.agent_binaries {
            std::fs::copy(path, overrides.join(agent))
                .map_err(|e| anyhow::anyhow!("copying agent binary {}: {e}", path.display()))?;
        }
        Ok(Self { pool, hub, settings, secrets, sandbox })
    }
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

/// How often an idle worker looks at the queue without being told to.
pub const IDLE_POLL: Duration = Duration::from_secs(30);

async fn worker_loop(ctx: WorkerContext, worker_id: String, mut shutdown: watch::Receiver<bool>) {
    let mut signals = ctx.hub.subscribe();
    tracing::info!(%worker_id, "worker started");
    while !*shutdown.borrow() {
        match claim::next(&ctx, &worker_id).await {
            Ok(Some(job)) => run::execute(&ctx, &worker_id, job, shutdown.clone()).await,
            Ok(None) => {
                // Idle: wake on a new run or a finished one (a cap may have freed), both
                // notified, or when the hub reconnected and may have missed one. The slow poll
                // only backs that up, so an idle server sends the database almost nothing.
                let wait = async {
                    loop {
                        match signals.recv().await {
                            Ok(Signal::RunPending | Signal::Resync) => break,
                            Ok(
                                Signal::Events { .. }
                                | Signal::UserEvents { .. }
                                | Signal::Stop(_)
                                | Signal::Auth(_)
                                | Signal::Task { .. },
                            ) => continue,
                            Err(_) => break,
                        }
                    }
                };
                tokio::select! {
                    _ = wait => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
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
