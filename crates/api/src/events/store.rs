//! Appending to and reading the event log.
//!
//! Appending takes the next sequence numbers from `tasks.last_seq` under that row's lock, inserts
//! the batch in one multi-row statement and notifies listeners, all in one transaction: readers
//! see whole batches, in order, with no gaps, and the notification arrives after the commit.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use shared::events::{EventBody, TaskEvent};
use uuid::Uuid;

use crate::db::schema::{task_events, tasks};

/// Channel carrying `<task id>:<last seq>` after each committed batch.
pub const EVENTS_CHANNEL: &str = "drydock_events";

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// What happened.
    pub body: EventBody,
}

impl From<EventBody> for NewEvent {
    fn from(body: EventBody) -> Self {
        Self { body }
    }
}

#[derive(Insertable)]
#[diesel(table_name = task_events)]
struct Row {
    task_id: Uuid,
    seq: i64,
    kind: String,
    payload: serde_json::Value,
}

fn split(body: &EventBody) -> (String, serde_json::Value) {
    let value = serde_json::to_value(body).unwrap_or(serde_json::Value::Null);
    (body.kind().to_owned(), value.get("payload").cloned().unwrap_or(serde_json::Value::Null))
}

/// Appends events in one transaction and returns the last sequence number.
pub async fn append(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    events: &[EventBody],
) -> QueryResult<i64> {
    if events.is_empty() {
        return Ok(0);
    }
    conn.transaction(|conn| Box::pin(append_in_tx(conn, task_id, events))).await
}

/// Appends inside the caller's transaction (so a task and its first events commit together).
pub async fn append_in_tx(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    events: &[EventBody],
) -> QueryResult<i64> {
    let n = events.len() as i64;
    let last: i64 = diesel::update(tasks::table.find(task_id))
        .set(tasks::last_seq.eq(tasks::last_seq + n))
        .returning(tasks::last_seq)
        .get_result(conn)
        .await?;
    let first = last - n + 1;
    let rows: Vec<Row> = events
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let (kind, payload) = split(body);
            Row { task_id, seq: first + i as i64, kind, payload }
        })
        .collect();
    // PostgreSQL caps bind parameters at 65535; 4 per row.
    for chunk in rows.chunks(10_000) {
        diesel::insert_into(task_events::table).values(chunk).execute(conn).await?;
    }
    diesel::sql_query(format!("SELECT pg_notify('{EVENTS_CHANNEL}', '{task_id}:{last}')"))
        .execute(conn)
        .await?;
    Ok(last)
}

type EventRow = (i64, DateTime<Utc>, String, serde_json::Value);

fn to_event((seq, at, kind, payload): EventRow) -> TaskEvent {
    let body = serde_json::from_value(serde_json::json!({"kind": kind, "payload": payload}))
        .unwrap_or_else(|_| EventBody::Log {
            level: shared::events::LogLevel::Warn,
            message: format!("unreadable {kind} event"),
        });
    TaskEvent { seq, at, body }
}

/// Events with `seq > after`, oldest first, at most `limit`.
pub async fn after(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<TaskEvent>> {
    let rows: Vec<EventRow> = task_events::table
        .filter(task_events::task_id.eq(task_id))
        .filter(task_events::seq.gt(after))
        .order(task_events::seq.asc())
        .limit(limit)
        .select((task_events::seq, task_events::at, task_events::kind, task_events::payload))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(to_event).collect())
}
