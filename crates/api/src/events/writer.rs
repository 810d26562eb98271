//! Batched event writing for workers: events go into a channel and a background task commits
//! them in batches (up to 1,000 events or every 25 ms), redacting secrets on the way. The worker
//! never waits on the database per line, and a slow SSE client cannot slow it down because
//! readers only ever read committed rows.

use std::time::Duration;

use shared::events::EventBody;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::redact::Redactor;
use super::store;
use crate::db::DbPool;

enum Msg {
    Event(EventBody),
    Flush(oneshot::Sender<()>),
}

/// Sends events of one task to its writer task.
#[derive(Clone)]
pub struct EventSender {
    tx: mpsc::UnboundedSender<Msg>,
}

const MAX_BATCH: usize = 1_000;
const LINGER: Duration = Duration::from_millis(25);

impl EventSender {
    /// Starts a writer for `task_id`.
    pub fn spawn(pool: DbPool, task_id: Uuid, redactor: Redactor) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, task_id, redactor, rx));
        Self { tx }
    }

    /// Queues an event.
    pub fn send(&self, body: EventBody) {
        let _ = self.tx.send(Msg::Event(body));
    }

    /// Waits until everything queued so far is committed.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

fn redact(redactor: &Redactor, body: EventBody) -> EventBody {
    let mut value = serde_json::to_value(&body).unwrap_or_default();
    if let Some(payload) = value.get_mut("payload") {
        redactor.redact_json(payload);
    }
    serde_json::from_value(value).unwrap_or(body)
}

async fn run(
    pool: DbPool,
    task_id: Uuid,
    redactor: Redactor,
    mut rx: mpsc::UnboundedReceiver<Msg>,
) {
    let mut batch: Vec<EventBody> = Vec::new();
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        let first = match rx.recv().await {
            Some(msg) => msg,
            None => break,
        };
        let mut pending = Some(first);
        let deadline = tokio::time::Instant::now() + LINGER;
        loop {
            match pending.take() {
                Some(Msg::Event(body)) => batch.push(redact(&redactor, body)),
                Some(Msg::Flush(done)) => {
                    waiters.push(done);
                    break;
                }
                None => {}
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            match rx.try_recv() {
                Ok(msg) => pending = Some(msg),
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(msg)) => pending = Some(msg),
                        _ => break,
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            }
        }
        write(&pool, task_id, &mut batch).await;
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
    write(&pool, task_id, &mut batch).await;
}

async fn write(pool: &DbPool, task_id: Uuid, batch: &mut Vec<EventBody>) {
    if batch.is_empty() {
        return;
    }
    for attempt in 0..5u64 {
        let result = match pool.get().await {
            Ok(mut conn) => {
                store::append(&mut conn, task_id, batch).await.map_err(anyhow::Error::from)
            }
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(_) => {
                batch.clear();
                return;
            }
            Err(e) => {
                tracing::warn!(%task_id, error = %e, attempt, "writing events failed; retrying");
                tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
            }
        }
    }
    tracing::error!(%task_id, dropped = batch.len(), "giving up on writing events");
    batch.clear();
}
