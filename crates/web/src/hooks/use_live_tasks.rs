//! `use_live_tasks`: the caller's newest tasks, read once and then kept current by the caller's
//! event stream (`/me/events/stream`), with no polling (see [`crate::services::live_tasks`]).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use shared::tasks::Task;
use shared::user_events::UserEvent;
use uuid::Uuid;
use yew::prelude::*;

use crate::services::api::{self, TaskQuery};
use crate::services::config::api_url;
use crate::services::events::{backoff_ms, EventStream};
use crate::services::live_tasks::LiveTasks;
use crate::services::ApiError;

struct Controller {
    list: LiveTasks,
    error: Option<ApiError>,
    stream: Option<EventStream>,
    retry: Option<Timeout>,
    attempt: u32,
    alive: bool,
    notify: Callback<()>,
}

type Shared = Rc<RefCell<Controller>>;

/// What [`use_live_tasks`] returns: the tasks once loaded, or why they could not be.
#[derive(Clone, PartialEq)]
pub struct LiveTaskList {
    /// The tasks, newest first, once loaded.
    pub items: Option<Vec<Task>>,
    /// Why the list could not be read.
    pub error: Option<ApiError>,
    /// Tasks created or deleted since the stream opened (see [`LiveTasks::comings_and_goings`]).
    pub comings_and_goings: u64,
}

fn changed(ctl: &Shared) {
    let notify = ctl.borrow().notify.clone();
    notify.emit(());
}

fn fetch_new(weak: Weak<RefCell<Controller>>, id: Uuid) {
    wasm_bindgen_futures::spawn_local(async move {
        let result = api::task(id).await;
        let Some(ctl) = weak.upgrade() else { return };
        match result {
            Ok(task) => ctl.borrow_mut().list.insert(task),
            Err(_) => ctl.borrow_mut().list.forget(id),
        }
        changed(&ctl);
    });
}

fn on_event(weak: &Weak<RefCell<Controller>>, event: UserEvent) {
    let Some(ctl) = weak.upgrade() else { return };
    let fetch = {
        let mut c = ctl.borrow_mut();
        c.attempt = 0;
        c.list.apply(&event)
    };
    if let Some(id) = fetch {
        fetch_new(weak.clone(), id);
    }
    changed(&ctl);
}

/// Reads the list; called once the stream is open, so no change after the read is missed.
fn load(weak: Weak<RefCell<Controller>>, limit: u32) {
    wasm_bindgen_futures::spawn_local(async move {
        let result = api::tasks(&TaskQuery { limit: Some(limit), ..TaskQuery::default() }).await;
        let Some(ctl) = weak.upgrade() else { return };
        let fetch = {
            let mut c = ctl.borrow_mut();
            match result {
                Ok(page) => {
                    c.error = None;
                    c.list.load(page.items)
                }
                Err(e) => {
                    c.error = Some(e);
                    Vec::new()
                }
            }
        };
        for id in fetch {
            fetch_new(weak.clone(), id);
        }
        changed(&ctl);
    });
}

fn connect(ctl: &Shared, limit: u32) {
    // A reopened stream resumes after the last event applied; a first one starts now, and the
    // list is read once it is open.
    let resume = ctl.borrow().list.last_seq();
    let loaded = ctl.borrow().list.items().is_some();
    let url = match resume {
        Some(seq) => api_url(&format!("/me/events/stream?after={seq}")),
        None => api_url("/me/events/stream"),
    };
    let weak = Rc::downgrade(ctl);
    let (weak_open, weak_err) = (weak.clone(), weak.clone());
    let mut opened_once = false;
    let on_open: Box<dyn FnMut()> = Box::new(move || {
        // The browser's own reconnects resume by Last-Event-ID: nothing to read again.
        if !opened_once && (resume.is_none() || !loaded) {
            load(weak_open.clone(), limit);
        }
        opened_once = true;
    });
    let opened = EventStream::open_json(
        &url,
        Some(on_open),
        move |e: UserEvent| on_event(&weak, e),
        move |closed| {
            if !closed {
                return;
            }
            // The browser gave up (the server refused a reconnect): try again by hand.
            let weak = weak_err.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(ctl) = weak.upgrade() {
                    ctl.borrow_mut().stream = None;
                    schedule_retry(&ctl, limit);
                }
            });
        },
    );
    match opened {
        Ok(stream) => ctl.borrow_mut().stream = Some(stream),
        Err(_) => schedule_retry(ctl, limit),
    }
}

fn schedule_retry(ctl: &Shared, limit: u32) {
    let weak = Rc::downgrade(ctl);
    let mut c = ctl.borrow_mut();
    if !c.alive {
        return;
    }
    c.attempt += 1;
    c.retry = Some(Timeout::new(backoff_ms(c.attempt), move || {
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(ctl) = weak.upgrade() {
                ctl.borrow_mut().retry = None;
                connect(&ctl, limit);
            }
        });
    }));
}

/// The caller's newest `limit` tasks, live.
#[hook]
pub fn use_live_tasks(limit: u32) -> LiveTaskList {
    let update = use_force_update();
    let inner = use_memo(limit, |limit| {
        let notify = Callback::from(move |()| update.force_update());
        Rc::new(RefCell::new(Controller {
            list: LiveTasks::new(*limit as usize),
            error: None,
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
        use_effect_with(limit, move |limit| {
            connect(&ctl, *limit);
            move || {
                let mut c = ctl.borrow_mut();
                c.alive = false;
                c.retry = None;
                c.stream = None;
            }
        });
    }
    let c = inner.borrow();
    LiveTaskList {
        items: c.list.items().map(<[Task]>::to_vec),
        error: c.error.clone(),
        comings_and_goings: c.list.comings_and_goings(),
    }
}
