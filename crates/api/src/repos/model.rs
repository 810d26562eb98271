//! Queries over one user's live tasks grouped by repository (index `tasks_user_repo_idx`).

use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::repos::{RepoTasks, TaskLink};
use uuid::Uuid;

use crate::db::enums::Status;
use crate::db::schema::{task_pull_requests, tasks};

/// The user's repositories after `after` (by URL, ascending), at most `limit`, with counts.
pub async fn counts(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<RepoTasks>> {
    let rows: Vec<(String, i64, Option<DateTime<Utc>>)> = tasks::table
        .filter(tasks::user_id.eq(user_id))
        .filter(tasks::deleted_at.is_null())
        // Every repository URL is longer than the empty string.
        .filter(tasks::repo_url.gt(after.unwrap_or_default()))
        .group_by(tasks::repo_url)
        .select((tasks::repo_url, count_star(), diesel::dsl::max(tasks::created_at)))
        .order(tasks::repo_url.asc())
        .limit(limit)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(repo_url, task_count, last)| {
            Some(RepoTasks { repo_url, task_count, last_task_at: last? })
        })
        .collect())
}

/// A task of the repository with the items it is linked to.
#[derive(Debug, Queryable)]
pub struct LinkedTask {
    pub id: Uuid,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub source_url: Option<String>,
    pub pr_url: Option<String>,
}

impl LinkedTask {
    /// One link per item: the item it was started from, and its pull request.
    pub fn links(&self) -> impl Iterator<Item = TaskLink> + '_ {
        let urls = [self.source_url.as_ref(), self.pr_url.as_ref()];
        urls.into_iter().flatten().map(|url| TaskLink {
            url: url.clone(),
            task_id: self.id,
            status: self.status.0,
        })
    }
}

/// The user's tasks on `repo_url` that are linked to a forge item, newest first, before the
/// row `before` (the cursor), at most `limit`.
pub async fn linked(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    repo_url: &str,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<LinkedTask>> {
    let mut q = tasks::table
        .left_join(task_pull_requests::table)
        .filter(tasks::user_id.eq(user_id))
        .filter(tasks::repo_url.eq(repo_url))
        .filter(tasks::deleted_at.is_null())
        .filter(tasks::source_url.is_not_null().or(task_pull_requests::url.is_not_null()))
        .select((
            tasks::id,
            tasks::status,
            tasks::created_at,
            tasks::source_url,
            task_pull_requests::url.nullable(),
        ))
        .order((tasks::created_at.desc(), tasks::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = before {
        q = q.filter(tasks::created_at.lt(at).or(tasks::created_at.eq(at).and(tasks::id.lt(id))));
    }
    q.load(conn).await
}

/// The user's live tasks linked to the pull or merge request at `url`.
pub async fn tasks_on_pull(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    url: &str,
) -> QueryResult<Vec<Uuid>> {
    tasks::table
        .inner_join(task_pull_requests::table)
        .filter(tasks::user_id.eq(user_id))
        .filter(tasks::deleted_at.is_null())
        .filter(task_pull_requests::url.eq(url))
        .select(tasks::id)
        .load(conn)
        .await
}
