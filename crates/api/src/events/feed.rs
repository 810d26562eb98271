//! One reader per task per process for live events: when a batch is committed, its rows are read
//! once, framed as SSE once, and kept in a bounded in-memory tail that every subscriber of the
//! task in this process serves from. A subscriber that falls behind the tail (a slow client, or
//! one resuming from long ago) reads the database on its own, so it never holds anyone up.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use actix_web::web::Bytes;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use shared::events::TaskEvent;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use super::hub::{Hub, Signal};
use super::store;
use crate::db::DbPool;

/// Frames kept per task; older ones are read from the database by whoever still needs them.
const TAIL_FRAMES: usize = 2_048;
/// Bytes kept per task, whichever limit is reached first.
const TAIL_BYTES: usize = 4 << 20;
const PAGE: i64 = 500;
/// How often an idle follower checks whether anyone still listens.
const IDLE_CHECK: Duration = Duration::from_secs(15);

/// An SSE frame of one event.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The event's seq.
    pub seq: i64,
    /// `id: …\ndata: …\n\n`.
    pub bytes: Bytes,
    /// Whether the event ends a run.
    pub terminal: bool,
}

impl Frame {
    /// Frames an event.
    pub fn new(event: &TaskEvent) -> Self {
        let data = serde_json::to_string(event).unwrap_or_default();
        Self {
            seq: event.seq,
            bytes: Bytes::from(format!("id: {}\ndata: {data}\n\n", event.seq)),
            terminal: event.body.is_terminal(),
        }
    }
}

/// What a subscriber that has everything up to some seq should do next.
#[derive(Debug)]
pub enum Next {
    /// Send these (in order).
    Frames(Vec<Frame>),
    /// Nothing newer is committed yet: wait for a change.
    Wait,
    /// The tail no longer holds what comes next: read it from the database.
    Behind,
}

struct Tail {
    /// The last committed seq this process has read.
    last: i64,
    frames: VecDeque<Frame>,
    bytes: usize,
}

/// The live tail of one task.
pub struct Feed {
    tail: Mutex<Tail>,
    changed: watch::Sender<i64>,
}

impl Feed {
    fn lock(&self) -> MutexGuard<'_, Tail> {
        self.tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Frames after `after`, at most `PAGE` of them.
    pub fn next(&self, after: i64) -> Next {
        let tail = self.lock();
        if after >= tail.last {
            return Next::Wait;
        }
        match tail.frames.front() {
            Some(first) if first.seq <= after + 1 => Next::Frames(
                tail.frames
                    .iter()
                    .skip_while(|f| f.seq <= after)
                    .take(PAGE as usize)
                    .cloned()
                    .collect(),
            ),
            _ => Next::Behind,
        }
    }

    /// A receiver that changes whenever frames are added.
    pub fn watch(&self) -> watch::Receiver<i64> {
        self.changed.subscribe()
    }

    fn last(&self) -> i64 {
        self.lock().last
    }

    fn extend(&self, events: &[TaskEvent]) {
        let mut tail = self.lock();
        let held = tail.last;
        for event in events.iter().filter(|e| e.seq > held) {
            let frame = Frame::new(event);
            tail.bytes += frame.bytes.len();
            tail.last = frame.seq;
            tail.frames.push_back(frame);
        }
        while tail.frames.len() > TAIL_FRAMES || (tail.bytes > TAIL_BYTES && tail.frames.len() > 1)
        {
            if let Some(old) = tail.frames.pop_front() {
                tail.bytes -= old.bytes.len();
            }
        }
        let last = tail.last;
        drop(tail);
        self.changed.send_replace(last);
    }
}

/// The process's feeds, one per task with live subscribers.
#[derive(Clone)]
pub struct Feeds {
    pool: DbPool,
    hub: Hub,
    feeds: Arc<Mutex<HashMap<Uuid, Weak<Feed>>>>,
}

