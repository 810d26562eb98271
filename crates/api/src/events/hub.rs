//! One LISTEN connection per process, fanned out in memory: committed event batches (so SSE
//! clients in any process see events written by any worker), committed user events (the
//! per-user stream of task changes, written by a trigger on `tasks`), stop requests (so any API process
//! can stop a run held by a worker elsewhere), new runs (so idle workers wake at once),
//! changes to tokens, users and sessions (so every process's auth cache forgets them at once)
//! and changes to tasks (so every process's task read cache forgets them at once).
//!
//! Observers registered with [`Hub::observe`] see each signal before it is broadcast: a cache
//! that observes has forgotten a change before any subscriber (an SSE stream, say) can tell a
//! client about something committed after it.
//!
//! After a reconnect a `Resync` is broadcast: listeners re-read from the database, which is the
//! truth; notifications only say "look now".

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::store::EVENTS_CHANNEL;

/// Channel carrying the id of a task whose run should stop.
pub const STOP_CHANNEL: &str = "drydock_stop";
/// Channel poked when a run becomes pending.
pub const RUNS_CHANNEL: &str = "drydock_runs";
/// Channel the `tasks` trigger announces user events on, as `<user id>:<seq>`.
pub const USER_EVENTS_CHANNEL: &str = "drydock_user_events";
/// Channel the database's triggers announce auth changes on (see [`AuthChange`]).
pub const AUTH_CHANNEL: &str = "drydock_auth";
/// Channel the `tasks` triggers announce changes to a task's read on, as `<user id>:<task id>`.
pub const TASKS_CHANNEL: &str = "drydock_tasks";

/// A change that may end or narrow what a cached token or session grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthChange {
    /// The token with this id.
    Token(Uuid),
    /// The user with this id (and so their tokens and sessions).
    User(Uuid),
    /// The session whose key has this SHA-256.
    Session([u8; 32]),
}

/// What the hub broadcasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Events up to `last_seq` of `task_id` are committed.
    Events {
        /// The task.
        task_id: Uuid,
        /// Its last committed seq.
        last_seq: i64,
    },
    /// User events up to `last_seq` of `user_id` are committed.
    UserEvents {
        /// The user.
        user_id: Uuid,
        /// The last committed seq of their log.
        last_seq: i64,
    },
    /// Stop the run of this task.
    Stop(Uuid),
    /// A run is waiting for a worker.
    RunPending,
    /// A token, user or session changed.
    Auth(AuthChange),
    /// What a read of this task (or its owner's task list) shows may have changed.
    Task {
        /// The owner.
        user_id: Uuid,
        /// The task.
        task_id: Uuid,
    },
    /// Notifications may have been missed: re-read everything.
    Resync,
}

/// A function that sees every signal, synchronously, before subscribers do.
pub type Observer = Arc<dyn Fn(&Signal) + Send + Sync>;

/// Sends signals: to the observers first, then to the subscribers.
#[derive(Clone)]
struct Announcer {
    tx: broadcast::Sender<Signal>,
    observers: Arc<RwLock<Vec<Observer>>>,
}

impl Announcer {
    fn announce(&self, signal: Signal) {
        let observers = self.observers.read().unwrap_or_else(PoisonError::into_inner).clone();
        for observe in &observers {
            observe(&signal);
        }
        let _ = self.tx.send(signal);
    }
}

/// The process-wide hub.
#[derive(Clone)]
pub struct Hub {
    announcer: Announcer,
}

impl Hub {
    /// Starts listening on `database_url`; reconnects forever in the background.
    pub fn start(database_url: String) -> Self {
        let (tx, _) = broadcast::channel(4096);
        let announcer = Announcer { tx, observers: Arc::default() };
        let hub = Self { announcer: announcer.clone() };
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(200);
            loop {
                match listen(&database_url, &announcer).await {
                    Ok(()) => backoff = Duration::from_millis(200),
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener disconnected; reconnecting")
                    }
                }
                announcer.announce(Signal::Resync);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        });
        hub
    }

    /// A receiver of everything broadcast from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.announcer.tx.subscribe()
    }

    /// Calls `observer` with every signal from now on, before it is broadcast. It runs on the
    /// listener's task, so it must be quick and must not block.
    pub fn observe(&self, observer: Observer) {
        self.announcer.observers.write().unwrap_or_else(PoisonError::into_inner).push(observer);
    }
}

