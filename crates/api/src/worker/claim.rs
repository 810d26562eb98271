//! Claiming the next runnable run.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Integer, Text};
use diesel_async::{AsyncConnection, RunQueryDsl};
use shared::tasks::{TaskStage, TaskStatus};
use uuid::Uuid;

use super::WorkerContext;
use crate::db::enums::{Stage, Status};
use crate::tasks::model::{self as tasks, TaskRow};

/// A claimed run and its task.
#[derive(Debug, Clone)]
pub struct Job {
    /// Run id.
    pub run_id: Uuid,
    /// 1 for the first prompt, then 2, 3, ... for follow-ups.
    pub number: i32,
    /// This run's prompt.
    pub prompt: String,
    /// The task as it was when claimed.
    pub task: TaskRow,
}

/// The claim statement, in the pieces between its four parameters (worker id, lease seconds,
/// global cap, per-user cap). The statuses are inlined from the enum rather than bound, so the
/// planner can use the partial indexes on `runs (…) WHERE status = 'pending'/'processing'`.
static CLAIM: std::sync::LazyLock<[String; 5]> = std::sync::LazyLock::new(|| {
    let (processing, pending) = (TaskStatus::Processing.as_str(), TaskStatus::Pending.as_str());
    [
        format!("UPDATE runs SET status = '{processing}', worker_id = "),
        ", attempts = attempts + 1, started_at = now(), \
         lease_expires_at = now() + make_interval(secs => "
            .to_owned(),
        format!(
            ") WHERE id = ( \
               SELECT r.id FROM runs r JOIN tasks t ON t.id = r.task_id \
               WHERE r.status = '{pending}' AND t.deleted_at IS NULL \
                 AND (SELECT count(*) FROM runs p WHERE p.status = '{processing}') < "
        ),
        format!(
            " AND (SELECT count(*) FROM runs p WHERE p.status = '{processing}' AND p.user_id = r.user_id) < "
        ),
        " ORDER BY r.created_at, r.id \
           FOR UPDATE OF r SKIP LOCKED LIMIT 1) \
         RETURNING id, task_id, number, prompt"
            .to_owned(),
    ]
});

/// The claim as a query of its own type, so that diesel prepares it once per connection and
/// an idle worker's poll is a bind and an execute, not a parse and a plan each time (a
/// `sql_query` is never cached).
struct ClaimQuery<'a> {
    worker: &'a str,
    lease: i64,
    global: i64,
    per_user: i64,
}

impl QueryId for ClaimQuery<'_> {
    type QueryId = ClaimQuery<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for ClaimQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let [a, b, c, d, e] = &*CLAIM;
        out.push_sql(a);
        out.push_bind_param::<Text, _>(self.worker)?;
        out.push_sql(b);
        out.push_bind_param::<BigInt, _>(&self.lease)?;
        out.push_sql(c);
        out.push_bind_param::<BigInt, _>(&self.global)?;
        out.push_sql(d);
        out.push_bind_param::<BigInt, _>(&self.per_user)?;
        out.push_sql(e);
        Ok(())
    }
}

impl Query for ClaimQuery<'_> {
    type SqlType = (diesel::sql_types::Uuid, diesel::sql_types::Uuid, Integer, Text);
}

/// Serialises claims (see [`next`]); prepared once per connection like the claim.
struct ClaimLock;

impl QueryId for ClaimLock {
    type QueryId = ClaimLock;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for ClaimLock {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT pg_advisory_xact_lock(7272001)");
        Ok(())
    }
}

/// Claims the oldest pending run whose user is under the per-user cap, when the global cap
/// allows; `None` when there is nothing to do.
pub async fn next(ctx: &WorkerContext, worker_id: &str) -> anyhow::Result<Option<Job>> {
    let cfg = &ctx.settings.tasks;
    let lease = cfg.lease_secs as i64;
    let per_user = cfg.per_user_concurrency as i64;
    let global = cfg.global_concurrency as i64;
    let worker = worker_id.to_owned();
    let mut conn = ctx.pool.get().await?;
    let claimed: Option<(Uuid, Uuid, i32, String)> = conn
        .transaction(|conn| {
            Box::pin(async move {
                // Claims are serialised so that two workers cannot both take the last slot of a
                // cap; SKIP LOCKED still keeps them off rows another transaction holds.
                ClaimLock.execute(conn).await?;
                let query = ClaimQuery { worker: &worker, lease, global, per_user };
                let claimed: Option<(Uuid, Uuid, i32, String)> =
                    query.get_result(conn).await.optional()?;
                if let Some((_, task_id, _, _)) = &claimed {
                    use crate::db::schema::tasks as t;
                    diesel::update(
                        t::table
                            .filter(t::id.eq(*task_id))
                            .filter(t::status.eq(Status(TaskStatus::Pending))),
                    )
                    .set((
                        t::status.eq(Status(TaskStatus::Processing)),
                        t::stage.eq(Stage(TaskStage::Provisioning)),
                        t::started_at.eq(diesel::dsl::now),
                        t::updated_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)
                    .await?;
                }
                Ok::<_, diesel::result::Error>(claimed)
            })
        })
        .await?;
    let Some((run_id, task_id, number, prompt)) = claimed else { return Ok(None) };
    let task = tasks::get(&mut conn, task_id).await?;
    Ok(Some(Job { run_id, number, prompt, task }))
}

/// Renews the lease; says whether the run is still this worker's, when a stop was asked, and the
/// agent's deadline (read in the same statement, so following an extend costs nothing more).
pub async fn heartbeat(
    ctx: &WorkerContext,
    worker_id: &str,
    run_id: Uuid,
    task_id: Uuid,
) -> anyhow::Result<Heartbeat> {
    use crate::db::schema::{runs, tasks as t};
    let mut conn = ctx.pool.get().await?;
    let lease = chrono::Duration::seconds(ctx.settings.tasks.lease_secs as i64);
    let renewed: Option<Option<DateTime<Utc>>> = diesel::update(
        runs::table
            .filter(runs::id.eq(run_id))
            .filter(runs::worker_id.eq(worker_id))
            .filter(runs::status.eq(Status(TaskStatus::Processing))),
    )
    .set(runs::lease_expires_at.eq(Utc::now() + lease))
    .returning(runs::agent_deadline_at)
    .get_result(&mut conn)
    .await
    .optional()?;
    let stop: Option<DateTime<Utc>> =
        t::table.find(task_id).select(t::stop_requested_at).first(&mut conn).await?;
    Ok(Heartbeat { ours: renewed.is_some(), stop, agent_deadline: renewed.flatten() })
}

/// What a heartbeat learnt about its run.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    /// The lease is still this worker's.
    pub ours: bool,
    /// When a stop was requested, if one was.
    pub stop: Option<DateTime<Utc>>,
    /// The agent's deadline as it stands (moved by an extend), once the agent started.
    pub agent_deadline: Option<DateTime<Utc>>,
}
