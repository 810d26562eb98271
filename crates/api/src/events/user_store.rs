//! Reading a user's own event log (`user_events`). Rows are written by the database: the
//! `tasks` trigger of migration `2026-12-03-000400_user_events` appends one per change a task
//! list shows, under a per-user seq, and notifies `drydock_user_events` at commit.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::user_events::{UserEvent, UserEventBody};
use uuid::Uuid;

use crate::db::schema::{user_event_seqs, user_events};

/// The seq of the user's last committed event (0 before their first).
pub async fn last_seq(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<i64> {
    Ok(user_event_seqs::table
        .find(user_id)
        .select(user_event_seqs::last_seq)
        .first(conn)
        .await
        .optional()?
        .unwrap_or(0))
}

type Row = (i64, DateTime<Utc>, String, serde_json::Value);

/// The user's events with `seq > after`, oldest first, at most `limit`. A row this build cannot
/// read (a kind from a newer one) is skipped, which leaves a gap in seqs a client never relies on.
pub async fn after(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<UserEvent>> {
    let rows: Vec<Row> = user_events::table
        .filter(user_events::user_id.eq(user_id))
        .filter(user_events::seq.gt(after))
        .order(user_events::seq.asc())
        .limit(limit)
        .select((user_events::seq, user_events::at, user_events::kind, user_events::payload))
        .load(conn)
        .await?;
    Ok(rows.into_iter().filter_map(to_event).collect())
}

fn to_event((seq, at, kind, payload): Row) -> Option<UserEvent> {
    let body: UserEventBody =
        serde_json::from_value(serde_json::json!({"kind": kind, "payload": payload}))
            .map_err(|e| tracing::warn!(seq, kind = %kind, error = %e, "unreadable user event"))
            .ok()?;
    Some(UserEvent { seq, at, body })
}

/// How long `user_events` rows are kept. The stream is for live views that resume after a
/// dropped connection or a sleeping laptop; a client away longer reads its list afresh. The
/// seqs stay consecutive after pruning: `user_event_seqs` keeps each user's last one.
pub const KEPT_FOR: chrono::Duration = chrono::Duration::days(7);

/// Deletes the events recorded before `before` (index `user_events_at_idx`); returns how many.
pub async fn prune(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(user_events::table.filter(user_events::at.lt(before))).execute(conn).await
}