async fn listen(url: &str, announcer: &Announcer) -> anyhow::Result<()> {
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let (msg_tx, mut msg_rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(m) => {
                    if msg_tx.send(m).is_err() {
                        break;
                    }
                }
                Err(e) => return Err(anyhow::Error::from(e)),
            }
        }
        Ok(())
    });
    client
        .batch_execute(&format!(
            "LISTEN {EVENTS_CHANNEL}; LISTEN {USER_EVENTS_CHANNEL}; LISTEN {STOP_CHANNEL}; LISTEN {RUNS_CHANNEL}; LISTEN {AUTH_CHANNEL}; LISTEN {TASKS_CHANNEL};"
        ))
        .await?;
    // Anything committed before LISTEN took effect is found by the resync readers do.
    announcer.announce(Signal::Resync);
    while let Some(message) = msg_rx.recv().await {
        if let tokio_postgres::AsyncMessage::Notification(n) = message {
            if let Some(signal) = parse(n.channel(), n.payload()) {
                announcer.announce(signal);
            }
        }
    }
    driver.await??;
    drop(client);
    Ok(())
}

fn parse(channel: &str, payload: &str) -> Option<Signal> {
    match channel {
        EVENTS_CHANNEL => {
            let (task, seq) = payload.split_once(':')?;
            Some(Signal::Events { task_id: task.parse().ok()?, last_seq: seq.parse().ok()? })
        }
        USER_EVENTS_CHANNEL => {
            let (user, seq) = payload.split_once(':')?;
            Some(Signal::UserEvents { user_id: user.parse().ok()?, last_seq: seq.parse().ok()? })
        }
        STOP_CHANNEL => Some(Signal::Stop(payload.parse().ok()?)),
        RUNS_CHANNEL => Some(Signal::RunPending),
        AUTH_CHANNEL => parse_auth(payload).map(Signal::Auth),
        TASKS_CHANNEL => {
            let (user, task) = payload.split_once(':')?;
            Some(Signal::Task { user_id: user.parse().ok()?, task_id: task.parse().ok()? })
        }
        _ => None,
    }
}

fn parse_auth(payload: &str) -> Option<AuthChange> {
    let (what, id) = payload.split_once(':')?;
    match what {
        "t" => Some(AuthChange::Token(id.parse().ok()?)),
        "u" => Some(AuthChange::User(id.parse().ok()?)),
        "s" if id.len() == 64 => {
            let mut hash = [0u8; 32];
            for (i, byte) in hash.iter_mut().enumerate() {
                *byte = u8::from_str_radix(id.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            Some(AuthChange::Session(hash))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_payloads_parse() {
        let id = Uuid::new_v4();
        assert_eq!(
            parse(AUTH_CHANNEL, &format!("t:{id}")),
            Some(Signal::Auth(AuthChange::Token(id)))
        );
        assert_eq!(
            parse(AUTH_CHANNEL, &format!("u:{id}")),
            Some(Signal::Auth(AuthChange::User(id)))
        );
        let hex = "ab".repeat(32);
        assert_eq!(
            parse(AUTH_CHANNEL, &format!("s:{hex}")),
            Some(Signal::Auth(AuthChange::Session([0xab; 32])))
        );
        assert_eq!(parse(AUTH_CHANNEL, "s:abc"), None);
        assert_eq!(
            parse(USER_EVENTS_CHANNEL, &format!("{id}:7")),
            Some(Signal::UserEvents { user_id: id, last_seq: 7 })
        );
        assert_eq!(parse(USER_EVENTS_CHANNEL, "nope:7"), None);
        assert_eq!(parse(AUTH_CHANNEL, "x:1"), None);
        let task = Uuid::new_v4();
        assert_eq!(
            parse(TASKS_CHANNEL, &format!("{id}:{task}")),
            Some(Signal::Task { user_id: id, task_id: task })
        );
        assert_eq!(parse(TASKS_CHANNEL, &format!("{id}")), None);
    }
}
