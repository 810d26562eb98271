//! Appending to and reading the event log.
//!
//! Appending takes the next sequence numbers from `tasks.last_seq` under that row's lock, inserts
//! the batch in one statement and notifies listeners, all in one transaction: readers
//! see whole batches, in order, with no gaps, and the notification arrives after the commit.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use shared::events::{EventBody, TaskEvent};
use uuid::Uuid;

use crate::db::schema::{task_events, tasks};

/// Channel carrying `<task id>:<last seq>` after each committed batch.
pub const EVENTS_CHANNEL: &str = "drydock_events";

/// An event encoded for storage: its kind and its payload as JSON text, serialised once.
#[derive(Debug, Clone)]
pub struct Encoded {
    kind: &'static str,
    payload: String,
}

impl Encoded {
    /// Encodes an event (already redacted by the caller where that matters).
    pub fn new(body: &EventBody) -> Self {
        Self { kind: body.kind(), payload: payload_json(body) }
    }
}

/// The payload of an event as JSON text. The adjacently tagged enum always serialises as
/// `{"kind":"<kind>","payload":<payload>}`, so the payload is cut out of one serialisation
/// rather than built through an intermediate `serde_json::Value`.
fn payload_json(body: &EventBody) -> String {
    let mut whole = serde_json::to_string(body).unwrap_or_default();
    let prefix = format!(r#"{{"kind":"{}","payload":"#, body.kind());
    if whole.starts_with(&prefix) && whole.ends_with('}') {
        whole.truncate(whole.len() - 1);
        whole.drain(..prefix.len());
        return whole;
    }
    serde_json::to_value(body)
        .ok()
        .and_then(|mut v| v.get_mut("payload").map(serde_json::Value::take))
        .unwrap_or(serde_json::Value::Null)
        .to_string()
}

/// Appends events in one transaction and returns the last sequence number.
pub async fn append(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    events: &[EventBody],
) -> QueryResult<i64> {
    let encoded: Vec<Encoded> = events.iter().map(Encoded::new).collect();
    append_encoded(conn, task_id, &encoded).await
}

/// Appends already encoded events in one transaction and returns the last sequence number.
pub async fn append_encoded(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    events: &[Encoded],
) -> QueryResult<i64> {
    if events.is_empty() {
        return Ok(0);
    }
    conn.transaction(|conn| Box::pin(insert(conn, task_id, events))).await
}

/// Appends inside the caller's transaction (so a task and its first events commit together).
pub async fn append_in_tx(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    events: &[EventBody],
) -> QueryResult<i64> {
    let encoded: Vec<Encoded> = events.iter().map(Encoded::new).collect();
    insert(conn, task_id, &encoded).await
}

async fn insert(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    events: &[Encoded],
) -> QueryResult<i64> {
    use diesel::sql_types::{Array, BigInt, Text};
    let n = events.len() as i64;
    let last: i64 = diesel::update(tasks::table.find(task_id))
        .set(tasks::last_seq.eq(tasks::last_seq + n))
        .returning(tasks::last_seq)
        .get_result(conn)
        .await?;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind).collect();
    let payloads: Vec<&str> = events.iter().map(|e| e.payload.as_str()).collect();
    // Two array parameters rather than binds per row: one small statement whatever the batch
    // size, and no limit of 65,535 parameters to split around.
    diesel::sql_query(
        "INSERT INTO task_events (task_id, seq, kind, payload) \
         SELECT $1, $2 + t.ord - 1, t.kind, t.payload::jsonb \
         FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS t(kind, payload, ord)",
    )
    .bind::<diesel::sql_types::Uuid, _>(task_id)
    .bind::<BigInt, _>(last - n + 1)
    .bind::<Array<Text>, _>(&kinds)
    .bind::<Array<Text>, _>(&payloads)
    .execute(conn)
    .await?;
    diesel::sql_query(format!("SELECT pg_notify('{EVENTS_CHANNEL}', '{task_id}:{last}')"))
        .execute(conn)
        .await?;
    Ok(last)
}

/// The seq of the last committed event of a task (0 when it has none).
pub async fn last_seq(conn: &mut AsyncPgConnection, task_id: Uuid) -> QueryResult<i64> {
    tasks::table.find(task_id).select(tasks::last_seq).get_result(conn).await
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

#[cfg(test)]
mod tests {
    use shared::events::{LogLevel, Stream};
    use shared::tasks::TaskStatus;

    use super::*;

    #[test]
    fn payload_text_equals_the_serialised_payload() {
        let bodies = [
            EventBody::Log { level: LogLevel::Info, message: "a \"quoted\" } line".into() },
            EventBody::Status { status: TaskStatus::Stopped, reason: None },
            EventBody::Command { argv: vec!["git".into()], exit_code: Some(0), duration_ms: 3 },
            EventBody::Raw { stream: Stream::Stderr, line: "{\"kind\":\"x\"}".into() },
            EventBody::Usage { input_tokens: None, output_tokens: Some(2), cost_usd: Some(0.5) },
        ];
        for body in bodies {
            let encoded = Encoded::new(&body);
            let expected = serde_json::to_value(&body).unwrap()["payload"].clone();
            let actual: serde_json::Value = serde_json::from_str(&encoded.payload).unwrap();
            assert_eq!(actual, expected);
            assert_eq!(encoded.kind, body.kind());
        }
    }
}
