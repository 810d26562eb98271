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
    // Events belong to the task's latest run: a run and its first events commit together, and
    // one task's runs never overlap. The subquery is uncorrelated, so it runs once per batch.
    diesel::sql_query(
        "INSERT INTO task_events (task_id, seq, kind, payload, run) \
         SELECT $1, $2 + t.ord - 1, t.kind, t.payload::jsonb, \
                (SELECT max(number) FROM runs WHERE task_id = $1) \
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

type EventRow = (i64, DateTime<Utc>, Option<i32>, String, serde_json::Value);

fn to_event((seq, at, run, kind, payload): EventRow) -> TaskEvent {
    let body = serde_json::from_value(serde_json::json!({"kind": kind, "payload": payload}))
        .unwrap_or_else(|_| EventBody::Log {
            level: shared::events::LogLevel::Warn,
            message: format!("unreadable {kind} event"),
        });
    TaskEvent { seq, at, run, body }
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
        .select((
            task_events::seq,
            task_events::at,
            task_events::run,
            task_events::kind,
            task_events::payload,
        ))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(to_event).collect())
}

/// A page of events as the JSON of `Page<TaskEvent>`, built from the payloads' stored text
/// rather than decoded and encoded again.
#[derive(Debug)]
pub struct PageJson {
    /// `{"items":[…],"next_cursor":"…"}`.
    pub body: String,
    /// How many events it holds.
    pub len: i64,
}

/// The kinds this build writes; a stored event of another kind goes through [`to_event`], which
/// turns what it cannot read into a warning, as before.
const KNOWN_KINDS: [&str; 13] = [
    "status",
    "stage",
    "log",
    "command",
    "agent_message",
    "tool_call",
    "tool_result",
    "file_change",
    "usage",
    "session",
    "error",
    "network",
    "raw",
];

type TextRow = (i64, DateTime<Utc>, Option<i32>, String, String);

/// Events with `seq > after`, oldest first, at most `limit`, as a page whose `next_cursor` is
/// set when it is full. PostgreSQL renders each stored payload (`jsonb`) as text; the text is
/// compacted (its `": "` and `", "` separators) and spliced in.
pub async fn page_json(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    after: i64,
    limit: i64,
) -> QueryResult<PageJson> {
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    let rows: Vec<TextRow> = task_events::table
        .filter(task_events::task_id.eq(task_id))
        .filter(task_events::seq.gt(after))
        .order(task_events::seq.asc())
        .limit(limit)
        .select((
            task_events::seq,
            task_events::at,
            task_events::run,
            task_events::kind,
            sql::<Text>("payload::text"),
        ))
        .load(conn)
        .await?;
    let len = rows.len() as i64;
    let mut body = String::with_capacity(16 + rows.iter().map(|r| r.4.len() + 90).sum::<usize>());
    body.push_str("{\"items\":[");
    let mut last = None;
    for (i, (seq, at, run, kind, payload)) in rows.into_iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        last = Some(seq);
        write_event(&mut body, seq, at, run, kind, &payload);
    }
    body.push(']');
    if let Some(seq) = last.filter(|_| len == limit) {
        body.push_str(&format!(",\"next_cursor\":\"{seq}\""));
    }
    body.push('}');
    Ok(PageJson { body, len })
}

fn write_event(
    out: &mut String,
    seq: i64,
    at: DateTime<Utc>,
    run: Option<i32>,
    kind: String,
    payload: &str,
) {
    if !KNOWN_KINDS.contains(&kind.as_str()) {
        let value = serde_json::from_str(payload).unwrap_or(serde_json::Value::Null);
        let event = to_event((seq, at, run, kind, value));
        out.push_str(&serde_json::to_string(&event).unwrap_or_default());
        return;
    }
    // The same text `TaskEvent` serialises to: seq, at, run (when known), then the adjacently
    // tagged body.
    let at = serde_json::to_string(&at).unwrap_or_default();
    let run = run.map(|r| format!(",\"run\":{r}")).unwrap_or_default();
    out.push_str(&format!("{{\"seq\":{seq},\"at\":{at}{run},\"kind\":\"{kind}\",\"payload\":"));
    compact_into(out, payload);
    out.push('}');
}

/// Appends JSON text without the whitespace between its tokens (strings are copied as they are).
fn compact_into(out: &mut String, json: &str) {
    let mut in_string = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, b) in json.bytes().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
            out.push_str(&json[start..i]);
            start = i + 1;
        }
    }
    out.push_str(&json[start..]);
}

/// The task's last seq, if it is the user's and not deleted.
pub async fn owned_last_seq(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    task_id: Uuid,
) -> QueryResult<Option<i64>> {
    tasks::table
        .filter(tasks::id.eq(task_id))
        .filter(tasks::user_id.eq(user_id))
        .filter(tasks::deleted_at.is_null())
        .select(tasks::last_seq)
        .first(conn)
        .await
        .optional()
}

#[cfg(test)]
mod tests {
    use shared::events::{LogLevel, Stream};
    use shared::tasks::TaskStatus;

    use super::*;

    #[test]
    fn compacting_keeps_strings_and_drops_the_separators() {
        let mut out = String::new();
        compact_into(&mut out, r#"{"a": "x, \"y\": z", "b": [1, 2, {"c": null}]}"#);
        assert_eq!(out, r#"{"a":"x, \"y\": z","b":[1,2,{"c":null}]}"#);
    }

    #[test]
    fn a_spliced_event_reads_back_as_the_event() {
        let body = EventBody::Log { level: LogLevel::Info, message: "hi \"there\" you".into() };
        let at = Utc::now();
        let stored: serde_json::Value = serde_json::from_str(&payload_json(&body)).unwrap();
        // What PostgreSQL's jsonb output looks like: spaces after separators, its own key order.
        let text = stored.to_string().replace(':', ": ").replace(',', ", ");
        let mut out = String::new();
        write_event(&mut out, 7, at, Some(2), body.kind().to_owned(), &text);
        let read: TaskEvent = serde_json::from_str(&out).unwrap();
        assert_eq!(read.seq, 7);
        assert_eq!(read.at, at);
        assert_eq!(read.run, Some(2));
        let whole = TaskEvent { seq: 7, at, run: Some(2), body: body.clone() };
        assert_eq!(out, serde_json::to_string(&whole).unwrap(), "spliced text = serialised text");
        assert_eq!(serde_json::to_value(&read.body).unwrap(), serde_json::to_value(&body).unwrap());
    }

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
