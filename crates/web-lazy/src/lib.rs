//! The Drydock SPA's rarely opened pages (sign-in, setup, invitations, administration,
//! settings, the repository browser) as a second wasm module, fetched the first time one of
//! them opens so that the app's initial bundle does not carry them (docs/benchmarks.md).
//!
//! The pages themselves stay in `drydock-web` (`app::lazy_switch`); this crate is only the
//! entry point the main app's `components::lazy_pages::LazyPages` calls through the
//! wasm-bindgen glue (`--target no-modules`, global `drydockLazy`): [`mount`] renders the
//! page of the current URL into a host element with its own router on the browser history,
//! [`update`] passes a new session, [`unmount`] tears it down. See that component for how the
//! two apps keep the URL and the session in step.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use drydock_web::app::{current_path, lazy_switch, Route};
use drydock_web::components::lazy_pages::notify_history;
use drydock_web::components::preview::Preview;
use drydock_web::components::sidebar_repos::SidebarRepos;
use drydock_web::components::workspace_changes::ChangesTab;
use drydock_web::hooks::{Session, SessionState};
use drydock_web::services::{client, config};
use serde::Deserialize;
use shared::auth::Me;
use uuid::Uuid;
use wasm_bindgen::prelude::*;
use yew::prelude::*;
use yew_router::prelude::*;

thread_local! {
    static APPS: RefCell<HashMap<u32, yew::AppHandle<LazyApp>>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
    /// Each mount's `on_session`; any live one reaches the main app's session.
    static ON_SESSION: RefCell<BTreeMap<u32, js_sys::Function>> = const { RefCell::new(BTreeMap::new()) };
}

/// What a mount shows (the JSON the main app's `LazyView` passes).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "view", rename_all = "kebab-case")]
pub enum View {
    /// The page the URL names (`app::lazy_switch`), following the browser history.
    Pages,
    /// The sidebar's Repos tab.
    SidebarRepos {
        /// Bumped by the main app's sidebar when the user's tasks come and go (reloads the
        /// counts).
        comings_and_goings: u64,
    },
    /// A task's Changes tab.
    Changes {
        /// The task.
        task_id: Uuid,
        /// Bumped when a run finishes, to reload.
        refresh: usize,
    },
    /// A task's Preview tab.
    Preview {
        /// The task.
        task_id: Uuid,
        /// Bumped when a run finishes, to reload.
        refresh: usize,
    },
}

/// Props of [`LazyApp`]: what to show and the main app's session.
#[derive(Properties, PartialEq)]
pub struct LazyProps {
    /// The view.
    pub view: View,
    /// The signed-in user, if any.
    pub me: Option<Rc<Me>>,
}

fn props(view: &str, me: Option<String>) -> Result<LazyProps, JsValue> {
    let view = serde_json::from_str(view).map_err(|e| JsValue::from_str(&e.to_string()))?;
    let me = me.and_then(|j| serde_json::from_str::<Me>(&j).ok()).map(Rc::new);
    client::set_csrf_token(me.as_ref().and_then(|m| m.csrf_token.clone()));
    Ok(LazyProps { view, me })
}

/// Tells the main app about a sign-in or sign-out made here.
fn report(me: Option<&Me>) {
    let json = me.and_then(|m| serde_json::to_string(m).ok()).map(JsValue::from);
    ON_SESSION.with(|f| {
        if let Some(f) = f.borrow().values().next_back() {
            let _ = f.call1(&JsValue::NULL, &json.unwrap_or(JsValue::NULL));
        }
    });
}

