//! `use_task_events`: a task's event log, backfilled over HTTP and then followed live over SSE,
//! reconnecting with backoff and without gaps (see [`crate::services::events`]).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use uuid::Uuid;
use yew::prelude::*;

use crate::services::api;
use crate::services::config::api_url;
use crate::services::events::{backoff_ms, EventLog, EventStream};

/// Page size of the backfill.
const BACKFILL_LIMIT: u32 = 500;

/// Where the live connection stands.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamState {
    /// Backfilling or opening the stream.
    Connecting,
    /// Receiving events as they happen.
    Live,
    /// The run ended; nothing more will come until a follow-up.
    Finished,
    /// Lost the connection; trying again.
    Retrying(String),
}

struct Controller {
    task_id: Uuid,
    log: EventLog,
    state: StreamState,
    stream: Option<EventStream>,
    retry: Option<Timeout>,
    attempt: u32,
    alive: bool,
    notify: Callback<()>,
}

type Shared = Rc<RefCell<Controller>>;

/// What [`use_task_events`] returns. Compares by snapshot (`len`, `state`) so that components
/// taking it as a prop re-render when events arrive.
#[derive(Clone)]
pub struct TaskEvents {
    inner: Shared,
    /// How many events the log held when this snapshot was taken.
    pub len: usize,
    /// The connection state at snapshot time.
    pub state: StreamState,
    /// Re-opens the stream even if the run had finished: call after a follow-up.
    pub reconnect: Callback<()>,
}

impl PartialEq for TaskEvents {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner) && self.len == other.len && self.state == other.state
    }
}

impl TaskEvents {
    /// Runs `f` with the log.
    pub fn with_log<R>(&self, f: impl FnOnce(&EventLog) -> R) -> R {
        f(&self.inner.borrow().log)
    }
}

fn set_state(ctl: &Shared, state: StreamState) {
    let notify = {
        let mut c = ctl.borrow_mut();
        c.state = state;
        c.notify.clone()
    };
    notify.emit(());
}

fn schedule_retry(ctl: &Shared, why: String) {
    let weak = Rc::downgrade(ctl);
    {
        let mut c = ctl.borrow_mut();
        if !c.alive {
            return;
        }
        c.attempt += 1;
        let delay = backoff_ms(c.attempt);
        c.retry = Some(Timeout::new(delay, move || {
            // `connect` drops this timer; do it after the timer's own callback has returned.
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(ctl) = weak.upgrade() {
                    connect(ctl, false);
                }
            });
        }));
    }
    set_state(ctl, StreamState::Retrying(why));
}

fn on_event(weak: &Weak<RefCell<Controller>>, event: shared::events::TaskEvent) {
    let Some(ctl) = weak.upgrade() else { return };
    let terminal = event.body.is_terminal();
    let notify = {
        let mut c = ctl.borrow_mut();
        if !c.log.push(event) {
            return;
        }
        c.attempt = 0;
        c.state = if terminal { StreamState::Finished } else { StreamState::Live };
        if terminal {
            if let Some(s) = &c.stream {
                // Close now so the browser does not reconnect; drop later, outside this callback.
                s.close();
            }
        }
        c.notify.clone()
    };
    if terminal {
        let weak = weak.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(ctl) = weak.upgrade() {
                ctl.borrow_mut().stream = None;
            }
        });
    }
    notify.emit(());
}

fn open_stream(ctl: &Shared) {
    let (task_id, after) = {
        let c = ctl.borrow();
        (c.task_id, c.log.last_seq())
    };
    let url = api_url(&format!("/tasks/{task_id}/events/stream?after={after}"));
    let weak = Rc::downgrade(ctl);
    let weak_err = weak.clone();
    let opened = EventStream::open(
        &url,
        move |e| on_event(&weak, e),
        move |closed| {
            let Some(ctl) = weak_err.upgrade() else { return };
            if closed {
                // Drop outside the callback that belongs to the stream being dropped.
                let weak = Rc::downgrade(&ctl);
                wasm_bindgen_futures::spawn_local(async move {
                    if let Some(ctl) = weak.upgrade() {
                        ctl.borrow_mut().stream = None;
                        schedule_retry(&ctl, "connection closed".into());
                    }
                });
            } else if ctl.borrow().state != StreamState::Finished {
                set_state(&ctl, StreamState::Retrying("reconnecting".into()));
            }
        },
    );
    match opened {
        Ok(stream) => {
            ctl.borrow_mut().stream = Some(stream);
            set_state(ctl, StreamState::Live);
        }
        Err(e) => schedule_retry(ctl, e),
    }
}

fn connect(ctl: Shared, force_stream: bool) {
    {
        let mut c = ctl.borrow_mut();
        c.retry = None;
        c.stream = None;
    }
    set_state(&ctl, StreamState::Connecting);
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            let (task_id, after, alive) = {
                let c = ctl.borrow();
                (c.task_id, c.log.last_seq(), c.alive)
            };
            if !alive {
                return;
            }
            match api::events(task_id, after, BACKFILL_LIMIT).await {
                Ok(batch) => {
                    let full = batch.len() >= BACKFILL_LIMIT as usize;
                    let notify = {
                        let mut c = ctl.borrow_mut();
                        c.log.extend(batch);
                        c.notify.clone()
                    };
                    notify.emit(());
                    if !full {
                        break;
                    }
                }
                Err(e) if e.is_not_found() || e.is_unauthorized() => {
                    set_state(&ctl, StreamState::Finished);
                    return;
                }
                Err(e) => {
                    schedule_retry(&ctl, e.message());
                    return;
                }
            }
        }
        if !ctl.borrow().alive {
            return;
        }
        if !force_stream && ctl.borrow().log.run_finished() {
            set_state(&ctl, StreamState::Finished);
        } else {
            open_stream(&ctl);
        }
    });
}

/// Follows the events of `task_id`.
#[hook]
pub fn use_task_events(task_id: Uuid) -> TaskEvents {
    let update = use_force_update();
    let inner = use_memo(task_id, |id| {
        let notify = Callback::from(move |()| update.force_update());
        Rc::new(RefCell::new(Controller {
            task_id: *id,
            log: EventLog::default(),
            state: StreamState::Connecting,
            stream: None,
            retry: None,
            attempt: 0,
            alive: true,
            notify,
        }))
    });
    let inner: Shared = (*inner).clone();
    {
        let ctl = inner.clone();
        use_effect_with(task_id, move |_| {
            connect(ctl.clone(), false);
            move || {
                let mut c = ctl.borrow_mut();
                c.alive = false;
                c.retry = None;
                c.stream = None;
            }
        });
    }
    let reconnect = {
        let ctl = inner.clone();
        Callback::from(move |()| {
            ctl.borrow_mut().attempt = 0;
            connect(ctl.clone(), true);
        })
    };
    let (len, state) = {
        let c = inner.borrow();
        (c.log.events().len(), c.state.clone())
    };
    TaskEvents { inner, len, state, reconnect }
}
