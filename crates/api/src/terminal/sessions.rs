//! The terminals this process holds open, so a client can come back to one.
//!
//! Each session has three small tasks: a reader that copies the terminal's output into a ring
//! of recent output and to whoever is attached, a writer that types input (so a shell that
//! does not read its input never blocks the reader), and a watchdog that kills a session left
//! idle. At most one connection is attached at a time; a new one takes over and the old one is
//! told so. A session ends when its shell exits, when it is killed, or when it idles out.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use sandbox::{TerminalSession, TerminalSize};
use tokio::sync::{broadcast, mpsc, watch};
use uuid::Uuid;

/// Recent output kept for a client that reattaches.
const REPLAY_BYTES: usize = 64 * 1024;
/// Most terminals one task may have open at once.
pub const MAX_PER_TASK: usize = 8;
/// Output chunks queued for a slow client before it misses some.
const FANOUT: usize = 1024;

/// What the writer does.
#[derive(Debug)]
enum Input {
    Keys(Vec<u8>),
    Resize(TerminalSize),
}

/// Mutable state of one session, under one lock so a reattach sees each chunk exactly once:
/// either in the replay or on its receiver.
#[derive(Debug)]
struct State {
    recent: VecDeque<u8>,
    /// Generation of the attached connection; 0 when none is.
    attached: u64,
    last_activity: Instant,
}

/// One open terminal.
#[derive(Debug)]
pub struct Live {
    /// The id a client reattaches with.
    pub id: Uuid,
    /// Its task.
    pub task_id: Uuid,
    /// Its owner.
    pub user_id: Uuid,
    terminal: Arc<dyn TerminalSession>,
    input: mpsc::Sender<Input>,
    output: broadcast::Sender<Bytes>,
    state: Mutex<State>,
    /// Bumped on every attach: an attached connection ends when it is not the latest.
    generation: watch::Sender<u64>,
    /// True once the shell has exited (all of its output is sent by then).
    ended: watch::Sender<bool>,
}

/// What an attaching connection gets.
pub struct Attachment {
    /// Output since the session started, up to [`REPLAY_BYTES`], for a reattach.
    pub replay: Vec<u8>,
    /// Output from now on.
    pub output: broadcast::Receiver<Bytes>,
    /// This attachment's generation (see [`Live::generation`]).
    pub generation: u64,
    /// Changes when another connection attaches.
    pub latest: watch::Receiver<u64>,
    /// Turns true when the shell has exited.
    pub ended: watch::Receiver<bool>,
}

impl Live {
    fn touch(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.last_activity = Instant::now();
        }
    }

    /// Attaches a connection, which displaces any other.
    pub fn attach(&self) -> Attachment {
        let (replay, output) = match self.state.lock() {
            Ok(mut state) => {
                state.last_activity = Instant::now();
                (state.recent.iter().copied().collect(), self.output.subscribe())
            }
            Err(_) => (Vec::new(), self.output.subscribe()),
        };
        let mut generation = 0;
        self.generation.send_modify(|g| {
            *g += 1;
            generation = *g;
        });
        if let Ok(mut state) = self.state.lock() {
            state.attached = generation;
        }
        Attachment {
            replay,
            output,
            generation,
            latest: self.generation.subscribe(),
            ended: self.ended.subscribe(),
        }
    }

    /// The connection of `generation` went away.
    pub fn detach(&self, generation: u64) {
        if let Ok(mut state) = self.state.lock() {
            if state.attached == generation {
                state.attached = 0;
            }
            state.last_activity = Instant::now();
        }
    }

    /// Types `data`; false when the session is gone.
    pub async fn type_keys(&self, data: Vec<u8>) -> bool {
        self.touch();
        self.input.send(Input::Keys(data)).await.is_ok()
    }

    /// Resizes the terminal; false when the session is gone.
    pub async fn resize(&self, size: TerminalSize) -> bool {
        self.touch();
        self.input.send(Input::Resize(size)).await.is_ok()
    }

    /// Whether the shell still runs.
    pub fn is_alive(&self) -> bool {
        !*self.ended.borrow() && self.terminal.is_alive()
    }
}

/// Every terminal of this process, by session id.
#[derive(Debug)]
pub struct Sessions {
    live: Arc<Mutex<HashMap<Uuid, Arc<Live>>>>,
    idle: Duration,
}

impl Sessions {
    /// An empty registry whose sessions close after `idle` without activity.
    pub fn new(idle: Duration) -> Self {
        Self { live: Arc::default(), idle }
    }

    /// The live session `id`, if it belongs to `user_id`'s task `task_id`.
    pub fn find(&self, id: Uuid, task_id: Uuid, user_id: Uuid) -> Option<Arc<Live>> {
        let live = self.live.lock().ok()?.get(&id).cloned()?;
        (live.task_id == task_id && live.user_id == user_id && live.is_alive()).then_some(live)
    }

    /// How many sessions `task_id` has open.
    pub fn count_for(&self, task_id: Uuid) -> usize {
        self.live.lock().map(|m| m.values().filter(|l| l.task_id == task_id).count()).unwrap_or(0)
    }