/// Renders `view` (a [`View`] as JSON) into `host` and returns the mount's id. `base_url` is
/// the API's (from the main app's `config.json`), `me` the signed-in user as JSON;
/// `on_session` is called with the user's JSON (or `null`) when a page here signs in or out.
#[wasm_bindgen]
pub fn mount(
    host: web_sys::Element,
    view: &str,
    base_url: &str,
    me: Option<String>,
    on_session: js_sys::Function,
) -> Result<u32, JsValue> {
    let props = props(view, me)?;
    reserve_main_subtree_ids();
    config::set_base_url(base_url);
    client::set_unauthorized_handler(Callback::from(|()| report(None)));
    let id = NEXT_ID.with(|n| n.replace(n.get() + 1));
    ON_SESSION.with(|f| f.borrow_mut().insert(id, on_session));
    let app = yew::Renderer::<LazyApp>::with_root_and_props(host, props).render();
    APPS.with(|a| a.borrow_mut().insert(id, app));
    Ok(id)
}

/// How many of Yew's subtree ids the main app may use: its root, and a portal each (it makes
/// none today).
const MAIN_SUBTREE_IDS: u32 = 64;

/// Makes this module's Yew number its apps after the main app's.
///
/// Yew tells which app an event belongs to by a subtree id on each app's host element, taken
/// from a counter that starts at 1 in every wasm module. The main app's root (`<body>`) has 1;
/// a mount here with the same id would make the main app take every event inside the mount as
/// its own and run its own listeners of the same numbers (a select's change here opened the
/// user menu there). Mounting and dropping throwaway apps once moves this module's counter past
/// the main app's ids.
fn reserve_main_subtree_ids() {
    thread_local! {
        static RESERVED: Cell<bool> = const { Cell::new(false) };
    }
    if RESERVED.with(|r| r.replace(true)) {
        return;
    }
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    for _ in 0..MAIN_SUBTREE_IDS {
        if let Ok(el) = document.create_element("div") {
            yew::Renderer::<Placeholder>::with_root(el).render().destroy();
        }
    }
}

#[component]
fn Placeholder() -> Html {
    Html::default()
}

/// Passes a mount new props or the main app's session after it changed.
#[wasm_bindgen]
pub fn update(id: u32, view: &str, me: Option<String>) -> Result<(), JsValue> {
    let props = props(view, me)?;
    APPS.with(|a| {
        if let Some(app) = a.borrow_mut().get_mut(&id) {
            app.update(props);
        }
    });
    Ok(())
}

/// Removes a mount (the main app no longer shows it).
#[wasm_bindgen]
pub fn unmount(id: u32) {
    ON_SESSION.with(|f| f.borrow_mut().remove(&id));
    if let Some(app) = APPS.with(|a| a.borrow_mut().remove(&id)) {
        app.destroy();
    }
}

/// The module's root: the session from the main app, a router, and the view.
#[component]
pub fn LazyApp(props: &LazyProps) -> Html {
    let session = Session {
        state: match &props.me {
            Some(me) => SessionState::SignedIn(me.clone()),
            None => SessionState::SignedOut,
        },
        set: Callback::from(|me: Option<Me>| report(me.as_ref())),
    };
    let view = match &props.view {
        View::Pages => html! { <Switch<Route> render={lazy_switch} /> },
        View::SidebarRepos { comings_and_goings } => {
            html! { <SidebarRepos comings_and_goings={*comings_and_goings} /> }
        }
        View::Changes { task_id, refresh } => {
            html! { <ChangesTab task_id={*task_id} refresh={*refresh} /> }
        }
        View::Preview { task_id, refresh } => {
            html! { <Preview task_id={*task_id} refresh={*refresh} /> }
        }
    };
    html! {
        <ContextProvider<Session> context={session}>
            <BrowserRouter>
                <HistoryBridge />
                { view }
            </BrowserRouter>
        </ContextProvider<Session>>
    }
}

/// When a page here navigates, tells the main app's router (a `popstate`); a URL it already
/// knows (because the main app navigated, or this is the echo) is not reported again.
#[component]
fn HistoryBridge() -> Html {
    let location = use_location();
    let known = use_mut_ref(current_path);
    use_effect_with(location.map(|l| (l.path().to_owned(), l.query_str().to_owned())), move |_| {
        let now = current_path();
        if *known.borrow() != now {
            *known.borrow_mut() = now;
            notify_history();
        }
    });
    Html::default()
}