impl Feeds {
    /// Feeds reading through `pool`, woken by `hub`.
    pub fn new(pool: DbPool, hub: Hub) -> Self {
        Self { pool, hub, feeds: Arc::default() }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<Uuid, Weak<Feed>>> {
        self.feeds.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The feed of a task, started if nobody in this process follows it yet. Subscribers hold
    /// the returned `Arc`; the follower stops once the last one is gone.
    pub async fn get(&self, conn: &mut AsyncPgConnection, task_id: Uuid) -> QueryResult<Arc<Feed>> {
        if let Some(feed) = self.map().get(&task_id).and_then(Weak::upgrade) {
            return Ok(feed);
        }
        // Subscribe before reading where the log ends, so no commit falls in between.
        let signals = self.hub.subscribe();
        let last = store::last_seq(conn, task_id).await?;
        let mut map = self.map();
        if let Some(feed) = map.get(&task_id).and_then(Weak::upgrade) {
            return Ok(feed);
        }
        let feed = Arc::new(Feed {
            tail: Mutex::new(Tail { last, frames: VecDeque::new(), bytes: 0 }),
            changed: watch::channel(last).0,
        });
        map.retain(|_, f| f.strong_count() > 0);
        map.insert(task_id, Arc::downgrade(&feed));
        drop(map);
        tokio::spawn(follow(self.pool.clone(), task_id, Arc::downgrade(&feed), signals));
        Ok(feed)
    }
}

/// Reads each committed batch once for every subscriber of the task in this process.
async fn follow(
    pool: DbPool,
    task_id: Uuid,
    feed: Weak<Feed>,
    mut signals: broadcast::Receiver<Signal>,
) {
    loop {
        let signal = tokio::time::timeout(IDLE_CHECK, signals.recv()).await;
        let Some(feed) = feed.upgrade() else { return };
        let read = match signal {
            Ok(Ok(Signal::Events { task_id: t, last_seq })) => {
                t == task_id && last_seq > feed.last()
            }
            Ok(Ok(Signal::Resync)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => true,
            Ok(Err(broadcast::error::RecvError::Closed)) => return,
            Ok(Ok(_)) | Err(_) => false,
        };
        if read {
            catch_up(&pool, task_id, &feed).await;
        }
    }
}

async fn catch_up(pool: &DbPool, task_id: Uuid, feed: &Feed) {
    let mut failures = 0u32;
    loop {
        let page = match pool.get().await {
            Ok(mut conn) => store::after(&mut conn, task_id, feed.last(), PAGE).await.ok(),
            Err(_) => None,
        };
        match page {
            Some(events) => {
                feed.extend(&events);
                if (events.len() as i64) < PAGE {
                    return;
                }
            }
            // Subscribers keep waiting meanwhile; the next notification or resync retries too.
            None if failures < 10 => {
                failures += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use shared::events::{EventBody, LogLevel};
    use shared::tasks::TaskStatus;

    use super::*;

    fn feed(last: i64) -> Feed {
        Feed {
            tail: Mutex::new(Tail { last, frames: VecDeque::new(), bytes: 0 }),
            changed: watch::channel(last).0,
        }
    }

    fn log(seq: i64) -> TaskEvent {
        TaskEvent {
            seq,
            at: Utc::now(),
            body: EventBody::Log { level: LogLevel::Info, message: format!("line {seq}") },
        }
    }

    fn seqs(next: Next) -> Vec<i64> {
        match next {
            Next::Frames(frames) => frames.iter().map(|f| f.seq).collect(),
            other => panic!("expected frames, got {other:?}"),
        }
    }

    #[test]
    fn serves_what_it_holds_and_sends_the_rest_to_the_database() {
        let feed = feed(10);
        assert!(matches!(feed.next(10), Next::Wait));
        assert!(matches!(feed.next(3), Next::Behind));
        feed.extend(&[log(11), log(12), log(13)]);
        assert_eq!(seqs(feed.next(10)), vec![11, 12, 13]);
        assert_eq!(seqs(feed.next(12)), vec![13]);
        assert!(matches!(feed.next(13), Next::Wait));
        assert!(matches!(feed.next(9), Next::Behind));
        // A subscriber that read ahead of the feed from the database waits for newer rows.
        assert!(matches!(feed.next(20), Next::Wait));
    }

    #[test]
    fn rows_already_held_are_not_added_twice() {
        let feed = feed(0);
        feed.extend(&[log(1), log(2)]);
        feed.extend(&[log(2), log(3)]);
        assert_eq!(seqs(feed.next(0)), vec![1, 2, 3]);
    }

    #[test]
    fn the_tail_is_bounded() {
        let feed = feed(0);
        let events: Vec<TaskEvent> = (1..=(TAIL_FRAMES as i64 + 10)).map(log).collect();
        feed.extend(&events);
        assert!(matches!(feed.next(0), Next::Behind));
        assert_eq!(seqs(feed.next(10))[0], 11);
        assert_eq!(feed.lock().frames.len(), TAIL_FRAMES);
    }

    #[test]
    fn frames_mark_terminal_events_and_watchers_see_changes() {
        let feed = feed(0);
        let mut watch = feed.watch();
        let done = TaskEvent {
            seq: 1,
            at: Utc::now(),
            body: EventBody::Status { status: TaskStatus::Completed, reason: None },
        };
        feed.extend(&[done]);
        assert!(watch.has_changed().unwrap_or(false));
        assert_eq!(*watch.borrow_and_update(), 1);
        let Next::Frames(frames) = feed.next(0) else { panic!("expected frames") };
        assert!(frames[0].terminal);
        assert!(String::from_utf8_lossy(&frames[0].bytes).starts_with("id: 1\ndata: {"));
    }
}