    /// Takes over a terminal the sandbox opened and starts serving it.
    pub fn adopt(
        &self,
        task_id: Uuid,
        user_id: Uuid,
        terminal: Box<dyn TerminalSession>,
    ) -> Arc<Live> {
        let terminal: Arc<dyn TerminalSession> = Arc::from(terminal);
        let (input, inputs) = mpsc::channel(64);
        let live = Arc::new(Live {
            id: Uuid::new_v4(),
            task_id,
            user_id,
            terminal: terminal.clone(),
            input,
            output: broadcast::channel(FANOUT).0,
            state: Mutex::new(State {
                recent: VecDeque::new(),
                attached: 0,
                last_activity: Instant::now(),
            }),
            generation: watch::channel(0).0,
            ended: watch::channel(false).0,
        });
        if let Ok(mut map) = self.live.lock() {
            map.insert(live.id, live.clone());
        }
        tokio::spawn(write_input(terminal, inputs));
        tokio::spawn(read_output(live.clone(), self.live.clone()));
        tokio::spawn(watch_idle(live.clone(), self.idle));
        tracing::info!(session = %live.id, task = %task_id, "terminal opened");
        live
    }
}

async fn write_input(terminal: Arc<dyn TerminalSession>, mut inputs: mpsc::Receiver<Input>) {
    while let Some(input) = inputs.recv().await {
        let done = match input {
            Input::Keys(keys) => terminal.write(&keys).await,
            Input::Resize(size) => terminal.resize(size),
        };
        if let Err(err) = done {
            tracing::debug!(%err, "terminal input");
        }
    }
}

async fn read_output(live: Arc<Live>, registry: Arc<Mutex<HashMap<Uuid, Arc<Live>>>>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match live.terminal.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) => {
                tracing::warn!(%err, session = %live.id, "reading a terminal");
                break;
            }
        };
        let chunk = Bytes::copy_from_slice(&buf[..n]);
        if let Ok(mut state) = live.state.lock() {
            state.recent.extend(chunk.iter().copied());
            let over = state.recent.len().saturating_sub(REPLAY_BYTES);
            state.recent.drain(..over);
            if state.attached != 0 {
                state.last_activity = Instant::now();
            }
            // No receiver is fine: the ring keeps it for the next attach.
            let _ = live.output.send(chunk);
        }
    }
    // The processes may linger after the terminal closed (a daemon that let go of it).
    live.terminal.kill().await;
    if let Ok(mut map) = registry.lock() {
        map.remove(&live.id);
    }
    live.ended.send_replace(true);
    tracing::info!(session = %live.id, task = %live.task_id, "terminal closed");
}

async fn watch_idle(live: Arc<Live>, idle: Duration) {
    let mut ended = live.ended.subscribe();
    loop {
        let since = live.state.lock().map(|s| s.last_activity).unwrap_or_else(|_| Instant::now());
        let deadline = since + idle;
        if Instant::now() >= deadline {
            tracing::info!(session = %live.id, "terminal idle: closing it");
            live.terminal.kill().await;
            return;
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline.into()) => {}
            _ = ended.wait_for(|e| *e) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use sandbox::{LocalSandbox, LocalSandboxConfig, Sandbox, SandboxSpec, TerminalRequest};

    use super::*;

    /// A real shell in a real sandbox, left alone: the watchdog kills it, the session ends and
    /// leaves the registry; typing keeps another one alive past the limit.
    #[tokio::test]
    async fn an_idle_session_is_killed_and_an_active_one_is_not() {
        let root = tempfile::tempdir().unwrap();
        let backend = LocalSandbox::new(LocalSandboxConfig::new(root.path())).unwrap();
        backend.check().await.expect("bubblewrap is required for this test");
        let handle = backend.create(SandboxSpec::new("idle")).await.unwrap();
        let idle = Duration::from_secs(3);
        let sessions = Sessions::new(idle);
        let (task, user) = (Uuid::new_v4(), Uuid::new_v4());

        let busy = sessions.adopt(
            task,
            user,
            backend.open_terminal(&handle, TerminalRequest::default()).await.unwrap(),
        );
        let lazy = sessions.adopt(
            task,
            user,
            backend.open_terminal(&handle, TerminalRequest::default()).await.unwrap(),
        );
        assert_eq!(sessions.count_for(task), 2);
        let mut lazy_ended = lazy.ended.subscribe();
        let typing = async {
            // Typing every sixth of the limit, for longer than the lazy one can last.
            for _ in 0..16 {
                assert!(busy.type_keys(b":\r".to_vec()).await);
                tokio::time::sleep(idle / 6).await;
            }
        };
        let (ended, ()) = tokio::join!(
            tokio::time::timeout(Duration::from_secs(30), lazy_ended.wait_for(|e| *e)),
            typing
        );
        assert!(ended.is_ok(), "the idle session was not closed");
        assert!(!lazy.is_alive());
        assert!(busy.is_alive(), "the session that was typed into lives on");
        assert!(sessions.find(lazy.id, task, user).is_none());
        assert!(sessions.find(busy.id, task, user).is_some());
        assert!(sessions.find(busy.id, Uuid::new_v4(), user).is_none(), "another task's");
        busy.terminal.kill().await;
        backend.destroy(&handle).await.unwrap();
    }
}
