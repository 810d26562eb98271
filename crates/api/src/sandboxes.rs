//! Kept-alive sandboxes outside a run: garbage collection after expiry, and removal when their
//! task is deleted or its pull request merged. Each removal is recorded as an event of the task.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::Sandbox;
use shared::events::{EventBody, LogLevel};
use uuid::Uuid;

use crate::config::Settings;
use crate::db::schema::tasks;
use crate::db::DbPool;
use crate::events::store;

fn backend(settings: &Settings) -> anyhow::Result<sandbox::LocalSandbox> {
    settings.sandbox_backend()
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
pub async fn collect_expired(settings: &Settings, pool: &DbPool) -> anyhow::Result<usize> {
    let reclaimed = backend(settings)?.gc(chrono::Utc::now()).await?;
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

/// Destroys a task's kept-alive sandbox, saying why in the task's events.
pub async fn destroy(
    settings: &Settings,
    pool: &DbPool,
    sandbox_id: &str,
    why: &str,
) -> anyhow::Result<()> {
    let backend = backend(settings)?;
    match backend.open(sandbox_id).await {
        Ok(handle) => backend.destroy(&handle).await?,
        Err(sandbox::SandboxError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    forget(pool, sandbox_id, format!("Sandbox {sandbox_id} removed: {why}")).await
}
