//! The sandbox backend, built once per process, and what happens to kept-alive sandboxes outside
//! a run: garbage collection after expiry, and removal when their task is deleted or its pull
//! request merged. Each removal is recorded as an event of the task.
//!
//! Everything that touches sandboxes (the worker, the change readers, GitHub's merge) goes
//! through the one `Arc<dyn Sandbox>` held in `AppState` and `WorkerContext`; a second backend
//! or a test double is a change to [`build`] only.
//!
//! Live sandboxes (start, stop, extend, status, the list) are [`service`] with its
//! [`endpoints`]; [`warnings`] sends the one-minute warnings before deadlines.

mod builder;
pub mod endpoints;
pub mod model;
pub mod service;
pub mod warnings;

pub use builder::home_name;

use std::sync::Arc;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::Sandbox;
use shared::events::{EventBody, LogLevel};
use uuid::Uuid;

use crate::config::Settings;
use crate::db::schema::tasks;
use crate::db::DbPool;
use crate::events::store;

/// The shared handle on the configured backend.
pub type Backend = Arc<dyn Sandbox>;

/// Builds the configured backend. Cheap and side-effect free apart from creating its data
/// directory; processes that run sandboxes also call [`check`].
pub fn build(settings: &Settings) -> anyhow::Result<Backend> {
    let local = settings.local_sandbox()?;
    // Which limits really apply here, said once at start (an operator must not learn it from a
    // fork bomb); `check` adds the warnings for those that do not.
    for (what, how) in local.isolation_report() {
        if how.starts_with("NOT ENFORCED") {
            tracing::warn!(limit = what, "sandboxes: {what}: {how}");
        } else {
            tracing::info!(limit = what, network = ?settings.tasks.sandbox_network, "sandboxes: {what}: {how}");
        }
    }
    Ok(Arc::new(local))
}

/// Proves the backend works here and says which limits sandboxes really get, so an operator
/// never learns it from a fork bomb. A delegated cgroup directory that cannot be used is an
/// error: it was asked for.
pub async fn check(settings: &Settings, backend: &dyn Sandbox) -> anyhow::Result<()> {
    backend.check().await?;
    let caps = backend.capabilities();
    let configured = settings.tasks.sandbox_cgroups.trim();
    if !matches!(configured, "auto" | "off") && !caps.memory_limit {
        anyhow::bail!(
            "tasks.sandbox_cgroups = {configured:?} is not usable: Drydock must be able to create \
             it (or use it) and enable +pids +memory in its cgroup.subtree_control, which needs \
             those controllers enabled in its parent and no processes in it"
        );
    }
    if caps.process_limit {
        tracing::info!(
            backend = backend.name(),
            max_processes = settings.tasks.sandbox_max_processes,
            memory_limit = caps.memory_limit,
            "sandboxes get a process limit"
        );
    } else {
        tracing::warn!(
            "sandboxes have NO process limit: Drydock runs as root without a usable pids cgroup; \
             set tasks.sandbox_cgroups to a delegated cgroup v2 directory (see docs/deploy.md)"
        );
    }
    if settings.tasks.sandbox_memory_mb > 0 && !caps.memory_limit {
        tracing::warn!(
            "tasks.sandbox_memory_mb is set but no memory cgroup is usable: not enforced"
        );
    }
    Ok(())
}

async fn forget(pool: &DbPool, sandbox_id: &str, message: String) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    let owners: Vec<Uuid> = diesel::update(tasks::table.filter(tasks::sandbox_id.eq(sandbox_id)))
        .set(tasks::sandbox_id.eq(None::<String>))
        .returning(tasks::id)
        .get_results(&mut conn)
        .await?;
    for task_id in owners {
        store::append(
            &mut conn,
            task_id,
            &[EventBody::Log { level: LogLevel::Info, message: message.clone() }],
        )
        .await?;
    }
    Ok(())
}

/// Destroys every expired sandbox and records a `log` event on its task.
pub async fn collect_expired(backend: &dyn Sandbox, pool: &DbPool) -> anyhow::Result<usize> {
    let reclaimed = backend.gc(chrono::Utc::now()).await?;
    for r in &reclaimed {
        tracing::info!(sandbox = %r.id, "kept-alive sandbox expired and was removed");
        forget(
            pool,
            &r.id,
            format!("Sandbox {} expired at {} and was removed", r.id, r.expired_at.to_rfc3339()),
        )
        .await?;
    }
    Ok(reclaimed.len())
}

/// Removes what a deleted task keeps between sandboxes (its parked HOME). A failure is logged:
/// the files are only disk, never reachable by another task.
pub async fn forget_task(backend: &dyn Sandbox, task_id: Uuid) {
    if let Err(e) = backend.drop_home(&home_name(task_id)).await {
        tracing::warn!(%task_id, error = %e, "removing a deleted task's parked HOME failed");
    }
}

/// Destroys a task's kept-alive sandbox, saying why in the task's events. A sandbox that is
/// already gone is not an error.
pub async fn destroy(
    backend: &dyn Sandbox,
    pool: &DbPool,
    sandbox_id: &str,
    why: &str,
) -> anyhow::Result<()> {
    match backend.open(sandbox_id).await {
        Ok(handle) => backend.destroy(&handle).await?,
        Err(sandbox::SandboxError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    forget(pool, sandbox_id, format!("Sandbox {sandbox_id} removed: {why}")).await
}
