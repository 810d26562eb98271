//! Batched event writing for workers: events go into a channel and a background task commits
//! them, redacting secrets on the way. The first event after a quiet spell is written at once;
//! whatever arrives while a write is in flight is redacted and encoded meanwhile and goes in the
//! next batch (up to 5,000 events). So a lone line reaches readers with no added delay, a burst
//! costs one transaction per batch, and the worker never waits on the database per line. A slow
//! SSE client cannot slow this down because readers only ever read committed rows.

use std::time::Duration;

use futures_util::future::OptionFuture;
use shared::events::EventBody;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::redact::Redactor;
use super::store::{self, Encoded};
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

const MAX_BATCH: usize = 5_000;

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

/// Events waiting for the next write, and the flushes waiting on them.
#[derive(Default)]
struct Batch {
    events: Vec<Encoded>,
    waiters: Vec<oneshot::Sender<()>>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.events.is_empty() && self.waiters.is_empty()
    }
}

fn encode(redactor: &Redactor, mut body: EventBody) -> Encoded {
    body.for_each_text_mut(|text| redactor.redact_in_place(text));
    Encoded::new(&body)
}

async fn run(
    pool: DbPool,
    task_id: Uuid,
    redactor: Redactor,
    mut rx: mpsc::UnboundedReceiver<Msg>,
) {
    let mut pending = Batch::default();
    let mut writing: Option<JoinHandle<()>> = None;
    let mut open = true;
    loop {
        if writing.is_none() && !pending.is_empty() {
            // Writes are strictly one after another: seqs are allocated in commit order.
            let batch = std::mem::take(&mut pending);
            writing = Some(tokio::spawn(write(pool.clone(), task_id, batch)));
            continue;
        }
        if !open && writing.is_none() {
            break;
        }
        let room = pending.events.len() < MAX_BATCH;
        tokio::select! {
            msg = rx.recv(), if open && room => match msg {
                Some(Msg::Event(body)) => pending.events.push(encode(&redactor, body)),
                Some(Msg::Flush(done)) => pending.waiters.push(done),
                None => open = false,
            },
            _ = OptionFuture::from(writing.as_mut()), if writing.is_some() => {
                writing = None;
            }
        }
    }
}

async fn write(pool: DbPool, task_id: Uuid, batch: Batch) {
    if !batch.events.is_empty() {
        commit(&pool, task_id, &batch.events).await;
    }
    for waiter in batch.waiters {
        let _ = waiter.send(());
    }
}

async fn commit(pool: &DbPool, task_id: Uuid, events: &[Encoded]) {
    for attempt in 0..5u64 {
        let result = match pool.get().await {
            Ok(mut conn) => {
                store::append_encoded(&mut conn, task_id, events).await.map_err(anyhow::Error::from)
            }
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(%task_id, error = %e, attempt, "writing events failed; retrying");
                tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
            }
        }
    }
    tracing::error!(%task_id, dropped = events.len(), "giving up on writing events");
}
