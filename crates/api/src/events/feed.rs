//! One reader per log per process for live events: when a batch is committed, its rows are read
//! once, framed as SSE once, and kept in a bounded in-memory tail that every subscriber of the
//! log in this process serves from. A subscriber that falls behind the tail (a slow client, or
//! one resuming from long ago) reads the database on its own, so it never holds anyone up.
//!
//! A log is a task's events or a user's own events ([`Log`]); both have consecutive seqs
//! allocated in commit order, which is all the tail relies on.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use actix_web::web::Bytes;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use shared::events::TaskEvent;
use shared::user_events::UserEvent;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use super::hub::{Hub, Signal};
use super::{store, user_store};
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
    /// Frames a task event.
    pub fn new(event: &TaskEvent) -> Self {
        Self::of(event.seq, event, event.body.is_terminal())
    }

    /// Frames a user event (a user's stream never ends by itself).
    pub fn user(event: &UserEvent) -> Self {
        Self::of(event.seq, event, false)
    }

    fn of(seq: i64, event: &impl Serialize, terminal: bool) -> Self {
        let data = serde_json::to_string(event).unwrap_or_default();
        Self { seq, bytes: Bytes::from(format!("id: {seq}\ndata: {data}\n\n")), terminal }
    }
}

/// A log that can be followed live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Log {
    /// A task's events (`/tasks/{id}/events/stream`).
    Task(Uuid),
    /// A user's own events (`/me/events/stream`).
    User(Uuid),
}

impl Log {
    /// The seq of its last committed event (0 when it has none).
    pub async fn last_seq(self, conn: &mut AsyncPgConnection) -> QueryResult<i64> {
        match self {
            Self::Task(id) => store::last_seq(conn, id).await,
            Self::User(id) => user_store::last_seq(conn, id).await,
        }
    }

    /// Frames of the events with `seq > after`, oldest first, at most `limit`.
    pub async fn frames_after(
        self,
        conn: &mut AsyncPgConnection,
        after: i64,
        limit: i64,
    ) -> QueryResult<Vec<Frame>> {
        Ok(match self {
            Self::Task(id) => {
                store::after(conn, id, after, limit).await?.iter().map(Frame::new).collect()
            }
            Self::User(id) => {
                user_store::after(conn, id, after, limit).await?.iter().map(Frame::user).collect()
            }
        })
    }

    /// The seq a notification says this log has committed up to, if it is about this log.
    fn announced(self, signal: &Signal) -> Option<i64> {
        match (self, signal) {
            (Self::Task(id), Signal::Events { task_id, last_seq }) if *task_id == id => {
                Some(*last_seq)
            }
            (Self::User(id), Signal::UserEvents { user_id, last_seq }) if *user_id == id => {
                Some(*last_seq)
            }
            _ => None,
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

    fn extend(&self, frames: Vec<Frame>) {
        let mut tail = self.lock();
        let held = tail.last;
        for frame in frames.into_iter().filter(|f| f.seq > held) {
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

/// The process's feeds, one per log with live subscribers.
#[derive(Clone)]
pub struct Feeds {
    pool: DbPool,
    hub: Hub,
    feeds: Arc<Mutex<HashMap<Log, Weak<Feed>>>>,
}

impl Feeds {
    /// Feeds reading through `pool`, woken by `hub`.
    pub fn new(pool: DbPool, hub: Hub) -> Self {
        Self { pool, hub, feeds: Arc::default() }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<Log, Weak<Feed>>> {
        self.feeds.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The feed of a log, started if nobody in this process follows it yet. Subscribers hold
    /// the returned `Arc`; the follower stops once the last one is gone.
    pub async fn get(&self, conn: &mut AsyncPgConnection, log: Log) -> QueryResult<Arc<Feed>> {
        if let Some(feed) = self.map().get(&log).and_then(Weak::upgrade) {
            return Ok(feed);
        }
        // Subscribe before reading where the log ends, so no commit falls in between.
        let signals = self.hub.subscribe();
        let last = log.last_seq(conn).await?;
        let mut map = self.map();
        if let Some(feed) = map.get(&log).and_then(Weak::upgrade) {
            return Ok(feed);
        }
        let feed = Arc::new(Feed {
            tail: Mutex::new(Tail { last, frames: VecDeque::new(), bytes: 0 }),
            changed: watch::channel(last).0,
        });
        map.retain(|_, f| f.strong_count() > 0);
        map.insert(log, Arc::downgrade(&feed));
        drop(map);
        tokio::spawn(follow(self.pool.clone(), log, Arc::downgrade(&feed), signals));
        Ok(feed)
    }
}

/// Reads each committed batch once for every subscriber of the log in this process.
async fn follow(
    pool: DbPool,
    log: Log,
    feed: Weak<Feed>,
    mut signals: broadcast::Receiver<Signal>,
) {
    loop {
        let signal = tokio::time::timeout(IDLE_CHECK, signals.recv()).await;
        let Some(feed) = feed.upgrade() else { return };
        let read = match signal {
            Ok(Ok(Signal::Resync)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => true,
            Ok(Ok(signal)) => log.announced(&signal).is_some_and(|last| last > feed.last()),
            Ok(Err(broadcast::error::RecvError::Closed)) => return,
            Err(_) => false,
        };
        if read {
            catch_up(&pool, log, &feed).await;
        }
    }
}

async fn catch_up(pool: &DbPool, log: Log, feed: &Feed) {
    let mut failures = 0u32;
    loop {
        let page = match pool.get().await {
            Ok(mut conn) => log.frames_after(&mut conn, feed.last(), PAGE).await.ok(),
            Err(_) => None,
        };
        match page {
            Some(frames) => {
                let n = frames.len() as i64;
                feed.extend(frames);
                if n < PAGE {
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

    fn log(seq: i64) -> Frame {
        Frame::new(&TaskEvent {
            seq,
            at: Utc::now(),
            run: Some(1),
            body: EventBody::Log { level: LogLevel::Info, message: format!("line {seq}") },
        })
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
        feed.extend(vec![log(11), log(12), log(13)]);
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
        feed.extend(vec![log(1), log(2)]);
        feed.extend(vec![log(2), log(3)]);
        assert_eq!(seqs(feed.next(0)), vec![1, 2, 3]);
    }

    #[test]
    fn the_tail_is_bounded() {
        let feed = feed(0);
        let frames: Vec<Frame> = (1..=(TAIL_FRAMES as i64 + 10)).map(log).collect();
        feed.extend(frames);
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
            run: Some(1),
            body: EventBody::Status { status: TaskStatus::Completed, reason: None },
        };
        feed.extend(vec![Frame::new(&done)]);
        assert!(watch.has_changed().unwrap_or(false));
        assert_eq!(*watch.borrow_and_update(), 1);
        let Next::Frames(frames) = feed.next(0) else { panic!("expected frames") };
        assert!(frames[0].terminal);
        assert!(String::from_utf8_lossy(&frames[0].bytes).starts_with("id: 1\ndata: {"));
    }
}
